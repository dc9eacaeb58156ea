"""Named presets of a parameterised search as registered algorithms (MRO's variants, RMNAS's)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from typing import Any, Callable, Mapping

import numpy as np


def settings_digest(settings: Any, later_fields: Mapping[str, Any] = {}) -> str:
    """12 hex digits of a search's settings dataclass, its ``label`` left out: part of the cache
    key of its outcome. ``later_fields`` (name -> default) were added later and enter the digest
    only when set otherwise, so digests made before them stay valid."""
    body = {k: v for k, v in asdict(settings).items() if k != "label"}
    for name, default in later_fields.items():
        if body.get(name) == default:
            del body[name]
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:12]


def preset_algorithm(name: str, settings: Any, search: Callable, what: str) -> Callable:
    """An algorithm ``(run, rng, settings=None)`` running ``search(run, rng, settings, name)`` with
    ``settings`` unless others are given; ``algo.settings`` holds the preset's."""
    def algo(run, rng: np.random.Generator, given: Any = None) -> None:
        search(run, rng, settings if given is None else given, name)

    algo.__name__ = algo.__qualname__ = name.replace("-", "_")
    algo.__doc__ = f"{what} preset {name!r}: {settings}"
    algo.settings = settings
    return algo
