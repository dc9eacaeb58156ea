"""The tree-fusion side of filling the overlay: :class:`TreeTrainer`, the family's
:class:`~bench.core.trainer.Trainer` for :func:`bench.core.fill.fill`, and :func:`fill`,
the same call with the tree trainer made from a recipe and a device.

Same-shaped trees (:func:`bench.families.tree_fusion.batched.shape_key`) form one group and
are trained together in one stacked model (:func:`bench.families.tree_fusion.batched.train_many`,
bit-identical to one-by-one training).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from bench.core.fill import BATCH, FillReport  # noqa: F401  (FillReport: what fill returns)
from bench.core.fill import fill as fill_overlay
from bench.features.store import FeatureStore
from bench.features.store import open as open_store
from bench.families.tree_fusion import NAME
from bench.families.tree_fusion.batched import shape_key, train_many
from bench.families.tree_fusion.space import parse
from bench.families.tree_fusion.trainer import PROTOCOLS, Recipe
from bench.overlay import Overlay


@dataclass
class TreeTrainer:
    """Trains fusion trees (canonical strings) under ``recipe`` on ``device``.

    ``stores``: feature stores already opened, by dataset (opened on first use otherwise);
    the worker trainer carries its dataset's store, so Ray nodes need no data files.
    """

    recipe: Recipe = field(default_factory=Recipe)
    device: str = "cpu"
    stores: dict[str, FeatureStore] = field(default_factory=dict, repr=False, compare=False)
    benchmark: ClassVar[str] = NAME

    @property
    def recipe_key(self) -> str:
        return self.recipe.key

    def store(self, dataset: str) -> FeatureStore:
        if dataset not in self.stores:
            self.stores[dataset] = open_store(dataset)
        return self.stores[dataset]

    def key(self, dataset: str, arch: str, seed: int) -> str:
        return Overlay.key(dataset, arch, seed, self.recipe.key)

    def shipped_keys(self, dataset: str) -> set[str]:
        """Keys of the (architecture, seed) pairs that the shipped table holds for this recipe
        (empty where no shipped table was trained with it)."""
        from bench.core.trained_oracle import recipe_rows
        from bench.families.tree_fusion.build import table_file
        from bench.paths import tables_dir

        protocol = next((name for name, r in PROTOCOLS.items() if r.key == self.recipe.key), None)
        rows = recipe_rows(tables_dir() / table_file(dataset, protocol), dataset, self.recipe.key) if protocol else None
        return set() if rows is None else {self.key(dataset, a, s) for a in rows[0] for s in range(rows[2])}

    def group_key(self, dataset: str, arch: str) -> str:
        dims = self.store(dataset).dims
        return shape_key(parse(arch, dims), dims)

    def store_sha256(self, dataset: str) -> str:
        return self.store(dataset).content_sha256

    def train_batch(self, dataset: str, jobs: list[tuple[str, int]]) -> list[dict]:
        # the architectures are strings that the caller's space accepted, so only parsed here
        results = train_many([parse(a) for a, _ in jobs], [s for _, s in jobs], self.store(dataset), self.recipe,
                             self.device)
        return [r.record() for r in results]

    def for_worker(self, dataset: str) -> "TreeTrainer":
        return TreeTrainer(self.recipe, self.device, {dataset: self.store(dataset)})


def fill(dataset: str, archs: list[str], seeds: int, workers: int = 1, recipe: Recipe | None = None,
         overlay: str | None = None, device: str = "cpu", progress: bool = True, executor: str = "local",
         ray_address: str | None = None, batch: int = BATCH, skip_table: bool = True) -> FillReport:
    """:func:`bench.core.fill.fill` with ``TreeTrainer(recipe, device)`` (default recipe:
    :class:`~bench.families.tree_fusion.trainer.Recipe`); ``archs`` are canonical strings."""
    return fill_overlay(TreeTrainer(recipe or Recipe(), device), dataset, archs, seeds, workers=workers,
                        overlay=overlay, progress=progress, executor=executor, ray_address=ray_address,
                        batch=batch, skip_table=skip_table)
