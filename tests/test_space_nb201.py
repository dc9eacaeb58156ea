import numpy as np
import pytest

from bench.errors import ArchIndexError, InvalidArchitectureError
from bench.families.cells.nb201 import OPS, NB201Arch, NB201Space
from tests.conftest import SHARED, needs_shared

S = NB201Space()
BEST_C100 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"


def test_index_string_ops_round_trip_over_whole_space():
    seen = set()
    for i, arch in enumerate(S.enumerate()):
        text = S.encode(arch)
        assert S.index(text) == i
        assert S.decode(text) == arch
        assert S.from_index(i).ops == arch.ops
        seen.add(text)
    assert len(seen) == S.size == 15625


def test_index_order_is_base5_first_edge_most_significant():
    assert S.from_index(0).ops == ("none",) * 6
    assert S.from_index(1).ops == ("none",) * 5 + ("skip_connect",)
    assert S.from_index(5).ops == ("none",) * 4 + ("skip_connect", "none")
    assert S.index(("avg_pool_3x3",) * 6) == 15624


@pytest.mark.parametrize("bad, fragment", [
    ("nor_conv_3x3~0|+|a~0|b~1|+|c~0|d~1|e~2|", "separators"),
    ("|nor_conv_3x3~0|+|skip_connect~0|none~1|", "number of nodes"),
    ("|nor_conv_3x3~0|+|skip_connect~0|+|none~0|none~1|none~2|", "number of edges into node 2"),
    ("|conv_5x5~0|+|skip_connect~0|none~1|+|none~0|none~1|none~2|", "unknown op 'conv_5x5'"),
    ("|none~0|+|skip_connect~0|none~2|+|none~0|none~1|none~2|", "names source '2'"),
    ("|none0|+|skip_connect~0|none~1|+|none~0|none~1|none~2|", "bad separator in edge"),
])
def test_malformed_strings_name_the_bad_part(bad, fragment):
    with pytest.raises(InvalidArchitectureError, match=fragment.replace("(", r"\(")):
        S.decode(bad)


def test_unknown_op_message_lists_valid_ops():
    with pytest.raises(InvalidArchitectureError) as e:
        S.decode(BEST_C100.replace("nor_conv_1x1", "x").replace("skip_connect", "sep_conv"))
    for op in OPS:
        assert op in str(e.value)


def test_index_out_of_range():
    with pytest.raises(ArchIndexError, match="0..15624"):
        S.from_index(15625)
    with pytest.raises(ArchIndexError):
        S.from_index(-1)


def test_mutate_changes_exactly_one_edge_and_stays_valid():
    rng = np.random.default_rng(0)
    arch = S.decode(BEST_C100)
    for _ in range(2000):
        child = S.mutate(arch, rng)
        assert isinstance(child, NB201Arch)
        diff = sum(a != b for a, b in zip(arch.ops, child.ops))
        assert diff == 1
        assert 0 <= S.index(child) < S.size
        arch = child


def test_mutate_reaches_all_24_neighbours_uniformly():
    rng = np.random.default_rng(1)
    arch = S.decode(BEST_C100)
    counts = {}
    for _ in range(24000):
        c = S.encode(S.mutate(arch, rng))
        counts[c] = counts.get(c, 0) + 1
    assert set(counts) == {S.encode(n) for n in S.neighbours(arch)}
    assert min(counts.values()) > 800 and max(counts.values()) < 1200


def test_sample_and_crossover_are_seeded():
    a = [S.encode(S.sample(np.random.default_rng(7))) for _ in range(3)]
    assert len(set(a)) == 1
    p, q = S.from_index(0), S.from_index(15624)
    child = S.crossover(p, q, np.random.default_rng(3))
    assert all(o in ("none", "avg_pool_3x3") for o in child.ops)


def test_graph_form_has_op_labels_and_drops_none():
    g = S.to_graph(BEST_C100)
    assert sorted(g.nodes) == [0, 1, 2, 3]
    assert g.edges[0, 1]["op"] == "nor_conv_3x3"
    assert g.edges[0, 3]["op"] == "skip_connect"
    g2 = S.to_graph(S.from_index(0))
    assert g2.number_of_edges() == 0
    assert S.to_graph(S.from_index(0), drop_none=False).number_of_edges() == 6


def test_isomorphism_key_merges_commuted_and_dead_variants():
    # same function: operands of node 3's sum reordered through symmetric paths
    a = "|nor_conv_3x3~0|+|nor_conv_1x1~0|none~1|+|skip_connect~0|none~1|none~2|"
    b = "|nor_conv_1x1~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|none~1|none~2|"
    assert S.isomorphism_key(a) == S.isomorphism_key(b) == "x"
    assert S.isomorphism_key(S.from_index(0)) == "zero"
    assert S.isomorphism_key(BEST_C100) != S.isomorphism_key(S.from_index(15624))


@needs_shared
def test_isomorphism_key_is_implied_by_natsbench_unique_string():
    """Cells NATS-Bench calls isomorphic share our key (ours also drops dead branches)."""
    import pandas as pd

    df = pd.read_csv(SHARED / "nats_tss_test_acc_200ep.csv")
    keys = df["ArchitectureString"].map(S.isomorphism_key)
    per_class = keys.groupby(df["UniqueString"]).nunique()
    assert (per_class == 1).all()
    assert df["UniqueString"].nunique() == 6466
    assert keys.nunique() == 4930
