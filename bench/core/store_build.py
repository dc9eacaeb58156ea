"""Build a trained family's shipped table from its build overlay: train what is missing
(:func:`bench.core.fill.fill`, resumable), gather every (architecture, seed) record, and write
the HDF5 table with its provenance and seed-noise report (MRO, RMNAS)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from bench.builders.common import provenance, write_built_table
from bench.core.trained_oracle import MetricSpec
from bench.errors import MissingValueError
from bench.numerics import cpu_vendor
from bench.overlay import Overlay
from bench.paths import data_cache_dir
from bench.tablefile import DatasetTable, Metric, ScoreTable, open_h5


def build_overlay_path(benchmark: str) -> Path:
    return data_cache_dir() / "build" / f"{benchmark}.sqlite"


def recorded_cost_model(table: Path | None) -> dict | None:
    """The ``cost_model`` a built table's provenance records (None: no table, or none recorded)."""
    if table is None or not Path(table).exists():
        return None
    from bench.manifest import check_file

    check_file(Path(table))  # before h5py reads it: a damaged or edited table is refused by name
    with open_h5(table) as f:
        return json.loads(f.attrs["provenance"]).get("cost_model") or None


def fit_mflops_cost(mflops: np.ndarray, seconds: np.ndarray, epochs_run: np.ndarray) -> dict:
    """A training-seconds model for a table: non-negative least squares of seconds on
    (1, forward MFLOPs), with the mean epochs the fitted (early-stopped) trainings ran."""
    from scipy.optimize import nnls

    coef, _ = nnls(np.stack([np.ones_like(mflops), mflops], axis=1), seconds)
    return {"fixed": round(float(coef[0]), 6), "per_mflop": round(float(coef[1]), 6),
            "mean_epochs": round(float(np.mean(epochs_run)), 4)}


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


def build_table(trainer, dataset: str, archs: list[str], seeds: int, metrics: Mapping[str, MetricSpec],
                table_file: str, description: str, curves: Mapping[str, MetricSpec], noise_metrics: tuple[str, ...],
                extra: Callable[[dict, list], dict] | None = None, out_dir: Path | None = None, workers: int = 2,
                overlay: Path | None = None, train_missing: bool = True, progress: bool = True,
                accept_new_reference: bool = False) -> Path:
    """Train the missing pairs into the build overlay (unless told not to), then write
    ``table_file``: the scalar ``metrics`` [n_arch, n_seed] and the list-valued ``curves``
    [n_arch, n_seed, n] the records hold; ``extra(metrics, records)`` adds provenance."""
    name = trainer.benchmark
    overlay = Path(overlay or build_overlay_path(name))
    if train_missing:
        from bench.core.fill import fill  # imported here: opening an oracle reads this module's cost model

        fill(trainer, dataset, archs, seeds, workers, str(overlay), progress, batch=1, skip_table=False)
    ov = Overlay(overlay)
    ov.bind_store(dataset, trainer.store_sha256(dataset))
    recs = []
    for a in archs:
        row = [ov.get(trainer.key(dataset, a, s)) for s in range(seeds)]
        if any(r is None for r in row):
            raise MissingValueError(f"{overlay} has no result for {a!r} on {dataset}; build with train_missing=True")
        recs.append(row)
    ov.close()
    out = {m: Metric(np.array([[r[m] for r in row] for row in recs], dtype=float), spec.unit, spec.direction,
                     spec.description) for m, spec in metrics.items() if m in recs[0][0]}
    for m, spec in curves.items():
        if m in recs[0][0]:
            out[m] = Metric(np.array([[r[m] for r in row] for row in recs], dtype=float), spec.unit, spec.direction,
                            spec.description)
    store = trainer.store(dataset)
    space = trainer.space(dataset)
    table = ScoreTable(name, space.space_id, space.space_version,
                       {dataset: DatasetTable(archs, out, f"{description} on {dataset} ({len(archs)} x {seeds} seeds)")},
                       provenance({f"sequence store {store.name}": store.content_sha256},
                                  f"mmnas-bench tables build {name}-{dataset}",
                                  f"recipe {trainer.recipe.key} {asdict(trainer.recipe)}"))
    # results are bit-identical only on CPUs of the vendor that trained them (bench.numerics.cpu_vendor);
    # the machine writing the table is the one that trained its build overlay (records do not say)
    table.provenance.update(recipe_key=trainer.recipe.key, cpu_vendor=cpu_vendor(),
                            **(extra(out, recs) if extra is not None else {}))
    table.provenance.update(
        seed_noise={m: noise_report(out[m].values) for m in noise_metrics if m in out},
        numerics=[dict(t) for t in {tuple(sorted(r["numerics"].items())) for row in recs for r in row}])
    return write_built_table(table, table_file, out_dir, accept_new_reference=accept_new_reference)
