"""What the paper runners of a trained family share: its committed training cache
(``paper_repro/cache/<family>.sqlite``), one oracle per dataset and one table view per dataset
per process (opening reads HDF5 and, for synthetic sets, generates and checksums the store),
and seeded search runs memoised per process."""

from __future__ import annotations

from typing import Callable

import numpy as np

from bench.repro.output import Cell


class PaperCache:
    def __init__(self, family: str, open_oracle: Callable, table_view: Callable, independent: bool = False):
        """``independent``: search seed s trains its models with seed s (independent replicates);
        otherwise with the table's seed s mod n_seeds (lookups)."""
        self.family, self._open, self._table_view = family, open_oracle, table_view
        self.independent = independent
        self._oracles: dict[tuple, object] = {}
        self._views: dict[str, object] = {}
        self._searches: dict[tuple, list] = {}

    def path(self):
        from bench.repro.cache import cache_dir

        return cache_dir() / f"{self.family}.sqlite"

    def oracle(self, dataset: str, recipe=None):
        """The dataset's training oracle over the committed cache; ``recipe``: another than the
        family's default (a sweep), keyed apart by its recipe key."""
        key = (dataset, str(self.path()), None if recipe is None else recipe.key)
        if key not in self._oracles:
            kw = {} if recipe is None else {"recipe": recipe}
            self._oracles[key] = self._open(dataset, allow_train=True, overlay=self.path(), **kw)
        return self._oracles[key]

    def _opened_view(self, dataset: str):
        """The dataset's table view, opened once and kept; None where no table ships."""
        if dataset not in self._views:
            view = self._table_view(dataset)
            if view is None:
                return None
            self._views[dataset] = view
        return self._views[dataset]

    def has_table(self, dataset: str) -> bool:
        """Whether a table ships for the dataset."""
        return self._opened_view(dataset) is not None

    def view(self, dataset: str):
        view = self._opened_view(dataset)
        if view is None:
            from bench.errors import TableMissingError

            raise TableMissingError(f"no shipped table for {self.family}/{dataset}: build it with "
                                    f"`mmnas-bench tables build {self.family}-{dataset}`")
        return view

    def searches(self, dataset: str, algo: str, seeds: int, progress: bool) -> list:
        """Seeded runs ``0 .. seeds-1`` of ``algo`` on ``dataset`` (trainings cached in :meth:`path`)."""
        from tqdm.auto import tqdm

        from bench.compare import run_trained

        key = (dataset, algo, seeds, str(self.path()))
        if key not in self._searches:
            oracle = self.oracle(dataset)
            self._searches[key] = [run_trained(oracle, algo, s, train_seed=s if self.independent else None) for s in
                                   tqdm(range(seeds), desc=f"{algo} {dataset}", unit="search", disable=not progress)]
        return self._searches[key]


_SHARED: dict[str, PaperCache] = {}


def shared_cache(family: str, independent: bool = False) -> PaperCache:
    """The one :class:`PaperCache` of a registered family per process (its paper runners share it)."""
    if family not in _SHARED:
        from bench.families import get

        fam = get(family)
        _SHARED[family] = PaperCache(family, fam.open, fam.table_view, independent=independent)
    return _SHARED[family]


def cell(values) -> Cell:
    """Mean, sample std and count of a list of values."""
    v = np.asarray(values, dtype=float)
    return Cell(float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else float("nan"), len(v))
