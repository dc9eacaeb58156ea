import signal
import subprocess
import sys
import textwrap
import time

import h5py
import numpy as np
import pytest

from bench.errors import ChecksumError, SpecError, TableMissingError, UnknownDatasetError
from bench.tablefile import DatasetTable, Metric, ScoreTable, read_dataset, write_table


def small_table(n=5, value=1.0) -> ScoreTable:
    archs = [f"a{i}" for i in range(n)]
    m = {
        "acc": Metric(np.arange(n, dtype=float)[:, None] + value, "%", "max", "accuracy"),
        "curve": Metric(np.ones((n, 2, 3)), "%", "max", "per-epoch curve"),
        "cost": Metric(np.full(n, np.nan), "s", "min"),
    }
    return ScoreTable("toy", "toy-space", "1", {"d1": DatasetTable(archs, m, "toy")}, {"command": "test"})


def test_round_trip(tmp_path):
    p = tmp_path / "t.h5"
    write_table(small_table(), p)
    archs, metrics, attrs = read_dataset(p, "d1")
    assert archs == [f"a{i}" for i in range(5)]
    assert metrics["acc"].values.shape == (5, 1)
    assert metrics["curve"].values.shape == (5, 2, 3)
    assert metrics["acc"].unit == "%" and metrics["cost"].direction == "min"
    assert np.isnan(metrics["cost"].values).all()
    assert int(attrs["schema_version"]) == 1 and attrs["benchmark"] == "toy"


def test_edited_value_is_refused_with_the_file_named(tmp_path):
    p = tmp_path / "t.h5"
    write_table(small_table(), p)
    with h5py.File(p, "r+") as f:
        f["d1/acc"][2, 0] = 99.0
    with pytest.raises(ChecksumError, match=str(p)):
        read_dataset(p, "d1")


def test_edited_unit_is_refused(tmp_path):
    p = tmp_path / "t.h5"
    write_table(small_table(), p)
    with h5py.File(p, "r+") as f:
        f["d1"].attrs["metrics_json"] = f["d1"].attrs["metrics_json"].replace('"%"', '"fraction"', 1)
    with pytest.raises(ChecksumError):
        read_dataset(p, "d1")


def test_missing_table_names_the_build_command(tmp_path):
    with pytest.raises(TableMissingError, match="mmnas-bench tables build toy"):
        read_dataset(tmp_path / "none.h5", "d1", build_hint="mmnas-bench tables build toy")


def test_unknown_dataset_lists_choices(tmp_path):
    p = tmp_path / "t.h5"
    write_table(small_table(), p)
    with pytest.raises(UnknownDatasetError, match="'d1'"):
        read_dataset(p, "d2")


def test_garbage_file_is_refused(tmp_path):
    p = tmp_path / "t.h5"
    p.write_bytes(b"not hdf5 at all")
    with pytest.raises(ChecksumError, match="cannot be read"):
        read_dataset(p, "d1")


def test_bad_metric_shapes_and_directions():
    with pytest.raises(SpecError, match="direction"):
        Metric(np.ones(3), "%", "up")
    with pytest.raises(SpecError, match="rows"):
        DatasetTable(["a", "b"], {"m": Metric(np.ones(3), "%", "max")})


def test_process_killed_mid_write_leaves_previous_table_intact(tmp_path):
    p = tmp_path / "t.h5"
    write_table(small_table(value=1.0), p)
    script = textwrap.dedent(f"""
        import numpy as np
        from bench.tablefile import DatasetTable, Metric, ScoreTable, write_table
        n = 400_000
        big = ScoreTable("toy", "toy-space", "1", {{"d1": DatasetTable([f"a{{i}}" for i in range(n)],
              {{f"m{{k}}": Metric(np.random.rand(n, 3), "%", "max") for k in range(40)}})}})
        print("start", flush=True)
        while True:
            write_table(big, {str(p)!r})
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "start"
    time.sleep(1.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    archs, metrics, _ = read_dataset(p, "d1")  # verifies the checksum
    assert len(archs) in (5, 400_000)
    if len(archs) == 5:
        assert metrics["acc"].values[0, 0] == 1.0
