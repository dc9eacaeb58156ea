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

from dataclasses import asdict

import numpy as np
import torch
from torch import nn

from bench.core.torchutil import pinned_numerics
from bench.features.backbone import BackboneRecipe, fit_backbone
from bench.features.sequence import SequenceStore, assemble

#: derived store -> its source store
DERIVED = {"pom-levels": "pom", "mosi-levels": "mosi"}


#: the multi-view backbones' recipe with more, smaller steps (the sequence sets have 600-1,300 training rows)
LEVELS_RECIPE = BackboneRecipe(epochs=60, batch_size=64)


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


def bag_of_tokens(ids: np.ndarray, vocab_size: int) -> np.ndarray:
    """[n, vocab - 1] term frequencies of the token ids of each row (id 0, padding, left out)."""
    out = np.zeros((len(ids), vocab_size), dtype=np.float32)
    rows = np.repeat(np.arange(len(ids)), ids.shape[1])
    np.add.at(out, (rows, ids.ravel()), 1.0)
    out = out[:, 1:]
    return out / np.maximum(out.sum(1, keepdims=True), 1.0)


@pinned_numerics
def level_features(store: SequenceStore, labels: np.ndarray, recipe: BackboneRecipe = LEVELS_RECIPE,
                   split: str = "standard", feats: dict[str, np.ndarray] | None = None
                   ) -> tuple[dict[str, np.ndarray], dict]:
    """``({<m>@1: [n, 64], <m>@2: [n, 32]}, info)``: the backbones' hidden layers for every row.
    ``labels`` [n, L] 0/1 train a multi-label backbone (binary cross-entropy), [n] class ids a
    multi-class one (cross-entropy); ``feats``: the input per modality (default :func:`summaries`)."""
    from bench.core.clsmetrics import f1_scores, multilabel_f1_scores

    tr, te = store.rows(split, "train"), store.rows(split, "test")
    multilabel = labels.ndim == 2
    y = torch.as_tensor(labels, dtype=torch.float32 if multilabel else torch.int64)
    n_out = labels.shape[1] if multilabel else int(labels.max()) + 1
    out, info = {}, {}
    for m, f in (feats if feats is not None else summaries(store, split)).items():
        x = torch.as_tensor(f)
        net, h1, h2 = fit_backbone(x, y, torch.as_tensor(tr), n_out, recipe,
                                   nn.functional.binary_cross_entropy_with_logits if multilabel
                                   else nn.functional.cross_entropy)
        with torch.no_grad():
            logits = net[4](h2)[te]
        f1m = (multilabel_f1_scores(labels[te].astype(bool), (logits > 0).numpy())[0] if multilabel
               else f1_scores(labels[te], logits.argmax(1).numpy(), n_out)[0])
        out[f"{m}@1"], out[f"{m}@2"] = h1.numpy(), h2.numpy()
        info[m] = {"test_f1m": round(100 * f1m, 4), "in_dim": int(x.shape[1]), "hidden": list(recipe.hidden)}
    return out, {"backbones": info, "recipe": asdict(recipe)}


def _pom_labels(source: SequenceStore, train: np.ndarray, split: str):
    """POM: ``ml17`` (each trait above its training median) trains the backbones."""
    ml17, med = above_median(source.arrays["labels/traits"], train)
    info = {"ml17": {"kind": "multilabel", "n_labels": int(ml17.shape[1]),
                     "rule": f"trait > its median over the {split}/train rows",
                     "medians": [round(float(x), 6) for x in med]},
            "traits": source.meta.get("label_info", {}).get("traits", "the source store's traits")}
    return ml17, {"ml17": ml17, "traits": source.arrays["labels/traits"]}, info, summaries(source, split)


def _mosi_labels(source: SequenceStore, train: np.ndarray, split: str):
    """MOSI: ``ta3`` (sentiment below, between, above its training tertiles) trains the backbones;
    ``ta2`` is the source's binary label (sentiment >= 0). Text input: the mean and std of the
    VADER token features and the tokens' term frequencies over the training vocabulary."""
    sent = source.arrays["labels/sentiment"]
    cuts = np.quantile(sent[train], [1 / 3, 2 / 3])
    ta3 = np.digitize(sent, cuts, right=True).astype(np.int64)
    ta2 = source.arrays["labels/binary"].astype(np.int64)
    feats = summaries(source, split)
    vocab = len(source.arrays["aux/text_vocab"])
    feats["text"] = np.concatenate([feats["text"], bag_of_tokens(source.arrays["aux/text_token_ids"], vocab)], 1)
    feats["audio"] = feats["audio"][:, : source.dims["audio"]]  # one step: its std is 0
    info = {"ta3": {"kind": "multiclass", "n_classes": 3, "rule": f"sentiment <= {cuts[0]:.4f} (tertile of the "
                    f"{split}/train rows), <= {cuts[1]:.4f}, above"},
            "ta2": {"kind": "multiclass", "n_classes": 2, "rule": "the source's binary label (sentiment >= 0)"},
            "sentiment": "CMU-MOSI sentiment -3..3"}
    return ta3, {"ta3": ta3, "ta2": ta2, "sentiment": sent}, info, feats


#: source store -> its labels and backbone inputs ``(target, labels, label info, inputs per modality)``
TARGETS = {"pom": _pom_labels, "mosi": _mosi_labels}


def levels_store(source: SequenceStore, name: str = "pom-levels", recipe: BackboneRecipe = LEVELS_RECIPE
                 ) -> SequenceStore:
    """The derived store of ``source`` (see the module doc)."""
    from bench.builders.common import provenance
    from bench.numerics import cpu_vendor

    split = "standard"
    train = source.rows(split, "train")
    if source.name not in TARGETS:
        raise ValueError(f"no levels store is derived from {source.name!r}; sources: {', '.join(TARGETS)}")
    target, labels, label_info, inputs = TARGETS[source.name](source, train, split)
    feats, info = level_features(source, target, recipe, split, inputs)
    modalities = {k: v[:, None, :] for k, v in feats.items()}
    valid = {k: np.ones((source.n, 1), dtype=bool) for k in feats}
    splits = {split: {p: source.rows(split, p) for p in source.splits[split]}}
    arrays = assemble(modalities, valid, labels, splits, missing=np.zeros((source.n, len(feats)), dtype=bool))
    meta = {"modalities": list(feats), "label_info": label_info, "ground_truth": None}
    prov = {**provenance({f"{source.name}.h5 (content)": source.content_sha256}, f"mmnas-bench sequence build {name}",
                         "two-level backbone features (bench.features.sequence_levels), one step per modality"),
            "levels": info, "cpu_vendor": cpu_vendor(),
            "source_native_missing_rate": source.native_missing_rate(split, "train")}
    return SequenceStore.from_arrays(name, f"{source.description}; two-level backbone features and "
                                     f"{', '.join(k for k in labels if k not in ('traits', 'sentiment'))} labels",
                                     arrays, meta, prov)
