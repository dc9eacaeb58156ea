"""Search algorithms. Each is ``algo(run, rng, **settings)`` and uses only the
run (``run.evaluate``, ``run.done``, ``run.space``) and the space's public methods.

``rs`` and ``rea`` run on every benchmark; the tree-fusion algorithms (``edf`` and the
CSG-NAS family) need a :class:`bench.fusion_run.FusionRun`, whose ``evaluate`` can
inherit a parent's weights."""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

from bench.algorithms.csgnas import PRESETS as CSGNAS_PRESETS
from bench.algorithms.csgnas import CSGNASSettings, check_space, csgnas
from bench.algorithms.edf import EDFSettings, edf
from bench.algorithms.random_search import random_search
from bench.algorithms.regularized_evolution import REASettings, regularized_evolution
from bench.errors import UnknownAlgorithmError

ALGORITHMS: dict[str, Callable] = {
    "rs": random_search,
    "rea": regularized_evolution,
}
#: algorithms of the tree-fusion benchmark only
FUSION_ALGORITHMS: dict[str, Callable] = {
    "rs": random_search,
    "rea": regularized_evolution,
    "edf": edf,
    **{name: (lambda run, rng, settings=None, _s=s: csgnas(run, rng, settings or _s)) for name, s in CSGNAS_PRESETS.items()},
}


def until_budget(name: str):
    """Settings of a generational tree-fusion algorithm that run until the budget is spent
    (for equal-cost comparisons); None for algorithms that always do."""
    if name == "edf":
        return replace(EDFSettings(), generations=None)
    if name in CSGNAS_PRESETS:
        return replace(CSGNAS_PRESETS[name], generations_expand=None)
    return None


def check_fusion(name: str, space) -> None:
    """Raise a named error, before any work, when tree-fusion algorithm ``name`` cannot search ``space``."""
    get(name, "tree-fusion")
    if name in CSGNAS_PRESETS:
        check_space(space, CSGNAS_PRESETS[name])


def get(name: str, benchmark: str = "") -> Callable:
    table = FUSION_ALGORITHMS if benchmark == "tree-fusion" else ALGORITHMS
    try:
        return table[name]
    except KeyError:
        raise UnknownAlgorithmError(name, table) from None


__all__ = ["ALGORITHMS", "FUSION_ALGORITHMS", "get", "edf", "EDFSettings", "csgnas", "CSGNASSettings", "random_search", "regularized_evolution", "REASettings"]
