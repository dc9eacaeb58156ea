"""The tree-fusion benchmark's oracle: table first, then the overlay, then real training.

``bench.open("tree-fusion", dataset="scene15")`` answers a query from the shipped table
in ``tables/`` when it has the (architecture, seed, recipe), else from the user's overlay,
else - when the caller allows it - trains the architecture, appends the result to the
overlay and answers; the next query is a lookup.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.errors import MissingValueError, UnknownChoiceError, UnknownMetricError
from bench.features.store import FeatureStore
from bench.features.store import open as open_store
from bench.overlay import Overlay, overlay_path
from bench.paths import tables_dir
from bench.tablefile import read_dataset
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
        self._table: dict[str, dict] = {}
        self.answered_from = {"table": 0, "overlay": 0, "trained": 0}

    @classmethod
    def open(cls, dataset: str, max_leaves: int = 3, repeatable: bool = False, recipe: Recipe | None = None,
             allow_train: bool = False, overlay: str | Path | None = None, device: str | None = "cpu",
             backbone: bool = False, protocol: str = "standard") -> "FusionOracle":
        """``backbone=True`` adds the multi-level features ``VIEW@1``, ``VIEW@2`` as leaves;
        ``protocol`` names a recipe of :data:`~bench.training.trainer.PROTOCOLS` ('standard',
        'low-data') unless ``recipe`` is given."""
        from bench.builders.tree_fusion import table_file
        from bench.training.trainer import PROTOCOLS

        if protocol not in PROTOCOLS:
            raise UnknownChoiceError(protocol, PROTOCOLS, "(training protocol)")
        recipe = recipe or PROTOCOLS[protocol]
        store = open_store(dataset, with_backbone=backbone)
        space = TreeFusionSpace(store.view_names, max_leaves=max_leaves, repeatable=repeatable)
        oracle = cls(dataset, store, space, recipe, Overlay(overlay or overlay_path("tree-fusion")),
                     allow_train, device)
        oracle.load_table(tables_dir() / table_file(dataset, protocol))
        return oracle

    def load_table(self, path: Path) -> int:
        """Answer from a shipped table first; only rows trained with this oracle's recipe count.

        Returns the number of (architecture, seed) records loaded.
        """
        if not Path(path).exists():
            return 0
        archs, metrics, attrs = read_dataset(path, self.dataset)
        if json.loads(attrs["provenance"]).get("recipe_key") != self.recipe.key:
            return 0
        n_seed = metrics["test_acc"].values.shape[1]
        for i, arch in enumerate(archs):
            for s in range(n_seed):
                rec = {m: float(metrics[m].values[i, s]) for m in METRICS}
                rec["val_curve"] = metrics["val_curve"].values[i, s].tolist()
                self._table[Overlay.key(self.dataset, arch, s, self.recipe.key)] = rec
        return len(self._table)

    def key(self, arch, seed: int) -> str:
        return Overlay.key(self.dataset, self.space.encode(arch), seed, self.recipe.key)

    def result(self, arch, seed: int = 0, allow_train: bool | None = None) -> dict:
        """The full record of (arch, seed): metrics and validation curve."""
        key = self.key(arch, seed)
        rec = self._memory.get(key)
        if rec is not None:
            return rec
        rec = self._table.get(key)
        if rec is not None:
            self.answered_from["table"] += 1
        else:
            rec = self.overlay.get(key)
            if rec is not None:
                self.answered_from["overlay"] += 1
        if rec is None:
            if not (self.allow_train if allow_train is None else allow_train):
                raise MissingValueError(
                    f"tree-fusion/{self.dataset}: no result for {self.space.encode(arch)!r} seed {seed} (recipe "
                    f"{self.recipe.key}) in the table or the overlay; pass allow_train=True or run `mmnas-bench fill`")
            res = train(self.space.decode(self.space.encode(arch)), self.store, seed, self.recipe, self.device)
            rec = {**res.metrics(), "val_curve": res.val_curve, "device": res.device}
            self.overlay.put(key, self.dataset, self.space.encode(arch), seed, self.recipe.key, rec)
            self.n_trained += 1
            self.answered_from["trained"] += 1
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
