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
    population 10, tournament (sample) size 5, mutation probability 1. ``tournament`` says how the
    sample is drawn: ``"with-replacement"`` (the default) as Real et al.'s reference code and the
    implementations NAS benchmarks are compared with (NAS-Bench-101's, syne-tune's) draw it, so a
    member can be drawn twice; ``"without-replacement"``, ``sample_size`` distinct members (the
    suite's REA before issue 27).
    """

    population_size: int = 10
    sample_size: int = 5
    tournament: str = "with-replacement"

    def __post_init__(self):
        if not 1 <= self.sample_size <= self.population_size:
            raise ValueError(f"sample_size must be in 1..population_size ({self.population_size}), got {self.sample_size}")
        if self.tournament not in TOURNAMENTS:
            raise ValueError(f"tournament must be one of {', '.join(map(repr, TOURNAMENTS))}, got {self.tournament!r}")


#: how a tournament's sample is drawn from the population
TOURNAMENTS = ("with-replacement", "without-replacement")


def regularized_evolution(run: Run, rng: np.random.Generator, settings: REASettings | None = None) -> None:
    """Aging evolution: tournament-select a parent, mutate it, replace the oldest."""
    s = settings or REASettings()
    run.record.settings.update(asdict(s))
    space = run.space
    draw = sample_distinct if s.tournament == "without-replacement" else sample_with_replacement
    population: deque = deque()
    while len(population) < s.population_size and not run.done:
        arch = space.sample(rng)
        population.append((arch, _score(run, arch)))
    while not run.done:
        idx = draw(len(population), s.sample_size, rng)
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


def sample_with_replacement(n: int, k: int, rng: np.random.Generator) -> list[int]:
    """k indices from range(n), each uniform and independent (repeats allowed; one RNG call)."""
    return [int(u * n) for u in rng.random(k).tolist()]


def _score(run: Run, arch) -> float:
    """Value oriented so that larger is better; a missing value ranks last."""
    v = run.evaluate(arch)
    if v != v:
        return -np.inf
    return v if run.record.direction == "max" else -v


def rea_without_replacement(run: Run, rng: np.random.Generator, settings: REASettings | None = None) -> None:
    """Regularized evolution whose tournament draws distinct members (``--algo
    bench.algorithms.regularized_evolution:rea_without_replacement`` on any benchmark)."""
    from dataclasses import replace

    regularized_evolution(run, rng, replace(settings or REASettings(), tournament="without-replacement"))
