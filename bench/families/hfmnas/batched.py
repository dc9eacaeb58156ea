"""Train the seeds of one HF-MNAS architecture at once (:mod:`bench.core.stacked`): the network,
optimiser, cosine schedule and per-model early stopping of
:func:`bench.families.hfmnas.trainer.train`, not bit-identical to it, so batched results are
keyed apart (:attr:`Recipe.batched` is part of the recipe key) and the shipped tables are
trained one by one. Each model's kept epoch is scored by the one-model code.

The Bi-LSTM classifier has no batching rule in ``torch.func`` (``aten::lstm``): architectures
with ``cm=bilstm`` train their seeds one by one, and their records say so (``timing``).
"""

from __future__ import annotations

import time

import numpy as np
import torch

from bench.core.stacked import ModelStack, StackedBestEpoch
from bench.core.store_trainer import TrainResult
from bench.core.torchutil import pinned_numerics, resolve_device
from bench.families.hfmnas.data import HFData
from bench.families.hfmnas.model import HFNet
from bench.families.hfmnas.recipe import Recipe
from bench.families.hfmnas.space import HFArch
from bench.families.hfmnas.trainer import _scores, _tensors, result, task_loss, train


@pinned_numerics
def train_seeds(arch: HFArch, data: HFData, seeds: list[int], recipe: Recipe = Recipe(),
                device: str | None = "cpu") -> list[TrainResult]:
    """Train ``arch`` once per seed, all seeds in one stack; one result per seed."""
    if not seeds:
        return []
    if arch.cm == "bilstm":
        return [train(arch, data, s, recipe, device) for s in seeds]
    dev = resolve_device(device)
    stack = ModelStack.seeded(seeds, lambda: HFNet(arch, data.dims, data.n_out, recipe.tokens, recipe.channels,
                                                   recipe.heads, recipe.dropout, recipe.dcca_dim).to(dev))
    used = stack.models[0].used
    opt = torch.optim.AdamW(stack.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, recipe.epochs, eta_min=recipe.lr_min)
    stop = StackedBestEpoch(stack, True, recipe.patience)
    xtr, ytr = _tensors(data, "train", dev)
    xva, yva = _tensors(data, "val", dev)
    yva = yva.cpu().numpy()
    n = len(ytr)

    def loss(model, batch):
        x, y = batch
        logits, corr = model(x)
        value = task_loss(logits, y)
        if corr is not None and recipe.dcca_weight:
            value = value - recipe.dcca_weight * corr / recipe.dcca_dim
        return value

    t0 = time.perf_counter()
    for epoch in range(1, recipe.epochs + 1):
        # end n - 1: a last batch of one row has no covariance
        stack.train_epoch(opt, loss, lambda i: ({k: xtr[k][i] for k in used}, ytr[i]), n, recipe.batch_size, n - 1)
        sched.step()
        logits = stack.predict(lambda model, x: model(x)[0], {k: xva[k] for k in used}).cpu().numpy()
        scores = [_scores(yva, z, data.n_out)["f1m"] if np.isfinite(z).all() else float("nan") for z in logits]
        if stop.update(epoch, scores):
            break
    seconds = (time.perf_counter() - t0) / len(seeds)
    mflops = stack.models[0].mflops(data.dims)  # one architecture: counted once
    return [result(stop.restored(i, f"hfmnas {data.name} batched seed {s}"), data, recipe, stop.value(i),
                   int(stop.epoch[i]), stop.curves[i], seconds, dev, mflops, f"batched/{len(seeds)}")
            for i, s in enumerate(seeds)]
