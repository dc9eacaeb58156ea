"""Build ``tables/rmnas_<dataset>.h5``: every architecture of the tied slice trained with
``SEEDS`` seeds at the dataset's rate and evaluated at the 11 missing rates, with the seed-noise
report, the cost model and the effective missing rate of each modality at each rate.

Missing pairs are trained first into ``data_cache/build/rmnas.sqlite``, so a build resumes.
"""

from __future__ import annotations

from pathlib import Path

from bench.core.store_build import build_overlay_path, build_table
from bench.families.rmnas import CURVES, METRICS, NAME, SEEDS, table_file
from bench.families.rmnas.cost import fit
from bench.families.rmnas.missing import RATES
from bench.families.rmnas.trainer import Recipe, RMNASTrainer, effective_rates


def table_archs(dataset: str, trainer: RMNASTrainer | None = None) -> list[str]:
    space = (trainer or RMNASTrainer()).space(dataset)
    return [space.encode(a) for a in space.enumerate()]


def build(dataset: str, out_dir: Path | None = None, workers: int = 2, overlay: Path | None = None,
          train_missing: bool = True, progress: bool = True, accept_new_reference: bool = False,
          recipe: Recipe | None = None) -> Path:
    """Train what is missing (unless told not to), then write the table and update MANIFEST."""
    trainer = RMNASTrainer(recipe or Recipe())

    def extra(metrics: dict, recs: list) -> dict:
        store = trainer.store(dataset)
        return {"cost_model": fit(metrics["mflops"].values.mean(axis=1), metrics["train_seconds"].values.mean(axis=1),
                                  metrics["epochs_run"].values),
                "rates": list(RATES),
                "effective_missing_rate_test": effective_rates(store, trainer.recipe.split, "test"),
                "native_missing_rate_test": store.native_missing_rate(trainer.recipe.split, "test")}

    return build_table(trainer, dataset, table_archs(dataset, trainer), SEEDS, METRICS, table_file(dataset),
                       "RMNAS tied-slice architectures", CURVES, ("val_mae", "test_mae", "test_auilc_mae"), extra,
                       out_dir, workers, overlay or build_overlay_path(NAME), train_missing, progress,
                       accept_new_reference)
