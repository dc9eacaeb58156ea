"""The BM-NAS-like baseline of HF-MNAS's tables (``001_6b80f99565a0cbd2.txt`` Tables II-V, IX,
Figs. 3, 5, 15-16; BM-NAS is its reference [4]): one flat, single-level search over which features
feed each fusion cell and which operation each cell step applies, with no low-/high-level
hierarchy - the coupling HF-MNAS's Sec. II says it removes.

Our reading, scaled to the suite's proxies (design 7.3):

* 2 cells x 2 steps. Each cell reads two different features chosen among all four (``tl``,
  ``th``, ``il``, ``ih``: any modality, any level). Step j fuses two distinct earlier states of
  its cell (the cell inputs, earlier steps) by one of BM-NAS's step operations: Sum, scaled
  dot-product attention, LinearGLU, ConcatFC (Zero in the search only). Both steps are kept.
  BM-NAS also lets a cell read earlier cells' outputs; ours read backbone features only.
* A genotype is an HF-MNAS architecture (:class:`~bench.families.hfmnas.space.HFArch`): the two
  cells with identity edges, s = 1, IMM and classifier as the settings say. So it is queried,
  trained and cached through the family's oracle like any other member, and ``imm`` can be
  switched on a searched genotype (Fig. 5's "BM-NAS + IMM").
* The search: the HF-MNAS DARTS loop (:func:`bench.families.hfmnas.search.darts`, first order,
  architecture Adam lr 3e-4, weight decay 1e-3) over three groups of softmax weights per cell:
  the two input selections over the four features (BM-NAS's upper level), each step's two
  operand selections over its predecessors, and each step's operation mixture (the lower
  level). The genotype takes each arg-max, the second input and operand among the rest, the
  operation among the non-Zero ones.
* Cost: charged by the table's cost model at this supernet's MFLOPs, as HF-MNAS's search is.
* The step operations are this family's Table VIII modules on token sequences (the same names as
  RMNAS's BM-NAS steps, :data:`bench.families.rmnas.space.FUSION_OPS`, which act on one global
  vector per modality with a residual attention; one shared module would change RMNAS's shipped,
  bit-for-bit trained tables, so each family keeps its own).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from bench.families.hfmnas.search import DartsSettings, darts_algorithm, presets_as_algorithms

#: BM-NAS's step operations (Table VIII's names; ``zero`` only in the supernet)
STEP_OPS = ("sum", "sdatt", "glu", "concatfc", "zero")
STEPS = 2


@dataclass(frozen=True)
class BMSettings(DartsSettings):
    label: str
    imm: str = "none"
    cm: str = "mlp"
    arch_lr: float = 3e-4
    arch_weight_decay: float = 1e-3
    version: int = 1

    def __post_init__(self):
        self.check_head()


PRESETS: dict[str, BMSettings] = {
    "bmnas": BMSettings("BM-NAS-like (single-level cell search, 2 cells x 2 steps, retrained)"),
}


def _mixed_cell(c: int, heads: int, dropout: float):
    import torch
    from torch import nn

    from bench.families.hfmnas.ops import fusion_op

    class MixedStepCell(nn.Module):
        """Input selection over the features, operand selection and an operation mixture per step."""

        def __init__(self):
            super().__init__()
            self.fuse = nn.ModuleList(nn.ModuleList(fusion_op(f, c, heads, dropout) for f in STEP_OPS[:-1])
                                      for _ in range(STEPS))
            self.importance = nn.Parameter(torch.ones(STEPS))
            self.mix = nn.Linear(STEPS * c, c)

        def forward(self, feats, select, alpha, lam):
            s = torch.softmax(select, -1)
            states = [torch.einsum("f,fntc->ntc", s[0], feats), torch.einsum("f,fntc->ntc", s[1], feats)]
            for j in range(STEPS):
                a = torch.softmax(alpha[j], -1)
                xa = sum(a[0, p] * states[p] for p in range(j + 2))
                xb = sum(a[1, p] * states[p] for p in range(j + 2))
                w = torch.softmax(lam[j], -1)  # the last weight is Zero's, whose output is 0
                fused = sum(wk * f(xa, xb) for wk, f in zip(w, self.fuse[j]))
                states.append(torch.nn.functional.layer_norm(fused, fused.shape[-1:]))
            return self.mix(torch.cat([x * w for x, w in zip(states[2:], self.importance)], -1))

    return MixedStepCell()


def build_supernet(data, recipe, settings: BMSettings):
    """The BM-NAS-like supernet and its architecture parameters {cell: (select, alpha, lambda)}."""
    import torch
    from torch import nn

    from bench.families.hfmnas.model import HFNet
    from bench.families.hfmnas.space import INPUTS, core_arch

    net = HFNet(core_arch(imm=settings.imm, cm=settings.cm), data.dims, data.n_out, recipe.tokens, recipe.channels,
                recipe.heads, recipe.dropout, recipe.dcca_dim)
    net.low = nn.ModuleList([_mixed_cell(recipe.channels, recipe.heads, recipe.dropout)])
    net.high = nn.ModuleList([_mixed_cell(recipe.channels, recipe.heads, recipe.dropout)])
    arch = {side: ((1e-3 * torch.randn(2, len(INPUTS))).requires_grad_(),
                   [(1e-3 * torch.randn(2, j + 2)).requires_grad_() for j in range(STEPS)],
                   torch.zeros(STEPS, len(STEP_OPS), requires_grad=True)) for side in ("low", "high")}
    return net, arch


def _forward(net, arch, x):
    import torch

    from bench.families.hfmnas.space import INPUTS

    tok = {k: net.embed[k](x[k]).view(-1, net.tokens, net.c) for k in net.used}
    feats = torch.stack([tok[k] for k in INPUTS])
    return net.classify(net.low[0](feats, *arch["low"]), net.high[0](feats, *arch["high"]), tok)


def _top_two(weights) -> tuple[int, int]:
    """The arg-max of the first row, then the arg-max of the second row among the other entries."""
    first = int(np.argmax(weights[0]))
    rest = np.array(weights[1], dtype=float)
    rest[first] = -1.0
    return first, int(np.argmax(rest))


def derive(soft: dict, settings: BMSettings):
    """The genotype (an :class:`HFArch`) of the softmaxed architecture weights."""
    from bench.families.hfmnas.space import INPUTS, Cell, HFArch, HFSpace, Node

    cells = {}
    for side in ("low", "high"):
        select, alpha, lam = soft[side]
        i0, i1 = _top_two(select)
        nodes = []
        for j in range(STEPS):
            a, b = _top_two(alpha[j])
            op = STEP_OPS[int(np.argmax(np.asarray(lam[j])[:-1]))]
            nodes.append(Node(op, (("skip", a), ("skip", b))))
        cells[side] = Cell((INPUTS[i0], INPUTS[i1]), tuple(nodes), tuple(range(1, STEPS + 1)))
    return HFSpace(core=False).check(HFArch(cells["low"], cells["high"], 1, settings.imm, settings.cm))


def train_supernet(data, recipe, settings: BMSettings, seed: int, progress: bool = False) -> dict:
    """Search on ``data``; the outcome (genotype, final weights, per-epoch validation F1-M)."""
    from bench.families.hfmnas.search import darts, rounded, softmaxed
    from bench.families.hfmnas.space import HFSpace

    _, arch, curve = darts(data, recipe, seed, lambda: build_supernet(data, recipe, settings), _forward,
                           settings.arch_lr, settings.arch_weight_decay, "bm-nas supernet", progress)
    soft = softmaxed(arch)
    weights = {side: {"select": rounded(sel), "alpha": rounded(alpha), "lambda": rounded(lam)}
               for side, (sel, alpha, lam) in soft.items()}
    return {"genotype": HFSpace(core=False).encode(derive(soft, settings)), "weights": weights,
            "supernet_val_f1m": curve, "epochs": recipe.epochs}


bmnas = darts_algorithm("bmnas", "BM-NAS-like", BMSettings, PRESETS["bmnas"], build_supernet, _forward,
                        train_supernet)
ALGORITHMS: dict[str, Callable] = presets_as_algorithms(PRESETS, bmnas, "BM-NAS")
