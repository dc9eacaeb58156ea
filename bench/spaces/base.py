"""The interface every search space implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Iterator

import numpy as np


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
