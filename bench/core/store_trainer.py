"""A :class:`bench.core.trainer.Trainer` for families that train one model at a time on a
sequence store under one fixed recipe (MRO, RMNAS; HF-MNAS overrides the store): stores opened
on demand (the named synthetic stores are generated, the shipped ones read), keys from the
recipe, the shipped table's pairs skipped. A family subclasses it with its ``benchmark``, :meth:`space`,
:meth:`table_path`, :meth:`train_one` and, where it has a batched path, :meth:`train_seeds`
(used for every group of a fill when the recipe's ``batched`` is set).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bench.features.sequence import SequenceStore


@dataclass
class TrainResult:
    """One trained model's metrics, validation curve and how it was made (MRO, HF-MNAS)."""

    metrics: dict[str, float]
    val_curve: list[float]
    train_seconds: float
    device: str = "cpu"
    numerics: dict = field(default_factory=dict)
    store_sha256: str = ""
    timing: str = "one-by-one"

    def record(self) -> dict:
        """What a cache stores of this result."""
        return {**self.metrics, "train_seconds": self.train_seconds, "val_curve": self.val_curve,
                "device": self.device, "numerics": self.numerics, "store_sha256": self.store_sha256,
                "timing": self.timing}


def fill_slice(trainer_class, recipe, dataset: str, seeds: int, epochs: int | None = None, device: str = "cpu",
               stacked: bool = False, **kwargs):
    """Train every architecture ``trainer_class(recipe, device)``'s space enumerates (its tabulated
    slice) into the overlay (:func:`bench.core.fill.fill`); ``epochs`` overrides the recipe's and
    ``stacked`` trains each architecture's seeds as one stack (both: a different recipe key);
    ``kwargs``: ``workers``, ``overlay``, ``progress``, ``executor``, ``ray_address``, ``batch``."""
    from bench.core.fill import fill
    from bench.core.torchutil import resolve_device

    resolve_device(device)  # named error before any work
    trainer = trainer_class(adjusted(recipe, epochs, stacked), device)
    space = trainer.space(dataset)
    return fill(trainer, dataset, [space.encode(a) for a in space.enumerate()], seeds, **kwargs)


def adjusted(recipe, epochs: int | None = None, stacked: bool = False):
    """``recipe`` with its epochs replaced (when given) and ``batched`` set (when ``stacked``)."""
    from dataclasses import replace

    changes = ({} if epochs is None else {"epochs": epochs}) | ({"batched": True} if stacked else {})
    return replace(recipe, **changes) if changes else recipe


class StoreTrainer:
    benchmark = ""

    def __init__(self, recipe, device: str | None = "cpu", stores: dict | None = None):
        self.recipe, self.device = recipe, device
        self._stores = dict(stores or {})

    # -- what a family gives ---------------------------------------------------------------------
    def space(self, dataset: str):
        raise NotImplementedError

    def table_path(self, dataset: str) -> Path:
        raise NotImplementedError

    def train_one(self, dataset: str, arch, seed: int) -> dict:
        """The record of one decoded architecture and seed."""
        raise NotImplementedError

    def train_seeds(self, dataset: str, arch, seeds: list[int]) -> list[dict]:
        """Records of one decoded architecture trained once per seed as one stack
        (:mod:`bench.core.stacked`), for a recipe with ``batched`` set."""
        raise NotImplementedError(f"{self.benchmark} has no batched training")

    def store_name(self, dataset: str) -> str:
        """The sequence store a dataset trains on (the dataset's own name unless overridden)."""
        return dataset

    # -- the Trainer protocol --------------------------------------------------------------------
    @property
    def recipe_key(self) -> str:
        return self.recipe.key

    @property
    def stacked(self) -> bool:
        """Whether the recipe trains an architecture's seeds as one stack (its ``batched`` field)."""
        return getattr(self.recipe, "batched", False)

    def store(self, dataset: str) -> SequenceStore:
        name = self.store_name(dataset)
        if name not in self._stores:
            from bench.features import sequence

            self._stores[name] = sequence.open(name)
        return self._stores[name]

    def key(self, dataset: str, arch: str, seed: int) -> str:
        from bench.overlay import Overlay

        return Overlay.key(dataset, arch, seed, self.recipe.key)

    def shipped_keys(self, dataset: str) -> set[str]:
        from bench.core.trained_oracle import recipe_rows

        rows = recipe_rows(self.table_path(dataset), dataset, self.recipe.key)
        return set() if rows is None else {self.key(dataset, a, s) for a in rows[0] for s in range(rows[2])}

    def group_key(self, dataset: str, arch: str) -> str:
        return arch  # one model per training: nothing is stacked

    def store_sha256(self, dataset: str) -> str:
        return self.store(dataset).content_sha256

    def train_pair(self, dataset: str, arch, seed: int) -> dict:
        """One decoded architecture and seed trained by the recipe's path (for a batched recipe,
        a stack of one: every result under its key comes from the same code)."""
        if self.stacked:
            return self.train_seeds(dataset, arch, [seed])[0]
        return self.train_one(dataset, arch, seed)

    def train_batch(self, dataset: str, jobs: list[tuple[str, int]]) -> list[dict]:
        space = self.space(dataset)
        if not self.stacked:
            return [self.train_one(dataset, space.decode(a), s) for a, s in jobs]
        out: list = [None] * len(jobs)
        for a in dict.fromkeys(a for a, _ in jobs):  # a fill's group is one architecture (group_key)
            where = [i for i, (b, _) in enumerate(jobs) if b == a]
            for i, rec in zip(where, self.train_seeds(dataset, space.decode(a), [jobs[i][1] for i in where])):
                out[i] = rec  # records in the order of the jobs
        return out

    def for_worker(self, dataset: str) -> "StoreTrainer":
        return type(self)(self.recipe, self.device, {self.store_name(dataset): self.store(dataset)})
