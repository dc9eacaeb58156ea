"""The NAS-Bench-201 / NATS-Bench topology space (15,625 cells).

A cell has 4 nodes and 6 edges ``j -> i`` (j < i); each edge carries one of 5 ops.
The canonical string is the benchmark's own:
``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` (edges into node 1, then 2, then 3).
The index of a cell is its op indices read as a base-5 number, first edge most
significant, so index 0 is the all-``none`` cell.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import networkx as nx
import numpy as np

from bench.errors import ArchIndexError, InvalidArchitectureError
from bench.spaces.base import SearchSpace

OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: (target node, source node) of each edge, in string order
EDGES: tuple[tuple[int, int], ...] = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
N_EDGES = len(EDGES)
N_OPS = len(OPS)
_OP_INDEX = {op: i for i, op in enumerate(OPS)}
_WEIGHTS = tuple(N_OPS ** (N_EDGES - 1 - e) for e in range(N_EDGES))


@dataclass(frozen=True, slots=True)
class NB201Arch:
    """One cell: the op on each of the 6 edges, in :data:`EDGES` order."""

    ops: tuple[str, ...]

    def __str__(self) -> str:
        return NB201Space.to_string(self.ops)


class NB201Space(SearchSpace):
    """The NB201 cell space: encode/decode, index, sample, mutate, crossover, enumerate."""

    space_id = "nb201-cell"
    space_version = "1"
    ops = OPS
    edges = EDGES

    @property
    def size(self) -> int:
        return N_OPS**N_EDGES

    # ---- conversions -------------------------------------------------------------
    @staticmethod
    def to_string(ops: tuple[str, ...]) -> str:
        o = ops
        return f"|{o[0]}~0|+|{o[1]}~0|{o[2]}~1|+|{o[3]}~0|{o[4]}~1|{o[5]}~2|"

    def encode(self, arch) -> str:
        return self.to_string(self._ops(arch))

    def decode(self, text: str) -> NB201Arch:
        return NB201Arch(self.parse_ops(text))

    @staticmethod
    def parse_ops(text: str) -> tuple[str, ...]:
        """Op tuple of a standard NB201 string; every malformation is named."""
        if not isinstance(text, str):
            raise InvalidArchitectureError(f"an NB201 architecture string must be str, got {type(text).__name__}")
        if not (text.startswith("|") and text.endswith("|")):
            raise InvalidArchitectureError(
                f"bad separators in {text!r}: an NB201 string starts and ends with '|', "
                "e.g. |nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|none~1|avg_pool_3x3~2|"
            )
        nodes = text.split("+")
        if len(nodes) != 3:
            raise InvalidArchitectureError(
                f"wrong number of nodes in {text!r}: found {len(nodes)} '+'-separated node groups, expected 3"
            )
        ops: list[str] = []
        for node_i, group in enumerate(nodes, start=1):
            if not (group.startswith("|") and group.endswith("|")) or len(group) < 2:
                raise InvalidArchitectureError(f"bad separators in node {node_i} group {group!r} of {text!r}")
            edges = group[1:-1].split("|")
            if len(edges) != node_i:
                raise InvalidArchitectureError(
                    f"wrong number of edges into node {node_i} in {text!r}: found {len(edges)}, expected {node_i}"
                )
            for src, edge in enumerate(edges):
                op, sep, idx = edge.partition("~")
                if not sep:
                    raise InvalidArchitectureError(f"bad separator in edge {edge!r} of {text!r}: expected 'op~source'")
                if op not in _OP_INDEX:
                    raise InvalidArchitectureError(
                        f"unknown op {op!r} in {text!r}; valid ops: {', '.join(OPS)}"
                    )
                if idx != str(src):
                    raise InvalidArchitectureError(
                        f"edge {edge!r} into node {node_i} of {text!r} names source {idx!r}, expected {src}"
                    )
                ops.append(op)
        return tuple(ops)

    def _ops(self, arch) -> tuple[str, ...]:
        if isinstance(arch, NB201Arch):
            return arch.ops
        if isinstance(arch, str):
            return self.parse_ops(arch)
        if isinstance(arch, (int, np.integer)):
            return self.from_index(int(arch)).ops
        if isinstance(arch, (tuple, list)) and len(arch) == N_EDGES:
            ops = tuple(arch)
            bad = [o for o in ops if o not in _OP_INDEX]
            if bad:
                raise InvalidArchitectureError(f"unknown op(s) {bad} in {arch!r}; valid ops: {', '.join(OPS)}")
            return ops
        raise InvalidArchitectureError(
            f"cannot read {arch!r} as an NB201 cell: give a standard string, an index or an op tuple of length 6"
        )

    def index(self, arch) -> int:
        ops = self._ops(arch)
        return sum(_OP_INDEX[o] * w for o, w in zip(ops, _WEIGHTS))

    def from_index(self, index: int) -> NB201Arch:
        if not 0 <= index < self.size:
            raise ArchIndexError(index, self.size)
        ops = []
        for w in _WEIGHTS:
            q, index = divmod(index, w)
            ops.append(OPS[q])
        return NB201Arch(tuple(ops))

    def op_indices(self, arch) -> tuple[int, ...]:
        """Op index per edge (indices into :data:`OPS`)."""
        return tuple(_OP_INDEX[o] for o in self._ops(arch))

    def enumerate(self) -> Iterator[NB201Arch]:
        return (self.from_index(i) for i in range(self.size))

    # ---- search operators --------------------------------------------------------
    def sample(self, rng: np.random.Generator) -> NB201Arch:
        return NB201Arch(tuple(OPS[i] for i in rng.integers(0, N_OPS, size=N_EDGES)))

    def mutate(self, arch, rng: np.random.Generator) -> NB201Arch:
        """Change the op of one edge (chosen uniformly) to one of the 4 other ops."""
        ops = list(self._ops(arch))
        e, shift = divmod(int(rng.integers(N_EDGES * (N_OPS - 1))), N_OPS - 1)
        shift += 1
        ops[e] = OPS[(_OP_INDEX[ops[e]] + shift) % N_OPS]
        return NB201Arch(tuple(ops))

    def crossover(self, a, b, rng: np.random.Generator) -> NB201Arch:
        """Uniform crossover: each edge's op from either parent with probability 1/2."""
        oa, ob = self._ops(a), self._ops(b)
        pick = rng.integers(0, 2, size=N_EDGES)
        return NB201Arch(tuple(x if p == 0 else y for x, y, p in zip(oa, ob, pick)))

    def neighbours(self, arch) -> list[NB201Arch]:
        """All 24 cells one edge op away."""
        ops = self._ops(arch)
        out = []
        for e in range(N_EDGES):
            for op in OPS:
                if op != ops[e]:
                    out.append(NB201Arch(ops[:e] + (op,) + ops[e + 1 :]))
        return out

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
