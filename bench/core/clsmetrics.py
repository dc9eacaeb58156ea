"""Classification metrics of the trained families, in numpy (no torch): what the trainers score
models with and what the quality gate scores the trivial predictors with (:mod:`bench.core.quality`)."""

from __future__ import annotations

import numpy as np


def f1_scores(y: np.ndarray, pred: np.ndarray, n_classes: int) -> tuple[float, float]:
    """Macro and support-weighted F1 (classes absent from both y and pred count 0 in macro)."""
    f1 = np.zeros(n_classes)
    support = np.bincount(y, minlength=n_classes)
    for c in range(n_classes):
        tp = np.sum((pred == c) & (y == c))
        denom = np.sum(pred == c) + support[c]
        f1[c] = 2 * tp / denom if denom else 0.0
    return float(f1.mean()), float((f1 * support).sum() / support.sum())


def multilabel_f1_scores(truth: np.ndarray, pred: np.ndarray) -> tuple[float, float]:
    """Macro and support-weighted F1 over the labels of boolean [n, L] arrays (a label absent from
    both counts 0 in macro)."""
    tp, support = (pred & truth).sum(0), truth.sum(0)
    denom = pred.sum(0) + support
    f1 = np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)
    return float(f1.mean()), float((f1 * support).sum() / max(support.sum(), 1))


def label_scores(y: np.ndarray, pred: np.ndarray, n_out: int) -> dict[str, float]:
    """Acc, F1-M, F1-W in % of predicted labels: class indices [n], or booleans [n, L] for a
    multi-label ``y`` [n, L] (F1 per label, macro and support-weighted over labels; Acc is the
    share of correct label decisions, Hamming accuracy)."""
    if y.ndim == 2:
        truth = y.astype(bool)
        f1m, f1w = multilabel_f1_scores(truth, pred)
        return {"acc": 100.0 * float((pred == truth).mean()), "f1m": 100.0 * f1m, "f1w": 100.0 * f1w}
    f1m, f1w = f1_scores(y, pred, n_out)
    return {"acc": 100.0 * float((pred == y).mean()), "f1m": 100.0 * f1m, "f1w": 100.0 * f1w}
