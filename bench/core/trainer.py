"""What a trained family implements so that :func:`bench.core.fill.fill` can train its
architectures into the overlay: the :class:`Trainer` protocol.

The generic fill knows architectures only as strings and seeds as integers; everything
that depends on the family (how an architecture is parsed and trained, which pairs the
shipped table holds, which architectures can share one training) is asked of the trainer.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

#: what every record that :meth:`Trainer.train_batch` returns must carry, beside its metrics
RECORD_FIELDS = ("store_sha256", "numerics", "timing")


@runtime_checkable
class Trainer(Protocol):
    """A family's training of (architecture, seed) pairs under one fixed recipe.

    * ``benchmark``: the benchmark's name; the default overlay is
      ``data_cache/overlay/<benchmark>.sqlite`` (:func:`bench.overlay.overlay_path`).
    * ``recipe_key``: the recipe's key, stored beside each record.
    * ``key(dataset, arch, seed)``: the overlay key of one pair; it must name the recipe and
      start with ``"<dataset>|"`` (the overlay binds records to a store by that prefix).
    * ``shipped_keys(dataset)``: keys of the pairs the shipped table answers for this recipe
      (a fill does not train them again; empty where no table was trained with it).
    * ``group_key(dataset, arch)``: architectures with equal group keys can be trained
      together in one :meth:`train_batch` call.
    * ``store_sha256(dataset)``: content checksum of the data trained on
      (:meth:`bench.overlay.Overlay.bind_store`): records made on other data are retrained.
    * ``train_batch(dataset, jobs)``: train ``jobs`` (``(arch, seed)`` pairs of one group,
      at most the fill's ``batch``), one record per job in the same order; each record is a
      JSON-serialisable dict with the metrics and :data:`RECORD_FIELDS`.
    * ``for_worker(dataset)``: the trainer that workers use for this dataset, loaded with
      everything they need. It is inherited by forked workers and pickled for Ray tasks
      (which may run on nodes without the data files), so it must pickle.
    """

    benchmark: str

    @property
    def recipe_key(self) -> str: ...

    def key(self, dataset: str, arch: str, seed: int) -> str: ...

    def shipped_keys(self, dataset: str) -> set[str]: ...

    def group_key(self, dataset: str, arch: str) -> str: ...

    def store_sha256(self, dataset: str) -> str: ...

    def train_batch(self, dataset: str, jobs: list[tuple[str, int]]) -> list[dict]: ...

    def for_worker(self, dataset: str) -> "Trainer": ...
