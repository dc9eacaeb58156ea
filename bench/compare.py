"""Seeded comparison of search algorithms on tabular benchmarks."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from tqdm.auto import tqdm

from bench import algorithms
from bench.registry import open as open_benchmark
from bench.run import Run, RunRecord


def seed_rng(seed: int, *salt: str) -> np.random.Generator:
    """Generator for one run: same (seed, salt) -> same stream, on any machine."""
    return np.random.default_rng([seed, *(zlib.crc32(s.encode()) for s in salt)])


@dataclass(frozen=True)
class Budget:
    """``evals`` counted evaluations, or ``until_optimum`` (``--budget all``)."""

    evals: int | None = None
    until_optimum: bool = False

    @classmethod
    def parse(cls, text: str | int) -> "Budget":
        if str(text).lower() == "all":
            return cls(None, True)
        try:
            n = int(text)
        except ValueError:
            raise ValueError(f"budget must be a positive integer or 'all', got {text!r}") from None
        if n <= 0:
            raise ValueError(f"budget must be a positive integer or 'all', got {text!r}")
        return cls(n, False)


def run_one(oracle, algo: str, seed: int, budget: Budget, metric: str | None = None, **algo_kwargs) -> RunRecord:
    """One seeded run of one algorithm; returns its record. ``metric`` defaults to the
    oracle's search metric (validation accuracy where the table has it for every cell)."""
    fn = algorithms.get(algo)
    if metric is None:
        metric = oracle.search_metric()[0]
    run = Run(oracle, metric, algo=algo, seed=seed, budget_evals=budget.evals,
              stop_at_target=budget.until_optimum, target=oracle.optimum(metric).value)
    fn(run, seed_rng(seed, algo, oracle.dataset), **algo_kwargs)
    return run.finish()


def compare(benchmark: str, datasets: Sequence[str], algos: Sequence[str], seeds: Sequence[int], budget: Budget,
            metric: str | Callable[[str], str] | None = None, out_dir: str | Path | None = None,
            progress: bool = True) -> list[RunRecord]:
    """Run every (dataset, algorithm, seed); write records, CSVs and the plot to ``out_dir``.

    ``metric`` may be a function of the dataset name, for protocols that use a
    different metric per dataset; None: each dataset's :meth:`~bench.oracle.TabularOracle.search_metric`.
    """
    for a in algos:
        algorithms.get(a)  # named error before any work
    seeds = list(seeds)
    if not seeds or not datasets or not algos:
        raise ValueError(f"nothing to compare: {len(datasets)} dataset(s), {len(algos)} algorithm(s), {len(seeds)} seed(s)")
    check_out_dir(out_dir)
    oracles, metrics = {}, {}
    for ds in datasets:  # every dataset and metric is checked before the first run
        oracles[ds] = open_benchmark(benchmark, ds, on_missing="nan")
        m = metric(ds) if callable(metric) else metric
        metrics[ds] = oracles[ds].search_metric()[0] if m is None else m
        oracles[ds].metric_info(metrics[ds])
    records: list[RunRecord] = []
    total = len(datasets) * len(algos) * len(seeds)
    with tqdm(total=total, desc=f"compare {benchmark}", unit="run", disable=not progress) as bar:
        for ds in datasets:
            oracle, m = oracles[ds], metrics[ds]
            for algo in algos:
                for seed in seeds:
                    bar.set_postfix_str(f"{ds} {algo} seed {seed}")
                    records.append(run_one(oracle, algo, seed, budget, m))
                    bar.update()
    if out_dir is not None:
        from bench import report

        report.write_all(records, Path(out_dir))
    return records


def run_fusion(oracle, algo: str, seed: int, budget_seconds: float | None = None, budget_evals: int | None = None,
               settings=None) -> RunRecord:
    """One seeded tree-fusion search run (see :class:`bench.fusion_run.FusionRun`)."""
    from bench.fusion_run import FusionRun

    fn = algorithms.get(algo, "tree-fusion")
    run = FusionRun(oracle, algo=algo, seed=seed, budget_seconds=budget_seconds, budget_evals=budget_evals)
    rng = seed_rng(seed, algo, oracle.dataset)
    fn(run, rng) if settings is None else fn(run, rng, settings)
    rec = run.finish()
    from bench import __version__

    rec.test_metric = rec.test_metric or "test_acc"  # FusionRun keeps test accuracy beside validation
    rec.version = rec.version or __version__
    rec.tables = rec.tables or fusion_table_digests(oracle)
    return rec


def fusion_table_digests(oracle) -> dict[str, str]:
    """``{file: sha256}`` of the shipped tree-fusion table the oracle answers from (empty when
    it loaded none: a missing table, or one trained with another recipe)."""
    from bench.builders.tree_fusion import table_file
    from bench.oracle import _file_sha256
    from bench.paths import tables_dir
    from bench.training.trainer import PROTOCOLS

    if not getattr(oracle, "_table", None):  # FusionOracle keeps its loaded table rows there
        return {}
    protocol = next((p for p, r in PROTOCOLS.items() if r.key == oracle.recipe.key), None)
    path = tables_dir() / table_file(oracle.dataset, protocol) if protocol else None
    if path is None or not path.exists():
        return {}
    st = path.stat()
    return {path.name: _file_sha256(str(path), st.st_mtime_ns, st.st_size, st.st_ino)}


def check_out_dir(out_dir: str | Path | None) -> None:
    """Refuse an output folder that cannot be one, before any run spends time."""
    if out_dir is None:
        return
    p = Path(out_dir)
    if p.exists() and not p.is_dir():
        raise ValueError(f"--out {str(out_dir)!r} exists and is not a folder")
    for parent in p.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ValueError(f"--out {str(out_dir)!r}: {str(parent)!r} is a file, not a folder")
            break


def open_fusion(dataset: str, protocol: str = "standard", max_leaves: int | None = None, overlay=None):
    """The tree-fusion oracle a search runs on: every tree over the dataset's features
    (no repeats; ``max_leaves`` defaults to the number of features), training on a miss."""
    from bench.registry import open as open_benchmark

    return open_benchmark("tree-fusion", dataset, max_leaves=max_leaves, protocol=protocol, allow_train=True,
                          overlay=overlay)


def compare_fusion(dataset: str, algos: Sequence[str], seeds: Sequence[int], budget_seconds: float,
                   protocol: str = "standard", max_leaves: int | None = None, overlay=None,
                   out_dir: str | Path | None = None, progress: bool = True) -> list[RunRecord]:
    """Every (algorithm, seed) on one tree-fusion dataset at the same budget of training
    seconds; with ``out_dir``, runs.csv, summary.csv (Mann-Whitney against the first
    algorithm) and anytime.png against training seconds."""
    for a in algos:
        algorithms.get(a, "tree-fusion")  # named error before any work
    seeds = list(seeds)
    if not seeds or not algos:
        raise ValueError(f"nothing to compare: {len(algos)} algorithm(s), {len(seeds)} seed(s)")
    if not (budget_seconds > 0 and budget_seconds < float("inf")):
        raise ValueError(f"--budget-seconds must be a finite number > 0, got {budget_seconds!r}")
    check_out_dir(out_dir)
    oracle = open_fusion(dataset, protocol, max_leaves, overlay)
    for a in algos:
        algorithms.check_fusion(a, oracle.space)  # e.g. CSG-NAS's ranking needs room for every feature
    records = []
    with tqdm(total=len(algos) * len(seeds), desc=f"compare tree-fusion/{dataset}", unit="run",
              disable=not progress) as bar:
        for algo in algos:
            for seed in seeds:
                bar.set_postfix_str(f"{algo} seed {seed}")
                records.append(run_fusion(oracle, algo, seed, budget_seconds=budget_seconds,
                                          settings=algorithms.until_budget(algo)))
                bar.update()
    if out_dir is not None:
        from bench import fusion_report

        fusion_report.write_all(records, Path(out_dir), reference=algos[0])
    return records
