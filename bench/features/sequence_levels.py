"""Two-level backbone features of a sequence store: what HF-MNAS's cells fuse on POM
(``pom-levels``, the data of the ``pom-ml17`` stand-in for MM-IMDB).

HF-MNAS reads each modality at two depths of a pretrained unimodal backbone (low: after its
first block, high: after the last; ``001_6b80f99565a0cbd2.txt`` Eq. 6-9). The multi-view stores
get theirs from :mod:`bench.features.backbone`; this module does the same for a sequence store:

* labels ``ml17``: each of POM's 17 traits above its median over the standard split's
  training rows (multi-label with co-occurring labels, as MM-IMDB's genres; 39-50% positive);
* per modality, a summary vector of the standardised sequence (mean and standard deviation over
  the valid steps; zeros where the modality is natively missing, 54% of POM's video rows);
* per modality, an MLP ``2d -> 64 -> 32 -> 17`` trained once, seeded, with a multi-label
  (binary cross-entropy) loss on the training rows only; its two hidden layers (after ReLU) for
  every row are the modalities ``<m>@1`` (64-d) and ``<m>@2`` (32-d), one step each.

The result is a sequence store (steps of length 1) written beside its source and recorded in
``sequence/MANIFEST``, so it is verified like any shipped store; the backbones' own test macro
F1 is in its provenance. Built from the shipped ``pom.h5``, not from ``../shared``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from bench.core.torchutil import pinned_numerics
from bench.features.sequence import SequenceStore, assemble

#: derived store -> its source store
DERIVED = {"pom-levels": "pom"}


@dataclass(frozen=True)
class LevelsRecipe:
    hidden: tuple[int, int] = (64, 32)
    epochs: int = 60
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    seed: int = 0


def above_median(values: np.ndarray, train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(labels, medians)``: each column of ``values`` above its median over the ``train`` rows."""
    med = np.median(values[train], axis=0)
    return (values > med).astype(np.int64), med.astype(np.float32)


def summaries(store: SequenceStore, split: str = "standard") -> dict[str, np.ndarray]:
    """Per modality, [n, 2d]: mean and std over the valid steps of the standardised sequence."""
    rows = np.arange(store.n)
    out = {}
    for m in store.modalities:
        x = store.arrays[f"modalities/{m}"].astype(np.float64)
        v = store.arrays[f"valid/{m}"].astype(bool)
        mean, std = store.arrays[f"scaling/{split}/{m}/mean"], store.arrays[f"scaling/{split}/{m}/std"]
        z = np.where(v[..., None], (x - mean) / std, 0.0)
        count = np.maximum(v.sum(1, keepdims=True), 1)
        mu = z.sum(1) / count
        var = (np.where(v[..., None], (z - mu[:, None, :]) ** 2, 0.0)).sum(1) / count
        out[m] = np.concatenate([mu, np.sqrt(var)], 1)[rows].astype(np.float32)
    return out


def _macro_f1(y: np.ndarray, pred: np.ndarray) -> float:
    tp = (pred & y).sum(0)
    denom = pred.sum(0) + y.sum(0)
    return float(np.mean(np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)))


@pinned_numerics
def level_features(store: SequenceStore, labels: np.ndarray, recipe: LevelsRecipe = LevelsRecipe(),
                   split: str = "standard") -> tuple[dict[str, np.ndarray], dict]:
    """``({<m>@1: [n, 64], <m>@2: [n, 32]}, info)``: the backbones' hidden layers for every row."""
    tr, te = store.rows(split, "train"), store.rows(split, "test")
    y = torch.as_tensor(labels, dtype=torch.float32)
    out, info = {}, {}
    for m, feats in summaries(store, split).items():
        x = torch.as_tensor(feats)
        torch.manual_seed(recipe.seed)
        gen = torch.Generator().manual_seed(recipe.seed)
        net = nn.Sequential(nn.Linear(x.shape[1], recipe.hidden[0]), nn.ReLU(),
                            nn.Linear(recipe.hidden[0], recipe.hidden[1]), nn.ReLU(),
                            nn.Linear(recipe.hidden[1], labels.shape[1]))
        opt = torch.optim.Adam(net.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
        for _ in range(recipe.epochs):
            order = torch.randperm(len(tr), generator=gen)
            for s in range(0, len(tr), recipe.batch_size):
                idx = torch.as_tensor(tr)[order[s:s + recipe.batch_size]]
                loss = nn.functional.binary_cross_entropy_with_logits(net(x[idx]), y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
        with torch.no_grad():
            h1 = net[1](net[0](x))
            h2 = net[3](net[2](h1))
            pred = (net[4](h2)[te] > 0).numpy()
        out[f"{m}@1"], out[f"{m}@2"] = h1.numpy(), h2.numpy()
        info[m] = {"test_f1m": round(100 * _macro_f1(labels[te].astype(bool), pred), 4),
                   "in_dim": int(x.shape[1]), "hidden": list(recipe.hidden)}
    return out, {"backbones": info, "recipe": asdict(recipe)}


def levels_store(source: SequenceStore, name: str = "pom-levels", recipe: LevelsRecipe = LevelsRecipe()
                 ) -> SequenceStore:
    """The derived store of ``source`` (see the module doc)."""
    from bench.builders.common import provenance
    from bench.numerics import cpu_vendor

    split = "standard"
    train = source.rows(split, "train")
    ml17, med = above_median(source.arrays["labels/traits"], train)
    feats, info = level_features(source, ml17, recipe, split)
    modalities = {k: v[:, None, :] for k, v in feats.items()}
    valid = {k: np.ones((source.n, 1), dtype=bool) for k in feats}
    splits = {split: {p: source.rows(split, p) for p in source.splits[split]}}
    arrays = assemble(modalities, valid, {"ml17": ml17, "traits": source.arrays["labels/traits"]}, splits,
                      missing=np.zeros((source.n, len(feats)), dtype=bool))
    label_info = {"ml17": {"kind": "multilabel", "n_labels": int(ml17.shape[1]),
                           "rule": f"trait > its median over the {split}/train rows",
                           "medians": [round(float(x), 6) for x in med]},
                  "traits": source.meta.get("label_info", {}).get("traits", "the source store's traits")}
    meta = {"modalities": list(feats), "label_info": label_info, "ground_truth": None}
    prov = {**provenance({f"{source.name}.h5 (content)": source.content_sha256}, f"mmnas-bench sequence build {name}",
                         "two-level backbone features (bench.features.sequence_levels), one step per modality"),
            "levels": info, "cpu_vendor": cpu_vendor(),
            "source_native_missing_rate": source.native_missing_rate(split, "train")}
    return SequenceStore.from_arrays(name, f"{source.description}; two-level backbone features and ml17 labels",
                                     arrays, meta, prov)
