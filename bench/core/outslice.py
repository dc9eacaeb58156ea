"""The out-of-slice sample of a trained family: a seeded random draw from the paper's FULL space of
architectures that the shipped table does not hold, trained like the table's rows and shipped as
``tables/<table>_outslice.h5``.

It exists to test what a surrogate fitted on the table's slice says about the rest of the space
(:mod:`bench.core.surrogate_report`); it is never part of a fit. Training goes through the
family's :class:`bench.core.trainer.Trainer` into the build overlay
(``data_cache/build/<family>.sqlite``), so a killed build resumes where it stopped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.errors import BenchError, MissingValueError

#: draw size and seeds of the shipped sample (the surrogate issue asks >= 30 x 3)
N_SAMPLE = 30
SEEDS = 3
SAMPLE_SEED = 0


def spec_of(family: str):
    """The :class:`bench.core.family.SurrogateSpec` of a family (a named error when it has none)."""
    from bench.families import get

    fam = get(family)
    if fam.surrogate is None:
        from bench.families import FAMILIES

        have = [n for n, f in FAMILIES.items() if f.surrogate is not None]
        raise BenchError(f"{family!r} has no surrogate (families with one: {', '.join(have)})")
    return fam.surrogate


def table_archs(family: str, dataset: str) -> list[str]:
    """The architectures the shipped table of ``dataset`` holds (canonical texts)."""
    from bench.paths import tables_dir
    from bench.tablefile import read_dataset

    path = tables_dir() / spec_of(family).table_file(dataset)
    if not path.exists():
        raise MissingValueError(f"{family}/{dataset}: no shipped table tables/{path.name}")
    return list(read_dataset(path, dataset)[0])


def draw(space, exclude: set[str], n: int, seed: int) -> list[str]:
    """``n`` distinct canonical architectures of ``space`` (its ``sample``, seeded), none in ``exclude``."""
    rng = np.random.default_rng(seed)
    out: list[str] = []
    seen = set(exclude)
    for _ in range(10_000 * n):
        text = space.encode(space.sample(rng))
        if text not in seen:
            seen.add(text)
            out.append(text)
            if len(out) == n:
                return out
    raise BenchError(f"could not draw {n} architectures outside the table from {type(space).__name__} "
                     f"(found {len(out)}): the table holds (nearly) the whole space")


def sample_archs(family: str, n: int = N_SAMPLE, seed: int = SAMPLE_SEED) -> list[str]:
    """The sample's architectures: ``n`` full-space draws the sample dataset's table does not hold."""
    spec = spec_of(family)
    ds = spec.sample_dataset
    return draw(spec.impl().full_space(ds), set(table_archs(family, ds)), n, seed)


def build_sample(family: str, out_dir: Path | None = None, workers: int = 1, overlay: Path | None = None,
                 train_missing: bool = True, progress: bool = True, accept_new_reference: bool = False,
                 n: int = N_SAMPLE, seeds: int = SEEDS) -> Path:
    """Train the out-of-slice sample (resumable), then write its table and record it in MANIFEST."""
    from bench import validate
    from bench.builders.common import provenance, write_built_table
    from bench.core.fill import fill
    from bench.core.store_build import build_overlay_path, noise_report
    from bench.core.surrogate import family_oracle
    from bench.numerics import cpu_vendor
    from bench.overlay import Overlay
    from bench.tablefile import DatasetTable, Metric, ScoreTable

    n, seeds = validate.whole(n, "n"), validate.whole(seeds, "seeds")
    spec = spec_of(family)
    ds = spec.sample_dataset
    archs = sample_archs(family, n)
    trainer = spec.impl().trainer(ds)
    overlay = Path(overlay or build_overlay_path(family))
    if train_missing:
        fill(trainer, ds, archs, seeds, workers, str(overlay), progress, batch=1, skip_table=False)
    ov = Overlay(overlay)
    ov.bind_store(ds, trainer.store_sha256(ds))
    try:
        recs = [[ov.get(trainer.key(ds, a, s)) for s in range(seeds)] for a in archs]
    finally:
        ov.close()
    if any(r is None for row in recs for r in row):
        raise MissingValueError(f"{overlay} lacks some of the {family} out-of-slice sample; build with train_missing=True")
    oracle = family_oracle(family, ds)  # the metric specs the family's records hold
    out = {}
    for m in oracle.metrics:
        if m in recs[0][0]:
            info = oracle.metric_info(m)
            out[m] = Metric(np.array([[r[m] for r in row] for row in recs], dtype=float), info.unit, info.direction,
                            info.description)
    for m, c in (spec.curves or {}).items():
        if m in recs[0][0]:
            out[m] = Metric(np.array([[r[m] for r in row] for row in recs], dtype=float), c.unit, c.direction,
                            c.description)
    space = spec.impl().full_space(ds)
    desc = (f"out-of-slice sample: {n} full-space architectures the table tables/{spec.table_file(ds)} does not hold "
            f"(space.sample, numpy seed {SAMPLE_SEED}) x {seeds} seeds, on {ds}")
    table = ScoreTable(family, space.space_id, space.space_version, {ds: DatasetTable(archs, out, desc)},
                       provenance({f"{family} data {ds}": trainer.store_sha256(ds)},
                                  f"mmnas-bench tables build {family}-{ds}-outslice",
                                  f"recipe {trainer.recipe_key}; never used to fit a surrogate"))
    table.provenance.update(recipe_key=trainer.recipe_key, cpu_vendor=cpu_vendor(), sample_seed=SAMPLE_SEED,
                            seed_noise={m: noise_report(out[m].values) for m in spec.metrics if m in out},
                            numerics=[dict(t) for t in {tuple(sorted(r["numerics"].items()))
                                                        for row in recs for r in row}])
    return write_built_table(table, spec.outslice_file(), out_dir, accept_new_reference=accept_new_reference)
