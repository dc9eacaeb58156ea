"""What the generic surrogate (:mod:`bench.core.surrogate`) reads of an MRO path mask: each path's
depth and whether it is on, the active paths and total depth, and per modality how many of its
outgoing and incoming paths are on."""

from __future__ import annotations

from bench.families.mro.space import PathSpace


def full_space(dataset: str) -> PathSpace:
    from bench.families.mro import max_depth
    from bench.features import sequence

    return PathSpace(sequence.open(dataset).modalities, max_depth(dataset))


def trainer(dataset: str):
    from bench.families.mro.recipe import recipe_for
    from bench.families.mro.trainer import MROTrainer

    return MROTrainer(recipe_for(dataset))


def feature_names(space: PathSpace) -> list[str]:
    p = space.path_names()
    return ([f"depth[{x}]" for x in p] + [f"on[{x}]" for x in p] + ["n_on", "total_depth"]
            + [f"out[{m}]" for m in space.modalities] + [f"in[{m}]" for m in space.modalities])


def features(space: PathSpace, arch) -> list[float]:
    a = space.decode(arch) if isinstance(arch, str) else tuple(arch)
    on = [float(d > 0) for d in a]
    out = [sum(o for o, (s, _) in zip(on, space.paths) if s == m) for m in space.modalities]
    inn = [sum(o for o, (_, t) in zip(on, space.paths) if t == m) for m in space.modalities]
    return [float(d) for d in a] + on + [sum(on), float(sum(a))] + out + inn


def _claims():
    from bench.core.surrogate_claims import Claim

    return (Claim("a searched subset of cross-modal attention paths does as well as or better than all paths on",
                  "002_21034c53427ddd7b.txt, Tables 2-3 (MRO against full cross-modal fusion)", "syn3-p2-planted",
                  "rea@full", "arch:111111"),)


CLAIMS = _claims()
