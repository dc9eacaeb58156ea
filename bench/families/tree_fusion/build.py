"""Build ``tables/tree_fusion_<dataset>.h5``: trained scores of fusion trees.

Rows: every tree with up to 3 distinct leaves; the five "all features fused by one
operator" models that CSG-NAS's core-structure selection ranks (its Figure 4; a left-deep
chain in view order); and, where the store has 4 or more views, a random sample of
``N_SAMPLE_4`` four-leaf trees (seed ``SAMPLE_SEED``). Each row is trained with
``SEEDS`` seeds under the default :class:`~bench.families.tree_fusion.trainer.Recipe`. Missing
(architecture, seed) pairs are trained first (by :func:`bench.core.fill.fill` with the
family's :class:`~bench.families.tree_fusion.fill.TreeTrainer`) into the build overlay
``data_cache/build/tree-fusion.sqlite``, so an interrupted build resumes.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from bench.builders.common import provenance, write_built_table
from bench.core.fill import fill
from bench.errors import MissingValueError
from bench.features.store import open as open_store
from bench.families.tree_fusion.fill import TreeTrainer
from bench.families.tree_fusion.oracle import DESCRIPTIONS
from bench.families.tree_fusion.oracle import METRICS as ORACLE_METRICS
from bench.overlay import Overlay
from bench.paths import data_cache_dir
from bench.families.tree_fusion import space as tree_fusion
from bench.families.tree_fusion import table_file  # noqa: F401 (re-exported)
from bench.families.tree_fusion.space import FUSION_OPS, TreeFusionSpace
from bench.tablefile import DatasetTable, Metric, ScoreTable

SEEDS = 3
MAX_LEAVES = 3
N_SAMPLE_4 = 100
SAMPLE_SEED = 0
DATASETS = ("scene15", "landuse21", "aloi", "mfeat")
METRICS = {m: (unit, direction, DESCRIPTIONS[m]) for m, (unit, direction) in ORACLE_METRICS.items()}


def build_overlay_path() -> Path:
    return data_cache_dir() / "build" / "tree-fusion.sqlite"


def all_fused(space: TreeFusionSpace, op: str) -> str:
    """The row of every feature of ``space`` fused by ``op`` (:func:`bench.families.tree_fusion.space.all_fused`)."""
    return str(tree_fusion.all_fused(space.features, op))


def table_archs(dataset: str) -> tuple[list[str], TreeFusionSpace]:
    store = open_store(dataset)
    n = len(store.view_names)
    space = TreeFusionSpace(store.view_names, max_leaves=max(MAX_LEAVES, n))
    small = TreeFusionSpace(store.view_names, max_leaves=min(MAX_LEAVES, n))
    archs = [small.encode(t) for t in small.enumerate()]
    extra = [all_fused(space, op) for op in FUSION_OPS]
    if n >= 4:
        rng = np.random.default_rng(SAMPLE_SEED)
        sample: set[str] = set()
        while len(sample) < N_SAMPLE_4:
            sample.add(space.encode(space.random_tree(rng, 4)))
        extra += sorted(sample)
    seen = set(archs)
    archs += [a for a in extra if not (a in seen or seen.add(a))]
    return archs, space


def build(dataset: str, out_dir: Path | None = None, workers: int = 2, overlay: Path | None = None,
          train_missing: bool = True, progress: bool = True, protocol: str = "standard",
          accept_new_reference: bool = False) -> Path:
    """Train what is missing (unless told not to), then write the table and update MANIFEST.

    ``protocol``: 'standard' or 'low-data' (10% of the training rows, a fixed stratified
    subset; for sets whose scores sit near 100% under the standard recipe).
    """
    from bench.families.tree_fusion.trainer import PROTOCOLS

    recipe = PROTOCOLS[protocol]
    trainer = TreeTrainer(recipe, "cpu")
    archs, space = table_archs(dataset)
    overlay = Path(overlay or build_overlay_path())
    if train_missing:
        # one by one: each record's train_seconds is then one model's own training time, the
        # cost that searches charge for it (batched fills record amortised seconds)
        fill(trainer, dataset, archs, SEEDS, workers=workers, overlay=str(overlay), progress=progress, batch=1,
             skip_table=False)
    ov = Overlay(overlay)
    ov.bind_store(dataset, trainer.store_sha256(dataset))
    recs = []
    for a in archs:
        row = []
        for s in range(SEEDS):
            r = ov.get(trainer.key(dataset, a, s))
            if r is None:
                raise MissingValueError(f"{overlay} has no result for {a!r} seed {s}; build with train_missing=True")
            row.append(r)
        recs.append(row)
    ov.close()
    metrics = {m: Metric(np.array([[r[m] for r in row] for row in recs], dtype=float), *METRICS[m]) for m in METRICS}
    metrics["val_curve"] = Metric(np.array([[r["val_curve"] for r in row] for row in recs], dtype=float), "%", "max",
                                  "holdout validation accuracy after each epoch [n_arch, n_seed, n_epoch]")
    store = open_store(dataset)
    table = ScoreTable("tree-fusion", space.space_id, space.space_version,
                       {dataset: DatasetTable(archs, metrics, f"fusion trees over {dataset} ({len(archs)} architectures x {SEEDS} seeds)")},
                       provenance({f"data_cache/features/{dataset}.h5": store.content_sha256},
                                  f"mmnas-bench tables build tree-fusion-{dataset}"
                                  + ("" if protocol == "standard" else f"-{protocol.replace('-', '')}"),
                                  f"recipe {recipe.key} {asdict(recipe)}; rows: all trees with <= {MAX_LEAVES} leaves, the 5 "
                                  f"all-features-one-operator chains, and {N_SAMPLE_4 if len(store.view_names) >= 4 else 0} "
                                  f"random 4-leaf trees (seed {SAMPLE_SEED})"))
    table.provenance["recipe_key"] = recipe.key
    table.provenance["protocol"] = protocol
    # the numeric environments the rows were trained under (bench.numerics); older records have none
    envs = {json.dumps(r.get("numerics", "not recorded"), sort_keys=True) for row in recs for r in row}
    table.provenance["numerics"] = [json.loads(e) for e in sorted(envs)]
    path = write_built_table(table, table_file(dataset, protocol), out_dir, accept_new_reference=accept_new_reference)
    plot_spread(f"{dataset} ({protocol})", archs, metrics["test_acc"].values, path.with_name(path.stem + "_hist.png"))
    return path


def plot_spread(dataset: str, archs: list[str], test_acc: np.ndarray, png: Path) -> None:
    """Histogram of seed-mean test accuracy, single-feature models marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mean = test_acc.mean(axis=1)
    single = np.array(["(" not in a for a in archs])
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.hist(mean[~single], bins=40, alpha=0.8)
    for a, v in zip(np.array(archs)[single], mean[single]):
        ax.axvline(v, color="k", ls="--", lw=1)
        ax.text(v, ax.get_ylim()[1] * 0.95, a, rotation=90, va="top", ha="right", fontsize=8)
    ax.set_xlabel(f"test accuracy (%), mean over {test_acc.shape[1]} seeds")
    ax.set_ylabel("architectures")
    # no legend box: it would cover the single-feature labels along the top
    ax.set_title(f"tree-fusion / {dataset}: {(~single).sum()} fusion trees (bars), single features (dashed)",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)
