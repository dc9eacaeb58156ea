"""Paper-table specs: what the paper reports and how we regenerate it.

A spec (``paper_repro/specs/<id>.toml``) names the paper file and table, the
columns, and per row the paper's values (``nan`` where the paper has none) and its
status: ``same-benchmark`` (regenerated on the benchmark the paper used, with its
protocol), ``same-benchmark-protocol`` (the paper's benchmark, but a protocol that differs
in a way the row's reason says, e.g. searched on test accuracy where the paper used
validation), ``proxy`` (regenerated on stand-in data, said how), ``added`` (a row the
suite adds that the paper does not have, e.g. an ablation or a control), ``settings`` (a table of settings,
not results: the suite's own shown beside the paper's), ``pending`` (possible here,
not built yet) or ``not-offline`` (the paper's data cannot be had offline and no
proxy is planned); the last two and ``same-benchmark-protocol`` carry a reason.

Not every row is one of the paper's rows (:meth:`TableSpec.is_paper_row`): a row for which the
spec transcribes nothing of the paper (no number in ``paper``, no ``paper_text``) is the suite's
own whatever its status, e.g. MRO's ``syn3-p2-planted`` rows, stand-ins regenerated beside the
paper's rows, which keep the paper's values. Only in a figure whose values exist only in the
image (no row of the spec transcribes anything) does every row stand for a series of the figure.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from bench.errors import SpecError, UnknownTableSpecError
from bench.paths import paper_repro_dir

STATUSES = ("same-benchmark", "same-benchmark-protocol", "proxy", "added", "settings", "pending", "not-offline")
PAPERS = {
    "000_62c610aae6b2430e.txt": "CSG-NAS",
    "001_6b80f99565a0cbd2.txt": "HF-MNAS",
    "002_21034c53427ddd7b.txt": "MRO",
    "003_ca6407ec0d2ea38c.txt": "RMNAS",
    "004_9859b4c5803c0e34.txt": "KTNAS",
}


@dataclass
class Row:
    name: str
    paper: list[float]
    status: str
    reason: str = ""
    key: str = ""  # what the runner computes for this row
    paper_text: list[str] = field(default_factory=list)

    @property
    def transcribed(self) -> bool:
        """Whether the spec transcribes anything of the paper for this row: a number in ``paper``
        or the paper's printed text in ``paper_text`` ('-' where the paper prints no number)."""
        return any(v == v for v in self.paper) or bool(self.paper_text)


@dataclass
class TableSpec:
    id: str
    paper: str
    table: str
    kind: str
    title: str
    columns: list[str]
    rows: list[Row]
    protocol: str = ""
    runner: str = ""
    unit: str = ""
    lower_is_better: bool = False
    params: dict = field(default_factory=dict)
    path: Path | None = None
    paper_errors: list[str] = field(default_factory=list)  # the paper's internal inconsistencies, said plainly

    @property
    def method(self) -> str:
        return PAPERS.get(self.paper, "?")

    def status_counts(self) -> dict[str, int]:
        out = {s: 0 for s in STATUSES}
        for r in self.rows:
            out[r.status] += 1
        return out

    def is_paper_row(self, row: Row) -> bool:
        """Whether ``row`` stands for a row of the paper: the spec transcribes something of the
        paper for it, or the spec is a figure whose values exist only in the image (no row
        transcribes anything), where every row stands for a series of the figure. An ``added``
        row is the suite's own whatever this says."""
        return row.transcribed or (self.kind == "figure" and not any(r.transcribed for r in self.rows))

    def without_paper_value(self) -> int:
        """Rows other than ``added`` that are not the paper's (:meth:`is_paper_row`): the suite's own."""
        return sum(r.status != "added" and not self.is_paper_row(r) for r in self.rows)


def _value(x) -> float:
    if isinstance(x, (int, float)):
        return float(x)
    if isinstance(x, str) and x.strip().lower() in ("nan", "-", ""):
        return math.nan
    raise SpecError(f"paper value {x!r} must be a number or 'nan'")


def _strings(x, where: str) -> list[str]:
    if not isinstance(x, list) or not all(isinstance(v, str) and v.strip() for v in x):
        raise SpecError(f"{where} must be a list of non-empty strings")
    return [v.strip() for v in x]


def load_spec(path: str | Path) -> TableSpec:
    """Parse and check one spec file; every problem names the file and field."""
    path = Path(path)
    try:
        d = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML ({exc})") from exc
    for key in ("id", "paper", "table", "title", "columns", "rows"):
        if key not in d:
            raise SpecError(f"{path}: missing field {key!r}")
    if d["paper"] not in PAPERS:
        raise SpecError(f"{path}: paper {d['paper']!r} is not one of {sorted(PAPERS)}")
    if d["id"] != path.stem:
        raise SpecError(f"{path}: id {d['id']!r} must equal the file name {path.stem!r}")
    ncol = len(d["columns"])
    rows = []
    for i, r in enumerate(d["rows"]):
        where = f"{path}: row {i} ({r.get('name', '?')!r})"
        status = r.get("status", d.get("default_status", "pending"))
        if status not in STATUSES:
            raise SpecError(f"{where}: status {status!r} is not one of {STATUSES}")
        unrun = status in ("pending", "not-offline")
        if unrun and not r.get("reason", d.get("pending_reason", "")):
            raise SpecError(f"{where}: a pending row needs a reason (row 'reason' or spec 'pending_reason')")
        if status == "same-benchmark-protocol" and not r.get("reason"):
            raise SpecError(f"{where}: a same-benchmark-protocol row needs a reason saying how the protocol differs")
        if not unrun and not d.get("runner"):
            raise SpecError(f"{where}: status {status!r} needs the spec to name a runner")
        paper = [_value(x) for x in r.get("paper", [math.nan] * ncol)]
        if len(paper) != ncol:
            raise SpecError(f"{where}: {len(paper)} paper values for {ncol} columns")
        rows.append(Row(r["name"], paper, status, r.get("reason", d.get("pending_reason", "")) if unrun else r.get("reason", ""),
                        r.get("key", ""), [str(x) for x in r.get("paper_text", [])]))
    return TableSpec(d["id"], d["paper"], d["table"], d.get("kind", "table"), d["title"], list(d["columns"]), rows,
                     d.get("protocol", ""), d.get("runner", ""), d.get("unit", ""), bool(d.get("lower_is_better", False)),
                     dict(d.get("params", {})), path, _strings(d.get("paper_errors", []), f"{path}: paper_errors"))


def specs_dir() -> Path:
    return paper_repro_dir() / "specs"


def load_specs(directory: str | Path | None = None) -> dict[str, TableSpec]:
    """Every spec, by id, in paper then file order."""
    directory = Path(directory) if directory else specs_dir()
    specs = [load_spec(p) for p in sorted(directory.glob("*.toml"))]
    return {s.id: s for s in sorted(specs, key=lambda s: (s.paper, s.path.name))}


def get_spec(table_id: str, directory: str | Path | None = None) -> TableSpec:
    specs = load_specs(directory)
    if table_id not in specs:
        raise UnknownTableSpecError(table_id, specs)
    return specs[table_id]
