"""Which builder makes which table, and verification of the shipped tables."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from functools import partial

from bench.builders import nb201, transnas, tree_fusion
from bench.builders.common import verify_manifest
from bench.errors import UnknownBenchmarkError
from bench.paths import tables_dir
from bench.tablefile import list_datasets, read_dataset

BUILDERS: dict[str, Callable[..., Path]] = {
    "nb201": nb201.build,
    "transnas101-micro": transnas.build,
}
#: trained tables: long builds (real training), run by name or `make tree-fusion-tables`
TRAINED_BUILDERS: dict[str, Callable[..., Path]] = {
    **{f"tree-fusion-{ds}": partial(tree_fusion.build, ds) for ds in tree_fusion.DATASETS},
    **{f"tree-fusion-{ds}-lowdata": partial(tree_fusion.build, ds, protocol="low-data") for ds in tree_fusion.DATASETS},
}


def build(name: str, out_dir: Path | None = None, source_dir: Path | None = None,
          accept_new_reference: bool = False) -> Path:
    """Build one table; a rebuild that differs from the shipped one is an error unless
    ``accept_new_reference`` (see :func:`bench.builders.common.replace_reference`)."""
    if name in TRAINED_BUILDERS:
        return TRAINED_BUILDERS[name](out_dir=out_dir, accept_new_reference=accept_new_reference)
    if name not in BUILDERS:
        raise UnknownBenchmarkError(name, [*BUILDERS, *TRAINED_BUILDERS], "(no builder)")
    return BUILDERS[name](out_dir=out_dir, source_dir=source_dir, accept_new_reference=accept_new_reference)


def verify(directory: Path | None = None) -> list[str]:
    """Check every table against the committed MANIFEST: file sha256 and every group's content
    checksum (:func:`bench.builders.common.verify_manifest`). One line per table; raises
    :class:`ChecksumError` on the first mismatch."""
    def check(path: Path) -> None:
        for ds in list_datasets(path):
            read_dataset(path, ds, verify=True)

    return verify_manifest(Path(directory) if directory else tables_dir(), check)
