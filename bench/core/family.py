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
      overlay (trained families).
    * ``runners()``: paper-table runners, by the key a spec names.
    * ``multitask_algorithms()``: algorithms that search several datasets of the family
      together, ``fn(mrun, rng)`` on a :class:`bench.multitask.MultiTaskRun`, by name.
    * ``method_names()``: the published name of each of its algorithms (and multi-task
      algorithms), by key, for plot legends; a key without one is shown as it is.
    * ``gate()``: its trained tables as the quality gate reads them
      (:class:`bench.core.quality.GateSpec`: searched and reported metrics, trivial predictors).
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

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"family {self.name!r}: kind must be one of {KINDS}, got {self.kind!r}")
        b = self.default_budget_seconds
        if (b is None) != (self.kind != "trained") or not (b is None or (isinstance(b, (int, float)) and 0 < b < 1e12)):
            raise ValueError(f"family {self.name!r}: default_budget_seconds must be a number of seconds > 0 for a "
                             f"trained family and None for a table family, got {b!r}")

    def option_names(self) -> list[str]:
        return [o.name for o in self.options]
