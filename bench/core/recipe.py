"""The key of a training recipe: a short hash that enters every cached result's key, so a
result is only ever answered for the recipe that made it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from typing import Any, ClassVar, Mapping


def recipe_key(recipe: Any, later_fields: Mapping[str, Any] = {}) -> str:
    """sha256[:12] of the recipe dataclass's fields as sorted JSON. ``later_fields`` (name ->
    default) were added after the first version: they enter the key only when set otherwise,
    so every key made before they existed stays valid."""
    d = asdict(recipe)
    for name, default in later_fields.items():
        if d[name] == default:
            del d[name]
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:12]


class KeyedRecipe:
    """Base of the families' recipe dataclasses: ``key`` is :func:`recipe_key` of the fields, with
    ``LATER_FIELDS`` (name -> default) left out while at their defaults."""

    LATER_FIELDS: ClassVar[Mapping[str, Any]] = {}

    @property
    def key(self) -> str:
        return recipe_key(self, self.LATER_FIELDS)
