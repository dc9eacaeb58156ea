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
