"""Stand-alone training of one RMNAS architecture under a missing-modality protocol; seeded,
bit-for-bit repeatable on CPU under the pinned numerics.

Protocol (sentence level, :mod:`bench.families.rmnas.missing`): the model is trained and
selected at ``train_rate`` (frames dropped in train, validation and test alike, EMT-DLFR's
procedure) and then evaluated on validation and test at every rate of ``eval_rates``. With
``train_rate`` 0 that is the "trained clean, tested at r" protocol; a dataset ``<store>@r0.5``
trains at 0.5 (the paper's protocol at that rate).

The recipe scales RMNAS's (hidden 448, 6 blocks, 8 heads, AdamW 5e-4, 100 epochs, patience 8,
kernel 7, maxdis 8) to the proxies' size (600-1,300 training sequences): d=32, 2 blocks, 4
heads, AdamW lr 1e-3 (weight decay 0.01), batch 32, at most 30 epochs with patience 8 on the
validation MAE (its best epoch's weights are restored), L1 loss on the fused output plus the
mean L1 loss of the unimodal heads (the paper adds the unimodal losses; their weight is not
given).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from bench import numerics
from bench.core.seqmetrics import regression_metrics, target_of
from bench.core.best_epoch import BestEpoch, TrainingDivergedError  # noqa: F401 (re-exported)
from bench.core.store_trainer import StoreTrainer
from bench.core.torchutil import pinned_numerics, resolve_device
from bench.families.rmnas.missing import RATES, auilc, check_rate, effective_rate, frame_keep
from bench.families.rmnas.model import RMNASNet
# the recipe lives in a torch-free module (opening an oracle needs its key, not torch)
from bench.families.rmnas.recipe import Recipe  # noqa: F401 (re-exported)
from bench.families.rmnas.space import RMArch
from bench.features.sequence import SequenceStore


#: per-rate metrics a record keeps (lists over ``eval_rates``), named ``<metric>_by_rate``
BY_RATE = ("val_mae", "test_mae", "test_corr", "test_acc7", "test_acc5", "test_acc3", "test_acc2", "test_f1")


@dataclass
class RMResult:
    metrics: dict[str, float]
    by_rate: dict[str, list[float]]
    val_curve: list[float]
    train_seconds: float
    device: str = "cpu"
    numerics: dict = field(default_factory=dict)
    store_sha256: str = ""
    timing: str = "one-by-one"

    def record(self) -> dict:
        """What a cache stores of this result."""
        return {**self.metrics, **{f"{k}_by_rate": v for k, v in self.by_rate.items()},
                "train_seconds": self.train_seconds, "val_curve": self.val_curve, "device": self.device,
                "numerics": self.numerics, "store_sha256": self.store_sha256, "timing": self.timing}


def _tensors(store: SequenceStore, recipe: Recipe, part: str, rate: float, dev: torch.device):
    """(x, valid, y) of one part with frames dropped at ``rate`` (cached on the store)."""
    cache = store.__dict__.setdefault("_rmnas_tensors", {})
    key = (recipe.split, part, round(rate, 6), str(dev))
    if key not in cache:
        p = store.part(recipe.split, part)
        x = {}
        for i, m in enumerate(store.modalities):
            keep = frame_keep(p.valid[m], rate, i)
            x[m] = torch.as_tensor(p.x[m] * keep[..., None], device=dev)
        y = np.asarray(p.labels[target_of(store)], dtype=np.float32)
        cache[key] = (x, {m: torch.as_tensor(p.valid[m], device=dev) for m in store.modalities},
                      torch.as_tensor(y.reshape(len(y), -1), device=dev))
    return cache[key]


def effective_rates(store: SequenceStore, split: str = "standard", part: str = "test",
                    rates=RATES) -> dict[str, list[float]]:
    """Per modality, the effective missing rate of ``part`` at each rate (native absence and
    padding count as missing: 1 - kept frames / frames of a fully observed sequence)."""
    p = store.part(split, part, standardize=False)
    full = {m: np.ones_like(p.valid[m]) for m in store.modalities}
    return {m: [round(effective_rate(full[m], frame_keep(p.valid[m], r, i)), 6) for r in rates]
            for i, m in enumerate(store.modalities)}


def build_model(arch: RMArch, store: SequenceStore, recipe: Recipe, n_out: int) -> RMNASNet:
    return RMNASNet(store.modalities, arch, store.dims, store.steps, recipe.d, recipe.heads, recipe.blocks,
                    recipe.kernel, recipe.maxdis, recipe.dropout, n_out)


def task_loss(out, uni: dict, y: torch.Tensor, aux_weight: float) -> torch.Tensor:
    """L1 on the fused output plus ``aux_weight`` x the mean L1 of the unimodal heads."""
    loss = torch.nn.functional.l1_loss(out, y)
    if aux_weight:
        loss = loss + aux_weight * sum(torch.nn.functional.l1_loss(u, y) for u in uni.values()) / len(uni)
    return loss


def predict(model, store: SequenceStore, recipe: Recipe, part: str, rate: float, dev, weights=None) -> np.ndarray:
    x, v, _ = _tensors(store, recipe, part, rate, dev)
    with torch.no_grad():
        model.eval()
        return model(x, v, weights)[0].cpu().numpy()


def labels(store: SequenceStore, recipe: Recipe, part: str, dev) -> np.ndarray:
    return _tensors(store, recipe, part, 0.0, dev)[2].cpu().numpy()


def evaluate(model, store: SequenceStore, recipe: Recipe, rates, dev, weights=None) -> dict[str, list[float]]:
    """Validation MAE and test metrics of ``model`` at every rate (the ``*_by_rate`` lists)."""
    out: dict[str, list[float]] = {k: [] for k in BY_RATE}
    yv, yt = labels(store, recipe, "val", dev), labels(store, recipe, "test", dev)
    for r in rates:
        pv = predict(model, store, recipe, "val", r, dev, weights)
        out["val_mae"].append(float(np.abs(pv[:, 0] - yv[:, 0]).mean()))
        t = regression_metrics(predict(model, store, recipe, "test", r, dev, weights), yt)
        for k in BY_RATE[1:]:
            if k[5:] in t:
                out[k].append(t[k[5:]])
    return {k: v for k, v in out.items() if v}


@pinned_numerics
def train(arch: RMArch, store: SequenceStore, seed: int, recipe: Recipe = Recipe(), train_rate: float = 0.0,
          eval_rates=RATES, device: str | None = "cpu") -> RMResult:
    """Train ``arch`` at ``train_rate``, restore its best validation epoch, evaluate at every rate."""
    dev = resolve_device(device)
    train_rate = check_rate(train_rate)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    xtr, vtr, ytr = _tensors(store, recipe, "train", train_rate, dev)
    model = build_model(arch, store, recipe, ytr.shape[1]).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    yv = labels(store, recipe, "val", dev)
    n = len(ytr)
    stop = BestEpoch(False, recipe.patience)
    t0 = time.perf_counter()
    for epoch in range(recipe.epochs):
        model.train()
        order = torch.randperm(n, generator=gen).to(dev)
        for start in range(0, n, recipe.batch_size):
            idx = order[start:start + recipe.batch_size]
            out, uni = model({m: xtr[m][idx] for m in xtr}, {m: vtr[m][idx] for m in vtr})
            loss = task_loss(out, uni, ytr[idx], recipe.aux_weight)
            opt.zero_grad()
            loss.backward()
            opt.step()
        val_mae = float(np.abs(predict(model, store, recipe, "val", train_rate, dev)[:, 0] - yv[:, 0]).mean())
        if stop.update(epoch, val_mae, model):
            break
    seconds = time.perf_counter() - t0
    stop.restore(model, f"{store.name} at rate {train_rate}")
    return result(model, store, recipe, train_rate, eval_rates, stop.value, stop.epoch, stop.curve, seconds, dev)


def result(model: RMNASNet, store: SequenceStore, recipe: Recipe, train_rate: float, eval_rates, best: float,
           best_epoch: int, curve: list[float], seconds: float, dev, timing: str = "one-by-one") -> RMResult:
    """The result of a trained ``model`` whose kept epoch (``best_epoch``, validation MAE ``best``)
    is restored: test metrics at the training rate, every rate's metrics and their AUILC, size."""
    at = regression_metrics(predict(model, store, recipe, "test", train_rate, dev), labels(store, recipe, "test", dev))
    metrics = {f"test_{k}": v for k, v in at.items()}
    metrics["val_mae"] = best
    by_rate = evaluate(model, store, recipe, eval_rates, dev)
    rates = list(eval_rates)
    if rates and rates[0] == 0.0 and rates[-1] == 1.0:
        for k, v in by_rate.items():
            metrics[f"{k.replace('test_', 'test_auilc_').replace('val_', 'val_auilc_')}"] = auilc(rates, v)
    metrics.update(params=float(model.n_params()), mflops=model.flops(store.steps) / 1e6,
                   best_epoch=float(best_epoch + 1), epochs_run=float(len(curve)))
    # the curve is padded to the recipe's epochs so tables hold a rectangular array
    curve = curve + [float("nan")] * (recipe.epochs - len(curve))
    return RMResult(metrics, by_rate, curve, seconds, dev.type, numerics.environment(str(dev)), store.content_sha256,
                    timing)


class RMNASTrainer(StoreTrainer):
    """The :class:`bench.core.trainer.Trainer` of the RMNAS family (one recipe; a dataset names
    its store and training rate)."""

    benchmark = "rmnas"

    def __init__(self, recipe: Recipe = Recipe(), device: str | None = "cpu", stores: dict | None = None):
        super().__init__(recipe, device, stores)

    def store_name(self, dataset: str) -> str:
        from bench.families.rmnas import store_of

        return store_of(dataset)

    def space(self, dataset: str):
        from bench.families.rmnas.space import RMNASSpace

        return RMNASSpace(self.store(dataset).modalities, self.recipe.blocks, tied=True)

    def table_path(self, dataset: str):
        from bench.families.rmnas import table_file
        from bench.paths import tables_dir

        return tables_dir() / table_file(dataset)

    def train_one(self, dataset: str, arch, seed: int) -> dict:
        from bench.families.rmnas import is_dialogue, parse

        if is_dialogue(dataset):
            from bench.families.rmnas.dialogue import train_dialogue

            return train_dialogue(arch, self.store(dataset), seed, self.recipe, parse(dataset)[1], device=self.device)
        return train(arch, self.store(dataset), seed, self.recipe, parse(dataset)[1], device=self.device).record()

    def train_seeds(self, dataset: str, arch, seeds: list[int]) -> list[dict]:
        from bench.families.rmnas import is_dialogue, parse

        if is_dialogue(dataset):  # the dialogue level has no batched path: one by one, and said so
            return [self.train_one(dataset, arch, s) for s in seeds]
        from bench.families.rmnas.batched import train_seeds

        return [r.record() for r in train_seeds(arch, self.store(dataset), seeds, self.recipe, parse(dataset)[1],
                                                device=self.device)]
