"""The tree-fusion training recipe and its named protocols, without torch: opening an oracle
needs the recipe's key, not the trainer (:mod:`bench.families.tree_fusion.trainer` re-exports
these)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from bench.core.recipe import KeyedRecipe


@dataclass(frozen=True)
class Recipe(KeyedRecipe):
    """The training recipe. Its ``key`` is part of every cached result's key."""

    fusion_dim: int = 64
    epochs: int = 20
    batch_size: int = 128
    lr: float = 3e-3
    weight_decay: float = 1e-4
    split: str = "holdout"  # 'holdout' (train/val/test) or 'fold<k>' (train/test; val = test)
    version: int = 1
    train_fraction: float = 1.0  # < 1: a fixed stratified subset of the training rows (the low-data protocol)

    LATER_FIELDS: ClassVar[dict] = {"train_fraction": 1.0}  # added after the first version: old keys stay valid


#: named protocols: the standard recipe and a harder one for sets that sit near 100%
PROTOCOLS = {"standard": Recipe(), "low-data": Recipe(train_fraction=0.1)}
