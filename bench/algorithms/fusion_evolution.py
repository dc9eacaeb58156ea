"""The generational evolutionary search shared by EDF and CSG-NAS on the tree fusion space.

One generation: ``population`` offspring, each from two parents drawn by binary tournament,
crossed over with probability ``crossover_rate`` and mutated with probability
``mutation_rate``; then the next population is the best individual of parents and
offspring together plus binary-tournament winners (without replacement) from the rest.
Operators are passed in, so that CSG-NAS's two stages and EDF differ only in them and in
how a child may inherit its parent's weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from bench.trained_run import TrainedRun

INHERIT_POLICIES = ("none", "above", "below", "all", "random")
#: a search whose generations keep producing only architectures it has seen has converged
STALE_GENERATIONS = 50


@dataclass(frozen=True)
class Inheritance:
    """When a child starts from its parent's weights (CSG-NAS Sec. 3.6, Table 7).

    ``above``: similarity > threshold (CSG-NAS's rule); ``below``: similarity <= threshold;
    ``all``: always; ``random``: with probability 1/2; ``none``: never. The parent is
    the more similar of the two parents (the only one without crossover).
    """

    policy: str = "none"
    threshold: float = 0.5

    def __post_init__(self):
        if self.policy not in INHERIT_POLICIES:
            raise ValueError(f"unknown inheritance policy {self.policy!r}; valid: {', '.join(INHERIT_POLICIES)}")

    def applies(self, similarity: float, rng: np.random.Generator) -> bool:
        if self.policy == "none":
            return False
        if self.policy == "all":
            return True
        if self.policy == "random":
            return bool(rng.random() < 0.5)
        return similarity > self.threshold if self.policy == "above" else similarity <= self.threshold


def tournament(population: list[tuple[Any, float]], rng: np.random.Generator) -> tuple[Any, float]:
    """Binary tournament: the fitter of two distinct random members (the first on a tie)."""
    return population[_duel(population, rng)]


def _duel(pool: list[tuple[Any, float]], rng: np.random.Generator) -> int:
    """Index of a binary tournament's winner (no draw from ``rng`` for a pool of one)."""
    if len(pool) == 1:
        return 0
    i, j = rng.permutation(len(pool))[:2].tolist()
    return i if pool[i][1] >= pool[j][1] else j


def evolve(run: TrainedRun, rng: np.random.Generator, population: list[tuple[Any, float]], generations: int | None,
           crossover_rate: float, mutation_rate: float, crossover: Callable, mutate: Callable,
           inheritance: Inheritance = Inheritance(),
           restart: Callable[[int], list[tuple[Any, float]]] | None = None) -> list[tuple[Any, float]]:
    """Evolve ``population`` (evaluated ``(arch, fitness)`` pairs) for ``generations``
    (None: until the run's budget is spent, or until ``STALE_GENERATIONS`` generations in a
    row have produced no unseen architecture); returns the last population.

    ``restart(n)``: with ``generations=None``, a converged population restarts instead of ending
    the search: its best member stays and ``restart(n)`` new evaluated members join it (none:
    the search ends); restarts are counted in ``run.record.settings["restarts"]``."""
    size = len(population)
    space = run.oracle.space
    g = stale = 0
    while (generations is None or g < generations) and not run.done:
        if stale >= STALE_GENERATIONS:
            fresh = restart(size - 1) if restart is not None and generations is None else []
            if not fresh:
                break
            population = [max(population, key=lambda m: m[1])] + fresh
            run.record.settings["restarts"] = run.record.settings.get("restarts", 0) + 1
            stale = 0
        g += 1
        before = run.n_evals
        offspring = []
        while len(offspring) < size and not run.done:
            (p1, _), (p2, _) = tournament(population, rng), tournament(population, rng)
            child, parents = p1, [p1]
            if rng.random() < crossover_rate:
                child, parents = crossover(p1, p2, rng), [p1, p2]
            if rng.random() < mutation_rate:
                child = mutate(child, rng)
            if run.seen(child):
                offspring.append((child, _score(run, run.fitness(child))))
                continue
            parent = None
            if inheritance.policy != "none":  # tree edit distances only when they can matter
                sims = [space.similarity(child, p) for p in parents]
                k = int(np.argmax(sims))
                parent = parents[k] if inheritance.applies(sims[k], rng) else None
            offspring.append((child, _score(run, run.evaluate(child, inherit_from=parent))))
        population = select(population + offspring, size, rng)
        stale = stale + 1 if run.n_evals == before else 0
    return population


def select(pool: list[tuple[Any, float]], size: int, rng: np.random.Generator) -> list[tuple[Any, float]]:
    """Elitist binary-tournament survival: the best, then tournament winners without replacement."""
    pool = list(pool)
    best = max(range(len(pool)), key=lambda i: pool[i][1])
    out = [pool.pop(best)]
    while len(out) < size and pool:
        out.append(pool.pop(_duel(pool, rng)))
    return out


def initial_population(run: TrainedRun, rng: np.random.Generator, size: int, sample: Callable) -> list[tuple[Any, float]]:
    """``size`` distinct random architectures from ``sample(rng)``, evaluated from scratch."""
    out: list[tuple[Any, float]] = []
    tries = 0
    while len(out) < size and not run.done and tries < 100 * size:
        tries += 1
        arch = sample(rng)
        if not run.seen(arch):
            out.append((arch, _score(run, run.evaluate(arch))))
    return out


def _score(run: TrainedRun, value: float) -> float:
    """The fitness as a higher-is-better score (a validation error is negated)."""
    return run.record.sign * value
