"""Stand-alone training of one HF-MNAS architecture; seeded, bit-for-bit repeatable on CPU under
the pinned numerics.

The recipe keeps the paper's optimiser settings (``001_6b80f99565a0cbd2.txt`` Sec. V-A: Adam,
network lr 1e-3 annealed to 1e-6 (cosine), weight decay 4e-3, dropout 0.1, 4 heads) with the
weight decay decoupled (AdamW): coupled into Adam's gradient, 4e-3 holds these small networks
on a loss plateau for several epochs (pilot on LandUse-21: training loss 2.35 against 1.92 after
3 epochs for the default architecture). The rest is scaled to the proxies: batch 32 (the paper's
8 leaves DCCA's covariances with fewer rows than dimensions), 15 epochs with early stopping
(patience 5) on validation F1-M, DCCA output 8 with weight 0.1 (the paper gives neither). The kept epoch is the best on validation F1-M; its weights
are restored before testing.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from bench import numerics
from bench.core.best_epoch import BestEpoch
from bench.core.store_trainer import StoreTrainer, TrainResult
from bench.core.clsmetrics import label_scores
from bench.core.torchutil import pinned_numerics, resolve_device
from bench.families.hfmnas.data import HFData
from bench.families.hfmnas.model import HFNet
from bench.families.hfmnas.ops import dcca_correlation
# the recipe lives in a torch-free module (opening an oracle needs its key, not torch)
from bench.families.hfmnas.recipe import Recipe  # noqa: F401 (re-exported)
from bench.families.hfmnas.space import HFArch


def _tensors(data: HFData, part: str, dev) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    cache = data.__dict__.setdefault("_tensors", {})
    if (part, str(dev)) not in cache:
        cache[part, str(dev)] = ({k: torch.as_tensor(v, device=dev) for k, v in data.x[part].items()},
                                 torch.as_tensor(data.y[part], device=dev))
    return cache[part, str(dev)]


def _scores(y: np.ndarray, logits: np.ndarray, n_out: int) -> dict[str, float]:
    """Acc, F1-M, F1-W in % (:func:`bench.core.clsmetrics.label_scores`): a multi-label ``y``
    [n, L] predicts a label where its logit is positive (probability above 0.5), else the argmax."""
    return label_scores(y, logits > 0 if y.ndim == 2 else logits.argmax(1), n_out)


def task_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy on class labels; binary cross-entropy per label on multi-label ``y`` [n, L]."""
    if y.dim() == 2:
        return torch.nn.functional.binary_cross_entropy_with_logits(logits, y.to(logits.dtype))
    return torch.nn.functional.cross_entropy(logits, y)


def _predict(model: HFNet, x: dict[str, torch.Tensor], with_corr: bool = False) -> tuple[np.ndarray, float | None]:
    """Logits on one part and, if asked, the mean top canonical correlation of the two cells' pooled outputs."""
    model.eval()
    with torch.no_grad():
        logits, _ = model({k: x[k] for k in model.used})
        corr = None
        if with_corr and hasattr(model, "imm_inputs"):
            low, high = model.imm_inputs
            corr = float(dcca_correlation(low, high, model.imm.dcca_dim)) / model.imm.dcca_dim
    return logits.cpu().numpy(), corr


@pinned_numerics
def train(arch: HFArch | None, data: HFData, seed: int, recipe: Recipe = Recipe(), device: str | None = "cpu",
          build_model=None) -> TrainResult:
    """Train ``arch`` on ``data`` and evaluate it (Acc, F1-M, F1-W in %; see :func:`_scores`);
    ``build_model()``: a network outside the space instead (:mod:`bench.families.hfmnas.baselines`),
    called after seeding, as an architecture's network is built."""
    dev = resolve_device(device)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = (build_model() if build_model is not None else
             HFNet(arch, data.dims, data.n_out, recipe.tokens, recipe.channels, recipe.heads, recipe.dropout,
                   recipe.dcca_dim)).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, recipe.epochs, eta_min=recipe.lr_min)
    xtr, ytr = _tensors(data, "train", dev)
    xva, yva = _tensors(data, "val", dev)
    n = len(ytr)
    stop = BestEpoch(True, recipe.patience)
    t0 = time.perf_counter()
    for epoch in range(1, recipe.epochs + 1):
        model.train()
        order = torch.randperm(n, generator=gen).to(dev)
        for start in range(0, n - 1, recipe.batch_size):  # a last batch of one row has no covariance
            idx = order[start:start + recipe.batch_size]
            logits, corr = model({k: xtr[k][idx] for k in model.used})
            loss = task_loss(logits, ytr[idx])
            if corr is not None and recipe.dcca_weight:
                loss = loss - recipe.dcca_weight * corr / recipe.dcca_dim
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
        logits, _ = _predict(model, xva)
        # diverged weights give NaN logits, whose argmax would still score: count them as no score
        score = _scores(yva.cpu().numpy(), logits, data.n_out)["f1m"] if np.isfinite(logits).all() else float("nan")
        if stop.update(epoch, score, model):
            break
    seconds = time.perf_counter() - t0
    stop.restore(model, f"hfmnas {data.name} seed {seed}")
    return result(model, data, recipe, stop.value, stop.epoch, stop.curve, seconds, dev)


def result(model: HFNet, data: HFData, recipe: Recipe, val_f1m: float, best_epoch: int, curve: list[float],
           seconds: float, dev, mflops: float | None = None, timing: str = "one-by-one") -> TrainResult:
    """The result of a trained ``model`` whose kept epoch (``best_epoch``, scoring ``val_f1m``) is
    restored: validation and test scores, cell correlation, size (``mflops`` when known)."""
    metrics = {"val_f1m": val_f1m, "best_epoch": float(best_epoch), "epochs_run": float(len(curve))}
    xva, yva = _tensors(data, "val", dev)
    val_logits, _ = _predict(model, xva)
    metrics.update({f"val_{k}": v for k, v in _scores(yva.cpu().numpy(), val_logits, data.n_out).items()})
    xte, yte = _tensors(data, "test", dev)
    test_logits, corr = _predict(model, xte, with_corr=True)
    metrics.update({f"test_{k}": v for k, v in _scores(yte.cpu().numpy(), test_logits, data.n_out).items()})
    metrics.update(test_cell_corr=corr, params=float(model.n_params()),
                   mflops=model.mflops(data.dims) if mflops is None else mflops)
    curve = curve + [float("nan")] * (recipe.epochs - len(curve))
    return TrainResult(metrics, curve, seconds, dev.type, numerics.environment(str(dev)), data.content_sha256, timing)


class HFTrainer(StoreTrainer):
    """The :class:`bench.core.trainer.Trainer` of the HF-MNAS family (one recipe)."""

    benchmark = "hfmnas"

    def store(self, dataset: str) -> HFData:
        if dataset not in self._stores:
            from bench.families.hfmnas.data import load

            self._stores[dataset] = load(dataset)
        return self._stores[dataset]

    def space(self, dataset: str):
        if "_space" not in self.__dict__:  # one core slice for every dataset (fills ask per batch)
            from bench.families.hfmnas.space import HFSpace

            self._space = HFSpace(core=True)
        return self._space

    def table_path(self, dataset: str):
        from bench.families.hfmnas import table_file
        from bench.paths import tables_dir

        return tables_dir() / table_file(dataset)

    def train_one(self, dataset: str, arch, seed: int) -> dict:
        return train(arch, self.store(dataset), seed, self.recipe, self.device).record()

    def train_seeds(self, dataset: str, arch, seeds: list[int]) -> list[dict]:
        from bench.families.hfmnas.batched import train_seeds

        return [r.record() for r in train_seeds(arch, self.store(dataset), seeds, self.recipe, self.device)]
