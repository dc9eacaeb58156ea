import math

import numpy as np
import pandas as pd
import pytest

import bench
from bench.errors import (ArchIndexError, InvalidArchitectureError, MissingValueError, SeedIndexError,
                          UnknownBenchmarkError, UnknownDatasetError, UnknownMetricError)
from bench.families.cells.build_nb201 import naslib_to_string
from tests.conftest import SHARED, needs_shared

COLUMNS = {"cifar10": "CIFAR10TestAccuracy200Epochs", "cifar100": "CIFAR100TestAccuracy200Epochs",
           "ImageNet16-120": "ImageNetTestAccuracy200Epochs"}
PUBLISHED_BEST = {
    "cifar10": (94.37, {"|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
                        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|"}),
    "cifar100": (73.51, {"|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"}),
    "ImageNet16-120": (47.31, {"|nor_conv_1x1~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"}),
}


@needs_shared
@pytest.mark.parametrize("ds", list(COLUMNS))
def test_every_csv_row_round_trips_exactly(nb201_oracles, ds):
    o = nb201_oracles[ds]
    df = pd.read_csv(SHARED / "nats_tss_test_acc_200ep.csv", dtype=str)
    assert len(df) == o.n_arch == 15625
    for text, value in zip(df["ArchitectureString"], df[COLUMNS[ds]]):
        assert o.query(text, "test_acc") == float(value)  # float(str): the CSV's exact value
        assert o.arch(o.row(text)) == text
    vals = o.query_many(df["ArchitectureString"].tolist(), "test_acc")
    assert np.array_equal(vals, df[COLUMNS[ds]].map(float).to_numpy())


@needs_shared
def test_cifar10_validation_column_round_trips(nb201_oracles):
    o = nb201_oracles["cifar10"]
    df = pd.read_csv(SHARED / "nb201_cifar10_val_and_robustness.csv", dtype=str)
    got = o.query_many([naslib_to_string(n) for n in df["net"]], "val_acc")
    assert np.array_equal(got, df["val_accs"].map(float).to_numpy())
    assert o.optimum("val_acc").value == 91.57


@needs_shared
def test_imagenet_validation_has_9445_values_and_nan_elsewhere(nb201_oracles):
    o = nb201_oracles["ImageNet16-120"]
    df = pd.read_csv(SHARED / "nb201_imagenet16_val_9445.csv", dtype=str)
    got = o.query_many(df["net_str"].tolist(), "val_acc")
    assert np.array_equal(got, df["val_accs"].map(float).to_numpy())
    assert int(np.isfinite(o.query_many(np.arange(o.n_arch), "val_acc", on_missing="nan")).sum()) == 9445


@pytest.mark.parametrize("ds", list(PUBLISHED_BEST))
def test_optima_are_the_published_ones(nb201_oracles, ds):
    o = nb201_oracles[ds]
    opt = o.optimum("test_acc")
    value, cells = PUBLISHED_BEST[ds]
    assert round(opt.value, 2) == value
    assert opt.n_ties == len(cells) and opt.arch in cells
    for c in cells:
        assert o.query(c, "test_acc") == opt.value


def test_query_accepts_string_index_and_space_object(nb201_oracles):
    o = nb201_oracles["cifar100"]
    text = o.arch(1234)
    v = o.query(text, "test_acc")
    assert o.query(1234, "test_acc") == v
    assert o.query(np.int64(1234), "test_acc") == v
    assert o.query(o.space.decode(text), "test_acc") == v
    assert o.query(o.space.from_index(1234), "test_acc") == v
    assert isinstance(v, float)


def test_query_many_equals_query(nb201_oracles):
    o = nb201_oracles["cifar10"]
    rows = np.random.default_rng(0).integers(0, o.n_arch, 500)
    many = o.query_many(rows, "test_acc")
    assert [o.query(int(r), "test_acc") for r in rows] == many.tolist()
    assert np.array_equal(o.query_many([o.arch(int(r)) for r in rows], "test_acc"), many)


def test_named_errors(nb201_oracles):
    o = nb201_oracles["cifar10"]
    with pytest.raises(UnknownMetricError, match="test_acc"):
        o.query(0, "accuracy")
    with pytest.raises(ArchIndexError, match="0..15624"):
        o.query(15625)
    with pytest.raises(ArchIndexError):
        o.query_many(np.array([1, 2, 99999]))
    with pytest.raises(InvalidArchitectureError, match="unknown op"):
        o.query("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    with pytest.raises(SeedIndexError, match="valid seeds are 0..0"):
        o.query(0, "test_acc", seed=3)
    with pytest.raises(UnknownDatasetError, match="cifar100"):
        bench.open("nb201", "cifar-10")
    with pytest.raises(UnknownBenchmarkError, match="nb201"):
        bench.open("nb301", "cifar10")


def test_missing_value_raises_or_nan_by_choice(nb201_oracles):
    o = nb201_oracles["ImageNet16-120"]
    dead = o.arch(1)  # node 3 fed only through dead nodes: not among the 9,445 cells with a value
    with pytest.raises(MissingValueError, match="val_acc"):
        o.query(dead, "val_acc")
    assert math.isnan(o.query(dead, "val_acc", on_missing="nan"))
    with pytest.raises(MissingValueError):
        o.query_many([dead], "val_acc")
    assert o.query(dead, "test_acc") > 0


def test_metrics_have_units_and_directions(nb201_oracles):
    o = nb201_oracles["cifar10"]
    assert o.metric_info("test_acc").unit == "%"
    assert o.metric_info("edgegpu_latency").unit == "ms" and o.metric_info("edgegpu_latency").direction == "min"
    assert o.metric_info("edgegpu_energy").unit == "mJ"
    assert "robust_fgsm@Linf_eps-0.1" in o.metrics
    assert "test_acc" in nb201_oracles["cifar100"].metrics and "val_acc" not in nb201_oracles["cifar100"].metrics


def test_frame_is_a_plain_dataframe(nb201_oracles):
    df = nb201_oracles["cifar100"].frame(["test_acc"])
    assert list(df.columns) == ["arch", "test_acc"] and len(df) == 15625


def test_open_shares_an_oracle_until_the_file_changes(tmp_path, monkeypatch):
    import shutil

    from bench.paths import tables_dir

    shutil.copy(tables_dir() / "nb201.h5", tmp_path / "nb201.h5")
    shutil.copy(tables_dir() / "MANIFEST", tmp_path / "MANIFEST")  # a tables folder must vouch for its files
    monkeypatch.setenv("MMNAS_TABLES_DIR", str(tmp_path))
    a = bench.open("nb201", "cifar100")
    assert bench.open("nb201", "cifar100") is a
    assert bench.open("nb201", "cifar100", on_missing="nan") is not a
    shutil.copy(tables_dir() / "nb201.h5", tmp_path / "new.h5")
    (tmp_path / "new.h5").replace(tmp_path / "nb201.h5")  # a rebuild replaces the file
    assert bench.open("nb201", "cifar100") is not a
