"""The HF-MNAS family: space, operations, network, inconsistency protocol, trainer and oracle."""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import replace

import numpy as np
import pytest
import torch

from bench.errors import InvalidArchitectureError, MissingValueError, UnknownDatasetError
from bench.families.hfmnas import data as hfdata
from bench.families.hfmnas.model import HFNet
from bench.families.hfmnas.ops import dcca_correlation, edge_op, fusion_op
from bench.families.hfmnas.space import (CM, EDGE_OPS, FUSION_OPS, IMM, PAIRS, SYMMETRIC, Cell, HFArch, HFSpace,
                                         Node, core_arch)

DIMS = {"tl": 12, "th": 6, "il": 10, "ih": 5}


def test_core_slice_is_the_designed_union_of_slices():
    s = HFSpace()
    assert s.size == 81 * 4 + (36 - 1) * 4 + 1 == 465
    members = list(s.enumerate())
    assert len(set(members)) == 465 and all(s.index(a) == i for i, a in enumerate(members))
    assert all(s.decode(s.encode(a)) == a for a in members)
    assert s.encode(core_arch()) == ("L(tl,il):n1=mhatt(skip@0,skip@1);keep=n1|H(th,ih):n1=mhatt(skip@0,skip@1);"
                                     "keep=n1|s=1|imm=dcca+mha|cm=mlp")
    with pytest.raises(InvalidArchitectureError, match="core slice"):
        s.index(core_arch("sum", "sum", ("tl", "th"), ("il", "ih")))  # other inputs only with MHAtt cells


def test_symmetric_operands_are_sorted_and_asymmetric_ones_kept_in_order():
    s = HFSpace(core=False)
    swapped = "L(il,tl):n1=sum(skip@1,linrelu@0);keep=n1|H(th,ih):n1=se(skip@1,skip@0);keep=n1|s=1|imm=none|cm=mlp"
    a = s.decode(swapped)
    # written (il, tl): @0 is il, so in canonical (tl, il) order linrelu acts on il (@1), skip on tl (@0)
    assert a.low.inputs == ("tl", "il") and a.low.nodes[0].edges == (("linrelu", 1), ("skip", 0))
    b = s.decode("L(il,tl):n1=sdatt(skip@0,linrelu@1);keep=n1|H(th,ih):n1=sum(skip@0,skip@1);keep=n1|s=1|imm=none|cm=mlp")
    assert b.low.nodes[0].edges == (("skip", 1), ("linrelu", 0))  # queries still come from il
    assert s.decode(s.encode(b)) == b
    assert a.high.nodes[0].edges == (("skip", 1), ("skip", 0))  # squeeze-excitation: x1 gates x2
    assert set(SYMMETRIC) < set(FUSION_OPS)


@pytest.mark.parametrize("bad, what", [
    ("L(tl,tl):n1=sum(skip@0,skip@1);keep=n1|H(th,ih):n1=sum(skip@0,skip@1);keep=n1|s=1|imm=none|cm=mlp", "two different"),
    ("L(tl,il):n1=sum(skip@0,skip@0);keep=n1|H(th,ih):n1=sum(skip@0,skip@1);keep=n1|s=1|imm=none|cm=mlp", "one source"),
    ("L(tl,il):n1=sum(skip@0,skip@n1);keep=n1|H(th,ih):n1=sum(skip@0,skip@1);keep=n1|s=1|imm=none|cm=mlp", "earlier"),
    ("L(tl,il):n1=conv(skip@0,skip@1);keep=n1|H(th,ih):n1=sum(skip@0,skip@1);keep=n1|s=1|imm=none|cm=mlp", "fusion op"),
    ("L(tl,il):n1=sum(conv@0,skip@1);keep=n1|H(th,ih):n1=sum(skip@0,skip@1);keep=n1|s=1|imm=none|cm=mlp", "edge op"),
    ("L(tl,il):n1=sum(skip@0,skip@1);keep=n2|H(th,ih):n1=sum(skip@0,skip@1);keep=n1|s=1|imm=none|cm=mlp", "keep"),
    ("L(tl,il):n1=sum(skip@0,skip@1);keep=n1|H(th,ih):n1=sum(skip@0,skip@1);keep=n1|s=3|imm=none|cm=mlp", "s=3"),
    ("L(tl,il):n1=sum(skip@0,skip@1);keep=n1|H(th,ih):n1=sum(skip@0,skip@1);keep=n1|s=1|imm=cca|cm=mlp", "imm"),
    ("L(tl,il):n1=sum(skip@0,skip@1);keep=n1|s=1|imm=none|cm=mlp", "expected"),
])
def test_bad_strings_are_named_errors(bad, what):
    with pytest.raises(InvalidArchitectureError, match=what):
        HFSpace(core=False).decode(bad)


def test_nodes_with_several_ops_or_other_edge_counts_are_canonical():
    """Figs. 11-12's derivations: ops summed (any order), operands summing edges (any order), and
    the two operands swapped only when every op is symmetric."""
    s = HFSpace(core=False)
    high = "H(th,ih):n1=sum(skip@0,skip@1);keep=n1|s=1|imm=none|cm=mlp"

    def low(arch):
        return s.encode(arch).split("|")[0]

    a = s.decode(f"L(tl,il):n1=mul+sum(skip@1,skip@0);n2=mhatt(sepconv@1,skip@0+linrelu@n1);keep=n1,n2|{high}")
    assert low(a) == "L(tl,il):n1=sum+mul(skip@0,skip@1);n2=mhatt(linrelu@n1+skip@0,sepconv@1);keep=n1,n2"
    assert a.low.nodes[0].ops == ("sum", "mul") and a.low.nodes[1].operands == ((("linrelu", 2), ("skip", 0)),
                                                                                (("sepconv", 1),))
    b = s.decode(f"L(tl,il):n1=se+sum(skip@1,skip@0);n2=glu(skip@n1+linrelu@0);keep=n2|{high}")
    assert low(b) == "L(tl,il):n1=sum+se(skip@1,skip@0);n2=glu(linrelu@0+skip@n1);keep=n2"  # se: order kept
    assert b.low.nodes[1].operands[0] == b.low.nodes[1].operands[1]  # one group fuses with itself
    one = s.decode(f"L(il,tl):n1=sum(linrelu@0);keep=n1|{high}")
    assert low(one) == "L(tl,il):n1=sum(linrelu@1);keep=n1"  # the pair is sorted, the source follows il
    for arch in (a, b, one):
        assert s.decode(s.encode(arch)) == arch
    paper = "L(tl,il):n1=se(skip@1,skip@0);keep=n1"  # the paper's nodes keep their strings
    assert low(s.decode(f"{paper}|{high}")) == paper


@pytest.mark.parametrize("bad, what", [
    ("n1=sum+sum(skip@0,skip@1)", "repeat"),
    ("n1=sum(skip@0,skip@1);n2=sum(skip@0+linrelu@0,skip@1)", "one source"),
    ("n1=sum(skip@0,skip@1);n2=sum(skip@0+skip@1,skip@n2)", "earlier"),
    ("n1=sum(skip@0+skip@1,linrelu@0)", "1..2 incoming edges"),
    ("n1=sum(skip@0,skip@1,skip@n1)", "expected n1="),
    ("n1=sum+conv(skip@0,skip@1)", "fusion op"),
    ("n1=sum(skip@0,skip@n0)", "src @0, @1 or @n<k>"),
])
def test_bad_multi_op_and_multi_edge_nodes_are_named_errors(bad, what):
    with pytest.raises(InvalidArchitectureError, match=what):
        HFSpace(core=False).decode(f"L(tl,il):{bad};keep=n1|H(th,ih):n1=sum(skip@0,skip@1);keep=n1|s=1|imm=none|cm=mlp")


@pytest.mark.parametrize("node, what", [
    (Node("sum", (("skip", 0), ("skip", 1)), split=3), "split 3"),
    (Node("sum", (("skip", 0), ("skip", 1)), "mul"), "more_ops must be a tuple"),
    (Node("sum", (("skip", 0), ("skip", 1)), split=1.0), "split an int"),
])
def test_bad_node_objects_are_named_errors(node, what):
    with pytest.raises(InvalidArchitectureError, match=what):
        HFSpace(core=False).check(HFArch(Cell(("tl", "il"), (node,), (1,)), core_arch().high, 1, "none", "mlp"))


def test_mutating_nodes_with_several_ops_or_edges_changes_one_field_and_stays_valid():
    s = HFSpace(core=False)
    a = s.decode("L(tl,il):n1=sum+mhatt+mul(skip@0);n2=se+glu(linrelu@n1+skip@0,maxpool@1);keep=n1,n2|"
                 "H(th,ih):n1=biatt+sdatt(skip@0,skip@1);keep=n1|s=1|imm=dcca|cm=mlp")
    rng = np.random.default_rng(0)
    for _ in range(300):
        b = s.mutate(a, rng)
        assert s.decode(s.encode(b)) == b
        changed = [(x, y) for x, y in zip(a.low.nodes + a.high.nodes, b.low.nodes + b.high.nodes) if x != y]
        assert len(changed) <= 1
        for x, y in changed:  # an op swapped for one the node lacks: the count never shrinks
            assert len(y.ops) == len(x.ops) and len(set(y.ops) - set(x.ops)) <= 1


def test_a_node_sums_its_fusion_ops_over_operands_that_sum_their_edges():
    from bench.families.hfmnas.model import CellNet

    cell = HFSpace(core=False).decode("L(tl,il):n1=sum+mul(skip@0+skip@1);keep=n1|"
                                      "H(th,ih):n1=sum(skip@0,skip@1);keep=n1|s=1|imm=none|cm=mlp").low
    net = CellNet(cell, 4, 2, 0.0)
    with torch.no_grad():
        net.mix.weight.copy_(torch.eye(4))
        net.mix.bias.zero_()
    x0, x1 = torch.randn(3, 2, 4), torch.randn(3, 2, 4)
    a = x0 + x1  # one operand group: the node fuses it with itself
    assert torch.allclose(net(x0, x1), (a + a) + a * a)
    cell2 = replace(cell, nodes=(Node("mul", (("skip", 0), ("skip", 1)), ("sum",)),))  # ops (sum, mul) once checked
    net2 = CellNet(HFSpace(core=False).check(replace(core_arch(), low=cell2)).low, 4, 2, 0.0)
    with torch.no_grad():
        net2.mix.weight.copy_(torch.eye(4))
        net2.mix.bias.zero_()
    assert torch.allclose(net2(x0, x1), (x0 + x1) + x0 * x1)


def test_one_node_cell_count_matches_the_formula():
    """Every raw one-node cell over one input pair, canonicalised: the distinct ones are cell_size(1, 1)."""
    s = HFSpace(core=False)
    seen = set()
    for op, e1, e2, (a, b) in itertools.product(FUSION_OPS, EDGE_OPS, EDGE_OPS, [(0, 1), (1, 0)]):
        cell = Cell(("tl", "il"), (Node(op, ((e1, a), (e2, b))),), (1,))
        seen.add(s.check(HFArch(cell, cell, 1, "none", "mlp")).low)
    assert len(seen) == HFSpace.cell_size(1, 1) == 1200
    assert s.size == (HFSpace.cell_size(4, 3) * len(PAIRS)) ** 2 * 2 * len(IMM) * len(CM)
    assert HFSpace.cell_size(4, 3) == math.comb(4, 3) * math.prod(math.comb(j + 1, 2) * 100 * 12 for j in range(1, 5))


def test_search_operators_stay_in_their_space_and_are_seeded():
    for core in (True, False):
        s = HFSpace(core=core)
        draw = [s.encode(s.sample(np.random.default_rng(3))) for _ in range(2)]
        assert draw[0] == draw[1]
        rng = np.random.default_rng(0)
        for _ in range(60):
            a = s.sample(rng)
            m = s.mutate(a, rng)
            c = s.crossover(a, m, rng)
            assert m != a and s.decode(s.encode(m)) == m and s.decode(s.encode(c)) == c
            if core:
                s.index(m), s.index(c)
    full = HFSpace(core=False).sample(np.random.default_rng(1))
    assert len(full.low.nodes) == 4 and len(full.low.keep) == 3


def test_core_parameters_round_trip():
    s = HFSpace()
    a = s.from_index(100)
    assert s.from_parameters(s.to_parameters(a)) == a


@pytest.mark.parametrize("op", EDGE_OPS)
def test_edge_ops_keep_the_token_shape(op):
    x = torch.randn(3, 8, 16)
    y = edge_op(op, 16)(x)
    assert y.shape == x.shape and (op != "none" or not y.any()) and (op != "skip" or torch.equal(x, y))


@pytest.mark.parametrize("op", FUSION_OPS)
def test_fusion_ops_keep_the_token_shape_and_take_gradients(op):
    torch.manual_seed(0)
    a, b = torch.randn(3, 8, 16, requires_grad=True), torch.randn(3, 8, 16, requires_grad=True)
    y = fusion_op(op, 16, 4, 0.0)(a, b)
    y.sum().backward()
    assert y.shape == (3, 8, 16) and torch.isfinite(a.grad).all() and torch.isfinite(b.grad).all()


def test_dcca_correlation_measures_canonical_correlation():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(400, 3, generator=g)
    mix = torch.tensor([[2.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.5, 3.0]])  # well conditioned
    same = dcca_correlation(z, z @ mix, 3)
    assert float(same) == pytest.approx(3.0, abs=0.01)  # an invertible map of the same signal
    noise = dcca_correlation(z, torch.randn(400, 3, generator=g), 3)
    assert float(noise) < 0.5
    x = torch.ones(32, 4, requires_grad=True)  # constant rows: every singular value repeats
    dcca_correlation(x, x.detach() * 2, 2).backward()
    assert torch.isfinite(x.grad).all()


@pytest.mark.parametrize("arch", [core_arch(), core_arch("sum", "mamba", imm="none", cm="bilstm"),
                                  HFSpace(core=False).sample(np.random.default_rng(5)),
                                  HFSpace(core=False).decode(
                                      "L(tl,il):n1=mhatt+mamba(skip@0);n2=se+glu(linrelu@n1+skip@0,maxpool@1);"
                                      "keep=n1,n2|H(th,ih):n1=biatt+sdatt(skip@0,skip@1);keep=n1|s=1|imm=dcca|cm=mlp")])
def test_network_runs_every_part_of_the_grammar(arch):
    arch = replace(arch, stack=2) if arch.stack == 1 and arch.imm == "none" else arch
    net = HFNet(arch, DIMS, 4)
    logits, corr = net({k: torch.randn(6, d) for k, d in DIMS.items()})
    assert logits.shape == (6, 4) and (corr is None) == ("dcca" not in arch.imm)
    assert net.mflops(DIMS) > 0 and net.n_params() > 0


def test_inconsistency_replaces_only_harmful_samples_with_benign_donors():
    y = np.repeat(np.arange(4), 25)  # classes 0, 1 harmful; 2, 3 benign
    x = {"il": np.arange(100, dtype=np.float32)[:, None], "ih": -np.arange(100, dtype=np.float32)[:, None]}
    out, eff, rows = hfdata.inject(x, y, 4, 0.3, seed=1)
    assert eff == 0.3 and len(rows) == 30 and (y[rows] < 2).all()
    assert (y[out["il"][rows, 0].astype(int)] >= 2).all()  # donors from the other half
    np.testing.assert_array_equal(out["il"][rows, 0], -out["ih"][rows, 0])  # both levels from one donor
    untouched = np.setdiff1d(np.arange(100), rows)
    np.testing.assert_array_equal(out["il"][untouched], x["il"][untouched])
    again, _, rows2 = hfdata.inject(x, y, 4, 0.3, seed=1)
    np.testing.assert_array_equal(rows, rows2)
    _, capped, rows = hfdata.inject(x, y, 4, 0.7, seed=1)
    assert capped == 0.5 and len(rows) == 50  # only half the samples are eligible


@pytest.mark.parametrize("bad", ["cifar", "landuse21@inc0", "landuse21@inc0.35", "landuse21@inc1.0", "landuse21@inc.3",
                                 "scene15@inc0.3", "landuse21-h2@inc0.3"])
def test_bad_dataset_names_are_named_errors(bad):
    with pytest.raises(UnknownDatasetError):
        hfdata.parse(bad)



def _tiny():
    from bench.families.hfmnas.trainer import Recipe

    return Recipe(epochs=2, channels=8, tokens=4, heads=2)


def test_loaded_data_records_its_protocol_and_changes_checksum_with_the_rate():
    clean, dirty = hfdata.load("landuse21"), hfdata.load("landuse21@inc0.3")
    assert clean.dims == {"tl": 64, "th": 32, "il": 64, "ih": 32} and clean.n_out == 21
    assert dirty.provenance["effective_rate"]["test"] == pytest.approx(0.3, abs=0.005)
    assert clean.content_sha256 != dirty.content_sha256
    np.testing.assert_array_equal(clean.x["test"]["tl"], dirty.x["test"]["tl"])  # only i is replaced
    assert not np.array_equal(clean.x["test"]["ih"], dirty.x["test"]["ih"])


def test_two_class_landuse_merges_the_lower_classes_and_keeps_the_features():
    full, two = hfdata.load("landuse21"), hfdata.load("landuse21-h2")
    assert two.n_out == 2 and two.kind == "multiclass" and "landuse21-h2" in hfdata.datasets()
    for part in hfdata.PARTS:
        np.testing.assert_array_equal(two.y[part], (full.y[part] < 10).astype(np.int64))  # 10 of 21 classes
        for k in full.x[part]:
            np.testing.assert_array_equal(two.x[part][k], full.x[part][k])
    assert 0.4 < two.y["train"].mean() < 0.55 and two.content_sha256 != full.content_sha256
    assert two.provenance["store"] == "landuse21" and two.provenance["labels"].startswith("harmful-vs-rest")


def test_training_is_bit_for_bit_repeatable_and_records_how_it_was_made():
    from bench.families.hfmnas.trainer import train

    d = hfdata.load("landuse21")
    a = train(core_arch("glu", "sum", imm="dcca"), d, 0, _tiny())
    b = train(core_arch("glu", "sum", imm="dcca"), d, 0, _tiny())
    assert a.metrics == b.metrics and a.val_curve == b.val_curve
    rec = a.record()
    assert rec["store_sha256"] == d.content_sha256 and rec["timing"] == "one-by-one" and rec["numerics"]["kernel_isa"]
    assert rec["val_f1m"] == max(x for x in rec["val_curve"] if x == x)
    assert 0 <= rec["test_acc"] <= 100 and -1e-6 <= rec["test_cell_corr"] <= 1 + 1e-6
    assert train(core_arch("glu", "sum", imm="dcca"), d, 1, _tiny()).metrics != a.metrics


def test_oracle_trains_a_miss_once_then_answers_from_the_overlay(tmp_path):
    from bench.families import hfmnas

    o = hfmnas.open_oracle("landuse21@inc0.5", allow_train=True, overlay=tmp_path / "o.sqlite", recipe=_tiny())
    arch = o.space.encode(core_arch("sum", "concatfc", imm="none"))
    v = o.query(arch, "val_f1m", seed=0)
    assert o.answered_from["trained"] == 1
    again = hfmnas.open_oracle("landuse21@inc0.5", overlay=tmp_path / "o.sqlite", recipe=_tiny())
    assert again.query(arch, "val_f1m", seed=0) == v and again.answered_from["overlay"] == 1
    with pytest.raises(MissingValueError):
        again.query(arch, "val_f1m", seed=1)
    assert again.charged_seconds(again.key(arch, 0)) > 0


def test_darts_search_derives_a_valid_genotype_caches_it_and_retrains_it(tmp_path):
    from bench.compare import run_trained
    from bench.families import hfmnas
    from bench.families.hfmnas.search import HFSettings

    recipe = replace(_tiny(), epochs=1)
    settings = HFSettings("tiny", nodes=2, keep=1)
    o = hfmnas.open_oracle("landuse21", allow_train=True, overlay=tmp_path / "o.sqlite", recipe=recipe)
    rec = run_trained(o, "hfmnas", 0, settings=settings)
    geno = HFSpace(core=False).decode(rec.settings["genotype"])
    assert len(geno.low.nodes) == 2 and len(geno.low.keep) == 1 and geno.imm == "dcca+mha"
    assert rec.best_arch == rec.settings["genotype"] and rec.sim_seconds[0] > 0  # supernet charged first
    again = run_trained(hfmnas.open_oracle("landuse21", overlay=tmp_path / "o.sqlite", recipe=recipe), "hfmnas", 0,
                        settings=settings)
    assert again.settings["genotype"] == rec.settings["genotype"] and again.sim_seconds == rec.sim_seconds


def test_derive_keeps_the_two_strongest_non_none_edges_and_the_top_k_nodes():
    from bench.families.hfmnas.search import HFSettings, derive
    from bench.families.hfmnas.space import EDGE_OPS

    s = HFSettings("t", nodes=2, keep=1)
    def soft(n_pred, strong):
        w = np.full((n_pred, len(EDGE_OPS)), 0.01)
        for p, op in strong.items():
            w[p, EDGE_OPS.index(op)] = 0.9
        w[:, EDGE_OPS.index("none")] = 0.95  # 'none' never counts
        return w.tolist()
    gamma = [soft(2, {0: "linrelu", 1: "skip"}), soft(3, {0: "sepconv", 2: "maxpool"})]
    alpha = [[[0.9, 0.1], [0.1, 0.9]], [[0.1, 0.1, 0.8], [0.8, 0.1, 0.1]]]
    beta = np.zeros((2, len(FUSION_OPS)))
    beta[0, FUSION_OPS.index("se")] = 1
    beta[1, FUSION_OPS.index("sum")] = 1
    side = (gamma, alpha, beta.tolist())
    g = derive({"low": side, "high": side}, {"low": [0.2, 0.9], "high": [0.9, 0.2]}, s)
    assert g.low.nodes[0] == Node("se", (("linrelu", 0), ("skip", 1)))
    assert g.low.nodes[1].op == "sum" and {e for e in g.low.nodes[1].edges} == {("sepconv", 0), ("maxpool", 2)}
    assert g.low.keep == (2,) and g.high.keep == (1,)


def test_derive_top_k_beta_and_gamma_and_the_paper_settings_keep_their_digest():
    from bench.families.hfmnas.search import PRESETS, HFSettings, HFSettingsError, derive
    from bench.families.hfmnas.space import EDGE_OPS

    gamma = [np.full((2, len(EDGE_OPS)), 0.1).tolist(), np.full((3, len(EDGE_OPS)), 0.1).tolist()]
    for p, op, w in ((0, "linrelu", 0.5), (1, "skip", 0.4), (2, "maxpool", 0.3)):
        gamma[1][p][EDGE_OPS.index(op)] = w
    gamma[0][0][EDGE_OPS.index("sepconv")] = 0.6
    alpha = [[[0.5, 0.5], [0.5, 0.5]], [[0.2, 0.1, 0.7], [0.4, 0.5, 0.1]]]
    beta = np.zeros((2, len(FUSION_OPS)))
    beta[:, FUSION_OPS.index("glu")], beta[:, FUSION_OPS.index("sum")], beta[:, FUSION_OPS.index("mul")] = 0.5, 0.3, 0.2
    side = (gamma, alpha, beta.tolist())
    imp = {"low": [0.1, 0.9], "high": [0.1, 0.9]}

    def node(**kw):
        return derive({"low": side, "high": side}, imp, HFSettings("t", nodes=2, keep=1, **kw)).low.nodes[1]

    assert node() == Node("glu", (("linrelu", 0), ("skip", 1)))  # the two strongest; @0 leans to the first operand
    assert node(top_ops=3).ops == ("sum", "glu", "mul")  # FUSION_OPS order
    three = node(top_edges=3)  # @2 leans most to the first operand, then @0, then @1
    assert three.operands == ((("linrelu", 0), ("maxpool", 2)), (("skip", 1),))
    assert node(top_edges=1).edges == (("linrelu", 0),)
    n1 = derive({"low": side, "high": side}, imp, HFSettings("t", nodes=2, keep=1, top_edges=3)).low.nodes[0]
    assert len(n1.edges) == 2  # the first node has only the cell's two inputs
    assert PRESETS["hfmnas"].digest == "e24eb2fab0e0"  # the cached searches' key
    assert replace(PRESETS["hfmnas"], top_ops=2).digest != PRESETS["hfmnas"].digest
    with pytest.raises(HFSettingsError, match="top_edges"):
        HFSettings("t", top_edges=0)


def test_bmnas_derive_takes_distinct_inputs_and_operands_and_never_zero():
    from bench.families.hfmnas.bmnas import STEP_OPS, BMSettings, derive

    select = [[0.1, 0.1, 0.7, 0.1], [0.1, 0.1, 0.8, 0.0]]  # both prefer il: the second takes the next best
    alpha = [[[0.6, 0.4], [0.7, 0.3]], [[0.1, 0.2, 0.7], [0.2, 0.5, 0.3]]]
    lam = np.full((2, len(STEP_OPS)), 0.05)
    lam[:, -1] = 0.9  # Zero dominates the mixture, yet a step keeps an operation
    lam[0, STEP_OPS.index("glu")] = 0.3
    lam[1, STEP_OPS.index("sdatt")] = 0.3
    g = derive({"low": (select, alpha, lam.tolist()), "high": (select, alpha, lam.tolist())}, BMSettings("t"))
    assert g.low.inputs == ("tl", "il") and g.low.keep == (1, 2) and g.stack == 1 and g.imm == "none"
    assert g.low.nodes[0] == Node("glu", (("skip", 1), ("skip", 0)))  # operand a reads il (@1): tl <- @0
    assert g.low.nodes[1] == Node("sdatt", (("skip", 2), ("skip", 0)))  # @1 (tl) is @0 once the pair is sorted
    assert HFSpace(core=False).decode(HFSpace(core=False).encode(g)) == g


def test_bmnas_search_is_cached_charged_and_its_genotype_retrains(tmp_path):
    from bench.compare import run_trained
    from bench.families import hfmnas
    from bench.families.hfmnas.bmnas import STEP_OPS, BMSettings
    from bench.families.hfmnas.search import HFSettingsError

    recipe = replace(_tiny(), epochs=1)
    o = hfmnas.open_oracle("landuse21", allow_train=True, overlay=tmp_path / "o.sqlite", recipe=recipe)
    rec = run_trained(o, "bmnas", 0)
    geno = HFSpace(core=False).decode(rec.settings["genotype"])
    for cell in (geno.low, geno.high):
        assert len(cell.nodes) == 2 and cell.keep == (1, 2)
        assert all(n.op in STEP_OPS[:-1] and {e for e, _ in n.edges} == {"skip"} for n in cell.nodes)
    assert rec.best_arch == rec.settings["genotype"] and rec.sim_seconds[0] > 0  # supernet and retraining charged
    rows = len(o.overlay)
    # opened without allow_train: the supernet and the genotype come from the overlay or the run fails
    again = run_trained(hfmnas.open_oracle("landuse21", overlay=tmp_path / "o.sqlite", recipe=recipe), "bmnas", 0)
    assert again.settings["genotype"] == rec.settings["genotype"] and again.sim_seconds == rec.sim_seconds
    assert len(o.overlay) == rows
    with pytest.raises(MissingValueError, match="allow_train"):  # not cached, and training not allowed
        run_trained(hfmnas.open_oracle("landuse21", overlay=tmp_path / "new.sqlite", recipe=recipe), "bmnas", 0)
    with pytest.raises(HFSettingsError, match="imm"):
        BMSettings("bad", imm="both")
    with pytest.raises(HFSettingsError, match="BMSettings"):
        run_trained(o, "bmnas", 0, settings=replace(_tiny()))


def test_table_hit_retrains_bit_for_bit():
    """A shipped row retrained now equals the table (bit for bit on the table's CPU vendor, within
    tolerance on another: conftest.assert_retrained_equal)."""
    from conftest import assert_retrained_equal

    from bench.families import hfmnas
    from bench.families.hfmnas.trainer import train
    from bench.paths import tables_dir

    oracle = hfmnas.open_oracle("landuse21")
    arch = oracle.space.encode(core_arch())  # MHAtt cells, DCCA + attention: the kernels most likely to differ
    shipped = oracle.result(arch, 1)
    again = train(oracle.space.decode(arch), oracle.data, 1, oracle.recipe).record()
    assert_retrained_equal(again, shipped, tables_dir() / hfmnas.table_file("landuse21"),
                           {"val_f1m": 3.0, "test_f1m": 3.0, "test_acc": 3.0, "best_epoch": 2})


def test_fusion_baselines_train_repeatably_are_cached_and_named(tmp_path):
    from bench.errors import MissingValueError, UnknownChoiceError
    from bench.families import hfmnas
    from bench.families.hfmnas import baselines

    o = hfmnas.open_oracle("landuse21", allow_train=True, overlay=tmp_path / "o.sqlite", recipe=_tiny())
    for name in baselines.BASELINES:
        first = baselines.result(o, name, 1)
        assert 0 < first["test_f1m"] <= 100 and first["params"] > 0 and first["test_cell_corr"] is None
        rows = len(o.overlay)
        again = hfmnas.open_oracle("landuse21", overlay=tmp_path / "o.sqlite", recipe=_tiny())  # may not train
        assert baselines.result(again, name, 1) == first and len(o.overlay) == rows
        with pytest.raises(MissingValueError, match="allow_train"):
            baselines.result(again, name, 2)
        fresh = baselines.result(hfmnas.open_oracle("landuse21", allow_train=True, overlay=tmp_path / f"{name}.sqlite",
                                                    recipe=_tiny()), name, 1)
        assert {k: v for k, v in fresh.items() if k != "train_seconds"} == \
               {k: v for k, v in first.items() if k != "train_seconds"}  # seeded: retrained, the same
    with pytest.raises(UnknownChoiceError, match="gmu"):
        baselines.result(o, "mmtm", 0)


def test_mfas_search_trains_progressively_is_cached_and_repeatable(tmp_path):
    from bench.families import hfmnas
    from bench.families.hfmnas import mfas
    from bench.families.hfmnas.search import HFSettingsError

    settings = mfas.MFASSettings(max_layers=2, keep=2, search_epochs=1)

    def oracle(name):
        return hfmnas.open_oracle("landuse21", allow_train=True, overlay=tmp_path / name, recipe=replace(_tiny(), epochs=2))

    first = oracle("a.sqlite")
    out = mfas.search(first, settings, 0)
    assert out["trained"] == len(mfas.CHOICES) + 2  # every one-layer network, then the surrogate's 2 best extensions
    layers = out["genotype"].removeprefix("mfas:").split(",")
    assert 1 <= len(layers) <= 2 and out["charged_seconds"] > 0 and 0 < out["result"]["test_f1m"] <= 100
    assert out["store_sha256"] == first.data.content_sha256 and len(out["search_mflops"]) == out["trained"]
    rows = len(first.overlay)
    assert mfas.search(oracle("a.sqlite"), settings, 0) == out and len(first.overlay) == rows  # cached
    fresh = mfas.search(oracle("b.sqlite"), settings, 0)  # retrained from scratch: the same search
    assert fresh["genotype"] == out["genotype"] and fresh["charged_seconds"] == out["charged_seconds"]
    with pytest.raises(HFSettingsError, match="max_layers"):
        mfas.MFASSettings(max_layers=0)


def test_mfas_surrogate_ranks_the_added_layer_by_what_that_choice_scored():
    """Extensions of one prefix differ only in the new layer, which no trained network has at that
    position yet: the position-shared features (last layer's choice, counts) must still rank them."""
    from bench.families.hfmnas import mfas

    good = ("tl", "ih", "relu")
    known = [(c,) for c in mfas.CHOICES]
    scores = np.array([60.0 if c == good else 40.0 + i * 0.1 for i, (c,) in enumerate(known)])
    predict = mfas._ridge(np.array([mfas._features(c, 2) for c in known]), scores, 1.0)
    prefix = (("th", "il", "sigmoid"),)
    pred = predict(np.array([mfas._features(prefix + (c,), 2) for c in mfas.CHOICES]))
    assert len(set(np.round(pred, 9))) > 1 and mfas.CHOICES[int(np.argmax(pred))] == good


def test_column_keys_add_fields_and_refuse_networks_outside_the_grammar():
    from bench.families.hfmnas.paper import column_key
    from bench.repro.spec import load_specs

    t6 = load_specs()["hfmnas-table6"]
    assert column_key("default:imm=none", "Text F1-M", t6) == "default:imm=none,lin=tl+th,hin=tl+th"
    assert column_key("default", "Image Acc", t6) == "default:lin=il+ih,hin=il+ih"
    assert column_key("search:hfmnas:imm=none", "Text Acc", t6) == "search:hfmnas:imm=none,lin=tl+th,hin=tl+th"
    assert column_key("search:bmnas", "Text Acc", t6) == "search:bmnas:lin=tl+th,hin=tl+th"
    for key in ("baseline:gmu", "mfas"):
        with pytest.raises(ValueError, match="outside the grammar"):
            column_key(key, "Text F1-M", t6)


def test_incumbent_is_the_best_finite_fitness_and_an_empty_run_has_none():
    from bench.families.hfmnas.paper import _incumbent
    from bench.run import RunRecord

    rec = RunRecord("hfmnas", "landuse21", "val_f1m", "max", "rs", 0, None, 10.0, None, {})
    assert _incumbent(rec, None, "test_f1m")[0] == "" and math.isnan(_incumbent(rec, None, "test_f1m")[1])
    rec.archs, rec.values, rec.test_values, rec.test_metric = ["a", "b", "c"], [50.0, float("nan"), 55.0], [1.0, 2.0, 3.0], "test_f1m"
    assert _incumbent(rec, None, "test_f1m") == ("c", 3.0)


def test_recipe_rank_diagnostic_correlates_seed_means_and_names_bad_keys(monkeypatch):
    """The runner's arithmetic on stand-in records: a recipe that reverses the ranking gives -1."""
    import bench.families.hfmnas.paper as hp
    from bench.repro.spec import load_specs

    def fake(dataset, arch, recipe=None):
        base = float(sum(map(ord, arch)) % 97)
        score = -base if recipe is not None else base
        return [{"test_f1m": score + 0.01 * s} for s in range(3)]

    monkeypatch.setattr(hp, "records", fake)
    spec = load_specs()["hfmnas-diagnostics"]
    res = hp.hfmnas_recipe_rank(spec, 3, progress=False)
    for row in spec.rows:
        rho, floor, change = res.cells[row.name]
        assert rho.mean == pytest.approx(-1.0) and floor.mean == pytest.approx(1.0) and change.mean < 0
    bad = replace(spec, rows=[replace(spec.rows[0], key="rank:landuse21:width=8")])
    with pytest.raises(ValueError, match="recipe field"):
        hp.hfmnas_recipe_rank(bad, 3, progress=False)


# ---- compare like with like (issue #24, item 3) --------------------------------------------------
SEARCH_FIGURES = ["hfmnas-fig3", "hfmnas-fig4", "hfmnas-fig6", "hfmnas-fig13", "hfmnas-fig14", "hfmnas-fig15",
                  "hfmnas-fig16"]


@pytest.mark.parametrize("spec_id", SEARCH_FIGURES)
def test_search_named_rows_show_the_search_and_the_best_member_has_its_own_row(spec_id):
    """A row named after HF-MNAS is its DARTS search's genotype (as BM-NAS's rows are BM-NAS's), never
    the best tabulated member; that member stays, as an added row under a name of its own."""
    from bench.families.hfmnas.paper import SEARCH_ROWS, _proxy_rows, searched_by
    from bench.repro.spec import load_specs

    rows = _proxy_rows(load_specs()[spec_id])
    hf = [r for r in rows if r.name.startswith("HF-MNAS")]
    assert hf and all(r.key.startswith("search:hfmnas") and searched_by(r.key) == "hfmnas" for r in hf)
    assert all(r.key.startswith("search:bmnas") for r in rows if r.name.startswith("BM-NAS"))
    best = [r for r in rows if r.key.partition(":")[0] == "best"]
    assert best and all(r.status == "added" and r.name.startswith("Best tabulated cell") for r in best)
    assert not any(r.name.split(" ")[0] in SEARCH_ROWS for r in best)


def test_a_search_named_row_showing_anything_but_that_search_is_refused():
    import bench.families.hfmnas.paper as hp
    from bench.repro.spec import load_specs

    specs = load_specs()
    for spec_id, runner in (("hfmnas-fig3", hp.hfmnas_inconsistency), ("hfmnas-fig13", hp.hfmnas_recipe_sweep)):
        spec = specs[spec_id]
        old = replace(spec, rows=[replace(r, key="best:imm=none" if r.name == "HF-MNAS" else r.key) for r in spec.rows])
        with pytest.raises(ValueError, match="named after a search"):
            runner(old, 3, progress=False)
    assert hp.searched_by("search:hfmnas:imm=none") == "hfmnas" and hp.searched_by("hf:bmnas") == "bmnas"
    assert hp.searched_by("mfas") == "mfas" and hp.searched_by("best") is None and hp.searched_by("default") is None


def _fake_searches(monkeypatch):
    """Stand-in genotypes for the searches and the best member, and records that name their architecture."""
    import bench.families.hfmnas.paper as hp

    space = HFSpace(core=False)
    arch = {"hfmnas": core_arch(low_op="glu", high_op="se"), "bmnas": core_arch(low_op="sum", high_op="sum", imm="none"),
            "best": core_arch(low_op="mul", high_op="sum", imm="mha")}
    text = {k: space.encode(a) for k, a in arch.items()}
    monkeypatch.setattr(hp, "searched_arch", lambda dataset, algo, seeds=3, progress=False: text[algo])
    monkeypatch.setattr(hp, "best_arch", lambda dataset: text["best"])
    monkeypatch.setattr(hp, "records", lambda dataset, a, recipe=None: [
        {"test_f1m": 50.0 + len(a) % 7 + sum(map(ord, dataset)) % 11 + s, "test_acc": 60.0 + len(a) % 5 + s}
        for s in range(3)])
    return {k: space.encode(a) for k, a in arch.items()}, {k: space.encode(replace(a, imm="none")) for k, a in arch.items()}


def test_inconsistency_rows_retrain_the_searched_genotype_and_the_best_member_apart(monkeypatch):
    import bench.families.hfmnas.paper as hp
    from bench.repro.spec import load_specs

    own, no_imm = _fake_searches(monkeypatch)
    res = hp.hfmnas_inconsistency(load_specs()["hfmnas-fig3"], 3, progress=False)
    assert res.row_notes["HF-MNAS"].startswith(f"`{no_imm['hfmnas']}`")
    assert res.row_notes["BM-NAS"].startswith(f"`{own['bmnas']}`")
    assert res.row_notes["Best tabulated cell, IMM removed (by validation)"].startswith(f"`{no_imm['best']}`")
    res = hp.hfmnas_inconsistency(load_specs()["hfmnas-fig6"], 3, progress=False)
    assert res.row_notes["HF-MNAS w/o IMM"].startswith(f"`{no_imm['hfmnas']}`")
    assert res.row_notes["HF-MNAS"].startswith(f"`{own['hfmnas']}`")
    assert res.row_notes["Best tabulated cell (by validation)"].startswith(f"`{own['best']}`")


def test_recipe_sweep_rows_retrain_the_searched_genotype_and_the_best_member_apart(monkeypatch):
    import bench.families.hfmnas.paper as hp
    from bench.repro.spec import load_specs

    own, _ = _fake_searches(monkeypatch)
    res = hp.hfmnas_recipe_sweep(load_specs()["hfmnas-fig16"], 3, progress=False)
    assert res.row_notes["HF-MNAS"].startswith(f"`{own['hfmnas']}`")
    assert res.row_notes["BM-NAS"].startswith(f"`{own['bmnas']}`")
    assert res.row_notes["Best tabulated cell (by validation)"].startswith(f"`{own['best']}`")


USED = re.compile(r"^Used \d+(, \d+)* of 300 charged s \(per run\); views: ")


def test_equal_budget_rows_say_the_charged_seconds_they_used_and_the_views_they_read(monkeypatch, tmp_path):
    """Tables IV-V: every row's note opens with its charged seconds against the cap and its views;
    the protocol says where budgets and inputs differ; a tree-fusion row can be held to the HF-MNAS views."""
    import bench.compare
    import bench.families.hfmnas.mfas as mfas
    import bench.families.hfmnas.paper as hp
    from bench.repro.spec import load_specs
    from bench.run import RunRecord

    spec = load_specs()["hfmnas-table4"]
    keep = ("Two-stream", "GMU", "MFAS", "HF-MNAS", "EDF (views v1, v2 only)")
    spec = replace(spec, rows=[r for r in spec.rows if r.name in keep])
    monkeypatch.setenv("MMNAS_PAPER_REPRO", str(tmp_path))  # the tree rows' lookups write to a scratch cache
    real = bench.compare.run_trained

    def run(oracle, algo, seed, budget_seconds=None, train_seed=None):
        if oracle.benchmark != "hfmnas":
            return real(oracle, algo, seed, budget_seconds=budget_seconds, train_seed=train_seed)
        rec = RunRecord("hfmnas", "scene15", "val_f1m", "max", algo, seed, None, budget_seconds, None, {})
        rec.archs, rec.values, rec.test_values, rec.test_metric = ["a"], [50.0], [70.0 + seed], "test_acc"
        rec.sim_seconds, rec.stop_reason = [230.0 - seed], "algorithm_stopped"
        return rec

    monkeypatch.setattr(bench.compare, "run_trained", run)
    monkeypatch.setattr(mfas, "search", lambda oracle, settings, seed: {
        "result": {"test_acc": 71.0}, "charged_seconds": 31.0, "genotype": "mfas:tl+il/relu"})
    monkeypatch.setattr(hp, "records", lambda dataset, a, recipe=None: [{"test_acc": 70.0, "mflops": 0.05}] * 3)
    res = hp.hfmnas_equal_budget(spec, 3, progress=False)
    assert set(res.row_notes) == set(keep)
    for name, note in res.row_notes.items():
        assert USED.match(note), (name, note)
    assert res.row_notes["HF-MNAS"].startswith("Used 230, 229, 228 of 300 charged s (per run); views: v1, v2 (backbone "
                                               "levels v1@1, v1@2, v2@1, v2@2); `hfmnas` on `scene15`; stopped at the end")
    assert res.row_notes["MFAS"].startswith("Used 31, 31, 31 of 300")
    assert "views: v1, v2 (backbone levels v1@2, v2@2)" in res.row_notes["GMU"]  # the high levels only
    edf = res.row_notes["EDF (views v1, v2 only)"]
    assert "views: v1, v2 (raw features; trees over these 2 of the store's views only, 7 trees)" in edf
    assert "stopped after every architecture of its space (3 of 3 runs); evaluations: 7, 7, 7" in edf
    notes = " ".join(res.notes)
    assert "The budgets spent are not equal" in notes and "HF-MNAS 228-230" in notes and "MFAS 31" in notes
    assert "only HF-MNAS used half of the cap or more" in notes
    assert "The inputs are not equal" in notes and "not the same features" in notes


@pytest.mark.parametrize("spec_id", ["hfmnas-table4", "hfmnas-table5"])
def test_committed_equal_budget_tables_carry_each_rows_charged_seconds_and_views(spec_id, repo_root):
    import csv

    from bench.repro.spec import load_specs

    spec = load_specs()[spec_id]
    with open(repo_root / "paper_repro" / "out" / f"{spec_id}.csv", newline="") as fh:
        notes = {r["row"]: r["note"] for r in csv.DictReader(fh)}
    run = [r for r in spec.rows if r.status in ("proxy", "added")]
    assert len(run) >= 8
    for r in run:
        assert re.search(r"Used \d+(, \d+)* of 300 charged s \(per run\); views: ", notes[r.name]), (spec_id, r.name)
    assert any(r.key.startswith("tree:") and "@" in r.key for r in run)  # tree fusion held to the HF-MNAS views
    md = (repo_root / "paper_repro" / "out" / f"{spec_id}.md").read_text()
    assert "The budgets spent are not equal" in md and "The inputs are not equal" in md


def test_supernet_flops_are_counted_once_and_stored(tmp_path, monkeypatch):
    """#27 item 3: a search's supernet MFLOPs (its charge) are counted on first use and then read from
    the overlay, in this process and the next; the stored value is the count itself."""
    import bench
    from bench.families.hfmnas import search

    o = bench.open("hfmnas", dataset="landuse21", allow_train=True, overlay=tmp_path / "o.sqlite")
    s = search.PRESETS["hfmnas"]
    net, arch = search.build_supernet(o.data, o.recipe, s)
    direct = search.supernet_mflops(net, arch, search._forward, o.data.dims)
    calls = []
    real = search.supernet_mflops
    monkeypatch.setattr(search, "supernet_mflops", lambda *a: calls.append(1) or real(*a))
    first = search.stored_supernet_mflops(o, "hfmnas", s, search.build_supernet, search._forward)
    again = search.stored_supernet_mflops(o, "hfmnas", s, search.build_supernet, search._forward)
    fresh = bench.open("hfmnas", dataset="landuse21", allow_train=True, overlay=tmp_path / "o.sqlite")
    later = search.stored_supernet_mflops(fresh, "hfmnas", s, search.build_supernet, search._forward)
    assert first == again == later == direct and len(calls) == 1
    other = search.stored_supernet_mflops(o, "hfmnas", search.PRESETS["hfmnas-s2"], search.build_supernet,
                                          search._forward)
    assert len(calls) == 2 and other > 0  # other settings: counted and stored apart
