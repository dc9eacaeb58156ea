"""What HF-MNAS trains on: two modalities ``t`` and ``i``, each with a low-level and a
high-level feature (``tl``, ``th``, ``il``, ``ih``), and the modality-label inconsistency
protocol of Sec. III-C.

* Multi-view stores (the stand-in for HARM_P): one view plays ``t`` and another ``i``; their
  backbone levels ``VIEW@1`` (64-d) and ``VIEW@2`` (32-d) are the low and high features
  (:mod:`bench.features.backbone`), on the holdout split the backbones were trained on.
* ``<dataset>@inc<r>``: modality-label inconsistency injected at rate r (HARM-style, ``harm``
  mode): in every split, round(r x N) samples of the "harmful" lower classes (labels below
  n_classes // 2, e.g. 10 of LandUse-21's 21) get the ``i`` features (both levels: they come from one raw input) of
  a uniformly drawn sample of the other half; labels are unchanged. When the eligible set is
  smaller than round(r x N) the injection is capped and the effective rate is recorded.
  Draws are seeded by dataset, split part and rate, the same for every training seed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import numpy as np

from bench.errors import UnknownDatasetError

#: multi-view stores and the views that play t and i: the two whose backbones test best
#: (backbone provenance; LandUse-21: v1 39.3%, v2 53.1%, v3 37.9%)
VIEWS = {"landuse21": ("v1", "v2"), "scene15": ("v1", "v2"), "aloi": ("v2", "v4"), "mfeat": ("fac", "pix")}
PARTS = ("train", "val", "test")
#: inconsistency rates the figures use (the paper's axis: 0, 10%, 30%, "and so forth")
INC_RATES = (0.0, 0.1, 0.3, 0.5, 0.7)


@dataclass
class HFData:
    """Features and labels of one dataset, per part: ``x[part][feature]`` float32, ``y[part]``."""

    name: str
    kind: str  # "multiclass" or "multilabel"
    x: dict[str, dict[str, np.ndarray]]
    y: dict[str, np.ndarray]
    n_out: int
    content_sha256: str
    provenance: dict = field(default_factory=dict)

    @property
    def dims(self) -> dict[str, int]:
        return {k: v.shape[1] for k, v in self.x["train"].items()}


def parse(dataset: str) -> tuple[str, float]:
    """``(base, inconsistency rate)`` of ``landuse21`` or ``landuse21@inc0.3``."""
    base, at, rate = dataset.partition("@inc")
    if base not in VIEWS:
        raise UnknownDatasetError(dataset, datasets(), "for benchmark 'hfmnas'")
    if not at:
        return base, 0.0
    try:
        r = float(rate)
    except ValueError:
        r = -1.0
    if not 0.0 < r <= 0.9 or abs(r * 10 - round(r * 10)) > 1e-9 or f"{r:g}" != rate:
        raise UnknownDatasetError(dataset, datasets(), "for benchmark 'hfmnas' (an inconsistency rate after '@inc' "
                                  "is a tenth in 0.1..0.9, written like 0.3)")
    return base, r


def datasets() -> list[str]:
    return [*VIEWS, *(f"landuse21@inc{r:g}" for r in INC_RATES[1:])]


def inject(x_i: dict[str, np.ndarray], y: np.ndarray, n_classes: int, rate: float, seed: int
           ) -> tuple[dict[str, np.ndarray], float, np.ndarray]:
    """HARM-style inconsistency: ``(new i features, effective rate, replaced rows)``."""
    n = len(y)
    want = int(round(rate * n))
    harmful = np.flatnonzero(y < n_classes // 2)
    donors = np.flatnonzero(y >= n_classes // 2)
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(harmful, size=min(want, len(harmful)), replace=False))
    source = rng.choice(donors, size=len(chosen), replace=True)
    out = {k: v.copy() for k, v in x_i.items()}
    for k in out:
        out[k][chosen] = x_i[k][source]
    return out, len(chosen) / n, chosen


def load(dataset: str) -> HFData:
    """The four features of a multi-view dataset (with inconsistency injected where named)."""
    from bench.features import store as fstore

    base, rate = parse(dataset)
    import h5py

    st = fstore.open(base, with_backbone=True)  # verifies both files' checksums
    with h5py.File(fstore.stores_dir() / f"{base}.backbone.h5", "r") as f:
        backbone_sha256 = str(f.attrs["content_sha256"])
    t, i = VIEWS[base]
    names = {"tl": f"{t}@1", "th": f"{t}@2", "il": f"{i}@1", "ih": f"{i}@2"}
    x, y, effective = {}, {}, {}
    for p, part in enumerate(PARTS):
        views, labels = st.arrays("holdout", part, list(names.values()))
        feats = {k: views[v].astype(np.float32) for k, v in names.items()}
        if rate:
            seed = int.from_bytes(hashlib.sha256(f"{base}|{part}|{rate:g}".encode()).digest()[:4], "little")
            new_i, effective[part], _ = inject({k: feats[k] for k in ("il", "ih")}, labels, st.n_classes, rate, seed)
            feats.update(new_i)
        x[part], y[part] = feats, labels.astype(np.int64)
    digest = hashlib.sha256(json.dumps([st.content_sha256, backbone_sha256, names, rate]).encode()).hexdigest()
    prov = {"store": base, "views": names, "split": "holdout", "inconsistency_rate": rate,
            "effective_rate": effective, "mode": "harm" if rate else None}
    return HFData(dataset, "multiclass", x, y, st.n_classes, digest, prov)
