"""MRO's search space (``002_21034c53427ddd7b.txt``, Sec. 3.2): which directed cross-modal
attention paths of a pairwise cross-modal transformer are on.

With K modalities in a fixed order there are K(K-1) directed paths, listed by (source,
target) skipping self-paths - for (T, A, V) exactly the paper's order T->A, T->V, A->T, A->V,
V->T, V->A. An architecture gives each path a depth: 0 (off) .. ``max_depth`` layers. With
``max_depth=1`` this is the paper's binary mask (63 members for K=3, the all-zero mask
excluded); ``max_depth=3`` is the depth-extended variant that keeps a 2-modality space from
being trivially 3 masks (4^2 - 1 = 15 members).

Canonical string: one digit per path in path order, e.g. ``011011``.
"""

from __future__ import annotations

from typing import Iterator, Mapping

import numpy as np

from bench.core.space import Param, SearchSpace, active_values
from bench.errors import InvalidArchitectureError


def paths_of(modalities: list[str]) -> list[tuple[str, str]]:
    """Directed (source, target) pairs in (source index, target index) order."""
    return [(s, t) for s in modalities for t in modalities if s != t]


class PathSpace(SearchSpace):
    """Per-path depths 0..``max_depth`` over the directed paths between ``modalities``; at
    least one path on. Architectures are tuples of ints in path order."""

    indexable = True

    def __init__(self, modalities: list[str], max_depth: int = 1):
        if len(modalities) < 2 or len(set(modalities)) != len(modalities):
            raise InvalidArchitectureError(f"a path space needs at least 2 distinct modalities, got {modalities}")
        if not 1 <= max_depth <= 9:
            raise InvalidArchitectureError(f"max_depth must be in 1..9 (one digit per path), got {max_depth}")
        self.modalities = list(modalities)
        self.max_depth = max_depth
        self.paths = paths_of(self.modalities)
        self.space_id = f"mro-paths[{','.join(self.modalities)};<={max_depth}]"
        self.space_version = "1"

    @property
    def n_paths(self) -> int:
        return len(self.paths)

    def path_names(self) -> list[str]:
        return [f"{s}->{t}" for s, t in self.paths]

    # -- strings ------------------------------------------------------------------------------
    def check(self, arch) -> tuple[int, ...]:
        try:
            a = tuple(int(d) for d in arch)
            exact = not isinstance(arch, (str, bytes)) and all(d == x for d, x in zip(arch, a))  # 1.5 is not 1
        except (TypeError, ValueError, OverflowError):
            exact = False
        if not exact:
            raise InvalidArchitectureError(f"{arch!r} is not a path mask: {self.n_paths} whole numbers "
                                           f"0..{self.max_depth}, one per path ({', '.join(self.path_names())})")
        if len(a) != self.n_paths:
            raise InvalidArchitectureError(f"{arch!r}: expected {self.n_paths} path depths ({', '.join(self.path_names())})")
        if any(not 0 <= d <= self.max_depth for d in a):
            raise InvalidArchitectureError(f"{arch!r}: path depths must be in 0..{self.max_depth}")
        if not any(a):
            raise InvalidArchitectureError(f"{arch!r}: at least one path must be on (nothing to fuse otherwise)")
        return a

    def encode(self, arch) -> str:
        return "".join(str(d) for d in self.check(self.decode(arch) if isinstance(arch, str) else arch))

    def decode(self, text: str) -> tuple[int, ...]:
        if not isinstance(text, str) or not (text.isascii() and text.isdigit()):  # isdigit() also takes '١
            raise InvalidArchitectureError(f"{text!r} is not a path string: one digit 0..{self.max_depth} per path "
                                           f"({', '.join(self.path_names())})")
        if len(text) != self.n_paths:
            raise InvalidArchitectureError(f"{text!r}: expected {self.n_paths} digits, one per path "
                                           f"({', '.join(self.path_names())})")
        return self.check(tuple(int(c) for c in text))

    # -- search operators ------------------------------------------------------------------------
    @property
    def size(self) -> int:
        return (self.max_depth + 1) ** self.n_paths - 1

    def from_index(self, index: int) -> tuple[int, ...]:
        if not 0 <= index < self.size:
            raise InvalidArchitectureError(f"index {index} is out of range 0..{self.size - 1}")
        n, digits = index + 1, []  # index 0 is the first non-zero member
        for _ in range(self.n_paths):
            n, d = divmod(n, self.max_depth + 1)
            digits.append(d)
        return tuple(reversed(digits))

    def index(self, arch) -> int:
        a = self.check(self.decode(arch) if isinstance(arch, str) else arch)
        n = 0
        for d in a:
            n = n * (self.max_depth + 1) + d
        return n - 1

    def enumerate(self) -> Iterator[tuple[int, ...]]:
        return (self.from_index(i) for i in range(self.size))

    def sample(self, rng: np.random.Generator) -> tuple[int, ...]:
        return self.from_index(int(rng.integers(self.size)))

    def mutate(self, arch, rng: np.random.Generator) -> tuple[int, ...]:
        """Change one path's depth (never to the all-off architecture)."""
        a = list(self.check(self.decode(arch) if isinstance(arch, str) else arch))
        while True:
            i = int(rng.integers(self.n_paths))
            choices = [d for d in range(self.max_depth + 1) if d != a[i]]
            b = a.copy()
            b[i] = choices[int(rng.integers(len(choices)))]
            if any(b):
                return tuple(b)

    def crossover(self, a, b, rng: np.random.Generator) -> tuple[int, ...]:
        """Each path's depth from either parent; an all-off child takes one parent's path back."""
        a = self.check(self.decode(a) if isinstance(a, str) else a)
        b = self.check(self.decode(b) if isinstance(b, str) else b)
        take = rng.random(self.n_paths) < 0.5
        child = [x if t else y for x, y, t in zip(a, b, take)]
        if not any(child):
            on = [i for i in range(self.n_paths) if a[i] or b[i]]
            i = on[int(rng.integers(len(on)))]
            child[i] = a[i] or b[i]
        return tuple(child)

    # -- optimizer-facing description ----------------------------------------------------------
    def parameters(self) -> list[Param]:
        """One categorical per path; an all-off assignment decodes to the first path alone."""
        return [Param(f"path_{s}_{t}", tuple(str(d) for d in range(self.max_depth + 1))) for s, t in self.paths]

    def from_parameters(self, values: Mapping[str, str]) -> tuple[int, ...]:
        v = active_values(self.parameters(), values)
        a = [int(v[p.name]) for p in self.parameters()]
        if not any(a):  # an optimizer cannot be told to avoid one corner: map it to a member
            a[0] = 1
        return tuple(a)

    def to_parameters(self, arch) -> dict[str, str]:
        a = self.check(self.decode(arch) if isinstance(arch, str) else arch)
        return {p.name: str(d) for p, d in zip(self.parameters(), a)}
