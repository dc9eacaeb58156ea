"""Adapters to the optimizers NAS researchers already use: Optuna and ConfigSpace (which
SMAC, DEHB and HpBandSter take).

Generic over every benchmark: a space describes itself as categorical parameters
(:meth:`~bench.core.space.SearchSpace.parameters`) and decodes an assignment to a member
(:meth:`~bench.core.space.SearchSpace.from_parameters`); an oracle is anything with a
``space``, ``query(arch, metric, **kw)`` and, for the direction, ``metric_info(metric)``.
Optuna and ConfigSpace are optional extras, imported only when used.
"""

from __future__ import annotations

from typing import Any, Callable

from bench.errors import BenchError
from bench.core.space import SearchSpace

__all__ = ["MissingExtraError", "suggest_arch", "optuna_objective", "optuna_direction", "configspace",
           "from_configuration", "to_configuration"]


class MissingExtraError(BenchError, ImportError):
    """An adapter whose optional dependency is not installed."""


def _require(module: str, extra: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise MissingExtraError(
            f"this adapter needs {module}, which is not installed: pip install 'mmnas-bench[{extra}]'") from e


# ---- Optuna ----------------------------------------------------------------------
def suggest_arch(trial, space: SearchSpace):
    """Ask ``trial`` for the space's parameters (a conditional one only when active) and
    return the member they decode to. Works with any Optuna sampler, and with ask/tell."""
    values: dict[str, str] = {}
    for p in space.parameters():
        if p.active(values):
            values[p.name] = trial.suggest_categorical(p.name, list(p.choices))
    return space.from_parameters(values)


def optuna_objective(oracle, metric: str | None = None, seed: int | None = None,
                     **query_options) -> Callable[[Any], float]:
    """``objective(trial) -> float`` for ``optuna.Study.optimize``: suggest, decode, query.

    ``metric=None``: what ``compare`` would search (the oracle's ``search_metric()``, else
    its ``fitness_metric``, else its ``default_metric``). ``seed`` and ``query_options`` (e.g.
    ``allow_train=True`` for an oracle that can train) go to ``oracle.query`` only when
    given, so each oracle keeps its own default (a tabular oracle: the mean over seeds).
    The decoded member's canonical string is stored as the trial's user attribute ``arch``.
    """
    _require("optuna", "optuna")
    metric = metric or _default_metric(oracle)
    if seed is not None:
        query_options["seed"] = seed
    space = oracle.space

    def objective(trial) -> float:
        arch = suggest_arch(trial, space)
        trial.set_user_attr("arch", space.encode(arch))
        return float(oracle.query(arch, metric, **query_options))

    return objective


def optuna_direction(oracle, metric: str | None = None) -> str:
    """``'maximize'`` or ``'minimize'``: the metric's direction from ``oracle.metric_info``."""
    metric = metric or _default_metric(oracle)
    info = getattr(oracle, "metric_info", None)
    if info is None:
        raise BenchError(f"{type(oracle).__name__} has no metric_info(); give the study's direction yourself")
    return {"max": "maximize", "min": "minimize"}[info(metric).direction]


def _default_metric(oracle) -> str:
    """What a search optimises: ``search_metric()`` (tabular), else a ``fitness_metric``
    attribute (trained oracles), else ``default_metric``, which may be a test metric."""
    search = getattr(oracle, "search_metric", None)
    if search is not None:
        return search()[0]
    return getattr(oracle, "fitness_metric", None) or oracle.default_metric


# ---- ConfigSpace -----------------------------------------------------------------
def configspace(space: SearchSpace, seed: int | None = None):
    """The space as a ``ConfigSpace.ConfigurationSpace``: one ``CategoricalHyperparameter``
    per parameter, an ``EqualsCondition`` (one parent value) or ``InCondition`` (several)
    per conditional one. ``seed`` seeds its ``sample_configuration``."""
    cs = _require("ConfigSpace", "configspace")
    out = cs.ConfigurationSpace(seed=seed)
    hps = {p.name: cs.CategoricalHyperparameter(p.name, list(p.choices)) for p in space.parameters()}
    out.add(list(hps.values()))
    conditions = []
    for p in space.parameters():
        if p.condition is None:
            continue
        parent, values = p.condition
        conditions.append(cs.EqualsCondition(hps[p.name], hps[parent], values[0]) if len(values) == 1
                          else cs.InCondition(hps[p.name], hps[parent], list(values)))
    out.add(conditions)
    return out


def from_configuration(space: SearchSpace, config) -> Any:
    """The member a ``ConfigSpace.Configuration`` (or a plain dict of its values) decodes to."""
    return space.from_parameters({k: str(v) for k, v in dict(config).items()})


def to_configuration(space: SearchSpace, arch, cs=None):
    """``arch`` as a ``Configuration`` of ``cs`` (default: a fresh :func:`configspace`), e.g.
    to warm-start an optimizer with known architectures."""
    _require("ConfigSpace", "configspace")
    from ConfigSpace import Configuration

    cs = cs if cs is not None else configspace(space)
    return Configuration(cs, values=space.to_parameters(arch))
