"""Epoch fidelity on trained benchmarks (#28 item 1): partial trainings charged per epoch, read from
the records' validation curves, and the Optuna-driven multi-fidelity searches on every family."""

import math
from dataclasses import asdict

import numpy as np
import pytest

import bench
from bench.compare import compare_trained, run_trained
from bench.core.trained_oracle import Curve
from bench.errors import InvalidArgumentError
from bench.trained_run import TrainedRun

pytest.importorskip("optuna")


def _early_stopped(oracle):
    """(arch, record) of seed 0 whose training stopped before the recipe's last epoch."""
    for arch in oracle.space.enumerate():
        rec = oracle.result(arch, 0)
        if oracle.curve.trained_epochs(rec) < oracle.curve.epochs:
            return oracle.space.encode(arch), rec
    raise AssertionError("no early-stopped model in the table")


def test_curve_reads_best_or_last_epoch():
    rec = {"c": [3.0, 1.0, 2.0, math.nan, math.nan]}
    best, last = Curve("c", "m", "best", 5), Curve("c", "m", "last", 5)
    assert best.trained_epochs(rec) == 3
    assert [best.at(rec, k, "min") for k in (1, 2, 3, 5)] == [3.0, 1.0, 1.0, 1.0]
    assert [best.at(rec, k, "max") for k in (1, 2, 3)] == [3.0, 3.0, 3.0]
    assert [last.at(rec, k, "max") for k in (1, 2, 3, 5)] == [3.0, 1.0, 2.0, 2.0]
    with pytest.raises(ValueError):
        Curve("c", "m", "median", 5)


@pytest.mark.parametrize("family,dataset", [("tree-fusion", "mfeat"), ("mro", "mosi"), ("rmnas", "mosi"),
                                            ("hfmnas", "landuse21")])
def test_full_value_at_the_last_epoch_is_the_records(family, dataset):
    """The curve read at a model's last epoch is the value a full-fidelity run gets, on every table."""
    o = bench.open(family, dataset=dataset)
    direction = o.metric_info(o.curve.metric).direction
    for arch in list(o.space.enumerate())[:40]:
        for seed in range(o.n_seeds):
            rec = o.result(arch, seed)
            assert len(rec[o.curve.field]) == o.curve.epochs
            assert o.curve.at(rec, o.curve.epochs, direction) == pytest.approx(rec[o.curve.metric], abs=1e-9)


def test_epochs_are_charged_once_and_resumed():
    o = bench.open("hfmnas", dataset="landuse21")
    arch, rec = _early_stopped(o)
    trained, seconds = o.curve.trained_epochs(rec), rec["train_seconds"]
    run = TrainedRun(o, algo="t", seed=0, budget_seconds=1e9, fidelity="epochs")
    assert run.max_epochs == 15
    v2 = run.evaluate(arch, epochs=2)
    assert v2 == pytest.approx(max(rec["val_curve"][:2]))
    assert run.sim_seconds == pytest.approx(seconds * 2 / trained)
    assert run.evaluate(arch, epochs=1) == pytest.approx(rec["val_curve"][0])  # trained that far already: free
    assert run.sim_seconds == pytest.approx(seconds * 2 / trained) and len(run.record.values) == 1
    assert not run.seen(arch) and run.trained_epochs(arch) == 2
    run.evaluate(arch, epochs=trained - 1)  # resumed: only the extra epochs
    assert run.sim_seconds == pytest.approx(seconds * (trained - 1) / trained)
    full = run.evaluate(arch, epochs=15)  # past its early stop: its training ended at `trained` epochs
    assert full == rec["val_f1m"] and run.seen(arch)
    assert run.sim_seconds == pytest.approx(seconds)  # the whole model, never more
    r = run.record
    assert r.partial == [True, True, False] and r.epochs == [2, trained - 1, 15]
    assert math.isnan(r.test_values[0]) and r.test_values[-1] == rec["test_f1m"]
    assert r.evals == [0, 0, 1]


def test_a_partial_training_is_never_the_incumbent():
    o = bench.open("tree-fusion", dataset="mfeat")
    archs = [o.space.encode(a) for a in list(o.space.enumerate())[:30]]
    # the arch whose epoch-1 value is highest, and one that is worse at the end than that value
    run = TrainedRun(o, algo="t", seed=0, budget_seconds=1e9, fidelity="epochs")
    partial = max(archs, key=lambda a: o.result(a, 0)["val_curve"][-1])
    run.evaluate(partial, epochs=19)  # a high value, but not a finished training
    low = min(archs, key=lambda a: o.result(a, 0)["val_acc"])
    run.evaluate(low)  # full fidelity in the same run: a whole model
    rec = run.finish()
    assert rec.best_arch == low and rec.best_value == o.result(low, 0)["val_acc"]
    assert rec.best_test == o.result(low, 0)["test_acc"]
    assert rec.incumbent_curve()[0] != rec.incumbent_curve()[0]  # NaN: nothing finished after the first


def test_a_full_evaluation_after_a_partial_one_charges_the_rest():
    o = bench.open("tree-fusion", dataset="mfeat")
    arch = o.space.encode(next(iter(o.space.enumerate())))
    run = TrainedRun(o, algo="t", seed=1, budget_seconds=1e9, fidelity="epochs")
    run.evaluate(arch, epochs=5)
    run.evaluate(arch)
    assert run.sim_seconds == pytest.approx(o.result(arch, 1)["train_seconds"])
    assert run.record.partial == [True, False]


def test_fidelity_refusals():
    o = bench.open("tree-fusion", dataset="mfeat")
    arch = o.space.encode(next(iter(o.space.enumerate())))
    full = TrainedRun(o, algo="t", seed=0, budget_seconds=10)
    with pytest.raises(InvalidArgumentError, match="fidelity='epochs'"):
        full.evaluate(arch, epochs=3)
    run = TrainedRun(o, algo="t", seed=0, budget_seconds=10, fidelity="epochs")
    for bad in (0, 21, 2.5, True):
        with pytest.raises(InvalidArgumentError):
            run.evaluate(arch, epochs=bad)
    with pytest.raises(InvalidArgumentError, match="fidelity must be"):
        TrainedRun(o, algo="t", seed=0, budget_seconds=10, fidelity="rungs")
    rm = bench.open("rmnas", dataset="mosi")
    with pytest.raises(InvalidArgumentError, match="curve is of 'val_mae'"):
        TrainedRun(rm, algo="t", seed=0, budget_seconds=10, fidelity="epochs", metric="val_auilc_mae")
    with pytest.raises(InvalidArgumentError, match="--fidelity epochs"):
        compare_trained("tree-fusion", "mfeat", ["rs", "asha"], [0], 5, progress=False)
    from bench.compare import Budget, compare

    with pytest.raises(InvalidArgumentError, match="final values only"):
        compare("nb201", ["cifar10"], ["asha"], [0], Budget(10), progress=False)


def _strip(record):
    return {k: v for k, v in asdict(record).items() if k not in ("wall_seconds", "eval_wall_seconds")}


@pytest.mark.parametrize("family,dataset,budget", [("tree-fusion", "mfeat", 8), ("mro", "syn3-p2-planted", 400),
                                                   ("rmnas", "mosi", 150), ("hfmnas", "landuse21", 25)])
def test_multi_fidelity_searches_every_family_from_its_table(family, dataset, budget):
    """ASHA, Hyperband and TPE + Hyperband stop trainings early, spend the budget (at most one epoch
    past it), repeat bit for bit, and train nothing on a table's slice."""
    o = bench.open(family, dataset=dataset, allow_train=True)
    for algo in ("asha", "hyperband", "tpe-hyperband"):
        a = run_trained(o, algo, 0, budget_seconds=budget, fidelity="epochs")
        b = run_trained(o, algo, 0, budget_seconds=budget, fidelity="epochs")
        assert _strip(a) == _strip(b), algo
        assert any(a.partial) and not all(a.partial), algo  # it pruned some models and finished others
        assert a.stop_reason in ("budget_seconds", "algorithm_stopped")
        if a.stop_reason == "budget_seconds":
            step = max(o.result(x, 0)["train_seconds"] for x in set(a.archs))  # more than one epoch of any model
            assert budget <= a.sim_seconds[-1] < budget + step
        assert not math.isnan(a.best_test)
        assert a.settings["fidelity"] == "epochs"
    assert o.n_trained == 0


def test_asha_looks_at_more_models_than_random_search_at_equal_cost():
    o = bench.open("tree-fusion", dataset="mfeat", allow_train=True)
    rs = run_trained(o, "rs", 3, budget_seconds=10, fidelity="epochs")
    asha = run_trained(o, "asha", 3, budget_seconds=10, fidelity="epochs")
    assert not any(rs.partial) and len(rs.partial) == len(rs.values)
    assert len(set(asha.archs)) > 3 * len(set(rs.archs))
    assert np.sum(np.logical_not(asha.partial)) < len(set(asha.archs))


def test_cli_compare_at_epoch_fidelity(tmp_path, capsys):
    from bench.cli import main

    out = tmp_path / "mf"
    # --max-leaves 3: the table's trees, answered without training
    assert main(["compare", "--bench", "tree-fusion", "--dataset", "mfeat", "--max-leaves", "3", "--fidelity", "epochs",
                 "--seeds", "2",
                 "--budget-seconds", "5", "--algo", "rs", "--algo", "asha", "--algo-setting", "asha.eta=2",
                 "--no-progress", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "epoch fidelity: a model may stop after any of its 20 epochs" in text
    assert "stopped early" in text and "asha vs rs" in text
    assert "stopped_early" in (out / "runs.csv").read_text().splitlines()[0]
    assert main(["compare", "--bench", "nb201", "--fidelity", "epochs", "--seeds", "1", "--no-progress"]) == 2
    assert "final values only" in capsys.readouterr().err
