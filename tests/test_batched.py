"""Batched training (:mod:`bench.core.stacked`): a stack's early stopping is each model's, and the
RMNAS and HF-MNAS stacks train the same networks as one-by-one training, keyed apart."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from bench.core.best_epoch import BestEpoch, TrainingDivergedError
from bench.core.stacked import ModelStack, StackedBestEpoch


def _stack(n: int) -> ModelStack:
    models = []
    for s in range(n):
        torch.manual_seed(s)
        models.append(torch.nn.Linear(2, 1))
    return ModelStack(models)


def test_a_stacks_early_stopping_is_each_models_own():
    scores = [[0.5, 0.7, 0.6, 0.65, 0.9], [0.9, 0.1, 0.2, 0.3, 0.95], [math.nan, 0.2, 0.1, 0.3, 0.4]]
    stack = _stack(3)
    stop = StackedBestEpoch(stack, True, patience=2)
    alone = [BestEpoch(True, 2) for _ in scores]
    stopped_alone = [False] * 3
    for epoch in range(5):
        with torch.no_grad():
            stack.params["weight"][:] = epoch  # the weights each epoch ends with
        ended = stop.update(epoch, [s[epoch] for s in scores])
        for i, b in enumerate(alone):
            if not stopped_alone[i]:
                stopped_alone[i] = b.update(epoch, scores[i][epoch], torch.nn.Linear(2, 1))
        assert list(stop.stopped) == stopped_alone and ended == all(stopped_alone)
    for i, b in enumerate(alone):
        assert stop.curves[i] == pytest.approx(b.curve, nan_ok=True)
        assert (stop.value(i), stop.epoch[i]) == (b.value, b.epoch)
        assert float(stop.restored(i, "m").weight[0, 0].detach()) == b.epoch  # the kept epoch's weights
    assert stop.stopped[1] and stop.curves[1] == [0.9, 0.1, 0.2]  # stopped: later epochs not scored


def test_a_stacked_model_that_never_scored_is_named():
    stop = StackedBestEpoch(_stack(2), False, patience=5)
    stop.update(0, [1.0, math.nan])
    stop.restored(0, "first")
    with pytest.raises(TrainingDivergedError, match="second"):
        stop.restored(1, "second")


# ---- HF-MNAS ------------------------------------------------------------------------------------
def _hf_recipe(**changes):
    from bench.families.hfmnas.recipe import Recipe

    return Recipe(epochs=2, channels=8, tokens=4, heads=2, **changes)


def test_hfmnas_stacked_seeds_train_the_one_by_one_network_and_are_keyed_apart():
    from bench.families.hfmnas import data as hfdata
    from bench.families.hfmnas.batched import train_seeds
    from bench.families.hfmnas.recipe import Recipe
    from bench.families.hfmnas.space import core_arch
    from bench.families.hfmnas.trainer import train

    assert Recipe().key == "85cee532672b" and Recipe(batched=True).key != Recipe().key  # old keys unchanged
    d = hfdata.load("landuse21")
    arch = core_arch("mhatt", "glu", imm="dcca+mha")  # attention and DCCA inside the stack
    plain = _hf_recipe(dropout=0.0)  # dropout draws differ by design; the arithmetic must not
    one = [train(arch, d, s, plain) for s in (3, 4)]
    both = train_seeds(arch, d, [3, 4], dataclasses.replace(plain, batched=True))
    for a, b in zip(one, both):
        assert b.timing == "batched/2" and a.timing == "one-by-one"
        np.testing.assert_allclose(b.val_curve, a.val_curve, rtol=1e-5)
        for k in ("val_f1m", "test_f1m", "test_acc", "params", "mflops", "best_epoch"):
            assert b.metrics[k] == pytest.approx(a.metrics[k], rel=1e-5), k
        assert b.metrics["test_cell_corr"] == pytest.approx(a.metrics["test_cell_corr"], abs=1e-5)
    assert both[0].metrics != both[1].metrics
    noisy = _hf_recipe(batched=True)
    first = [r.metrics for r in train_seeds(arch, d, [3, 4], noisy)]
    assert first == [r.metrics for r in train_seeds(arch, d, [3, 4], noisy)]  # repeatable with dropout


def test_hfmnas_bilstm_architectures_train_one_by_one_and_say_so():
    from bench.families.hfmnas import data as hfdata
    from bench.families.hfmnas.batched import train_seeds
    from bench.families.hfmnas.space import core_arch
    from bench.families.hfmnas.trainer import train

    d, arch = hfdata.load("landuse21"), core_arch(cm="bilstm")
    got = train_seeds(arch, d, [0], _hf_recipe(batched=True))
    assert got[0].timing == "one-by-one" and got[0].metrics == train(arch, d, 0, _hf_recipe(batched=True)).metrics


def test_a_batched_recipes_oracle_trains_a_miss_as_a_stack_of_one(tmp_path):
    from bench.families import hfmnas
    from bench.families.hfmnas.space import core_arch

    o = hfmnas.open_oracle("landuse21", allow_train=True, overlay=tmp_path / "o.sqlite",
                           recipe=_hf_recipe(batched=True))
    arch = o.space.encode(core_arch("sum", "concatfc", imm="none"))
    o.query(arch, "val_f1m", seed=0)
    assert o.answered_from["trained"] == 1
    assert o.overlay.get(o.key(arch, 0))["timing"] == "batched/1"


# ---- RMNAS --------------------------------------------------------------------------------------
def test_rmnas_stacked_seeds_train_the_one_by_one_network_and_are_keyed_apart():
    from bench.families.rmnas.batched import train_seeds
    from bench.families.rmnas.recipe import Recipe
    from bench.families.rmnas.space import RMNASSpace
    from bench.families.rmnas.trainer import train
    from bench.features import sequence

    assert Recipe().key == "bb673bc9d207" and Recipe(batched=True).key != Recipe().key
    store = sequence.open("pom")
    arch = RMNASSpace(store.modalities).decode("audio=att+pool.rand|video=id.att|F=attn|lst=1")
    plain = Recipe(d=8, heads=2, epochs=2, patience=1, dropout=0.0)
    one = [train(arch, store, s, plain, train_rate=0.5) for s in (3, 4)]
    both = train_seeds(arch, store, [3, 4], dataclasses.replace(plain, batched=True), train_rate=0.5)
    for a, b in zip(one, both):
        assert b.timing == "batched/2" and b.record()["timing"] == "batched/2"
        np.testing.assert_allclose(b.val_curve, a.val_curve, rtol=1e-4)
        np.testing.assert_allclose(b.by_rate["test_mae"], a.by_rate["test_mae"], rtol=1e-4)
        for k in ("test_auilc_mae", "params", "mflops", "best_epoch", "epochs_run"):
            assert b.metrics[k] == pytest.approx(a.metrics[k], rel=1e-4), k
    assert both[0].metrics != both[1].metrics


def test_a_batched_rmnas_fill_group_keeps_the_jobs_order_and_the_dialogue_level_trains_one_by_one():
    from bench.families.rmnas.recipe import Recipe
    from bench.families.rmnas.trainer import RMNASTrainer

    trainer = RMNASTrainer(Recipe(d=8, heads=2, epochs=1, patience=1, batched=True))
    archs = ["audio=id.id|text=pool.pool|F=sum|lst=0", "audio=pool.pool|text=id.id|F=glu|lst=0"]
    jobs = [(archs[0], 0), (archs[1], 0), (archs[0], 1)]
    recs = trainer.train_batch("mosi", jobs)
    assert [r["timing"] for r in recs] == ["batched/2", "batched/1", "batched/2"]
    assert recs[0]["val_curve"] != recs[2]["val_curve"]  # two seeds of one stack, in the jobs' order
    again = trainer.train_batch("mosi", [(archs[0], 1)])[0]  # a stack of one: another stack, same recipe
    assert again["params"] == recs[2]["params"]
    dial = trainer.train_batch("mosi-dial@r0.3", [(archs[0], 0)])
    assert dial[0]["timing"] == "one-by-one"


def test_fill_stacked_trains_under_the_batched_recipe_and_is_refused_where_a_family_has_none(monkeypatch, capsys):
    from bench.cli import main
    from bench.core import fill
    from bench.families import hfmnas, mro, rmnas

    seen = []
    monkeypatch.setattr(fill, "fill", lambda trainer, dataset, archs, seeds, **kw: seen.append(trainer.recipe))
    hfmnas.fill("landuse21", 2, epochs=1, stacked=True)
    rmnas.fill("mosi", 2, stacked=True)
    mro.fill("syn3-p2", 2)
    assert [(r.batched, r.epochs) for r in seen] == [(True, 1), (True, 30), (False, 20)]
    assert main(["fill", "--bench", "tree-fusion", "--dataset", "scene15", "--stacked"]) == 2
    err = capsys.readouterr().err
    assert "--stacked applies to mro, rmnas, hfmnas" in err and "Traceback" not in err


def test_the_batched_training_benchmark_prints_its_ratio_and_comparison(capsys):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "batched_training.py"
    spec = importlib.util.spec_from_file_location("batched_training", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.main(["hfmnas", "--epochs", "1", "--archs", "1", "--one", "2", "--batch", "2"])
    out = capsys.readouterr().out
    assert "one-by-one: " in out and "batched/2: " in out and "x one-by-one" in out
    assert "equal results, batched vs one-by-one: " in out and "n = 2 pairs" in out
