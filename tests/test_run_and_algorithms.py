import numpy as np
import pytest

from bench.algorithms import REASettings, random_search, regularized_evolution
from bench.algorithms.regularized_evolution import rea_without_replacement, sample_distinct, sample_with_replacement
from bench.compare import Budget, run_one, seed_rng
from bench.errors import BudgetExhausted, UnknownMetricError
from bench.run import Run, RunRecord

N = 15625


def test_repeated_query_is_not_counted(nb201_oracles):
    run = Run(nb201_oracles["cifar10"], "test_acc", budget_evals=3)
    a = run.evaluate(5)
    assert run.evaluate(run.oracle.arch(5)) == a
    assert run.n_evals == 1 and run.record.n_queries == 2
    run.evaluate(6), run.evaluate(7)
    assert run.done and run.finish().stop_reason == "budget_evals"
    assert run.evaluate(6) == run.oracle.query(6, "test_acc")  # seen: still answered
    with pytest.raises(BudgetExhausted):
        run.evaluate(8)


def test_incumbent_trajectory_and_record_round_trip(nb201_oracles, tmp_path):
    o = nb201_oracles["cifar100"]
    run = Run(o, "test_acc", budget_evals=50, seconds_per_eval=2.0, algo="x", seed=1)
    for i in range(100, 150):
        run.evaluate(i)
    rec = run.finish()
    vals = [o.query(i, "test_acc") for i in range(100, 150)]
    assert rec.values == vals and rec.evals == list(range(1, 51))
    assert rec.sim_seconds[-1] == 100.0
    assert rec.incumbent_curve() == list(np.maximum.accumulate(vals))
    assert run.incumbent == (o.arch(100 + int(np.argmax(vals))), max(vals))
    rec.save(tmp_path / "r.json")
    back = RunRecord.load(tmp_path / "r.json")
    assert back == rec and back.best_value == max(vals)


def test_simulated_time_budget_from_a_cost_column(nb201_oracles):
    o = nb201_oracles["cifar10"]
    run = Run(o, "test_acc", budget_seconds=50.0, cost_metric="edgegpu_latency")
    i = 0
    while not run.done:
        run.evaluate(i)
        i += 1
    assert run.sim_seconds >= 50.0
    assert run.sim_seconds - o.query(i - 1, "edgegpu_latency") < 50.0
    with pytest.raises(UnknownMetricError):
        Run(o, "test_acc", cost_metric="train_time")


def test_min_direction_metric(nb201_oracles):
    o = nb201_oracles["cifar10"]
    rec = run_one(o, "rs", 0, Budget(200), metric="edgegpu_latency")
    assert rec.direction == "min" and rec.best_value == min(rec.values)


@pytest.mark.parametrize("algo", ["rs", "rea"])
def test_same_seed_same_trajectory_different_seed_different(nb201_oracles, algo):
    o = nb201_oracles["cifar10"]
    a = run_one(o, algo, 3, Budget(300))
    b = run_one(o, algo, 3, Budget(300))
    c = run_one(o, algo, 4, Budget(300))
    assert a.archs == b.archs and a.values == b.values
    assert a.archs != c.archs


def test_random_search_is_without_replacement(nb201_oracles):
    rec = run_one(nb201_oracles["cifar100"], "rs", 0, Budget(N))
    assert len(set(rec.archs)) == N == rec.n_queries
    assert rec.stop_reason in ("budget_evals", "space_exhausted")


def _mean_evals_to_optimum(oracle, algo, metric, seeds):
    out = []
    for s in seeds:
        rec = run_one(oracle, algo, s, Budget.parse("all"), metric=metric)
        assert rec.stop_reason == "target"
        out.append(rec.evals_to(rec.target))
    return float(np.mean(out))


def test_random_search_mean_evals_to_unique_optimum_is_n_plus_1_over_2(nb201_oracles):
    # CIFAR-100's optimum is one cell: E = (N+1)/2 = 7813 for search without replacement
    m = _mean_evals_to_optimum(nb201_oracles["cifar100"], "rs", "test_acc", range(200))
    assert abs(m - 7813) < 1000


@pytest.mark.slow
@pytest.mark.parametrize("ds, metric, ties", [("cifar10", "val_acc", 1), ("ImageNet16-120", "test_acc", 1),
                                               ("cifar10", "test_acc", 2)])
def test_random_search_expectation_other_datasets(nb201_oracles, ds, metric, ties):
    o = nb201_oracles[ds]
    assert o.optimum(metric).n_ties == ties
    expected = (N + 1) / (ties + 1)
    m = _mean_evals_to_optimum(o, "rs", metric, range(200))
    assert abs(m - expected) < 1000


@pytest.mark.parametrize("ds, metric", [("cifar10", "val_acc"), ("cifar100", "test_acc"), ("ImageNet16-120", "test_acc")])
def test_regularized_evolution_beats_random_search(nb201_oracles, ds, metric):
    o = nb201_oracles[ds]
    rea = _mean_evals_to_optimum(o, "rea", metric, range(30))
    rs = _mean_evals_to_optimum(o, "rs", metric, range(30))
    assert rea < rs / 5


def test_rea_settings_are_recorded_and_checked(nb201_oracles):
    run = Run(nb201_oracles["cifar10"], budget_evals=30)
    regularized_evolution(run, seed_rng(0), REASettings(population_size=8, sample_size=3))
    assert run.record.settings == {"population_size": 8, "sample_size": 3, "tournament": "with-replacement"}
    with pytest.raises(ValueError, match="sample_size"):
        REASettings(population_size=4, sample_size=5)
    with pytest.raises(ValueError, match="tournament must be one of 'with-replacement', 'without-replacement', got 'distinct'"):
        REASettings(tournament="distinct")


def test_rea_tournament_semantics(nb201_oracles, monkeypatch):
    """The default draws the tournament with replacement (the reference implementations' draw);
    ``tournament="without-replacement"`` and ``rea_without_replacement`` draw distinct members."""
    import sys

    rea = sys.modules["bench.algorithms.regularized_evolution"]  # the package exports a function of that name
    draws = []
    for name in ("sample_with_replacement", "sample_distinct"):
        real = getattr(rea, name)
        monkeypatch.setattr(rea, name, lambda n, k, rng, _real=real, _name=name: draws.append(_name) or _real(n, k, rng))
    oracle = nb201_oracles["cifar10"]
    runs = {}
    for label, fn, settings in [("default", regularized_evolution, None),
                                ("without", regularized_evolution, REASettings(tournament="without-replacement")),
                                ("preset", rea_without_replacement, None)]:
        draws.clear()
        run = Run(oracle, budget_evals=60)
        fn(run, seed_rng(3), settings)
        runs[label] = run.finish()
        assert set(draws) == {"sample_with_replacement" if label == "default" else "sample_distinct"}, label
    assert runs["default"].settings["tournament"] == "with-replacement"
    assert runs["without"].settings["tournament"] == runs["preset"].settings["tournament"] == "without-replacement"
    assert runs["without"].archs == runs["preset"].archs != runs["default"].archs


def test_sample_with_replacement_is_uniform_and_repeats():
    rng = np.random.default_rng(0)
    counts, repeats = np.zeros(10), 0
    for _ in range(20000):
        idx = sample_with_replacement(10, 5, rng)
        assert len(idx) == 5 and all(0 <= i < 10 for i in idx)
        np.add.at(counts, idx, 1)
        repeats += len(set(idx)) < 5
    assert np.allclose(counts / 20000, 0.5, atol=0.02)  # each index is drawn 5/10 times a tournament on average
    assert abs(repeats / 20000 - (1 - 10 * 9 * 8 * 7 * 6 / 10 ** 5)) < 0.02  # P(some index twice) = 0.6976


def test_sample_distinct_is_uniform_and_distinct():
    rng = np.random.default_rng(0)
    counts = np.zeros(10)
    for _ in range(20000):
        idx = sample_distinct(10, 5, rng)
        assert len(set(idx)) == 5 and all(0 <= i < 10 for i in idx)
        counts[idx] += 1
    assert np.allclose(counts / 20000, 0.5, atol=0.02)


def test_budget_parsing():
    assert Budget.parse("all").until_optimum and Budget.parse(" 30 ".strip()).evals == 30
    for bad in ("0", "-3", "lots"):
        with pytest.raises(ValueError, match="positive integer or 'all'"):
            Budget.parse(bad)


def test_algorithms_use_only_the_run(nb201_oracles):
    """Random search on an unbounded-looking space falls back to sampling; still distinct."""
    o = nb201_oracles["cifar10"]
    run = Run(o, budget_evals=100)
    random_search(run, seed_rng(0))
    assert len(set(run.record.archs)) == 100
