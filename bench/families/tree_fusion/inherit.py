"""Weight inheritance between fusion trees (CSG-NAS ``000_62c610aae6b2430e.txt`` Sec. 3.6).

The paper transfers "the weights learned by the parent" without saying which; two scopes:

- ``subtrees``: for every maximal sub-tree the child shares with its parent, the parent's
  weights of that sub-tree (its leaf projections and concat projections);
- ``all`` (the default, the fuller reading): those, plus the leaf projection of every
  feature both trees use (same input width, same role wherever it sits) and the classifier
  head (FD -> classes, the same shape in every tree).

Concat projections outside shared sub-trees are never copied: their inputs differ. Trees
are canonical, so equal sub-tree strings mean equal structure and operand order, and a
layer's path below a shared sub-tree's root is the same in both trees.
"""

from __future__ import annotations

import torch

from bench.families.tree_fusion.space import Fuse, Leaf, Tree, positions


def shared_subtrees(child: Tree, parent: Tree) -> list[tuple[str, str]]:
    """``(child path, parent path)`` of each maximal sub-tree of ``child`` that ``parent`` also has."""
    in_parent: dict[str, str] = {}
    for path, t in positions(parent):
        in_parent.setdefault(str(t), path)
    out: list[tuple[str, str]] = []

    def walk(t: Tree, path: str) -> None:
        if str(t) in in_parent:
            out.append((path, in_parent[str(t)]))
        elif isinstance(t, Fuse):
            walk(t.left, path + "0")
            walk(t.right, path + "1")

    walk(child, "r")
    return out


SCOPES = ("subtrees", "all")


def inherited_weights(child: Tree, parent: Tree, parent_state: dict[str, torch.Tensor],
                      scope: str = "all") -> dict[str, torch.Tensor]:
    """The child's parameters that come from the parent (name -> tensor copy); see the module doc."""
    if scope not in SCOPES:
        raise ValueError(f"inheritance scope must be one of {SCOPES}, got {scope!r}")
    out: dict[str, torch.Tensor] = {}
    if scope == "all":
        in_parent: dict[str, list[str]] = {}
        for path, t in positions(parent):
            if isinstance(t, Leaf):
                in_parent.setdefault(t.feature, []).append(path)
        for path, t in positions(child):
            # a feature the parent uses twice (repeatable spaces) has no single counterpart
            if isinstance(t, Leaf) and len(in_parent.get(t.feature, ())) == 1:
                for p in ("weight", "bias"):
                    out[f"leaf.{path}.{p}"] = parent_state[f"leaf.{in_parent[t.feature][0]}.{p}"].clone()
        for p in ("weight", "bias"):
            out[f"head.{p}"] = parent_state[f"head.{p}"].clone()
    for child_root, parent_root in shared_subtrees(child, parent):
        sub = dict(positions(child))[child_root]
        for rel, node in positions(sub, ""):
            src, dst = parent_root + rel, child_root + rel
            layer = "leaf" if isinstance(node, Leaf) else "concat" if node.op == "concat" else None
            if layer is None:
                continue  # element-wise operators have no weights
            for p in ("weight", "bias"):
                out[f"{layer}.{dst}.{p}"] = parent_state[f"{layer}.{src}.{p}"].clone()
    return out
