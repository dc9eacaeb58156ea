"""Corruption and concurrency: every damaged or foreign byte is refused by name, nothing stored is lost."""

import json
import shutil
import sqlite3
import subprocess
import sys

import numpy as np
import pytest

import bench
import bench.features as F
from bench.families.tree_fusion.build import table_file
from bench.errors import ChecksumError, MissingValueError
from bench.families.tree_fusion.fill import fill
from bench.overlay import CorruptRecordError, Overlay, OverlayError
from bench.paths import data_cache_dir, tables_dir
from bench.tablefile import read_dataset, write_table, ScoreTable, DatasetTable, Metric
from bench.families.tree_fusion.trainer import Recipe

KEY = Overlay.key("scene15", "add(v1,v2)", 7, "r")


@pytest.fixture
def stores(tmp_path, monkeypatch):
    """A private copy of the shipped feature stores (MMNAS_DATA_CACHE points at it)."""
    shutil.copytree(data_cache_dir() / "features", tmp_path / "cache" / "features")
    monkeypatch.setenv("MMNAS_DATA_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "features"


def test_a_store_copied_over_another_is_refused_naming_both(stores):
    shutil.copy(stores / "landuse21.h5", stores / "scene15.h5")
    with pytest.raises(ChecksumError, match=r"scene15\.h5 holds the store 'landuse21', not 'scene15'"):
        F.open("scene15")


def test_an_edited_store_with_recomputed_checksum_is_refused_by_the_manifest(stores):
    from bench.features.store import write_store

    s = F.open("orl")
    views = dict(s.views)
    views["v1"] = views["v1"].copy()
    views["v1"][0, 0] += 1.0
    write_store(stores / "orl.h5", "orl", views, s.labels, s.description, s.provenance)  # internally consistent
    with pytest.raises(ChecksumError, match=r"orl\.h5: its data .* is not what .*MANIFEST records"):
        F.open("orl")


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_a_damaged_store_is_a_named_error(stores, damage):
    path = stores / "msrc.h5"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage == "truncate" else data[:4096] + b"\0" * 8192 + data[12288:])
    with pytest.raises(ChecksumError, match=r"msrc\.h5"):
        F.open("msrc")


def test_a_table_edited_with_recomputed_internal_checksums_is_refused(tmp_path, monkeypatch):
    shutil.copytree(tables_dir(), tmp_path / "tables")
    monkeypatch.setenv("MMNAS_TABLES_DIR", str(tmp_path / "tables"))
    path = tmp_path / "tables" / table_file("scene15")
    archs, metrics, attrs = read_dataset(path, "scene15")
    metrics["test_acc"].values[0, 0] += 1.0
    write_table(ScoreTable("tree-fusion", attrs["space_id"], attrs["space_version"],
                           {"scene15": DatasetTable(archs, metrics)}, json.loads(attrs["provenance"])), path)
    with pytest.raises(ChecksumError, match="is not what .*MANIFEST records"):
        read_dataset(path, "scene15")
    with pytest.raises(ChecksumError):
        bench.open("tree-fusion", "scene15", overlay=tmp_path / "o.sqlite")


def test_a_damaged_table_is_a_named_error(tmp_path):
    path = tmp_path / "t.h5"
    write_table(ScoreTable("toy", "s", "1", {"d": DatasetTable(["a"], {"acc": Metric(np.ones((1, 1)), "%", "max")})}), path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2:] = b"\xff" * (len(data) - len(data) // 2)
    path.write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match=r"t\.h5"):
        read_dataset(path, "d")


def test_a_flipped_digit_in_the_overlay_file_is_an_error_naming_file_and_key(tmp_path):
    path = tmp_path / "o.sqlite"
    ov = Overlay(path)
    ov.put(KEY, "scene15", "add(v1,v2)", 7, "r", {"test_acc": 98.58})
    ov.close()
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the record into the main file, as after any clean exit
    con.close()
    raw = path.read_bytes()
    assert raw.count(b"98.58") == 1
    path.write_bytes(raw.replace(b"98.58", b"99.58"))
    ov = Overlay(path)
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"  # SQLite cannot see it
    with pytest.raises(CorruptRecordError, match=rf"{path}.*{KEY.replace('|', '.').replace('(', '.').replace(')', '.')}"):
        ov.get(KEY)
    assert KEY not in ov.keys()  # so a fill retrains it
    assert ov.put(KEY, "scene15", "add(v1,v2)", 7, "r", {"test_acc": 98.58})
    assert ov.get(KEY) == {"test_acc": 98.58}
    (reason,) = ov._db.execute("SELECT reason FROM quarantine WHERE key = ?", (KEY,)).fetchone()
    assert reason == "corrupt"  # the damaged record is kept aside, not lost


def test_a_record_made_on_another_store_is_never_answered(tmp_path):
    store = F.open("scene15")
    ov = Overlay(tmp_path / "o.sqlite")
    arch = "add(v1,v2)"
    key = Overlay.key("scene15", arch, 5, Recipe().key)
    ov.put(key, "scene15", arch, 5, Recipe().key, {"test_acc": 42.86, "store_sha256": F.open("landuse21").content_sha256})
    ov.close()
    o = bench.open("tree-fusion", "scene15", overlay=tmp_path / "o.sqlite")
    with pytest.raises(MissingValueError):
        o.query(arch, "test_acc", seed=5)  # seed 5 is not in the table; the foreign record must not answer
    ov = Overlay(tmp_path / "o.sqlite")
    ov.bind_store("scene15", store.content_sha256)
    assert ov.get(key) is None and key not in ov.keys()


def test_a_file_that_is_not_sqlite_is_a_named_overlay_error(tmp_path):
    path = tmp_path / "o.sqlite"
    path.write_bytes(b"not a database" * 100)
    with pytest.raises(OverlayError, match=str(path)):
        Overlay(path).get(KEY)


OPEN_AND_PUT = """
import sys, time
from bench.overlay import Overlay
t = float(sys.argv[2])
while time.time() < t:
    pass
ov = Overlay(sys.argv[1])
ov.put(f"d|a{sys.argv[3]}|seed=0|recipe=r", "d", "a", 0, "r", {"x": 1})
print("ok")
"""


def test_processes_opening_a_new_overlay_at_once_all_succeed(tmp_path):
    import time

    start = time.time() + 1.5
    procs = [subprocess.Popen([sys.executable, "-c", OPEN_AND_PUT, str(tmp_path / "new.sqlite"), str(start), str(i)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(4)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [e for _, e in outs]
    assert len(Overlay(tmp_path / "new.sqlite")) == 4


FILL = """
import sys, json
from bench.families.tree_fusion.fill import fill
from bench.families.tree_fusion.space import TreeFusionSpace
import bench.features as F
from bench.families.tree_fusion.trainer import Recipe
s = F.open("aloi")
archs = [TreeFusionSpace(s.view_names, max_leaves=2).encode(t) for t in TreeFusionSpace(s.view_names, max_leaves=2).enumerate()]
r = fill("aloi", archs, 2, workers=1, recipe=Recipe(epochs=1), overlay=sys.argv[1], progress=False, batch=2)
print(json.dumps([r.trained, r.elsewhere, r.already]))
"""


def test_two_fills_on_one_overlay_share_the_work(tmp_path):
    ov = str(tmp_path / "o.sqlite")
    procs = [subprocess.Popen([sys.executable, "-c", FILL, ov], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [e[-2000:] for _, e in outs]
    counts = [json.loads(o.strip().splitlines()[-1]) for o, _ in outs]
    assert sum(c[0] for c in counts) == 68  # 34 trees x 2 seeds, each trained once in all
    assert len(Overlay(ov)) == 68
    assert Overlay(ov)._db.execute("SELECT COUNT(*) FROM claims").fetchone()[0] == 0  # every claim released


def test_bad_search_inputs_are_refused_before_any_work(tmp_path):
    from bench.compare import compare_trained, run_trained
    from bench.families.tree_fusion import open_for_search
    from bench.errors import InvalidArchitectureError

    o = open_for_search("aloi", max_leaves=2, overlay=tmp_path / "o.sqlite")
    for bad in (float("nan"), float("inf"), 0.0, -1.0):
        with pytest.raises(ValueError, match="budget_seconds must be a finite number > 0"):
            run_trained(o, "rs", 0, budget_seconds=bad)
    with pytest.raises(ValueError, match="budget_evals must be a whole number >= 1"):
        run_trained(o, "rs", 0, budget_evals=0)
    with pytest.raises(ValueError, match="max_leaves must be in 1..4"):
        bench.open("tree-fusion", "aloi", max_leaves=0, overlay=tmp_path / "o.sqlite")
    with pytest.raises(InvalidArchitectureError, match="needs max_leaves >= 4; got max_leaves=2"):
        compare_trained("tree-fusion", "aloi", ["rs", "csgnas"], [0], 5.0, max_leaves=2, overlay=tmp_path / "o.sqlite", progress=False)
    assert len(Overlay(tmp_path / "o.sqlite")) == 0  # rs did not run first


def test_compare_refuses_an_out_folder_holding_an_earlier_comparison_before_any_run(tmp_path, capsys):
    from bench.cli import main

    out = tmp_path / "c"
    argv = ["compare", "--bench", "nb201", "--algo", "rs", "--seeds", "1", "--budget", "5", "--no-progress",
            "--out", str(out)]
    assert main(argv) == 0
    before = sorted(p.name for p in (out / "records").iterdir())
    assert main(argv) == 2 and "already holds the run records" in capsys.readouterr().err
    assert sorted(p.name for p in (out / "records").iterdir()) == before
