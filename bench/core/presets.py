"""Named presets of a parameterised search as registered algorithms (MRO's variants, RMNAS's)."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np


def preset_algorithm(name: str, settings: Any, search: Callable, what: str) -> Callable:
    """An algorithm ``(run, rng, settings=None)`` running ``search(run, rng, settings, name)`` with
    ``settings`` unless others are given; ``algo.settings`` holds the preset's."""
    def algo(run, rng: np.random.Generator, given: Any = None) -> None:
        search(run, rng, settings if given is None else given, name)

    algo.__name__ = algo.__qualname__ = name.replace("-", "_")
    algo.__doc__ = f"{what} preset {name!r}: {settings}"
    algo.settings = settings
    return algo
