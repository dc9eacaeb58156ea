"""Issue #26 items 7 and 9: bad API arguments and command lines are refused by name, before any work.

Every test here failed on the code before the fix (it trained, crashed with a raw Python error,
or accepted the value). Nothing trains: each oracle's trainer, and ``compare``/``fill``, are
replaced by functions that raise :class:`Trained`, and every overlay is a temporary file.
"""

import math
import re

import pytest

import bench
from bench import registry
from bench.cli import main
from bench.errors import BenchError, InvalidArgumentError, UnknownMetricError

TRAINED = [b for b in registry.benchmarks() if registry.info(b).kind == "trained"]
#: an architecture each trained benchmark's default dataset has in its shipped table
ARCH = {"tree-fusion": "add(v1,v2)", "mro": "100010", "rmnas": "audio=att.att|video=att.att|F=sum|lst=1",
        "hfmnas": "L(tl,il):n1=sum(skip@0,skip@1);keep=n1|H(th,ih):n1=sum(skip@0,skip@1);keep=n1|s=1|imm=none|cm=mlp"}
#: a seed the shipped tables do not hold, so that a lookup misses and would train
UNTABLED_SEED = 7


class Trained(Exception):
    """A test input reached training (or a long command): it should have been refused first."""


def _refuse(*args, **kwargs):
    raise Trained(f"training was reached with {args!r}")


@pytest.fixture(scope="module")
def oracles(tmp_path_factory):
    """Each trained family's default dataset, training allowed, into a temporary overlay; its trainer raises."""
    out = {}
    for b in TRAINED:
        o = bench.open(b, registry.default_dataset(b), allow_train=True,
                       overlay=tmp_path_factory.mktemp(b) / "o.sqlite")
        o._train = _refuse
        out[b] = o
    return out


@pytest.fixture
def no_work(monkeypatch):
    """compare and fill raise Trained: a command line that gets past its checks does no work."""
    import bench.compare
    import bench.core.fill

    for name in ("compare", "compare_trained", "compare_multitask"):
        monkeypatch.setattr(bench.compare, name, _refuse)
    monkeypatch.setattr(bench.core.fill, "fill", _refuse)


def _untrained(o):
    assert o.n_trained == 0 and o.answered_from["trained"] == 0


# ---- item 7: the API ------------------------------------------------------------------------------
@pytest.mark.parametrize("bench_name", TRAINED)
def test_negative_seeds_are_refused_before_training(oracles, bench_name):
    o = oracles[bench_name]
    for seed in (-1, -3, -(2**40)):
        with pytest.raises(InvalidArgumentError, match=f"seed must be a whole number 0..{2**32 - 1}, got {seed}"):
            o.query(ARCH[bench_name], seed=seed)
        with pytest.raises(InvalidArgumentError, match="seed"):
            o.result(ARCH[bench_name], seed)
    _untrained(o)


@pytest.mark.parametrize("bench_name", TRAINED)
def test_float_none_and_text_seeds_are_refused_before_training(oracles, bench_name):
    o = oracles[bench_name]
    for seed in (1.5, 3.0, None, "3", True, math.nan, 2**32):
        with pytest.raises(InvalidArgumentError, match="seed must be a whole number"):
            o.query(ARCH[bench_name], seed=seed)
        with pytest.raises(InvalidArgumentError, match="seed must be a whole number"):
            o.keyed_result(ARCH[bench_name], seed)
    _untrained(o)


@pytest.mark.parametrize("bench_name", TRAINED)
def test_an_unknown_metric_is_refused_before_training(oracles, bench_name):
    o = oracles[bench_name]
    for metric in ("nosuch", "TEST_ACC", 5, ["test_acc"]):
        with pytest.raises(UnknownMetricError, match="valid choices"):
            o.query(ARCH[bench_name], metric, seed=UNTABLED_SEED)
    _untrained(o)


@pytest.mark.parametrize("bench_name", TRAINED)
def test_an_empty_metric_is_not_the_default(oracles, bench_name):
    o = oracles[bench_name]
    assert o.query(ARCH[bench_name], None) == o.query(ARCH[bench_name], o.default_metric)  # None is the default
    for metric in ("", " "):
        with pytest.raises(UnknownMetricError, match=f"unknown metric {metric!r}"):
            o.query(ARCH[bench_name], metric)
    _untrained(o)


def test_a_nan_budget_is_refused_not_run_over_the_whole_space():
    from bench.compare import Budget, run_one
    from bench.run import Run

    o = registry.open("nb201", "cifar10")
    for bad in (math.nan, math.inf, 0, -5, 2.5, "300", True):
        with pytest.raises(InvalidArgumentError, match="budget_evals must be a whole number >= 1"):
            Run(o, budget_evals=bad)
        with pytest.raises(InvalidArgumentError, match="budget evals must be a whole number >= 1"):
            Budget(evals=bad)
    for bad in (math.nan, math.inf, 0, -1.0, "30"):
        with pytest.raises(InvalidArgumentError, match="budget_seconds must be a finite number > 0"):
            Run(o, budget_seconds=bad)
    for bad in (math.nan, 2.5, "١٢", "12.0", True):
        with pytest.raises(InvalidArgumentError, match="budget must be a positive integer or 'all'"):
            Budget.parse(bad)
    with pytest.raises(InvalidArgumentError):
        run_one(o, "rs", 0, Budget(evals=math.nan))


def test_max_leaves_nan_is_refused_not_unlimited(tmp_path):
    for bad in (math.nan, 2.5, "3", True, [3]):
        with pytest.raises(InvalidArgumentError, match=re.escape(f"max_leaves must be a whole number, got {bad!r}")):
            bench.open("tree-fusion", "scene15", max_leaves=bad, overlay=tmp_path / "o.sqlite")
    o = bench.open("tree-fusion", "scene15", max_leaves=None, overlay=tmp_path / "o.sqlite")
    assert o.space.max_leaves == len(o.store.view_names)  # None: every feature, as documented


@pytest.mark.parametrize("bench_name", TRAINED)
def test_allow_train_must_be_true_or_false(oracles, tmp_path, bench_name):
    ds = registry.default_dataset(bench_name)
    for bad in ("no", "False", 0, 1, None, math.nan):
        with pytest.raises(InvalidArgumentError, match=re.escape(f"allow_train must be True or False, got {bad!r}")):
            bench.open(bench_name, ds, allow_train=bad, overlay=tmp_path / "o.sqlite")
    o = oracles[bench_name]
    with pytest.raises(InvalidArgumentError, match="allow_train must be True or False, got 'no'"):
        o.query(ARCH[bench_name], seed=UNTABLED_SEED, allow_train="no")
    _untrained(o)


@pytest.mark.parametrize("bench_name", registry.benchmarks())
def test_unknown_keyword_options_are_named_errors(tmp_path, bench_name):
    ds = registry.default_dataset(bench_name)
    with pytest.raises(BenchError, match="nosuch_option") as got:
        bench.open(bench_name, ds, nosuch_option=1)
    if registry.info(bench_name).kind == "trained":
        assert isinstance(got.value, InvalidArgumentError)
        assert "valid options: " in str(got.value) and "'allow_train'" in str(got.value)
        assert "'overlay'" in str(got.value)


def test_tree_fusions_options_are_listed_by_name():
    assert registry.open_options("tree-fusion") == ["max_leaves", "protocol", "allow_train", "overlay", "device",
                                                    "backbone", "repeatable", "recipe"]
    assert registry.open_options("nb201") == []


@pytest.mark.parametrize("bench_name", TRAINED)
def test_an_overlay_path_that_cannot_be_one_is_a_named_error(tmp_path, bench_name):
    ds = registry.default_dataset(bench_name)
    (tmp_path / "a_folder").mkdir()
    cases = [(str(tmp_path / "a_folder"), "is a folder"), ("/proc/overlay.sqlite", "under /proc"),
             ("/proc/self/status", "under /proc"), ("", "must not be empty"), ("  ", "must not be empty"),
             (5, "must be a file path")]
    for path, expect in cases:
        with pytest.raises(InvalidArgumentError, match=expect):
            bench.open(bench_name, ds, overlay=path)


# ---- item 9: the command line -------------------------------------------------------------------
def _cli(argv, capsys):
    rc = main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return rc, err


def test_fill_refuses_an_empty_overlay(no_work, capsys):
    for path in ("", " "):
        rc, err = _cli(["fill", "--bench", "mro", "--dataset", "syn3-p2", "--no-progress", "--overlay", path], capsys)
        assert rc == 2 and "argument --overlay: overlay must not be empty" in err, err


def test_fill_refuses_an_overlay_in_proc_or_a_folder(no_work, tmp_path, capsys):
    for path, expect in ((str(tmp_path), "is a folder"), ("/proc/x.sqlite", "under /proc, a virtual file system"),
                         (str(tmp_path / "f.txt" / "o.sqlite"), "is a file, not a folder")):
        (tmp_path / "f.txt").write_text("a file")
        rc, err = _cli(["fill", "--bench", "tree-fusion", "--dataset", "scene15", "--no-progress", "--overlay", path],
                       capsys)
        assert rc == 2 and expect in err and "AttributeError" not in err, err


def test_compare_refuses_an_empty_out(no_work, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # before the fix, '' wrote into the current folder
    for bench_name in ("nb201", "tree-fusion"):
        rc, err = _cli(["compare", "--bench", bench_name, "--seeds", "1", "--no-progress", "--out", ""], capsys)
        assert rc == 2 and "argument --out: must be a path, got ''" in err, err
    rc, err = _cli(["tables", "reproduce", "ktnas-table2", "--out", " "], capsys)
    assert rc == 2 and "argument --out" in err
    assert list(tmp_path.iterdir()) == []


def test_compare_refuses_a_repeated_algorithm(no_work, capsys):
    for bench_name, extra in (("nb201", ["--budget", "5"]), ("tree-fusion", ["--budget-seconds", "1"])):
        rc, err = _cli(["compare", "--bench", bench_name, "--algo", "rs", "--algo", "rea", "--algo", "rs",
                        "--seeds", "1", "--no-progress", *extra], capsys)
        assert rc == 2 and "--algo 'rs' is given twice" in err, err
    rc, err = _cli(["compare", "--dataset", "cifar10", "--dataset", "cifar10", "--seeds", "1", "--no-progress"], capsys)
    assert rc == 2 and "--dataset 'cifar10' is given twice" in err, err


def test_the_api_refuses_repeated_algorithms_datasets_and_seeds():
    from bench.compare import Budget, compare, compare_trained

    with pytest.raises(InvalidArgumentError, match="algorithm 'rs' is given twice"):
        compare("nb201", ["cifar10"], ["rs", "rs"], [0], Budget(5), progress=False)
    with pytest.raises(InvalidArgumentError, match="dataset 'cifar10' is given twice"):
        compare("nb201", ["cifar10", "cifar10"], ["rs"], [0], Budget(5), progress=False)
    with pytest.raises(InvalidArgumentError, match="seed 0 is given twice"):
        compare("nb201", ["cifar10"], ["rs"], [0, 0], Budget(5), progress=False)
    with pytest.raises(InvalidArgumentError, match="algorithm 'rs' is given twice"):
        compare_trained("tree-fusion", "scene15", ["rs", "rs"], [0], 5.0, progress=False)


@pytest.mark.parametrize("argv, expect", [
    (["compare", "--seeds", "١٢"], "'١٢'"),  # Arabic-Indic twelve: int() reads it as 12
    (["compare", "--seeds", "１２"], "'１２'"),  # full-width digits
    (["compare", "--budget", "٣٠٠"], "'٣٠٠'"),
    (["compare", "--bench", "tree-fusion", "--budget-seconds", "٥"], "'٥'"),
    (["compare", "--bench", "tree-fusion", "--max-leaves", "٢"], "'٢'"),
    (["fill", "--bench", "mro", "--dataset", "syn3-p2", "--workers", "２"], "'２'"),
    (["query", "0", "--seed", "١"], "'١'"),
    (["query", "١"], "'١'"),  # not row 1: a string that is no architecture
    (["query", "١١١١١١", "--bench", "mro"], "'١١١١١١'"),  # not the path mask 111111
    (["compare", "--seeds", "1_0"], "'1_0'"),
    (["compare", "--bench", "tree-fusion", "--budget-seconds", "infinity"], "'infinity'"),
])
def test_non_ascii_digits_are_not_numbers(argv, expect, no_work, capsys):
    rc, err = _cli(argv + (["--no-progress"] if argv[0] in ("compare", "fill") else []), capsys)
    assert rc == 2 and expect in err, err
