"""What HF-MNAS trains on: two modalities ``t`` and ``i``, each with a low-level and a
high-level feature (``tl``, ``th``, ``il``, ``ih``), and the modality-label inconsistency
protocol of Sec. III-C.

* Multi-view stores (the stand-in for HARM_P): one view plays ``t`` and another ``i``; their
  backbone levels ``VIEW@1`` (64-d) and ``VIEW@2`` (32-d) are the low and high features
  (:mod:`bench.features.backbone`), on the holdout split the backbones were trained on.
* ``pom-ml17`` (the stand-in for MM-IMDB): POM's 17 traits, each above its training median, as
  co-occurring labels (multi-label); audio plays ``t`` and video ``i``, their two backbone levels
  from the ``pom-levels`` sequence store (:mod:`bench.features.sequence_levels`); standard split.
* ``mosi-ta2``, ``mosi-ta3`` (the stand-ins for HARM_C 2- and 3-class): CMU-MOSI utterances,
  sentiment >= 0 or its training tertiles; text plays ``t`` and audio ``i``, levels from
  ``mosi-levels``; standard split 1,284/229/686.
* ``landuse21-h2`` (the stand-in for HARM_P 2-class, LandUse-21 standing in for 3-class):
  LandUse-21 with its classes merged in two, as HARM_P's 2-class merges its two harmful
  classes: label 1 for the "harmful" lower classes (below n_classes // 2, the ones the
  inconsistency protocol marks), 0 for the rest (10 and 11 of the 21 classes).
* ``<dataset>@inc<r>``: modality-label inconsistency injected at rate r. Multi-view stores,
  HARM-style (``harm`` mode): in every split, round(r x N) samples of the "harmful" lower classes (labels below
  n_classes // 2, e.g. 10 of LandUse-21's 21) get the ``i`` features (both levels: they come from one raw input) of
  a uniformly drawn sample of the other half; labels are unchanged. When the eligible set is
  smaller than round(r x N) the injection is capped and the effective rate is recorded.
  ``pom-ml17``, MM-IMDB-style (``imdb`` mode): round(r x N) samples get the video features of a
  uniformly drawn sample that shares at least one label with them but not all (so the pair is
  inconsistent; samples with no such donor are not eligible).
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
#: sequence sets: the derived store they read, its label, and the modalities that play t and i
SEQUENCE = {"pom-ml17": ("pom-levels", "ml17", ("audio", "video")),
            "mosi-ta2": ("mosi-levels", "ta2", ("text", "audio")),
            "mosi-ta3": ("mosi-levels", "ta3", ("text", "audio"))}
#: two-class stand-ins: the multi-view store whose classes they merge (lower half = 1)
COARSE = {"landuse21-h2": "landuse21"}
#: datasets with their inconsistency-rate variants
INC_BASES = ("landuse21", "pom-ml17")
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
    if base not in VIEWS and base not in SEQUENCE and base not in COARSE:
        raise UnknownDatasetError(dataset, datasets(), "for benchmark 'hfmnas'")
    if not at:
        return base, 0.0
    if base not in INC_BASES:
        raise UnknownDatasetError(dataset, datasets(), f"for benchmark 'hfmnas' (inconsistency is injected into "
                                  f"{' and '.join(INC_BASES)} only)")
    try:
        r = float(rate)
    except ValueError:
        r = -1.0
    if not 0.0 < r <= 0.9 or abs(r * 10 - round(r * 10)) > 1e-9 or f"{r:g}" != rate:
        raise UnknownDatasetError(dataset, datasets(), "for benchmark 'hfmnas' (an inconsistency rate after '@inc' "
                                  "is a tenth in 0.1..0.9, written like 0.3)")
    return base, r


def datasets() -> list[str]:
    return [*VIEWS, *SEQUENCE, *COARSE, *(f"{b}@inc{r:g}" for b in INC_BASES for r in INC_RATES[1:])]


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


def inject_shared_label(x_i: dict[str, np.ndarray], y: np.ndarray, rate: float, seed: int
                        ) -> tuple[dict[str, np.ndarray], float, np.ndarray]:
    """MM-IMDB-style inconsistency on multi-label ``y`` [n, L]: ``(new i features, effective
    rate, replaced rows)``; a donor shares at least one label with the sample and differs in another."""
    n = len(y)
    yb = y.astype(bool)
    shared = (yb.astype(np.int64) @ yb.T.astype(np.int64)) > 0
    same = (yb[:, None, :] == yb[None, :, :]).all(-1)
    ok = shared & ~same
    eligible = np.flatnonzero(ok.any(1))
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(eligible, size=min(int(round(rate * n)), len(eligible)), replace=False))
    source = np.array([rng.choice(np.flatnonzero(ok[c])) for c in chosen], dtype=np.int64)
    out = {k: v.copy() for k, v in x_i.items()}
    for k in out:
        out[k][chosen] = x_i[k][source]
    return out, len(chosen) / n, chosen


def _seed(base: str, part: str, rate: float) -> int:
    return int.from_bytes(hashlib.sha256(f"{base}|{part}|{rate:g}".encode()).digest()[:4], "little")


def _load_sequence(dataset: str, base: str, rate: float) -> HFData:
    from bench.features import sequence

    store_name, label, (t, i) = SEQUENCE[base]
    st = sequence.open(store_name)
    names = {"tl": f"{t}@1", "th": f"{t}@2", "il": f"{i}@1", "ih": f"{i}@2"}
    x, y, effective = {}, {}, {}
    for part in PARTS:
        p = st.part("standard", part, list(names.values()), standardize=False)
        feats = {k: p.x[v][:, 0, :].astype(np.float32) for k, v in names.items()}
        labels = p.labels[label].astype(np.int64)
        if rate:
            new_i, effective[part], _ = inject_shared_label({k: feats[k] for k in ("il", "ih")}, labels, rate,
                                                            _seed(base, part, rate))
            feats.update(new_i)
        x[part], y[part] = feats, labels
    digest = hashlib.sha256(json.dumps([st.content_sha256, names, label, rate]).encode()).hexdigest()
    prov = {"store": store_name, "views": names, "labels": label, "split": "standard", "inconsistency_rate": rate,
            "effective_rate": effective, "mode": "imdb" if rate else None}
    if y["train"].ndim == 2:
        return HFData(dataset, "multilabel", x, y, int(y["train"].shape[1]), digest, prov)
    return HFData(dataset, "multiclass", x, y, int(max(v.max() for v in y.values())) + 1, digest, prov)


def load(dataset: str) -> HFData:
    """The four features of a dataset (with inconsistency injected where named)."""
    from bench.features import store as fstore

    base, rate = parse(dataset)
    if base in SEQUENCE:
        return _load_sequence(dataset, base, rate)
    import h5py

    store = COARSE.get(base, base)
    st = fstore.open(store, with_backbone=True)  # verifies both files' checksums
    with h5py.File(fstore.stores_dir() / f"{store}.backbone.h5", "r") as f:
        backbone_sha256 = str(f.attrs["content_sha256"])
    t, i = VIEWS[store]
    names = {"tl": f"{t}@1", "th": f"{t}@2", "il": f"{i}@1", "ih": f"{i}@2"}
    x, y, effective = {}, {}, {}
    for part in PARTS:
        views, labels = st.arrays("holdout", part, list(names.values()))
        feats = {k: views[v].astype(np.float32) for k, v in names.items()}
        if rate:
            new_i, effective[part], _ = inject({k: feats[k] for k in ("il", "ih")}, labels, st.n_classes, rate,
                                               _seed(base, part, rate))
            feats.update(new_i)
        if base in COARSE:
            labels = labels < st.n_classes // 2
        x[part], y[part] = feats, labels.astype(np.int64)
    key = [st.content_sha256, backbone_sha256, names, rate] + (["harmful-vs-rest"] if base in COARSE else [])
    digest = hashlib.sha256(json.dumps(key).encode()).hexdigest()
    prov = {"store": store, "views": names, "split": "holdout", "inconsistency_rate": rate,
            "effective_rate": effective, "mode": "harm" if rate else None}
    if base in COARSE:
        prov["labels"] = f"harmful-vs-rest: 1 for classes 0..{st.n_classes // 2 - 1} of {st.n_classes}"
    return HFData(dataset, "multiclass", x, y, 2 if base in COARSE else st.n_classes, digest, prov)
