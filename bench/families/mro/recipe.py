"""MRO's training recipes, without torch: opening an oracle needs a recipe's key, not the
trainer (:mod:`bench.families.mro.trainer` re-exports these)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from bench.core.recipe import KeyedRecipe


@dataclass(frozen=True)
class Recipe(KeyedRecipe):
    """The training recipe; its ``key`` is part of every cached result's key."""

    d: int = 32
    heads: int = 4
    dropout: float = 0.2
    lr: float = 1e-3
    batch_size: int = 32
    epochs: int = 20
    split: str = "standard"
    version: int = 1
    #: train the seeds of one architecture stacked (:mod:`bench.families.mro.batched`): the
    #: same recipe, not bit-identical to one-by-one training, so keyed apart
    batched: bool = False

    LATER_FIELDS: ClassVar[dict] = {"batched": False}  # added after the first version: old keys stay valid


#: datasets whose default recipe differs from :class:`Recipe`'s: the planted synthetic settings
#: need a larger step and more epochs for attention to learn the lookup (pilot, 1 seed:
#: true mask test r 0.78 at lr 1e-3 / 20 epochs, 0.95 at lr 3e-3 / 30 epochs;
#: benchmarks/mro_synthetic_pilot.py --plant 3 --noise 0.2 --trend-weight 0.5)
RECIPES: dict[str, Recipe] = {
    "syn3-p2-planted": Recipe(lr=3e-3, epochs=30),
    "syn4-p3-planted": Recipe(lr=3e-3, epochs=30),
}


def recipe_for(dataset: str) -> Recipe:
    """The default recipe of a dataset (its cached results are keyed by it)."""
    return RECIPES.get(dataset, Recipe())
