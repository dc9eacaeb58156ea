"""The oracle of a trained family: the shipped table first, then the user's overlay, then -
when the caller allows it - real training, persisted so the next query is a lookup.

A family gives the pieces (:class:`TrainedOracle`'s constructor): its space, metric spec,
recipe key, a ``train(arch, seed) -> record`` function, the checksum of the data it trains
on (overlay records are bound to it), its shipped table and a deterministic cost model for
models the table does not hold. This class knows no family.

Overlay keys are ``Overlay.key(dataset, arch, seed, recipe_key)`` text, as everywhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from bench import validate
from bench.core.keys import RecordKey
from bench.core.quality import note_read, warn_if_not_discriminating
from bench.manifest import file_digest
from bench.errors import MissingValueError, UnknownMetricError
from bench.oracle import MetricInfo
from bench.overlay import Overlay
from bench.tablefile import read_dataset


@dataclass(frozen=True)
class MetricSpec:
    unit: str
    direction: str  # 'max' or 'min'
    description: str


CURVE_SELECTS = ("best", "last")


@dataclass(frozen=True)
class Curve:
    """The per-epoch validation values a family's records hold, which an epoch fidelity answers from.

    ``field``: the record's list (one value per epoch of the full recipe, NaN after an early stop);
    ``metric``: the validation metric it tracks; ``select``: how a model's result is read from it,
    ``"best"`` (the model keeps its best epoch: the value after k epochs is the best of the first k)
    or ``"last"`` (its final epoch: the k-th value); ``epochs``: the full recipe's epochs.
    """

    field: str
    metric: str
    select: str
    epochs: int

    def __post_init__(self):
        if self.select not in CURVE_SELECTS or not (isinstance(self.epochs, int) and self.epochs >= 1):
            raise ValueError(f"Curve({self.field!r}): select must be one of {CURVE_SELECTS} and epochs an int >= 1, "
                             f"got {self.select!r}, {self.epochs!r}")

    def trained_epochs(self, record: Mapping) -> int:
        """Epochs the record's model trained (its curve's values before the first NaN)."""
        values = record[self.field]
        n = 0
        for v in values:
            if v != v:
                break
            n += 1
        return n

    def at(self, record: Mapping, epochs: int, direction: str) -> float:
        """The validation value of the record's model after ``min(epochs, trained)`` epochs."""
        values = record[self.field][:max(1, min(epochs, self.trained_epochs(record)))]
        if self.select == "last":
            return float(values[-1])
        return float(max(values) if direction == "max" else min(values))


class TrainedOracle:
    """Table -> overlay -> trainer for one dataset of a trained family.

    ``cost(arch_text) -> seconds``: what a search is charged for a model the shipped table
    does not hold (the table's recorded seconds are charged for its rows), so a budget buys
    the same evaluations on every machine. ``curve``: the per-epoch validation values its
    records hold (:class:`Curve`), which runs at an epoch fidelity read.
    """

    def __init__(self, benchmark: str, dataset: str, space, metrics: Mapping[str, MetricSpec], recipe_key: str,
                 train: Callable[[Any, int], dict], store_sha256: str, overlay: Overlay,
                 fitness_metric: str, test_metric: str, default_metric: str, cost: Callable[[str], float],
                 allow_train: bool = False, table: Path | None = None, curve: Curve | None = None):
        self.benchmark, self.dataset, self.space = benchmark, dataset, space
        self._metrics = dict(metrics)
        self.recipe_key = recipe_key
        self._train = train
        self.overlay = overlay
        overlay.bind_store(dataset, store_sha256)  # never answer from a record made on other data
        self.fitness_metric, self.test_metric, self.default_metric = fitness_metric, test_metric, default_metric
        self._cost = cost
        self.curve = curve  # what an epoch fidelity reads (None: the records hold no curve)
        self.allow_train = validate.flag(allow_train, "allow_train")
        self.n_seeds = 1
        self.n_trained = 0
        self.answered_from = {"table": 0, "overlay": 0, "trained": 0}
        self._table: dict[str, dict] = {}
        self._table_path: Path | None = None
        self._table_name: str | None = None  # what note_read records for every answer
        self._memory: dict[str, dict] = {}
        self._charged: dict[str, float] = {}
        if table is not None:
            self.load_table(table)

    @property
    def space(self):
        return self._space

    @space.setter
    def space(self, space) -> None:
        self._space = space
        # memos of string architectures, so a repeated query skips the space's parse: the user's
        # text -> its canonical text, and (user's text, seed) -> the record key in ``_memory``;
        # another space may read a text otherwise, so they start afresh
        self._texts: dict[str, str] = {}
        self._keys: dict[tuple[str, int], str] = {}

    # ---- the oracle protocol -----------------------------------------------------------------
    @property
    def metrics(self) -> list[str]:
        return list(self._metrics)

    def metric_info(self, metric: str) -> MetricInfo:
        if not isinstance(metric, str) or metric not in self._metrics:
            raise UnknownMetricError(metric, self._metrics, f"for {self.benchmark}")
        m = self._metrics[metric]
        return MetricInfo(metric, m.unit, m.direction, m.description, self.n_seeds, None)

    def load_table(self, path: Path) -> int:
        """Answer from a shipped table first; only rows trained with this oracle's recipe count."""
        rows = recipe_rows(path, self.dataset, self.recipe_key)
        if rows is None:
            return 0
        archs, metrics, n_seed = rows
        self.n_seeds = max(self.n_seeds, n_seed)
        self._table_path = Path(path)
        self._table_name = self._table_path.name
        warn_if_not_discriminating(self._table_path.name)
        # whole columns to Python once (the same values as element by element, far faster)
        scalars = {m: metrics[m].values.tolist() for m in self._metrics if m in metrics}
        # list-valued fields (per-epoch curves, per-rate metrics) come back as lists
        lists = {m: v.values.tolist() for m, v in metrics.items() if v.values.ndim == 3}
        for i, arch in enumerate(archs):
            for s in range(n_seed):
                rec = {m: float(v[i][s]) for m, v in scalars.items()}
                rec.update({m: v[i][s] for m, v in lists.items()})
                self._table[Overlay.key(self.dataset, arch, s, self.recipe_key)] = rec
        return len(self._table)

    def table_digests(self) -> dict[str, str]:
        """``{file: sha256}`` of the shipped table this oracle answers from (empty if none)."""
        if not self._table or self._table_path is None:
            return {}
        return {self._table_path.name: file_digest(self._table_path)}

    def key(self, arch, seed: int) -> str:
        return Overlay.key(self.dataset, self.encode(arch), seed, self.recipe_key)

    def encode(self, arch) -> str:
        """The canonical text of ``arch`` (``space.encode``), memoised for string architectures."""
        if type(arch) is not str:
            return self.space.encode(arch)
        text = self._texts.get(arch)
        if text is None:
            text = self._texts[arch] = self.space.encode(arch)  # raises on an invalid one: nothing kept
        return text

    def keyed_result(self, arch, seed: int = 0, allow_train: bool | None = None) -> tuple[str, dict]:
        """``(key, record)`` of (arch, seed): from the table, the overlay, or trained now."""
        if type(seed) is not int or not 0 <= seed < validate.SEED_LIMIT:
            seed = validate.seed(seed)  # a negative, float or text seed would train (and store) a record
        if allow_train is not None:
            validate.flag(allow_train, "allow_train")
        key = self._keys.get((arch, seed)) if type(arch) is str else None
        if key is not None:  # a string seen before: two dict lookups
            if self._table_name is not None:
                note_read(self._table_name)
            return key, self._memory[key]
        text = self.encode(arch)
        key = Overlay.key(self.dataset, text, seed, self.recipe_key)
        if self._table_name is not None:  # its models share the table's data and recipe, so its quality gate
            note_read(self._table_name)
        rec = self._memory.get(key)
        if rec is not None:
            if type(arch) is str:
                self._keys[(arch, seed)] = key
            return key, rec
        rec = self._table.get(key)
        if rec is not None:
            self.answered_from["table"] += 1
        else:
            rec = self.overlay.get(key)
            if rec is not None:
                self.answered_from["overlay"] += 1
        if rec is None:
            if not (self.allow_train if allow_train is None else allow_train):
                raise MissingValueError(f"{self.benchmark}/{self.dataset}: no result for {text!r} seed {seed} (recipe "
                                        f"{self.recipe_key}) in the table or the overlay; pass allow_train=True or run "
                                        "`mmnas-bench fill`")
            rec = self._train(self.space.decode(text), seed)
            self.overlay.put(key, self.dataset, text, seed, self.recipe_key, rec)
            self.n_trained += 1
            self.answered_from["trained"] += 1
        self._memory[key] = rec
        if type(arch) is str:
            self._keys[(arch, seed)] = key
        return key, rec

    def result(self, arch, seed: int = 0, allow_train: bool | None = None) -> dict:
        return self.keyed_result(arch, seed, allow_train)[1]

    def query(self, arch, metric: str | None = None, seed: int = 0, allow_train: bool | None = None) -> float:
        if metric is None:
            metric = self.default_metric
        elif type(metric) is not str or metric not in self._metrics:  # refused before any training
            metric = validate.metric(metric, self._metrics, f"for {self.benchmark}")
        # a string (and int seed) seen before: its record key is memoised (only valid seeds ever are)
        key = self._keys.get((arch, seed)) if type(arch) is str and type(seed) is int else None
        if key is not None and allow_train is None:
            if self._table_name is not None:
                note_read(self._table_name)
            v = self._memory[key].get(metric)
        else:
            v = self.keyed_result(arch, seed, allow_train)[1].get(metric)
        if v is None:
            raise MissingValueError(f"{self.benchmark}/{self.dataset}: {metric!r} was not recorded for {arch!r}")
        return float(v)

    def cached(self, label: str, seed: int, recipe_key: str, compute: Callable[[], dict], trains: bool = True) -> dict:
        """What is stored under ``Overlay.key(dataset, label, seed, recipe_key)`` in the overlay, else
        ``compute()`` stored there: for outcomes that are not one architecture's record (a supernet
        search, a network outside the space). Where ``compute`` ``trains`` and this oracle may not
        train, a miss is refused."""
        key = Overlay.key(self.dataset, label, validate.seed(seed), recipe_key)
        got = self.overlay.get(key)
        if got is None:
            if trains and not self.allow_train:
                raise MissingValueError(f"{self.benchmark}/{self.dataset}: nothing cached for {label!r} seed {seed} "
                                        f"(recipe {recipe_key}); open the oracle with allow_train=True")
            got = compute()
            self.overlay.put(key, self.dataset, label, seed, recipe_key, got)
        return got

    def charged_seconds(self, key: str) -> float:
        """Seconds a search is charged: the shipped table's recorded seconds for its rows, the
        cost model's (:meth:`model_cost`) for every other model - the same on every machine.
        Worked out once per key."""
        sec = self._charged.get(key)
        if sec is None:
            row = self._table.get(key)
            sec = row["train_seconds"] if row is not None else float(self.model_cost(RecordKey.parse(key)))
            self._charged[key] = sec
        return sec

    def model_cost(self, key: RecordKey) -> float:
        """The cost model's seconds for a model the shipped table does not hold."""
        return self._cost(key.arch)

    def inherited_result(self, arch, seed: int, parent_key: str, allow_train: bool | None = None):
        raise MissingValueError(f"{self.benchmark} models do not inherit weights; evaluate {arch!r} from scratch")


class LazyTrain:
    """A ``train(arch, seed)`` that ``make()`` builds on its first call: a family's trainer
    module (and torch with it) is imported when a model is first trained, never for answers
    from the table or the overlay."""

    def __init__(self, make: Callable[[], Callable[[Any, int], dict]]):
        self._make, self._train = make, None

    def __call__(self, arch, seed: int) -> dict:
        if self._train is None:
            self._train = self._make()
        return self._train(arch, seed)


def recipe_rows(path: Path, dataset: str, recipe_key: str):
    """``(archs, metrics, n_seed)`` of a shipped table's dataset when it was trained with
    ``recipe_key``; None when the file is absent or another recipe made it."""
    if path is None or not Path(path).exists():
        return None
    archs, metrics, attrs = read_dataset(path, dataset)
    if json.loads(attrs["provenance"]).get("recipe_key") != recipe_key:
        return None
    return archs, metrics, next(iter(metrics.values())).values.shape[1]
