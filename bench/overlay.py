"""The user's overlay of trained results (``data_cache/overlay/<benchmark>.sqlite``).

SQLite in WAL mode with synchronous=FULL, one transaction per record: a process killed
mid-write leaves every committed record readable and the file openable (SQLite's own
guarantee), and the primary key means a record is never stored twice. Only the process that
owns the :class:`Overlay` writes records; fill workers send results back to it.

Integrity, beyond SQLite's own:

* every record's payload carries its sha256, verified on each read: a flipped bit is a
  :class:`CorruptRecordError` naming the file and key, never a number;
* a record names the feature store it was trained on (``store_sha256``); an overlay bound
  to a store (:meth:`Overlay.bind_store`) never answers from a record made on other data;
* refused records (corrupt, or made on other data) are moved to the ``quarantine`` table
  when a new result replaces them, so nothing stored is silently lost;
* concurrent fills share work through ``claims`` (one row per key being trained, with its
  owner's host and pid; a dead owner's claims are taken over).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from bench.core.keys import KeyFormatError, RecordKey
from bench.errors import BenchError
from bench.paths import data_cache_dir

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS records (
        key TEXT PRIMARY KEY,
        dataset TEXT NOT NULL,
        arch TEXT NOT NULL,
        seed INTEGER NOT NULL,
        recipe TEXT NOT NULL,
        result TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS quarantine (
        key TEXT NOT NULL, result TEXT, sha256 TEXT, reason TEXT NOT NULL, moved_at REAL NOT NULL
    )""",
    "CREATE TABLE IF NOT EXISTS claims (key TEXT PRIMARY KEY, owner TEXT NOT NULL, claimed_at REAL NOT NULL)",
]
#: how long a first open waits for other processes that are creating the same file
OPEN_TIMEOUT = 60.0


class OverlayError(BenchError):
    """The overlay file cannot be used (not SQLite, damaged, locked); the message names it."""


class CorruptRecordError(OverlayError):
    """A record whose payload does not match its checksum."""


def overlay_path(benchmark: str) -> Path:
    return data_cache_dir() / "overlay" / f"{benchmark}.sqlite"


def payload_sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


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
    except (PermissionError, ValueError):
        return True
    return True


class Overlay:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._stores: dict[str, str] = {}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OverlayError(f"overlay {self.path}: cannot create its folder ({exc})") from None
        deadline = time.monotonic() + OPEN_TIMEOUT
        while True:  # several processes may create the same new file at once: wait for each other
            try:
                self._db = sqlite3.connect(self.path, timeout=OPEN_TIMEOUT)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=FULL")
                self._db.execute("BEGIN IMMEDIATE")  # one process at a time checks and upgrades the schema
                try:
                    for stmt in SCHEMA:
                        self._db.execute(stmt)
                    cols = [r[1] for r in self._db.execute("PRAGMA table_info(records)")]
                    if "sha256" not in cols:  # files from before payload checksums: stamp them once
                        self._db.execute("ALTER TABLE records ADD COLUMN sha256 TEXT")
                        rows = self._db.execute("SELECT key, result FROM records").fetchall()
                        self._db.executemany("UPDATE records SET sha256 = ? WHERE key = ?",
                                             [(payload_sha256(r), k) for k, r in rows])
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                break
            except sqlite3.OperationalError as exc:
                self._db.close()
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise OverlayError(f"overlay {self.path}: cannot open it ({exc})") from None
                time.sleep(0.05)
            except sqlite3.DatabaseError as exc:
                raise OverlayError(f"overlay {self.path} is not a usable SQLite database ({exc}); move it aside "
                                   "to start a new overlay") from None

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

    def _check(self, key: str, text: str, sha: str | None) -> dict:
        if sha != payload_sha256(text):
            raise CorruptRecordError(f"overlay {self.path}: record {key!r} is corrupt (its payload does not match its "
                                     "checksum); `mmnas-bench fill` retrains it, or delete the file to start anew")
        try:
            return json.loads(text)
        except ValueError:
            raise CorruptRecordError(f"overlay {self.path}: record {key!r} is not valid JSON") from None

    def _foreign(self, key: str, rec: dict) -> bool:
        """True if the record was made on another store than the one bound for its dataset."""
        try:
            expected = self._stores.get(RecordKey.parse(key).dataset)
        except KeyFormatError:  # not a model's key (a search's cached outcome, say): bound to no store
            return False
        made_on = rec.get("store_sha256")
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
            row = db.execute("SELECT result, sha256 FROM records WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        rec = self._check(key, *row)
        return None if self._foreign(key, rec) else rec

    def keys(self) -> set[str]:
        """Keys of the records that can be answered (corrupt and foreign ones left out, so a fill retrains them)."""
        with self._sql() as db:
            rows = db.execute("SELECT key, result, sha256 FROM records").fetchall()
        out = set()
        for k, text, sha in rows:
            try:
                if not self._foreign(k, self._check(k, text, sha)):
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
            old = db.execute("SELECT result, sha256 FROM records WHERE key = ?", (key,)).fetchone()
            if old is not None:
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
                       (key, dataset, arch, seed, recipe_key, text, payload_sha256(text)))
            db.execute("DELETE FROM claims WHERE key = ?", (key,))
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
        self._db.close()
