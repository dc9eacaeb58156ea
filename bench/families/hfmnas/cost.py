"""What a search is charged for an HF-MNAS model the shipped table does not hold: the linear
seconds-on-MFLOPs model a table's build fits (:func:`bench.core.store_build.fit_mflops_cost`,
stored in the table's provenance), so charging is deterministic and the same on every
machine. Attention-bearing cells cost more per MFLOP than the others, so the fit is a coarse
average. Without a table :data:`DEFAULT` applies (this project's 2-core EPYC, one thread,
Scene-15: about 2 s for a Sum cell without IMM, 0.13 MFLOPs; about 14 s with MHAtt cells and
DCCA + attention, 0.21 MFLOPs).
"""

from __future__ import annotations

from pathlib import Path

#: seconds of one training = fixed + per_mflop * forward MFLOPs
DEFAULT = {"fixed": 0.0, "per_mflop": 60.0}


def mflops(arch_text: str, data, recipe, space) -> float:
    from bench.families.hfmnas.model import HFNet

    return HFNet(space.decode(arch_text), data.dims, data.n_out, recipe.tokens, recipe.channels, recipe.heads,
                 0.0, recipe.dcca_dim).mflops(data.dims)


def coefficients(table: Path | None) -> dict:
    """The cost model recorded in a shipped table's provenance, else :data:`DEFAULT`."""
    from bench.core.store_build import recorded_cost_model

    return recorded_cost_model(table) or DEFAULT


def seconds(arch_text: str, data, recipe, space, coef: dict | None = None) -> float:
    """Charged seconds of one training (deterministic)."""
    c = coef or DEFAULT
    return float(c["fixed"] + c["per_mflop"] * mflops(arch_text, data, recipe, space))
