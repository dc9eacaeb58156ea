"""The interface every search space implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

import numpy as np

from bench.errors import InvalidArchitectureError


@dataclass(frozen=True)
class Param:
    """One categorical parameter of a space's optimizer-facing description.

    ``condition=(parent, values)``: the parameter is active only when ``parent`` (listed
    before it) takes one of ``values``; ``None``: always active. Choices and values are
    strings so that they map unchanged onto Optuna and ConfigSpace categoricals.
    """

    name: str
    choices: tuple[str, ...]
    condition: tuple[str, tuple[str, ...]] | None = None

    def active(self, values: Mapping[str, str]) -> bool:
        """Whether this parameter is active given the values chosen so far."""
        return self.condition is None or values.get(self.condition[0]) in self.condition[1]


def active_values(params: list[Param], values: Mapping[str, str]) -> dict[str, str]:
    """The active parameters' values, checked: every active one present and a valid choice."""
    known = {p.name for p in params}
    unknown = sorted(set(values) - known)
    if unknown:
        raise InvalidArchitectureError(f"unknown parameter(s) {unknown}; valid: {', '.join(p.name for p in params)}")
    out: dict[str, str] = {}
    for p in params:
        if not p.active(out):
            continue
        if p.name not in values:
            raise InvalidArchitectureError(f"parameter {p.name!r} is active but has no value")
        v = values[p.name]
        if v not in p.choices:
            raise InvalidArchitectureError(f"parameter {p.name!r} cannot be {v!r}; valid: {', '.join(p.choices)}")
        out[p.name] = v
    return out


class SearchSpace(ABC):
    """A space of architectures with a canonical string for each member.

    ``encode``/``decode`` convert between architecture objects and canonical strings;
    ``sample``, ``mutate`` and ``crossover`` take a ``numpy.random.Generator`` so that
    every algorithm built on them is reproducible from a seed.
    """

    #: short identifier stored in table attributes
    space_id: str = ""
    #: bumped whenever the canonical string form changes
    space_version: str = "1"
    #: whether ``index``/``from_index`` are implemented (finite spaces small enough to number)
    indexable: bool = False

    @abstractmethod
    def encode(self, arch: Any) -> str:
        """Canonical string of ``arch``."""

    @abstractmethod
    def decode(self, text: str) -> Any:
        """Architecture object for a string; raises InvalidArchitectureError."""

    @abstractmethod
    def sample(self, rng: np.random.Generator) -> Any:
        """One architecture drawn uniformly at random."""

    @abstractmethod
    def mutate(self, arch: Any, rng: np.random.Generator) -> Any:
        """A different valid architecture close to ``arch``."""

    def crossover(self, a: Any, b: Any, rng: np.random.Generator) -> Any:
        """A child mixing two parents."""
        raise NotImplementedError(f"{type(self).__name__} has no crossover")

    # finite spaces only
    @property
    def size(self) -> int | None:
        """Number of members, or None for an unbounded space."""
        return None

    def enumerate(self) -> Iterator[Any]:
        """Every member in index order."""
        raise NotImplementedError(f"{type(self).__name__} is not enumerable")

    def index(self, arch: Any) -> int:
        """Position of ``arch`` in :meth:`enumerate` order."""
        raise NotImplementedError(f"{type(self).__name__} is not enumerable")

    def from_index(self, index: int) -> Any:
        """Inverse of :meth:`index`."""
        raise NotImplementedError(f"{type(self).__name__} is not enumerable")

    # optimizer-facing description (bench.adapters builds Optuna and ConfigSpace spaces from it)
    def parameters(self) -> list[Param]:
        """The space as categorical parameters, parents before the parameters they condition.

        Every assignment of the active parameters decodes (:meth:`from_parameters`) to a
        member, and every member is reachable (:meth:`to_parameters`).
        """
        raise NotImplementedError(f"{type(self).__name__} has no parameter description")

    def from_parameters(self, values: Mapping[str, str]) -> Any:
        """The member an assignment of the active parameters stands for.

        Unknown names, bad values and missing active parameters are named errors; values
        of inactive parameters are ignored (some optimizers report every parameter).
        """
        raise NotImplementedError(f"{type(self).__name__} has no parameter description")

    def to_parameters(self, arch: Any) -> dict[str, str]:
        """Active parameter values that :meth:`from_parameters` decodes back to ``arch``."""
        raise NotImplementedError(f"{type(self).__name__} has no parameter description")
