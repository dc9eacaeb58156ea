"""Missing-modality protocols of RMNAS (``003_ca6407ec0d2ea38c.txt``, Sec. 4) and the AUILC.

* Sentence level (frame-level missing, the EMT-DLFR procedure): the modality at position i of
  the store draws its keep mask from a fixed seed (111, 1111, 11111, ... for i = 0, 1, 2, ...;
  EMT-DLFR gives these seeds to text, audio and vision, here they follow the store's order),
  the same for every split and every training seed: keep = (U(0, 1) > r) and valid. Dropped frames are zeroed (text
  tokens included: the stores hold token features, not ids, so zero stands in for [UNK]).
* Dialogue level (view-level missing, the GCNet procedure): every (utterance) row keeps at
  least one view and the share of present entries is 1 - r. GCNet redraws the masks every
  batch, also at test; here evaluation masks are fixed per (rate, part) so tables are
  reproducible, and training masks come from a generator seeded by the training seed.
* AUILC (Eq. 14): the trapezoid integral of a metric over missing rates. Over 0..1 it is the
  mean level; over 0..0.5 half of it (the paper's CH-SIMS values are that small for this reason).
"""

from __future__ import annotations

import math

import numpy as np

from bench.errors import BenchError

#: the missing rates of the sentence-level tables (0.0, 0.1, ..., 1.0)
RATES: tuple[float, ...] = tuple(round(0.1 * i, 1) for i in range(11))
#: the AUILC ranges the paper reports: MOSI/MOSEI 0..1, CH-SIMS 0..0.5, dialogue 0..0.7
RANGES = {"0-1": (0.0, 1.0), "0-0.5": (0.0, 0.5), "0-0.7": (0.0, 0.7)}


class MissingRateError(BenchError, ValueError):
    """A missing rate outside what a protocol allows."""


def modality_seed(i: int) -> int:
    """EMT-DLFR's per-modality mask seed: 111, 1111, 11111, ... for modality 0, 1, 2, ..."""
    return int("1" * (i + 3))


def check_rate(rate: float, top: float = 1.0) -> float:
    r = float(rate)
    if not 0.0 <= r <= top:
        raise MissingRateError(f"missing rate {rate!r} is outside 0..{top}")
    return r


def frame_keep(valid: np.ndarray, rate: float, modality_index: int) -> np.ndarray:
    """Keep mask [n, T] of one modality at ``rate`` (frames already invalid stay dropped)."""
    r = check_rate(rate)
    u = np.random.RandomState(modality_seed(modality_index)).uniform(size=valid.shape)
    return (u > r) & valid.astype(bool)


def effective_rate(valid: np.ndarray, keep: np.ndarray) -> float:
    """1 - kept frames / frames of a fully observed sequence (native absence counts as missing)."""
    return float(1.0 - keep.sum() / valid.size)


def view_presence(n_rows: int, n_views: int, rate: float, rng: np.random.Generator, tol: float = 0.005,
                  max_tries: int = 1000) -> np.ndarray:
    """Presence [n_rows, n_views] with at least one view per row and about ``1 - rate`` of the
    entries present (within ``tol`` when there are 32+ rows; GCNet's rule). Rates up to
    1 - 1/V rounded up to a tenth are accepted (0.5 for two views, 0.7 for three, as GCNet);
    from 1 - 1/V on, exactly one view per row is kept."""
    r = check_rate(rate, math.ceil(round((n_views - 1) / n_views * 10, 9)) / 10)
    if r == 0.0:
        return np.ones((n_rows, n_views), dtype=bool)
    one = np.zeros((n_rows, n_views), dtype=bool)
    one[np.arange(n_rows), rng.integers(n_views, size=n_rows)] = True
    target = 1.0 - r
    if target <= 1.0 / n_views + 1e-12:
        return one
    # one view guaranteed, each other present with q so that the expected share is 1 - r
    q = (target * n_views - 1.0) / (n_views - 1)
    best, best_err = None, np.inf
    for _ in range(max_tries):
        pres = one | (rng.random((n_rows, n_views)) < q)
        err = abs(pres.mean() - target)
        if err < best_err:
            best, best_err = pres, err
        if n_rows < 32 or err < tol:
            break
    return best


def auilc(rates, values, lo: float = 0.0, hi: float = 1.0) -> float:
    """Eq. 14: sum over consecutive rates in [lo, hi] of (p_i + p_{i+1}) / 2 x (r_{i+1} - r_i)."""
    r = np.asarray(rates, dtype=float)
    p = np.asarray(values, dtype=float)
    if r.shape != p.shape or r.ndim != 1:
        raise MissingRateError(f"rates {r.shape} and values {p.shape} must be 1-D and of one length")
    order = np.argsort(r, kind="stable")
    r, p = r[order], p[order]
    sel = (r >= lo - 1e-9) & (r <= hi + 1e-9)
    r, p = r[sel], p[sel]
    if len(r) < 2 or abs(r[0] - lo) > 1e-9 or abs(r[-1] - hi) > 1e-9:
        raise MissingRateError(f"AUILC over {lo}..{hi} needs values at both ends; rates given: {list(np.round(r, 3))}")
    return float(np.sum((p[1:] + p[:-1]) / 2 * np.diff(r)))
