"""torch helpers every trained family shares: the pinned numeric environment on one thread,
device choice, and F1 scores."""

from __future__ import annotations

import functools

import numpy as np
import torch

from bench import numerics
from bench.errors import BenchError


class DeviceUnavailableError(BenchError):
    """A device was asked for that this machine does not have."""


def pinned_numerics(fn):
    """Run ``fn`` under the pinned numeric environment (:mod:`bench.numerics`) on one CPU
    thread - the same kernels and float reductions on every CPU, so the same seed gives the
    same bits - and restore the caller's thread count after."""
    @functools.wraps(fn)
    def pinned(*args, **kwargs):
        numerics.check()
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return fn(*args, **kwargs)
        finally:
            torch.set_num_threads(threads)

    return pinned


def resolve_device(device: str | None) -> torch.device:
    """'cuda' when present unless told otherwise; a named error when 'cuda' is absent."""
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise DeviceUnavailableError(f"device {device!r} was asked for but CUDA is not available on this machine; use 'cpu'")
    return torch.device(device)


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
