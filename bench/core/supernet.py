"""A weight-sharing search as an algorithm of a trained family: the supernet's outcome cached in
the oracle's overlay, charged by a cost model, then its genotype evaluated through the oracle
(table, overlay, or training on a miss). RMNAS's and HF-MNAS's differentiable searches run on it."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any, Callable

import numpy as np

#: outcome fields kept out of the run record (machine-dependent or bulky)
_UNRECORDED = ("wall_seconds", "store_sha256", "charged_seconds", "history")


def cached_search(run, rng: np.random.Generator, family: str, name: str, settings: Any, cost: float,
                  store_sha256: str, train: Callable[[int], dict], hidden: tuple[str, ...] = ()) -> dict | None:
    """Run (or look up) one supernet search of ``family`` with ``settings`` (a dataclass with a
    ``digest``) on ``run``: a torch seed is drawn from ``rng``; the outcome of ``train(seed)``
    (it holds ``genotype``) is stored under ``Overlay.key(dataset, "search:<family>:<digest>",
    seed, recipe key)``; ``cost`` charged seconds are charged; the genotype is evaluated unless
    the run is done. A search that is not cached trains only where the oracle allows training; one
    that would not fit the budget trains and charges nothing (None)."""
    from bench.overlay import Overlay

    oracle = run.oracle
    seed = int(rng.integers(2 ** 31 - 1))
    label = f"search:{family}:{settings.digest}"
    key = Overlay.key(oracle.dataset, label, seed, oracle.recipe.key)
    info = run.record.settings
    info.update({"algorithm": name, family: asdict(settings), "supernet_key": key})
    left = None if run.record.budget_seconds is None else run.record.budget_seconds - run.sim_seconds
    if left is not None and cost > left:
        info["stopped"] = (f"the supernet costs {cost:.1f} charged seconds, more than the {max(left, 0.0):.1f} "
                           "left in the budget; nothing trained or charged")
        return None
    def search() -> dict:
        t0 = time.perf_counter()
        outcome = train(seed)
        return {**outcome, "charged_seconds": cost, "wall_seconds": time.perf_counter() - t0,
                "store_sha256": store_sha256}

    outcome = oracle.cached(label, seed, oracle.recipe.key, search)
    run.charge(cost, f"{family} supernet")
    info.update({k: v for k, v in outcome.items() if k not in _UNRECORDED + tuple(hidden)})
    if not run.done:
        run.evaluate(run.space.decode(outcome["genotype"]))
    return outcome
