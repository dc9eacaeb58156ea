"""Stand-alone training of one path architecture on a sequence store; seeded, bit-for-bit
repeatable on CPU under the pinned numerics.

The recipe scales MRO's Table 3 (d=256, lr 3e-5, dropout 0.3-0.4, 30-40 epochs on 16k
samples) to the proxies' size (about 600 training samples): d=32, 4 heads, lr 1e-3,
dropout 0.2, batch 32, 20 epochs, L1 loss; the reported epoch is the one with the lowest
validation MAE (its weights are restored before testing).
"""

from __future__ import annotations

import time

import numpy as np
import torch

from bench import numerics
from bench.core.store_trainer import StoreTrainer, TrainResult
from bench.core.seqmetrics import regression_metrics, sentiment_metrics, target_of, trait_metrics  # noqa: F401 (re-exported)
from bench.core.torchutil import pinned_numerics, resolve_device
from bench.families.mro.model import CrossModalNet
# the recipes live in a torch-free module (opening an oracle needs their keys, not torch)
from bench.families.mro.recipe import RECIPES, Recipe, recipe_for  # noqa: F401 (re-exported)
from bench.features.sequence import SequenceStore


#: what :func:`train` returns (the name MRO's callers use)
MROResult = TrainResult


def _tensors(store: SequenceStore, recipe: Recipe, part: str, modalities: list[str], dev: torch.device):
    cache = store.__dict__.setdefault("_mro_tensors", {})  # a search trains many models on one store
    key = (recipe.split, part, tuple(modalities), str(dev))
    if key not in cache:
        p = store.part(recipe.split, part, modalities)
        y = p.labels[target_of(store)]
        cache[key] = ({m: torch.as_tensor(p.x[m], device=dev) for m in modalities},
                      {m: torch.as_tensor(p.valid[m], device=dev) for m in modalities},
                      torch.as_tensor(np.asarray(y, dtype=np.float32).reshape(len(y), -1), device=dev))
    return cache[key]


@pinned_numerics
def train(arch: tuple[int, ...], store: SequenceStore, seed: int, recipe: Recipe = Recipe(),
          device: str | None = "cpu") -> MROResult:
    """Train the sub-network of ``arch`` (path depths over ``store.modalities``) and evaluate it."""
    result = fit(lambda n_out: CrossModalNet(store.modalities, tuple(arch), store.dims, recipe.d, recipe.heads,
                                             recipe.dropout, n_out), store, seed, recipe, device)
    result.metrics["n_paths"] = float(sum(1 for d in arch if d))
    return result


def fit(build, store: SequenceStore, seed: int, recipe: Recipe, device: str | None = "cpu") -> MROResult:
    """Train the model ``build(n_outputs)`` makes (after seeding, so its initial weights follow
    ``seed``) with the recipe, restore its best-validation epoch and evaluate it on test. The
    model takes ``(x, valid)`` dicts of the modalities it lists in ``used`` and has
    ``n_params()`` and ``flops(steps)``."""
    dev = resolve_device(device)
    mods = store.modalities
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    xtr, vtr, ytr = _tensors(store, recipe, "train", mods, dev)
    model = build(ytr.shape[1]).to(dev)
    used = model.used
    opt = torch.optim.Adam(model.parameters(), lr=recipe.lr)
    n = len(ytr)
    curve, best, best_state = [], float("inf"), None
    t0 = time.perf_counter()
    for _ in range(recipe.epochs):
        model.train()
        order = torch.randperm(n, generator=gen).to(dev)
        for start in range(0, n, recipe.batch_size):
            idx = order[start:start + recipe.batch_size]
            out = model({m: xtr[m][idx] for m in used}, {m: vtr[m][idx] for m in used})
            loss = torch.nn.functional.l1_loss(out, ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        val_mae = float(np.abs(_predict(model, store, recipe, "val", dev) - _labels(store, recipe, "val", dev)).mean())
        curve.append(val_mae)
        if val_mae < best:
            best, best_state = val_mae, {k: v.detach().clone() for k, v in model.state_dict().items()}
    seconds = time.perf_counter() - t0
    model.load_state_dict(best_state)
    return MROResult(test_metrics(model, store, recipe, best, dev), curve, seconds, dev.type,
                     numerics.environment(str(dev)), store.content_sha256)


def test_metrics(model, store: SequenceStore, recipe: Recipe, val_mae: float, dev) -> dict[str, float]:
    """The metrics of a trained ``model`` (its kept epoch restored, ``val_mae`` that epoch's)."""
    pred, y = _predict(model, store, recipe, "test", dev), _labels(store, recipe, "test", dev)
    metrics = {f"test_{k}": v for k, v in regression_metrics(pred, y).items()}
    metrics["val_mae"] = val_mae
    metrics["params"] = float(model.n_params())
    metrics["mflops"] = model.flops(store.steps) / 1e6
    return metrics


def _predict(model, store: SequenceStore, recipe: Recipe, part: str, dev) -> np.ndarray:
    x, v, _ = _tensors(store, recipe, part, store.modalities, dev)
    with torch.no_grad():
        model.eval()
        return model({m: x[m] for m in model.used}, {m: v[m] for m in model.used}).cpu().numpy()


def _labels(store: SequenceStore, recipe: Recipe, part: str, dev) -> np.ndarray:
    return _tensors(store, recipe, part, store.modalities, dev)[2].cpu().numpy()


class MROTrainer(StoreTrainer):
    """The :class:`bench.core.trainer.Trainer` of the MRO family (one recipe)."""

    benchmark = "mro"

    def __init__(self, recipe: Recipe = Recipe(), device: str | None = "cpu", stores: dict | None = None):
        super().__init__(recipe, device, stores)

    def space(self, dataset: str):
        from bench.families.mro import max_depth
        from bench.families.mro.space import PathSpace

        return PathSpace(self.store(dataset).modalities, max_depth(dataset))

    def table_path(self, dataset: str):
        from bench.families.mro import table_file
        from bench.paths import tables_dir

        return tables_dir() / table_file(dataset)

    def train_one(self, dataset: str, arch, seed: int) -> dict:
        return train(arch, self.store(dataset), seed, self.recipe, self.device).record()

    def train_seeds(self, dataset: str, arch, seeds: list[int]) -> list[dict]:
        from bench.families.mro.batched import train_seeds

        return [r.record() for r in train_seeds(arch, self.store(dataset), seeds, self.recipe, self.device)]
