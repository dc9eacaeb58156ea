"""What a benchmark family declares: one :class:`Family` entry, registered by one line in
:mod:`bench.families`.

Two kinds of family exist, and the generic code (registry, compare, report, fill, CLI)
branches on the kind, never on a family's name:

* ``"table"``: every answer comes from a fixed score table; a run counts distinct
  evaluations (:class:`bench.run.Run`) and a comparison is at equal evaluations.
* ``"trained"``: table -> overlay -> training on a miss; a run is charged deterministic
  training seconds (:class:`bench.trained_run.TrainedRun`) and a comparison is at equal cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

KINDS = ("table", "trained")


@dataclass(frozen=True)
class Option:
    """A family-specific option of ``open`` (and of the CLI's commands that open the family).

    ``flag`` is the CLI spelling (``--max-leaves``), ``name`` the keyword given to ``open``.
    """

    name: str
    flag: str
    type: Callable[[str], Any]
    help: str
    default: Any = None


@dataclass(frozen=True)
class Table:
    """A score table a family ships: its file under ``tables/`` and the builder that makes it.

    ``builder(out_dir=None, source_dir=None, accept_new_reference=False) -> Path``;
    ``trained`` tables are long builds (real training) that ``tables build all`` skips.
    """

    name: str
    file: str
    builder: Callable[..., Path]
    trained: bool = False


def trained_builder(module: str, dataset: str, **fixed: Any) -> Callable[..., Path]:
    """A trained table's builder: ``<module>.build(dataset, **fixed, **kwargs)``, imported on first
    call (a family entry loads no torch); ``source_dir`` is dropped (trained tables read no raw
    sources)."""
    def build(**kwargs: Any) -> Path:
        import importlib

        kwargs.pop("source_dir", None)
        return importlib.import_module(module).build(dataset, **fixed, **kwargs)

    return build


@dataclass(frozen=True)
class SurrogateSpec:
    """What a trained family gives the generic surrogate (:mod:`bench.core.surrogate`) and its
    out-of-slice sample (:mod:`bench.core.outslice`).

    * ``module``: a torch-free module of the family with ``full_space(dataset)`` (the paper's
      whole space: what a surrogate answers and searches run on), ``feature_names(space)`` and
      ``features(space, arch)`` (a fixed-length numeric description of an architecture from the
      family's own encoding, in the names' order) and ``trainer(dataset)`` (the default
      recipe's :class:`bench.core.trainer.Trainer`, which may import torch when called).
    * ``datasets``: the datasets with a shipped table, each of which gets a fitted surrogate;
      ``sample_dataset``: the one whose out-of-slice sample (trained full-space architectures
      that no table holds) ships.
    * ``metrics``: the record fields modelled, the searched (validation) one first.
    * ``table_file(dataset)``: the shipped table's file name; ``curves``: the list-valued record
      fields (units, meaning) the sample's table keeps beside the scalar metrics.
    * ``agree_dataset`` / ``algorithms``: the dataset on which search algorithms are ranked on the
      table and on the surrogate (:mod:`bench.core.surrogate_agreement`), and those algorithms:
      the ones that run on answers alone (a supernet search or weight inheritance needs the
      family's own oracle).
    """

    module: str
    datasets: tuple[str, ...]
    sample_dataset: str
    metrics: tuple[str, ...]
    table_file: Callable[[str], str]
    curves: Mapping[str, Any] | None = None
    agree_dataset: str = ""
    algorithms: tuple[str, ...] = ("rs", "rea", "edf")

    def impl(self):
        """The family's surrogate module (imported on first use)."""
        import importlib

        return importlib.import_module(self.module)

    def outslice_file(self) -> str:
        """The out-of-slice sample's table file."""
        return self.table_file(self.sample_dataset).removesuffix(".h5") + "_outslice.h5"


@dataclass(frozen=True)
class Family:
    """One benchmark family: how to open it, what it ships, and what only it provides.

    * ``open(dataset, on_missing="raise", verify=True, **options)`` returns the oracle;
      ``options`` are the family's :class:`Option` names (trained families also take
      ``allow_train`` and ``overlay``), spelled out as keywords: ``bench.open`` refuses any
      other name by reading them from this signature (:func:`bench.registry.open_options`).
    * ``table_view(dataset)``: the shipped table as a read-only tabular oracle (what ``info``
      shows), or None when no table ships for the dataset.
    * ``algorithms()``: search algorithms that only this family's runs can execute, beside the
      generic ones of :mod:`bench.algorithms`; ``default_algorithms``: what ``compare`` runs
      when none is named; ``until_budget(name)`` the settings that make a generational
      algorithm run until a cost budget is spent (None: the algorithm always does);
      ``check_algorithm(name, space)`` raises before any work when an algorithm cannot
      search the space.
    * ``fill(dataset, seeds, **kwargs)``: train every architecture of the space into the
      overlay (trained families); one that takes ``stacked`` can train an architecture's seeds
      as one stack (:attr:`stacks_seeds`).
    * ``runners()``: paper-table runners, by the key a spec names.
    * ``multitask_algorithms()``: algorithms that search several datasets of the family
      together, ``fn(mrun, rng)`` on a :class:`bench.multitask.MultiTaskRun`, by name.
    * ``method_names()``: the published name of each of its algorithms (and multi-task
      algorithms), by key, for plot legends; a key without one is shown as it is.
    * ``gate()``: its trained tables as the quality gate reads them
      (:class:`bench.core.quality.GateSpec`: searched and reported metrics, trivial predictors).
    * ``surrogate``: trained families: what a fitted surrogate of the full space reads
      (:class:`SurrogateSpec`); its out-of-slice sample is one more trained table.
    * ``default_budget_seconds``: trained families: the charged training seconds per run of a
      ``compare`` given no ``--budget-seconds``: about 50 models' worth, 50 x the median recorded
      ``train_seconds`` of its default (first) dataset's table, to one significant digit.
    """

    name: str
    kind: str
    description: str
    datasets: Callable[[], list[str]]
    open: Callable[..., Any]
    table_view: Callable[[str], Any]
    options: tuple[Option, ...] = ()
    tables: tuple[Table, ...] = ()
    algorithms: Callable[[], Mapping[str, Callable]] = staticmethod(lambda: {})
    default_algorithms: tuple[str, ...] = ("rs", "rea")
    until_budget: Callable[[str], Any] = staticmethod(lambda name: None)
    check_algorithm: Callable[[str, Any], None] = staticmethod(lambda name, space: None)
    fill: Callable[..., Any] | None = None
    runners: Callable[[], Mapping[str, Callable]] = staticmethod(lambda: {})
    multitask_algorithms: Callable[[], Mapping[str, Callable]] = staticmethod(lambda: {})
    method_names: Callable[[], Mapping[str, str]] = staticmethod(lambda: {})
    gate: Callable[[], tuple] = staticmethod(lambda: ())
    default_budget_seconds: float | None = None
    surrogate: SurrogateSpec | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"family {self.name!r}: kind must be one of {KINDS}, got {self.kind!r}")
        b = self.default_budget_seconds
        if (b is None) != (self.kind != "trained") or not (b is None or (isinstance(b, (int, float)) and 0 < b < 1e12)):
            raise ValueError(f"family {self.name!r}: default_budget_seconds must be a number of seconds > 0 for a "
                             f"trained family and None for a table family, got {b!r}")

    def all_tables(self) -> tuple[Table, ...]:
        """The shipped tables, with the out-of-slice sample's where the family has a surrogate."""
        if self.surrogate is None:
            return self.tables
        spec = self.surrogate

        def build(**kwargs: Any) -> Path:
            from bench.core.outslice import build_sample

            kwargs.pop("source_dir", None)
            return build_sample(self.name, **kwargs)

        return (*self.tables, Table(f"{self.name}-{spec.sample_dataset}-outslice", spec.outslice_file(), build,
                                    trained=True))

    def option_names(self) -> list[str]:
        return [o.name for o in self.options]

    @property
    def stacks_seeds(self) -> bool:
        """Whether its fill can train an architecture's seeds as one stack (``stacked=True``)."""
        import inspect

        return self.fill is not None and "stacked" in inspect.signature(self.fill).parameters
