"""Regularized (aging) evolution, Real et al. 2019 (AAAI), "Regularized Evolution
for Image Classifier Architecture Search", Algorithm 1."""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass

import numpy as np

from bench.run import Run


@dataclass(frozen=True)
class REASettings:
    """All settings of regularized evolution in one place.

    Defaults follow KTNAS Table I for NAS-Bench-201 (``004_9859b4c5803c0e34.txt``):
    population 10, tournament (sample) size 5, mutation probability 1.
    """

    population_size: int = 10
    sample_size: int = 5

    def __post_init__(self):
        if not 1 <= self.sample_size <= self.population_size:
            raise ValueError(f"sample_size must be in 1..population_size ({self.population_size}), got {self.sample_size}")


def regularized_evolution(run: Run, rng: np.random.Generator, settings: REASettings | None = None) -> None:
    """Aging evolution: tournament-select a parent, mutate it, replace the oldest."""
    s = settings or REASettings()
    run.record.settings.update(asdict(s))
    space = run.space
    population: deque = deque()
    while len(population) < s.population_size and not run.done:
        arch = space.sample(rng)
        population.append((arch, _score(run, arch)))
    while not run.done:
        idx = sample_distinct(len(population), s.sample_size, rng)
        parent = max((population[i] for i in idx), key=lambda p: p[1])
        child = space.mutate(parent[0], rng)
        population.append((child, _score(run, child)))
        population.popleft()


def sample_distinct(n: int, k: int, rng: np.random.Generator) -> list[int]:
    """k distinct indices from range(n), uniformly (Floyd's algorithm, one RNG call).

    Generator.choice(replace=False) costs ~40 us a call, most of a REA step.
    """
    chosen: list[int] = []
    for j, u in zip(range(n - k, n), rng.random(k).tolist()):
        t = int(u * (j + 1))
        chosen.append(j if t in chosen else t)
    return chosen


def _score(run: Run, arch) -> float:
    """Value oriented so that larger is better; a missing value ranks last."""
    v = run.evaluate(arch)
    if v != v:
        return -np.inf
    return v if run.record.direction == "max" else -v
