"""Reports of search runs on trained benchmarks: final results at equal training cost, a significance
test against a reference algorithm, and anytime curves against training seconds.

``charged_seconds`` is the training cost a run was charged (deterministic, see
:mod:`bench.trained_run`); ``wall_seconds`` is the wall time the run took on this machine."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from bench.trained_run import best_test
from bench.run import AT_BUDGET, RunRecord, how_stopped


def settings_text(given) -> str:
    """Settings given to an algorithm (``{"population": 4}``) as the command line takes them:
    ``population=4`` (None: ``none``, booleans ``true``/``false``)."""
    def word(v):
        return "none" if v is None else str(v).lower() if isinstance(v, bool) else str(v)

    return ", ".join(f"{k}={word(v)}" for k, v in (given or {}).items())


def runs_frame(records: Sequence[RunRecord]) -> pd.DataFrame:
    """One row per run: charged cost, evaluations, inherited evaluations, the incumbent, the
    measured wall time, the budget of charged seconds, why the run stopped
    (:attr:`~bench.run.RunRecord.stop_reason`) and the settings given to its algorithm
    (``compare --algo-setting``, :func:`settings_text`)."""
    rows = []
    fidelity = any(r.partial for r in records)
    for r in records:
        i = r.best_index
        full = len(r.values) - sum(r.partial)
        rows.append({
            "algo": r.algo, "dataset": r.dataset, "seed": r.seed, "evals": full,
            # epoch fidelity: the models whose training the search stopped before its end
            **({"stopped_early": len(set(r.archs)) - full} if fidelity else {}),
            "inherited": sum(1 for p in r.parents if p),
            "charged_seconds": r.sim_seconds[-1] if r.sim_seconds else 0.0,
            "best_arch": r.archs[i] if i >= 0 else "", "best_val": r.values[i] if i >= 0 else math.nan,
            "best_test": best_test(r), "best_params": r.params[i] if i >= 0 else 0,
            "wall_seconds": r.wall_seconds,
            "budget_seconds": math.nan if r.budget_seconds is None else float(r.budget_seconds),
            "stop_reason": r.stop_reason, "settings": settings_text(r.settings.get("algo_setting")),
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
    """Mean and std per (dataset, algo); the budget spent: ``budget_seconds``, ``used_share``
    (mean charged seconds over the budget), ``stopped_at_budget`` and ``stopped_own_schedule``
    (runs), ``stopped`` (:func:`bench.run.how_stopped`) and ``settings`` (given to the algorithm);
    against ``reference`` on best_test (higher is better unless ``runs.attrs['direction'] == 'min'``;
    :func:`bench.stats.compare`): ``p_vs_<reference>`` (Mann-Whitney), ``delta_vs_<reference>``
    (Cliff's delta, positive: larger values) and ``vs_<reference>`` (the verdict with its statistic)."""
    from bench.stats import compare

    out = []
    higher = runs.attrs.get("direction", "max") != "min"
    for (ds, algo), g in runs.groupby(["dataset", "algo"], sort=False):
        row = {"dataset": ds, "algo": algo, "runs": len(g)}
        for c in ("best_test", "best_val", "charged_seconds", "evals", "stopped_early", "inherited", "best_params",
                  "wall_seconds"):
            if c in g:
                row[f"{c}_mean"], row[f"{c}_std"] = g[c].mean(), g[c].std(ddof=0)
        budget = float(g["budget_seconds"].max()) if "budget_seconds" in g else math.nan
        reasons = list(g["stop_reason"]) if "stop_reason" in g else []
        row["budget_seconds"] = budget
        row["used_share"] = row["charged_seconds_mean"] / budget if budget > 0 else math.nan
        row["stopped_at_budget"] = sum(1 for x in reasons if x in AT_BUDGET)
        row["stopped_own_schedule"] = sum(1 for x in reasons if x == "algorithm_stopped")
        row["stopped"] = how_stopped(reasons) if reasons else ""
        row["settings"] = "; ".join(dict.fromkeys(x for x in g.get("settings", []) if isinstance(x, str) and x))
        if reference is not None and algo != reference:
            ref = runs[(runs.dataset == ds) & (runs.algo == reference)]["best_test"]
            c = compare(g["best_test"], ref, higher)
            row[f"p_vs_{reference}"] = c.p
            row[f"delta_vs_{reference}"] = c.effect
            row[f"vs_{reference}"] = c.text(algo, reference)
        out.append(row)
    return pd.DataFrame(out)


def anytime_matrix(records: Sequence[RunRecord], grid: np.ndarray) -> np.ndarray:
    """Test value of the incumbent at each grid point of charged training seconds, one row per run;
    NaN before a run's first evaluation and after its last: a run that stopped (at its own schedule
    or at the budget) is not held flat past the charged second where it stopped."""
    grid = np.asarray(grid, float)
    out = np.full((len(records), len(grid)), np.nan)
    for i, r in enumerate(records):
        if not r.sim_seconds:
            continue
        t, v = np.asarray(r.sim_seconds, float), np.asarray(r.incumbent_test_curve(), float)
        pos = np.searchsorted(t, grid, side="right") - 1
        out[i] = np.where((pos >= 0) & (grid <= t[-1]), v[np.maximum(pos, 0)], np.nan)
    return out


@dataclass(frozen=True)
class AnytimeCurve:
    """One algorithm's anytime curve (:func:`anytime_curve`)."""

    grid: np.ndarray  # charged training seconds
    mean: np.ndarray  # mean over the runs still running; NaN where it is not drawn
    std: np.ndarray
    running: np.ndarray  # runs still running at each grid point (until their last evaluation)
    end: int  # index of the last point drawn, where the runs stopped (-1: nothing to draw)
    used: float  # mean charged seconds the runs used
    budget: float | None  # the runs' budget of charged seconds (None: none, or not the same for all)


def anytime_curve(records: Sequence[RunRecord], grid: np.ndarray) -> AnytimeCurve:
    """Mean +- std test value of the incumbent over the runs still running at each grid point (a run
    runs until its last evaluation, :func:`anytime_matrix`); the curve ends where fewer than half of
    the runs are still running, so runs that stopped early are not drawn flat to the end."""
    grid = np.asarray(grid, float)
    m = anytime_matrix(records, grid)
    stops = np.array([r.sim_seconds[-1] if r.sim_seconds else -np.inf for r in records], float)
    running = (grid[None, :] <= stops[:, None]).sum(axis=0)
    enough = 2 * running >= max(1, len(records))
    with warnings.catch_warnings():  # grid points before a run's first evaluation are NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        mean, std = np.nanmean(m, axis=0), np.nanstd(m, axis=0)
    drawn = np.flatnonzero(enough & np.isfinite(mean))
    end = int(drawn[-1]) if len(drawn) else -1
    mean, std = mean.copy(), std.copy()
    mean[end + 1:] = np.nan
    std[end + 1:] = np.nan
    budgets = {r.budget_seconds for r in records}
    budget = next(iter(budgets)) if len(budgets) == 1 else None
    used = float(np.mean([r.sim_seconds[-1] if r.sim_seconds else 0.0 for r in records])) if records else 0.0
    return AnytimeCurve(grid, mean, std, running, end, used, None if budget is None else float(budget))


def anytime_figure(records: Sequence[RunRecord], title: str = ""):
    """Mean +- std test value of the incumbent against charged training seconds (log x: the
    curves rise in the first seconds), one panel per dataset; each curve is the mean over the runs
    still running and ends, at a marker, where fewer than half of them are (:func:`anytime_curve`);
    legends name the methods and the charged seconds they used, axes carry units, a long title wraps."""
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
            runs = [r for r in recs_ds if r.algo == algo]
            c = anytime_curve(runs, grid)
            used = f"used {c.used:.1f}" + (f" of {c.budget:g} s" if c.budget is not None else " s")
            line, = ax.plot(grid, c.mean, label=f"{method_name(algo, recs_ds[0].benchmark)} ({len(runs)} seeds, {used})")
            ax.fill_between(grid, c.mean - c.std, c.mean + c.std, alpha=0.15)
            if c.end >= 0:
                ax.plot(grid[c.end], c.mean[c.end], marker="o", color=line.get_color())
        if 0 < start < end:
            from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

            ax.set_xscale("log")
            ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))  # labels inside one decade too
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.xaxis.set_minor_formatter(NullFormatter())  # 2x10^-1 ... crowd one another
        ax.set_xlabel("charged training seconds, cumulative (s, log scale)")
        metric = recs_ds[0].test_metric or "test_acc"
        ax.set_ylabel(f"{metric} of the incumbent {unit_label(metric_unit(recs_ds[0].benchmark, ds, metric))}")
        ax.set_title(f"{ds}: mean +- std of the runs still running; o: where they stop")
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


def spend_lines(summary: pd.DataFrame) -> list[str]:
    """Per algorithm, the charged seconds its runs used against the budget and how they stopped:
    ``csgnas: used 7.8 of 30 s (26%); stopped at the end of its own schedule (10 of 10 runs)``."""
    rows = summary.to_dict("records")
    several = len({r["dataset"] for r in rows}) > 1
    out = []
    for r in rows:
        budget = r.get("budget_seconds", math.nan)
        used = f"used {r['charged_seconds_mean']:.1f}" + (
            f" of {budget:g} s ({r['charged_seconds_mean'] / budget:.0%})" if budget == budget and budget > 0 else " s")
        given = r.get("settings")
        out.append(f"{r['dataset'] + '/' if several else ''}{r['algo']}: {used}"
                   + (f"; stopped {r['stopped']}" if isinstance(r.get("stopped"), str) and r["stopped"] else "")
                   + (f"; settings given: {given}" if isinstance(given, str) and given else ""))
    return out


def spend_warnings(summary: pd.DataFrame) -> list[str]:
    """An ``unequal spend`` line for each algorithm whose runs used less than half the mean charged
    seconds of the one that used most (on the same dataset) and did not all stop at the budget."""
    out = []
    for _ds, g in summary.groupby("dataset", sort=False):
        rows = g.to_dict("records")
        top = max(rows, key=lambda r: r["charged_seconds_mean"])
        for r in rows:
            budget = r.get("budget_seconds", math.nan)
            if r is top or not 2 * r["charged_seconds_mean"] < top["charged_seconds_mean"]:
                continue
            if r.get("stopped_at_budget", 0) >= r["runs"]:  # they spent it: the other overshot it
                continue
            of = f" of {budget:g} s" if budget == budget else ""
            out.append(f"unequal spend: {r['algo']} used {r['charged_seconds_mean']:.1f} s, {top['algo']} "
                       f"{top['charged_seconds_mean']:.1f} s{of}: its schedule ended first; set its settings "
                       "(--algo-setting) to spend the budget, or compare at equal evaluations")
    return out


def format_summary(summary: pd.DataFrame) -> str:
    """The summary table, the budget each algorithm spent (:func:`spend_lines`), a warning where the
    spends differ by more than 2x (:func:`spend_warnings`) and the verdicts against the first algorithm."""
    rows = []
    for r in summary.to_dict("records"):
        row = {"dataset": r["dataset"], "algo": r["algo"], "runs": r["runs"],
               "test value of incumbent": f"{r['best_test_mean']:.2f} +- {r['best_test_std']:.2f}",
               "charged s": f"{r['charged_seconds_mean']:.1f} +- {r['charged_seconds_std']:.1f}",
               "evals": f"{r['evals_mean']:.1f}",
               **({"stopped early": f"{r['stopped_early_mean']:.1f}"} if "stopped_early_mean" in r else {}),
               "inherited": f"{r['inherited_mean']:.1f}",
               "wall s": f"{r['wall_seconds_mean']:.1f}"}
        rows.append(row)
    text = pd.DataFrame(rows).fillna("-").to_string(index=False)
    text += "\n\nBudget spent (mean charged training seconds per run):\n" + "\n".join(
        f"  {line}" for line in spend_lines(summary))
    warned = spend_warnings(summary)
    if warned:
        text += "\n" + "\n".join(warned)
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
