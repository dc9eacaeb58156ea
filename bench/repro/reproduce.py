"""Regenerate paper tables and print the scoreboard."""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from bench.paths import paper_repro_dir
from bench.repro.output import TableResult, write_outputs
from bench.repro.cache import cache_dir, using_cache_dir
from bench.repro.spec import PAPERS, STATUSES, TableSpec, get_spec, load_specs


def default_out_dir() -> Path:
    """The committed outputs: ``paper_repro/out``."""
    return paper_repro_dir() / "out"


def reproduce(spec: TableSpec, seeds: int | None = None, progress: bool = True,
              out_dir: str | Path | None = None) -> tuple[Path, Path]:
    """Run the spec's runner (if any) and write ``<id>.md`` and ``.csv`` into ``out_dir``
    (default: the committed ``paper_repro/out``)."""
    if seeds is not None and seeds < 1:
        raise ValueError(f"--seeds must be >= 1, got {seeds}")
    target = Path(out_dir) if out_dir is not None else default_out_dir()
    if spec.runner:
        known = runners()
        if spec.runner not in known:
            raise ValueError(f"{spec.path}: runner {spec.runner!r} is not one of {sorted(known)}")
        n = seeds or int(spec.params.get("seeds", 10))
        with _exploratory_cache(target):
            result = known[spec.runner](spec, n, progress)
    else:
        result = TableResult()
    result.command = (f"make reproduce-table TABLE={spec.id}" if seeds is None
                      else f"mmnas-bench tables reproduce {spec.id} --seeds {seeds}")
    return write_outputs(spec, result, target, decimals=int(spec.params.get("decimals", 1)))


@contextmanager
def _exploratory_cache(target: Path):
    """Outside the committed output folder, runners train their misses into a copy of the
    committed cache folder under ``target/cache/``, so an exploratory run (more seeds)
    leaves ``paper_repro/cache`` as committed."""
    committed = cache_dir()
    if target.resolve() == default_out_dir().resolve():
        yield
        return
    copy = target / "cache"
    copy.mkdir(parents=True, exist_ok=True)
    for f in committed.glob("*") if committed.is_dir() else []:
        if f.is_file() and not (copy / f.name).exists():
            shutil.copyfile(f, copy / f.name)
    with using_cache_dir(copy):
        yield


def runners() -> dict:
    """Every family's paper-table runners, by the key a spec names."""
    from bench.families import FAMILIES

    out = {}
    for f in FAMILIES.values():
        out.update(f.runners())
    return out


def reproduce_ids(ids: list[str] | None = None, seeds: int | None = None, progress: bool = True,
                  out_dir: str | Path | None = None) -> list[Path]:
    """Regenerate the given specs (default: all) into ``out_dir`` (default ``paper_repro/out``)."""
    specs = load_specs()
    chosen = [get_spec(i) for i in ids] if ids else list(specs.values())  # unknown ids fail before any work
    paths = []
    for spec in chosen:
        md, _ = reproduce(spec, seeds, progress, out_dir)
        paths.append(md)
    return paths


def scoreboard() -> pd.DataFrame:
    """Rows per status for every spec (from the specs; nothing is run)."""
    rows = []
    for spec in load_specs().values():
        c = spec.status_counts()
        rows.append({"paper": spec.method, "id": spec.id, "table": spec.table, "kind": spec.kind, **c,
                     "output": "yes" if (default_out_dir() / f"{spec.id}.md").exists() else "no"})
    return pd.DataFrame(rows, columns=["paper", "id", "table", "kind", *STATUSES, "output"])


def format_scoreboard(df: pd.DataFrame) -> str:
    per_paper = df.groupby("paper", sort=False)[list(STATUSES)].sum()
    per_paper["specs"] = df.groupby("paper", sort=False).size()
    order = [m for m in PAPERS.values() if m in per_paper.index]
    per_paper = per_paper.loc[order]
    totals = per_paper.sum()
    lines = ["Paper tables and figures (rows by status)", "", df.to_string(index=False), "",
             "Per paper:", per_paper.to_string(), "",
             "Total rows: " + ", ".join(f"{s} {int(totals[s])}" for s in STATUSES) + f"; specs {int(totals['specs'])}"]
    return "\n".join(lines)
