"""What a search is charged for an MRO sub-network the shipped table does not hold.

Training time is close to linear in the sub-network's FLOPs: per epoch, a fixed part
(data, optimiser, validation) plus a part proportional to forward MFLOPs x training rows.
``fit`` estimates the two coefficients by non-negative least squares on a table's recorded
seconds; the builder stores them in the table's provenance (``cost_model``), so charging is
deterministic and the same on every machine. Without a table, :data:`DEFAULT` applies
(measured on this project's 2-core EPYC: 0.29 s/epoch for one path, 0.67 s/epoch for all six
on syn3 with 600 training rows).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: seconds per epoch = fixed + per_mflop_row * MFLOPs * training rows / 1000
DEFAULT = {"fixed": 0.20, "per_mflop_row": 0.131 / 0.6}


def _mflops(arch_text: str, store, recipe, space) -> float:
    from bench.families.mro.model import CrossModalNet

    model = CrossModalNet(store.modalities, space.decode(arch_text), store.dims, recipe.d, recipe.heads, 0.0, 1)
    return model.flops(store.steps) / 1e6


def coefficients(table: Path | None) -> dict:
    """The cost model recorded in a shipped table's provenance, else :data:`DEFAULT`."""
    from bench.core.store_build import recorded_cost_model

    return recorded_cost_model(table) or DEFAULT


def seconds(arch_text: str, store, recipe, space, coef: dict | None = None) -> float:
    """Charged training seconds of one sub-network under ``recipe`` (deterministic);
    ``coef``: :func:`coefficients` of the table the oracle answers from (read once)."""
    c = coef or DEFAULT
    rows = len(store.rows(recipe.split, "train"))
    return float(recipe.epochs * (c["fixed"] + c["per_mflop_row"] * _mflops(arch_text, store, recipe, space) * rows / 1000))


def fit(mflops: np.ndarray, seconds_: np.ndarray, epochs: int, rows: int) -> dict:
    """Non-negative least squares of per-epoch seconds on (1, MFLOPs x rows / 1000)."""
    from scipy.optimize import nnls

    a = np.stack([np.ones_like(mflops), mflops * rows / 1000], axis=1)
    coef, _ = nnls(a, seconds_ / epochs)
    return {"fixed": round(float(coef[0]), 6), "per_mflop_row": round(float(coef[1]), 6)}
