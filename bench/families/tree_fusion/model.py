"""The fusion model of a tree (CSG-NAS ``000_62c610aae6b2430e.txt`` Sec. 3.5).

Every leaf passes its feature vector through its own linear layer to the fusion
dimension FD (then ReLU); every inner node fuses its two FD-vectors with its operator
(add, mul, max, avg element-wise; concat followed by a linear layer back to FD and ReLU,
which is what makes concat commutative as a model class); a linear head maps the
root's FD-vector to class scores.
"""

from __future__ import annotations

import torch
from torch import nn

from bench.families.tree_fusion.space import Leaf, Tree

#: the element-wise fusion operators, shared with the batched trainer so both compute the same expression
FUSE = {"add": torch.add, "mul": torch.mul, "max": torch.maximum, "avg": lambda a, b: (a + b) / 2}


class FusionNet(nn.Module):
    def __init__(self, tree: Tree, dims: dict[str, int], fusion_dim: int, n_classes: int):
        super().__init__()
        self.tree = tree
        self.leaf = nn.ModuleDict()
        self.concat = nn.ModuleDict()
        self._paths: list[tuple[str, Tree]] = []

        def build(t: Tree, path: str):
            if isinstance(t, Leaf):
                self.leaf[path] = nn.Linear(dims[t.feature], fusion_dim)
            else:
                if t.op == "concat":
                    self.concat[path] = nn.Linear(2 * fusion_dim, fusion_dim)
                build(t.left, path + "0")
                build(t.right, path + "1")

        build(tree, "r")
        self.head = nn.Linear(fusion_dim, n_classes)

    def forward(self, views: dict[str, torch.Tensor]) -> torch.Tensor:
        def go(t: Tree, path: str) -> torch.Tensor:
            if isinstance(t, Leaf):
                return torch.relu(self.leaf[path](views[t.feature]))
            a, b = go(t.left, path + "0"), go(t.right, path + "1")
            if t.op in FUSE:
                return FUSE[t.op](a, b)
            return torch.relu(self.concat[path](torch.cat([a, b], dim=1)))

        return self.head(go(self.tree, "r"))

    def flops(self) -> int:
        """Multiply-adds x2 of the linear layers plus one op per element of each fusion."""
        total = sum(2 * m.in_features * m.out_features for m in self.modules() if isinstance(m, nn.Linear))

        def fusions(t: Tree) -> int:
            return 0 if isinstance(t, Leaf) else 1 + fusions(t.left) + fusions(t.right)

        return total + fusions(self.tree) * self.head.in_features

    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())


