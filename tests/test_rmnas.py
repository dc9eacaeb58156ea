"""The RMNAS family: space, missing-modality protocols, AUILC, model, trainer, search, table."""

from __future__ import annotations

import numpy as np
import pytest

from bench.errors import InvalidArchitectureError, UnknownDatasetError
from bench.families.rmnas import parse, table_file
from bench.families.rmnas.missing import (RATES, MissingRateError, auilc, effective_rate, frame_keep,
                                          view_presence)
from bench.families.rmnas.space import FUSION_OPS, MIXERS, RMArch, RMNASSpace

TINY = dict(d=8, heads=2, epochs=1, patience=1)


# ---- space -----------------------------------------------------------------------------------
def test_tied_slice_sizes_and_canonical_strings():
    sp = RMNASSpace(["audio", "video"])
    archs = list(sp.enumerate())
    assert sp.size == len(archs) == 80 == len({sp.encode(a) for a in archs})
    assert RMNASSpace(["a", "b", "c"]).size == 4 ** 3 * 4 + 2 ** 3 * 4
    for i, a in enumerate(archs):
        text = sp.encode(a)
        assert sp.decode(text) == a and sp.index(text) == i and sp.from_index(i) == a
        assert sp.from_parameters(sp.to_parameters(a)) == a
    # LST acts through the softmax mixers only: without one the string says lst=0
    assert sp.encode("audio=pool.pool|video=id.id|F=sum|lst=1") == "audio=pool.pool|video=id.id|F=sum|lst=0"
    # mixer sets are written in a fixed order
    assert sp.encode("audio=pool+att.id|video=att.att|F=glu|lst=1") == "audio=att+pool.id|video=att.att|F=glu|lst=1"


@pytest.mark.parametrize("text, needle", [
    ("audio=att.att|video=att.att|F=sum", "expected fields"),
    ("audio=att|video=att.att|F=sum|lst=1", "2 blocks"),
    ("audio=conv.att|video=att.att|F=sum|lst=1", "mixer set"),
    ("audio=att.att|video=att.att|F=mul|lst=1", "fusion"),
    ("audio=att.att|video=att.att|F=sum|lst=2", "lst must be"),
    ("audio=att+att.att|video=att.att|F=sum|lst=1", "mixer set"),
])
def test_bad_strings_are_named(text, needle):
    with pytest.raises(InvalidArchitectureError, match=needle):
        RMNASSpace(["audio", "video"]).decode(text)


def test_operators_stay_in_the_slice_and_reach_the_full_grammar():
    rng = np.random.default_rng(0)
    tied, full = RMNASSpace(["audio", "video"]), RMNASSpace(["audio", "video"], tied=False)
    members = set(tied.enumerate())
    for _ in range(200):
        a, b = tied.sample(rng), tied.sample(rng)
        m = tied.mutate(a, rng)
        assert m != a and m in members and tied.crossover(a, b, rng) in members
        u = full.sample(rng)
        assert full.decode(full.encode(u)) == u and full.mutate(u, rng) != u
        assert full.from_parameters(full.to_parameters(u)) == u
    untied = "audio=att+rand.pool|video=id.att+pool+id|F=attn|lst=1"
    assert tied.encode(untied) == untied  # the tied space still decodes every architecture
    with pytest.raises(InvalidArchitectureError, match="not in the tabulated slice"):
        tied.index(untied)
    assert full.size == (2 * 15 ** 4 - 3 ** 4) * 4  # LST is off only where no block has a softmax mixer


def test_dataset_names():
    assert parse("pom") == ("pom", 0.0) and parse("mosi@r0.5") == ("mosi", 0.5)
    assert table_file("pom@r0.5") == "rmnas_pom_r05.h5"
    for bad in ("nope", "pom@r1.5", "pom@rx", "pom@r0.50"):
        with pytest.raises(UnknownDatasetError):
            parse(bad)


# ---- missing-modality protocols and AUILC -----------------------------------------------------
def test_frame_masks_are_fixed_per_modality_and_nested_over_rates():
    valid = np.random.default_rng(1).random((50, 20)) < 0.7
    k0, k5, k10 = (frame_keep(valid, r, 0) for r in (0.0, 0.5, 1.0))
    assert (k0 == valid).all() and not k10.any()
    assert (k5 <= k0).all() and (frame_keep(valid, 0.5, 0) == k5).all()  # the same draw every call
    assert (frame_keep(valid, 0.5, 1) != k5).any()                         # another modality, another seed
    rates = [effective_rate(np.ones_like(valid), frame_keep(valid, r, 0)) for r in RATES]
    assert rates == sorted(rates) and rates[0] == pytest.approx(1 - valid.mean()) and rates[-1] == 1.0
    with pytest.raises(MissingRateError, match="outside"):
        frame_keep(valid, 1.2, 0)


@pytest.mark.parametrize("views, rate", [(2, 0.3), (2, 0.5), (3, 0.2), (3, 0.7), (3, 0.5)])
def test_view_presence_keeps_a_view_per_row_at_the_asked_share(views, rate):
    p = view_presence(64, views, rate, np.random.default_rng(0))
    assert p.shape == (64, views) and p.any(axis=1).all()
    assert abs(p.mean() - max(1 - rate, 1 / views)) < 0.005 + 1e-9  # from 1 - 1/V on: one view per row


def test_view_presence_limits():
    assert view_presence(5, 2, 0.0, np.random.default_rng(0)).all()
    with pytest.raises(MissingRateError):
        view_presence(5, 2, 0.6, np.random.default_rng(0))  # two views: at most half can be missing


def test_auilc_is_eq14():
    assert auilc(RATES, [0.7] * 11) == pytest.approx(0.7)
    assert auilc(RATES, [0.7] * 11, 0.0, 0.5) == pytest.approx(0.35)  # half the level over 0..0.5
    p = np.linspace(1.0, 0.0, 11) ** 2
    assert auilc(RATES, p) == pytest.approx(0.1 * (p[0] / 2 + p[1:10].sum() + p[10] / 2))
    with pytest.raises(MissingRateError, match="both ends"):
        auilc([0.0, 0.1, 0.2], [1, 1, 1], 0.0, 0.5)


# ---- model -------------------------------------------------------------------------------------
def test_lst_bias_is_the_chain_mean_of_trends_plus_distance():
    import torch

    from bench.families.rmnas.model import NEG, LSTBias

    torch.manual_seed(0)
    lst = LSTBias(3, 2, 3, 2, 6)
    x = torch.randn(1, 6, 3)
    b = lst(x)[0]  # [H, 7, 7]
    assert b.shape == (2, 7, 7) and torch.allclose(b, b.transpose(1, 2))
    ast = lst.enc(x.transpose(1, 2))[0, :, 1:]          # trends between frames t-1 and t
    dis = lambda d: lst.dis(torch.tensor([float(d)]))   # noqa: E731
    # frames 1 and 3 (tokens 2 and 4): mean of the trends into frames 2 and 3, plus DisEncoder(2)
    assert torch.allclose(b[:, 2, 4], ast[:, 1:3].mean(-1) + dis(2), atol=1e-6)
    assert torch.allclose(b[:, 3, 3], dis(0), atol=1e-6)
    assert torch.allclose(b[:, 0, 5], dis(-1), atol=1e-6)
    assert (b[:, 1, 5] <= NEG / 2).all()  # 4 frames apart, beyond maxdis 2


def test_model_sizes_follow_the_architecture():
    from bench.families.rmnas.model import RMNASNet

    dims, steps = {"a": 5, "b": 4}, {"a": 7, "b": 3}
    sp = RMNASSpace(["a", "b"])

    def net(text):
        return RMNASNet(["a", "b"], sp.decode(text), dims, steps, 8, 2, 2, 3, 4, 0.0, 1)

    att, ident = net("a=att.att|b=att.att|F=attn|lst=1"), net("a=id.id|b=id.id|F=sum|lst=0")
    assert att.flops(steps) > ident.flops(steps) > 0 and att.n_params() > ident.n_params()
    sup = RMNASNet(["a", "b"], None, dims, steps, 8, 2, 2, 3, 4, 0.0, 1, lst=True)
    assert sup.n_params() > att.n_params()
    import torch

    x = {"a": torch.randn(4, 7, 5), "b": torch.randn(4, 3, 4)}
    v = {"a": torch.ones(4, 7, dtype=torch.bool), "b": torch.zeros(4, 3, dtype=torch.bool)}  # b absent
    out, uni = att(x, v)
    assert out.shape == (4, 1) and set(uni) == {"a", "b"} and torch.isfinite(out).all()


# ---- training, table, search --------------------------------------------------------------------
def test_training_is_repeatable_and_scored_at_every_rate():
    from bench.families.rmnas.trainer import Recipe, train
    from bench.features import sequence

    store = sequence.open("pom")
    sp = RMNASSpace(store.modalities)
    arch = sp.decode("audio=att+pool.rand|video=id.att|F=glu|lst=1")
    a = train(arch, store, 0, Recipe(**TINY)).record()
    b = train(arch, store, 0, Recipe(**TINY)).record()
    c = train(arch, store, 1, Recipe(**TINY)).record()
    assert a["test_mae_by_rate"] == b["test_mae_by_rate"] and a["val_mae"] == b["val_mae"]
    assert a["test_mae_by_rate"] != c["test_mae_by_rate"]
    assert len(a["test_mae_by_rate"]) == len(RATES) and a["test_mae"] == a["test_mae_by_rate"][0]
    assert a["test_auilc_mae"] == pytest.approx(auilc(RATES, a["test_mae_by_rate"]))
    r5 = train(arch, store, 0, Recipe(**TINY), train_rate=0.5).record()
    assert r5["test_mae"] == r5["test_mae_by_rate"][5] and r5["test_mae"] != a["test_mae_by_rate"][5]


def test_a_small_table_builds_with_per_rate_arrays(tmp_path, monkeypatch):
    import json

    from bench.families.rmnas import build
    from bench.families.rmnas.trainer import Recipe
    from bench.tablefile import read_dataset

    monkeypatch.setattr(build, "SEEDS", 2)
    archs = ["audio=att.att|video=id.id|F=sum|lst=1", "audio=pool.pool|video=att.att|F=concatfc|lst=0"]
    monkeypatch.setattr(build, "table_archs", lambda dataset, trainer=None: archs)
    path = build.build("pom", out_dir=tmp_path / "t", workers=1, overlay=tmp_path / "b.sqlite", progress=False,
                       recipe=Recipe(**TINY))
    got, metrics, attrs = read_dataset(path, "pom")
    assert got == archs and metrics["test_mae_by_rate"].values.shape == (2, 2, 11)
    prov = json.loads(attrs["provenance"])
    eff = prov["effective_missing_rate_test"]
    assert set(eff) == {"audio", "video"} and eff["video"][0] > 0.5 and eff["audio"][-1] == 1.0
    assert set(prov["seed_noise"]) == {"val_mae", "test_mae", "test_auilc_mae"}


def test_search_is_cached_charged_and_repeatable(tmp_path):
    from bench.compare import run_trained
    from bench.families.rmnas import open_oracle
    from bench.families.rmnas.trainer import Recipe

    oracle = open_oracle("pom@r0.5", allow_train=True, overlay=tmp_path / "o.sqlite", recipe=Recipe(**TINY))
    a = run_trained(oracle, "rmnas", 0)
    trained = oracle.n_trained
    b = run_trained(oracle, "rmnas", 0)
    assert a.best_arch == b.best_arch == a.settings["genotype"] and oracle.n_trained == trained
    assert a.sim_seconds == b.sim_seconds and a.sim_seconds[0] > 0
    sup = a.settings["supernet"]
    assert sup["test_mae"] == sup["test_mae_by_rate"][5]
    f = run_trained(oracle, "fixed-att-bmnas", 0)
    geno = oracle.space.decode(f.best_arch)
    assert all(s == ("att",) for blocks in geno.mixers for s in blocks) and not geno.lst
    short = run_trained(oracle, "rmnas", 1, budget_seconds=1.0)
    assert "stopped" in short.settings and not short.archs


def test_derive_keeps_every_mixer_over_the_threshold():
    from bench.families.rmnas.search import PRESETS, derive

    sp = RMNASSpace(["a", "b"], tied=False)
    alpha = {"a": np.array([[0.5, 0.3, 0.1, 0.1], [0.1, 0.1, 0.1, 0.7]]), "b": np.array([[0.25] * 4, [0.19, 0.21, 0.3, 0.3]])}
    g = derive(sp, alpha, np.array([[0.1, 0.2, 0.6, 0.1]]), PRESETS["rmnas"])
    assert sp.encode(g) == "a=att+rand.id|b=att+rand+pool+id.rand+pool+id|F=glu|lst=1"
    assert MIXERS == ("att", "rand", "pool", "id") and FUSION_OPS[2] == "glu"


def test_paper_columns_read_auilc_and_rates():
    from bench.families.rmnas.paper import column_value
    from bench.repro.spec import get_spec

    rec = {"test_mae_by_rate": list(np.linspace(1.0, 2.0, 11)), "params": 2_000_000.0}
    t1, t4 = get_spec("rmnas-table1"), get_spec("rmnas-table4")
    assert column_value(rec, "MOSI MAE", t1) == pytest.approx(1.5)
    assert column_value(rec, "MOSI MAE", t4) == pytest.approx(1.7)
    assert column_value(rec, "Params (M)", t4) == 2.0 and column_value(rec, "MOSI Acc-7", t1) is None
    assert RMArch  # the architecture type is public


def test_table_searches_minimise_the_validation_error():
    """RS, REA and EDF on the shipped POM table (lookups only): EDF's generational loop ranks a
    validation error lower-is-better (it maximised accuracy before RMNAS)."""
    from bench.compare import run_trained
    from bench.families.rmnas import open_oracle, table_view

    view = table_view("pom")
    if view is None:
        pytest.skip("tables/rmnas_pom.h5 is not built")
    vals = np.asarray(view.query_many(view.archs(), "val_mae"))
    oracle = open_oracle("pom")
    for algo in ("rs", "rea", "edf"):
        rec = run_trained(oracle, algo, 0, budget_evals=30)
        assert min(rec.values) < np.median(vals) and oracle.n_trained == 0, algo
        assert rec.values[int(np.argmin(rec.values))] == min(rec.values)


def test_dialogue_protocol_trains_per_utterance_under_view_masks():
    from bench.families.rmnas import open_oracle
    from bench.families.rmnas.dialogue import apply_presence, dialogue_part
    from bench.families.rmnas.trainer import Recipe
    from bench.features import sequence

    store = sequence.open("mosi")
    part = dialogue_part(store, "standard", "val")
    assert part["valid"].shape[0] == 10 and part["valid"].sum() == len(store.rows("standard", "val"))
    x = apply_presence(part["x"], part["valid"], 0.5, np.random.default_rng(0), store.modalities)
    rows = part["valid"]
    present = np.stack([np.abs(x[m]).sum(-1)[rows] > 0 for m in store.modalities], 1)
    assert present.any(1).all() and present.mean() == pytest.approx(0.5, abs=0.02)  # audio rows are never all-zero
    oracle = open_oracle("mosi-dial@r0.3", allow_train=True, overlay=None, recipe=Recipe(**TINY))
    assert oracle.fitness_metric == "val_waf" and oracle.test_metric == "test_waf"
    arch = "audio=att.att|text=pool.pool|F=attn|lst=1"
    from bench.families.rmnas.dialogue import train_dialogue

    a = train_dialogue(oracle.space.decode(arch), store, 0, Recipe(**TINY), 0.3)
    b = train_dialogue(oracle.space.decode(arch), store, 0, Recipe(**TINY), 0.3)
    assert a["test_waf_by_rate"] == b["test_waf_by_rate"] and len(a["test_waf_by_rate"]) == 6
    assert 0 <= a["test_waf"] <= 100
    from bench.compare import run_trained
    from bench.families.rmnas.search import RMNASSettingsError

    with pytest.raises(RMNASSettingsError, match="sentence level"):
        run_trained(oracle, "rmnas", 0)


def test_mutation_connects_the_whole_slice():
    """Every tied architecture reaches every other by mutations (LST off is forced where no softmax
    mixer exists, so that flag must not count as a difference there)."""
    sp = RMNASSpace(["audio", "video"])
    members = list(sp.enumerate())
    near = {a: [b for b in members if sp._distance(a, b) == 1] for a in members}
    seen, todo = {members[-1]}, [members[-1]]
    while todo:
        for b in near[todo.pop()]:
            if b not in seen:
                seen.add(b)
                todo.append(b)
    assert len(seen) == len(members)


@pytest.mark.parametrize("bad", ["pom@r0.25", "pom@r0", "pom@r", "mosi-dial@r0.6"])
def test_training_rates_are_tenths(bad):
    with pytest.raises(UnknownDatasetError):
        parse(bad)


def test_table_hit_retrains_bit_for_bit():
    """A shipped row retrained now (any kernel ISA the shell asks for: `make test-isa`) equals
    the table: the per-rate test MAE, the validation MAE and the epoch kept (bit for bit on the
    table's CPU vendor, within tolerance on another: conftest.assert_retrained_equal)."""
    from conftest import assert_retrained_equal

    from bench.families.rmnas import open_oracle, table_file
    from bench.families.rmnas.trainer import train
    from bench.paths import tables_dir

    oracle = open_oracle("pom")
    arch = "audio=pool.pool|video=id.id|F=sum|lst=0"
    shipped = oracle.result(arch, 0)
    again = train(oracle.space.decode(arch), oracle.store, 0, oracle.recipe).record()
    assert_retrained_equal(again, shipped, tables_dir() / table_file("pom"),
                           {"test_mae_by_rate": 0.02, "val_mae": 0.02, "best_epoch": 3, "test_corr": 0.05})
