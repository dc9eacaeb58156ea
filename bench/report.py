"""From run records to tables and plots: runs.csv, summary.csv, anytime.png."""

from __future__ import annotations

import functools

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
    """Mean and std over seeds per (algo, dataset), and every algorithm against the first one on the
    same dataset (``vs_reference``: :func:`bench.trained_report.pairwise` on evaluations to the
    optimum where every run of both reached it, else on the final regret; lower is better;
    :func:`bench.stats.compare`)."""
    from bench.stats import compare

    out = []
    first = runs["algo"].iloc[0] if len(runs) else None
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
        ref = runs[(runs.algo == first) & (runs.dataset == ds)]
        if algo != first and len(ref):
            if g["evals_to_optimum"].notna().all() and ref["evals_to_optimum"].notna().all():
                what, a, b = "evals to optimum", g["evals_to_optimum"].astype(float), ref["evals_to_optimum"].astype(float)
            else:
                what, a, b = "final regret", regret, (ref["optimum"] - ref["best_value"]).abs()
            out[-1]["vs_reference"] = f"{what}: " + compare(a, b, higher_is_better=False).text(algo, first)
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
    text = pd.DataFrame(rows).to_string(index=False)
    if "vs_reference" in summary:
        verdicts = [f"  {r['dataset']}, {r['vs_reference']}" for r in summary.to_dict("records")
                    if isinstance(r.get("vs_reference"), str)]
        text += ("\n\nAgainst the first algorithm (two-sided Mann-Whitney; difference and Cliff's delta are the "
                 "first-named minus the second, lower is better):\n" + "\n".join(verdicts))
    return text


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


#: generic algorithms' published names; a family names its own (``Family.method_names``)
GENERIC_METHOD_NAMES = {"rs": "Random search", "rea": "Regularized evolution", "asha": "ASHA (Optuna)",
                        "hyperband": "Hyperband (Optuna)", "tpe-hyperband": "TPE + Hyperband (Optuna)"}


def method_name(algo: str, benchmark: str | None = None) -> str:
    """The published name of an algorithm key for legends (``rea`` -> ``Regularized evolution``);
    a key no one names (a user's own algorithm) is shown as it is."""
    if algo in GENERIC_METHOD_NAMES:
        return GENERIC_METHOD_NAMES[algo]
    if benchmark:
        from bench.errors import BenchError
        from bench.families import get

        try:
            names = get(benchmark).method_names()
        except BenchError:  # a record of a family this install does not have: the key
            names = {}
        if algo in names:
            return names[algo]
    return algo


#: unit names that read badly in an axis label, by the unit a table stores
_UNIT_WORDS = {"%": "%", "count": "count", "s": "s"}


@functools.lru_cache(maxsize=None)  # a plot asks per axis; opening a table view reads the whole table
def metric_unit(benchmark: str, dataset: str, metric: str) -> str:
    """The unit a benchmark's table gives ``metric`` on ``dataset`` ("" when it gives none)."""
    from bench import registry
    from bench.errors import BenchError

    try:
        view = registry.table_view(benchmark, dataset)
        return str(view.metric_info(metric).unit) if view is not None else ""
    except (BenchError, KeyError, OSError):  # no table for it here: the label says so
        return ""


def unit_label(unit: str, difference: bool = False) -> str:
    """``unit`` as an axis label suffix; a difference of percentages is in percentage points."""
    if not unit:
        return "(unit not recorded)"
    if difference and unit == "%":
        return "(percentage points)"
    return f"({_UNIT_WORDS.get(unit, unit)})"


def set_title(fig, text: str, fontsize: float = 12.0) -> None:
    """A figure title wrapped to the figure's width, so no line is clipped."""
    import textwrap

    if not text:
        return
    width_pt = fig.get_figwidth() * 72
    chars = max(20, int(width_pt / (0.6 * fontsize)))  # a generous average glyph width
    fig.suptitle(textwrap.fill(text, chars), fontsize=fontsize)


def _symlog_y(ax, values: np.ndarray) -> None:
    """Symmetric-log y for curves that fall to (near) zero and then look flat on a linear axis;
    the linear band below ``linthresh`` keeps zero (optimum found) on the axis."""
    v = np.asarray(values, float)
    pos = v[np.isfinite(v) & (v > 0)]
    if not len(pos):
        return
    linthresh = max(float(pos.min()), float(pos.max()) * 1e-3)
    ax.set_yscale("symlog", linthresh=linthresh)
    ax.set_ylim(bottom=0)


def anytime_figure(records: Sequence[RunRecord], title: str = ""):
    """Mean regret with a +-1 std band against counted evaluations (log x, symlog y), one panel
    per dataset; legends name the methods, axes carry units."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = list(dict.fromkeys(r.dataset for r in records))
    fig, axes = plt.subplots(1, len(datasets), figsize=(5.5 * len(datasets), 4.4), squeeze=False, layout="constrained")
    for ax, ds in zip(axes[0], datasets):
        shown = []
        metric, bench_name = "", ""
        for algo in dict.fromkeys(r.algo for r in records):
            recs = [r for r in records if r.dataset == ds and r.algo == algo]
            if not recs:
                continue
            metric, bench_name = recs[0].metric, recs[0].benchmark
            m = regret_matrix(recs)
            x = np.arange(1, m.shape[1] + 1)
            mean, std = np.nanmean(m, axis=0), np.nanstd(m, axis=0)
            ax.plot(x, mean, label=f"{method_name(algo, bench_name)} ({len(recs)} seeds)")
            ax.fill_between(x, np.maximum(mean - std, 0), mean + std, alpha=0.2)
            shown.append(mean + std)
        ax.set_xscale("log")
        if shown:
            _symlog_y(ax, np.concatenate(shown))
        ax.set_xlabel("counted evaluations (count, log scale)")
        unit = unit_label(metric_unit(bench_name, ds, metric), difference=True) if metric else "(unit not recorded)"
        ax.set_ylabel(f"regret of {metric or 'the metric'} {unit}")
        ax.set_title(f"{ds}: optimum minus incumbent, mean +- std")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    set_title(fig, title)
    return fig


def plot_anytime(records: Sequence[RunRecord], path: Path, title: str = "") -> None:
    import matplotlib.pyplot as plt

    fig = anytime_figure(records, title)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_all(records: Sequence[RunRecord], out_dir: Path) -> pd.DataFrame:
    """Write records/, runs.csv, summary.csv and anytime.png; return the summary."""
    from bench.algorithms import file_name

    out_dir.mkdir(parents=True, exist_ok=True)
    for r in records:
        r.save(out_dir / "records" / f"{r.dataset}__{file_name(r.algo)}__seed{r.seed}.json")
    runs = runs_frame(records)
    runs[RUNS_COLUMNS].to_csv(out_dir / "runs.csv", index=False)
    summary = summary_frame(runs)
    summary.to_csv(out_dir / "summary.csv", index=False)
    plot_anytime(records, out_dir / "anytime.png")
    return summary


# ---- multi-task comparisons (bench.compare.compare_multitask) ----------------------------------
#: one row per (algorithm, task, seed) plus one ``dataset == "total"`` row per (algorithm, seed):
#: its ``evals`` is the evaluations of all tasks, its ``evals_to_optimum`` their sum (empty unless
#: every task reached its optimum); ``search`` is ``together`` (multi-task) or ``independent``
MULTITASK_RUNS_COLUMNS = ["algo", "search", "dataset", "seed", "metric", "evals", "best_arch", "best_value",
                          "evals_to_optimum", "wall_seconds"]
TOTAL = "total"


def multitask_runs_frame(records) -> pd.DataFrame:
    rows = []
    for mr in records:
        search = mr.settings.get("search", "")
        per_task = runs_frame(mr.records)
        for r in per_task.to_dict("records"):
            rows.append({**r, "algo": mr.algo, "search": search})
        reached = per_task["evals_to_optimum"]
        rows.append({"algo": mr.algo, "search": search, "dataset": TOTAL, "seed": mr.seed, "metric": "",
                     "evals": mr.total_evals, "best_arch": "", "best_value": math.nan,
                     "evals_to_optimum": pd.NA if reached.isna().any() else int(reached.sum()),
                     "wall_seconds": float(per_task["wall_seconds"].sum()), "optimum": math.nan})
    df = pd.DataFrame(rows, columns=MULTITASK_RUNS_COLUMNS + ["optimum"])
    df["evals_to_optimum"] = df["evals_to_optimum"].astype("Int64")
    return df


def _quartiles(x: pd.Series) -> dict:
    x = x.dropna().astype(float)
    if not len(x):
        return {"mean": math.nan, "median": math.nan, "q25": math.nan, "q75": math.nan, "iqr": math.nan}
    q25, med, q75 = np.percentile(x, [25, 50, 75])
    return {"mean": x.mean(), "median": med, "q25": q25, "q75": q75, "iqr": q75 - q25}


def multitask_summary_frame(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (algorithm, task) and per algorithm in total: mean, median, quartiles and IQR over
    seeds of the evaluations to the optimum (seeds that reached it) and of the best value."""
    out = []
    for (algo, ds), g in runs.groupby(["algo", "dataset"], sort=False):
        row = {"algo": algo, "search": g["search"].iloc[0], "dataset": ds, "metric": g["metric"].iloc[0],
               "seeds": len(g), "evals_mean": g["evals"].mean()}
        row |= {f"evals_to_optimum_{k}": v for k, v in _quartiles(g["evals_to_optimum"]).items()}
        row["reached"] = f"{g['evals_to_optimum'].notna().sum()}/{len(g)}"
        row |= {f"best_{k}": v for k, v in _quartiles(g["best_value"]).items()}
        row["regret_mean"] = (g["optimum"] - g["best_value"]).abs().mean()
        out.append(row)
    return pd.DataFrame(out)


def format_multitask_summary(summary: pd.DataFrame) -> str:
    """Mean, median [q25, q75] of evaluations to the optimum and median [IQR] of the best value."""
    def evals(r):
        if r.evals_to_optimum_mean != r.evals_to_optimum_mean:
            return f"- ({r.reached})"
        return (f"{r.evals_to_optimum_mean:.1f} | {r.evals_to_optimum_median:.1f} "
                f"[{r.evals_to_optimum_q25:.1f}, {r.evals_to_optimum_q75:.1f}] ({r.reached})")

    rows = [{
        "algo": r.algo, "search": r.search, "task": r.dataset, "metric": r.metric or "-", "seeds": r.seeds,
        "evals": f"{r.evals_mean:.1f}",
        "evals to optimum: mean | median [q25, q75]": evals(r),
        "best: median [IQR]": "-" if r.best_median != r.best_median else f"{r.best_median:.3f} [{r.best_iqr:.3f}]",
    } for r in summary.itertuples()]
    return pd.DataFrame(rows).to_string(index=False)


def multitask_figure(records):
    """One panel per task: mean regret (+-1 std) against that task's evaluations (log x, symlog
    y); a last panel: fraction of seeds that reached every task's optimum against total
    evaluations. Legends name the methods, axes carry units."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(dict.fromkeys(t for mr in records for t in mr.tasks))
    algos = list(dict.fromkeys(mr.algo for mr in records))
    bench_name = records[0].benchmark if records else ""
    fig, axes = plt.subplots(1, len(tasks) + 1, figsize=(5.5 * (len(tasks) + 1), 4.4), squeeze=False,
                             layout="constrained")
    for ax, task in zip(axes[0], tasks):
        metric = ""
        shown = []
        for algo in algos:
            recs = [mr.record(task) for mr in records if mr.algo == algo and task in mr.tasks]
            if not recs:
                continue
            metric = recs[0].metric
            m = regret_matrix(recs)
            x = np.arange(1, m.shape[1] + 1)
            mean, std = np.nanmean(m, axis=0), np.nanstd(m, axis=0)
            ax.plot(x, mean, label=f"{method_name(algo, bench_name)} ({len(recs)} seeds)")
            ax.fill_between(x, np.maximum(mean - std, 0), mean + std, alpha=0.2)
            shown.append(mean + std)
        ax.set_xscale("log")
        if shown:
            _symlog_y(ax, np.concatenate(shown))
        ax.set_xlabel(f"counted evaluations on {task} (count, log scale)")
        ax.set_ylabel(f"regret of {metric} {unit_label(metric_unit(bench_name, task, metric), difference=True)}")
        ax.set_title(f"{task}: optimum minus incumbent, mean +- std")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    ax = axes[0][-1]
    for algo in algos:
        mine = [mr for mr in records if mr.algo == algo]
        totals = sorted(sum(v) for mr in mine if None not in (v := list(mr.evals_to_targets().values())))
        if totals:
            ax.step([0, *totals], np.arange(len(totals) + 1) / len(mine), where="post",
                    label=method_name(algo, bench_name))
    ax.set_xscale("symlog", linthresh=10)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("total counted evaluations, all tasks (count, symlog scale)")
    ax.set_ylabel("seeds with every optimum found (fraction, 0-1)")
    ax.set_title("all tasks together")
    ax.grid(True, which="both", alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    else:
        ax.text(0.5, 0.5, "no seed reached every optimum", ha="center", va="center", transform=ax.transAxes)
    return fig


def write_multitask(records, out_dir: Path) -> pd.DataFrame:
    """records/<algo>__seed<k>.json (one multi-task record each), runs.csv, summary.csv and
    anytime.png of a multi-task comparison; returns the summary."""
    import matplotlib.pyplot as plt

    from bench.algorithms import file_name

    out_dir.mkdir(parents=True, exist_ok=True)
    for mr in records:
        mr.save(out_dir / "records" / f"{file_name(mr.algo)}__seed{mr.seed}.json")
    runs = multitask_runs_frame(records)
    runs[MULTITASK_RUNS_COLUMNS].to_csv(out_dir / "runs.csv", index=False)
    summary = multitask_summary_frame(runs)
    summary.to_csv(out_dir / "summary.csv", index=False)
    fig = multitask_figure(records)
    try:
        fig.savefig(out_dir / "anytime.png", dpi=120)
    finally:
        plt.close(fig)
    return summary


def load_records(out_dir: Path) -> list[RunRecord]:
    """Records saved by :func:`write_all`, for re-plotting or re-summarising."""
    return [RunRecord.load(p) for p in sorted((Path(out_dir) / "records").glob("*.json"))]


def replot(out_dir: str | Path, reference: str | None = None) -> tuple[str, pd.DataFrame, int]:
    """Rewrite runs.csv, summary.csv and anytime.png of a comparison folder from its records.

    Works on folders of table and trained benchmarks and of multi-task comparisons (kind
    ``multitask``, recognised by their records) (``reference``: the algorithm of the
    significance test; default the one the folder's summary.csv names, else the first).
    Everything is computed before the first file is replaced, and each file is replaced
    atomically, so a failure leaves the folder as it was. Returns (kind, summary, runs).
    """
    import matplotlib.pyplot as plt

    from bench.errors import BenchError

    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise BenchError(f"plot: {str(out_dir)!r} is not a folder")
    multi = _multitask_records(out_dir)
    if multi:
        if reference is not None:
            raise BenchError("plot: --reference applies to comparisons on trained benchmarks only (equal-cost runs)")
        runs = multitask_runs_frame(multi)
        summary = multitask_summary_frame(runs)
        fig = multitask_figure(multi)
        try:
            _replace_all(out_dir, {"runs.csv": lambda p: runs[MULTITASK_RUNS_COLUMNS].to_csv(p, index=False),
                                   "summary.csv": lambda p: summary.to_csv(p, index=False),
                                   "anytime.png": lambda p: fig.savefig(p, dpi=120, format="png")})
        finally:
            plt.close(fig)
        return "multitask", summary, len(multi)
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


def _multitask_records(out_dir: Path) -> list:
    """The folder's multi-task records in the order of its runs.csv (algorithms), seeds ascending;
    empty when its records are single-task ones. A folder mixing both is refused."""
    import json

    from bench.errors import BenchError
    from bench.multitask import MultiTaskRecord, is_multitask_data

    paths = sorted((out_dir / "records").glob("*.json"))
    multi = []
    for p in paths:
        try:
            is_multi = is_multitask_data(json.loads(p.read_text()))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            is_multi = False  # unreadable: RunRecord.load names the file below
        if is_multi:
            multi.append(p)
    if multi and len(multi) != len(paths):
        single = next(p for p in paths if p not in multi)
        raise BenchError(f"plot: {out_dir} mixes multi-task records ({multi[0].name}) with others ({single.name}); "
                         "re-plot them from separate folders")
    records = [MultiTaskRecord.load(p) for p in multi]
    order: dict[str, int] = {}
    runs_csv = out_dir / "runs.csv"
    if records and runs_csv.exists():
        try:
            order = {a: i for i, a in enumerate(dict.fromkeys(pd.read_csv(runs_csv, usecols=["algo"], dtype=str)["algo"]))}
        except (ValueError, pd.errors.ParserError, UnicodeDecodeError):
            order = {}  # unreadable or foreign: fall back to file order
    first = {a: i for i, a in reversed(list(enumerate(r.algo for r in records)))}
    return sorted(records, key=lambda r: (order.get(r.algo, len(order) + first[r.algo]),
                                          r.seed if r.seed is not None else -1))


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
