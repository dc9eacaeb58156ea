"""Search algorithms. Each is ``algo(run, rng, **settings)`` and uses only the
run (``run.evaluate``, ``run.done``, ``run.space``) and the space's public methods."""

from __future__ import annotations

from typing import Callable

from bench.algorithms.random_search import random_search
from bench.algorithms.regularized_evolution import REASettings, regularized_evolution
from bench.errors import UnknownAlgorithmError

ALGORITHMS: dict[str, Callable] = {
    "rs": random_search,
    "rea": regularized_evolution,
}


def get(name: str) -> Callable:
    try:
        return ALGORITHMS[name]
    except KeyError:
        raise UnknownAlgorithmError(name, ALGORITHMS) from None


__all__ = ["ALGORITHMS", "get", "random_search", "regularized_evolution", "REASettings"]
