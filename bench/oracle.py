"""The tabular oracle: answers ``query(arch, metric)`` from an in-memory table.

Opening reads every array of one dataset once, verifies its checksum and builds the
string -> row index; later queries touch no disk.
"""

from __future__ import annotations

import warnings

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np

from bench.errors import (
    ArchIndexError,
    InvalidArchitectureError,
    InvalidArgumentError,
    MissingValueError,
    SeedIndexError,
    UnknownMetricError,
)
from bench.core.quality import gated, note_read
from bench.core.space import SearchSpace
from bench.manifest import file_digest
from bench.tablefile import Metric

if TYPE_CHECKING:
    import pandas as pd  # imported where it is used: it takes longer to import than an oracle to open

_ON_MISSING = ("raise", "nan")


def _is_index(x) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


@dataclass(frozen=True)
class MetricInfo:
    name: str
    unit: str
    direction: str
    description: str
    n_seed: int
    n_epoch: int | None


@dataclass(frozen=True)
class Optimum:
    arch: str
    value: float
    row: int
    n_ties: int


class TabularOracle:
    """Lookup surface over one dataset of one benchmark table.

    ``arch`` arguments may be a canonical string, a row index, or any object the
    space can encode. ``seed=None`` answers the mean over recorded seeds.
    ``on_missing='raise'`` raises :class:`MissingValueError` for a NaN cell;
    ``'nan'`` returns NaN.
    """

    def __init__(self, benchmark: str, dataset: str, space: SearchSpace, archs: list[str],
                 metrics: dict[str, Metric], attrs: dict | None = None, on_missing: str = "raise",
                 default_metric: str = "test_acc", validation_metric: str | None = None,
                 test_metric: str | None = None, table_path: str | Path | None = None):
        if on_missing not in _ON_MISSING:
            raise InvalidArgumentError(f"on_missing must be one of {_ON_MISSING}, got {on_missing!r}")
        self.benchmark = benchmark
        self.dataset = dataset
        self.space = space
        self.attrs = attrs or {}
        self.on_missing = on_missing
        self.default_metric = default_metric if default_metric in metrics else next(iter(metrics))
        #: the metric a search should optimise when the table has it for every architecture
        self.validation_metric = validation_metric if validation_metric in metrics else None
        self._validation_wanted = validation_metric
        #: the held-out metric reported beside the searched one (None: the table has none)
        self.test_metric = test_metric if test_metric in metrics else None
        self.table_path = Path(table_path) if table_path is not None else None
        # only tables the quality gate covers are noted as read (fixed tables need no verdict)
        self._table_name = self.table_path.name if self.table_path is not None and gated(self.table_path.name) else ""
        self._archs = archs
        self._row = {a: i for i, a in enumerate(archs)}
        self._index: pd.Index | None = None  # built on the first long query_many
        self._metrics = metrics
        self._mean: dict[str, np.ndarray] = {}
        self._mean_list: dict[str, list[float]] = {}
        for name, m in metrics.items():
            v = m.values if m.values.ndim == 2 else m.values[:, :, -1]  # curves: final epoch
            with np.errstate(invalid="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column (a curve cut by early stopping)
                mean = v[:, 0].copy() if v.shape[1] == 1 else np.nanmean(v, axis=1)
            self._mean[name] = mean

    # ---- description -------------------------------------------------------------
    @property
    def n_arch(self) -> int:
        return len(self._archs)

    @property
    def metrics(self) -> list[str]:
        return list(self._metrics)

    def metric_info(self, metric: str) -> MetricInfo:
        m = self._metric(metric)
        return MetricInfo(metric, m.unit, m.direction, m.description, m.values.shape[1],
                          m.values.shape[2] if m.values.ndim == 3 else None)

    def __repr__(self) -> str:
        return f"TabularOracle({self.benchmark!r}, dataset={self.dataset!r}, n_arch={self.n_arch}, metrics={len(self._metrics)})"

    # ---- architecture <-> row ----------------------------------------------------
    def row(self, arch: Any) -> int:
        """Row index of an architecture; named errors for anything not in the table."""
        if type(arch) is str:
            r = self._row.get(arch)
            if r is not None:
                return r
            key = self.space.encode(self.space.decode(arch))  # raises a named error if malformed
        elif isinstance(arch, (int, np.integer)) and not isinstance(arch, bool):
            i = int(arch)
            if not 0 <= i < self.n_arch:
                raise ArchIndexError(i, self.n_arch)
            return i
        else:
            key = self.space.encode(arch)
        r = self._row.get(key)
        if r is None:
            raise InvalidArchitectureError(
                f"architecture {key!r} is a valid member of {self.space.space_id} but has no row in the "
                f"{self.benchmark}/{self.dataset} table"
            )
        return r

    def arch(self, row: int) -> str:
        """Canonical string of a row."""
        if not 0 <= row < self.n_arch:
            raise ArchIndexError(row, self.n_arch)
        return self._archs[row]

    def archs(self) -> list[str]:
        return list(self._archs)

    def __contains__(self, arch) -> bool:
        try:
            self.row(arch)
            return True
        except (InvalidArchitectureError, ArchIndexError):
            return False

    # ---- queries -----------------------------------------------------------------
    def _metric(self, metric: str) -> Metric:
        m = self._metrics.get(metric) if type(metric) is str else None  # an unhashable name is unknown too
        if m is None:
            raise UnknownMetricError(metric, self._metrics, f"for {self.benchmark}/{self.dataset}")
        return m

    def _column(self, metric: str, seed: int | None) -> np.ndarray:
        if self._table_name:
            note_read(self._table_name)  # which shipped tables a paper output answered from
        if seed is None:
            col = self._mean.get(metric) if type(metric) is str else None
            if col is None:
                self._metric(metric)
            return col
        m = self._metric(metric)
        if not _is_index(seed):  # 1.5, True or '3' would index the array (or crash) instead of naming the seed
            raise InvalidArgumentError(f"seed must be None (the mean) or a whole number 0..{m.values.shape[1] - 1}, "
                                       f"got {seed!r}")
        if not 0 <= seed < m.values.shape[1]:
            raise SeedIndexError(seed, m.values.shape[1], metric)
        return m.values[:, seed] if m.values.ndim == 2 else m.values[:, seed, -1]

    def query(self, arch: Any, metric: str | None = None, seed: int | None = None, on_missing: str | None = None) -> float:
        """Value of ``metric`` for ``arch`` (mean over seeds unless ``seed`` is given)."""
        if metric is None:
            metric = self.default_metric
        if on_missing is not None and on_missing not in _ON_MISSING:
            raise InvalidArgumentError(f"on_missing must be one of {_ON_MISSING}, got {on_missing!r}")
        row = self._row.get(arch) if type(arch) is str else None
        if row is None:
            row = self.row(arch)
        if seed is None:
            col = self._mean_list.get(metric) if type(metric) is str else None
            if col is None:
                # a Python list is the fastest scalar lookup; built on first use of a metric
                col = self._mean_list[metric] = self._column(metric, None).tolist()
            v = col[row]
        else:
            v = float(self._column(metric, seed)[row])
        if v != v:  # NaN
            if (on_missing or self.on_missing) == "raise":
                raise MissingValueError(
                    f"{self.benchmark}/{self.dataset} has no {metric!r} value for {self._archs[row]!r} (row {row}); "
                    "pass on_missing='nan' to get NaN instead"
                )
        return v

    def rows(self, archs: Iterable[Any]) -> np.ndarray:
        """Row indices of many architectures (strings, indices or space objects)."""
        if isinstance(archs, np.ndarray) and archs.dtype.kind in "iu":
            rows = archs.astype(np.int64, copy=False)
            if rows.size and (rows.min() < 0 or rows.max() >= self.n_arch):
                bad = rows[(rows < 0) | (rows >= self.n_arch)][0]
                raise ArchIndexError(int(bad), self.n_arch)
            return rows
        archs = list(archs)
        if len(archs) > 4096:
            # pandas' C hash table beats a Python dict loop by ~3x on long lists
            if self._index is None:
                import pandas as pd

                self._index = pd.Index(self._archs)
            rows = self._index.get_indexer(np.asarray(archs, dtype=object)).astype(np.int64, copy=False)
        else:
            get = self._row.get
            rows = np.fromiter((get(a, -1) if type(a) is str else -1 for a in archs), dtype=np.int64, count=len(archs))
        for i in np.flatnonzero(rows < 0):
            rows[i] = self.row(archs[i])
        return rows

    def query_many(self, archs: Iterable[Any], metric: str | None = None, seed: int | None = None,
                   on_missing: str | None = None) -> np.ndarray:
        """Values of ``metric`` for many architectures, as a float64 array."""
        if metric is None:
            metric = self.default_metric
        out = self._column(metric, seed)[self.rows(archs)]
        if (on_missing or self.on_missing) == "raise":
            nan = np.isnan(out)
            if nan.any():
                first = int(np.flatnonzero(nan)[0])
                raise MissingValueError(
                    f"{self.benchmark}/{self.dataset} has no {metric!r} value for {int(nan.sum())} of the "
                    f"architectures asked (first at position {first}); pass on_missing='nan' to get NaN instead"
                )
        return out

    def optimum(self, metric: str | None = None) -> Optimum:
        """Best architecture by ``metric`` in its direction (ties: lowest row)."""
        if metric is None:
            metric = self.default_metric
        col = self._column(metric, None)
        if np.isnan(col).all():
            raise MissingValueError(f"{self.benchmark}/{self.dataset} has no value at all for {metric!r}")
        best = np.nanmax(col) if self._metric(metric).direction == "max" else np.nanmin(col)
        rows = np.flatnonzero(col == best)
        return Optimum(self._archs[int(rows[0])], float(best), int(rows[0]), int(rows.size))

    def n_values(self, metric: str) -> int:
        """Architectures with a (seed-mean) value of ``metric``, i.e. not NaN."""
        return int(np.count_nonzero(~np.isnan(self._column(metric, None))))

    def search_metric(self) -> tuple[str, str]:
        """``(metric, why)``: what a search optimises by default.

        The validation metric where the table has it for every architecture (searching on
        test accuracy selects on the test set); otherwise the default metric, and ``why``
        says so. A partly filled validation metric is not used: the missing cells would
        rank last and the search could not find them.
        """
        v, where = self.validation_metric, f"{self.benchmark}/{self.dataset}"
        if v is not None and self.n_values(v) == self.n_arch:
            return v, f"{where}: searched {v}, the validation metric (present for every architecture)"
        if v is None:
            why = f"{where} has no {self._validation_wanted or 'validation metric'}"
        else:
            why = f"{where} has {v} for only {self.n_values(v):,} of {self.n_arch:,} architectures"
        held_out = ("; the reported test value is then not held out" if self.default_metric == self.test_metric else "")
        return self.default_metric, f"{why}: searched {self.default_metric}{held_out}"

    def table_digests(self) -> dict[str, str]:
        """``{file name: sha256}`` of the table file this oracle was read from."""
        if self.table_path is None or not self.table_path.exists():
            return {}
        return {self.table_path.name: file_digest(self.table_path)}

    def frame(self, metrics: list[str] | None = None) -> pd.DataFrame:
        """The table as a data frame: one row per architecture, seed-mean columns."""
        import pandas as pd

        names = metrics or self.metrics
        return pd.DataFrame({"arch": self._archs, **{m: self._column(m, None) for m in names}})
