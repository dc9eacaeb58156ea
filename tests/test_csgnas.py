"""CSG-NAS, EDF and the tree-fusion search runs (issue 5): each stage on its own, inheritance
of exactly the shared sub-tree weights, cache keys, reproducibility and the paper runners."""

from dataclasses import replace

import numpy as np
import pytest
import torch

import bench
from bench import algorithms
from bench.families.tree_fusion.csgnas import preset as csgnas_preset
from bench.families.tree_fusion.csgnas import CSGNASSettings, all_fused, core_space, csgnas, expand_mutation
from bench.algorithms.fusion_evolution import Inheritance, select, tournament
from bench.compare import run_trained, seed_rng
from bench.trained_run import TrainedRun, best_test
from bench.families.tree_fusion.space import Leaf, TreeFusionSpace, leaves, subtrees
from bench.families.tree_fusion.inherit import inherited_weights, shared_subtrees
from bench.families.tree_fusion.trainer import Recipe, train

SMALL = CSGNASSettings(population=4, generations_core=1, generations_expand=2)


@pytest.fixture
def oracle(tmp_path):
    o = bench.open("tree-fusion", "mfeat", protocol="low-data", max_leaves=6, allow_train=True,
                   overlay=tmp_path / "ov.sqlite")
    o.weights_dir = tmp_path / "weights"
    return o


def test_core_space_keeps_the_top_k_features_and_operators(oracle):
    run = TrainedRun(oracle, algo="csgnas", seed=1)
    m1, f1 = core_space(run, np.random.default_rng(0), 3, 2)
    feats = sorted(oracle.space.features, key=lambda f: -oracle.query(Leaf(f), "val_acc", run.train_seed))
    ops = sorted(oracle.space.ops, key=lambda op: -oracle.query(all_fused(oracle.space.features, op), "val_acc",
                                                                run.train_seed))
    assert set(m1) == set(feats[:3]) and set(f1) == set(ops[:2])
    assert run.n_evals == len(oracle.space.features) + len(oracle.space.ops)  # the ranking is charged to the run


def test_random_core_selection_evaluates_nothing(oracle):
    run = TrainedRun(oracle, seed=0)
    m1, f1 = core_space(run, np.random.default_rng(3), 3, 3, selection="random")
    assert len(m1) == 3 and len(f1) == 3 and run.n_evals == 0


def test_enas2_mutation_only_adds_substructures_from_m2_and_f2():
    space = TreeFusionSpace(["a", "b", "c", "d", "e", "f"], max_leaves=6)
    core = TreeFusionSpace(["a", "b", "c"], ["concat", "add", "max"], max_leaves=3)
    m2, f2 = ["d", "e", "f"], ["mul", "avg"]
    mutate = expand_mutation(space, m2, f2)
    rng = np.random.default_rng(0)
    grown = 0
    for _ in range(200):
        parent = core.sample(rng)
        child = mutate(parent, rng)
        new_leaves = set(leaves(child)) - set(leaves(parent))
        assert set(leaves(parent)) <= set(leaves(child)) and new_leaves <= set(m2)
        ops = lambda t: sorted(s.op for s in subtrees(t) if not isinstance(s, Leaf))  # noqa: E731
        added = list(ops(child))
        for op in ops(parent):
            added.remove(op)
        assert set(added) <= set(f2)
        assert len(leaves(child)) > len(leaves(parent))
        grown += 1
    assert grown == 200


def test_enas2_mutation_leaves_a_full_tree_unchanged():
    space = TreeFusionSpace(["a", "b", "c"], max_leaves=3)
    t = space.decode("add(a,max(b,c))")
    assert expand_mutation(space, ["c"], ["mul"])(t, np.random.default_rng(0)) == t


def test_shared_subtrees_are_maximal():
    s = TreeFusionSpace(["v1", "v2", "v3", "v4"], max_leaves=4)
    parent, child = s.decode("add(concat(v1,v2),v3)"), s.decode("max(concat(v1,v2),mul(v3,v4))")
    assert shared_subtrees(child, parent) == [("r0", "r0"), ("r10", "r1")]
    assert shared_subtrees(s.decode("mul(v1,v4)"), s.decode("add(v2,v3)")) == []


def test_inheritance_copies_exactly_the_shared_subtree_weights(oracle):
    store, s = oracle.store, oracle.space
    parent = s.decode("add(concat(fac,kar),pix)")
    child = s.decode("max(concat(fac,kar),mul(pix,zer))")
    p_state = train(parent, store, 0, replace(Recipe(), epochs=2), return_state=True).state
    init = inherited_weights(child, parent, p_state, scope="subtrees")  # the shared sub-trees only
    assert set(init) == {f"{layer}.{p}" for layer in ("concat.r0", "leaf.r00", "leaf.r01", "leaf.r10")
                         for p in ("weight", "bias")}
    frozen = replace(Recipe(), epochs=1, lr=0.0, weight_decay=0.0)  # lr 0: the trained state is the start state
    got = train(child, store, 7, frozen, init=init, return_state=True).state
    fresh = train(child, store, 7, frozen, return_state=True).state
    for k, v in got.items():
        expected = init[k] if k in init else fresh[k]
        assert torch.equal(v, expected), k
    assert not torch.equal(got["head.weight"], p_state["head.weight"][: got["head.weight"].shape[0]])


def test_inherited_results_have_their_own_key_and_are_cached(oracle):
    parent_key = oracle.key("add(fac,kar)", 0)
    oracle.result("add(fac,kar)", 0)
    key, rec = oracle.inherited_result("max(add(fac,kar),zer)", 0, parent_key)
    assert key != oracle.key("max(add(fac,kar),zer)", 0) and "+from:" in key and rec["parent"] == parent_key
    assert oracle.inherited_key("max(add(fac,kar),zer)", 1, parent_key) != key
    trained = oracle.n_trained
    again = bench.open("tree-fusion", "mfeat", protocol="low-data", max_leaves=6, overlay=oracle.overlay.path)
    assert again.inherited_result("max(add(fac,kar),zer)", 0, parent_key)[1] == rec
    assert again.n_trained == 0 and oracle.n_trained == trained


def test_inheritance_policies():
    rng = np.random.default_rng(0)
    assert Inheritance("above").applies(0.6, rng) and not Inheritance("above").applies(0.5, rng)
    assert Inheritance("below").applies(0.5, rng) and not Inheritance("below").applies(0.7, rng)
    assert Inheritance("all").applies(0.0, rng) and not Inheritance("none").applies(1.0, rng)
    draws = [Inheritance("random").applies(0.9, rng) for _ in range(400)]
    assert 150 < sum(draws) < 250
    with pytest.raises(ValueError, match="unknown inheritance policy 'sometimes'"):
        Inheritance("sometimes")


def test_tournament_and_elitist_selection():
    rng = np.random.default_rng(0)
    pop = [("a", 1.0), ("b", 5.0)]
    assert all(tournament(pop, rng) == ("b", 5.0) for _ in range(20))
    pool = [(str(i), float(i)) for i in range(10)]
    out = select(pool, 4, rng)
    assert out[0] == ("9", 9.0) and len({a for a, _ in out}) == 4


@pytest.mark.parametrize("algo", ["rs", "rea", "edf", "csgnas", "csgnas-nocs", "csgnas-noki", "csgnas-ki-all"])
def test_same_seed_same_run(oracle, algo):
    settings = SMALL if algo.startswith("csgnas") else None
    if algo.startswith("csgnas"):
        settings = replace(csgnas_preset(algo), population=4, generations_core=1, generations_expand=2)
    a = run_trained(oracle, algo, 3, budget_evals=25 if algo in ("rs", "rea") else None, settings=settings)
    b = run_trained(oracle, algo, 3, budget_evals=25 if algo in ("rs", "rea") else None, settings=settings)
    assert (a.archs, a.values, a.test_values, a.sim_seconds, a.parents) == (b.archs, b.values, b.test_values,
                                                                             b.sim_seconds, b.parents)
    assert len(a.archs) == len(set(a.archs)) > 0
    assert best_test(a) == a.test_values[a.best_index]


def test_csgnas_inherits_only_above_the_threshold(oracle):
    rec = run_trained(oracle, "csgnas", 0, settings=SMALL)
    space = oracle.space
    inherited = [(a, p) for a, p in zip(rec.archs, rec.parents) if p]
    assert inherited, "a CSG-NAS run with these settings inherits at least once"
    assert all(space.similarity(a, p) > 0.5 for a, p in inherited)
    assert rec.settings["core_features"] and rec.settings["core_structures"]


def test_budget_in_training_seconds_is_respected(oracle):
    rec = run_trained(oracle, "edf", 0, budget_seconds=1.0, settings=algorithms.until_budget("edf", "tree-fusion"))
    assert rec.stop_reason == "budget_seconds"
    assert rec.sim_seconds[-2] < 1.0 <= rec.sim_seconds[-1]  # only the last evaluation crosses it


def test_inherit_from_an_unseen_parent_is_an_error(oracle):
    run = TrainedRun(oracle, seed=0)
    with pytest.raises(ValueError, match="has not been evaluated in this run"):
        run.evaluate("add(fac,kar)", inherit_from="fac")


def test_tree_algorithms_have_named_errors():
    from bench.errors import UnknownAlgorithmError

    with pytest.raises(UnknownAlgorithmError):
        algorithms.get("csgnas")  # a tree-fusion algorithm, not for NB201
    with pytest.raises(UnknownAlgorithmError):
        algorithms.get("edfx", "tree-fusion")


def test_paper_runner_is_served_from_its_cache_the_second_time(tmp_path, monkeypatch):
    from bench.families.tree_fusion import paper as R
    from bench.repro.spec import load_spec

    monkeypatch.setenv("MMNAS_PAPER_REPRO", str(tmp_path))
    spec_path = tmp_path / "csgnas-tiny.toml"
    spec_path.write_text('''id = "csgnas-tiny"
paper = "000_62c610aae6b2430e.txt"
table = "Table 6"
title = "tiny"
columns = ["Time", "Acc"]
runner = "csgnas_table"
[params]
protocol = "low-data"
population = 4
generations = 2
[params.datasets]
"*" = "aloi"
[[rows]]
name = "EDF"
key = "edf"
status = "proxy"
[[rows]]
name = "CSG-NAS"
key = "csgnas"
status = "proxy"
''')
    spec = load_spec(spec_path)
    R._RUNS.clear(), R._ORACLES.clear()
    first = R.csgnas_table(spec, 2, progress=False)
    trained = sum(o.answered_from["trained"] for o in R._ORACLES.values())
    R._RUNS.clear(), R._ORACLES.clear()
    second = R.csgnas_table(spec, 2, progress=False)
    assert trained > 0 and sum(o.answered_from["trained"] for o in R._ORACLES.values()) == 0
    assert [(c.mean, c.std) for c in first.cells["CSG-NAS"]] == [(c.mean, c.std) for c in second.cells["CSG-NAS"]]
    assert (tmp_path / "cache" / "tree-fusion.sqlite").exists()
    R._RUNS.clear(), R._ORACLES.clear()


def test_cli_compare_tree_fusion(tmp_path, monkeypatch, capsys):
    from bench.cli import main

    out = tmp_path / "cmp"
    rc = main(["compare", "--bench", "tree-fusion", "--dataset", "aloi", "--protocol", "low-data", "--algo", "csgnas",
               "--algo", "rs", "--seeds", "2", "--budget-seconds", "0.5", "--out", str(out), "--no-progress"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "rs vs csgnas: inconclusive at 2 seeds" in text and (out / "anytime.png").exists() and (out / "runs.csv").exists()
