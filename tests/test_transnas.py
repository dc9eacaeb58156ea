import numpy as np
import pytest

import bench
from bench.families.cells import build_transnas as transnas
from bench.builders.common import read_manifest
from bench.errors import InvalidArchitectureError
from bench.paths import tables_dir
from bench.families.cells.transnas import RestrictedSpace
from bench.families.cells.transnas import TransNASMicroSpace
from tests.conftest import SHARED, needs_shared

S = TransNASMicroSpace()


def test_micro_code_round_trip_and_errors():
    assert S.size == 4096
    for i in (0, 1, 777, 4095):
        assert S.index(S.encode(S.from_index(i))) == i
    assert S.encode(("skip_connect", "none", "nor_conv_1x1", "nor_conv_3x3", "none", "none")) == "1_02_300"
    with pytest.raises(InvalidArchitectureError, match="a_bc_def"):
        S.decode("1_02_30")
    with pytest.raises(InvalidArchitectureError, match="unknown op digit"):
        S.decode("1_02_304")


def test_table_is_a_sample_and_search_stays_inside_it():
    o = bench.open("transnas101-micro", "class_scene")
    assert o.n_arch == 711 and isinstance(o.space, RestrictedSpace) and o.space.size == 711
    rng = np.random.default_rng(0)
    arch = o.space.sample(rng)
    for _ in range(500):
        arch = o.space.mutate(arch, rng)
        assert arch.ops != () and o.space.encode(arch) in o  # every proposal has a row
    outside = next(S.encode(a) for a in S.enumerate() if S.encode(a) not in o)
    with pytest.raises(InvalidArchitectureError, match="not in this 711-cell subset"):
        o.space.encode(outside)


def test_op_mapping_evidence():
    """Dead-output cells score at the floor; 3x3 convolutions cost ~9x the FLOPs of 1x1."""
    o = bench.open("transnas101-micro", "class_scene")
    scores = o.query_many(np.arange(o.n_arch), "val_score")
    dead = np.array([S.isomorphism_key(a) == "zero" for a in o.archs()])
    assert dead.sum() == 20 and scores[dead].max() < scores[~dead].min() + 1.0
    ops = np.array([S.op_indices(a) for a in o.archs()])
    X = np.stack([(ops == 2).sum(1), (ops == 3).sum(1), np.ones(len(ops))], 1)
    per_1x1, per_3x3, _ = np.linalg.lstsq(X, o.query_many(np.arange(o.n_arch), "flops"), rcond=None)[0]
    assert 7 < per_3x3 / per_1x1 < 11


def test_room_layout_is_a_loss_in_paper_units():
    o = bench.open("transnas101-micro", "room_layout")
    info = o.metric_info("val_score")
    assert info.direction == "min" and "L2" in info.unit
    assert round(o.optimum().value, 2) == 60.95  # source: -0.609 (negated L2 loss)


@needs_shared
def test_rebuild_gives_the_shipped_content_checksum(tmp_path):
    transnas.build(out_dir=tmp_path, source_dir=SHARED)
    assert read_manifest(tmp_path)["transnas101_micro.h5"][1] == read_manifest(tables_dir())["transnas101_micro.h5"][1]
