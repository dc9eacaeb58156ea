"""What the generic surrogate (:mod:`bench.core.surrogate`) reads of an HF-MNAS genotype: the full
space (the paper's search configuration) and, per cell (LFBC, HFBC), its input pair, node and kept
counts, fusion-operation and edge-operation counts and edge count, then the stacking number, the
IMM module and the classifier."""

from __future__ import annotations

from bench.families.hfmnas.space import CM, EDGE_OPS, FUSION_OPS, IMM, PAIRS, HFSpace


def full_space(dataset: str) -> HFSpace:
    return HFSpace(core=False)


def trainer(dataset: str):
    from bench.families.hfmnas.trainer import HFTrainer, Recipe

    return HFTrainer(Recipe())


def feature_names(space: HFSpace) -> list[str]:
    cell = (["pair=" + "+".join(p) for p in PAIRS] + ["nodes", "kept", "edges"] + [f"fuse={o}" for o in FUSION_OPS]
            + [f"edge={o}" for o in EDGE_OPS])
    return ([f"low.{c}" for c in cell] + [f"high.{c}" for c in cell] + ["stack"] + [f"imm={x}" for x in IMM]
            + [f"cm={x}" for x in CM])


def _cell(c) -> list[float]:
    pair = tuple(c.inputs)
    fuse = [0.0] * len(FUSION_OPS)
    edge = [0.0] * len(EDGE_OPS)
    n_edges = 0
    for node in c.nodes:
        for op in node.ops:
            fuse[FUSION_OPS.index(op)] += 1
        for op, _ in node.edges:
            edge[EDGE_OPS.index(op)] += 1
            n_edges += 1
    return ([float(pair == p or pair == p[::-1]) for p in PAIRS] + [float(len(c.nodes)), float(len(c.keep)),
                                                                    float(n_edges)] + fuse + edge)


def features(space: HFSpace, arch) -> list[float]:
    a = space.decode(arch) if isinstance(arch, str) else arch
    return (_cell(a.low) + _cell(a.high) + [float(a.stack)] + [float(a.imm == x) for x in IMM]
            + [float(a.cm == x) for x in CM])


def _claims():
    from bench.core.surrogate_claims import Claim

    return (Claim("searched multi-node fusion cells (the paper's configuration: 4 nodes, keep 3, s in {1, 2}) beat "
                  "one-node identity-edge cells (the slice the table holds, Table VIII's ablation cell)",
                  "001_6b80f99565a0cbd2.txt, Table VIII and Figs. 11-12", "landuse21", "rea@full", "rea@slice"),)


CLAIMS = _claims()
