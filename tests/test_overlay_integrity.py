"""Overlay integrity, second pass: keys bound into digests, unreadable records repaired, lost
-wal files detected, dead fills' claims taken over, and overlays moved with export/import/check."""

from __future__ import annotations

import json
import shutil
import sqlite3

import pytest

import bench.overlay as overlay_mod
from bench.cli import main
from bench.core.fill import fill
from bench.overlay import (CorruptRecordError, LostRecordsError, Overlay, OverlayError, check_overlay,
                           export_overlay, import_overlay, ledger_path, payload_sha256)
from tests.test_core_fill import FakeTrainer


def _key(seed: int) -> str:
    return Overlay.key("scene15", "add(v2,v3)", seed, "r")


def _filled(path, seeds=(1, 2)) -> None:
    ov = Overlay(path)
    for s in seeds:
        ov.put(_key(s), "scene15", "add(v2,v3)", s, "r", {"test_acc": 88.0 + s})
    ov.close()


def test_a_record_moved_to_another_seeds_key_is_not_answered(tmp_path):
    path = tmp_path / "o.sqlite"
    _filled(path, seeds=(1,))
    con = sqlite3.connect(path)
    with con:
        con.execute("UPDATE records SET key = ?, seed = 3 WHERE key = ?", (_key(3), _key(1)))
    con.close()
    ov = Overlay(path)
    with pytest.raises(CorruptRecordError, match="seed=3"):
        ov.get(_key(3))
    assert ov.keys() == set()  # so a fill retrains both


@pytest.mark.parametrize("where", range(4))
def test_a_flipped_digit_in_a_key_is_never_answered(tmp_path, where):
    path = tmp_path / "o.sqlite"
    _filled(path, seeds=(1,))
    raw = path.read_bytes()
    key = _key(1).encode()
    assert raw.count(key) >= 1
    flipped = bytearray(key)
    digits = [i for i, c in enumerate(flipped) if chr(c).isdigit()]
    i = digits[where % len(digits)]
    flipped[i] = ord("9") if flipped[i] != ord("9") else ord("8")
    path.write_bytes(raw.replace(key, bytes(flipped)))
    ov = Overlay(path, refuse_lost=False)
    for k in (bytes(flipped).decode(), _key(1)):
        try:
            assert ov.get(k) is None
        except CorruptRecordError:
            pass
    assert ov.keys() == set()


def _damage_payload(path, old: bytes, new: bytes) -> None:
    raw = path.read_bytes()
    assert raw.count(old) == 1
    path.write_bytes(raw.replace(old, new))


def test_a_non_utf8_byte_in_a_record_is_quarantined_and_refilled(tmp_path):
    path = tmp_path / "o.sqlite"
    trainer = FakeTrainer()
    archs = ["g:a", "g:b"]
    assert fill(trainer, "d", archs, 1, overlay=str(path), progress=False).trained == 2
    ov = Overlay(path)
    score = json.dumps(ov.get(trainer.key("d", "g:a", 0))["score"]).encode()
    ov.close()
    _damage_payload(path, score, b"\xff" + score[1:])
    with pytest.raises(CorruptRecordError):
        Overlay(path).get(trainer.key("d", "g:a", 0))
    rep = fill(trainer, "d", archs, 1, overlay=str(path), progress=False)  # exited 2 before
    assert rep.trained == 1
    ov = Overlay(path)
    assert ov.keys() == {trainer.key("d", a, 0) for a in archs}
    assert ov._db.execute("SELECT reason FROM quarantine").fetchall() == [("corrupt",)]
    assert check_overlay(path).ok


def test_check_lists_and_repairs_unreadable_records(tmp_path, capsys):
    path = tmp_path / "o.sqlite"
    _filled(path)
    _damage_payload(path, b"89.0", b"\xfe9.0")
    rep = check_overlay(path)
    assert not rep.ok and rep.corrupt == [_key(1)]
    assert main(["overlay", "check", str(path)]) == 1
    assert "1 corrupt" in capsys.readouterr().out
    assert check_overlay(path, repair=True).corrupt == []
    assert check_overlay(path).ok and len(Overlay(path)) == 1


def test_records_in_a_lost_wal_file_are_reported_not_forgotten(tmp_path):
    path = tmp_path / "o.sqlite"
    ov = Overlay(path)
    reader = sqlite3.connect(path)
    reader.execute("BEGIN")
    reader.execute("SELECT COUNT(*) FROM records").fetchone()  # a reader pins the -wal: no checkpoint completes
    for s in range(5):
        ov.put(_key(s), "scene15", "add(v2,v3)", s, "r", {"test_acc": float(s)})
    copy = tmp_path / "copy.sqlite"
    shutil.copy(path, copy)  # the .sqlite and its ledger, not the -wal
    shutil.copy(ledger_path(path), ledger_path(copy))
    reader.close()
    ov.close()
    with pytest.raises(LostRecordsError, match=r"5 committed record\(s\).*--forget-lost"):
        Overlay(copy)
    assert check_overlay(copy).lost == 5
    assert main(["overlay", "check", str(copy), "--forget-lost"]) == 0
    assert len(Overlay(copy)) == 0  # opens again, knowing what it lost


def test_closing_moves_every_record_into_the_main_file(tmp_path):
    path = tmp_path / "o.sqlite"
    _filled(path, seeds=range(20))
    copy = tmp_path / "copy.sqlite"
    shutil.copy(path, copy)  # the main file alone, as a careless backup would
    assert len(Overlay(copy)) == 20


def test_an_empty_or_missing_overlay_with_a_ledger_is_an_error(tmp_path):
    path = tmp_path / "o.sqlite"
    _filled(path)
    path.write_bytes(b"")
    with pytest.raises(OverlayError, match="0-byte"):
        Overlay(path)
    path.unlink()
    with pytest.raises(LostRecordsError, match="is missing but its ledger"):
        Overlay(path)


def test_a_version_1_overlay_is_upgraded_and_its_moved_records_quarantined(tmp_path):
    path = tmp_path / "old.sqlite"
    con = sqlite3.connect(path)
    con.execute(overlay_mod.SCHEMA[0])
    for s in (1, 2):
        text = json.dumps({"test_acc": 88.0 + s})
        con.execute("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (_key(s), "scene15", "add(v2,v3)", s, "r", text, payload_sha256(text)))
    con.execute("UPDATE records SET key = ? WHERE key = ?", (_key(5), _key(2)))  # moved, columns say seed 2
    con.commit()
    con.close()
    ov = Overlay(path)
    assert ov.get(_key(1)) == {"test_acc": 89.0}
    assert ov.get(_key(5)) is None
    assert ov._db.execute("SELECT reason FROM quarantine").fetchall() == [("key does not match its record",)]
    assert ov._db.execute("PRAGMA user_version").fetchone()[0] == overlay_mod.VERSION


def test_a_running_fill_takes_over_the_claims_of_a_fill_that_died(tmp_path, monkeypatch):
    path = tmp_path / "o.sqlite"
    trainer = FakeTrainer()
    archs = [f"g:{i}" for i in range(6)]
    ov = Overlay(path)
    ghost = "elsewhere-host:1"  # another fill's claims on 4 of the 6
    assert len(ov.claim([trainer.key("d", a, 0) for a in archs[2:]], owner=ghost)) == 4
    ov.close()
    alive = {"calls": 0}

    def owner_alive(owner):  # the other fill is alive while this one starts, then dies
        alive["calls"] += 1
        return owner != ghost or alive["calls"] <= 4

    monkeypatch.setattr(overlay_mod, "_owner_alive", owner_alive)
    rep = fill(trainer, "d", archs, 1, overlay=str(path), progress=False, batch=1)
    assert (rep.trained, rep.elsewhere) == (6, 0)
    assert Overlay(path).keys() == {trainer.key("d", a, 0) for a in archs}


def test_export_then_import_moves_every_record(tmp_path, capsys):
    path = tmp_path / "o.sqlite"
    _filled(path, seeds=range(4))
    out = tmp_path / "backup.sqlite"
    assert main(["overlay", "export", str(path), str(out)]) == 0
    assert "4 good" in capsys.readouterr().out
    with pytest.raises(OverlayError, match="already exists"):
        export_overlay(path, out)
    other = tmp_path / "other.sqlite"
    _filled(other, seeds=(3, 9))
    assert import_overlay(out, other) == {"added": 3, "present": 1, "refused": 0}
    assert Overlay(other).keys() == {_key(s) for s in (0, 1, 2, 3, 9)}
    assert main(["overlay", "import", str(out), "--into", str(other)]) == 0
    assert "0 added, 4 already there, 0 refused" in capsys.readouterr().out


def test_overlay_commands_name_a_missing_file(tmp_path, capsys):
    assert main(["overlay", "check", str(tmp_path / "nope.sqlite")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_tests_never_write_the_users_overlays(tmp_path):
    import os

    import bench
    from bench.overlay import overlay_path
    from bench.paths import REPO_ROOT

    user = REPO_ROOT / "data_cache" / "overlay"
    before = {p.name: p.stat().st_mtime_ns for p in user.glob("*")} if user.exists() else {}
    for name in ("tree-fusion", "mro", "rmnas", "hfmnas"):
        assert not overlay_path(name).resolve().is_relative_to(user.resolve())
        assert overlay_path(name).parent == __import__("pathlib").Path(os.environ["MMNAS_OVERLAY_DIR"])
    bench.open("tree-fusion", "scene15")  # the default overlay, opened (so created) here
    assert overlay_path("tree-fusion").exists()
    after = {p.name: p.stat().st_mtime_ns for p in user.glob("*")} if user.exists() else {}
    assert after == before


@pytest.mark.parametrize("argv", [
    ["overlay", "check", ""], ["overlay", "check", "/proc/self/o.sqlite"], ["overlay", "frobnicate", "x"],
    ["overlay", "export", "{tmp}/o.sqlite"], ["overlay", "import", "{tmp}/o.sqlite", "{tmp}/b.sqlite"],
    ["overlay", "export", "{tmp}/o.sqlite", "{tmp}/o.sqlite"], ["overlay", "check", "{tmp}/o.sqlite", "--into", "x"],
    ["overlay", "export", "{tmp}/o.sqlite", "{tmp}/c.sqlite", "--repair"], ["overlay", "import", "{tmp}/nope.sqlite"],
    ["overlay", "check", "{tmp}"],
])
def test_bad_overlay_commands_exit_2_with_one_line(tmp_path, capsys, argv):
    _filled(tmp_path / "o.sqlite")
    rc = main([a.format(tmp=tmp_path) for a in argv])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err and err.strip().splitlines()[-1].startswith(("mmnas-bench", "usage"))
