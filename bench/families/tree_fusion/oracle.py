"""The tree-fusion benchmark's oracle: table first, then the overlay, then real training.

``bench.open("tree-fusion", dataset="scene15")`` answers a query from the shipped table
in ``tables/`` when it has the (architecture, seed, recipe), else from the user's overlay,
else - when the caller allows it - trains the architecture, appends the result to the
overlay and answers; the next query is a lookup.

Records keep the ``train_seconds`` measured where they were trained. What a search is
charged for a model (:meth:`FusionOracle.charged_seconds`) is deterministic instead: the
shipped table's recorded seconds for its rows, the cost model
(:mod:`bench.families.tree_fusion.cost`) for everything else.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from bench import validate
from bench.errors import MissingValueError, UnknownChoiceError
from bench.features.store import FeatureStore
from bench.features.store import open as open_store
from bench.core.keys import RecordKey
from bench.core.trained_oracle import Curve, MetricSpec, TrainedOracle
from bench.overlay import Overlay, overlay_path
from bench.paths import data_cache_dir, tables_dir
from bench.families.tree_fusion.space import TreeFusionSpace, parse
from bench.families.tree_fusion import cost
from bench.families.tree_fusion.recipe import Recipe

if TYPE_CHECKING:
    import torch

# the trainer, weight inheritance and torch are imported where a model is trained or its
# weights are read: answering from the table needs none of them

#: fine-tuning after inheritance runs this fraction of the recipe's epochs (CSG-NAS's
#: "shorter schedule"; the paper gives no number)
FINETUNE_FRACTION = 0.5
#: what a child copies from its parent (:mod:`bench.families.tree_fusion.inherit`): with 'all',
#: 10 fine-tune epochs reach the 20-epoch scratch accuracy on mfeat (csgnas-diagnostics: +0.5 val points;
#: 5 epochs trail it by 2.7, and copying only shared sub-trees by more)
INHERIT_SCOPE = "all"

METRICS = {
    "test_acc": ("%", "max"), "val_acc": ("%", "max"), "macro_f1": ("%", "max"), "weighted_f1": ("%", "max"),
    "params": ("count", "min"), "flops": ("FLOPs", "min"), "train_seconds": ("s", "min"),
}
#: the one place the metrics' meanings are written (the shipped tables carry the same text)
DESCRIPTIONS = {
    "test_acc": "holdout test accuracy after the last epoch",
    "val_acc": "holdout validation accuracy after the last epoch",
    "macro_f1": "holdout test macro F1",
    "weighted_f1": "holdout test support-weighted F1",
    "params": "trainable parameters",
    "flops": "forward FLOPs per sample (2 x multiply-adds of the linear layers + fusions)",
    "train_seconds": "training wall seconds on one CPU thread",
}


class FusionOracle(TrainedOracle):
    """Table -> overlay -> trainer for fusion trees (:class:`~bench.core.trained_oracle.TrainedOracle`),
    with CSG-NAS's weight inheritance: fine-tuned models keyed by their lineage."""

    def __init__(self, dataset: str, store: FeatureStore, space: TreeFusionSpace, recipe: Recipe, overlay: Overlay,
                 allow_train: bool = False, device: str | None = "cpu"):
        super().__init__(
            "tree-fusion", dataset, space,
            {m: MetricSpec(unit, direction, DESCRIPTIONS[m]) for m, (unit, direction) in METRICS.items()},
            recipe.key, train=lambda tree, seed: _train(tree, store, seed, recipe, device).record(),
            store_sha256=store.content_sha256, overlay=overlay, fitness_metric="val_acc", test_metric="test_acc",
            default_metric="test_acc", cost=lambda text: cost.seconds(parse(text), store, recipe),
            allow_train=allow_train, curve=Curve("val_curve", "val_acc", "last", recipe.epochs))
        self.store, self.recipe, self.device = store, recipe, device
        self.finetune = replace(recipe, epochs=max(1, round(recipe.epochs * FINETUNE_FRACTION)))
        self.inherit_scope = INHERIT_SCOPE
        self.weights_dir = data_cache_dir() / "weights" / "tree-fusion"

    @classmethod
    def open(cls, dataset: str, max_leaves: int | None = 3, repeatable: bool = False, recipe: Recipe | None = None,
             allow_train: bool = False, overlay: str | Path | None = None, device: str | None = "cpu",
             backbone: bool = False, protocol: str = "standard") -> "FusionOracle":
        """``backbone=True`` adds the multi-level features ``VIEW@1``, ``VIEW@2`` as leaves;
        ``protocol`` names a recipe of :data:`~bench.families.tree_fusion.trainer.PROTOCOLS` ('standard',
        'low-data') unless ``recipe`` is given; ``max_leaves=None``: as many as the store has features."""
        from bench.families.tree_fusion import table_file
        from bench.families.tree_fusion.recipe import PROTOCOLS

        if not isinstance(protocol, str) or protocol not in PROTOCOLS:
            raise UnknownChoiceError(protocol, PROTOCOLS, "(training protocol)")
        if max_leaves is not None:  # NaN would compare False everywhere: no limit at all (the space checks the range)
            max_leaves = validate.integer(max_leaves, "max_leaves")
        for value, name in ((repeatable, "repeatable"), (backbone, "backbone"), (allow_train, "allow_train")):
            validate.flag(value, name)
        validate.device(device)
        recipe = recipe or PROTOCOLS[protocol]
        from bench.families.tree_fusion.variants import is_variant, open_variant

        store = open_variant(dataset, backbone) if is_variant(dataset) else open_store(dataset, with_backbone=backbone)
        space = TreeFusionSpace(store.view_names, max_leaves=len(store.view_names) if max_leaves is None else max_leaves,
                                repeatable=repeatable)
        oracle = cls(dataset, store, space, recipe, Overlay(validate.overlay(overlay) or overlay_path("tree-fusion")),
                     allow_train, device)
        oracle.load_table(tables_dir() / table_file(dataset, protocol))
        return oracle

    def model_cost(self, key: RecordKey) -> float:
        """The cost model's seconds for the key's recipe: the fine-tune recipe for an inherited
        model, the oracle's own otherwise."""
        recipe = self.finetune if key.parent else self.recipe
        if key.recipe != recipe.key:
            raise MissingValueError(f"{key.text!r} was not trained with this oracle's recipes")
        return cost.seconds(parse(key.arch), self.store, recipe)

    # ---- weight inheritance (CSG-NAS AKI) ------------------------------------------------
    def inherited_key(self, arch, seed: int, parent_key: str) -> str:
        """Key of ``arch`` fine-tuned from the model ``parent_key``: the fine-tune recipe and the
        parent's own key (itself a lineage) are in it, so it never meets a from-scratch entry."""
        return self._inherited_key(self.encode(arch), seed, parent_key)

    def _inherited_key(self, text: str, seed: int, parent_key: str) -> str:
        # the scope is in the lineage so results of one scope never answer for the other
        # ('subtrees' keeps the keys it always had)
        lineage = parent_key if self.inherit_scope == "subtrees" else f"{parent_key}|inherit={self.inherit_scope}"
        return RecordKey(self.dataset, text, seed, self.finetune.key, _digest(lineage)).text

    def inherited_result(self, arch, seed: int, parent_key: str, allow_train: bool | None = None) -> tuple[str, dict]:
        """``(key, record)`` of ``arch`` started from the parent's trained weights on every
        shared sub-tree (:mod:`bench.families.tree_fusion.inherit`) and fine-tuned with ``self.finetune``."""
        seed = validate.seed(seed)
        text = self.encode(arch)
        key = self._inherited_key(text, seed, parent_key)
        rec = self._memory.get(key) or self.overlay.get(key)
        if rec is not None:
            self.answered_from["overlay"] += key not in self._memory
        else:
            if not (self.allow_train if allow_train is None else allow_train):
                raise MissingValueError(f"tree-fusion/{self.dataset}: no inherited result for {text!r} "
                                        f"from {parent_key!r}; pass allow_train=True")
            init, res = self._finetune(parse(text), seed, parent_key)
            self._save_weights(key, res.state)
            rec = {**res.record(), "parent": parent_key, "inherited": init}
            self.overlay.put(key, self.dataset, text, seed, RecordKey.parse(key).lineage, rec)
            self.n_trained += 1
            self.answered_from["trained"] += 1
        self._memory[key] = rec
        return key, rec

    def weights(self, key: str) -> dict[str, torch.Tensor]:
        """Trained weights of the model behind a record key, from the weight cache or by
        training it again (deterministic: the same weights that produced the record)."""
        import torch

        path = self._weights_path(key)
        if path.exists():
            return torch.load(path, weights_only=True)
        k = RecordKey.parse(key)
        arch, seed = k.arch, k.seed
        tree = parse(arch)
        if k.parent is None:
            if k.recipe != self.recipe.key:
                raise MissingValueError(f"{key!r} was trained with another recipe than this oracle's ({self.recipe.key})")
            state = _train(tree, self.store, seed, self.recipe, self.device, return_state=True).state
        else:
            rec = self._memory.get(key) or self.overlay.get(key)
            if rec is None or "parent" not in rec:
                raise MissingValueError(f"no record of the inherited model {key!r}, so its parent is unknown")
            state = self._finetune(tree, seed, rec["parent"])[1].state
        self._save_weights(key, state)
        return state

    def _finetune(self, tree, seed: int, parent_key: str):
        """``(inherited names, result)``: ``tree`` started from the parent's weights on every
        shared sub-tree and trained with the fine-tune recipe, its weights kept."""
        from bench.families.tree_fusion.inherit import inherited_weights

        init = inherited_weights(tree, parse(RecordKey.parse(parent_key).arch), self.weights(parent_key),
                                 self.inherit_scope)
        return sorted(init), _train(tree, self.store, seed, self.finetune, self.device, init=init, return_state=True)

    def _weights_path(self, key: str) -> Path:
        return self.weights_dir / self.dataset / f"{_digest(key)}.pt"

    def _save_weights(self, key: str, state: dict) -> None:
        import torch

        from bench.tablefile import atomic_write

        with atomic_write(self._weights_path(key)) as tmp:
            torch.save(state, tmp)


def _train(*args, **kwargs):
    """:func:`bench.families.tree_fusion.trainer.train`, imported (with torch) on the first model trained."""
    from bench.families.tree_fusion.trainer import train

    return train(*args, **kwargs)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:16]
