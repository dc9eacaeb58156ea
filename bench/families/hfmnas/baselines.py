"""Hand-designed fusion networks that HF-MNAS's Tables III and IV compare with and that are not in
its search space, scaled to the suite's proxies and trained with the family's recipe (optimiser,
epochs, early stopping on validation F1-M), so they differ from the searched models only in the
network. Each result is cached in the oracle's overlay (``baseline:<name>:v<version>``), as
supernet outcomes are.

* ``gmu``, the gated multimodal unit (Arevalo et al., 2017): each modality's high-level feature
  through a tanh layer, a sigmoid gate from both features mixes them, then the family's MLP head.
* ``centralnet`` (Vielzeuf et al., 2018): a unimodal stream per modality over its two levels and a
  central stream that adds, at each level, learned-weight sums of the streams' hidden states to
  its own; the central head classifies. Our reading leaves out the unimodal streams' auxiliary
  losses (the family's trainer optimises one loss).

Two-stream late fusion needs no module: the HF-MNAS cell of one modality's two levels per stream,
no IMM (a member of the core slice, e.g. ``default:lin=tl+th,hin=il+ih,imm=none`` in the runners).
"""

from __future__ import annotations

import torch
from torch import nn

VERSION = 2  # 2: CentralNet without the unused level-0 central weight


class _Head(nn.Module):
    def __init__(self, width: int, n_out: int, dropout: float, hidden: int = 64):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, n_out))

    def forward(self, x):
        return self.net(x)


class _Baseline(nn.Module):
    """What the trainer asks of a network: ``used`` inputs, (logits, None), parameter count, MFLOPs."""

    used: list[str]

    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def mflops(self, dims: dict[str, int]) -> float:
        from torch.utils.flop_counter import FlopCounterMode

        was = self.training
        self.eval()
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            self({k: torch.zeros(2, dims[k]) for k in self.used})
        self.train(was)
        return counter.get_total_flops() / 2 / 1e6


class GMUNet(_Baseline):
    def __init__(self, dims: dict[str, int], n_out: int, width: int, dropout: float):
        super().__init__()
        self.used = ["th", "ih"]
        self.t, self.i = nn.Linear(dims["th"], width), nn.Linear(dims["ih"], width)
        self.gate = nn.Linear(dims["th"] + dims["ih"], width)
        self.head = _Head(width, n_out, dropout)

    def forward(self, x):
        z = torch.sigmoid(self.gate(torch.cat([x["th"], x["ih"]], -1)))
        return self.head(z * torch.tanh(self.t(x["th"])) + (1 - z) * torch.tanh(self.i(x["ih"]))), None


class CentralNetNet(_Baseline):
    def __init__(self, dims: dict[str, int], n_out: int, width: int, dropout: float):
        super().__init__()
        self.used = ["tl", "th", "il", "ih"]
        self.proj = nn.ModuleDict({k: nn.Linear(dims[k], width) for k in self.used})
        self.central = nn.Linear(width, width)
        self.alpha_low = nn.Parameter(torch.ones(2))   # t, i at the low level (no central state yet)
        self.alpha_high = nn.Parameter(torch.ones(3))  # central, t, i at the high level
        self.head = _Head(width, n_out, dropout)

    def forward(self, x):
        h = {k: torch.relu(self.proj[k](x[k])) for k in self.used}
        c = self.alpha_low[0] * h["tl"] + self.alpha_low[1] * h["il"]
        c = (self.alpha_high[0] * torch.relu(self.central(c)) + self.alpha_high[1] * h["th"]
             + self.alpha_high[2] * h["ih"])
        return self.head(c), None


BASELINES = {"gmu": GMUNet, "centralnet": CentralNetNet}


def build(name: str, dims: dict[str, int], n_out: int, recipe) -> _Baseline:
    """The named baseline sized like the family's networks (width = tokens x channels)."""
    return BASELINES[name](dims, n_out, recipe.tokens * recipe.channels, recipe.dropout)


def result(oracle, name: str, seed: int) -> dict:
    """The baseline trained with ``seed`` on the oracle's data and recipe (cached in its overlay)."""
    from bench.families.hfmnas.trainer import train

    if name not in BASELINES:
        from bench.errors import UnknownChoiceError

        raise UnknownChoiceError(name, list(BASELINES), "(HF-MNAS fusion baseline)")
    data, recipe = oracle.data, oracle.recipe
    return oracle.cached(f"baseline:{name}:v{VERSION}", seed, recipe.key, lambda: train(
        None, data, seed, recipe, build_model=lambda: build(name, data.dims, data.n_out, recipe)).record())
