"""RMNAS's training recipe, without torch: opening an oracle needs the recipe's key, not the
trainer (:mod:`bench.families.rmnas.trainer` re-exports it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from bench.core.recipe import KeyedRecipe


@dataclass(frozen=True)
class Recipe(KeyedRecipe):
    """The training recipe; its ``key`` is part of every cached result's key."""

    d: int = 32
    heads: int = 4
    blocks: int = 2
    kernel: int = 7
    maxdis: int = 8
    dropout: float = 0.1
    lr: float = 1e-3
    weight_decay: float = 0.01
    batch_size: int = 32
    epochs: int = 30
    patience: int = 8
    aux_weight: float = 1.0
    split: str = "standard"
    version: int = 1
    #: train the seeds of one architecture stacked (:mod:`bench.families.rmnas.batched`): the
    #: same recipe, not bit-identical to one-by-one training, so keyed apart
    batched: bool = False

    LATER_FIELDS: ClassVar[dict] = {"batched": False}  # added after the first version: old keys stay valid
