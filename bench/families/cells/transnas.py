"""The TransNAS-Bench-101 micro cell space (4,096 cells) and a restriction to a sample.

Same 4-node, 6-edge cell as NB201 with 4 ops. The canonical string is TransNAS-Bench's
own micro code ``a_bc_def``: one digit per edge (into node 1; node 2; node 3), with
0 = none (zero), 1 = skip_connect, 2 = nor_conv_1x1, 3 = nor_conv_3x3.
"""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np

from bench.errors import ArchIndexError, InvalidArchitectureError
from bench.core.space import SearchSpace
from bench.families.cells.cell import Cell, CellSpace

OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3")


class TransNASMicroSpace(CellSpace):
    space_id = "transnas101-micro"
    space_version = "1"
    ops = OPS

    def to_string(self, ops: tuple[str, ...]) -> str:
        d = [str(self._op_index[o]) for o in ops]
        return f"{d[0]}_{d[1]}{d[2]}_{d[3]}{d[4]}{d[5]}"

    def parse_ops(self, text: str) -> tuple[str, ...]:
        if not isinstance(text, str):
            raise InvalidArchitectureError(f"a TransNAS micro code must be str, got {type(text).__name__}")
        parts = text.split("_")
        if [len(p) for p in parts] != [1, 2, 3]:
            raise InvalidArchitectureError(
                f"bad TransNAS micro code {text!r}: expected 'a_bc_def' (1, 2 and 3 digits for nodes 1, 2, 3), e.g. 1_02_333"
            )
        digits = "".join(parts)
        bad = [c for c in digits if c not in "0123"]
        if bad:
            raise InvalidArchitectureError(f"unknown op digit(s) {bad} in {text!r}; valid: 0 none, 1 skip_connect, 2 nor_conv_1x1, 3 nor_conv_3x3")
        return tuple(OPS[int(c)] for c in digits)


class RestrictedSpace(SearchSpace):
    """A base space restricted to a listed subset (e.g. the cells a sampled table holds).

    ``sample`` draws uniformly from the members; ``mutate`` returns a member that
    differs in one edge op when one exists, else a nearest member by the number of
    edges that differ. Indices are positions in the member list.

    Its optimizer-facing parameters are the base space's (an optimizer cannot be told
    which cells a sample holds); :meth:`from_parameters` maps a cell outside the sample
    to the nearest member (fewest differing edges, ties: lowest index), so every
    assignment an optimizer proposes evaluates and members map to themselves.
    """

    indexable = True

    def __init__(self, base: CellSpace, members: Sequence[str]):
        self.base = base
        self.members = [base.encode(base.decode(m)) for m in members]
        self._pos = {m: i for i, m in enumerate(self.members)}
        self._ops = np.array([base.op_indices(m) for m in self.members])
        self.space_id = f"{base.space_id}[{len(self.members)}]"
        self.space_version = base.space_version
        self.ops, self.edges = base.ops, base.edges

    @property
    def size(self) -> int:
        return len(self.members)

    def encode(self, arch) -> str:
        key = self.base.encode(arch)
        if key not in self._pos:
            raise InvalidArchitectureError(f"{key!r} is in {self.base.space_id} but not in this {self.size}-cell subset")
        return key

    def decode(self, text: str) -> Cell:
        return self.base.decode(self.encode(text))

    def index(self, arch) -> int:
        return self._pos[self.encode(arch)]

    def from_index(self, index: int) -> Cell:
        if not 0 <= index < self.size:
            raise ArchIndexError(index, self.size)
        return self.base.decode(self.members[index])

    def op_indices(self, arch) -> tuple[int, ...]:
        return self.base.op_indices(arch)

    def enumerate(self) -> Iterator[Cell]:
        return (self.from_index(i) for i in range(self.size))

    def sample(self, rng: np.random.Generator) -> Cell:
        return self.from_index(int(rng.integers(self.size)))

    def parameters(self):
        return self.base.parameters()

    def from_parameters(self, values) -> Cell:
        # deterministic rather than an error: an optimizer samples the full base space, and
        # failing most of its proposals (e.g. 3,385 of 4,096 TransNAS cells) would stall it
        cell = self.base.from_parameters(values)
        if self.base.encode(cell) in self._pos:
            return cell
        dist = (self._ops != np.array(self.base.op_indices(cell))).sum(axis=1)
        return self.from_index(int(np.argmin(dist)))  # argmin: the first, lowest-index nearest

    def to_parameters(self, arch) -> dict[str, str]:
        return self.base.to_parameters(self.encode(arch))

    def mutate(self, arch, rng: np.random.Generator) -> Cell:
        here = np.array(self.base.op_indices(arch))
        dist = (self._ops != here).sum(axis=1)
        dist[dist == 0] = 99
        near = np.flatnonzero(dist == dist.min())
        return self.from_index(int(near[int(rng.integers(len(near)))]))

    def crossover(self, a, b, rng: np.random.Generator) -> Cell:
        child = self.base.crossover(a, b, rng)
        if self.base.encode(child) in self._pos:
            return child
        return self.from_index(self._nearest(child, rng))

    def _nearest(self, arch, rng) -> int:
        dist = (self._ops != np.array(self.base.op_indices(arch))).sum(axis=1)
        near = np.flatnonzero(dist == dist.min())
        return int(near[int(rng.integers(len(near)))])

    def isomorphism_key(self, arch) -> str:
        return self.base.isomorphism_key(arch)

    def to_graph(self, arch, drop_none: bool = True):
        return self.base.to_graph(arch, drop_none)
