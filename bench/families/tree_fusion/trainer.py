"""One fixed, seeded training recipe for fusion trees; bit-for-bit repeatable on CPU."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from bench import numerics
from bench.core.clsmetrics import f1_scores  # noqa: F401 (re-exported)
from bench.core.torchutil import DeviceUnavailableError, pinned_numerics, resolve_device  # noqa: F401
from bench.errors import BenchError
from bench.features.store import FeatureStore
from bench.families.tree_fusion.space import Tree, leaves
from bench.families.tree_fusion.model import FusionNet
# the recipe lives in a torch-free module (opening an oracle needs its key, not torch)
from bench.families.tree_fusion.recipe import PROTOCOLS, Recipe  # noqa: F401 (re-exported)


#: the training subset of the low-data protocol is fixed by this seed, not by the model's seed
SUBSET_SEED = 0


def training_subset(y: np.ndarray, fraction: float, seed: int = SUBSET_SEED) -> np.ndarray:
    """Positions of a stratified ``fraction`` of rows (at least one per class), sorted."""
    rng = np.random.default_rng(seed)
    keep = []
    for c in np.unique(y):
        rows = np.flatnonzero(y == c)
        keep.append(rng.permutation(rows)[: max(1, int(round(fraction * len(rows))))])
    return np.sort(np.concatenate(keep))


@dataclass
class TrainResult:
    test_acc: float
    val_acc: float
    macro_f1: float
    weighted_f1: float
    params: int
    flops: int
    train_seconds: float
    val_curve: list[float] = field(default_factory=list)
    device: str = "cpu"
    state: dict | None = None  # trained weights (CPU tensors), when asked for
    #: how ``train_seconds`` was measured: 'one-by-one' (this model's own training) or
    #: 'batched/N' (one stacked training of N models, its wall time divided by N)
    timing: str = "one-by-one"
    numerics: dict = field(default_factory=dict)  # bench.numerics.environment() at training time
    store_sha256: str = ""  # content checksum of the feature store it was trained on

    def metrics(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in ("test_acc", "val_acc", "macro_f1", "weighted_f1", "params", "flops",
                                              "train_seconds")}

    def record(self) -> dict:
        """What a cache stores of this result: metrics, validation curve and how it was made."""
        return {**self.metrics(), "val_curve": self.val_curve, "device": self.device, "timing": self.timing,
                "numerics": self.numerics, "store_sha256": self.store_sha256}


def load_parts(store: FeatureStore, recipe: Recipe, views: list[str], dev: torch.device):
    """``(parts, data)``: the (train, eval-during-training, final-eval) part names of the recipe's
    split and, per part, the standardised view tensors and labels (low-data: the fixed subset).

    Tensors are made once per store, split, training fraction, part, view and device and
    reused: a search trains hundreds of models on the same store.
    """
    parts = ("train", "val", "test") if recipe.split == "holdout" else ("train", "test", "test")
    cache = store.__dict__.setdefault("_tensor_cache", {})
    data = {}
    for part in set(parts):
        key = (recipe.split, recipe.train_fraction, part, str(dev))
        if key not in cache:
            cache[key] = ({}, None)
        tensors, labels = cache[key]
        missing = [v for v in views if v not in tensors]
        if missing:
            x, y = store.arrays(recipe.split, part, missing)
            if part == "train" and recipe.train_fraction < 1.0:
                sub = training_subset(y, recipe.train_fraction)
                x, y = {v: a[sub] for v, a in x.items()}, y[sub]
            tensors.update({v: torch.as_tensor(a, dtype=torch.float32, device=dev) for v, a in x.items()})
            if labels is None:
                labels = torch.as_tensor(y, device=dev)
                cache[key] = (tensors, labels)
        data[part] = ({v: tensors[v] for v in views}, labels)
    return parts, data


@pinned_numerics
def train(tree: Tree, store: FeatureStore, seed: int, recipe: Recipe = Recipe(), device: str | None = "cpu",
          init: dict[str, torch.Tensor] | None = None, return_state: bool = False) -> TrainResult:
    """Train the tree's fusion model and evaluate it.

    From scratch, or - with ``init`` - starting from those weights (parameter name to
    tensor, e.g. inherited from a parent, see :mod:`bench.families.tree_fusion.inherit`) and the
    seeded initialisation for every other parameter. ``return_state`` puts the trained
    weights in the result.
    """
    dev = resolve_device(device)
    parts, data = load_parts(store, recipe, sorted(set(leaves(tree))), dev)
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = FusionNet(tree, store.dims, recipe.fusion_dim, store.n_classes)
    if init:
        unknown = sorted(set(init) - set(model.state_dict()))
        if unknown:
            raise BenchError(f"init names parameters that {tree} does not have: {unknown}")
        model.load_state_dict({**model.state_dict(), **init})
    model = model.to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    xtr, ytr = data[parts[0]]
    n = len(ytr)
    curve = []
    t0 = time.perf_counter()
    for _ in range(recipe.epochs):
        model.train()
        order = torch.randperm(n, generator=gen).to(dev)
        for start in range(0, n, recipe.batch_size):
            idx = order[start:start + recipe.batch_size]
            loss = torch.nn.functional.cross_entropy(model({v: x[idx] for v, x in xtr.items()}), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        curve.append(_accuracy(model, *data[parts[1]]))
    seconds = time.perf_counter() - t0
    xte, yte = data[parts[2]]
    with torch.no_grad():
        model.eval()
        pred = model(xte).argmax(dim=1).cpu().numpy()
    y = yte.cpu().numpy()
    macro, weighted = f1_scores(y, pred, store.n_classes)
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()} if return_state else None
    return TrainResult(float((pred == y).mean() * 100), curve[-1], macro * 100, weighted * 100,
                       model.n_params(), model.flops(), seconds, curve, dev.type, state,
                       numerics=numerics.environment(str(dev)), store_sha256=store.content_sha256)


def _accuracy(model: FusionNet, x: dict[str, torch.Tensor], y: torch.Tensor) -> float:
    with torch.no_grad():
        model.eval()
        return float((model(x).argmax(dim=1) == y).float().mean().item() * 100)
