"""Build ``tables/mro_<dataset>.h5``: trained scores of every path architecture (a seeded
sample of the K=4 space) with ``SEEDS`` seeds under the default recipe, and the table's
seed-noise report.

Missing (architecture, seed) pairs are trained first (:func:`bench.core.fill.fill`) into the
build overlay ``data_cache/build/mro.sqlite``, so an interrupted build resumes.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np

from bench.builders.common import provenance, write_built_table
from bench.core.fill import fill
from bench.families.mro import METRICS, NAME, SEEDS, table_file
from bench.families.mro.cost import fit
from bench.families.mro.trainer import MROTrainer, Recipe, recipe_for
from bench.errors import MissingValueError
from bench.overlay import Overlay
from bench.paths import data_cache_dir
from bench.tablefile import DatasetTable, Metric, ScoreTable

#: the K=4 space has 4,095 masks: the table holds every mask with at most 2 paths and a sample
SAMPLE_SEED, N_SAMPLE = 0, 64


def table_archs(dataset: str, trainer: MROTrainer | None = None) -> list[str]:
    space = (trainer or MROTrainer()).space(dataset)
    if space.size <= 256:
        return [space.encode(a) for a in space.enumerate()]
    small = [space.encode(a) for a in space.enumerate() if sum(1 for d in a if d) <= 2]
    rng = np.random.default_rng(SAMPLE_SEED)
    rest = sorted(set(space.encode(space.from_index(int(i))) for i in rng.choice(space.size, 4 * N_SAMPLE, replace=False))
                  - set(small))[:N_SAMPLE]
    return small + rest


def noise_report(values: np.ndarray) -> dict:
    """Seed noise against architecture spread of one metric [n_arch, n_seed]: the one-way
    intraclass correlation ICC(1) (share of variance between architectures), the median
    seed std and the interquartile range of the seed means."""
    n, k = values.shape
    grand = values.mean()
    means = values.mean(axis=1)
    msb = k * ((means - grand) ** 2).sum() / max(1, n - 1)
    msw = ((values - means[:, None]) ** 2).sum() / max(1, n * (k - 1))
    icc = (msb - msw) / (msb + (k - 1) * msw) if msb + (k - 1) * msw > 0 else float("nan")
    q1, q3 = np.percentile(means, [25, 75])
    return {"icc1": round(float(icc), 4), "median_seed_std": round(float(np.median(values.std(axis=1))), 5),
            "iqr_of_means": round(float(q3 - q1), 5),
            "noise_dominated": bool(icc < 0.5)}


def build_overlay_path() -> Path:
    return data_cache_dir() / "build" / f"{NAME}.sqlite"


def build(dataset: str, out_dir: Path | None = None, workers: int = 2, overlay: Path | None = None,
          train_missing: bool = True, progress: bool = True, accept_new_reference: bool = False,
          recipe: Recipe | None = None) -> Path:
    """Train what is missing (unless told not to), then write the table and update MANIFEST."""
    trainer = MROTrainer(recipe or recipe_for(dataset))
    archs = table_archs(dataset, trainer)
    overlay = Path(overlay or build_overlay_path())
    if train_missing:
        fill(trainer, dataset, archs, SEEDS, workers, str(overlay), progress, batch=1, skip_table=False)
    ov = Overlay(overlay)
    ov.bind_store(dataset, trainer.store_sha256(dataset))
    recs = []
    for a in archs:
        row = [ov.get(trainer.key(dataset, a, s)) for s in range(SEEDS)]
        if any(r is None for r in row):
            raise MissingValueError(f"{overlay} has no result for {a!r} on {dataset}; build with train_missing=True")
        recs.append(row)
    ov.close()
    names = [m for m in METRICS if m in recs[0][0]]
    metrics = {m: Metric(np.array([[r[m] for r in row] for row in recs], dtype=float), METRICS[m].unit,
                         METRICS[m].direction, METRICS[m].description) for m in names}
    metrics["val_curve"] = Metric(np.array([[r["val_curve"] for r in row] for row in recs], dtype=float),
                                  "label units", "min", "validation MAE after each epoch [n_arch, n_seed, n_epoch]")
    store = trainer.store(dataset)
    rows = len(store.rows(trainer.recipe.split, "train"))
    space = trainer.space(dataset)
    table = ScoreTable(NAME, space.space_id, space.space_version,
                       {dataset: DatasetTable(archs, metrics, f"MRO path architectures on {dataset} "
                                                             f"({len(archs)} x {SEEDS} seeds)")},
                       provenance({f"sequence store {dataset}": store.content_sha256},
                                  f"mmnas-bench tables build {NAME}-{dataset}",
                                  f"recipe {trainer.recipe.key} {asdict(trainer.recipe)}"))
    table.provenance.update(
        recipe_key=trainer.recipe.key,
        cost_model=fit(metrics["mflops"].values.mean(axis=1), metrics["train_seconds"].values.mean(axis=1),
                       trainer.recipe.epochs, rows),
        seed_noise={m: noise_report(metrics[m].values) for m in ("val_mae", "test_mae")},
        numerics=[dict(t) for t in {tuple(sorted(r["numerics"].items())) for row in recs for r in row}])
    return write_built_table(table, table_file(dataset), out_dir, accept_new_reference=accept_new_reference)
