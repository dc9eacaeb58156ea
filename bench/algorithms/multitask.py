"""Every multi-task algorithm behind one call: ``algo(mrun, rng)``.

Single-task algorithms (RS, REA) run on each task's own run, one after another, with
one generator stream per task; the KTNAS family searches the tasks together.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from bench.algorithms import ALGORITHMS
from bench.families.cells.ktnas import PRESETS, ktnas
from bench.errors import UnknownAlgorithmError
from bench.multitask import MultiTaskRun


def independently(name: str) -> Callable[[MultiTaskRun, np.random.Generator], None]:
    """A single-task algorithm applied to every task of a multi-task run."""
    algo = ALGORITHMS[name]

    def run(mrun: MultiTaskRun, rng: np.random.Generator) -> None:
        streams = rng.spawn(len(mrun.runs))
        for task_run, task_rng in zip(mrun.runs.values(), streams):
            algo(task_run, task_rng)

    return run


def together(preset: str) -> Callable[[MultiTaskRun, np.random.Generator], None]:
    settings = PRESETS[preset]
    return lambda mrun, rng: ktnas(mrun, rng, settings)


MULTITASK_ALGORITHMS: dict[str, Callable[[MultiTaskRun, np.random.Generator], None]] = {
    **{name: independently(name) for name in ALGORITHMS},
    **{name: together(name) for name in PRESETS},
}


def get(name: str) -> Callable[[MultiTaskRun, np.random.Generator], None]:
    if name not in MULTITASK_ALGORITHMS:
        raise UnknownAlgorithmError(name, MULTITASK_ALGORITHMS, "(multi-task)")
    return MULTITASK_ALGORITHMS[name]
