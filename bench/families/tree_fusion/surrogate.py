"""What the generic surrogate (:mod:`bench.core.surrogate`) reads of a fusion tree: the full space
(every tree over a dataset's features, no repeats) and a fixed-length description of a tree.

A tree is described by what it fuses and how, independent of where in the tree a subtree sits:
each feature's leaf count and shallowest depth, each operator's count, the number of leaves and the
depth, and for each (feature, operator) pair how many operator nodes have the feature below them.
"""

from __future__ import annotations

from bench.families.tree_fusion.space import Fuse, Leaf, TreeFusionSpace


def full_space(dataset: str) -> TreeFusionSpace:
    from bench.features.store import open as open_store

    names = open_store(dataset).view_names
    return TreeFusionSpace(names, max_leaves=len(names))


def trainer(dataset: str):
    from bench.families.tree_fusion.fill import TreeTrainer
    from bench.families.tree_fusion.trainer import PROTOCOLS

    return TreeTrainer(PROTOCOLS["standard"], "cpu")


def feature_names(space: TreeFusionSpace) -> list[str]:
    f, o = space.features, space.ops
    return ([f"leaves[{x}]" for x in f] + [f"depth[{x}]" for x in f] + [f"op[{y}]" for y in o]
            + ["n_leaves", "depth"] + [f"{y}>{x}" for y in o for x in f])


def features(space: TreeFusionSpace, arch) -> list[float]:
    tree = space.decode(arch) if isinstance(arch, str) else arch
    fi = {x: i for i, x in enumerate(space.features)}
    oi = {y: i for i, y in enumerate(space.ops)}
    nf, no = len(fi), len(oi)
    count, shallow, ops, below = [0.0] * nf, [-1.0] * nf, [0.0] * no, [0.0] * (no * nf)

    def walk(t, depth: int) -> tuple[set[int], int]:  # (features below, height)
        if isinstance(t, Leaf):
            i = fi[t.feature]
            count[i] += 1
            if shallow[i] < 0 or depth < shallow[i]:
                shallow[i] = depth
            return {i}, 0
        assert isinstance(t, Fuse)
        a, ha = walk(t.left, depth + 1)
        b, hb = walk(t.right, depth + 1)
        j = oi[t.op]
        ops[j] += 1
        for i in a | b:
            below[j * nf + i] += 1
        return a | b, 1 + max(ha, hb)

    _, height = walk(tree, 0)
    return count + shallow + ops + [float(sum(count)), float(height)] + below


def _claims():
    from bench.core.surrogate_claims import Claim

    src = "000_62c610aae6b2430e.txt, Tables 2-3"
    return (Claim("CSG-NAS finds better fusion architectures than EDF at equal search cost (here without its knowledge "
                  "inheritance, which a surrogate of stand-alone training cannot model)", src, "mfeat",
                  "csgnas-noki@full", "edf@full"),
            Claim("expanding the search to trees over every feature (the expanded space of CSG-NAS's local search) "
                  "finds better fusion architectures than trees of at most three leaves", src, "mfeat",
                  "rea@full", "rea@slice"))


CLAIMS = _claims()
