"""Regression metrics of the sentiment and trait stores, in the MMSA conventions the papers use.

Sentiment (-3..3): MAE, Pearson r, Acc-7/5/3 on round(clip(., -c, c)) for c = 3, 2, 1, Acc-2
and weighted F1 on non-zero labels (pred > 0 against label > 0), Acc-2 with the >= 0
convention. Traits (POM): MAE and r of the primary trait (column 0) and their means over
every trait.
"""

from __future__ import annotations

import numpy as np

from bench.errors import UnknownChoiceError

#: the regression label a sequence store's models predict, in this order of preference
TARGETS = ("sentiment", "y", "traits")


def target_of(store) -> str:
    """The regression label of a sequence store: ``sentiment`` (MOSI), ``y`` (synK), ``traits`` (POM)."""
    for name in TARGETS:
        if name in store.label_names:
            return name
    raise UnknownChoiceError(store.label_names[0] if store.label_names else "", list(TARGETS),
                             f"(no regression label in sequence store {store.name!r})")


def sentiment_metrics(pred: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """MOSI/MOSEI conventions (see the module doc)."""
    pred, y = pred.astype(np.float64), y.astype(np.float64)
    out = {"mae": float(np.abs(pred - y).mean()), "corr": pearson(pred, y)}
    for name, c in (("acc7", 3), ("acc5", 2), ("acc3", 1)):
        out[name] = float((np.round(np.clip(pred, -c, c)) == np.round(np.clip(y, -c, c))).mean() * 100)
    nz = y != 0
    p2, y2 = pred[nz] > 0, y[nz] > 0
    out["acc2"] = float((p2 == y2).mean() * 100) if nz.any() else float("nan")
    out["acc2_nonneg"] = float(((pred >= 0) == (y >= 0)).mean() * 100)
    out["f1"] = weighted_f1(p2, y2) if nz.any() else float("nan")
    return out


def trait_metrics(pred: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """POM: MAE and r of the primary trait (column 0) and their means over every trait."""
    pred, y = pred.astype(np.float64), y.astype(np.float64)
    out = {"mae": float(np.abs(pred[:, 0] - y[:, 0]).mean()), "corr": pearson(pred[:, 0], y[:, 0])}
    out["mae_mean"] = float(np.abs(pred - y).mean())
    out["corr_mean"] = float(np.mean([pearson(pred[:, j], y[:, j]) for j in range(y.shape[1])]))
    return out


def regression_metrics(pred: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """:func:`trait_metrics` for multi-column labels, else :func:`sentiment_metrics`."""
    return trait_metrics(pred, y) if y.shape[1] > 1 else sentiment_metrics(pred[:, 0], y[:, 0])


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    den = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / den) if den > 0 else 0.0


def weighted_f1(pred: np.ndarray, y: np.ndarray) -> float:
    """Support-weighted F1 (%) of two boolean classes."""
    f1, support = [], []
    for c in (False, True):
        tp = np.sum((pred == c) & (y == c))
        den = np.sum(pred == c) + np.sum(y == c)
        f1.append(2 * tp / den if den else 0.0)
        support.append(np.sum(y == c))
    return float(np.dot(f1, support) / max(1, sum(support)) * 100)
