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
    #: what a search optimises by default where every architecture has it (TabularOracle.search_metric)
    validation_metric: str | None = None
    #: the held-out metric reported beside the searched one
    test_metric: str | None = None


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
        validation_metric="val_acc",
        test_metric="test_acc",
    ),
    "transnas101-micro": BenchmarkInfo(
        name="transnas101-micro",
        table_file="transnas101_micro.h5",
        datasets=("class_object", "class_scene", "room_layout", "autoencoder", "normal", "jigsaw", "segmentsemantic"),
        make_space=_transnas_space,
        default_metric="val_score",
        build_command="mmnas-bench tables build transnas101-micro",
        description="TransNAS-Bench-101 micro cells, a 711-cell SAMPLE of 4,096, 7 tasks (NASLib export)",
        validation_metric="val_score",
        test_metric=None,  # the NASLib sample has validation scores only
    ),
}


def benchmarks() -> list[str]:
    """Names accepted by :func:`open`."""
    return [*BENCHMARKS, "tree-fusion"]


def datasets(benchmark: str) -> list[str]:
    """Datasets of a benchmark; tree-fusion: the feature stores (those with a shipped table first)."""
    if benchmark == "tree-fusion":
        from bench.builders.tree_fusion import DATASETS
        from bench.features.store import stores

        return [*DATASETS, *(s for s in stores() if s not in DATASETS)]
    return list(info(benchmark).datasets)


def default_dataset(benchmark: str) -> str:
    """The dataset a command uses when none is given: the benchmark's first."""
    return datasets(benchmark)[0]


def fusion_table(dataset: str, protocol: str = "standard") -> TabularOracle | None:
    """The shipped tree-fusion table of one dataset as a read-only :class:`TabularOracle`
    (seed-mean values; what ``info`` reports), or None when no table ships for it."""
    from bench.builders.tree_fusion import table_file
    from bench.features.store import open as open_store
    from bench.spaces.tree_fusion import TreeFusionSpace

    if dataset not in datasets("tree-fusion"):
        raise UnknownDatasetError(dataset, datasets("tree-fusion"), "for benchmark 'tree-fusion'")
    path = tables_dir() / table_file(dataset, protocol)
    if not path.exists():
        return None
    archs, metrics, attrs = read_dataset(path, dataset)
    store = open_store(dataset)
    space = TreeFusionSpace(store.view_names, max_leaves=len(store.view_names))
    return TabularOracle("tree-fusion", dataset, space, archs, metrics, attrs, default_metric="test_acc",
                         validation_metric="val_acc", test_metric="test_acc", table_path=path)


def info(benchmark: str) -> BenchmarkInfo:
    """Facts of a tabular benchmark (tree-fusion is not one: see :func:`datasets`, :func:`fusion_table`)."""
    b = BENCHMARKS.get(benchmark)
    if b is None:
        if benchmark == "tree-fusion":
            raise UnknownBenchmarkError(benchmark, list(BENCHMARKS), "(tree-fusion trains on a miss, it has no fixed table)")
        raise UnknownBenchmarkError(benchmark, benchmarks())
    return b


def open(benchmark: str, dataset: str, on_missing: str = "raise", verify: bool = True, **options):  # noqa: A001
    """Open one dataset of a benchmark as a :class:`TabularOracle`.

    >>> o = open("nb201", dataset="cifar10")            # doctest: +SKIP
    >>> o.query(o.optimum("test_acc").arch, "test_acc")  # doctest: +SKIP
    94.37333333333333
    """
    if benchmark == "tree-fusion":
        from bench.fusion_oracle import FusionOracle

        if dataset not in datasets("tree-fusion"):
            raise UnknownDatasetError(dataset, datasets("tree-fusion"), "for benchmark 'tree-fusion'")
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
                         on_missing=on_missing, default_metric=b.default_metric,
                         validation_metric=b.validation_metric, test_metric=b.test_metric,
                         table_path=tables_dir() / b.table_file)


_ = builtins  # `open` shadows the builtin inside this module only
