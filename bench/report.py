"""From run records to tables and plots: runs.csv, summary.csv, anytime.png."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from bench.run import RunRecord

#: ``metric`` is what the run searched, ``best_value`` its incumbent's value of it, and
#: ``best_test`` the same incumbent's ``test_metric`` value (empty where the table has none)
RUNS_COLUMNS = ["algo", "dataset", "seed", "metric", "evals", "best_arch", "best_value", "test_metric", "best_test",
                "evals_to_optimum", "wall_seconds"]


def runs_frame(records: Sequence[RunRecord]) -> pd.DataFrame:
    """One row per run; ``evals_to_optimum`` is empty (NaN) where the optimum was not reached."""
    rows = []
    for r in records:
        reached = r.evals_to(r.target) if r.target is not None else None
        rows.append({
            "algo": r.algo, "dataset": r.dataset, "seed": r.seed, "metric": r.metric, "evals": len(r.values),
            "best_arch": r.best_arch, "best_value": r.best_value,
            "test_metric": r.test_metric or "", "best_test": r.best_test,
            "evals_to_optimum": pd.NA if reached is None else reached,
            "wall_seconds": r.wall_seconds, "optimum": r.target,
        })
    df = pd.DataFrame(rows, columns=RUNS_COLUMNS + ["optimum"])
    df["evals_to_optimum"] = df["evals_to_optimum"].astype("Int64")
    return df


def summary_frame(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and std over seeds per (algo, dataset)."""
    out = []
    for (algo, ds), g in runs.groupby(["algo", "dataset"], sort=False):
        regret = (g["optimum"] - g["best_value"]).abs()
        reached = g["evals_to_optimum"].dropna().astype(float)
        out.append({
            "algo": algo, "dataset": ds, "metric": g["metric"].iloc[0], "seeds": len(g),
            "best_mean": g["best_value"].mean(), "best_std": g["best_value"].std(ddof=0),
            "test_metric": g["test_metric"].iloc[0],
            "best_test_mean": g["best_test"].mean(), "best_test_std": g["best_test"].std(ddof=0),
            "regret_mean": regret.mean(), "regret_std": regret.std(ddof=0),
            "evals_to_optimum_mean": reached.mean() if len(reached) else math.nan,
            "evals_to_optimum_std": reached.std(ddof=0) if len(reached) else math.nan,
            "reached": f"{len(reached)}/{len(g)}",
            "wall_seconds_mean": g["wall_seconds"].mean(),
        })
    return pd.DataFrame(out)


def format_summary(summary: pd.DataFrame) -> str:
    """The summary as an aligned text table with mean +- std cells."""
    def pm(m, s, nd=2):
        return "-" if m != m else f"{m:.{nd}f} +- {s:.{nd}f}"

    rows = [{
        "algo": r.algo, "dataset": r.dataset, "metric": r.metric, "seeds": r.seeds,
        "best": pm(r.best_mean, r.best_std), "regret": pm(r.regret_mean, r.regret_std, 3),
        "test of best": (f"{pm(r.best_test_mean, r.best_test_std)} ({r.test_metric})" if r.test_metric else "-"),
        "evals to optimum": pm(r.evals_to_optimum_mean, r.evals_to_optimum_std, 1) + f" ({r.reached})",
        "wall s": f"{r.wall_seconds_mean:.3f}",
    } for r in summary.itertuples()]
    return pd.DataFrame(rows).to_string(index=False)


def regret_matrix(records: Sequence[RunRecord]) -> np.ndarray:
    """Regret after 1..N counted evaluations, one row per run; a finished run keeps its last value."""
    n = max(len(r.values) for r in records)
    out = np.full((len(records), n), np.nan)
    for i, r in enumerate(records):
        curve = np.abs(np.asarray(r.target) - np.asarray(r.incumbent_curve(), dtype=float))
        out[i, : len(curve)] = curve
        if len(curve):
            out[i, len(curve):] = curve[-1]
    return out


def anytime_figure(records: Sequence[RunRecord], title: str = ""):
    """Mean regret with a +-1 std band against counted evaluations (log x), one panel per dataset."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = list(dict.fromkeys(r.dataset for r in records))
    fig, axes = plt.subplots(1, len(datasets), figsize=(5 * len(datasets), 4), squeeze=False)
    for ax, ds in zip(axes[0], datasets):
        for algo in dict.fromkeys(r.algo for r in records):
            recs = [r for r in records if r.dataset == ds and r.algo == algo]
            if not recs:
                continue
            m = regret_matrix(recs)
            x = np.arange(1, m.shape[1] + 1)
            mean, std = np.nanmean(m, axis=0), np.nanstd(m, axis=0)
            ax.plot(x, mean, label=f"{algo} ({len(recs)} seeds)")
            ax.fill_between(x, np.maximum(mean - std, 0), mean + std, alpha=0.2)
        ax.set_xscale("log")
        ax.set_xlabel("evaluations")
        ax.set_ylabel(f"regret ({recs[0].metric})" if recs else "regret")
        ax.set_title(ds)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_anytime(records: Sequence[RunRecord], path: Path, title: str = "") -> None:
    import matplotlib.pyplot as plt

    fig = anytime_figure(records, title)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_all(records: Sequence[RunRecord], out_dir: Path) -> pd.DataFrame:
    """Write records/, runs.csv, summary.csv and anytime.png; return the summary."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for r in records:
        r.save(out_dir / "records" / f"{r.dataset}__{r.algo}__seed{r.seed}.json")
    runs = runs_frame(records)
    runs[RUNS_COLUMNS].to_csv(out_dir / "runs.csv", index=False)
    summary = summary_frame(runs)
    summary.to_csv(out_dir / "summary.csv", index=False)
    plot_anytime(records, out_dir / "anytime.png")
    return summary


def load_records(out_dir: Path) -> list[RunRecord]:
    """Records saved by :func:`write_all`, for re-plotting or re-summarising."""
    return [RunRecord.load(p) for p in sorted((Path(out_dir) / "records").glob("*.json"))]


def replot(out_dir: str | Path, reference: str | None = None) -> tuple[str, pd.DataFrame, int]:
    """Rewrite runs.csv, summary.csv and anytime.png of a comparison folder from its records.

    Works on folders of table and trained benchmarks (``reference``: the algorithm of the
    significance test; default the one the folder's summary.csv names, else the first).
    Everything is computed before the first file is replaced, and each file is replaced
    atomically, so a failure leaves the folder as it was. Returns (kind, summary, runs).
    """
    import matplotlib.pyplot as plt

    from bench.errors import BenchError

    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise BenchError(f"plot: {str(out_dir)!r} is not a folder")
    records = load_records(out_dir)
    if not records:
        raise BenchError(f"plot: no run records in {out_dir / 'records'} (a folder written by `mmnas-bench compare --out`)")
    records = _in_compare_order(records, out_dir / "runs.csv")
    kinds = {_kind(r.benchmark) for r in records}
    if len(kinds) > 1:
        raise BenchError(f"plot: {out_dir} mixes records of trained and table benchmarks; re-plot them from separate folders")
    if kinds == {"trained"}:
        from bench import trained_report

        algos = list(dict.fromkeys(r.algo for r in records))
        if reference is None:
            reference = _reference_of(out_dir / "summary.csv", algos)
        if reference not in algos:
            raise BenchError(f"plot: unknown reference algorithm {reference!r}; valid choices: "
                             + ", ".join(repr(a) for a in algos))
        runs = trained_report.runs_frame(records)
        runs_out = runs
        summary = trained_report.summary_frame(runs, reference)
        fig, kind = trained_report.anytime_figure(records), "trained"
    else:
        if reference is not None:
            raise BenchError("plot: --reference applies to comparisons on trained benchmarks only (equal-cost runs)")
        no_target = [f"{r.dataset}/{r.algo}/seed {r.seed}" for r in records if r.target is None]
        if no_target:
            raise BenchError(f"plot: regret needs each run's optimum, and {no_target[0]} has none recorded")
        runs = runs_frame(records)
        runs_out = runs[RUNS_COLUMNS]
        summary = summary_frame(runs)
        fig, kind = anytime_figure(records), "table"
    try:
        _replace_all(out_dir, {"runs.csv": lambda p: runs_out.to_csv(p, index=False),
                               "summary.csv": lambda p: summary.to_csv(p, index=False),
                               "anytime.png": lambda p: fig.savefig(p, dpi=120, format="png")})
    finally:
        plt.close(fig)
    return kind, summary, len(records)


def _kind(benchmark: str) -> str:
    """The kind (``table`` or ``trained``) of the family a record was made on."""
    from bench.families import get

    return get(benchmark).kind


def _in_compare_order(records: list[RunRecord], runs_csv: Path) -> list[RunRecord]:
    """Records in the (dataset, algorithm) order of the folder's runs.csv, seeds ascending;
    record files are named alphabetically, but compare orders rows as the algorithms were given."""
    order: dict[tuple, int] = {}
    if runs_csv.exists():
        try:
            prev = pd.read_csv(runs_csv, usecols=["dataset", "algo"], dtype=str)
            order = {k: i for i, k in enumerate(dict.fromkeys(zip(prev["dataset"], prev["algo"])))}
        except (ValueError, pd.errors.ParserError, UnicodeDecodeError):
            order = {}  # unreadable or foreign: fall back to file order
    first = {k: i for i, k in reversed(list(enumerate((r.dataset, r.algo) for r in records)))}
    return sorted(records, key=lambda r: (order.get((r.dataset, r.algo), len(order) + first[(r.dataset, r.algo)]),
                                          r.seed if r.seed is not None else -1))


def _reference_of(summary_csv: Path, algos: list[str]) -> str:
    """The reference algorithm a fusion summary was written with (its ``p_vs_<algo>`` column)."""
    if summary_csv.exists():
        try:
            cols = pd.read_csv(summary_csv, nrows=0).columns
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError):
            cols = []
        named = [c.removeprefix("p_vs_") for c in cols if c.startswith("p_vs_")]
        if named and named[0] in algos:
            return named[0]
    return algos[0]


def _replace_all(folder: Path, writers: dict) -> None:
    """Write every file to a temporary name first, and rename them over the old files only
    when all were written: a failed write leaves the old files in place."""
    import os

    tmps = {name: folder / f".{name}.tmp-{os.getpid()}" for name in writers}
    try:
        for name, write in writers.items():
            write(tmps[name])
        for name, tmp in tmps.items():
            os.replace(tmp, folder / name)
    finally:
        for tmp in tmps.values():
            if tmp.exists():
                tmp.unlink()
