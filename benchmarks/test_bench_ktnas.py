"""KTNAS vs regularized evolution: the three NB201 tasks, 10 seeds, until every task finds
its optimum, node2vec embeddings from the cache. Wall seconds on this machine."""

import pytest

from bench.families.cells.ktnas import ktnas, preset
from bench.compare import Budget, run_one, seed_rng
from bench.families.cells.embeddings import get_embedding
from bench.multitask import MultiTaskRun
from bench.registry import open as open_benchmark
from bench.families.cells.nb201 import NB201Space

TASKS = {"cifar10": "val_acc", "cifar100": "test_acc", "ImageNet16-120": "test_acc"}
SEEDS = range(10)


@pytest.fixture(scope="module", autouse=True)
def cached_embeddings():
    get_embedding("node2vec").vectors(NB201Space())  # computed once, then read from data_cache/


@pytest.mark.benchmark(group="three NB201 tasks to their optima, 10 seeds")
def test_ktnas_three_tasks(benchmark):
    def go():
        total = 0
        for seed in SEEDS:
            m = MultiTaskRun.open("nb201", TASKS, algo="ktnas", seed=seed, until_optimum=True)
            ktnas(m, seed_rng(seed, "ktnas"), preset("ktnas"))
            total += m.finish().total_evals
        return total

    benchmark.pedantic(go, rounds=3, iterations=1)


@pytest.mark.benchmark(group="three NB201 tasks to their optima, 10 seeds")
def test_regularized_evolution_three_tasks(benchmark):
    oracles = {ds: open_benchmark("nb201", ds, on_missing="nan") for ds in TASKS}

    def go():
        return sum(len(run_one(oracles[ds], "rea", seed, Budget.parse("all"), metric).values)
                   for seed in SEEDS for ds, metric in TASKS.items())

    benchmark.pedantic(go, rounds=3, iterations=1)
