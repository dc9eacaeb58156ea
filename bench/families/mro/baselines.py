"""MRO's Table 5 baselines that are not path masks, trained with the same recipe as the masks
(``002_21034c53427ddd7b.txt`` Table 5 names them; their internals are our reading):

* ``concat-mlp``: each modality projected to ``d`` and mean-pooled over its valid steps, the
  K vectors concatenated, then an MLP (one hidden layer of ``d``, ReLU, dropout).
* ``embracenet``: EmbraceNet (Choi and Lee, 2019): a docking layer per modality (projection,
  mean-pool, linear + ReLU to ``d``), then for every one of the ``d`` output dimensions one
  modality is drawn (uniformly over the modalities present in the sample; an absent one -
  no valid step - is never drawn) and its value taken. The draws are seeded at evaluation too,
  so a result is repeatable.

A baseline's cached result is keyed like an architecture's, with the architecture text
``baseline:<name>``, and the same recipe key.
"""

from __future__ import annotations

import torch
from torch import nn

from bench.errors import UnknownChoiceError

NAMES = ("concat-mlp", "embracenet")


def _pool(z: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    keep = valid.unsqueeze(-1).to(z.dtype)
    return (z * keep).sum(1) / keep.sum(1).clamp(min=1)  # an absent modality pools to zeros


class ConcatMLP(nn.Module):
    def __init__(self, modalities: list[str], dims: dict[str, int], d: int, dropout: float, n_out: int):
        super().__init__()
        self.used = list(modalities)
        self.proj = nn.ModuleDict({m: nn.Linear(dims[m], d) for m in self.used})
        self.mlp = nn.Sequential(nn.Linear(len(self.used) * d, d), nn.ReLU(), nn.Dropout(dropout), nn.Linear(d, n_out))
        self.d = d

    def forward(self, x: dict, valid: dict) -> torch.Tensor:
        return self.mlp(torch.cat([_pool(self.proj[m](x[m]), valid[m]) for m in self.used], dim=1))

    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def flops(self, steps: dict[str, int]) -> int:
        """Forward FLOPs per sample (2 x multiply-adds), element-wise work left out."""
        d, k = self.d, len(self.used)
        return (sum(2 * steps[m] * self.proj[m].in_features * d for m in self.used)
                + 2 * k * d * d + 2 * d * self.mlp[-1].out_features)


class EmbraceNet(nn.Module):
    def __init__(self, modalities: list[str], dims: dict[str, int], d: int, dropout: float, n_out: int, seed: int):
        super().__init__()
        self.used = list(modalities)
        self.proj = nn.ModuleDict({m: nn.Linear(dims[m], d) for m in self.used})
        self.dock = nn.ModuleDict({m: nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Dropout(dropout))
                                   for m in self.used})
        self.head = nn.Linear(d, n_out)
        self.d = d
        self.train_gen = torch.Generator().manual_seed(seed)
        self.eval_seed = seed

    def forward(self, x: dict, valid: dict) -> torch.Tensor:
        docked = torch.stack([self.dock[m](_pool(self.proj[m](x[m]), valid[m])) for m in self.used], dim=1)  # [n, K, d]
        present = torch.stack([valid[m].any(1) for m in self.used], dim=1).to(docked.dtype)  # [n, K]
        present[present.sum(1) == 0] = 1.0  # nothing present: draw among all (all pool to zeros)
        probs = present / present.sum(1, keepdim=True)
        # the evaluation draws restart from one seed, so predicting a set twice gives one answer
        gen = self.train_gen if self.training else torch.Generator().manual_seed(self.eval_seed)
        n = docked.shape[0]
        choice = torch.multinomial(probs, self.d, replacement=True, generator=gen)  # [n, d]
        picked = docked.gather(1, choice.unsqueeze(1)).squeeze(1)
        return self.head(picked)

    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def flops(self, steps: dict[str, int]) -> int:
        d = self.d
        return (sum(2 * steps[m] * self.proj[m].in_features * d + 2 * d * d for m in self.used)
                + 2 * d * self.head.out_features)


def arch_text(name: str) -> str:
    """The architecture text a baseline's results are cached under."""
    check(name)
    return f"baseline:{name}"


def check(name: str) -> str:
    if name not in NAMES:
        raise UnknownChoiceError(name, list(NAMES), "(MRO baseline)")
    return name


def train_baseline(name: str, store, seed: int, recipe, device: str | None = "cpu"):
    """Train one baseline on ``store`` with ``recipe`` (:func:`bench.families.mro.trainer.fit`)."""
    from bench.core.torchutil import pinned_numerics
    from bench.families.mro.trainer import fit

    check(name)
    mods = store.modalities

    def build(n_out: int):
        if name == "concat-mlp":
            return ConcatMLP(mods, store.dims, recipe.d, recipe.dropout, n_out)
        return EmbraceNet(mods, store.dims, recipe.d, recipe.dropout, n_out, seed)

    return pinned_numerics(fit)(build, store, seed, recipe, device)


def result(oracle, name: str, seed: int, allow_train: bool = True) -> dict:
    """A baseline's record on an MRO oracle's dataset: from the oracle's overlay, else trained
    (when allowed) and stored there under :func:`arch_text`."""
    from bench.errors import MissingValueError
    from bench.overlay import Overlay

    text = arch_text(name)
    key = Overlay.key(oracle.dataset, text, seed, oracle.recipe.key)
    rec = oracle.overlay.get(key)
    if rec is None:
        if not allow_train:
            raise MissingValueError(f"{oracle.overlay.path} has no {text} seed {seed} on {oracle.dataset}")
        rec = train_baseline(name, oracle.store, seed, oracle.recipe).record()
        oracle.overlay.put(key, oracle.dataset, text, seed, oracle.recipe.key, rec)
    return rec
