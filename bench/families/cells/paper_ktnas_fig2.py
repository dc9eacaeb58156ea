"""KTNAS Fig. 2 (``004_9859b4c5803c0e34.txt``): ranking correlation of architectures among the
7 TransNAS-Bench-101 micro tasks, on the 711-cell NASLib sample shipped in ``tables/``.

The paper's figure shows, for each pair of tasks, how well an architecture's rank on a source
task predicts its rank on a target task (its text gives no numbers). We compute two matrices:

* over all cells of the sample (symmetric);
* over the cells KTNAS would transfer from the source: the top ``ranking_ratio`` (20%, KTNAS
  Table I) of the sample by the source task, correlated with their values on the target task
  (not symmetric; it says whether the best source architectures stay ordered on the target).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from bench.repro.output import Cell, TableResult
from bench.repro.spec import TableSpec

#: task of each spec column, in the figure's order
TASKS = {"Object": "class_object", "Scene": "class_scene", "Room layout": "room_layout", "Autoencoder": "autoencoder",
         "Normal": "normal", "Jigsaw": "jigsaw", "Segment.": "segmentsemantic"}
CORRELATIONS = ("spearman", "kendall")


def task_scores(tasks: list[str]) -> tuple[list[str], np.ndarray]:
    """Architectures of the sample and their validation scores per task, oriented so that larger
    is better (room layout's L2 loss is negated), aligned by architecture string."""
    from bench.registry import open as open_benchmark

    oracles = [open_benchmark("transnas101-micro", t) for t in tasks]
    archs = oracles[0].archs()
    cols = []
    for o in oracles:
        if set(o.archs()) != set(archs):
            raise ValueError(f"transnas101-micro/{o.dataset} holds other cells than /{oracles[0].dataset}")
        v = o.query_many(archs, "val_score")
        cols.append(v if o.metric_info("val_score").direction == "max" else -v)
    return archs, np.stack(cols, axis=1)


def correlation(a: np.ndarray, b: np.ndarray, kind: str) -> float:
    from scipy.stats import kendalltau, spearmanr

    if kind not in CORRELATIONS:
        raise ValueError(f"correlation {kind!r} is not one of {CORRELATIONS}")
    return float(spearmanr(a, b)[0] if kind == "spearman" else kendalltau(a, b)[0])


def correlation_matrices(scores: np.ndarray, ratio: float, kind: str) -> tuple[np.ndarray, np.ndarray, int]:
    """(all cells, source's top ``ratio``) matrices [source, target] and the top set's size."""
    if not 0 < ratio <= 1:
        raise ValueError(f"ranking_ratio must be in (0, 1], got {ratio!r}")
    n, t = scores.shape
    k = max(2, int(round(ratio * n)))
    full = np.array([[correlation(scores[:, i], scores[:, j], kind) for j in range(t)] for i in range(t)])
    top = np.empty((t, t))
    for i in range(t):
        best = np.argsort(-scores[:, i], kind="stable")[:k]
        top[i] = [correlation(scores[best, i], scores[best, j], kind) for j in range(t)]
    return full, top, k


def ktnas_fig2(spec: TableSpec, seeds: int, progress: bool = True) -> TableResult:
    """Rank-correlation heatmaps among the 7 TransNAS tasks (``seeds`` unused: nothing is random)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = list(spec.columns)
    unknown = [c for c in cols if c not in TASKS]
    if unknown:
        raise ValueError(f"{spec.path}: columns {unknown} name no TransNAS task; known: {list(TASKS)}")
    kind = str(spec.params.get("correlation", "spearman"))
    ratio = float(spec.params.get("ranking_ratio", 0.2))
    archs, scores = task_scores([TASKS[c] for c in cols])
    full, top, k = correlation_matrices(scores, ratio, kind)
    n = len(archs)
    res = TableResult()
    for row in spec.rows:
        if row.status == "pending" or not row.key:
            continue
        which, _, source = row.key.partition(":")
        if which not in ("all", "top") or source not in cols:
            raise ValueError(f"{spec.path}: row {row.name!r} key {row.key!r} must be 'all:<column>' or 'top:<column>'")
        i = cols.index(source)
        m, size = (full, n) if which == "all" else (top, k)
        res.cells[row.name] = [Cell(float(v), n=size) for v in m[i]]
        res.row_notes[row.name] = (f"{kind.capitalize()} correlation over all {n} cells of the sample" if which == "all"
                                   else f"{kind.capitalize()} correlation over the {k} best cells of the sample by {source}")
    symbol = {"spearman": "Spearman ρ", "kendall": "Kendall τ"}[kind]
    fig, axes = plt.subplots(1, 2, figsize=(14, 6.2))
    for ax, m, title in ((axes[0], full, f"all {n} cells of the sample"),
                         (axes[1], top, f"top {ratio:.0%} by the source task ({k} cells)")):
        im = ax.imshow(m, vmin=-1, vmax=1, cmap="RdBu_r")
        ax.set_xticks(range(len(cols)), cols, rotation=40, ha="right")
        ax.set_yticks(range(len(cols)), cols)
        ax.set_xlabel("target task")
        ax.set_ylabel("source task")
        ax.set_title(title, fontsize=11)
        for a in range(len(cols)):
            for b in range(len(cols)):
                ax.text(b, a, f"{m[a, b]:.2f}", ha="center", va="center", fontsize=8,
                        color="white" if abs(m[a, b]) > 0.6 else "black")
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label=f"{symbol} (rank correlation, unitless)")
    fig.suptitle(f"Rank correlation of validation scores among 7 TransNAS-Bench-101 micro tasks\n"
                 f"NASLib's {n}-cell sample of the 4,096-cell space, not the full space", fontsize=12)
    fig.tight_layout()
    res.figures.append(fig)
    off = full[~np.eye(len(cols), dtype=bool)]
    off_top = top[~np.eye(len(cols), dtype=bool)]
    res.notes += [
        f"Proxy: TransNAS-Bench-101 micro is available offline only as NASLib's {n}-cell sample of the 4,096 cells, "
        "so every correlation is within the sample; the paper's figure covers the benchmark as its authors had it.",
        f"Values: {symbol} between two tasks' validation scores (room layout's L2 loss negated, so positive means the "
        f"rankings agree); rows are the source task, columns the target. Off the diagonal, over all cells: "
        f"{off.min():.2f} to {off.max():.2f} (median {np.median(off):.2f}); over the source's top {ratio:.0%}: "
        f"{off_top.min():.2f} to {off_top.max():.2f} (median {np.median(off_top):.2f}).",
        f"The top-{ratio:.0%} rows are the cells KTNAS's ranking ratio (Table I, r = 20%) would consider for transfer: "
        "a low value there means the source's best architectures are ordered differently on the target, the "
        "ranking disorder the paper's Sec. I attributes negative transfer to. The paper's figure has no numbers in its "
        "text, so its columns are empty.",
    ]
    return res


RUNNERS: dict[str, Callable[[TableSpec, int, bool], TableResult]] = {"ktnas_fig2": ktnas_fig2}
