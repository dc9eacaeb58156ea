"""Build ``tables/mro_<dataset>.h5``: trained scores of every path architecture (a seeded
sample of the K=4 space) with ``SEEDS`` seeds under the default recipe, and the table's
seed-noise report.

Missing (architecture, seed) pairs are trained first (:func:`bench.core.fill.fill`) into the
build overlay ``data_cache/build/mro.sqlite``, so an interrupted build resumes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.core.store_build import build_overlay_path as _overlay_path
from bench.core.store_build import build_table, noise_report  # noqa: F401 (noise_report re-exported)
from bench.core.trained_oracle import MetricSpec
from bench.families.mro import METRICS, NAME, SEEDS, table_file
from bench.families.mro.cost import fit
from bench.families.mro.trainer import MROTrainer, Recipe, recipe_for

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


def build_overlay_path() -> Path:
    return _overlay_path(NAME)


def build(dataset: str, out_dir: Path | None = None, workers: int = 2, overlay: Path | None = None,
          train_missing: bool = True, progress: bool = True, accept_new_reference: bool = False,
          recipe: Recipe | None = None) -> Path:
    """Train what is missing (unless told not to), then write the table and update MANIFEST."""
    trainer = MROTrainer(recipe or recipe_for(dataset))
    rows = len(trainer.store(dataset).rows(trainer.recipe.split, "train"))

    def cost_model(metrics: dict, recs: list) -> dict:
        return {"cost_model": fit(metrics["mflops"].values.mean(axis=1), metrics["train_seconds"].values.mean(axis=1),
                                  trainer.recipe.epochs, rows)}

    curves = {"val_curve": MetricSpec("label units", "min", "validation MAE after each epoch [n_arch, n_seed, n_epoch]")}
    return build_table(trainer, dataset, table_archs(dataset, trainer), SEEDS, METRICS, table_file(dataset),
                       "MRO path architectures", curves, ("val_mae", "test_mae"), cost_model, out_dir, workers,
                       overlay or build_overlay_path(), train_missing, progress, accept_new_reference)
