"""The MRO family: path space, stand-alone trainer, table -> overlay -> trainer oracle, builder."""

import numpy as np
import pytest

from bench.errors import InvalidArchitectureError, MissingValueError
from bench.families import mro
from bench.families.mro.build import noise_report
from bench.families.mro.model import CrossModalNet
from bench.families.mro.space import PathSpace, paths_of
from bench.families.mro.trainer import Recipe, sentiment_metrics, train, trait_metrics
from bench.features import sequence

TINY = Recipe(d=8, heads=2, epochs=2)


def test_paths_follow_the_papers_order_for_three_modalities():
    assert [f"{s}{t}" for s, t in paths_of(["T", "A", "V"])] == ["TA", "TV", "AT", "AV", "VT", "VA"]


@pytest.mark.parametrize("mods, depth, size", [(["a", "b", "c"], 1, 63), (["a", "b"], 3, 15), (list("abcd"), 1, 4095)])
def test_space_enumerates_every_non_empty_architecture_once(mods, depth, size):
    s = PathSpace(mods, depth)
    assert s.size == size
    if size < 1000:
        texts = [s.encode(a) for a in s.enumerate()]
        assert len(set(texts)) == size and all(s.index(t) == i for i, t in enumerate(texts))
        assert "0" * s.n_paths not in texts


def test_space_operators_stay_in_the_space_and_are_seeded():
    s = PathSpace(["a", "b", "c"])
    rng = np.random.default_rng(0)
    for _ in range(200):
        a, b = s.sample(rng), s.sample(rng)
        m, c = s.mutate(a, rng), s.crossover(a, b, rng)
        assert s.check(m) != s.check(a) and any(m) and any(c)
        assert s.from_parameters(s.to_parameters(c)) == c
    r1, r2 = np.random.default_rng(5), np.random.default_rng(5)
    assert [s.sample(r1) for _ in range(10)] == [s.sample(r2) for _ in range(10)]


@pytest.mark.parametrize("bad", ["000000", "12", "1111111", "11a111", "211111"])
def test_bad_path_strings_are_named_errors(bad):
    with pytest.raises(InvalidArchitectureError, match="path"):
        PathSpace(["a", "b", "c"]).decode(bad)


def test_only_active_paths_are_built_and_flops_grow_with_paths():
    store = sequence.open("syn3-p2")
    small = CrossModalNet(store.modalities, (1, 0, 0, 0, 0, 0), store.dims, 16, 2, 0.0, 1)
    full = CrossModalNet(store.modalities, (1,) * 6, store.dims, 16, 2, 0.0, 1)
    assert small.used == ["m1", "m2"] and small.n_params() < full.n_params()
    assert small.flops(store.steps) < full.flops(store.steps)


def test_training_is_bit_for_bit_repeatable_and_records_how_it_was_made():
    store = sequence.open("syn3-p2")
    a = train((1, 0, 0, 0, 1, 0), store, 3, TINY)
    b = train((1, 0, 0, 0, 1, 0), store, 3, TINY)
    assert a.metrics == b.metrics and a.val_curve == b.val_curve and len(a.val_curve) == TINY.epochs
    rec = a.record()
    assert rec["store_sha256"] == store.content_sha256 and rec["numerics"]["kernel_isa"] and rec["timing"] == "one-by-one"
    assert rec["val_mae"] == min(rec["val_curve"])  # the reported epoch is the best on validation
    assert train((1, 0, 0, 0, 1, 0), store, 4, TINY).metrics != a.metrics


def test_pom_is_scored_on_its_traits_and_tolerates_missing_video():
    store = sequence.open("pom")
    r = train((1, 1), store, 0, Recipe(d=8, heads=2, epochs=1))
    assert {"test_mae", "test_corr", "test_mae_mean", "test_corr_mean"} <= set(r.metrics)
    assert all(np.isfinite(v) for v in r.metrics.values())  # ~54% of samples have no video at all


def test_metrics_follow_the_sentiment_conventions():
    y = np.array([-2.0, 0.0, 1.0, 2.6])
    p = np.array([-1.6, 0.4, 1.6, 3.5])
    m = sentiment_metrics(p, y)
    assert m["mae"] == pytest.approx(np.mean([0.4, 0.4, 0.6, 0.9]))
    assert m["acc7"] == 100 * 3 / 4  # round(clip(.)): -2/-2, 0/0, 2/1 (wrong), 3/3
    assert m["acc2"] == 100.0 and m["acc2_nonneg"] == 100.0  # label 0 left out of Acc-2, counted as >= 0
    t = trait_metrics(np.stack([p, p], 1), np.stack([y, y], 1))
    assert t["mae"] == t["mae_mean"] == pytest.approx(m["mae"])


def test_oracle_trains_a_miss_once_then_answers_from_the_overlay(tmp_path):
    o = mro.open_oracle("syn3-p2", allow_train=True, overlay=tmp_path / "o.sqlite", recipe=TINY)
    assert o.metric_info("val_mae").direction == "min" and o.metric_info("test_acc2").unit == "%"
    v = o.query("100010", "val_mae", seed=0)
    assert o.answered_from["trained"] == 1
    again = mro.open_oracle("syn3-p2", overlay=tmp_path / "o.sqlite", recipe=TINY)
    assert again.query("100010", "val_mae", seed=0) == v and again.answered_from["overlay"] == 1
    with pytest.raises(MissingValueError):
        again.query("100011", "val_mae", seed=0)
    key = again.key("100010", 0)
    assert again.charged_seconds(key) == again.charged_seconds(key) > 0  # the cost model, not the measured time


def test_noise_report_separates_architecture_spread_from_seed_noise():
    rng = np.random.default_rng(0)
    spread = np.repeat(np.arange(20.0)[:, None], 3, axis=1) + rng.normal(0, 0.1, (20, 3))
    noise = rng.normal(0, 1, (20, 3))
    assert noise_report(spread)["icc1"] > 0.95 and not noise_report(spread)["noise_dominated"]
    assert noise_report(noise)["icc1"] < 0.3 and noise_report(noise)["noise_dominated"]


def test_a_small_table_builds_resumably_and_records_seed_noise(tmp_path, monkeypatch):
    from bench.families.mro import build
    from bench.tablefile import read_dataset

    monkeypatch.setattr(build, "SEEDS", 2)
    monkeypatch.setattr(build, "table_archs", lambda dataset, trainer=None: ["01", "10", "11"])
    path = build.build("mosi", out_dir=tmp_path / "tables", workers=1, overlay=tmp_path / "b.sqlite", progress=False,
                       recipe=Recipe(d=8, heads=2, epochs=1))
    archs, metrics, attrs = read_dataset(path, "mosi")
    assert archs == ["01", "10", "11"] and metrics["val_mae"].values.shape == (3, 2)
    import json

    prov = json.loads(attrs["provenance"])
    assert set(prov["seed_noise"]) == {"val_mae", "test_mae"} and prov["cost_model"]["per_mflop_row"] >= 0


def test_batched_seeds_train_the_same_network_as_one_by_one_and_are_keyed_apart():
    import dataclasses

    from bench.families.mro.batched import train_seeds

    store = sequence.open("syn3-p2")
    plain = dataclasses.replace(TINY, dropout=0.0)  # dropout draws differ by design; the arithmetic must not
    stacked = dataclasses.replace(plain, batched=True)
    assert stacked.key != plain.key and Recipe().key == "71f3a147eee7"  # older keys unchanged by the new field
    one = [train((1, 0, 0, 0, 1, 0), store, s, plain) for s in (3, 4)]
    both = train_seeds((1, 0, 0, 0, 1, 0), store, [3, 4], stacked)
    for a, b in zip(one, both):
        assert b.timing == "batched/2" and b.metrics["params"] == a.metrics["params"]
        np.testing.assert_allclose(b.val_curve, a.val_curve, rtol=1e-5)
        assert b.metrics["test_mae"] == pytest.approx(a.metrics["test_mae"], rel=1e-5)
    assert both[0].metrics != both[1].metrics
    with_dropout = dataclasses.replace(TINY, batched=True)
    first = train_seeds((1, 0, 0, 0, 1, 0), store, [3, 4], with_dropout)
    assert [r.metrics for r in first] == [r.metrics for r in train_seeds((1, 0, 0, 0, 1, 0), store, [3, 4], with_dropout)]


def test_a_batched_recipe_fills_each_architectures_seeds_as_one_stack(tmp_path):
    import dataclasses

    from bench.core.fill import fill
    from bench.families.mro.trainer import MROTrainer
    from bench.overlay import Overlay

    trainer = MROTrainer(dataclasses.replace(TINY, batched=True))
    fill(trainer, "syn3-p2", ["100010", "010001"], 2, overlay=str(tmp_path / "o.sqlite"), progress=False,
         skip_table=False)
    ov = Overlay(tmp_path / "o.sqlite")
    recs = [ov.get(trainer.key("syn3-p2", a, s)) for a in ("100010", "010001") for s in (0, 1)]
    assert all(r is not None and r["timing"] == "batched/2" for r in recs)
