"""Full-space surrogates' speed targets (issue 25), each printed beside its target; ``make bench``.

1. One query of an architecture not asked before (parse, features, every metric's trees, the seed's
   noise draw): target <= 50 us. A repeated query is memoised (beside it).
2. A batch of 10,000 architectures through the compiled trees (``Surrogate.predict`` of their
   feature rows): target <= 50 ms; the batch with the features worked out from the strings is
   timed beside it, and beside it the floor: LightGBM's own C++ predictor on a model of the same size.
3. Fitting one dataset's surrogate (every metric): target <= 2 CPU-minutes.
Timings are wall clock on the machine that runs them (one thread).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from bench import registry
from bench.core import surrogate as S

CASES = [("tree-fusion", "mfeat"), ("mro", "syn4-p3-planted"), ("rmnas", "mosi"), ("hfmnas", "landuse21")]
QUERY_US, BATCH_MS, FIT_S = 50.0, 50.0, 120.0
N = 10_000


def _open(family: str, dataset: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return registry.open(family, dataset, oracle="surrogate")


def _archs(o, n: int) -> list[str]:
    rng = np.random.default_rng(0)
    return [o.space.encode(o.space.sample(rng)) for _ in range(n)]


def _report(name: str, seconds: float, target: float, unit: str, scale: float) -> None:
    v = seconds * scale
    print(f"\n{name}: {v:.1f} {unit} (target <= {target:g} {unit}: {'met' if v <= target else 'missed'}, "
          f"{v / target:.2f}x the target)")


@pytest.mark.parametrize("family,dataset", CASES)
@pytest.mark.benchmark(group="surrogate: one query of a new architecture")
def test_new_architecture_query(benchmark, family, dataset):
    o = _open(family, dataset)
    archs = iter(_archs(o, 60_000))

    def one():
        o.query(next(archs), seed=0)

    benchmark.pedantic(one, rounds=2000, iterations=1, warmup_rounds=10)
    _report(f"{family}/{dataset} new-architecture query", benchmark.stats.stats.median, QUERY_US, "us", 1e6)


@pytest.mark.parametrize("family,dataset", CASES)
@pytest.mark.benchmark(group="surrogate: a repeated query")
def test_repeated_query(benchmark, family, dataset):
    o = _open(family, dataset)
    arch = _archs(o, 1)[0]
    o.query(arch, seed=0)
    benchmark(lambda: o.query(arch, seed=0))
    _report(f"{family}/{dataset} repeated query", benchmark.stats.stats.median, QUERY_US, "us", 1e6)


@pytest.mark.parametrize("family,dataset", CASES)
@pytest.mark.benchmark(group="surrogate: 10,000 architectures through the trees")
def test_batch_of_feature_rows(benchmark, family, dataset):
    o = _open(family, dataset)
    X = S.design(o._spec, o.space, _archs(o, N))
    benchmark.pedantic(lambda: o.surrogate.predict(X), rounds=5, iterations=1)
    _report(f"{family}/{dataset} batch of {N} feature rows", benchmark.stats.stats.median, BATCH_MS, "ms", 1e3)


@pytest.mark.parametrize("family,dataset", CASES)
@pytest.mark.benchmark(group="surrogate: 10,000 rows through LightGBM's own predictor (the floor)")
def test_batch_floor_lightgbm(benchmark, family, dataset):
    """The floor of the batch target: the same model size (every metric, ``ROUNDS`` trees of depth
    ``max_depth``) fitted by LightGBM on the same table and run by LightGBM's C++ predictor on one
    thread, beside the shipped numpy evaluator on the same rows."""
    import timeit

    o = _open(family, dataset)
    X = S.design(o._spec, o.space, _archs(o, N))
    archs, values, _ = S.table_data(family, dataset)
    Xt = S.design(o._spec, o.space, archs)
    boosters = [S.fit_booster(Xt, v.mean(axis=1)) for v in values.values()]
    benchmark.pedantic(lambda: [b.predict(X, num_threads=1) for b in boosters], rounds=5, iterations=1)
    floor = benchmark.stats.stats.median
    ours = min(timeit.repeat(lambda: o.surrogate.predict(X), number=1, repeat=5))
    _report(f"{family}/{dataset} batch of {N} rows, LightGBM's predictor", floor, BATCH_MS, "ms", 1e3)
    print(f"{family}/{dataset}: the numpy evaluator takes {ours / floor:.2f}x LightGBM's time on the same rows")


@pytest.mark.parametrize("family,dataset", CASES)
@pytest.mark.benchmark(group="surrogate: 10,000 architecture strings (features included)")
def test_batch_of_strings(benchmark, family, dataset):
    o = _open(family, dataset)
    archs = _archs(o, N)
    benchmark.pedantic(lambda: o.predict_many(archs), rounds=3, iterations=1)
    _report(f"{family}/{dataset} batch of {N} strings", benchmark.stats.stats.median, BATCH_MS, "ms", 1e3)


@pytest.mark.parametrize("family,dataset", CASES)
@pytest.mark.benchmark(group="surrogate: fitting one dataset")
def test_fit(benchmark, family, dataset):
    benchmark.pedantic(lambda: S.fit(family, dataset), rounds=1, iterations=1)
    _report(f"{family}/{dataset} fit", benchmark.stats.stats.median, FIT_S, "s", 1.0)
