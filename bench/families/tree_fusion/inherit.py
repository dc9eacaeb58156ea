"""Weight inheritance between fusion trees (CSG-NAS ``000_62c610aae6b2430e.txt`` Sec. 3.6).

A child inherits, for every maximal sub-tree it shares with its parent, the parent's
trained weights of that sub-tree: the leaf projections and the concat projections inside
it. Nothing else is copied: not the head, not layers of sub-trees the parent lacks. Trees
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


def inherited_weights(child: Tree, parent: Tree, parent_state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The child's parameters that come from the parent (name -> tensor copy); see the module doc."""
    out: dict[str, torch.Tensor] = {}
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
