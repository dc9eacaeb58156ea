"""Every algorithm behind one multi-task call: ``algo(mrun, rng)`` on a :class:`MultiTaskRun`.

A family's own multi-task algorithms (:attr:`bench.core.family.Family.multitask_algorithms`,
e.g. KTNAS on cell spaces) search the tasks together. Any single-task algorithm
(``rs``, ``rea``, the family's own, a registered one, ``package.module:function``) runs
on each task's own run, one after another, with one generator stream per task
(:func:`independently`).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from bench import algorithms
from bench.errors import UnknownAlgorithmError
from bench.multitask import MultiTaskRun

MultiTaskAlgorithm = Callable[[MultiTaskRun, np.random.Generator], None]


def independently(name: str, benchmark: str | None = None) -> MultiTaskAlgorithm:
    """The single-task algorithm ``name`` applied to every task of a multi-task run."""
    algo = algorithms.get(name, benchmark)

    def run(mrun: MultiTaskRun, rng: np.random.Generator) -> None:
        streams = rng.spawn(len(mrun.runs))
        for task_run, task_rng in zip(mrun.runs.values(), streams):
            algo(task_run, task_rng)

    run.__name__ = run.__qualname__ = name
    return run


def multitask_names(benchmark: str) -> list[str]:
    """Names of the algorithms that search several tasks of ``benchmark`` together."""
    from bench.families import get as family

    return list(family(benchmark).multitask_algorithms())


def is_multitask(name: str, benchmark: str) -> bool:
    return name in multitask_names(benchmark)


def names(benchmark: str) -> list[str]:
    """Every name :func:`get` accepts for ``benchmark`` (besides ``module:function``)."""
    return [*algorithms.names(benchmark), *(n for n in multitask_names(benchmark) if n not in algorithms.names(benchmark))]


def get(name: str, benchmark: str) -> MultiTaskAlgorithm:
    """The family's multi-task algorithm ``name``, else the single-task one run independently."""
    from bench.families import get as family

    own = family(benchmark).multitask_algorithms()
    if name in own:
        return own[name]
    try:
        return independently(name, benchmark)
    except UnknownAlgorithmError:
        raise UnknownAlgorithmError(name, names(benchmark), f"for benchmark {benchmark!r} (multi-task)") from None
