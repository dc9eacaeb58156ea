"""HF-MNAS's training recipe, without torch: opening an oracle needs the recipe's key, not the
trainer (:mod:`bench.families.hfmnas.trainer` re-exports it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from bench.core.recipe import KeyedRecipe


@dataclass(frozen=True)
class Recipe(KeyedRecipe):
    tokens: int = 8
    channels: int = 16
    heads: int = 4
    dropout: float = 0.1
    lr: float = 1e-3
    lr_min: float = 1e-6
    weight_decay: float = 4e-3
    batch_size: int = 32
    epochs: int = 15
    patience: int = 5
    dcca_dim: int = 8
    dcca_weight: float = 0.1
    version: int = 2  # 2: AdamW
    #: train the seeds of one architecture stacked (:mod:`bench.families.hfmnas.batched`): the
    #: same recipe, not bit-identical to one-by-one training, so keyed apart
    batched: bool = False

    LATER_FIELDS: ClassVar[dict] = {"batched": False}  # added after the first version: old keys stay valid
