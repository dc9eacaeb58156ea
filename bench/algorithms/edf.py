"""EDF, evolutionary deep fusion (Liang et al., 2021), the baseline of CSG-NAS
(``000_62c610aae6b2430e.txt``): a generational evolutionary search over the whole tree
fusion space with binary tournament selection, subtree crossover and subtree mutation."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from bench.algorithms.fusion_evolution import evolve, initial_population
from bench.trained_run import TrainedRun


@dataclass(frozen=True)
class EDFSettings:
    """All EDF settings. Population and generations are scaled down from the paper's
    20-28 x 8-10 (CSG-NAS Sec. 4.3) to fit a 2-core machine; ``generations=None`` runs
    until the run's budget is spent (equal-cost comparisons); with it, ``restart_on_stall`` restarts
    a converged population from new random members (keeping its best) instead of ending early."""

    population: int = 10
    generations: int | None = 6
    crossover_rate: float = 0.9
    mutation_rate: float = 0.1
    restart_on_stall: bool = False


def edf(run: TrainedRun, rng: np.random.Generator, settings: EDFSettings | None = None) -> None:
    s = settings or EDFSettings()
    run.record.settings.update(asdict(s))
    space = run.space
    population = initial_population(run, rng, s.population, space.sample)
    if population:
        restart = (lambda n: initial_population(run, rng, n, space.sample)) if s.restart_on_stall else None
        evolve(run, rng, population, s.generations, s.crossover_rate, s.mutation_rate, space.crossover, space.mutate,
               restart=restart)
