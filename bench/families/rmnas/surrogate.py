"""What the generic surrogate (:mod:`bench.core.surrogate`) reads of an RMNAS genotype: the full
(untied) space, and per modality and block which token mixers are on, per modality how many blocks
use each mixer, each fusion step's operation and the LST flag."""

from __future__ import annotations

from bench.families.rmnas.space import FUSION_OPS, MIXERS, RMNASSpace


def full_space(dataset: str) -> RMNASSpace:
    from bench.families.rmnas import store_of
    from bench.families.rmnas.recipe import Recipe
    from bench.features import sequence

    return RMNASSpace(sequence.open(store_of(dataset)).modalities, Recipe().blocks, tied=False)


def trainer(dataset: str):
    from bench.families.rmnas.trainer import Recipe, RMNASTrainer

    return RMNASTrainer(Recipe())


def feature_names(space: RMNASSpace) -> list[str]:
    ms, bs = space.modalities, range(space.blocks)
    return ([f"{m}.{b}.{x}" for m in ms for b in bs for x in MIXERS] + [f"{m}.{x}" for m in ms for x in MIXERS]
            + [f"fusion{k}={op}" for k in range(space.n_steps) for op in FUSION_OPS] + ["lst"])


def features(space: RMNASSpace, arch) -> list[float]:
    a = space.decode(arch) if isinstance(arch, str) else arch
    per_block = [float(x in s) for blocks in a.mixers for s in blocks for x in MIXERS]
    per_mod = [float(sum(x in s for s in blocks)) for blocks in a.mixers for x in MIXERS]
    fusion = [float(f == op) for f in a.fusion for op in FUSION_OPS]
    return per_block + per_mod + fusion + [float(a.lst)]


def _claims():
    from bench.core.surrogate_claims import Claim

    return (Claim("choosing token mixers per modality and per block (the paper's space) finds better models than one "
                  "mixer per modality tied across blocks (the slice the table holds)",
                  "003_ca6407ec0d2ea38c.txt, Sec. 3 search space", "mosi", "rea@full", "rea@slice"),)


CLAIMS = _claims()
