"""#29: a run's random stream follows the algorithm, not the name it is registered under; EDF and
CSG-NAS can restart a converged population to spend an equal-cost budget."""

import sys
import types
import warnings

import pytest

import bench
from bench import algorithms
from bench.algorithms import EDFSettings, random_search
from bench.compare import Budget, run_one, run_trained


@pytest.fixture
def cleanup():
    names = []
    yield names
    for n in names:
        algorithms._REGISTERED.pop(n, None)
    sys.modules.pop("user_search_mod", None)


def _user_module():
    mod = types.ModuleType("user_search_mod")

    def local(run, rng):
        while not run.done:
            run.evaluate(run.space.sample(rng))

    local.__module__ = mod.__name__
    local.__qualname__ = "local"
    mod.local = local
    sys.modules[mod.__name__] = mod
    return mod


def test_a_builtin_under_another_name_draws_the_builtins_stream(cleanup):
    o = bench.open("nb201", dataset="cifar10")
    cleanup.append("my-rs")
    algorithms.register("my-rs", random_search)
    assert algorithms.stream_key("my-rs", "nb201") == "rs"
    a, b = run_one(o, "rs", 4, Budget(40)), run_one(o, "my-rs", 4, Budget(40))
    assert a.archs == b.archs and a.values == b.values


def test_a_users_function_draws_one_stream_under_every_name(cleanup):
    mod = _user_module()
    o = bench.open("nb201", dataset="cifar10")
    cleanup.extend(["first", "second"])
    algorithms.register("first", mod.local)
    algorithms.register("second", mod.local)
    assert algorithms.stream_key("first") == algorithms.stream_key("second") == "user_search_mod:local"
    runs = [run_one(o, name, 2, Budget(30)) for name in ("first", "second", "user_search_mod:local")]
    assert runs[0].archs == runs[1].archs == runs[2].archs
    assert run_one(o, "first", 3, Budget(30)).archs != runs[0].archs  # another seed, another stream


def test_edf_restarts_a_converged_population_until_the_budget_is_spent():
    """On the 80-architecture RMNAS mosi slice a 4-member EDF converges long before 3000 s; with restarts it spends the budget
    (or evaluates every architecture), and without them it stops on its own schedule as before."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        o = bench.open("rmnas", dataset="mosi", allow_train=True)
    plain = run_trained(o, "edf", 0, budget_seconds=3000, settings=EDFSettings(generations=None, population=4))
    again = run_trained(o, "edf", 0, budget_seconds=3000,
                        settings=EDFSettings(generations=None, population=4, restart_on_stall=True))
    assert plain.stop_reason == "algorithm_stopped"
    assert again.stop_reason in ("budget_seconds", "space_exhausted")
    assert again.settings["restarts"] >= 1
    assert again.archs[:len(plain.archs)] == plain.archs  # the same search up to its first restart
    assert o.n_trained == 0


def test_restart_setting_from_the_command_line(tmp_path, capsys):
    from bench.cli import main

    assert main(["compare", "--bench", "rmnas", "--dataset", "mosi", "--algo", "rs", "--algo", "edf",
                 "--algo-setting", "edf.generations=none", "--algo-setting", "edf.restart_on_stall=true",
                 "--algo-setting", "edf.population=4", "--seeds", "1", "--budget-seconds", "3000",
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "restart_on_stall=true" in out
    assert "edf: used" in out and "at the end of its own schedule" not in out.split("edf: used")[1].splitlines()[0]
