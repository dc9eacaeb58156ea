"""MRO's Table 5 baselines, the Pareto helper and a shipped row against fresh training."""

import numpy as np
import pytest
import torch

from bench.errors import UnknownChoiceError
from bench.families import mro
from bench.families.mro import baselines
from bench.families.mro.paper import _pareto
from bench.families.mro.trainer import Recipe, train
from bench.features import sequence

TINY = Recipe(d=8, heads=2, epochs=2)


@pytest.mark.parametrize("name", baselines.NAMES)
def test_baselines_train_repeatably_with_the_masks_recipe(name):
    store = sequence.open("syn3-p2")
    a = baselines.train_baseline(name, store, 1, TINY)
    b = baselines.train_baseline(name, store, 1, TINY)
    assert a.metrics == b.metrics and len(a.val_curve) == TINY.epochs
    assert a.metrics["mflops"] > 0 and a.metrics["params"] > 0 and np.isfinite(a.metrics["test_mae"])
    assert baselines.train_baseline(name, store, 2, TINY).metrics != a.metrics


def test_embracenet_never_draws_an_absent_modality():
    net = baselines.EmbraceNet(["a", "b"], {"a": 3, "b": 3}, 16, 0.0, 1, seed=0)
    x = {"a": torch.randn(4, 5, 3), "b": torch.randn(4, 5, 3)}
    valid = {"a": torch.ones(4, 5, dtype=torch.bool), "b": torch.zeros(4, 5, dtype=torch.bool)}
    net.eval()
    docked_a = net.dock["a"](baselines._pool(net.proj["a"](x["a"]), valid["a"]))
    out = net(x, valid)
    assert torch.allclose(out, net.head(docked_a))  # b has no valid step: every dimension comes from a
    assert torch.equal(net(x, valid), out)  # evaluation draws are seeded


def test_baseline_results_are_cached_in_the_oracles_overlay(tmp_path):
    o = mro.open_oracle("syn3-p2", allow_train=True, overlay=tmp_path / "o.sqlite", recipe=TINY)
    r = baselines.result(o, "concat-mlp", 0)
    again = mro.open_oracle("syn3-p2", overlay=tmp_path / "o.sqlite", recipe=TINY)
    assert baselines.result(again, "concat-mlp", 0, allow_train=False) == r
    with pytest.raises(UnknownChoiceError, match="concat-mlp"):
        baselines.result(again, "lstm", 0)


def test_pareto_keeps_exactly_the_non_dominated_points():
    acc = np.array([1.0, 2.0, 2.0, 3.0, 0.5])
    cost = np.array([1.0, 2.0, 3.0, 3.0, 2.0])
    assert _pareto(acc, cost).tolist() == [True, True, False, True, False]


def test_a_shipped_mosi_row_equals_fresh_training():
    """The table's cheapest architecture, seed 0, retrained now under the pinned numerics (bit for bit
    on the table's CPU vendor: conftest.assert_retrained_equal)."""
    from conftest import assert_retrained_equal

    from bench.paths import tables_dir

    view = mro.table_view("mosi")
    arch = min(view.archs(), key=lambda a: view.query(a, "mflops"))
    r = train(view.space.decode(arch), sequence.open("mosi"), 0, Recipe())
    assert r.metrics["mflops"] == view.query(arch, "mflops", seed=0)
    assert r.metrics["params"] == view.query(arch, "params", seed=0)
    shipped = {m: view.query(arch, m, seed=0) for m in ("val_mae", "test_mae", "test_corr")}
    assert_retrained_equal(r.metrics, shipped, tables_dir() / mro.table_file("mosi"),
                           {"val_mae": 0.02, "test_mae": 0.02, "test_corr": 0.05})
