"""Train the seeds of one path architecture at once: the models' weights stacked along a model
axis and one training step run for all of them by ``torch.func.vmap``.

Each model starts from the weights :func:`bench.families.mro.trainer.train` gives it (built
under its own seed), shuffles with its own generator, has its own dropout masks, loss,
Adam state and best-validation epoch. The stacked kernels reduce in another order than one
model's and the dropout masks come from one shared stream, so a batched model is the same
network trained by the same recipe but not bit-identical to its one-by-one twin; batched
results are therefore keyed apart (:attr:`Recipe.batched` is part of the recipe key) and the
shipped tables are trained one by one. Batching pays where per-call overhead dominates (a
GPU); on one CPU thread these small models are compute-bound and it gains little
(``benchmarks/mro_batched.py`` prints the ratio).
"""

from __future__ import annotations

import copy
import time

import numpy as np
import torch
from torch.func import functional_call, stack_module_state, vmap

from bench import numerics
from bench.core.seqmetrics import regression_metrics
from bench.core.torchutil import pinned_numerics, resolve_device
from bench.families.mro.model import CrossModalNet, PathLayer
from bench.families.mro.trainer import MROResult, Recipe, _tensors
from bench.features.sequence import SequenceStore


@pinned_numerics
def train_seeds(arch: tuple[int, ...], store: SequenceStore, seeds: list[int], recipe: Recipe = Recipe(),
                device: str | None = "cpu") -> list[MROResult]:
    """Train ``arch`` once per seed, all seeds in one stacked model; one result per seed."""
    if not seeds:
        return []
    dev = resolve_device(device)
    mods = store.modalities
    xtr, vtr, ytr = _tensors(store, recipe, "train", mods, dev)
    models = []
    for s in seeds:
        torch.manual_seed(s)
        models.append(CrossModalNet(mods, tuple(arch), store.dims, recipe.d, recipe.heads, recipe.dropout,
                                    ytr.shape[1]).to(dev))
    one, used, B = models[0], models[0].used, len(seeds)
    params, buffers = stack_module_state(models)
    base = copy.deepcopy(one).to("meta")
    for layer in base.modules():
        if isinstance(layer, PathLayer):
            layer.explicit = True

    def loss(p, b, x, v, y):
        return torch.nn.functional.l1_loss(functional_call(base, (p, b), (x, v)), y)

    def predict(p, b, x, v):
        return functional_call(base, (p, b), (x, v))

    step = vmap(loss, randomness="different")
    opt = torch.optim.Adam(list(params.values()), lr=recipe.lr)
    gens = [torch.Generator().manual_seed(s) for s in seeds]
    torch.manual_seed(seeds[0])  # the shared dropout stream
    n = len(ytr)
    curves: list[list[float]] = [[] for _ in seeds]
    best = np.full(B, np.inf)
    best_params = {k: v.detach().clone() for k, v in params.items()}
    xva, vva, yva = _tensors(store, recipe, "val", mods, dev)
    t0 = time.perf_counter()
    for _ in range(recipe.epochs):
        base.train()
        order = torch.stack([torch.randperm(n, generator=g) for g in gens]).to(dev)
        for start in range(0, n, recipe.batch_size):
            idx = order[:, start:start + recipe.batch_size]
            losses = step(params, buffers, {m: xtr[m][idx] for m in used}, {m: vtr[m][idx] for m in used}, ytr[idx])
            opt.zero_grad()
            losses.sum().backward()  # each model's gradient is that of its own loss
            opt.step()
        val = _evaluate(base, predict, params, buffers, xva, vva, used)
        mae = np.abs(val - yva.cpu().numpy()[None]).mean(axis=(1, 2))
        better = mae < best
        for i in range(B):
            curves[i].append(float(mae[i]))
        if better.any():
            rows = torch.as_tensor(better, device=dev)
            for k, v in params.items():
                best_params[k][rows] = v.detach()[rows]
            best = np.where(better, mae, best)
    seconds = (time.perf_counter() - t0) / B
    if not np.isfinite(best).all():
        from bench.core.best_epoch import TrainingDivergedError

        bad = [s for s, v in zip(seeds, best) if not np.isfinite(v)]
        raise TrainingDivergedError(f"mro batched seeds {bad}: no epoch gave a finite validation MAE (training diverged)")
    xte, vte, yte = _tensors(store, recipe, "test", mods, dev)
    test = _evaluate(base, predict, best_params, buffers, xte, vte, used)
    env, y = numerics.environment(str(dev)), yte.cpu().numpy()
    results = []
    for i in range(B):
        metrics = {f"test_{k}": v for k, v in regression_metrics(test[i], y).items()}
        metrics.update(val_mae=float(best[i]), params=float(one.n_params()), mflops=one.flops(store.steps) / 1e6,
                       n_paths=float(sum(1 for d in arch if d)))
        results.append(MROResult(metrics, curves[i], seconds, dev.type, env, store.content_sha256, f"batched/{B}"))
    return results


def _evaluate(base, predict, params, buffers, x, v, used) -> np.ndarray:
    """Predictions of every stacked model on one part: [model, sample, output]."""
    base.eval()
    with torch.no_grad():
        out = vmap(predict, in_dims=(0, 0, None, None))(params, buffers, {m: x[m] for m in used},
                                                        {m: v[m] for m in used})
    return out.cpu().numpy()
