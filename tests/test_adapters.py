"""Optimizer adapters: the spaces' parameter descriptions (every member reachable, every
assignment a member) and real Optuna / ConfigSpace runs on NB201 and tree-fusion."""

import re
import sys

import numpy as np
import pytest

import bench
from bench.adapters import MissingExtraError, configspace, from_configuration, optuna_direction, optuna_objective
from bench.errors import InvalidArchitectureError
from bench.families.cells.nb201 import NB201Space
from bench.families.cells.transnas import RestrictedSpace
from bench.families.cells.transnas import TransNASMicroSpace
from bench.families.tree_fusion.space import TreeFusionSpace


def _assignments(space):
    """Every assignment of the active parameters (for small spaces)."""
    out = [{}]
    for p in space.parameters():
        out = [dict(v, **{p.name: c}) for v in out for c in (p.choices if p.active(v) else [None])]
    return [{k: c for k, c in v.items() if c is not None} for v in out]


def _random_assignment(space, rng):
    v = {}
    for p in space.parameters():
        if p.active(v):
            v[p.name] = p.choices[int(rng.integers(len(p.choices)))]
    return v


SMALL_TREES = [
    TreeFusionSpace(["a", "b", "c"], max_leaves=3),
    TreeFusionSpace(["a", "b", "c", "d"], ops=["add", "concat"], max_leaves=4),
    TreeFusionSpace(["a", "b"], ops=["mul", "max"], max_leaves=3, repeatable=True),
    TreeFusionSpace(["a", "b", "c"], max_leaves=1),
]


@pytest.mark.parametrize("space", [NB201Space(), TransNASMicroSpace(), *SMALL_TREES,
                                   TreeFusionSpace([f"f{i}" for i in range(6)], max_leaves=6)],
                         ids=lambda s: s.space_id)
def test_parameters_are_well_formed(space):
    params = space.parameters()
    names = [p.name for p in params]
    assert len(set(names)) == len(names)
    for i, p in enumerate(params):
        assert p.choices and all(isinstance(c, str) for c in p.choices) and len(set(p.choices)) == len(p.choices)
        if p.condition is not None:  # the parent comes first (Optuna asks in list order) and has those values
            parent = params[names.index(p.condition[0])]
            assert names.index(parent.name) < i and set(p.condition[1]) <= set(parent.choices)


@pytest.mark.parametrize("space", [NB201Space(), TransNASMicroSpace()], ids=lambda s: s.space_id)
def test_every_cell_round_trips(space):
    for cell in space.enumerate():
        values = space.to_parameters(cell)
        assert [p.name for p in space.parameters()] == list(values)
        assert space.encode(space.from_parameters(values)) == space.encode(cell)


def test_restricted_space_maps_a_cell_outside_the_sample_to_the_first_nearest_member():
    o = bench.open("transnas101-micro", "class_object")
    space = o.space
    assert isinstance(space, RestrictedSpace)
    members = np.array([space.base.op_indices(m) for m in space.members])
    outside = 0
    for cell in space.base.enumerate():
        got = space.from_parameters(space.base.to_parameters(cell))
        dist = (members != np.array(space.base.op_indices(cell))).sum(axis=1)
        assert space.index(got) == int(np.flatnonzero(dist == dist.min())[0])
        outside += dist.min() > 0
    assert outside == space.base.size - space.size > 0
    for m in space.members:
        assert space.encode(space.from_parameters(space.to_parameters(m))) == m
    with pytest.raises(InvalidArchitectureError, match="not in this"):
        space.to_parameters(next(c for c in space.base.enumerate() if space.base.encode(c) not in space.members))


@pytest.mark.parametrize("space", SMALL_TREES, ids=lambda s: s.space_id)
def test_every_tree_is_reachable_and_every_assignment_is_a_member(space):
    members = [space.encode(t) for t in space.enumerate()]
    for text in members:
        values = space.to_parameters(text)
        assert space.encode(space.from_parameters(values)) == text
    decoded = set()
    for values in _assignments(space):
        tree = space.from_parameters(values)
        space.check(tree)
        decoded.add(space.encode(tree))
    assert decoded == set(members)


def test_random_assignments_of_a_large_tree_space_are_members():
    space = TreeFusionSpace([f"f{i}" for i in range(6)], max_leaves=6)
    rng = np.random.default_rng(0)
    sizes = set()
    for _ in range(2000):
        tree = space.from_parameters(_random_assignment(space, rng))
        space.check(tree)
        sizes.add(len(space.to_parameters(tree)))
    assert len(sizes) == 6  # every tree size was drawn


def test_duplicate_leaves_take_the_next_unused_feature():
    space = TreeFusionSpace(["a", "b", "c", "d"], max_leaves=3)
    v = {"n_leaves": "3", "leaf_0": "d", "leaf_1": "d", "leaf_2": "a", "join_3": "0+1", "op_3": "add", "op_2": "max"}
    # leaf_1 = d repeats: next after d cyclically is a, taken by no earlier leaf; leaf_2 = a then repeats: b
    assert space.encode(space.from_parameters(v)) == "max(add(a,d),b)"


def test_bad_assignments_are_named_errors_and_inactive_values_ignored():
    space = TreeFusionSpace(["a", "b", "c"], max_leaves=3)
    base = {"n_leaves": "2", "leaf_0": "a", "leaf_1": "b", "op_2": "add"}
    assert space.encode(space.from_parameters({**base, "leaf_2": "c", "join_3": "0+2"})) == "add(a,b)"
    with pytest.raises(InvalidArchitectureError, match="'op_2' is active but has no value"):
        space.from_parameters({k: v for k, v in base.items() if k != "op_2"})
    with pytest.raises(InvalidArchitectureError, match="'leaf_1' cannot be 'z'"):
        space.from_parameters({**base, "leaf_1": "z"})
    with pytest.raises(InvalidArchitectureError, match="unknown parameter"):
        space.from_parameters({**base, "depth": "2"})
    with pytest.raises(InvalidArchitectureError, match="cannot be 'conv'"):
        NB201Space().from_parameters(dict(NB201Space().to_parameters(0), edge_0_1="conv"))


def test_a_missing_extra_is_a_named_error(monkeypatch):
    o = bench.open("nb201", "cifar10")
    monkeypatch.setitem(sys.modules, "optuna", None)  # makes `import optuna` fail
    monkeypatch.setitem(sys.modules, "ConfigSpace", None)
    with pytest.raises(MissingExtraError, match=re.escape("pip install 'mmnas-bench[optuna]'")):
        optuna_objective(o)
    with pytest.raises(MissingExtraError, match=re.escape("pip install 'mmnas-bench[configspace]'")):
        configspace(o.space)


# ---- the real libraries ------------------------------------------------------------
@pytest.fixture
def fusion(tmp_path):
    # mfeat's shipped table holds every tree of <= 3 leaves over its 6 views, 3 seeds, and its
    # quality gate says it discriminates: no query trains (allow_train is off, so a miss would fail)
    o = bench.open("tree-fusion", "mfeat", overlay=tmp_path / "o.sqlite")
    assert o.space.max_leaves == 3 and not o.allow_train
    return o


def _study(oracle, metric, n_trials=20, **options):
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction=optuna_direction(oracle, metric), sampler=optuna.samplers.TPESampler(seed=0))
    study.optimize(optuna_objective(oracle, metric, **options), n_trials=n_trials)
    return study


def _check_study(oracle, metric, study, **options):
    space = oracle.space
    for t in study.trials:  # each value is the oracle's for the arch its parameters decode to
        arch = space.encode(space.from_parameters(t.params))
        assert t.user_attrs["arch"] == arch
        assert t.value == oracle.query(arch, metric, **options)
    best = study.best_trial.user_attrs["arch"]
    assert space.encode(space.decode(best)) == best
    assert study.best_value == oracle.query(best, metric, **options)
    values = [t.value for t in study.trials]
    assert study.best_value == (max(values) if study.direction.name == "MAXIMIZE" else min(values))
    assert len({t.user_attrs["arch"] for t in study.trials}) > 5  # it searched, not one arch over and over


def _same_trials(a, b):
    return [(t.params, t.value) for t in a.trials] == [(t.params, t.value) for t in b.trials]


def test_optuna_tpe_on_nb201():
    o = bench.open("nb201", "cifar10")
    assert optuna_direction(o, "val_acc") == "maximize" and optuna_direction(o, "params") == "minimize"
    study = _study(o, None)  # None: o.search_metric(), val_acc on CIFAR-10
    _check_study(o, "val_acc", study)
    assert _same_trials(study, _study(o, None))
    latency = _study(o, "edgegpu_latency", n_trials=10)
    _check_study(o, "edgegpu_latency", latency)


def test_optuna_tpe_on_tree_fusion(fusion):
    study = _study(fusion, "val_acc", seed=1)
    _check_study(fusion, "val_acc", study, seed=1)
    assert _same_trials(study, _study(fusion, "val_acc", seed=1))
    assert {t.params["n_leaves"] for t in study.trials} == {"1", "2", "3"}
    assert fusion.answered_from["trained"] == 0


def _sampled(oracle, metric, seed, n=20, **options):
    pytest.importorskip("ConfigSpace")
    space = oracle.space
    cs = configspace(space, seed=seed)
    configs = cs.sample_configuration(n)
    archs = [space.encode(from_configuration(space, c)) for c in configs]
    return configs, archs, [oracle.query(a, metric, **options) for a in archs]


@pytest.mark.parametrize("bench_name", ["nb201", "tree-fusion"])
def test_configspace_sampling_decodes_to_members(bench_name, request):
    Configuration = pytest.importorskip("ConfigSpace").Configuration

    oracle = bench.open("nb201", "cifar10") if bench_name == "nb201" else request.getfixturevalue("fusion")
    space = oracle.space
    configs, archs, values = _sampled(oracle, "val_acc", seed=3)
    assert (archs, values) == _sampled(oracle, "val_acc", seed=3)[1:]
    assert archs != _sampled(oracle, "val_acc", seed=4)[1]
    assert len(set(archs)) > 10
    cs = configspace(space)
    for c, a in zip(configs, archs):
        assert space.encode(space.decode(a)) == a
        back = Configuration(cs, values=space.to_parameters(a))  # valid, conditions respected
        back.check_valid_configuration()
        assert space.encode(from_configuration(space, back)) == a
    best = archs[int(np.argmax(values))]
    assert max(values) == oracle.query(best, "val_acc")


def test_readme_optimizer_examples_run_as_shown(repo_root, tmp_path, monkeypatch):
    pytest.importorskip("optuna")
    pytest.importorskip("ConfigSpace")
    from bench.paths import data_cache_dir

    # the example's tree-fusion overlay lands in tmp_path, beside the shipped feature stores
    (tmp_path / "features").symlink_to(data_cache_dir() / "features")
    monkeypatch.setenv("MMNAS_DATA_CACHE", str(tmp_path))
    text = (repo_root / "README.md").read_text()
    section = text[text.index("### Use your favourite optimizer"):]
    section = section[:section.index("\n## ")]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 2
    ns: dict = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), ns)
    o, study, f, fstudy = ns["o"], ns["study"], ns["f"], ns["fstudy"]
    assert study.best_value == o.query(study.best_trial.user_attrs["arch"], "val_acc")
    assert fstudy.best_value == f.query(fstudy.best_trial.user_attrs["arch"], "val_acc", seed=0)
    assert f.answered_from["trained"] == 0
    assert ns["best"] == max((from_configuration(o.space, c) for c in ns["configs"]),
                             key=lambda a: o.query(a, "val_acc"))


@pytest.mark.parametrize("space", [*SMALL_TREES, TransNASMicroSpace()], ids=lambda s: s.space_id)
def test_configspace_of_small_spaces_samples_every_size_and_decodes(space):
    pytest.importorskip("ConfigSpace")
    cs = configspace(space, seed=0)
    assert len(list(cs.values())) == len(space.parameters())
    configs = cs.sample_configuration(200)
    archs = {space.encode(from_configuration(space, c)) for c in configs}
    assert len(archs) > min(20, len(list(space.enumerate())) // 2)
    if isinstance(space, TreeFusionSpace):  # conditions leave exactly the active parameters
        assert {c["n_leaves"] for c in configs} == set(space.parameters()[0].choices)
        for c in configs:
            assert set(dict(c)) == set(space.to_parameters(from_configuration(space, c)))


def test_default_metric_is_what_a_search_optimises():
    class Trained:  # an oracle naming its search metric by attribute, like the trained families
        default_metric, fitness_metric = "test_acc", "val_acc"
        space = NB201Space()

        def query(self, arch, metric, **kw):
            return {"val_acc": 1.0, "test_acc": 2.0}[metric]

        def metric_info(self, metric):
            return type("Info", (), {"direction": "max"})()

    pytest.importorskip("optuna")
    assert optuna_direction(Trained()) == "maximize"
    trial = pytest.importorskip("optuna").trial.FixedTrial(NB201Space().to_parameters(0))
    assert optuna_objective(Trained())(trial) == 1.0
