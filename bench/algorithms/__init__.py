"""Search algorithms. Each is ``algo(run, rng)`` (or ``algo(run, rng, settings)``) and uses only
the run (``run.evaluate``, ``run.seen``, ``run.done``, ``run.space``) and the space's public
methods.

``rs`` and ``rea`` run on every benchmark; ``asha``, ``hyperband`` and ``tpe-hyperband``
(:mod:`bench.algorithms.multi_fidelity`) on every trained one at an epoch fidelity; a family adds algorithms only its runs can
execute (:attr:`bench.core.family.Family.algorithms`: tree fusion's EDF and CSG-NAS need a
:class:`bench.trained_run.TrainedRun`, whose ``evaluate`` can inherit a parent's weights).

Bring your own: ``register("mine", fn)`` makes ``fn`` available to ``compare`` on every
benchmark, and ``--algo package.module:function`` names one on the command line.
"""

from __future__ import annotations

import importlib
import inspect
import re
from typing import Callable

from bench.algorithms.edf import EDFSettings, edf
from bench.algorithms.multi_fidelity import MULTI_FIDELITY, MultiFidelitySettings
from bench.algorithms.random_search import random_search
from bench.algorithms.regularized_evolution import REASettings, regularized_evolution
from bench.errors import BenchError, UnknownAlgorithmError

#: algorithms that need nothing but the run protocol: they search every benchmark
ALGORITHMS: dict[str, Callable] = {
    "rs": random_search,
    "rea": regularized_evolution,
    **MULTI_FIDELITY,
}
_REGISTERED: dict[str, Callable] = {}


def register(name: str, fn: Callable, *, replace: bool = False) -> Callable:
    """Make ``fn(run, rng)`` available as ``name`` to :func:`get` and ``compare`` on every benchmark.

    ``fn`` receives the run (:class:`bench.run.Run` or :class:`bench.trained_run.TrainedRun`)
    and a seeded ``numpy.random.Generator``; it calls ``run.evaluate(arch)`` until
    ``run.done``. A name already taken is refused unless ``replace``. Returns ``fn``.
    """
    if not re.fullmatch(r"[A-Za-z0-9_.\-]+", name or ""):
        raise BenchError(f"algorithm name must be letters, digits, '_', '.' or '-', got {name!r}")
    if not callable(fn):
        raise BenchError(f"register({name!r}, ...): {fn!r} is not callable")
    if not replace and (name in ALGORITHMS or name in _REGISTERED):
        raise BenchError(f"algorithm {name!r} is already registered; pass replace=True to replace it")
    _REGISTERED[name] = fn
    return fn


def _load(spec: str) -> Callable:
    """``package.module:function`` imported (the module from the current folder or sys.path)."""
    module, _, attr = spec.partition(":")
    if not module or not attr:
        raise BenchError(f"--algo {spec!r}: expected 'package.module:function'")
    import os
    import sys

    if os.getcwd() not in sys.path:  # a user's own module beside them, as `python -m` would find it
        sys.path.insert(0, os.getcwd())
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        raise BenchError(f"--algo {spec!r}: cannot import {module!r} ({exc})") from None
    fn = getattr(mod, attr, None)
    if not callable(fn):
        raise BenchError(f"--algo {spec!r}: module {module!r} has no function {attr!r}")
    return fn


def file_name(name: str) -> str:
    """``name`` as it appears in a record's file name: a ``module:function`` algorithm's ':' is
    not allowed on every file system; '+' can be in neither a registered name nor a module path,
    so two algorithms never share a file."""
    return name.replace(":", "+")


def names(benchmark: str | None = None) -> list[str]:
    """Algorithm names :func:`get` accepts for ``benchmark`` (besides ``module:function``)."""
    out = [*ALGORITHMS]
    if benchmark is not None:
        from bench.families import get as family

        if family(benchmark).kind != "trained":  # tables of final values: no epoch fidelity
            out = [n for n in out if not needs_epochs(n)]
        out += [n for n in family(benchmark).algorithms() if n not in out]
    return out + [n for n in _REGISTERED if n not in out]


def get(name: str, benchmark: str | None = None) -> Callable:
    """The algorithm ``name`` for runs on ``benchmark``: generic, the family's own, registered,
    or ``package.module:function``."""
    if ":" in name:
        return _load(name)
    if name in _REGISTERED:
        return _REGISTERED[name]
    if name in ALGORITHMS:
        return ALGORITHMS[name]
    if benchmark is not None:
        from bench.families import get as family

        own = family(benchmark).algorithms()
        if name in own:
            return own[name]
    raise UnknownAlgorithmError(name, names(benchmark), "" if benchmark is None else f"for benchmark {benchmark!r}")


def stream_key(name: str, benchmark: str | None = None) -> str:
    """What a run's random stream is keyed by besides the seed: the algorithm, not the name it goes by.

    A built-in algorithm (generic or the family's own) is keyed by its own name; a user's function,
    given as ``package.module:function`` or registered under any name, by ``module:qualname`` of
    the function. So ``register("mine", fn)``, ``register("other", fn)`` and ``--algo module:fn``
    draw the same stream for the same seed, and a built-in registered again under another name
    draws the built-in's."""
    if ":" in name:
        return name
    if name in _REGISTERED:
        fn = _REGISTERED[name]
        builtin = {id(f): n for n, f in ALGORITHMS.items()}
        if benchmark is not None:
            from bench.families import get as family

            builtin.update({id(f): n for n, f in family(benchmark).algorithms().items()})
        if id(fn) in builtin:
            return builtin[id(fn)]
        target = inspect.unwrap(fn)
        module, qual = getattr(target, "__module__", None), getattr(target, "__qualname__", None)
        if module and qual:
            return f"{module}:{qual}"
    return name


def needs_epochs(name: str) -> bool:
    """Whether ``name`` trains models part-way (a run at an epoch fidelity only)."""
    return name in MULTI_FIDELITY


def until_budget(name: str, benchmark: str):
    """Settings that make a generational algorithm of ``benchmark`` run until a cost budget
    is spent (for equal-cost comparisons); None for algorithms that always do."""
    from bench.families import get as family

    return family(benchmark).until_budget(name)


__all__ = ["ALGORITHMS", "register", "file_name", "names", "get", "stream_key", "needs_epochs", "until_budget", "edf", "EDFSettings",
           "MULTI_FIDELITY", "MultiFidelitySettings",
           "random_search", "regularized_evolution", "REASettings"]
