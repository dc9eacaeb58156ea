import numpy as np
import pytest

from bench.errors import InvalidArchitectureError
from bench.families.tree_fusion.space import FUSION_OPS, TreeFusionSpace, leaves, subtrees

FEATS = ["fac", "fou", "kar", "mor", "pix", "zer"]


def test_commutative_variants_share_one_key():
    s = TreeFusionSpace(FEATS, max_leaves=4)
    a = s.encode("add(concat(pix,fac),mor)")
    assert a == s.encode("add(mor,concat(fac,pix))") == s.encode("add(mor, concat(pix, fac))")
    assert a != s.encode("add(concat(pix,mor),fac)")


@pytest.mark.parametrize("n_feats, n_ops, max_leaves", [(3, 5, 3), (4, 5, 4), (6, 2, 3), (5, 3, 2)])
def test_enumerate_matches_the_closed_form(n_feats, n_ops, max_leaves):
    s = TreeFusionSpace(FEATS[:n_feats], FUSION_OPS[:n_ops], max_leaves)
    members = [s.encode(t) for t in s.enumerate()]
    assert len(members) == len(set(members)) == s.count() == s.size
    for k in range(1, max_leaves + 1):
        assert sum(1 for m in members if len(leaves(s.decode(m))) == k) == s.count(k)


def test_repeatable_enumeration_is_distinct_and_valid():
    s = TreeFusionSpace(FEATS[:3], max_leaves=3, repeatable=True)
    members = [s.encode(t) for t in s.enumerate()]
    assert len(members) == len(set(members)) == 483
    assert "add(fac,fac)" in members and s.size is None
    with pytest.raises(NotImplementedError):
        s.count()


@pytest.mark.parametrize("repeatable", [False, True])
def test_mutate_and_crossover_always_give_valid_different_members(repeatable):
    s = TreeFusionSpace(FEATS, max_leaves=4, repeatable=repeatable)
    rng = np.random.default_rng(0)
    t = s.sample(rng)
    for _ in range(500):
        child = s.mutate(t, rng)
        s.check(child)
        assert s.encode(child) != s.encode(t)
        mate = s.sample(rng)
        x = s.crossover(t, mate, rng)
        s.check(x)
        assert s.decode(s.encode(x)) == x  # canonical
        t = child


def test_add_substructure_only_grows_from_the_given_sets():
    s = TreeFusionSpace(FEATS, max_leaves=5)
    rng = np.random.default_rng(1)
    core = s.decode("mul(fac,pix)")
    for _ in range(200):
        grown = s.add_substructure(core, rng, features=["kar", "zer"], ops=["max", "avg"])
        new_leaves = set(leaves(grown)) - {"fac", "pix"}
        assert new_leaves and new_leaves <= {"kar", "zer"}
        assert len(leaves(grown)) > 2
        ops = [t.op for t in subtrees(grown) if hasattr(t, "op")]
        assert ops.count("mul") == 1 and set(ops) - {"mul"} <= {"max", "avg"}
        assert {"fac", "pix"} <= set(leaves(grown))  # the core's features and operator stay
    with pytest.raises(InvalidArchitectureError, match="maximum"):
        TreeFusionSpace(FEATS, max_leaves=2).add_substructure("mul(fac,pix)", rng)


def test_sampling_is_seeded_and_covers_sizes():
    s = TreeFusionSpace(FEATS, max_leaves=3)
    a = [s.encode(s.sample(np.random.default_rng(5))) for _ in range(2)]
    assert a[0] == a[1]
    rng = np.random.default_rng(0)
    sizes = {len(leaves(s.sample(rng))) for _ in range(100)}
    assert sizes == {1, 2, 3}


@pytest.mark.parametrize("bad, fragment", [
    ("add(fac,xyz)", "unknown feature 'xyz'"),
    ("sub(fac,pix)", "unknown fusion operator 'sub'"),
    ("add(fac,pix", "missing ')'"),
    ("add(fac)", "needs two operands"),
    ("add(fac,pix))", "unexpected text"),
    ("add(fac,fac)", "repeats feature"),
    ("add(add(fac,pix),add(kar,mor))", "at most 3"),
    ("(fac,pix)", "expected a name"),
])
def test_bad_trees_are_named(bad, fragment):
    with pytest.raises(InvalidArchitectureError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        TreeFusionSpace(FEATS, max_leaves=3).decode(bad)


def test_space_options_are_checked():
    with pytest.raises(InvalidArchitectureError, match="unknown fusion operator"):
        TreeFusionSpace(FEATS, ops=["add", "gate"])
    with pytest.raises(InvalidArchitectureError, match="max_leaves"):
        TreeFusionSpace(FEATS[:2], max_leaves=3)


def test_edit_distance_similarity_and_graph():
    s = TreeFusionSpace(FEATS, max_leaves=4)
    assert s.edit_distance("add(fac,pix)", "add(pix,fac)") == 0
    assert s.edit_distance("add(fac,pix)", "mul(fac,pix)") == 1
    # Zhang-Shasha is an ordered distance: the canonical order puts add(kar,pix) before fac,
    # so inserting the subtree also costs a reordering edit (2 in unordered terms, 3 here)
    assert s.edit_distance("add(fac,pix)", "add(fac,add(pix,kar))") == 3
    assert s.edit_distance("add(fac,pix)", "add(add(fac,kar),pix)") == 2
    assert s.similarity("add(fac,pix)", "add(fac,pix)") == 1.0
    assert 0.0 <= s.similarity("fac", "add(add(pix,kar),mor)") < 0.5
    g = s.to_graph("add(concat(fac,pix),mor)")
    assert g.number_of_nodes() == 5 and g.number_of_edges() == 4
    assert sorted(d["label"] for _, d in g.nodes(data=True)) == ["add", "concat", "fac", "mor", "pix"]
