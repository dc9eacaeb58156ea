"""The tree-fusion benchmark's oracle: table first, then the overlay, then real training.

``bench.open("tree-fusion", dataset="scene15")`` answers a query from the shipped table
in ``tables/`` when it has the (architecture, seed, recipe), else from the user's overlay,
else - when the caller allows it - trains the architecture, appends the result to the
overlay and answers; the next query is a lookup.
"""

from __future__ import annotations

from pathlib import Path

from bench.errors import MissingValueError, UnknownMetricError
from bench.features.store import FeatureStore
from bench.features.store import open as open_store
from bench.overlay import Overlay, overlay_path
from bench.spaces.tree_fusion import TreeFusionSpace
from bench.training.trainer import Recipe, train

METRICS = {
    "test_acc": ("%", "max"), "val_acc": ("%", "max"), "macro_f1": ("%", "max"), "weighted_f1": ("%", "max"),
    "params": ("count", "min"), "flops": ("FLOPs", "min"), "train_seconds": ("s", "min"),
}


class FusionOracle:
    benchmark = "tree-fusion"

    def __init__(self, dataset: str, store: FeatureStore, space: TreeFusionSpace, recipe: Recipe, overlay: Overlay,
                 allow_train: bool = False, device: str | None = "cpu"):
        self.dataset = dataset
        self.store = store
        self.space = space
        self.recipe = recipe
        self.overlay = overlay
        self.allow_train = allow_train
        self.device = device
        self.default_metric = "test_acc"
        self.n_trained = 0
        self._memory: dict[str, dict] = {}
        self._by_text: dict[tuple[str, int], dict] = {}

    @classmethod
    def open(cls, dataset: str, max_leaves: int = 3, repeatable: bool = False, recipe: Recipe | None = None,
             allow_train: bool = False, overlay: str | Path | None = None, device: str | None = "cpu",
             backbone: bool = False) -> "FusionOracle":
        """``backbone=True`` adds the multi-level features ``VIEW@1``, ``VIEW@2`` as leaves."""
        store = open_store(dataset, with_backbone=backbone)
        space = TreeFusionSpace(store.view_names, max_leaves=max_leaves, repeatable=repeatable)
        return cls(dataset, store, space, recipe or Recipe(), Overlay(overlay or overlay_path("tree-fusion")),
                   allow_train, device)

    def key(self, arch, seed: int) -> str:
        return Overlay.key(self.dataset, self.space.encode(arch), seed, self.recipe.key)

    def result(self, arch, seed: int = 0, allow_train: bool | None = None) -> dict:
        """The full record of (arch, seed): metrics and validation curve."""
        key = self.key(arch, seed)
        rec = self._memory.get(key) or self.overlay.get(key)
        if rec is None:
            if not (self.allow_train if allow_train is None else allow_train):
                raise MissingValueError(
                    f"tree-fusion/{self.dataset}: no result for {self.space.encode(arch)!r} seed {seed} (recipe "
                    f"{self.recipe.key}) in the table or the overlay; pass allow_train=True or run `mmnas-bench fill`")
            res = train(self.space.decode(self.space.encode(arch)), self.store, seed, self.recipe, self.device)
            rec = {**res.metrics(), "val_curve": res.val_curve, "device": res.device}
            self.overlay.put(key, self.dataset, self.space.encode(arch), seed, self.recipe.key, rec)
            self.n_trained += 1
        self._memory[key] = rec
        return rec

    def query(self, arch, metric: str | None = None, seed: int = 0, allow_train: bool | None = None) -> float:
        metric = metric or self.default_metric
        rec = self._by_text.get((arch, seed)) if type(arch) is str else None
        if rec is None:
            rec = self.result(arch, seed, allow_train)
            if type(arch) is str:
                self._by_text[(arch, seed)] = rec  # skips parsing on the next lookup of the same text
        v = rec.get(metric)
        if v is None or metric not in METRICS:
            raise UnknownMetricError(metric, METRICS, "for tree-fusion")
        return float(v)
