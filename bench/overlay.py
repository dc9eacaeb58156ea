"""The user's overlay of trained results (``data_cache/overlay/<benchmark>.sqlite``).

SQLite in WAL mode with synchronous=FULL, one transaction per record: a process killed
mid-write leaves every committed record readable and the file openable (SQLite's own
guarantee), and the primary key means a record is never stored twice. Only the process that
owns the :class:`Overlay` writes records; fill workers send results back to it.

Integrity, beyond SQLite's own:

* every record's digest covers its key and its payload (``sha256(key + "\\n" + payload)``),
  verified on each read: a flipped bit, an unreadable byte or a record moved to another key
  is a :class:`CorruptRecordError` naming the file and key, never a number, and a fill
  retrains it;
* a record names the feature store it was trained on (``store_sha256``); an overlay bound
  to a store (:meth:`Overlay.bind_store`) never answers from a record made on other data;
* refused records (corrupt, or made on other data) are moved to the ``quarantine`` table
  when a new result replaces them, so nothing stored is silently lost;
* committed records survive a lost ``-wal`` file: each commit is checkpointed into the main
  file, and the key of each is appended to a ledger beside it (``<file>-ledger``), so a
  record missing from the database is reported (:class:`LostRecordsError`), not forgotten;
* concurrent fills share work through ``claims`` (one row per key being trained, with its
  owner's host and pid; a dead owner's claims are taken over).

Overlays are moved and backed up with :func:`export_overlay` / :func:`import_overlay` and
checked with :func:`check_overlay` (``mmnas-bench overlay export|import|check``).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from bench.core.keys import KeyFormatError, RecordKey
from bench.errors import BenchError
from bench.paths import overlay_dir

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS records (
        key TEXT PRIMARY KEY,
        dataset TEXT NOT NULL,
        arch TEXT NOT NULL,
        seed INTEGER NOT NULL,
        recipe TEXT NOT NULL,
        result TEXT NOT NULL
    , sha256 TEXT)""",
    """CREATE TABLE IF NOT EXISTS quarantine (
        key TEXT NOT NULL, result TEXT, sha256 TEXT, reason TEXT NOT NULL, moved_at REAL NOT NULL
    )""",
    "CREATE TABLE IF NOT EXISTS claims (key TEXT PRIMARY KEY, owner TEXT NOT NULL, claimed_at REAL NOT NULL)",
]
#: ``PRAGMA user_version`` of an overlay whose digests cover key and payload (1: payload only)
VERSION = 2
#: how long a first open waits for other processes that are creating the same file
OPEN_TIMEOUT = 60.0


class OverlayError(BenchError):
    """The overlay file cannot be used (not SQLite, damaged, locked); the message names it."""


class CorruptRecordError(OverlayError):
    """A record whose key and payload do not match its digest, or that cannot be read."""


class LostRecordsError(OverlayError):
    """Records the ledger says were committed are not in the database (a lost ``-wal`` file)."""


def overlay_path(benchmark: str) -> Path:
    """The default overlay of a benchmark: ``data_cache/overlay/<benchmark>.sqlite`` ($MMNAS_OVERLAY_DIR)."""
    return overlay_dir() / f"{benchmark}.sqlite"


def ledger_path(path: str | Path) -> Path:
    """The append-only list of committed keys kept beside an overlay file."""
    return Path(f"{path}-ledger")


def record_digest(key: str | bytes, payload: str | bytes) -> str:
    """The digest stored with a record: its key and its payload, so neither can change alone."""
    k = key.encode() if isinstance(key, str) else key
    p = payload.encode() if isinstance(payload, str) else payload
    return hashlib.sha256(k + b"\n" + p).hexdigest()


def payload_sha256(text: str | bytes) -> str:
    """The digest of overlays before version 2 (payload only); read once, when they are upgraded."""
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def _key_tag(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def owner_id() -> str:
    """Who holds a claim: this host and process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _owner_alive(owner: str) -> bool:
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname():
        return True  # another machine's claim: assume it works until that machine's fill releases it
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError, OverflowError):
        return True
    return True


def _text(raw) -> str | None:
    """A column read as bytes, decoded; None when it is not UTF-8 (a damaged byte)."""
    if raw is None or isinstance(raw, str):
        return raw
    try:
        return bytes(raw).decode()
    except UnicodeDecodeError:
        return None


def _create(path: Path) -> None:
    """Create a new overlay file whole: built aside, then linked into place, so no process ever
    sees a half-made file and an empty (0-byte) file is always damage."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.new")
    tmp.unlink(missing_ok=True)
    db = sqlite3.connect(tmp)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        with db:
            for stmt in SCHEMA:
                db.execute(stmt)
            db.execute(f"PRAGMA user_version = {VERSION}")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()
    for side in ("-wal", "-shm"):
        Path(f"{tmp}{side}").unlink(missing_ok=True)
    try:
        os.link(tmp, path)  # fails if another process made it first: theirs is kept
    except FileExistsError:
        pass
    except OSError:  # a file system without hard links
        if not path.exists():
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class Overlay:
    def __init__(self, path: str | Path, refuse_lost: bool = True):
        """Open (creating if absent) the overlay file ``path``. ``refuse_lost=False`` opens one whose
        ledger lists records that are gone (for :func:`check_overlay` to report and repair)."""
        self.path = Path(path)
        self.ledger = ledger_path(self.path)
        self._stores: dict[str, str] = {}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.path.is_dir():
                raise OverlayError(f"overlay {self.path} is a folder, not an overlay file")
            if not self.path.exists():
                if self.ledger.exists() and self.ledger.stat().st_size:
                    raise LostRecordsError(
                        f"overlay {self.path} is missing but its ledger {self.ledger} lists committed records: restore "
                        f"the file, or delete {self.ledger.name} too to start a new overlay")
                _create(self.path)
            elif self.path.stat().st_size == 0:
                raise OverlayError(f"overlay {self.path} is an empty (0-byte) file, not an overlay: it was truncated. "
                                   "Restore it from a backup (`mmnas-bench overlay export` makes one), or delete it "
                                   "and its -ledger to start a new overlay")
        except OSError as exc:
            raise OverlayError(f"overlay {self.path}: cannot create or read it ({exc.strerror or exc})") from None
        deadline = time.monotonic() + OPEN_TIMEOUT
        self._db = None
        while True:  # several processes may open (and upgrade) the same file at once: wait for each other
            try:
                self._db = sqlite3.connect(self.path, timeout=OPEN_TIMEOUT)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=FULL")
                if self._db.execute("PRAGMA user_version").fetchone()[0] < VERSION or not self.ledger.exists():
                    self._db.execute("BEGIN IMMEDIATE")  # one process at a time upgrades the file
                    try:
                        self._upgrade()
                        self._db.execute("COMMIT")
                    except BaseException:
                        self._db.execute("ROLLBACK")
                        raise
                break
            except sqlite3.OperationalError as exc:
                if self._db is not None:
                    self._db.close()
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise OverlayError(f"overlay {self.path}: cannot open it ({exc})") from None
                time.sleep(0.05)
            except sqlite3.DatabaseError as exc:
                if self._db is not None:
                    self._db.close()
                raise OverlayError(f"overlay {self.path} is not a usable SQLite database ({exc}); move it aside "
                                   "to start a new overlay") from None
        lost = self.lost() if refuse_lost else ()
        # a record whose key was damaged leaves its ledger entry unmatched too: that is a corrupt
        # record (refused on read, retrained by a fill), not a lost one
        if lost and len(lost) > self._damaged():
            self._db.close()
            raise LostRecordsError(
                f"overlay {self.path}: {len(lost)} committed record(s) listed in {self.ledger.name} are not in the "
                f"database (its -wal file was lost, or only the .sqlite file was copied). Put the -wal file back "
                f"beside it, or run `mmnas-bench overlay check {self.path} --forget-lost` to go on without them "
                "(a fill retrains them)")

    # ---- format upgrades and the ledger ----------------------------------------------------
    def _upgrade(self) -> None:
        """Bring an older file to :data:`VERSION` (inside the caller's transaction) and write its
        ledger if it has none. Version 1 records are verified by their payload digest and their key
        against their own columns before being stamped with a key-bound digest; any that fail go to
        quarantine."""
        db = self._db
        for stmt in SCHEMA:
            db.execute(stmt)
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version < VERSION:
            cols = [r[1] for r in db.execute("PRAGMA table_info(records)")]
            if "sha256" not in cols:  # files from before payload checksums
                db.execute("ALTER TABLE records ADD COLUMN sha256 TEXT")
            rows = db.execute("SELECT rowid, CAST(key AS BLOB), dataset, arch, seed, recipe, CAST(result AS BLOB), "
                              "sha256 FROM records").fetchall()
            for rowid, kb, dataset, arch, seed, recipe, rb, sha in rows:
                key, text = _text(kb), _text(rb)
                reason = ""
                if key is None or text is None:
                    reason = "unreadable"
                elif "sha256" in cols and sha != payload_sha256(rb):
                    reason = "corrupt"
                else:
                    try:
                        k = RecordKey.parse(key)
                        if (k.dataset, k.arch, k.seed) != (dataset, arch, seed) or recipe not in (k.recipe, k.lineage):
                            reason = "key does not match its record"
                    except KeyFormatError:
                        pass  # not a model key (a search's cached outcome): its columns are free text
                if reason:
                    db.execute("INSERT INTO quarantine VALUES (?, ?, ?, ?, ?)", (kb, rb, sha, reason, time.time()))
                    db.execute("DELETE FROM records WHERE rowid = ?", (rowid,))
                else:
                    db.execute("UPDATE records SET sha256 = ? WHERE rowid = ?", (record_digest(kb, rb), rowid))
            db.execute(f"PRAGMA user_version = {VERSION}")
        if not self.ledger.exists():
            keys = [_text(k) for (k,) in db.execute("SELECT CAST(key AS BLOB) FROM records")]
            tmp = self.ledger.with_name(f".{self.ledger.name}.{os.getpid()}.new")
            tmp.write_text("".join(f"{_key_tag(k)}\n" for k in sorted(k for k in keys if k is not None)))
            os.replace(tmp, self.ledger)

    def _ledger_tags(self) -> set[str]:
        try:
            raw = self.ledger.read_bytes()
        except FileNotFoundError:
            return set()
        # a kill mid-append can leave a partial last line: only whole 16-hex lines count
        return {t for t in raw.decode("ascii", "replace").split("\n") if len(t) == 16}

    def lost(self) -> set[str]:
        """Ledger tags of committed records that are neither in the database nor in quarantine."""
        tags = self._ledger_tags()
        if not tags:
            return set()
        with self._sql() as db:
            present = {_key_tag(k) for (kb,) in db.execute("SELECT CAST(key AS BLOB) FROM records UNION ALL "
                                                            "SELECT CAST(key AS BLOB) FROM quarantine")
                       if (k := _text(kb)) is not None}
        return tags - present

    def _damaged(self) -> int:
        """How many records fail their digest (or cannot be read)."""
        bad = 0
        for k, raw, sha in self._rows():
            bad += k is None or sha != record_digest(k, raw)
        return bad

    def forget_lost(self) -> int:
        """Rewrite the ledger without the records it lists that are gone; returns how many."""
        lost = self.lost()
        if lost:
            keep = sorted(self._ledger_tags() - lost)
            tmp = self.ledger.with_name(f".{self.ledger.name}.{os.getpid()}.new")
            tmp.write_text("".join(f"{t}\n" for t in keep))
            os.replace(tmp, self.ledger)
        return len(lost)

    def _append_ledger(self, key: str) -> None:
        fd = os.open(self.ledger, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{_key_tag(key)}\n".encode())  # one small O_APPEND write: whole even with several writers
            os.fsync(fd)
        finally:
            os.close(fd)

    @staticmethod
    def key(dataset: str, arch: str, seed: int, recipe_key: str) -> str:
        """The key text of a from-scratch result (:class:`bench.core.keys.RecordKey`)."""
        return RecordKey(dataset, arch, seed, recipe_key).text

    @contextmanager
    def _sql(self) -> Iterator[sqlite3.Connection]:
        try:
            yield self._db
        except sqlite3.DatabaseError as exc:
            raise OverlayError(f"overlay {self.path}: {exc}") from None

    def bind_store(self, dataset: str, store_sha256: str) -> None:
        """Answer ``dataset``'s records only when made on the store with this content checksum.

        Records from before stores were recorded carry no checksum and are answered: they were
        trained on the shipped stores, and a store that is not the shipped one is refused on open.
        """
        self._stores[dataset] = store_sha256

    def _check(self, key: str, raw, sha: str | None) -> dict:
        raw = raw.encode() if isinstance(raw, str) else bytes(raw)
        if sha != record_digest(key, raw):
            raise CorruptRecordError(f"overlay {self.path}: record {key!r} is corrupt (its key and payload do not "
                                     "match its digest); `mmnas-bench fill` retrains it (`mmnas-bench overlay check` "
                                     "lists every damaged record)")
        try:
            return json.loads(raw.decode())
        except ValueError:
            raise CorruptRecordError(f"overlay {self.path}: record {key!r} is not valid JSON") from None

    def _foreign(self, key: str, rec: dict) -> bool:
        """True if the record was made on another store than the one bound for its dataset."""
        try:
            expected = self._stores.get(RecordKey.parse(key).dataset)
        except KeyFormatError:  # not a model's key (a search's cached outcome, say): bound to no store
            return False
        made_on = rec.get("store_sha256") if isinstance(rec, dict) else None
        return expected is not None and made_on is not None and made_on != expected

    def _answers(self, key: str) -> bool:
        """True if a good record of this store is there (not corrupt, not foreign)."""
        try:
            return self.get(key) is not None
        except CorruptRecordError:
            return False

    def get(self, key: str) -> dict | None:
        """The record, or None; a corrupt one raises :class:`CorruptRecordError`."""
        with self._sql() as db:
            row = db.execute("SELECT CAST(result AS BLOB), CAST(sha256 AS BLOB) FROM records WHERE key = ?",
                             (key,)).fetchone()
        if row is None:
            return None
        rec = self._check(key, row[0], _text(row[1]))
        return None if self._foreign(key, rec) else rec

    def _rows(self) -> list[tuple[str | None, bytes, str | None]]:
        """``(key or None when unreadable, payload bytes, digest)`` of every record."""
        with self._sql() as db:
            rows = db.execute("SELECT CAST(key AS BLOB), CAST(result AS BLOB), CAST(sha256 AS BLOB) "
                              "FROM records").fetchall()
        return [(_text(k), r, _text(s)) for k, r, s in rows]

    def keys(self) -> set[str]:
        """Keys of the records that can be answered (corrupt and foreign ones left out, so a fill retrains them)."""
        out = set()
        for k, raw, sha in self._rows():
            if k is None:
                continue
            try:
                if not self._foreign(k, self._check(k, raw, sha)):
                    out.add(k)
            except CorruptRecordError:
                pass
        return out

    def put(self, key: str, dataset: str, arch: str, seed: int, recipe_key: str, result: dict) -> bool:
        """Store one record in its own transaction; False if a good one was already there.

        A corrupt or foreign record under the key is moved to ``quarantine`` and replaced.
        The key's claim, if any, is released in the same transaction.
        """
        text = json.dumps(result, sort_keys=True)
        with self._sql() as db, db:
            old = db.execute("SELECT CAST(result AS BLOB), CAST(sha256 AS BLOB) FROM records WHERE key = ?",
                             (key,)).fetchone()
            if old is not None:
                old = (old[0], _text(old[1]))
                try:
                    reason = "made on another feature store" if self._foreign(key, self._check(key, *old)) else ""
                except CorruptRecordError:
                    reason = "corrupt"
                if not reason:
                    db.execute("DELETE FROM claims WHERE key = ?", (key,))
                    return False
                db.execute("INSERT INTO quarantine VALUES (?, ?, ?, ?, ?)", (key, *old, reason, time.time()))
                db.execute("DELETE FROM records WHERE key = ?", (key,))
            db.execute("INSERT INTO records (key, dataset, arch, seed, recipe, result, sha256) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (key, dataset, arch, seed, recipe_key, text, record_digest(key, text)))
            db.execute("DELETE FROM claims WHERE key = ?", (key,))
        self._append_ledger(key)
        with self._sql() as db:  # into the main file now: a copy of it alone, or a lost -wal, keeps the record
            db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        return True

    # ---- work sharing between concurrent fills --------------------------------------------
    def claim(self, keys: list[str], owner: str | None = None) -> list[str]:
        """Claim the keys that have no record and no live claim; returns those now held by ``owner``."""
        owner = owner or owner_id()
        got = []
        with self._sql() as db:
            db.execute("BEGIN IMMEDIATE")  # one claimer at a time: no key is handed out twice
            try:
                for k in keys:
                    if self._answers(k):
                        continue
                    row = db.execute("SELECT owner FROM claims WHERE key = ?", (k,)).fetchone()
                    if row is not None and row[0] != owner and _owner_alive(row[0]):
                        continue
                    db.execute("INSERT OR REPLACE INTO claims VALUES (?, ?, ?)", (k, owner, time.time()))
                    got.append(k)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return got

    def release(self, owner: str | None = None) -> None:
        """Drop every claim of ``owner`` (default: this process)."""
        with self._sql() as db, db:
            db.execute("DELETE FROM claims WHERE owner = ?", (owner or owner_id(),))

    def claimed_elsewhere(self, keys: list[str], owner: str | None = None) -> int:
        """How many of ``keys`` are claimed by another live fill."""
        owner = owner or owner_id()
        with self._sql() as db:
            rows = db.execute("SELECT key, owner FROM claims").fetchall()
        wanted = set(keys)
        return sum(1 for k, o in rows if k in wanted and o != owner and _owner_alive(o))

    def __len__(self) -> int:
        with self._sql() as db:
            return db.execute("SELECT COUNT(*) FROM records").fetchone()[0]

    def close(self) -> None:
        """Close, moving every committed record into the main file first (so copying it alone is safe)."""
        try:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.DatabaseError:
            pass  # read-only or busy: the records are still in the -wal file, which the ledger guards
        self._db.close()


# ---- moving, backing up and checking overlays ---------------------------------------------
@dataclass
class OverlayCheck:
    path: Path
    records: int = 0
    good: int = 0
    corrupt: list[str] = field(default_factory=list)  # keys (or '<unreadable key>')
    quarantined: int = 0
    lost: int = 0
    claims_live: int = 0
    claims_dead: int = 0

    @property
    def ok(self) -> bool:
        return not self.corrupt and not self.lost

    def lines(self) -> list[str]:
        out = [f"{self.path}: {self.records} record(s), {self.good} good, {len(self.corrupt)} corrupt, "
               f"{self.quarantined} in quarantine, {self.lost} lost, claims {self.claims_live} live / "
               f"{self.claims_dead} dead"]
        out += [f"  corrupt: {k}" for k in self.corrupt[:10]]
        if len(self.corrupt) > 10:
            out.append(f"  ... {len(self.corrupt) - 10} more")
        if self.corrupt:
            out.append("  `mmnas-bench overlay check --repair` moves them to quarantine; a fill retrains them")
        if self.lost:
            out.append("  lost records: put the -wal file back, or `--forget-lost` to go on without them")
        return out


def check_overlay(path: str | Path, repair: bool = False, forget_lost: bool = False) -> OverlayCheck:
    """Verify every record of an overlay (digest over key and payload, JSON), its ledger and claims.

    ``repair`` moves corrupt records to quarantine (a fill then retrains them); ``forget_lost``
    drops gone records from the ledger so the overlay opens again.
    """
    path = Path(path)
    if not path.exists():
        raise OverlayError(f"overlay {path} does not exist")
    ov = Overlay(path, refuse_lost=False)
    try:
        rep = OverlayCheck(path)
        bad_rows = []
        with ov._sql() as db:
            rows = db.execute("SELECT rowid, CAST(key AS BLOB), CAST(result AS BLOB), CAST(sha256 AS BLOB) "
                              "FROM records").fetchall()
            rep.quarantined = db.execute("SELECT COUNT(*) FROM quarantine").fetchone()[0]
            claims = db.execute("SELECT owner FROM claims").fetchall()
        rep.records = len(rows)
        for rowid, kb, rb, sb in rows:
            k = _text(kb)
            try:
                if k is None:
                    raise CorruptRecordError("unreadable key")
                ov._check(k, rb, _text(sb))
                rep.good += 1
            except CorruptRecordError:
                rep.corrupt.append(k if k is not None else f"<unreadable key {bytes(kb)[:40]!r}>")
                bad_rows.append((rowid, kb, rb, _text(sb)))
        rep.claims_live = sum(_owner_alive(o) for (o,) in claims)
        rep.claims_dead = len(claims) - rep.claims_live
        if repair and bad_rows:
            with ov._sql() as db, db:
                for rowid, kb, rb, sha in bad_rows:
                    db.execute("INSERT INTO quarantine VALUES (?, ?, ?, ?, ?)", (kb, rb, sha, "corrupt", time.time()))
                    db.execute("DELETE FROM records WHERE rowid = ?", (rowid,))
            rep.records -= len(bad_rows)
            rep.quarantined += len(bad_rows)
            rep.corrupt = []
        if forget_lost:
            ov.forget_lost()
        rep.lost = len(ov.lost())
        return rep
    finally:
        ov.close()


def export_overlay(path: str | Path, out: str | Path) -> OverlayCheck:
    """Copy an overlay, whole and consistent, into one new file ``out`` (with its ledger):
    SQLite's online backup, safe while fills write. Refuses to overwrite; returns the copy's check."""
    path, out = Path(path), Path(out)
    if out.exists() or ledger_path(out).exists():
        raise OverlayError(f"{out} already exists: export writes a new file only")
    ov = Overlay(path)
    try:
        dst = sqlite3.connect(out)
        try:
            with ov._sql():
                ov._db.backup(dst)
            dst.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            dst.close()
        keys = [k for k, _, _ in ov._rows() if k is not None]
    finally:
        ov.close()
    ledger_path(out).write_text("".join(f"{_key_tag(k)}\n" for k in sorted(keys)))
    return check_overlay(out)


def import_overlay(source: str | Path, into: str | Path) -> dict:
    """Add the good records of overlay ``source`` to ``into``; a key already there keeps its record.

    Returns counts: ``added``, ``present`` (same key there), ``refused`` (corrupt in ``source``).
    """
    src = Overlay(source)
    try:
        with src._sql() as db:
            rows = db.execute("SELECT CAST(key AS BLOB), dataset, arch, seed, recipe, CAST(result AS BLOB), "
                              "CAST(sha256 AS BLOB) FROM records").fetchall()
    finally:
        src.close()
    counts = {"added": 0, "present": 0, "refused": 0}
    dst = Overlay(into)
    try:
        for kb, dataset, arch, seed, recipe, rb, sha in rows:
            k = _text(kb)
            try:
                if k is None:
                    raise CorruptRecordError("unreadable key")
                rec = src._check(k, rb, _text(sha))
            except CorruptRecordError:
                counts["refused"] += 1
                continue
            counts["added" if dst.put(k, dataset, arch, seed, recipe, rec) else "present"] += 1
    finally:
        dst.close()
    return counts
