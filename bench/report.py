"""From run records to tables and plots: runs.csv, summary.csv, anytime.png."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from bench.run import RunRecord

RUNS_COLUMNS = ["algo", "dataset", "seed", "evals", "best_arch", "best_value", "evals_to_optimum", "wall_seconds"]


def runs_frame(records: Sequence[RunRecord]) -> pd.DataFrame:
    """One row per run; ``evals_to_optimum`` is empty (NaN) where the optimum was not reached."""
    rows = []
    for r in records:
        reached = r.evals_to(r.target) if r.target is not None else None
        rows.append({
            "algo": r.algo, "dataset": r.dataset, "seed": r.seed, "evals": len(r.values),
            "best_arch": r.best_arch, "best_value": r.best_value,
            "evals_to_optimum": pd.NA if reached is None else reached,
            "wall_seconds": r.wall_seconds, "metric": r.metric, "optimum": r.target,
        })
    df = pd.DataFrame(rows, columns=RUNS_COLUMNS + ["metric", "optimum"])
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


def plot_anytime(records: Sequence[RunRecord], path: Path, title: str = "") -> None:
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
