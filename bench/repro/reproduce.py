"""Regenerate paper tables and print the scoreboard."""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from bench.core import quality
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
        quality.reset_reads()
        with _exploratory_cache(target):
            result = known[spec.runner](spec, n, progress)
        result.tables_read = quality.reads_since_reset()
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
        elif f.is_dir() and not (copy / f.name).exists():  # the sweep cache (bench.repro.sweep_cache)
            shutil.copytree(f, copy / f.name)
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


#: statuses whose rows carry results of ours regenerated for a row of the paper
REGENERATED = ("same-benchmark", "same-benchmark-protocol", "proxy")
#: the scoreboard's counts beside the statuses (:func:`spec_counts`)
COUNTS = ("no-paper-value", "paper-rows", "regenerated", "own")


def spec_counts(spec: TableSpec) -> dict[str, int]:
    """Rows per status, and the counts the scoreboard's totals are made of:

    - ``no-paper-value``: rows other than ``added`` that are not the paper's (no number and no
      text of the paper transcribed for them, :meth:`TableSpec.is_paper_row`), e.g. MRO's
      ``syn3-p2-planted`` stand-ins beside the paper's rows: the suite's own;
    - ``paper-rows``: the paper's result rows, i.e. the paper's rows other than ``added`` and ``settings``;
    - ``regenerated``: those of them with a result of ours (:data:`REGENERATED`);
    - ``own``: the suite's own rows with a result: ``added`` ones and regenerated rows with no paper value.
    """
    paper = [r for r in spec.rows if r.status not in ("added", "settings") and spec.is_paper_row(r)]
    own = [r for r in spec.rows if r.status == "added" or (r.status in REGENERATED and not spec.is_paper_row(r))]
    return {**spec.status_counts(), "no-paper-value": spec.without_paper_value(), "paper-rows": len(paper),
            "regenerated": sum(r.status in REGENERATED for r in paper), "own": len(own)}


def scoreboard() -> pd.DataFrame:
    """Rows per status and :func:`spec_counts` for every spec (from the specs; nothing is run)."""
    rows = []
    for spec in load_specs().values():
        rows.append({"paper": spec.method, "id": spec.id, "table": spec.table, "kind": spec.kind, **spec_counts(spec),
                     "output": "yes" if (default_out_dir() / f"{spec.id}.md").exists() else "no"})
    return pd.DataFrame(rows, columns=["paper", "id", "table", "kind", *STATUSES, *COUNTS, "output"])


def scoreboard_totals(df: pd.DataFrame) -> dict[str, int]:
    """Every status and count of :func:`spec_counts` summed over the scoreboard's specs."""
    return {c: int(df[c].sum()) for c in (*STATUSES, *COUNTS)}


SCOREBOARD_LEGEND = (
    "The papers' result rows are the paper's rows other than added and settings ones: rows for which the spec "
    "transcribes a number or the paper's text (in a figure whose values exist only in the image, every row, one per "
    "series). A row with no paper value (column no-paper-value) is the suite's own, like an added row: e.g. MRO's "
    "syn3-p2-planted rows, regenerated on a synthetic stand-in beside the paper's rows, which stay not-offline with "
    "the paper's values.")


def format_scoreboard(df: pd.DataFrame) -> str:
    shown = [*STATUSES, "no-paper-value"]
    per_paper = df.groupby("paper", sort=False)[shown].sum()
    per_paper["specs"] = df.groupby("paper", sort=False).size()
    order = [m for m in PAPERS.values() if m in per_paper.index]
    per_paper = per_paper.loc[order]
    t = scoreboard_totals(df)
    lines = ["Paper tables and figures (rows by status)", "",
             df[["paper", "id", "table", "kind", *shown, "output"]].to_string(index=False), "",
             "Per paper:", per_paper.to_string(), "",
             "Total rows: " + ", ".join(f"{s} {t[s]}" for s in STATUSES) + f"; specs {len(df)}",
             f"The papers' result rows: {t['paper-rows']}, regenerated {t['regenerated']} ({', '.join(REGENERATED)}); "
             f"the suite's own rows with a result: {t['own']} (added {t['added']}, regenerated without a paper value "
             f"{t['own'] - t['added']}); rows without a paper value: {t['no-paper-value']}.",
             "", SCOREBOARD_LEGEND]
    return "\n".join(lines)
