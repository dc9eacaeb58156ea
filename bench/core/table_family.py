"""A family whose every answer is a fixed score table: the shared ``open`` of such families.

``table_family(...)`` makes the :class:`~bench.core.family.Family` entry of a benchmark
shipped as one HDF5 table (:mod:`bench.tablefile`) with one group per dataset; opened
oracles are read-only and shared, so runs do not re-read the table.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Callable

from bench.core.family import Family, Table
from bench.errors import UnknownDatasetError
from bench.oracle import TabularOracle
from bench.paths import tables_dir
from bench.core.space import SearchSpace
from bench.tablefile import read_dataset


def table_family(name: str, description: str, table_file: str, datasets: tuple[str, ...],
                 make_space: Callable[[list[str]], SearchSpace], default_metric: str, builder: Callable[..., Path],
                 validation_metric: str | None = None, test_metric: str | None = None,
                 runners: Callable[[], dict] = lambda: {},
                 multitask_algorithms: Callable[[], dict] = lambda: {}) -> Family:
    """The entry of a fixed-table benchmark.

    ``make_space(archs)`` builds the space from the table's architecture strings;
    ``validation_metric`` is what a search optimises by default where every architecture
    has it (:meth:`TabularOracle.search_metric`), ``test_metric`` the held-out metric
    reported beside it; ``runners`` and ``multitask_algorithms`` as in :class:`Family`.
    """
    facts = (name, table_file, make_space, default_metric, validation_metric, test_metric,
             f"mmnas-bench tables build {name}")

    def open_(dataset: str, on_missing: str = "raise", verify: bool = True) -> TabularOracle:
        if dataset not in datasets:
            raise UnknownDatasetError(dataset, datasets, f"for benchmark {name!r}")
        path = tables_dir() / table_file
        stat = path.stat() if path.exists() else None
        # a rebuilt or replaced file has a new identity, so it is read afresh
        identity = (str(path), stat.st_mtime_ns, stat.st_size, stat.st_ino) if stat else None
        return _open_cached(facts, dataset, on_missing, verify, identity)

    return Family(name=name, kind="table", description=description, datasets=lambda: list(datasets), open=open_,
                  table_view=open_, tables=(Table(name, table_file, builder),), runners=runners,
                  multitask_algorithms=multitask_algorithms)


@lru_cache(maxsize=32)
def _open_cached(facts: tuple, dataset: str, on_missing: str, verify: bool, identity) -> TabularOracle:
    """Opened oracles are read-only, so runs share them instead of re-reading the table."""
    name, table_file, make_space, default_metric, validation_metric, test_metric, build_hint = facts
    path = tables_dir() / table_file
    archs, metrics, attrs = read_dataset(path, dataset, build_hint=build_hint, verify=verify)
    return TabularOracle(name, dataset, make_space(archs), archs, metrics, attrs, on_missing=on_missing,
                         default_metric=default_metric, validation_metric=validation_metric, test_metric=test_metric,
                         table_path=path)


