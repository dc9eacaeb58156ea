"""What a search is charged for an RMNAS model the shipped table does not hold: a training's
seconds are close to linear in the model's forward MFLOPs (early stopping varies the epochs,
which the fit absorbs on average). ``fit`` estimates the two coefficients by non-negative
least squares on a table's recorded seconds; the builder stores them in the table's provenance
(``cost_model``), so charging is deterministic and the same on every machine. Without a table
:data:`DEFAULT` applies (this project's 2-core EPYC, one thread, POM: 7.4 s for a pool/identity
model of 1.49 MFLOPs, 16.1 s for an attention model of 2.50 MFLOPs).
"""

from __future__ import annotations

from pathlib import Path

from bench.core.store_build import fit_mflops_cost as fit  # noqa: F401 (the builder's fit)

#: seconds of one training = fixed + per_mflop * forward MFLOPs
DEFAULT = {"fixed": 0.0, "per_mflop": 6.0}


def mflops(arch_text: str, store, recipe, space) -> float:
    from bench.families.rmnas.trainer import build_model

    return build_model(space.decode(arch_text), store, recipe, 1).flops(store.steps) / 1e6


def coefficients(table: Path | None) -> dict:
    """The cost model recorded in a shipped table's provenance, else :data:`DEFAULT`."""
    from bench.core.store_build import recorded_cost_model

    return recorded_cost_model(table) or DEFAULT


def seconds(arch_text: str, store, recipe, space, coef: dict | None = None) -> float:
    """Charged seconds of one training (deterministic)."""
    c = coef or DEFAULT
    return float(c["fixed"] + c["per_mflop"] * mflops(arch_text, store, recipe, space))


def dialogue_seconds(arch_text: str, store, recipe, space, coef: dict | None = None) -> float:
    """Charged seconds of one dialogue-level training: the per-utterance model's MFLOPs per video
    (the longest video's length), times videos over the sentence rows the coefficients were fitted on."""
    from bench.families.rmnas.dialogue import parts_of
    from bench.families.rmnas.model import RMNASNet

    c = coef or DEFAULT
    parts = [d["valid"] for d in parts_of(store, recipe.split)]
    steps = {m: max(v.shape[1] for v in parts) for m in store.modalities}
    net = RMNASNet(store.modalities, space.decode(arch_text), store.dims, steps, recipe.d, recipe.heads,
                   recipe.blocks, recipe.kernel, recipe.maxdis, 0.0, 1, per_token=True)
    per_video = net.flops(steps) / 1e6
    scale = parts[0].shape[0] / len(store.rows(recipe.split, "train"))
    return float(c["fixed"] + c["per_mflop"] * per_video * scale)
