"""The tree fusion space of CSG-NAS (``000_62c610aae6b2430e.txt``, Sec. 3): binary trees
whose leaves are features and whose inner nodes are fusion operators.

A tree with k leaves has k-1 operators. All five operators are commutative as model
classes (concat is followed by a learned projection, so operand order only permutes
weights), so the canonical string orders every operator's two operands by their own
canonical strings: one model, one key. Strings look like ``add(concat(a,b),c)``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from itertools import combinations
from typing import TYPE_CHECKING, Collection, Iterator, Sequence, Union

import numpy as np

from bench.errors import InvalidArchitectureError
from bench.core.space import Param, SearchSpace, active_values

if TYPE_CHECKING:
    import networkx as nx  # imported by to_graph only: it takes longer to import than an oracle to open

FUSION_OPS: tuple[str, ...] = ("concat", "add", "mul", "max", "avg")
_NAME = re.compile(r"^[A-Za-z0-9_.@\-]+$")


@dataclass(frozen=True)
class Leaf:
    feature: str

    def __str__(self) -> str:
        return self.feature


@dataclass(frozen=True)
class Fuse:
    op: str
    left: "Tree"
    right: "Tree"

    def __str__(self) -> str:
        return f"{self.op}({self.left},{self.right})"


Tree = Union[Leaf, Fuse]


def canonical(t: Tree) -> Tree:
    """The same tree with every operator's operands in sorted order."""
    if isinstance(t, Leaf):
        return t
    a, b = canonical(t.left), canonical(t.right)
    return Fuse(t.op, *sorted((a, b), key=str))


def leaves(t: Tree) -> list[str]:
    return [t.feature] if isinstance(t, Leaf) else leaves(t.left) + leaves(t.right)


def subtrees(t: Tree) -> list[Tree]:
    """Every subtree, root first (pre-order)."""
    return [t] if isinstance(t, Leaf) else [t] + subtrees(t.left) + subtrees(t.right)


def positions(t: Tree, path: str = "r") -> list[tuple[str, Tree]]:
    """``(path, subtree)`` pre-order; a path is ``r`` then 0 (left) / 1 (right) per step down.
    The decoder names its layers by these paths."""
    out = [(path, t)]
    if isinstance(t, Fuse):
        out += positions(t.left, path + "0") + positions(t.right, path + "1")
    return out


def _replace(t: Tree, target_index: int, new: Tree) -> Tree:
    """``t`` with its ``target_index``-th pre-order subtree replaced by ``new``."""
    counter = [0]

    def go(node: Tree) -> Tree:
        i = counter[0]
        counter[0] += 1
        if i == target_index:
            return new
        if isinstance(node, Leaf):
            return node
        return Fuse(node.op, go(node.left), go(node.right))

    return go(t)


def all_fused(features: Sequence[str], op: str) -> Tree:
    """Every feature fused by one operator: a left-deep chain in the given order (the models
    that CSG-NAS's core-structure selection ranks operators by)."""
    tree: Tree = Leaf(features[0])
    for f in features[1:]:
        tree = Fuse(op, tree, Leaf(f))
    return canonical(tree)


def parse(text: str, features: Collection[str] | None = None) -> Tree:
    """The canonical tree of a tree string, checking its syntax and, given ``features``, that
    every leaf is one of them and every operator one of :data:`FUSION_OPS`. No leaf limit
    or repeat rule: those belong to a space (:meth:`TreeFusionSpace.decode`)."""
    if not isinstance(text, str):
        raise InvalidArchitectureError(f"a fusion tree string must be str, got {type(text).__name__}")
    s = text.replace(" ", "")
    tree, pos = _parse(s, 0)
    if pos != len(s):
        raise InvalidArchitectureError(f"malformed fusion tree {text!r}: unexpected text at position {pos}")
    if features is not None:
        _check_names(tree, features, FUSION_OPS)
    return canonical(tree)


def _check_names(tree: Tree, features: Collection[str], ops: Collection[str]) -> None:
    for t in subtrees(tree):
        if isinstance(t, Fuse) and t.op not in ops:
            raise InvalidArchitectureError(f"unknown fusion operator {t.op!r}; valid: {', '.join(ops)}")
        if isinstance(t, Leaf) and t.feature not in features:
            raise InvalidArchitectureError(f"unknown feature {t.feature!r}; valid: {', '.join(features)}")


def _parse(s: str, i: int) -> tuple[Tree, int]:
    m = re.match(r"[A-Za-z0-9_.@\-]+", s[i:])
    if not m:
        raise InvalidArchitectureError(f"malformed fusion tree {s!r}: expected a name at position {i}")
    name, j = m.group(0), i + m.end()
    if j < len(s) and s[j] == "(":
        left, j = _parse(s, j + 1)
        if j >= len(s) or s[j] != ",":
            raise InvalidArchitectureError(f"malformed fusion tree {s!r}: operator {name!r} needs two operands 'op(x,y)'")
        right, j = _parse(s, j + 1)
        if j >= len(s) or s[j] != ")":
            raise InvalidArchitectureError(f"malformed fusion tree {s!r}: missing ')' after the operands of {name!r}")
        return Fuse(name, left, right), j + 1
    return Leaf(name), j


def double_factorial(n: int) -> int:
    return 1 if n <= 0 else n * double_factorial(n - 2)


class TreeFusionSpace(SearchSpace):
    """Fusion trees over ``features`` and ``ops`` with at most ``max_leaves`` leaves."""

    space_version = "1"

    def __init__(self, features: Sequence[str], ops: Sequence[str] = FUSION_OPS, max_leaves: int = 3,
                 repeatable: bool = False):
        bad = [f for f in features if not _NAME.match(f)]
        if bad:
            raise InvalidArchitectureError(f"feature names {bad} may only use letters, digits and _ . @ -")
        unknown = [o for o in ops if o not in FUSION_OPS]
        if unknown:
            raise InvalidArchitectureError(f"unknown fusion operator(s) {unknown}; valid: {', '.join(FUSION_OPS)}")
        if len(set(features)) != len(features) or not features:
            raise InvalidArchitectureError("features must be a non-empty list of distinct names")
        if max_leaves < 1 or (not repeatable and max_leaves > len(features)):
            raise InvalidArchitectureError(
                f"max_leaves must be in 1..{len(features) if not repeatable else 'any'} for {len(features)} features"
                f"{' without repeats' if not repeatable else ''}, got {max_leaves}")
        self.features = tuple(features)
        self.ops = tuple(ops)
        self.max_leaves = max_leaves
        self.repeatable = repeatable
        self.space_id = f"tree-fusion[{len(self.features)}f,{len(self.ops)}op,<={max_leaves},{'rep' if repeatable else 'norep'}]"

    # ---- strings -----------------------------------------------------------------
    def encode(self, arch) -> str:
        if isinstance(arch, str):
            return str(self.decode(arch))
        self.check(arch)
        return str(canonical(arch))

    def decode(self, text: str) -> Tree:
        tree = parse(text)
        self.check(tree)
        return tree

    def check(self, tree: Tree) -> None:
        """Named errors for unknown names, too many leaves or forbidden repeats."""
        if not isinstance(tree, (Leaf, Fuse)):
            raise InvalidArchitectureError(f"{tree!r} is not a fusion tree: give a tree string such as "
                                           f"'add({self.features[0]},{self.features[-1]})' or a Leaf/Fuse object")
        _check_names(tree, self.features, self.ops)
        names = leaves(tree)
        if len(names) > self.max_leaves:
            raise InvalidArchitectureError(f"tree {tree} has {len(names)} leaves; this space allows at most {self.max_leaves}")
        if not self.repeatable and len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise InvalidArchitectureError(f"tree {tree} repeats feature(s) {dup}; this space forbids repeated features")

    # ---- counting and enumeration --------------------------------------------------
    def count(self, k: int | None = None) -> int:
        """Closed-form number of members with ``k`` leaves (all sizes if None), no repeats.

        A canonical tree is an unordered binary tree on k distinct labelled leaves,
        (2k-3)!! of them, with one of |ops| operators on each of its k-1 inner nodes,
        over C(n, k) choices of features.
        """
        if self.repeatable:
            raise NotImplementedError("closed-form counts are for spaces without repeated features; use enumerate()")
        if k is None:
            return sum(self.count(j) for j in range(1, self.max_leaves + 1))
        return math.comb(len(self.features), k) * double_factorial(2 * k - 3) * len(self.ops) ** (k - 1)

    @cached_property
    def size(self) -> int | None:  # asked at every evaluation of a run; the space is immutable
        return None if self.repeatable else self.count()

    def enumerate(self) -> Iterator[Tree]:
        """Every member once, by number of leaves, then canonical string."""
        for k in range(1, self.max_leaves + 1):
            pools = ([c for c in self._multisets(k)] if self.repeatable else list(combinations(self.features, k)))
            out = set()
            for pool in pools:
                out.update(self._trees_over(tuple(pool)))
            yield from (self.decode(s) for s in sorted(out))

    def _multisets(self, k: int):
        from itertools import combinations_with_replacement

        return combinations_with_replacement(self.features, k)

    def _trees_over(self, pool: tuple[str, ...]) -> set[str]:
        return set(_trees_over(pool, self.ops))

    # ---- search operators --------------------------------------------------------
    def random_tree(self, rng: np.random.Generator, n_leaves: int, features: Sequence[str] | None = None,
                    ops: Sequence[str] | None = None, exclude: Sequence[str] = ()) -> Tree:
        """A random tree of ``n_leaves`` leaves drawn from ``features`` and ``ops``."""
        feats = [f for f in (features or self.features) if self.repeatable or f not in exclude]
        ops = list(ops or self.ops)
        if not self.repeatable and n_leaves > len(feats):
            raise InvalidArchitectureError(f"cannot draw {n_leaves} distinct features from {len(feats)}")
        chosen = ([feats[int(i)] for i in rng.integers(0, len(feats), n_leaves)] if self.repeatable
                  else [feats[int(i)] for i in rng.permutation(len(feats))[:n_leaves]])
        nodes: list[Tree] = [Leaf(f) for f in chosen]
        while len(nodes) > 1:  # join two random nodes until one tree is left
            i, j = sorted(rng.permutation(len(nodes))[:2].tolist())
            b, a = nodes.pop(j), nodes.pop(i)
            nodes.append(Fuse(ops[int(rng.integers(len(ops)))], a, b))
        return canonical(nodes[0])

    def sample(self, rng: np.random.Generator) -> Tree:
        """Leaf count uniform in 1..max_leaves, then a random tree of that size."""
        return self.random_tree(rng, int(rng.integers(1, self.max_leaves + 1)))

    def mutate(self, arch, rng: np.random.Generator, max_tries: int = 100) -> Tree:
        """Replace a random subtree by a new random one (a different valid member)."""
        tree = self.decode(arch) if isinstance(arch, str) else canonical(arch)
        key = str(tree)
        for _ in range(max_tries):
            subs = subtrees(tree)
            idx = int(rng.integers(len(subs)))
            old = subs[idx]
            others = [f for f in leaves(tree)]
            for f in leaves(old):
                others.remove(f)
            room = self.max_leaves - len(others)
            n = int(rng.integers(1, room + 1))
            new = self.random_tree(rng, n, exclude=others)
            child = canonical(_replace(tree, idx, new))
            if str(child) != key:
                return child
        raise InvalidArchitectureError(f"no different member found near {key} after {max_tries} tries")

    def add_substructure(self, arch, rng: np.random.Generator, features: Sequence[str] | None = None,
                         ops: Sequence[str] | None = None, max_tries: int = 100) -> Tree:
        """Grow the tree: a random node ``n`` becomes ``op(n, s)`` with ``s`` a new subtree
        built only from ``features`` and ``ops`` (CSG-NAS ENAS2's mutation)."""
        tree = self.decode(arch) if isinstance(arch, str) else canonical(arch)
        room = self.max_leaves - len(leaves(tree))
        if room < 1:
            raise InvalidArchitectureError(f"{tree} already has the maximum of {self.max_leaves} leaves")
        ops = list(ops or self.ops)
        for _ in range(max_tries):
            subs = subtrees(tree)
            idx = int(rng.integers(len(subs)))
            try:
                s = self.random_tree(rng, int(rng.integers(1, room + 1)), features, ops, exclude=leaves(tree))
            except InvalidArchitectureError:
                continue
            grown = canonical(_replace(tree, idx, Fuse(ops[int(rng.integers(len(ops)))], subs[idx], s)))
            self.check(grown)
            return grown
        raise InvalidArchitectureError(f"no substructure from {features} fits into {tree}")

    def crossover(self, a, b, rng: np.random.Generator, max_tries: int = 100) -> Tree:
        """Subtree exchange: a random subtree of ``a`` replaced by a random subtree of ``b``.

        Children that break the leaf limit or repeat features are redrawn; after
        ``max_tries`` the result is a mutation of ``a``.
        """
        ta = self.decode(a) if isinstance(a, str) else canonical(a)
        tb = self.decode(b) if isinstance(b, str) else canonical(b)
        sa, sb = subtrees(ta), subtrees(tb)
        for _ in range(max_tries):
            child = canonical(_replace(ta, int(rng.integers(len(sa))), sb[int(rng.integers(len(sb)))]))
            try:
                self.check(child)
                return child
            except InvalidArchitectureError:
                continue
        return self.mutate(ta, rng)

    # ---- optimizer-facing parameters ----------------------------------------------
    def parameters(self) -> list[Param]:
        """A fixed set of categoricals, all conditioned on ``n_leaves`` only.

        * ``n_leaves`` in 1..max_leaves: the number of leaves k;
        * ``leaf_0`` .. ``leaf_{k-1}``: the features, in order (``leaf_i`` active when k > i);
        * the tree is then built by k-1 joins of a forest that starts as the k leaves: while
          m subtrees are left, ``join_m`` (``"i+j"``, i < j < m; no parameter for m = 2, whose
          one choice is ``"0+1"``) names the two joined and ``op_m`` their operator; the
          joined tree takes position i and j is removed (``join_m``, ``op_m`` active when k >= m).

        Any binary tree is a sequence of joins of its forest's roots, so every member is
        reachable. Without ``repeatable``, a leaf whose feature an earlier leaf already has
        takes the next unused feature after it in ``self.features`` (cyclically), so every
        assignment decodes to a member.
        """
        n = self.max_leaves
        at_least = lambda k: ("n_leaves", tuple(str(j) for j in range(k, n + 1)))  # noqa: E731
        out = [Param("n_leaves", tuple(str(k) for k in range(1, n + 1)))]
        out += [Param(f"leaf_{i}", self.features, None if i == 0 else at_least(i + 1)) for i in range(n)]
        for m in range(n, 1, -1):
            if m >= 3:
                pairs = tuple(f"{i}+{j}" for i, j in combinations(range(m), 2))
                out.append(Param(f"join_{m}", pairs, at_least(m)))
            out.append(Param(f"op_{m}", self.ops, at_least(m)))
        return out

    def from_parameters(self, values) -> Tree:
        v = active_values(self.parameters(), values)
        k = int(v["n_leaves"])
        chosen: list[str] = []
        for i in range(k):
            f = v[f"leaf_{i}"]
            if not self.repeatable and f in chosen:
                # an unused feature exists: k <= max_leaves <= len(features) without repeats
                at = self.features.index(f)
                ring = self.features[at + 1:] + self.features[:at]
                f = next(g for g in ring if g not in chosen)
            chosen.append(f)
        forest: list[Tree] = [Leaf(f) for f in chosen]
        for m in range(k, 1, -1):
            i, j = (0, 1) if m == 2 else (int(x) for x in v[f"join_{m}"].split("+"))
            forest[i] = Fuse(v[f"op_{m}"], forest[i], forest[j])
            del forest[j]
        return canonical(forest[0])

    def to_parameters(self, arch) -> dict[str, str]:
        """Leaves left to right in the canonical tree, joins in post-order (always adjacent)."""
        tree = self.decode(arch) if isinstance(arch, str) else canonical(arch)
        self.check(tree)
        at = dict(positions(tree))
        forest = [p for p, t in at.items() if isinstance(t, Leaf)]  # pre-order: left to right
        out = {"n_leaves": str(len(forest))}
        out.update((f"leaf_{i}", at[p].feature) for i, p in enumerate(forest))

        def post_order(p: str) -> list[str]:
            return [] if isinstance(at[p], Leaf) else post_order(p + "0") + post_order(p + "1") + [p]

        for p in post_order("r"):
            m, i, j = len(forest), forest.index(p + "0"), forest.index(p + "1")
            if m >= 3:
                out[f"join_{m}"] = f"{i}+{j}"
            out[f"op_{m}"] = at[p].op
            forest[i] = p
            del forest[j]
        return out

    # ---- other forms ---------------------------------------------------------------
    def to_zss(self, arch):
        """The tree as ``zss.Node``s (operands in canonical order) for tree edit distance."""
        from zss import Node

        def go(t: Tree):
            if isinstance(t, Leaf):
                return Node(t.feature)
            return Node(t.op).addkid(go(t.left)).addkid(go(t.right))

        return go(self.decode(arch) if isinstance(arch, str) else canonical(arch))

    def edit_distance(self, a, b) -> int:
        """Tree edit distance (Zhang-Shasha, unit costs) between canonical forms."""
        from zss import simple_distance

        return int(simple_distance(self.to_zss(a), self.to_zss(b)))

    def similarity(self, a, b) -> float:
        """1 - edit distance / (nodes of a + nodes of b): 1 for equal trees, in [0, 1]."""
        ta = self.decode(a) if isinstance(a, str) else canonical(a)
        tb = self.decode(b) if isinstance(b, str) else canonical(b)
        total = len(subtrees(ta)) + len(subtrees(tb))
        return 1.0 - self.edit_distance(ta, tb) / total

    def to_graph(self, arch) -> nx.DiGraph:
        """DiGraph with edges from operands to operators; node attribute ``label``."""
        import networkx as nx

        g = nx.DiGraph()

        def go(t: Tree, path: str) -> str:
            g.add_node(path, label=t.feature if isinstance(t, Leaf) else t.op,
                       kind="feature" if isinstance(t, Leaf) else "op")
            if isinstance(t, Fuse):
                g.add_edge(go(t.left, path + "0"), path)
                g.add_edge(go(t.right, path + "1"), path)
            return path

        go(self.decode(arch) if isinstance(arch, str) else canonical(arch), "r")
        return g


@lru_cache(maxsize=None)
def _trees_over(pool: tuple[str, ...], ops: tuple[str, ...]) -> tuple[str, ...]:
    """Canonical strings of every tree using exactly the leaves in ``pool`` (a multiset)."""
    if len(pool) == 1:
        return (pool[0],)
    out = set()
    n = len(pool)
    first = pool[0]
    rest = pool[1:]
    # split the multiset: the part holding pool[0] goes left, avoiding mirrored duplicates
    for r in range(0, n - 1):
        for idx in combinations(range(len(rest)), r):
            left = tuple(sorted((first,) + tuple(rest[i] for i in idx)))
            right = tuple(sorted(rest[i] for i in range(len(rest)) if i not in idx))
            for a in _trees_over(left, ops):
                for b in _trees_over(right, ops):
                    x, y = sorted((a, b))
                    for op in ops:
                        out.add(f"{op}({x},{y})")
    return tuple(sorted(out))
