"""The benchmarks the suite knows, and ``bench.open``: thin lookups over :mod:`bench.families`."""

from __future__ import annotations

import builtins
import inspect

from bench import validate
from bench.core.family import Family
from bench.errors import BenchError, InvalidArgumentError, UnknownDatasetError
from bench.families import FAMILIES, get


def benchmarks() -> list[str]:
    """Names accepted by :func:`open`."""
    return list(FAMILIES)


def info(benchmark: str) -> Family:
    """The family entry of a benchmark (kind, description, datasets, tables, options)."""
    return get(benchmark)


def datasets(benchmark: str) -> list[str]:
    """Datasets of a benchmark (for trained families, those with a shipped table first)."""
    return get(benchmark).datasets()


def default_dataset(benchmark: str) -> str:
    """The dataset a command uses when none is given: the benchmark's first."""
    return datasets(benchmark)[0]


def table_view(benchmark: str, dataset: str):
    """The shipped table of a dataset as a read-only tabular oracle (None if none ships)."""
    return get(benchmark).table_view(dataset)


#: what answers a trained family's queries: its table (then the overlay, then training when
#: allowed), or its fitted surrogate over the full space or over the table's slice
ORACLES = ("table", "surrogate", "surrogate-slice")


def open(benchmark: str, dataset: str, on_missing: str = "raise", verify: bool = True, oracle: str = "table",  # noqa: A001
         **options):
    """Open one dataset of a benchmark: a :class:`~bench.oracle.TabularOracle` for a table
    family, the family's trained oracle otherwise (``options`` are the family's own).

    ``oracle`` (trained families): ``"table"`` answers from the shipped table, then the overlay,
    then real training (``allow_train=True``); ``"surrogate"`` from the family's fitted surrogate
    over the paper's full space (:class:`bench.core.surrogate.SurrogateOracle`: predicted seed mean
    plus a seeded noise draw, never training); ``"surrogate-slice"`` the same over the table's own
    architectures (to check the surrogate against the table). ``mmnas-bench surrogate report``
    says what each surrogate's answers are worth.

    >>> o = open("nb201", dataset="cifar10")            # doctest: +SKIP
    >>> o.query(o.optimum("test_acc").arch, "test_acc")  # doctest: +SKIP
    94.37333333333333
    """
    family = get(benchmark)
    # every argument is checked here, before a store is read or anything can train
    validate.choice(on_missing, ("raise", "nan"), "on_missing")
    validate.flag(verify, "verify")
    if not isinstance(dataset, str):
        raise UnknownDatasetError(dataset, family.datasets(), f"for benchmark {benchmark!r}")
    if options and family.kind == "table":
        raise BenchError(f"{benchmark} is a fixed table; it takes no options, got {sorted(options)}")
    validate.options(options, open_options(benchmark), f"bench.open({benchmark!r})")
    if "allow_train" in options:
        validate.flag(options["allow_train"], "allow_train")
    if "overlay" in options:
        validate.overlay(options["overlay"])
    if "device" in options:
        validate.device(options["device"])
    recipe = options.get("recipe")
    if recipe is not None and not isinstance(getattr(recipe, "key", None), str):
        raise InvalidArgumentError(f"recipe must be None (the family's own) or a recipe of {benchmark} "
                                   f"(an object with a .key), got {recipe!r}")
    validate.choice(oracle, ORACLES, "oracle")
    if oracle != "table":
        if family.kind != "trained" or family.surrogate is None:
            raise BenchError(f"{benchmark} has no surrogate (oracle={oracle!r}); "
                             + ("a fixed table answers every architecture" if family.kind == "table" else
                                "only oracle='table'"))
        if options.get("allow_train"):
            raise BenchError(f"oracle={oracle!r} never trains: drop allow_train, or open oracle='table' to train")
        from bench.core.surrogate import family_oracle, open_surrogate

        inner = family_oracle(benchmark, dataset, on_missing=on_missing, verify=verify, **options)
        return open_surrogate(benchmark, dataset, "full" if oracle == "surrogate" else "slice", inner)
    return family.open(dataset, on_missing=on_missing, verify=verify, **options)


def open_options(benchmark: str) -> list[str]:
    """The keyword options :func:`open` takes for a benchmark beyond ``on_missing`` and ``verify``
    (a trained family's ``open`` signature; none for a fixed table)."""
    family = get(benchmark)
    if family.kind == "table":
        return []
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return [p.name for p in list(inspect.signature(family.open).parameters.values())[1:]
            if p.kind in named and p.name not in ("on_missing", "verify")]


_ = builtins  # `open` shadows the builtin inside this module only
