"""Speed targets (issue 2), each beside plain numpy indexing of the same arrays as the floor.

Run with ``make bench``. Targets: query median <= 2 us; query_many of 1e6 <= 0.1 s;
open <= 50 ms; regularized evolution with 1,000 evaluations <= 0.1 s.
"""

import numpy as np
import pytest

import bench
from bench.algorithms import regularized_evolution
from bench.compare import seed_rng
from bench.run import Run


@pytest.fixture(scope="module")
def oracle():
    return bench.open("nb201", "cifar10")


@pytest.fixture(scope="module")
def floor_array(oracle):
    return oracle.query_many(np.arange(oracle.n_arch), "test_acc")


@pytest.mark.benchmark(group="query (1 arch)")
def test_query_string(benchmark, oracle):
    arch = oracle.arch(11663)
    benchmark(oracle.query, arch, "test_acc")


@pytest.mark.benchmark(group="query (1 arch)")
def test_query_index(benchmark, oracle):
    benchmark(oracle.query, 11663, "test_acc")


@pytest.mark.benchmark(group="query (1 arch)")
def test_floor_numpy_scalar_index(benchmark, floor_array):
    benchmark(lambda: float(floor_array[11663]))


@pytest.fixture(scope="module")
def million_rows():
    return np.random.default_rng(0).integers(0, 15625, 1_000_000)


@pytest.mark.benchmark(group="query_many (1e6 archs)")
def test_query_many_indices(benchmark, oracle, million_rows):
    benchmark(oracle.query_many, million_rows, "test_acc")


@pytest.mark.benchmark(group="query_many (1e6 archs)")
def test_query_many_strings(benchmark, oracle, million_rows):
    strings = [oracle.arch(int(r)) for r in million_rows]
    benchmark.pedantic(oracle.query_many, args=(strings, "test_acc"), rounds=5)


@pytest.mark.benchmark(group="query_many (1e6 archs)")
def test_floor_numpy_fancy_index(benchmark, floor_array, million_rows):
    benchmark(floor_array.__getitem__, million_rows)


@pytest.mark.benchmark(group="open table")
@pytest.mark.parametrize("dataset", ["cifar10", "cifar100", "ImageNet16-120"])
def test_open(benchmark, dataset):
    from bench.core.table_family import _open_cached

    # a cold open every round: bench.open otherwise returns the oracle it already opened
    benchmark.pedantic(bench.open, args=("nb201", dataset), setup=_open_cached.cache_clear, rounds=30)


@pytest.mark.benchmark(group="open table")
def test_open_again_shared(benchmark):
    bench.open("nb201", "cifar10")
    benchmark(bench.open, "nb201", "cifar10")


@pytest.mark.benchmark(group="open table")
def test_floor_h5py_read_test_acc_only(benchmark):
    import h5py

    from bench.paths import tables_dir

    def read():
        with h5py.File(tables_dir() / "nb201.h5", "r") as f:
            return f["cifar10/test_acc"][()]

    benchmark(read)


@pytest.mark.benchmark(group="regularized evolution (1,000 evals)")
def test_rea_1000(benchmark, oracle):
    def go():
        run = Run(oracle, "test_acc", budget_evals=1000)
        regularized_evolution(run, seed_rng(0))
        return run

    run = benchmark(go)
    assert run.n_evals == 1000
