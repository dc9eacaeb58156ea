"""Which builder makes which table, and verification of the shipped tables."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from functools import partial

from bench.builders import nb201, transnas, tree_fusion
from bench.builders.common import read_manifest
from bench.errors import ChecksumError, UnknownBenchmarkError
from bench.paths import tables_dir
from bench.tablefile import file_sha256, list_datasets, read_dataset

BUILDERS: dict[str, Callable[..., Path]] = {
    "nb201": nb201.build,
    "transnas101-micro": transnas.build,
}
#: trained tables: long builds (real training), run by name or `make tree-fusion-tables`
TRAINED_BUILDERS: dict[str, Callable[..., Path]] = {
    **{f"tree-fusion-{ds}": partial(tree_fusion.build, ds) for ds in tree_fusion.DATASETS},
    **{f"tree-fusion-{ds}-lowdata": partial(tree_fusion.build, ds, protocol="low-data") for ds in tree_fusion.DATASETS},
}


def build(name: str, out_dir: Path | None = None, source_dir: Path | None = None) -> Path:
    if name in TRAINED_BUILDERS:
        return TRAINED_BUILDERS[name](out_dir=out_dir)
    if name not in BUILDERS:
        raise UnknownBenchmarkError(name, [*BUILDERS, *TRAINED_BUILDERS], "(no builder)")
    return BUILDERS[name](out_dir=out_dir, source_dir=source_dir)


def verify(directory: Path | None = None) -> list[str]:
    """Check every table in MANIFEST: file sha256 and every group's content checksum.

    Returns one line per table; raises :class:`ChecksumError` on the first mismatch.
    """
    directory = Path(directory) if directory else tables_dir()
    lines = []
    for name, (sha, content) in read_manifest(directory).items():
        path = directory / name
        actual = file_sha256(path) if path.exists() else "missing"
        if actual != sha:
            raise ChecksumError(f"{path}: sha256 {actual} does not match MANIFEST {sha}")
        for ds in list_datasets(path):
            read_dataset(path, ds, verify=True)
        lines.append(f"ok  {name}  sha256 {sha[:16]}...  content {content[:16]}...")
    return lines
