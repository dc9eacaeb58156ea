"""The benchmarks the suite knows, and ``bench.open``."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

from bench.errors import UnknownBenchmarkError, UnknownDatasetError
from bench.oracle import TabularOracle
from bench.paths import tables_dir
from bench.spaces.base import SearchSpace
from bench.spaces.nb201 import NB201Space
from bench.spaces.transnas import RestrictedSpace, TransNASMicroSpace
from bench.tablefile import read_dataset


@dataclass(frozen=True)
class BenchmarkInfo:
    name: str
    table_file: str
    datasets: tuple[str, ...]
    make_space: Callable[[list[str]], SearchSpace]  # given the table's architecture strings
    default_metric: str
    build_command: str
    description: str


def _nb201_space(archs: list[str]) -> SearchSpace:
    return NB201Space()


def _transnas_space(archs: list[str]) -> SearchSpace:
    return RestrictedSpace(TransNASMicroSpace(), archs)


BENCHMARKS: dict[str, BenchmarkInfo] = {
    "nb201": BenchmarkInfo(
        name="nb201",
        table_file="nb201.h5",
        datasets=("cifar10", "cifar100", "ImageNet16-120"),
        make_space=_nb201_space,
        default_metric="test_acc",
        build_command="mmnas-bench tables build nb201",
        description="NAS-Bench-201 topology space, 15,625 cells, published 200-epoch accuracies and hardware costs",
    ),
    "transnas101-micro": BenchmarkInfo(
        name="transnas101-micro",
        table_file="transnas101_micro.h5",
        datasets=("class_object", "class_scene", "room_layout", "autoencoder", "normal", "jigsaw", "segmentsemantic"),
        make_space=_transnas_space,
        default_metric="val_score",
        build_command="mmnas-bench tables build transnas101-micro",
        description="TransNAS-Bench-101 micro cells, a 711-cell SAMPLE of 4,096, 7 tasks (NASLib export)",
    ),
}


def benchmarks() -> list[str]:
    """Names accepted by :func:`open`."""
    return [*BENCHMARKS, "tree-fusion"]


def info(benchmark: str) -> BenchmarkInfo:
    b = BENCHMARKS.get(benchmark)
    if b is None:
        raise UnknownBenchmarkError(benchmark, benchmarks())
    return b


def open(benchmark: str, dataset: str, on_missing: str = "raise", verify: bool = True, **options):  # noqa: A001
    """Open one dataset of a benchmark as a :class:`TabularOracle`.

    >>> o = open("nb201", dataset="cifar10")            # doctest: +SKIP
    >>> o.query(o.optimum("test_acc").arch, "test_acc")  # doctest: +SKIP
    94.37333333333333
    """
    if benchmark == "tree-fusion":
        from bench.features.store import stores
        from bench.fusion_oracle import FusionOracle

        if dataset not in stores():
            raise UnknownDatasetError(dataset, stores(), "for benchmark 'tree-fusion'")
        return FusionOracle.open(dataset, **options)
    b = info(benchmark)
    if dataset not in b.datasets:
        raise UnknownDatasetError(dataset, b.datasets, f"for benchmark {benchmark!r}")
    path = tables_dir() / b.table_file
    stat = path.stat() if path.exists() else None
    # a rebuilt or replaced file has a new identity, so it is read afresh
    identity = (str(path), stat.st_mtime_ns, stat.st_size, stat.st_ino) if stat else None
    return _open_cached(benchmark, dataset, on_missing, verify, identity)


@lru_cache(maxsize=32)
def _open_cached(benchmark: str, dataset: str, on_missing: str, verify: bool, identity) -> TabularOracle:
    """Opened oracles are read-only, so runs share them instead of re-reading the table."""
    b = info(benchmark)
    archs, metrics, attrs = read_dataset(tables_dir() / b.table_file, dataset, build_hint=b.build_command, verify=verify)
    return TabularOracle(benchmark, dataset, b.make_space(archs), archs, metrics, attrs,
                         on_missing=on_missing, default_metric=b.default_metric)


_ = builtins  # `open` shadows the builtin inside this module only
