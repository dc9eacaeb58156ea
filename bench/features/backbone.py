"""Multi-level backbone features: the analogue of the papers' ``skeleton_1..4``/``video_1..4``.

For each raw view, an MLP ``d -> 64 -> 32 -> classes`` is trained once, seeded, on the
holdout training rows (standardised with their own statistics); its two hidden layers
(after ReLU) for every row become the views ``VIEW@1`` (64-d) and ``VIEW@2`` (32-d), and the
backbone's own holdout test accuracy is recorded. They live in
``data_cache/features/<name>.backbone.h5`` beside the raw store and are merged into it
by :func:`bench.features.open` (``with_backbone=True``). Because the backbones saw the
holdout training rows, use the holdout split with these views; the 5-fold splits would
let test rows leak into backbone training.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from bench.features.store import FeatureStore, write_store
from bench.core.torchutil import pinned_numerics

@dataclass(frozen=True)
class BackboneRecipe:
    hidden: tuple[int, int] = (64, 32)
    epochs: int = 30
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 1e-4
    seed: int = 0


def _mlp(d: int, hidden: tuple[int, int], n_classes: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d, hidden[0]), nn.ReLU(), nn.Linear(hidden[0], hidden[1]), nn.ReLU(),
                         nn.Linear(hidden[1], n_classes))


def fit_backbone(x_all: torch.Tensor, y: torch.Tensor, train_rows, n_out: int, recipe: BackboneRecipe,
                 loss=nn.functional.cross_entropy) -> tuple[nn.Sequential, torch.Tensor, torch.Tensor]:
    """One seeded MLP ``d -> hidden -> n_out`` trained on ``train_rows`` (run it under the pinned
    numerics); ``(net, level-1 hidden, level-2 hidden)`` for every row of ``x_all``, after ReLU."""
    torch.manual_seed(recipe.seed)
    gen = torch.Generator().manual_seed(recipe.seed)
    net = _mlp(x_all.shape[1], recipe.hidden, n_out)
    opt = torch.optim.Adam(net.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    xtr, ytr = x_all[train_rows], y[train_rows]
    for _ in range(recipe.epochs):
        order = torch.randperm(len(xtr), generator=gen)
        for s in range(0, len(xtr), recipe.batch_size):
            idx = order[s:s + recipe.batch_size]
            value = loss(net(xtr[idx]), ytr[idx])
            opt.zero_grad()
            value.backward()
            opt.step()
    with torch.no_grad():
        h1 = net[1](net[0](x_all))
        h2 = net[3](net[2](h1))
    return net, h1, h2


@pinned_numerics
def backbone_views(store: FeatureStore, recipe: BackboneRecipe = BackboneRecipe()) -> tuple[dict[str, np.ndarray], dict]:
    """``({VIEW@k: [n, h_k]}, {VIEW: {"test_acc": ..}})`` for every raw view of ``store``."""
    out, info = {}, {}
    tr, te = store.rows("holdout", "train"), store.rows("holdout", "test")
    y = torch.as_tensor(store.labels)
    for v in store.view_names:
        mean, std = store.scaling["holdout"][v]
        x_all = torch.as_tensor((store.views[v] - mean) / std, dtype=torch.float32)
        net, h1, h2 = fit_backbone(x_all, y, tr, store.n_classes, recipe)
        with torch.no_grad():
            acc = float((net[4](h2)[te].argmax(1) == y[te]).float().mean() * 100)
        out[f"{v}@1"], out[f"{v}@2"] = h1.numpy(), h2.numpy()
        info[v] = {"test_acc": acc, "hidden": list(recipe.hidden)}
    return out, {"backbones": info, "recipe": asdict(recipe)}


def build_backbone(store: FeatureStore, path: Path, recipe: BackboneRecipe = BackboneRecipe()) -> str:
    views, info = backbone_views(store, recipe)
    return write_store(path, store.name, views, store.labels, f"{store.description}; backbone features",
                       {**store.provenance, "backbone": info})


def backbone_info(path: Path) -> dict:
    import h5py

    with h5py.File(path, "r") as f:
        return json.loads(f.attrs["provenance"])["backbone"]
