"""The benchmarks the suite knows, and ``bench.open``: thin lookups over :mod:`bench.families`."""

from __future__ import annotations

import builtins

from bench.core.family import Family
from bench.errors import BenchError
from bench.families import FAMILIES, get


def benchmarks() -> list[str]:
    """Names accepted by :func:`open`."""
    return list(FAMILIES)


def info(benchmark: str) -> Family:
    """The family entry of a benchmark (kind, description, datasets, tables, options)."""
    return get(benchmark)


def datasets(benchmark: str) -> list[str]:
    """Datasets of a benchmark (for trained families, those with a shipped table first)."""
    return get(benchmark).datasets()


def default_dataset(benchmark: str) -> str:
    """The dataset a command uses when none is given: the benchmark's first."""
    return datasets(benchmark)[0]


def table_view(benchmark: str, dataset: str):
    """The shipped table of a dataset as a read-only tabular oracle (None if none ships)."""
    return get(benchmark).table_view(dataset)


def open(benchmark: str, dataset: str, on_missing: str = "raise", verify: bool = True, **options):  # noqa: A001
    """Open one dataset of a benchmark: a :class:`~bench.oracle.TabularOracle` for a table
    family, the family's trained oracle otherwise (``options`` are the family's own).

    >>> o = open("nb201", dataset="cifar10")            # doctest: +SKIP
    >>> o.query(o.optimum("test_acc").arch, "test_acc")  # doctest: +SKIP
    94.37333333333333
    """
    family = get(benchmark)
    if options and family.kind == "table":
        raise BenchError(f"{benchmark} is a fixed table; it takes no options, got {sorted(options)}")
    return family.open(dataset, on_missing=on_missing, verify=verify, **options)


_ = builtins  # `open` shadows the builtin inside this module only
