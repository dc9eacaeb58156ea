"""Regenerate paper tables and print the scoreboard."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bench.paths import paper_repro_dir
from bench.repro.output import TableResult, write_outputs
from bench.repro.runners import RUNNERS
from bench.repro.spec import PAPERS, STATUSES, TableSpec, get_spec, load_specs


def out_dir() -> Path:
    return paper_repro_dir() / "out"


def reproduce(spec: TableSpec, seeds: int | None = None, progress: bool = True) -> tuple[Path, Path]:
    """Run the spec's runner (if any) and write ``out/<id>.md`` and ``.csv``."""
    if spec.runner:
        if spec.runner not in RUNNERS:
            raise ValueError(f"{spec.path}: runner {spec.runner!r} is not one of {sorted(RUNNERS)}")
        n = seeds or int(spec.params.get("seeds", 10))
        result = RUNNERS[spec.runner](spec, n, progress)
    else:
        result = TableResult()
    result.command = f"make reproduce-table TABLE={spec.id}"
    return write_outputs(spec, result, out_dir(), decimals=int(spec.params.get("decimals", 1)))


def reproduce_ids(ids: list[str] | None = None, seeds: int | None = None, progress: bool = True) -> list[Path]:
    specs = load_specs()
    chosen = [get_spec(i) for i in ids] if ids else list(specs.values())
    paths = []
    for spec in chosen:
        md, _ = reproduce(spec, seeds, progress)
        paths.append(md)
    return paths


def scoreboard() -> pd.DataFrame:
    """Rows per status for every spec (from the specs; nothing is run)."""
    rows = []
    for spec in load_specs().values():
        c = spec.status_counts()
        rows.append({"paper": spec.method, "id": spec.id, "table": spec.table, "kind": spec.kind, **c,
                     "output": "yes" if (out_dir() / f"{spec.id}.md").exists() else "no"})
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
