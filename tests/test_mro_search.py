"""MRO's search (bench/families/mro/search.py) and TrainedRun.charge, on syn3-p2 with a reduced recipe."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from bench.compare import seed_rng  # noqa: E402
from bench.errors import BudgetExhausted  # noqa: E402
from bench.families.mro import open_oracle  # noqa: E402
from bench.families.mro import search  # noqa: E402
from bench.families.mro.model import CrossModalNet  # noqa: E402
from bench.families.mro.search import ALGORITHMS, PRESETS, MROSettings, MROSettingsError  # noqa: E402
from bench.families.mro.space import PathSpace  # noqa: E402
from bench.families.mro.trainer import Recipe  # noqa: E402
from bench.features import sequence  # noqa: E402
from bench.trained_run import TrainedRun  # noqa: E402

SMALL = Recipe(epochs=3, d=8, batch_size=150)


@pytest.fixture(scope="module")
def store():
    return sequence.open("syn3-p2")


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    """One full MRO search (seed 0) into a fresh overlay: (overlay path, record)."""
    path = tmp_path_factory.mktemp("mro") / "o.sqlite"
    return path, _search("mro", path, seed=0)


def _search(algo, overlay, seed=0, budget_seconds=1e6, budget_evals=None, settings=None):
    oracle = open_oracle("syn3-p2", allow_train=True, overlay=overlay, recipe=SMALL)
    run = TrainedRun(oracle, algo=algo, seed=seed, budget_seconds=budget_seconds, budget_evals=budget_evals)
    ALGORITHMS[algo](run, seed_rng(seed, algo, oracle.dataset), settings)
    return run.finish()


def _batch(store, n=5):
    p = store.part("standard", "val", store.modalities)
    return ({m: torch.as_tensor(p.x[m][:n]) for m in store.modalities},
            {m: torch.as_tensor(p.valid[m][:n]) for m in store.modalities})


# ---- the supernet ----------------------------------------------------------------------------------
@pytest.mark.parametrize("max_depth,arch", [(1, (0, 1, 0, 0, 1, 0)), (1, (1, 1, 1, 1, 1, 1)), (3, (2, 0, 0, 0, 3, 1))])
def test_supernet_runs_exactly_the_standalone_subnetwork(store, max_depth, arch):
    torch.manual_seed(0)
    sup = CrossModalNet(store.modalities, (max_depth,) * 6, store.dims, 16, 4, 0.0, 1).eval()
    sub = CrossModalNet(store.modalities, arch, store.dims, 16, 4, 0.0, 1).eval()
    # the sub-network's parameters are a subset of the supernet's (same names, same shapes)
    own = sub.state_dict()
    shared = sup.state_dict()
    assert set(own) <= set(shared) and all(own[k].shape == shared[k].shape for k in own)
    sub.load_state_dict({k: shared[k] for k in own})
    x, v = _batch(store)
    with torch.no_grad():
        a, b = sup(x, v, arch), sub(x, v)
    assert a.shape == b.shape == (5, 1)
    assert torch.allclose(a, b, atol=1e-6)
    with torch.no_grad():  # a stand-alone model run with its own arch is its plain forward
        assert torch.equal(sub(x, v), sub(x, v, arch))
    with pytest.raises(ValueError, match="depth"):  # a path deeper than built
        sub(x, v, tuple(d + 1 if d else 0 for d in arch))


def test_masked_off_paths_get_no_gradient(store):
    sup = CrossModalNet(store.modalities, (2,) * 6, store.dims, 16, 4, 0.1, 1)
    arch = (1, 0, 0, 0, 2, 0)  # m1->m2 one layer, m3->m1 both: m1, m2, m3 projections all used
    x, v = _batch(store)
    sup(x, v, arch).sum().backward()
    for (s, t), depth in zip(PathSpace(store.modalities, 2).paths, arch):
        for i, layer in enumerate(sup.blocks[f"{s}->{t}"]):
            grads = [p.grad for p in layer.parameters()]
            if i < depth:
                assert all(g is not None and g.abs().sum() > 0 for g in grads), f"{s}->{t} layer {i}"
            else:
                assert all(g is None for g in grads), f"{s}->{t} layer {i} is off but has a gradient"
    sup.zero_grad(set_to_none=True)
    sup(x, v, (0, 1, 0, 0, 0, 0)).sum().backward()  # m1->m3 alone: m2 is not used at all
    assert sup.proj["m2"].weight.grad is None and sup.null["m2"].grad is None
    assert sup.proj["m1"].weight.grad is not None


# ---- rank loss and prior score ---------------------------------------------------------------------
@pytest.mark.parametrize("kind", search.RANK_LOSSES)
def test_rank_loss_prefers_agreeing_priors(kind):
    losses = torch.tensor([0.1, 0.2, 0.3, 0.4])
    agree = torch.tensor([3.0, 2.0, 1.0, 0.0], requires_grad=True)  # highest prior on the lowest loss
    reverse = torch.tensor([0.0, 1.0, 2.0, 3.0], requires_grad=True)
    la, lr = search.rank_loss(agree, losses, kind, 0.1), search.rank_loss(reverse, losses, kind, 0.1)
    assert float(la.detach()) < 0.05 < float(lr.detach())
    lr.backward()
    assert reverse.grad is not None and reverse.grad.abs().sum() > 0  # the gradient reaches the prior scores


def test_prior_score_is_a_log_probability():
    pi = torch.tensor([0.2, 0.7])
    space = PathSpace(["a", "b"], 3)  # 2 paths, depth 0..3
    masks = torch.tensor([list(a) for a in space.enumerate()])
    total = search.prior_score(pi, masks, 3).exp().sum()
    assert math.isclose(float(total), 1 - 0.8 * 0.3, rel_tol=1e-6)  # every member but the all-off one


def test_large_spaces_score_a_seeded_sample():
    space = PathSpace(["a", "b", "c", "d"], 1)  # 4095 members
    a = search._candidates(space, np.random.default_rng(1), 256)
    assert len(a) == len(set(a)) == 256 and a == sorted(a, key=space.index)
    assert a == search._candidates(space, np.random.default_rng(1), 256)
    assert search._candidates(PathSpace(["a", "b", "c"], 1), np.random.default_rng(1), 256) == \
        list(PathSpace(["a", "b", "c"], 1).enumerate())


# ---- the search ------------------------------------------------------------------------------------
def test_search_records_selection_prior_and_rho(first):
    _, rec = first
    st = rec.settings
    assert st["algorithm"] == "mro" and st["mro"]["rank_loss"] == "l2"
    assert len(st["shared_val_mae"]) == 63 and all(v > 0 for v in st["shared_val_mae"].values())
    best3 = sorted(st["shared_val_mae"], key=lambda t: st["shared_val_mae"][t])[:3]
    assert st["top"] == best3 == rec.archs  # the top K by shared weights, evaluated in that order
    assert set(st["prior_pi"]) == {"m1->m2", "m1->m3", "m2->m1", "m2->m3", "m3->m1", "m3->m2"}
    assert all(0.05 <= p <= 0.95 for p in st["prior_pi"].values())
    p = st["prior_p"]
    for src in ("m1", "m2", "m3"):  # a softmax over each source's targets
        assert math.isclose(sum(v for k, v in p.items() if k.startswith(src + "->")), 1.0, abs_tol=1e-5)
    assert -1 <= st["rho_prior_shared"] <= 1
    assert rec.best_value == min(rec.values)  # the incumbent: best stand-alone val MAE of the top K


def test_charge_is_the_cost_model_and_counts_against_the_budget(first, tmp_path):
    path, rec = first
    oracle = open_oracle("syn3-p2", allow_train=True, overlay=path, recipe=SMALL)
    space = oracle.space
    per_epoch = [oracle.charged_seconds(oracle.key(a, 0)) / SMALL.epochs for a in space.enumerate()]
    store = oracle.store
    val_share = len(store.rows("standard", "val")) / len(store.rows("standard", "train"))
    cost = 4 * SMALL.epochs * np.mean(per_epoch) + np.sum(per_epoch) * val_share / 3  # training + selection pass
    (charge,) = rec.settings["charges"]
    assert charge["what"] == "mro supernet" and charge["after_evals"] == 0
    assert math.isclose(charge["seconds"], cost, rel_tol=1e-9)
    first_eval = oracle.charged_seconds(oracle.key(rec.archs[0], 0))
    assert math.isclose(rec.sim_seconds[0], cost + first_eval, rel_tol=1e-9)  # anytime curves include it
    # a budget that the supernet fills: charged, then one evaluation at most, then done
    small = _search("mro", path, budget_seconds=cost + 0.5 * first_eval)
    assert small.settings["charges"][0]["seconds"] == charge["seconds"]
    assert small.archs == rec.archs[:1] and small.stop_reason == "budget_seconds"
    # a budget below the supernet's cost: nothing trained, nothing charged, nothing evaluated
    none = _search("mro", tmp_path / "empty.sqlite", budget_seconds=0.5 * cost)
    assert "charges" not in none.settings and none.archs == [] and "budget" in none.settings["stopped"]


def test_a_repeated_search_is_a_lookup_with_the_same_record(first, monkeypatch):
    path, rec = first

    def no_training(*a, **k):
        raise AssertionError("the supernet was trained again")

    monkeypatch.setattr(search, "train_supernet", no_training)
    again = _search("mro", path, seed=0)
    assert again.settings == rec.settings
    assert (again.archs, again.values, again.sim_seconds) == (rec.archs, rec.values, rec.sim_seconds)
    with pytest.raises(AssertionError, match="trained again"):  # another seed is another supernet
        _search("mro", path, seed=1)


def test_same_seed_same_supernet(store):
    space = PathSpace(store.modalities, 1)
    recipe = Recipe(epochs=2, d=8, batch_size=200)
    s = MROSettings(n_masks=2)
    a = search.train_supernet(store, space, recipe, s, 7, list(space.enumerate()))
    b = search.train_supernet(store, space, recipe, s, 7, list(space.enumerate()))
    c = search.train_supernet(store, space, recipe, s, 8, list(space.enumerate()))
    assert a == b
    assert a["shared_val_mae"] != c["shared_val_mae"]


ABLATION_RECIPE = Recipe(epochs=4, d=8, batch_size=100)


def _ablation(store, settings):
    space = PathSpace(store.modalities, 1)
    return search.train_supernet(store, space, ABLATION_RECIPE, settings, 3, list(space.enumerate()))


def test_full_mro_samples_from_an_mrg_prior(first):
    full = first[1].settings
    # after warm-up the masks follow the prior, which the MRG statistics moved away from uniform
    assert full["warmup_epochs"] == 1 and full["n_sampled"]["guided"] > 0
    assert max(abs(p - 0.5) for p in full["prior_history"][0]) > 0.1
    assert not all(math.isclose(v, 1 / 3, abs_tol=1e-5) for v in full["mrg_coef"].values())  # rank loss moved them


def test_noprior_samples_uniformly_throughout(store):
    nop = _ablation(store, PRESETS["mro-noprior"])
    assert nop["path_freq"]["guided"] is None and nop["n_sampled"]["warmup"] == 4 * 6 * 4
    assert max(abs(f - 32 / 63) for f in nop["path_freq"]["warmup"]) < 0.15  # 32 of the 63 masks hold each path
    assert max(abs(p - 0.5) for p in nop["prior_history"][-1]) > 0  # a prior is learned, just not used


def test_nomrg_prior_starts_uniform_and_only_the_rank_loss_moves_it(store):
    nomrg = _ablation(store, PRESETS["mro-nomrg"])
    assert "mrg_coef" not in nomrg
    assert 0 < max(abs(p - 0.5) for p in nomrg["prior_history"][0]) < 0.05
    frozen = _ablation(store, MROSettings(mrg=False, rank_weight=0.0))
    assert all(p == 0.5 for h in frozen["prior_history"] for p in h)
    assert frozen["rho_prior_shared"] is None  # a constant prior ranks nothing


def test_norank_keeps_the_mrg_weights(store):
    norank = _ablation(store, PRESETS["mro-norank"])
    assert all(math.isclose(v, 1 / 3, abs_tol=1e-5) for v in norank["mrg_coef"].values())
    assert norank["n_sampled"]["guided"] > 0


def test_guided_sampling_follows_the_prior(store):
    space = PathSpace(store.modalities, 1)
    out = search.train_supernet(store, space, Recipe(epochs=6, d=8, batch_size=50), MROSettings(warmup=0.1), 5,
                                list(space.enumerate()))
    # the guided masks' path frequencies track the prior they were drawn from (epoch means),
    # allowing for the rejected all-off mask and sampling noise
    pi = np.mean(out["prior_history"][:-1], axis=0)
    assert np.abs(np.asarray(out["path_freq"]["guided"]) - pi).max() < 0.12
    assert np.ptp(pi) > 0.1


def test_exhaustive_evaluates_in_index_order(tmp_path):
    rec = _search("exhaustive", tmp_path / "o.sqlite", budget_evals=3)
    space = PathSpace(["m1", "m2", "m3"], 1)
    assert rec.archs == [space.encode(space.from_index(i)) for i in range(3)]
    assert "charges" not in rec.settings


# ---- settings and the charge method ----------------------------------------------------------------
def test_algorithms_and_presets():
    assert set(ALGORITHMS) == {"mro", "mro-noprior", "mro-nomrg", "mro-norank", "mro-l0", "mro-l1", "mro-l2",
                               "mro-linf", "mro-literal", "mro-flops", "exhaustive"}
    assert PRESETS["mro"] == PRESETS["mro-l2"] and PRESETS["mro"].rank_loss == "l2"
    assert len({p.digest for p in PRESETS.values()}) == len(PRESETS) - 1  # mro == mro-l2
    with pytest.raises(Exception):
        PRESETS["mro"].n_masks = 2  # frozen


@pytest.mark.parametrize("field,value", [("rank_loss", "l3"), ("n_masks", 0), ("warmup", 1.5), ("pi_min", 0.6),
                                         ("pi_max", 1.0), ("epochs", 0), ("rank_weight", -1.0), ("tau", 0.0),
                                         ("density", 0.0), ("guidance", "yes"), ("top_k", 1.5),
                                         ("rank_reading", "both"), ("pick", "cheapest"), ("max_flops_ratio", 0.0)])
def test_settings_errors_name_the_field(field, value):
    with pytest.raises(MROSettingsError, match=f"MROSettings.{field}"):
        MROSettings(**{field: value})


def test_charge_method(tmp_path):
    oracle = open_oracle("syn3-p2", allow_train=True, overlay=tmp_path / "o.sqlite", recipe=SMALL)
    run = TrainedRun(oracle, algo="x", seed=0, budget_seconds=10.0)
    for bad in (-1.0, math.nan, math.inf):
        with pytest.raises(ValueError, match="seconds"):
            run.charge(bad, "bad")
    run.charge(4.0, "a")
    run.charge(7.0, "b")  # may overrun, as an evaluation may
    assert run.sim_seconds == 11.0 and run.done
    assert run.record.settings["charges"] == [{"what": "a", "seconds": 4.0, "after_evals": 0, "sim_seconds": 4.0},
                                              {"what": "b", "seconds": 7.0, "after_evals": 0, "sim_seconds": 11.0}]
    with pytest.raises(BudgetExhausted):
        run.charge(1.0, "c")
    assert run.finish().stop_reason == "budget_seconds"


def test_literal_rank_loss_trains_the_network_not_the_prior(store):
    lit = _ablation(store, PRESETS["mro-literal"])
    prior = _ablation(store, PRESETS["mro"])
    # reading (A): the hinge enters the network's loss; alpha, beta, gamma never move
    assert lit["literal_rank_loss"] is not None and lit["literal_rank_loss"] >= 0
    assert all(math.isclose(v, 1 / 3, abs_tol=1e-6) for v in lit["mrg_coef"].values())
    assert prior["literal_rank_loss"] is None
    assert lit["shared_val_mae"] != _ablation(store, MROSettings(rank_reading="literal", rank_weight=0.0))["shared_val_mae"]


def test_flops_constrained_pick_stays_under_the_limit(store):
    from bench.families.mro.cost import _mflops

    out = _ablation(store, PRESETS["mro-flops"])
    space = PathSpace(store.modalities, 1)
    assert out["top"] == out["top_within_flops"] and len(out["top"]) == 3
    assert all(_mflops(t, store, ABLATION_RECIPE, space) <= out["flops_limit"] for t in out["top"])
    assert out["flops_limit"] == pytest.approx(0.75 * _mflops("111111", store, ABLATION_RECIPE, space), rel=1e-5)
    assert "111111" not in out["top"]
