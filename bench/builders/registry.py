"""Which builder makes which table, and verification of the shipped tables."""

from __future__ import annotations

from pathlib import Path

from bench.builders.common import verify_manifest
from bench.core.family import Table
from bench.errors import UnknownBenchmarkError
from bench.paths import tables_dir
from bench.tablefile import list_datasets, read_dataset, table_content_sha256


def tables() -> dict[str, Table]:
    """Every table a family ships, by name (trained ones are long builds that ``all`` skips)."""
    from bench.families import FAMILIES

    return {t.name: t for f in FAMILIES.values() for t in f.all_tables()}


def build(name: str, out_dir: Path | None = None, source_dir: Path | None = None,
          accept_new_reference: bool = False, progress: bool = True) -> Path:
    """Build one table; a rebuild that differs from the shipped one is an error unless
    ``accept_new_reference`` (see :func:`bench.builders.common.replace_reference`).
    ``progress=False``: no progress bars (trained tables' builders; the others show none)."""
    known = tables()
    if name not in known:
        raise UnknownBenchmarkError(name, known, "(no builder)")
    quiet = {"progress": False} if not progress and known[name].trained else {}
    return known[name].builder(out_dir=out_dir, source_dir=source_dir, accept_new_reference=accept_new_reference,
                               **quiet)


def verify(directory: Path | None = None) -> list[str]:
    """Check every table against the committed MANIFEST: file sha256, every group's content
    checksum and the content sha256 recomputed from the data (:func:`bench.builders.common.verify_manifest`).
    One line per table; raises :class:`ChecksumError` on the first mismatch."""
    def check(path: Path) -> str:
        if path.suffix == ".json":  # a fitted surrogate: canonical JSON, its bytes are its content
            import json

            from bench.core.surrogate import Surrogate
            from bench.manifest import file_sha256

            Surrogate.from_json(json.loads(path.read_bytes()), str(path))  # readable as a surrogate, not just bytes
            return file_sha256(path)
        for ds in list_datasets(path):
            read_dataset(path, ds, verify=True)
        return table_content_sha256(path)

    return verify_manifest(Path(directory) if directory else tables_dir(), check)
