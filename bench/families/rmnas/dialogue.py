"""RMNAS's dialogue-level protocol (``003_ca6407ec0d2ea38c.txt``, Tables 3 and 6; GCNet's
view-level missing) on a sequence store with video and utterance-position groups (CMU-MOSI).

* A sample is a video: its utterances in order are the tokens of every modality. An
  utterance's vector of a modality is the mean of its valid standardised steps (MOSI audio has
  one step; text the mean of its token features).
* The network is the sentence-level one (:class:`~bench.families.rmnas.model.RMNASNet`) with
  ``per_token=True``: mixers over utterances, the fusion steps applied per utterance, a
  prediction per utterance; the L1 loss over valid utterances, plus the unimodal heads'.
* Missing views (:func:`~bench.families.rmnas.missing.view_presence`): every utterance keeps at
  least one modality and 1 - r of the (utterance, modality) entries are present; an absent
  entry is zeroed. Training masks are redrawn every batch from a generator seeded by the
  training seed; evaluation masks are fixed per (rate, part) - GCNet redraws them at test too,
  which would make tables irreproducible. A separate model is trained per rate.
* Selection: the epoch with the best validation WAF at the training rate (GCNet's); WAF =
  weighted F1 (%) of pred > 0 against label > 0 over utterances with a non-zero label.
* Batches of :data:`BATCH_VIDEOS` videos (52 training videos: 13 steps per epoch).
"""

from __future__ import annotations

import time

import numpy as np
import torch

from bench import numerics
from bench.core.seqmetrics import weighted_f1
from bench.core.torchutil import pinned_numerics, resolve_device
from bench.families.rmnas.missing import check_rate, view_presence
from bench.errors import BenchError
from bench.features.sequence import SequenceStore

BATCH_VIDEOS = 4


class DeviceError(BenchError, ValueError):
    """A device the dialogue protocol cannot train on."""
#: the rates of the dialogue tables: two views allow at most half of the entries to be missing
RATES_2VIEWS: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)


def dialogue_part(store: SequenceStore, split: str, part: str) -> dict:
    """{"x": {m: [V, L, d]}, "valid": [V, L] bool, "y": [V, L]} of one part (left-aligned)."""
    p = store.part(split, part)
    pos = {r: i for i, r in enumerate(p.rows)}
    videos = store.dialogues(split, part)
    n, length = len(videos), max(len(v) for v in videos)
    x = {m: np.zeros((n, length, store.dims[m]), dtype=np.float32) for m in store.modalities}
    valid = np.zeros((n, length), dtype=bool)
    y = np.zeros((n, length), dtype=np.float32)
    label = p.labels["sentiment"]
    for i, rows in enumerate(videos):
        idx = [pos[r] for r in rows]
        valid[i, :len(idx)] = True
        y[i, :len(idx)] = label[idx]
        for m in store.modalities:
            v = p.valid[m][idx].astype(np.float32)
            s = (p.x[m][idx] * v[..., None]).sum(1) / np.maximum(v.sum(1, keepdims=True), 1.0)
            x[m][i, :len(idx)] = s
    return {"x": x, "valid": valid, "y": y}


def apply_presence(x: dict, valid: np.ndarray, rate: float, rng: np.random.Generator, modalities: list[str]) -> dict:
    """``x`` with absent (utterance, modality) entries zeroed at ``rate``."""
    rows = np.flatnonzero(valid.ravel())
    pres = view_presence(len(rows), len(modalities), rate, rng)
    out = {}
    for j, m in enumerate(modalities):
        keep = np.ones(valid.size, dtype=np.float32)
        keep[rows] = pres[:, j]
        out[m] = x[m] * keep.reshape(valid.shape)[..., None]
    return out


def waf(pred: np.ndarray, y: np.ndarray) -> float:
    nz = y != 0
    return weighted_f1(pred[nz] > 0, y[nz] > 0) if nz.any() else float("nan")


def _eval_inputs(store, split, part, rate, data):
    cache = store.__dict__.setdefault("_rmnas_dialogue_eval", {})
    key = (split, part, round(rate, 6))
    if key not in cache:
        i = int(round(rate * 10))
        rng = np.random.default_rng([i, {"train": 0, "val": 1, "test": 2}[part]])
        cache[key] = {m: torch.as_tensor(v) for m, v in
                      apply_presence(data["x"], data["valid"], rate, rng, store.modalities).items()}
    return cache[key]


def _data(store, split, part):
    cache = store.__dict__.setdefault("_rmnas_dialogue", {})  # built once per store and part
    if (split, part) not in cache:
        cache[(split, part)] = dialogue_part(store, split, part)
    return cache[(split, part)]


def parts_of(store, split: str) -> list[dict]:
    """The train, val and test dialogue parts of a store (cached on it)."""
    return [_data(store, split, p) for p in ("train", "val", "test")]


def predict(model, store, recipe, part: str, rate: float) -> tuple[np.ndarray, np.ndarray]:
    """(predictions, labels) over the valid utterances of a part at ``rate`` (fixed masks)."""
    data = _data(store, recipe.split, part)
    x = _eval_inputs(store, recipe.split, part, rate, data)
    valid = torch.as_tensor(data["valid"])
    with torch.no_grad():
        model.eval()
        out = model(x, {m: valid for m in store.modalities})[0][..., 0].numpy()
    return out[data["valid"]], data["y"][data["valid"]]


@pinned_numerics
def train_dialogue(arch, store: SequenceStore, seed: int, recipe, train_rate: float = 0.0,
                   eval_rates=RATES_2VIEWS, device: str | None = "cpu") -> dict:
    """Train ``arch`` on dialogues at ``train_rate``; the record (WAF-selected) with per-rate test WAF."""
    from bench.families.rmnas.model import RMNASNet
    from bench.families.rmnas.trainer import BestEpoch, task_loss

    dev = resolve_device(device)
    train_rate = check_rate(train_rate, 0.5 if len(store.modalities) == 2 else 0.7)
    if dev.type != "cpu":
        raise DeviceError(f"the dialogue protocol trains on CPU only (its masks are drawn on the host), not {dev.type}")
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    data = _data(store, recipe.split, "train")
    mods = store.modalities
    # the longest video of any part sets the positional, LST and random-mixer sizes
    longest = max(d["valid"].shape[1] for d in parts_of(store, recipe.split))
    steps = {m: longest for m in mods}
    model = RMNASNet(mods, arch, store.dims, steps, recipe.d, recipe.heads, recipe.blocks, recipe.kernel,
                     recipe.maxdis, recipe.dropout, 1, per_token=True)
    opt = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    n = data["valid"].shape[0]
    stop = BestEpoch(True, recipe.patience)
    t0 = time.perf_counter()
    for epoch in range(recipe.epochs):
        model.train()
        order = torch.randperm(n, generator=gen).numpy()
        for start in range(0, n, BATCH_VIDEOS):
            idx = order[start:start + BATCH_VIDEOS]
            valid = data["valid"][idx]
            x = apply_presence({m: data["x"][m][idx] for m in mods}, valid, train_rate, rng, mods)
            vt = torch.as_tensor(valid)
            out, uni = model({m: torch.as_tensor(v) for m, v in x.items()}, {m: vt for m in mods})
            y = torch.as_tensor(data["y"][idx])[vt].unsqueeze(-1)
            loss = task_loss(out[vt], {m: u[vt] for m, u in uni.items()}, y, recipe.aux_weight)
            opt.zero_grad()
            loss.backward()
            opt.step()
        if stop.update(epoch, waf(*predict(model, store, recipe, "val", train_rate)), model):
            break
    seconds = time.perf_counter() - t0
    stop.restore(model, f"{store.name} dialogues at rate {train_rate}")
    curve, best, best_epoch = stop.curve, stop.value, stop.epoch
    pred, y = predict(model, store, recipe, "test", train_rate)
    nz = y != 0
    rec = {"val_waf": best, "test_waf": waf(pred, y), "test_mae": float(np.abs(pred - y).mean()),
           "test_acc2": float(((pred[nz] > 0) == (y[nz] > 0)).mean() * 100),
           "test_waf_by_rate": [waf(*predict(model, store, recipe, "test", r)) for r in eval_rates],
           "params": float(model.n_params()), "mflops": model.flops(steps) / 1e6,
           "best_epoch": float(best_epoch + 1), "epochs_run": float(len(curve)),
           "val_curve": curve + [float("nan")] * (recipe.epochs - len(curve)),
           "train_seconds": seconds, "device": dev.type, "numerics": numerics.environment(str(dev)),
           "store_sha256": store.content_sha256, "timing": "one-by-one"}
    return rec
