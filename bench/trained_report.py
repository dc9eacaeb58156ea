"""Reports of search runs on trained benchmarks: final results at equal training cost, a significance
test against a reference algorithm, and anytime curves against training seconds.

``charged_seconds`` is the training cost a run was charged (deterministic, see
:mod:`bench.trained_run`); ``wall_seconds`` is the wall time the run took on this machine."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from bench.trained_run import best_test
from bench.run import RunRecord


def runs_frame(records: Sequence[RunRecord]) -> pd.DataFrame:
    """One row per run: charged cost, evaluations, inherited evaluations, the incumbent and
    the measured wall time."""
    rows = []
    for r in records:
        i = r.best_index
        rows.append({
            "algo": r.algo, "dataset": r.dataset, "seed": r.seed, "evals": len(r.values),
            "inherited": sum(1 for p in r.parents if p),
            "charged_seconds": r.sim_seconds[-1] if r.sim_seconds else 0.0,
            "best_arch": r.archs[i] if i >= 0 else "", "best_val": r.values[i] if i >= 0 else math.nan,
            "best_test": best_test(r), "best_params": r.params[i] if i >= 0 else 0,
            "wall_seconds": r.wall_seconds,
        })
    frame = pd.DataFrame(rows)
    if records:
        frame.attrs["direction"] = records[0].direction
    return frame


def mann_whitney(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided Mann-Whitney U p-value (NaN when either side is constant and equal)."""
    from scipy.stats import mannwhitneyu

    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) == 0 or len(b) == 0 or (np.ptp(np.r_[a, b]) == 0):
        return math.nan
    return float(mannwhitneyu(a, b, alternative="two-sided").pvalue)


def cliffs_delta(a: Sequence[float], b: Sequence[float]) -> float:
    """Cliff's delta, P(a > b) - P(a < b) over all pairs (-1..1; NaN when a side is empty)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) == 0 or len(b) == 0:
        return math.nan
    return float((np.sign(a[:, None] - b[None, :])).mean())


def summary_frame(runs: pd.DataFrame, reference: str | None = None) -> pd.DataFrame:
    """Mean and std per (dataset, algo); against ``reference`` on best_test (higher is better
    unless ``runs.attrs['direction'] == 'min'``; :func:`bench.stats.compare`): ``p_vs_<reference>``
    (Mann-Whitney), ``delta_vs_<reference>`` (Cliff's delta, positive: larger values) and
    ``vs_<reference>`` (the verdict with its statistic)."""
    from bench.stats import compare

    out = []
    higher = runs.attrs.get("direction", "max") != "min"
    for (ds, algo), g in runs.groupby(["dataset", "algo"], sort=False):
        row = {"dataset": ds, "algo": algo, "runs": len(g)}
        for c in ("best_test", "best_val", "charged_seconds", "evals", "inherited", "best_params", "wall_seconds"):
            row[f"{c}_mean"], row[f"{c}_std"] = g[c].mean(), g[c].std(ddof=0)
        if reference is not None and algo != reference:
            ref = runs[(runs.dataset == ds) & (runs.algo == reference)]["best_test"]
            c = compare(g["best_test"], ref, higher)
            row[f"p_vs_{reference}"] = c.p
            row[f"delta_vs_{reference}"] = c.effect
            row[f"vs_{reference}"] = c.text(algo, reference)
        out.append(row)
    return pd.DataFrame(out)


def anytime_matrix(records: Sequence[RunRecord], grid: np.ndarray) -> np.ndarray:
    """Test value of the incumbent at each grid point of charged training seconds, one row per run."""
    out = np.full((len(records), len(grid)), np.nan)
    for i, r in enumerate(records):
        t, v = np.asarray(r.sim_seconds), np.asarray(r.incumbent_test_curve(), float)
        pos = np.searchsorted(t, grid, side="right") - 1
        out[i] = np.where(pos >= 0, v[np.maximum(pos, 0)], np.nan)
    return out


def anytime_figure(records: Sequence[RunRecord], title: str = ""):
    """Mean +- std test value of the incumbent against charged training seconds (log x: the
    curves rise in the first seconds and are flat after), one panel per dataset; legends name
    the methods, axes carry units, a long title wraps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bench.report import method_name, metric_unit, set_title, unit_label

    datasets = list(dict.fromkeys(r.dataset for r in records))
    fig, axes = plt.subplots(1, len(datasets), figsize=(6.5 * len(datasets), 4.6), squeeze=False,
                             layout="constrained")
    for ax, ds in zip(axes[0], datasets):
        recs_ds = [r for r in records if r.dataset == ds]
        timed = [r.sim_seconds for r in recs_ds if r.sim_seconds]
        end = max(s[-1] for s in timed)
        start = min((t for s in timed for t in s if t > 0), default=end)
        grid = np.geomspace(start, end, 200) if 0 < start < end else np.linspace(0, end, 200)
        for algo in dict.fromkeys(r.algo for r in recs_ds):
            m = anytime_matrix([r for r in recs_ds if r.algo == algo], grid)
            with warnings.catch_warnings():  # grid points before a run's first evaluation are NaN
                warnings.simplefilter("ignore", RuntimeWarning)
                mean, std = np.nanmean(m, axis=0), np.nanstd(m, axis=0)
            ax.plot(grid, mean, label=f"{method_name(algo, recs_ds[0].benchmark)} ({m.shape[0]} seeds)")
            ax.fill_between(grid, mean - std, mean + std, alpha=0.15)
        if 0 < start < end:
            from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

            ax.set_xscale("log")
            ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))  # labels inside one decade too
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.xaxis.set_minor_formatter(NullFormatter())  # 2x10^-1 ... crowd one another
        ax.set_xlabel("charged training seconds, cumulative (s, log scale)")
        metric = recs_ds[0].test_metric or "test_acc"
        ax.set_ylabel(f"{metric} of the incumbent {unit_label(metric_unit(recs_ds[0].benchmark, ds, metric))}")
        ax.set_title(f"{ds}: mean +- std over seeds")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    set_title(fig, title)
    return fig


def plot_anytime(records: Sequence[RunRecord], path: Path, title: str = "") -> None:
    import matplotlib.pyplot as plt

    fig = anytime_figure(records, title)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def format_summary(summary: pd.DataFrame) -> str:
    rows = []
    for r in summary.to_dict("records"):
        row = {"dataset": r["dataset"], "algo": r["algo"], "runs": r["runs"],
               "test value of incumbent": f"{r['best_test_mean']:.2f} +- {r['best_test_std']:.2f}",
               "charged s": f"{r['charged_seconds_mean']:.1f} +- {r['charged_seconds_std']:.1f}",
               "evals": f"{r['evals_mean']:.1f}", "inherited": f"{r['inherited_mean']:.1f}",
               "wall s": f"{r['wall_seconds_mean']:.1f}"}
        rows.append(row)
    text = pd.DataFrame(rows).fillna("-").to_string(index=False)
    verdicts = [r[k] for r in summary.to_dict("records") for k in r if k.startswith("vs_") and isinstance(r[k], str)]
    return text + ("\n\nTest value of the incumbent against the first algorithm (two-sided Mann-Whitney; difference "
                   "and Cliff's delta are the first-named minus the second):\n" + "\n".join(f"  {v}" for v in verdicts)
                   if verdicts else "")


def write_all(records: Sequence[RunRecord], out_dir: Path, reference: str | None = None) -> pd.DataFrame:
    """records/, runs.csv, summary.csv and anytime.png (against charged training seconds)."""
    from bench.algorithms import file_name

    out_dir.mkdir(parents=True, exist_ok=True)
    for r in records:
        r.save(out_dir / "records" / f"{r.dataset}__{file_name(r.algo)}__seed{r.seed}.json")
    runs = runs_frame(records)
    runs.to_csv(out_dir / "runs.csv", index=False)
    summary = summary_frame(runs, reference)
    summary.to_csv(out_dir / "summary.csv", index=False)
    plot_anytime(records, out_dir / "anytime.png")
    return summary
