"""Cells of 4 nodes and 6 edges ``j -> i`` (j < i), one op per edge.

Shared by the NB201 space (5 ops) and the TransNAS-Bench-101 micro space (4 ops);
subclasses define the ops and their canonical string.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import networkx as nx
import numpy as np

from bench.errors import ArchIndexError, InvalidArchitectureError
from bench.core.space import Param, SearchSpace, active_values

#: (target node, source node) of each edge, in string order
EDGES: tuple[tuple[int, int], ...] = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
N_EDGES = len(EDGES)


@dataclass(frozen=True, slots=True)
class Cell:
    """One cell: the op on each of the 6 edges, in :data:`EDGES` order."""

    ops: tuple[str, ...]


class CellSpace(SearchSpace):
    """Index, sampling, mutation, crossover and structure of a 6-edge cell space.

    The index of a cell is its op indices read as a base-``len(ops)`` number, first
    edge most significant.
    """

    indexable = True

    ops: tuple[str, ...] = ()
    edges = EDGES

    def __init__(self):
        self._op_index = {op: i for i, op in enumerate(self.ops)}
        n = len(self.ops)
        self._weights = tuple(n ** (N_EDGES - 1 - e) for e in range(N_EDGES))

    @property
    def size(self) -> int:
        return len(self.ops) ** N_EDGES

    # subclasses: the canonical string
    def to_string(self, ops: tuple[str, ...]) -> str:
        raise NotImplementedError

    def parse_ops(self, text: str) -> tuple[str, ...]:
        raise NotImplementedError

    def make(self, ops: tuple[str, ...]) -> Cell:
        return Cell(ops)

    # ---- conversions -------------------------------------------------------------
    def encode(self, arch) -> str:
        return self.to_string(self._ops(arch))

    def decode(self, text: str) -> Cell:
        return self.make(self.parse_ops(text))

    def _ops(self, arch) -> tuple[str, ...]:
        if isinstance(arch, Cell):
            return arch.ops
        if isinstance(arch, str):
            return self.parse_ops(arch)
        if isinstance(arch, (int, np.integer)) and not isinstance(arch, bool):  # True is not cell 1
            return self.from_index(int(arch)).ops
        if isinstance(arch, (tuple, list)) and len(arch) == N_EDGES:
            ops = tuple(arch)
            bad = [o for o in ops if not isinstance(o, str) or o not in self._op_index]
            if bad:
                raise InvalidArchitectureError(f"unknown op(s) {bad} in {arch!r}; valid ops: {', '.join(self.ops)}")
            return ops
        raise InvalidArchitectureError(
            f"cannot read {arch!r} as a {self.space_id} cell: give a canonical string, an index or an op tuple of length 6"
        )

    def index(self, arch) -> int:
        ops = self._ops(arch)
        return sum(self._op_index[o] * w for o, w in zip(ops, self._weights))

    def from_index(self, index: int) -> Cell:
        if not 0 <= index < self.size:
            raise ArchIndexError(index, self.size)
        ops = []
        for w in self._weights:
            q, index = divmod(index, w)
            ops.append(self.ops[q])
        return self.make(tuple(ops))

    # ---- optimizer-facing parameters ----------------------------------------------
    def parameters(self) -> list[Param]:
        """One categorical per edge, ``edge_<source>_<target>``, choices ``self.ops``."""
        return [Param(f"edge_{src}_{dst}", tuple(self.ops)) for dst, src in self.edges]

    def from_parameters(self, values) -> Cell:
        v = active_values(self.parameters(), values)
        return self.make(tuple(v[f"edge_{src}_{dst}"] for dst, src in self.edges))

    def to_parameters(self, arch) -> dict[str, str]:
        return {f"edge_{src}_{dst}": op for (dst, src), op in zip(self.edges, self._ops(arch))}

    def op_indices(self, arch) -> tuple[int, ...]:
        """Op index per edge (indices into ``self.ops``)."""
        return tuple(self._op_index[o] for o in self._ops(arch))

    def enumerate(self) -> Iterator[Cell]:
        return (self.from_index(i) for i in range(self.size))

    # ---- search operators --------------------------------------------------------
    def sample(self, rng: np.random.Generator) -> Cell:
        return self.make(tuple(self.ops[i] for i in rng.integers(0, len(self.ops), size=N_EDGES)))

    def mutate(self, arch, rng: np.random.Generator) -> Cell:
        """Change the op of one edge (chosen uniformly) to one of the other ops."""
        ops = list(self._ops(arch))
        n = len(self.ops)
        e, shift = divmod(int(rng.integers(N_EDGES * (n - 1))), n - 1)
        ops[e] = self.ops[(self._op_index[ops[e]] + shift + 1) % n]
        return self.make(tuple(ops))

    def crossover(self, a, b, rng: np.random.Generator) -> Cell:
        """Uniform crossover: each edge's op from either parent with probability 1/2."""
        oa, ob = self._ops(a), self._ops(b)
        pick = rng.integers(0, 2, size=N_EDGES)
        return self.make(tuple(x if p == 0 else y for x, y, p in zip(oa, ob, pick)))

    def neighbours(self, arch) -> list[Cell]:
        """All cells one edge op away."""
        ops = self._ops(arch)
        return [self.make(ops[:e] + (op,) + ops[e + 1:]) for e in range(N_EDGES) for op in self.ops if op != ops[e]]

    # ---- structure ---------------------------------------------------------------
    def isomorphism_key(self, arch) -> str:
        """Key shared by cells that compute the same function up to reordering of sums.

        Node 0 is the input; each later node sums its incoming ``op(node)`` terms.
        ``none`` edges and edges from nodes with no path from the input vanish,
        ``skip_connect`` passes its source's terms through, and sums are flattened
        and sorted, so cells differing only in those respects share a key.
        """
        ops = self._ops(arch)
        # each node is a sorted multiset of summed terms; None means constant zero
        terms: list[tuple[str, ...] | None] = [("x",)]
        for node in (1, 2, 3):
            acc: list[str] = []
            for e, (dst, src) in enumerate(EDGES):
                if dst != node or ops[e] == "none" or terms[src] is None:
                    continue
                if ops[e] == "skip_connect":
                    acc.extend(terms[src])  # a sum passed through stays one flat sum
                else:
                    acc.append(f"{ops[e]}({'+'.join(terms[src])})")
            terms.append(tuple(sorted(acc)) if acc else None)
        return "+".join(terms[3]) if terms[3] is not None else "zero"

    def to_graph(self, arch, drop_none: bool = True) -> nx.DiGraph:
        """Cell as a DiGraph: nodes 0..3, edges ``src -> dst`` labelled ``op``."""
        ops = self._ops(arch)
        g = nx.DiGraph()
        g.add_nodes_from(range(4))
        for op, (dst, src) in zip(ops, EDGES):
            if drop_none and op == "none":
                continue
            g.add_edge(src, dst, op=op)
        return g
