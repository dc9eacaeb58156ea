"""The user's overlay of trained results (``data_cache/overlay/<benchmark>.sqlite``).

SQLite in WAL mode with synchronous=FULL, one transaction per record: a process killed
mid-write leaves every committed record readable and the file openable (SQLite's own
guarantee), and ``INSERT OR IGNORE`` on the key means a record is never stored twice.
Only the process that owns the :class:`Overlay` writes; fill workers send results back
to it.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from bench.paths import data_cache_dir

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    key TEXT PRIMARY KEY,
    dataset TEXT NOT NULL,
    arch TEXT NOT NULL,
    seed INTEGER NOT NULL,
    recipe TEXT NOT NULL,
    result TEXT NOT NULL
)
"""


def overlay_path(benchmark: str) -> Path:
    return data_cache_dir() / "overlay" / f"{benchmark}.sqlite"


class Overlay:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=60)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(SCHEMA)
        self._db.commit()

    @staticmethod
    def key(dataset: str, arch: str, seed: int, recipe_key: str) -> str:
        return f"{dataset}|{arch}|seed={seed}|recipe={recipe_key}"

    def get(self, key: str) -> dict | None:
        row = self._db.execute("SELECT result FROM records WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def keys(self) -> set[str]:
        return {k for (k,) in self._db.execute("SELECT key FROM records")}

    def put(self, key: str, dataset: str, arch: str, seed: int, recipe_key: str, result: dict) -> bool:
        """Store one record in its own transaction; False if the key was already there."""
        with self._db:
            cur = self._db.execute("INSERT OR IGNORE INTO records VALUES (?, ?, ?, ?, ?, ?)",
                                   (key, dataset, arch, seed, recipe_key, json.dumps(result, sort_keys=True)))
        return cur.rowcount == 1

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM records").fetchone()[0]

    def close(self) -> None:
        self._db.close()
