"""Train the seeds of one path architecture at once (:mod:`bench.core.stacked`): the same network
and recipe as :func:`bench.families.mro.trainer.train`, not bit-identical to it, so batched
results are keyed apart (:attr:`Recipe.batched` is part of the recipe key) and the shipped
tables are trained one by one. Each model's kept epoch is tested by the one-model code.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from bench import numerics
from bench.core.stacked import ModelStack, StackedBestEpoch
from bench.core.torchutil import pinned_numerics, resolve_device
from bench.families.mro.model import CrossModalNet
from bench.families.mro.trainer import MROResult, Recipe, _tensors, test_metrics
from bench.features.sequence import SequenceStore


@pinned_numerics
def train_seeds(arch: tuple[int, ...], store: SequenceStore, seeds: list[int], recipe: Recipe = Recipe(),
                device: str | None = "cpu") -> list[MROResult]:
    """Train ``arch`` once per seed, all seeds in one stack; one result per seed."""
    if not seeds:
        return []
    dev = resolve_device(device)
    mods = store.modalities
    xtr, vtr, ytr = _tensors(store, recipe, "train", mods, dev)
    stack = ModelStack.seeded(seeds, lambda: CrossModalNet(mods, tuple(arch), store.dims, recipe.d, recipe.heads,
                                                          recipe.dropout, ytr.shape[1]).to(dev))
    used = stack.models[0].used
    stop = StackedBestEpoch(stack, False, recipe.epochs)  # MRO keeps its best epoch without stopping early
    opt = torch.optim.Adam(stack.parameters(), lr=recipe.lr)
    xva, vva, yva = _tensors(store, recipe, "val", mods, dev)
    yva = yva.cpu().numpy()

    def loss(model, batch):
        x, v, y = batch
        return torch.nn.functional.l1_loss(model(x, v), y)

    t0 = time.perf_counter()
    for epoch in range(recipe.epochs):
        stack.train_epoch(opt, loss, lambda i: ({m: xtr[m][i] for m in used}, {m: vtr[m][i] for m in used}, ytr[i]),
                          len(ytr), recipe.batch_size)
        val = stack.predict(lambda model, xv: model(*xv), ({m: xva[m] for m in used}, {m: vva[m] for m in used}))
        stop.update(epoch, np.abs(val.cpu().numpy() - yva[None]).mean(axis=(1, 2)))
    seconds = (time.perf_counter() - t0) / len(seeds)
    env, results = numerics.environment(str(dev)), []
    for i, s in enumerate(seeds):
        model = stop.restored(i, f"mro batched seed {s}")
        metrics = test_metrics(model, store, recipe, stop.value(i), dev)
        metrics["n_paths"] = float(sum(1 for d in arch if d))
        results.append(MROResult(metrics, stop.curves[i], seconds, dev.type, env, store.content_sha256,
                                 f"batched/{len(seeds)}"))
    return results
