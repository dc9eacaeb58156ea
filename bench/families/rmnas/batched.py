"""Train the seeds of one RMNAS architecture at once (:mod:`bench.core.stacked`): the network,
optimiser and per-model early stopping of :func:`bench.families.rmnas.trainer.train` at the same
training rate, not bit-identical to it, so batched results are keyed apart
(:attr:`Recipe.batched` is part of the recipe key) and the shipped tables are trained one by one.
Each model's kept epoch is evaluated at every missing rate by the one-model code.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from bench.core.stacked import ModelStack, StackedBestEpoch
from bench.core.torchutil import pinned_numerics, resolve_device
from bench.families.rmnas.missing import RATES, check_rate
from bench.families.rmnas.recipe import Recipe
from bench.families.rmnas.space import RMArch
from bench.families.rmnas.trainer import RMResult, _tensors, build_model, labels, result, task_loss
from bench.features.sequence import SequenceStore


@pinned_numerics
def train_seeds(arch: RMArch, store: SequenceStore, seeds: list[int], recipe: Recipe = Recipe(),
                train_rate: float = 0.0, eval_rates=RATES, device: str | None = "cpu") -> list[RMResult]:
    """Train ``arch`` at ``train_rate`` once per seed, all seeds in one stack; one result per seed."""
    if not seeds:
        return []
    dev = resolve_device(device)
    train_rate = check_rate(train_rate)
    xtr, vtr, ytr = _tensors(store, recipe, "train", train_rate, dev)
    stack = ModelStack.seeded(seeds, lambda: build_model(arch, store, recipe, ytr.shape[1]).to(dev))
    opt = torch.optim.AdamW(stack.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    stop = StackedBestEpoch(stack, False, recipe.patience)
    xva, vva, _ = _tensors(store, recipe, "val", train_rate, dev)
    yva = labels(store, recipe, "val", dev)[:, 0]

    def loss(model, batch):
        x, v, y = batch
        out, uni = model(x, v)
        return task_loss(out, uni, y, recipe.aux_weight)

    t0 = time.perf_counter()
    for epoch in range(recipe.epochs):
        stack.train_epoch(opt, loss, lambda i: ({m: xtr[m][i] for m in xtr}, {m: vtr[m][i] for m in vtr}, ytr[i]),
                          len(ytr), recipe.batch_size)
        val = stack.predict(lambda model, xv: model(*xv)[0], (xva, vva)).cpu().numpy()
        if stop.update(epoch, np.abs(val[:, :, 0] - yva[None]).mean(axis=1)):
            break
    seconds = (time.perf_counter() - t0) / len(seeds)
    return [result(stop.restored(i, f"{store.name} at rate {train_rate}, batched seed {s}"), store, recipe,
                   train_rate, eval_rates, stop.value(i), int(stop.epoch[i]), stop.curves[i], seconds, dev,
                   f"batched/{len(seeds)}")
            for i, s in enumerate(seeds)]
