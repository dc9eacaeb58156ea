import json

import numpy as np
import pytest

import bench
import bench.features as F
from bench.builders.common import read_manifest
from bench.families.tree_fusion.build import FUSION_OPS, SEEDS, all_fused, table_archs, table_file
from bench.paths import tables_dir
from bench.tablefile import read_dataset
from bench.families.tree_fusion.trainer import PROTOCOLS, train

SHIPPED = sorted((ds, p) for ds in ("scene15", "landuse21", "aloi", "mfeat") for p in PROTOCOLS
                 if table_file(ds, p) in read_manifest(tables_dir()))


def test_at_least_two_harder_sets_ship():
    assert len({ds for ds, p in SHIPPED if p == "standard"} & {"scene15", "landuse21", "aloi"}) >= 2


@pytest.mark.parametrize("dataset, protocol", SHIPPED)
def test_shipped_table_rows_and_values(dataset, protocol):
    archs, metrics, attrs = read_dataset(tables_dir() / table_file(dataset, protocol), dataset)
    assert json.loads(attrs["provenance"])["recipe_key"] == PROTOCOLS[protocol].key
    expected, space = table_archs(dataset)
    assert archs == expected
    assert all(all_fused(space, op) in archs for op in FUSION_OPS)
    assert metrics["test_acc"].values.shape == (len(archs), SEEDS)
    assert metrics["val_curve"].values.shape == (len(archs), SEEDS, PROTOCOLS[protocol].epochs)
    assert np.isfinite(metrics["test_acc"].values).all()
    acc = metrics["test_acc"].values.mean(axis=1)
    assert acc.max() - acc.min() > 5  # the table separates good from bad fusions
    assert (tables_dir() / table_file(dataset, protocol).replace(".h5", "_hist.png")).exists()


@pytest.mark.parametrize("dataset, protocol", SHIPPED)
def test_a_table_hit_equals_a_fresh_training_run_exactly(dataset, protocol, tmp_path):
    _check_sampled_rows(dataset, protocol, tmp_path, 2)


@pytest.mark.slow
@pytest.mark.parametrize("dataset, protocol", SHIPPED)
def test_forty_sampled_table_rows_equal_fresh_training_runs(dataset, protocol, tmp_path):
    _check_sampled_rows(dataset, protocol, tmp_path, 40)


def _check_sampled_rows(dataset, protocol, tmp_path, n_drawn):
    from conftest import assert_retrained_equal

    o = bench.open("tree-fusion", dataset, overlay=tmp_path / "empty.sqlite", protocol=protocol, max_leaves=None)
    archs = read_dataset(tables_dir() / table_file(dataset, protocol), dataset)[0]
    rng = np.random.default_rng(0)  # one fixed pair plus rows drawn from the whole table
    picks = [(f"add({o.space.features[0]},{o.space.features[1]})", 1)] + \
            [(archs[i], int(rng.integers(SEEDS))) for i in rng.choice(len(archs), n_drawn, replace=False)]
    for arch, seed in picks:
        hit = o.query(arch, "test_acc", seed=seed)
        fresh = train(o.space.decode(arch), F.open(dataset), seed, PROTOCOLS[protocol])
        assert_retrained_equal({"test_acc": fresh.test_acc, "macro_f1": fresh.macro_f1, "val_curve": fresh.val_curve},
                               {"test_acc": hit, "macro_f1": o.query(arch, "macro_f1", seed=seed),
                                "val_curve": o.result(arch, seed)["val_curve"]},
                               tables_dir() / table_file(dataset, protocol),
                               {"test_acc": 2.0, "macro_f1": 2.0, "val_curve": 2.0})
    assert o.answered_from["trained"] == 0 and o.answered_from["overlay"] == 0


def test_low_data_protocol_is_a_different_recipe_and_subset():
    from bench.families.tree_fusion.trainer import training_subset

    assert PROTOCOLS["low-data"].key != PROTOCOLS["standard"].key
    assert PROTOCOLS["standard"].key == "933f917d609c"  # the key of every shipped standard record
    y = np.repeat(np.arange(4), 50)
    sub = training_subset(y, 0.1)
    assert len(sub) == 20 and np.bincount(y[sub]).tolist() == [5, 5, 5, 5]
    assert np.array_equal(sub, training_subset(y, 0.1))


def test_unknown_protocol_is_named(tmp_path):
    with pytest.raises(Exception, match="unknown training protocol|low-data"):
        bench.open("tree-fusion", "aloi", overlay=tmp_path / "x.sqlite", protocol="tiny")


def test_a_table_hit_is_fast_enough_to_benchmark(tmp_path):
    o = bench.open("tree-fusion", SHIPPED[0][0], overlay=tmp_path / "empty.sqlite", protocol=SHIPPED[0][1])
    a = o.space.features[0]
    assert o.query(a, seed=0) == o.query(a, seed=0)  # second answer from memory; timed in `make bench`
