"""HF-MNAS's search space (``001_6b80f99565a0cbd2.txt``, Sec. IV, Fig. 7-8, Table VIII).

Two modalities ``t`` and ``i`` each give a low-level (``tl``, ``il``) and a high-level
(``th``, ``ih``) feature. An architecture is

* LFBC and HFBC: two DARTS cells, each reading an unordered pair of the four features
  (the paper's choice: LFBC (tl, il), HFBC (th, ih); Fig. 10 varies them). A cell has n
  intermediate nodes; node j reads edges from distinct earlier nodes (``@0``, ``@1`` are
  the cell's inputs, ``@n1``.. its nodes), each edge one of :data:`EDGE_OPS`, and combines
  them with one of the nine fusion operations of Table VIII (:data:`FUSION_OPS`). The cell
  output concatenates the ``keep`` nodes (node importance keeps the top-K; paper: 3 of 4).
  The paper's derivation keeps two edges and one fusion operation per node (top-2 gamma, top-1
  beta); Figs. 11-12 vary both, so a node may also read one edge or more than two (its edges
  split into two operand groups, each summed; one group fuses with itself) and sum several
  fusion operations of the same two operands, written ``n2=sum+mhatt(linrelu@n1+skip@0,skip@1)``;
* ``s``: the stacking number (1 or 2; a second LFBC/HFBC pair fuses the first pair's outputs);
* ``imm``: the inconsistency-mitigation module on the two cells' outputs: none, multi-head
  attention, DCCA, or DCCA then attention (the paper's);
* ``cm``: the classifier: an MLP, or a Bi-LSTM over the ``t`` high-level tokens cascaded with
  the fused vector (the paper's CM).

Canonical string (fusion ops in :data:`FUSION_OPS` order, an operand's edges sorted, the two
operands sorted when every fusion op of the node is symmetric, pairs in :data:`INPUTS` order,
keep sorted)::

    L(tl,il):n1=mhatt(skip@0,skip@1);keep=n1|H(th,ih):n1=mhatt(skip@0,skip@1);keep=n1|s=1|imm=dcca+mha|cm=mlp

``core=True`` (the tabulated slice, design 7.3 "HF-core", Table VIII's set-up: one node, identity
edges, s=1): the 81 fusion-op pairs x 4 IMM at the paper's inputs, the other 35 input pairs x 4 IMM
with MHAtt in both cells, and the Bi-LSTM classifier at the paper's default: 465 members.
:meth:`decode` accepts the whole grammar either way (up to 4 nodes), so a searched genotype can
be queried and is trained on a miss; ``core=False`` samples and mutates the paper's search
configuration (4 nodes, keep 3, s in {1, 2}).
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, replace
from typing import Iterator, Mapping

import numpy as np

from bench.core.space import Param, SearchSpace, active_values
from bench.errors import InvalidArchitectureError

INPUTS = ("tl", "th", "il", "ih")
EDGE_OPS = ("maxpool", "avgpool", "sepconv", "dilconv", "skip", "none", "linrelu", "linsig", "lintanh", "linelu")
#: Table VIII's nine node fusion operations (Sum, MHAtt, ScaleDotAtt, Bidirectional_Attention,
#: Squeeze_Excitation, LinearGLU, ConcatFC, Multiply, Mamba_fusion)
FUSION_OPS = ("sum", "mhatt", "sdatt", "biatt", "se", "glu", "concatfc", "mul", "mamba")
#: operations whose two operands can swap without changing the function class (their edges are sorted)
SYMMETRIC = ("sum", "mhatt", "biatt", "concatfc", "mul", "mamba")
IMM = ("none", "mha", "dcca", "dcca+mha")
CM = ("mlp", "bilstm")
PAIRS: tuple[tuple[str, str], ...] = tuple(itertools.combinations(INPUTS, 2))
MAX_NODES = 4
#: the paper's search configuration (Sec. V-D-3): 4 nodes per cell, the top 3 kept
SEARCH_NODES, SEARCH_KEEP = 4, 3
DEFAULT_LOW, DEFAULT_HIGH = ("tl", "il"), ("th", "ih")


@dataclass(frozen=True)
class Node:
    """The sum over :attr:`ops` of op(A, B), where A sums the edges ``edges[:split]`` and B the
    rest (B = A when no edge is left); an edge is (edge op, source) with source 0, 1 = the cell
    inputs, k+2 = node k+1. The paper's nodes have one op and two edges: op(edge_a, edge_b)."""

    op: str
    edges: tuple[tuple[str, int], ...]
    more_ops: tuple[str, ...] = ()  # further fusion ops summed with ``op`` (top-k beta, k > 1)
    split: int = 1

    @property
    def ops(self) -> tuple[str, ...]:
        return (self.op,) + self.more_ops

    @property
    def operands(self) -> tuple[tuple[tuple[str, int], ...], tuple[tuple[str, int], ...]]:
        """The edges summed into each operand (the same group twice for a single group)."""
        a = self.edges[:self.split]
        return a, self.edges[self.split:] or a


@dataclass(frozen=True)
class Cell:
    inputs: tuple[str, str]
    nodes: tuple[Node, ...]
    keep: tuple[int, ...]  # 1-based node numbers


@dataclass(frozen=True)
class HFArch:
    low: Cell
    high: Cell
    stack: int
    imm: str
    cm: str


def identity_cell(inputs: tuple[str, str], op: str) -> Cell:
    """One node fusing the two inputs through identity edges (Table VIII's ablation cell)."""
    return Cell(tuple(inputs), (Node(op, (("skip", 0), ("skip", 1))),), (1,))


def core_arch(low_op: str = "mhatt", high_op: str = "mhatt", low_in=DEFAULT_LOW, high_in=DEFAULT_HIGH,
              imm: str = "dcca+mha", cm: str = "mlp") -> HFArch:
    """A member of the core slice's grammar (one identity-edge node per cell, s=1)."""
    return HFArch(identity_cell(low_in, low_op), identity_cell(high_in, high_op), 1, imm, cm)


def _core_key(a: HFArch) -> tuple:
    """The fields a core-slice member varies (its cells have one node each)."""
    return (a.low.nodes[0].op, a.high.nodes[0].op, a.low.inputs, a.high.inputs, a.imm, a.cm, a.low, a.high)[:6]


def _src(k: int) -> str:
    return f"@{k}" if k < 2 else f"@n{k - 1}"


def _parse_src(text: str) -> int:
    """The source number of ``0``, ``1`` or ``n<k>`` (k >= 1); -1 when malformed."""
    if text in ("0", "1"):
        return int(text)
    if text.startswith("n") and text[1:].isdigit() and int(text[1:]) >= 1:
        return int(text[1:]) + 1
    return -1


def _edge_key(edge: tuple[str, int]) -> str:
    return f"{edge[0]}{_src(edge[1])}"


class HFSpace(SearchSpace):
    """LFBC/HFBC cells, stacking, IMM and classifier; ``core``: the tabulated 465-member slice."""

    def __init__(self, core: bool = True):
        self.core = core
        self.space_id = f"hfmnas[{'core' if core else 'n4k3'}]"
        self.space_version = "1"
        self.indexable = core
        self._slice = self._make_slice() if core else None
        self._where = {a: i for i, a in enumerate(self._slice)} if core else {}

    # -- checking and strings ---------------------------------------------------------------------
    def check(self, arch: HFArch) -> HFArch:
        if not isinstance(arch, HFArch):
            raise InvalidArchitectureError(f"{arch!r} is not an HFArch")
        if arch.stack not in (1, 2):
            raise InvalidArchitectureError(f"stacking number s={arch.stack}: 1 or 2")
        if arch.imm not in IMM:
            raise InvalidArchitectureError(f"imm={arch.imm!r}: one of {', '.join(IMM)}")
        if arch.cm not in CM:
            raise InvalidArchitectureError(f"cm={arch.cm!r}: one of {', '.join(CM)}")
        return replace(arch, low=self._check_cell(arch.low, "L"), high=self._check_cell(arch.high, "H"))

    @staticmethod
    def _check_cell(cell: Cell, name: str) -> Cell:
        pair = tuple(cell.inputs)
        if len(pair) != 2 or any(x not in INPUTS for x in pair) or pair[0] == pair[1]:
            raise InvalidArchitectureError(f"cell {name} inputs {pair}: two different of {', '.join(INPUTS)}")
        swap = INPUTS.index(pair[0]) > INPUTS.index(pair[1])
        if swap:  # the pair is written in INPUTS order; @0 and @1 follow their features
            pair = (pair[1], pair[0])
        if not 1 <= len(cell.nodes) <= MAX_NODES:
            raise InvalidArchitectureError(f"cell {name}: 1..{MAX_NODES} intermediate nodes, got {len(cell.nodes)}")
        nodes = []
        for j, node in enumerate(cell.nodes):
            where = f"cell {name} node n{j + 1}"
            if not isinstance(node.more_ops, tuple) or not isinstance(node.split, int):
                raise InvalidArchitectureError(f"{where}: more_ops must be a tuple of op names and split an int, got "
                                               f"{node.more_ops!r}, {node.split!r}")
            ops = tuple(node.ops)
            for op in ops:
                if op not in FUSION_OPS:
                    raise InvalidArchitectureError(f"{where}: fusion op {op!r}, one of {', '.join(FUSION_OPS)}")
            if len(set(ops)) != len(ops):
                raise InvalidArchitectureError(f"{where}: fusion ops {'+'.join(ops)} repeat one")
            ops = tuple(sorted(ops, key=FUSION_OPS.index))
            edges = tuple(node.edges)
            if not 1 <= len(edges) <= j + 2:
                raise InvalidArchitectureError(f"{where}: 1..{j + 2} incoming edges (one per earlier node), "
                                               f"got {len(edges)}")
            if not 1 <= node.split <= len(edges):
                raise InvalidArchitectureError(f"{where}: split {node.split}: the first operand sums edges "
                                               f"1..split, so split is in 1..{len(edges)}")
            for op, src in edges:
                if op not in EDGE_OPS:
                    raise InvalidArchitectureError(f"{where}: edge op {op!r}, one of {', '.join(EDGE_OPS)}")
                if not 0 <= src < j + 2:
                    raise InvalidArchitectureError(f"{where}: source {_src(src)} is not an earlier node "
                                                   f"(@0, @1{''.join(', ' + _src(k) for k in range(2, j + 2))})")
            if swap:
                edges = tuple((op, 1 - src if src < 2 else src) for op, src in edges)
            srcs = [src for _, src in edges]
            if len(set(srcs)) != len(srcs):
                twice = next(x for x in srcs if srcs.count(x) > 1)
                raise InvalidArchitectureError(f"{where}: two of its edges come from one source {_src(twice)}")
            # each operand sums its edges, so their order within a group is free; the groups swap
            # only when every fusion op is symmetric
            a = sorted(edges[:node.split], key=_edge_key)
            b = sorted(edges[node.split:], key=_edge_key)
            if b and all(op in SYMMETRIC for op in ops) and [_edge_key(e) for e in b] < [_edge_key(e) for e in a]:
                a, b = b, a
            nodes.append(Node(ops[0], tuple(a + b), ops[1:], len(a)))
        keep = tuple(sorted(set(cell.keep)))
        if not keep or len(keep) != len(cell.keep) or any(not 1 <= k <= len(nodes) for k in keep):
            raise InvalidArchitectureError(f"cell {name}: keep {cell.keep} must name distinct nodes among "
                                           f"n1..n{len(nodes)}")
        return Cell(pair, tuple(nodes), keep)

    def _encode_cell(self, cell: Cell, name: str) -> str:
        def group(edges) -> str:
            return "+".join(map(_edge_key, edges))

        nodes = ";".join(f"n{j + 1}={'+'.join(n.ops)}({group(n.edges[:n.split])}"
                         f"{',' + group(n.edges[n.split:]) if n.split < len(n.edges) else ''})"
                         for j, n in enumerate(cell.nodes))
        return f"{name}({','.join(cell.inputs)}):{nodes};keep={','.join(f'n{k}' for k in cell.keep)}"

    def encode(self, arch) -> str:
        a = self.check(self.decode(arch) if isinstance(arch, str) else arch)
        return (f"{self._encode_cell(a.low, 'L')}|{self._encode_cell(a.high, 'H')}|s={a.stack}|imm={a.imm}"
                f"|cm={a.cm}")

    _CELL = re.compile(r"^([LH])\((\w+),(\w+)\):(.*);keep=((?:n\d+,)*n\d+)$")
    _NODE = re.compile(r"^n(\d+)=(\w+(?:\+\w+)*)\(([^(),]+)(?:,([^(),]+))?\)$")
    _EDGE = re.compile(r"^(\w+)@(n?\d+)$")

    def decode(self, text: str) -> HFArch:
        if not isinstance(text, str):
            raise InvalidArchitectureError(f"{text!r} is not an HF-MNAS architecture string")
        fields = text.split("|")
        if len(fields) != 5 or not fields[2].startswith("s=") or not fields[3].startswith("imm=") \
                or not fields[4].startswith("cm="):
            raise InvalidArchitectureError(f"{text!r}: expected L(..)..|H(..)..|s=..|imm=..|cm=.., e.g. "
                                           f"{self.example()}")
        try:
            cells = [self._decode_cell(f, want) for f, want in zip(fields[:2], "LH")]
            stack = int(fields[2][2:]) if fields[2][2:].isdigit() else -1
            return self.check(HFArch(cells[0], cells[1], stack, fields[3][4:], fields[4][3:]))
        except InvalidArchitectureError as exc:
            raise InvalidArchitectureError(f"{text!r}: {exc}") from None

    def _decode_cell(self, text: str, want: str) -> Cell:
        m = self._CELL.match(text)
        if not m or m.group(1) != want:
            raise InvalidArchitectureError(f"cell {want}: expected {want}(x,y):n1=op(edge@src,edge@src);...;keep=n1,..")
        nodes = []
        for j, part in enumerate(m.group(4).split(";")):
            nm = self._NODE.match(part)
            if not nm or int(nm.group(1)) != j + 1:
                raise InvalidArchitectureError(f"cell {want}: node {part!r} (expected n{j + 1}=op(edge@src,edge@src), "
                                               f"or ops joined by + and operands summing edges joined by +)")
            groups = [nm.group(3).split("+")] + ([nm.group(4).split("+")] if nm.group(4) else [])
            edges = []
            for text in (t for g in groups for t in g):
                em = self._EDGE.match(text)
                src = _parse_src(em.group(2)) if em else -1
                if src < 0:
                    raise InvalidArchitectureError(f"cell {want}: edge {text!r} in {part!r}: expected op@src, "
                                                   f"src @0, @1 or @n<k>")
                edges.append((em.group(1), src))
            ops = nm.group(2).split("+")
            nodes.append(Node(ops[0], tuple(edges), tuple(ops[1:]), len(groups[0])))
        keep = tuple(int(k[1:]) for k in m.group(5).split(","))
        return Cell((m.group(2), m.group(3)), tuple(nodes), keep)

    def example(self) -> str:
        return self.encode(core_arch())

    # -- the core slice ---------------------------------------------------------------------------
    @staticmethod
    def _make_slice() -> list[HFArch]:
        out = [core_arch(lo, hi, imm=imm) for lo, hi in itertools.product(FUSION_OPS, repeat=2) for imm in IMM]
        out += [core_arch(low_in=li, high_in=hi, imm=imm) for li, hi in itertools.product(PAIRS, repeat=2)
                for imm in IMM if (li, hi) != (DEFAULT_LOW, DEFAULT_HIGH)]
        return out + [core_arch(cm="bilstm")]

    @property
    def size(self) -> int:
        if self.core:
            return len(self._slice)
        return (self.cell_size(SEARCH_NODES, SEARCH_KEEP) * len(PAIRS)) ** 2 * 2 * len(IMM) * len(CM)

    @staticmethod
    def cell_size(nodes: int, keep: int) -> int:
        """Distinct cells of ``nodes`` nodes keeping ``keep``, for one input pair, in the paper's
        search configuration: node j picks two distinct earlier sources, an edge op on each, and
        one fusion op (ordered operands for the asymmetric ones). The grammar's other nodes
        (Figs. 11-12's top-k beta and gamma) are decoded and trained but not counted."""
        per_op = len(SYMMETRIC) + 2 * (len(FUSION_OPS) - len(SYMMETRIC))
        total = math.comb(nodes, keep)
        for j in range(1, nodes + 1):
            total *= math.comb(j + 1, 2) * len(EDGE_OPS) ** 2 * per_op
        return total

    def enumerate(self) -> Iterator[HFArch]:
        if not self.core:
            raise NotImplementedError("the full HF-MNAS space is not enumerated (see HFSpace(core=True))")
        return iter(self._slice)

    def from_index(self, index: int) -> HFArch:
        if not self.core:
            raise NotImplementedError("the full HF-MNAS space is not indexed")
        if not 0 <= index < len(self._slice):
            raise InvalidArchitectureError(f"index {index} is out of range 0..{len(self._slice) - 1}")
        return self._slice[index]

    def index(self, arch) -> int:
        a = self.check(self.decode(arch) if isinstance(arch, str) else arch)
        if a not in self._where:
            raise InvalidArchitectureError(f"{self.encode(a)} is not in the tabulated core slice")
        return self._where[a]

    # -- search operators -------------------------------------------------------------------------
    def _random_cell(self, rng: np.random.Generator, inputs: tuple[str, str]) -> Cell:
        nodes = []
        for j in range(SEARCH_NODES):
            a, b = rng.choice(j + 2, size=2, replace=False)
            nodes.append(Node(FUSION_OPS[int(rng.integers(len(FUSION_OPS)))],
                              ((EDGE_OPS[int(rng.integers(len(EDGE_OPS)))], int(a)),
                               (EDGE_OPS[int(rng.integers(len(EDGE_OPS)))], int(b)))))
        keep = tuple(int(k) + 1 for k in rng.choice(SEARCH_NODES, size=SEARCH_KEEP, replace=False))
        return Cell(inputs, tuple(nodes), keep)

    def sample(self, rng: np.random.Generator) -> HFArch:
        if self.core:
            return self._slice[int(rng.integers(len(self._slice)))]
        low = self._random_cell(rng, PAIRS[int(rng.integers(len(PAIRS)))])
        high = self._random_cell(rng, PAIRS[int(rng.integers(len(PAIRS)))])
        return self.check(HFArch(low, high, int(rng.integers(1, 3)), IMM[int(rng.integers(len(IMM)))],
                                 CM[int(rng.integers(len(CM)))]))

    def mutate(self, arch, rng: np.random.Generator) -> HFArch:
        """One field changed: a cell's inputs, an edge (op or source), a node's fusion op, the kept
        nodes, s, IMM or CM (core: slice members one field away)."""
        a = self.check(self.decode(arch) if isinstance(arch, str) else arch)
        if self.core:
            near = [b for b in self._slice if sum(x != y for x, y in zip(_core_key(a), _core_key(b))) == 1]
            return near[int(rng.integers(len(near)))]
        while True:
            child = self._mutate_once(a, rng)
            if child != a:
                return child

    def _mutate_once(self, a: HFArch, rng: np.random.Generator) -> HFArch:
        what = int(rng.integers(5))
        if what == 0:
            return replace(a, stack=3 - a.stack)
        if what == 1:
            return replace(a, imm=IMM[int(rng.integers(len(IMM)))])
        if what == 2:
            return replace(a, cm=CM[int(rng.integers(len(CM)))])
        side = "low" if rng.random() < 0.5 else "high"
        cell: Cell = getattr(a, side)
        if what == 3:
            cell = replace(cell, inputs=PAIRS[int(rng.integers(len(PAIRS)))])
        else:
            cell = self._mutate_cell(cell, rng)
        return self.check(replace(a, **{side: cell}))

    @staticmethod
    def _mutate_cell(cell: Cell, rng: np.random.Generator) -> Cell:
        nodes = list(cell.nodes)
        j = int(rng.integers(len(nodes)))
        node = nodes[j]
        kind = int(rng.integers(4))
        if kind == 0:  # one of the node's fusion ops replaced by one it does not have
            if not node.more_ops:  # (the paper's nodes draw as they always did)
                nodes[j] = replace(node, op=FUSION_OPS[int(rng.integers(len(FUSION_OPS)))])
            else:
                ops = list(node.ops)
                which = int(rng.integers(len(ops)))
                free = [o for o in FUSION_OPS if o not in ops or o == ops[which]]
                ops[which] = free[int(rng.integers(len(free)))]
                nodes[j] = replace(node, op=ops[0], more_ops=tuple(ops[1:]))
        elif kind in (1, 2):
            e = int(rng.integers(len(node.edges)))
            edges = list(node.edges)
            if kind == 1:
                edges[e] = (EDGE_OPS[int(rng.integers(len(EDGE_OPS)))], edges[e][1])
            else:
                used = {s for i, (_, s) in enumerate(edges) if i != e}
                choices = [s for s in range(j + 2) if s not in used]
                edges[e] = (edges[e][0], int(choices[int(rng.integers(len(choices)))]))
            nodes[j] = replace(node, edges=tuple(edges))
        else:
            keep = tuple(int(k) + 1 for k in rng.choice(len(nodes), size=len(cell.keep), replace=False))
            return Cell(cell.inputs, tuple(nodes), keep)
        return Cell(cell.inputs, tuple(nodes), cell.keep)

    def crossover(self, a, b, rng: np.random.Generator) -> HFArch:
        """LFBC, HFBC, s, IMM and CM each from either parent (core: the first parent when the mix
        leaves the slice)."""
        a = self.check(self.decode(a) if isinstance(a, str) else a)
        b = self.check(self.decode(b) if isinstance(b, str) else b)
        pick = rng.random(5) < 0.5
        child = HFArch(*(x if p else y for x, y, p in zip((a.low, a.high, a.stack, a.imm, a.cm),
                                                          (b.low, b.high, b.stack, b.imm, b.cm), pick)))
        child = self.check(child)
        if self.core and child not in self._where:
            return a
        return child

    # -- optimizer-facing description (the core slice) -------------------------------------------
    def parameters(self) -> list[Param]:
        if not self.core:
            raise NotImplementedError("the full HF-MNAS space has no parameter description; use HFSpace(core=True)")
        return [Param("members", tuple(self.encode(a) for a in self._slice))]

    def from_parameters(self, values: Mapping[str, str]) -> HFArch:
        return self.decode(active_values(self.parameters(), values)["members"])

    def to_parameters(self, arch) -> dict[str, str]:
        return {"members": self.encode(self.from_index(self.index(arch)))}
