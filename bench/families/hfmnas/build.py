"""Build ``tables/hfmnas_<dataset>.h5``: every architecture of the core slice (465) trained with
``SEEDS`` seeds, with the seed-noise report, the cost model and the data's provenance (views
playing t and i, inconsistency rate).

Missing pairs are trained first into ``data_cache/build/hfmnas.sqlite``, so a build resumes.
"""

from __future__ import annotations

from pathlib import Path

from bench.core.store_build import build_overlay_path, build_table, fit_mflops_cost
from bench.families.hfmnas import CURVES, METRICS, NAME, SEEDS, table_file
from bench.families.hfmnas.trainer import HFTrainer, Recipe


def table_archs(dataset: str, trainer: HFTrainer | None = None) -> list[str]:
    space = (trainer or HFTrainer(Recipe())).space(dataset)
    return [space.encode(a) for a in space.enumerate()]


def build(dataset: str, out_dir: Path | None = None, workers: int = 2, overlay: Path | None = None,
          train_missing: bool = True, progress: bool = True, accept_new_reference: bool = False,
          recipe: Recipe | None = None) -> Path:
    """Train what is missing (unless told not to), then write the table and update MANIFEST."""
    trainer = HFTrainer(recipe or Recipe())

    def extra(metrics: dict, recs: list) -> dict:
        return {"cost_model": fit_mflops_cost(metrics["mflops"].values.mean(axis=1),
                                              metrics["train_seconds"].values.mean(axis=1),
                                              metrics["epochs_run"].values),
                "data": trainer.store(dataset).provenance}

    return build_table(trainer, dataset, table_archs(dataset, trainer), SEEDS, METRICS, table_file(dataset),
                       "HF-MNAS core-slice architectures", CURVES, ("val_f1m", "test_f1m", "test_acc"), extra,
                       out_dir, workers, overlay or build_overlay_path(NAME), train_missing, progress,
                       accept_new_reference)
