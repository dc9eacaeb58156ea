"""HF-MNAS's DARTS search (``001_6b80f99565a0cbd2.txt``, Sec. IV-C, Eq. 10-12 and 24-30,
Algorithm 1) as algorithms of the ``hfmnas`` family.

Paper facts: per cell, mixture weights gamma over the 10 edge operations of every edge and beta
over the 9 node fusion operations of every node, optimised on the validation loss (Adam, lr
3e-4, weight decay 1e-3) while the network weights - node importance w included - are optimised
on the training loss (the recipe's optimiser: AdamW, lr 1e-3 annealed, weight decay 4e-3), alternating; the
genotype keeps each node's 2 strongest incoming edges (each its arg-max operation), each node's
arg-max fusion operation and the top-K nodes by w (paper: 4 nodes, K = 3); IMM (DCCA +
attention) is on during the search; the genotype is retrained from scratch. Our choices:

* first-order alternation (the paper does not say first or second order): per training
  minibatch one architecture step on a validation minibatch, then one weight step;
* a node's two operands during the search: two softmax weightings (alpha) over its
  predecessors' mixed edges, so every predecessor can feed either operand; the kept edges are
  the two predecessors whose strongest non-``none`` operation weighs most (DARTS's rule), and
  the operand whose alpha weight on it is higher comes first;
* Figs. 11-12's other derivations (settings ``top_ops``, ``top_edges``): top-k beta sums the
  node's k heaviest fusion operations; top-k gamma keeps its k strongest predecessors (all of
  them when it has fewer), ordered by how much more the first operand's alpha weighs them than
  the second's, the first half (rounded up) summed into the first operand and the rest into
  the second; a single edge fuses with itself;
* the cells read the paper's inputs (LFBC (tl, il), HFBC (th, ih)); stacking, IMM and the
  classifier of the genotype are the preset's; the search runs the recipe's epochs without
  early stopping;
* each node's mixed output is layer-normalised (no parameters) in the supernet only: without it
  the mixture's chains of Multiply overflow to NaN in the first epoch on LandUse-21;
* cost: the supernet is charged by the table's cost model at the supernet's MFLOPs, scaled from
  the table's mean early-stopped epochs to all the recipe's epochs, times 2 for the
  architecture steps; never wall time. The outcome is cached in the oracle's overlay under
  ``Overlay.key(dataset, "search:hfmnas:<settings digest>", torch seed, recipe key)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from bench.errors import BenchError


class HFSettingsError(BenchError, ValueError):
    """Settings of the HF-MNAS search that cannot be run."""


class DartsSettings:
    """What the settings of this family's weight-sharing searches share: the genotype's IMM and
    classifier, the architecture optimiser, and the digest that keys their cached outcomes."""

    def check_head(self) -> None:
        from bench.families.hfmnas.space import CM, IMM

        if self.imm not in IMM or self.cm not in CM:
            raise HFSettingsError(f"imm must be one of {IMM} and cm one of {CM}, got {self.imm!r}, {self.cm!r}")
        if not self.arch_lr > 0:
            raise HFSettingsError(f"arch_lr must be positive, got {self.arch_lr}")

    @property
    def digest(self) -> str:
        from bench.core.presets import settings_digest

        return settings_digest(self, getattr(self, "LATER_FIELDS", {}))


@dataclass(frozen=True)
class HFSettings(DartsSettings):
    label: str
    nodes: int = 4
    keep: int = 3               # top-K nodes by importance w
    stack: int = 1
    imm: str = "dcca+mha"
    cm: str = "mlp"
    arch_lr: float = 3e-4
    arch_weight_decay: float = 1e-3
    version: int = 1
    top_ops: int = 1            # top-k beta: fusion ops kept (summed) per node
    top_edges: int = 2          # top-k gamma: incoming edges kept per node (at most its predecessors)

    #: fields added after searches were cached: at these values they leave the digest unchanged
    LATER_FIELDS = {"top_ops": 1, "top_edges": 2}

    def __post_init__(self):
        from bench.families.hfmnas.space import FUSION_OPS, MAX_NODES

        if not 1 <= self.top_ops <= len(FUSION_OPS):
            raise HFSettingsError(f"top_ops (top-k beta) must be in 1..{len(FUSION_OPS)}, got {self.top_ops}")
        if not 1 <= self.top_edges <= MAX_NODES + 1:
            raise HFSettingsError(f"top_edges (top-k gamma) must be in 1..{MAX_NODES + 1}, got {self.top_edges}")
        if not 1 <= self.nodes <= MAX_NODES:
            raise HFSettingsError(f"nodes must be in 1..{MAX_NODES}, got {self.nodes}")
        if not 1 <= self.keep <= self.nodes:
            raise HFSettingsError(f"keep must be in 1..nodes ({self.nodes}), got {self.keep}")
        if self.stack not in (1, 2):
            raise HFSettingsError(f"stack must be 1 or 2, got {self.stack}")
        self.check_head()


PRESETS: dict[str, HFSettings] = {
    "hfmnas": HFSettings("HF-MNAS (DARTS cells, 4 nodes, top-3, DCCA + attention, retrained)"),
    "hfmnas-s2": HFSettings("HF-MNAS, stacking 2", stack=2),
    "hfmnas-lstm": HFSettings("HF-MNAS with the Bi-LSTM classifier", cm="bilstm"),
}


def _mixed_cell(nodes: int, c: int, heads: int, dropout: float):
    import torch
    from torch import nn

    from bench.families.hfmnas.ops import edge_op, fusion_op
    from bench.families.hfmnas.space import EDGE_OPS, FUSION_OPS

    class MixedCell(nn.Module):
        """Every edge op on every edge, every fusion op at every node, weighted by softmaxes."""

        def __init__(self):
            super().__init__()
            self.edges = nn.ModuleList(nn.ModuleList(nn.ModuleList(edge_op(o, c) for o in EDGE_OPS)
                                                     for _ in range(j + 2)) for j in range(nodes))
            self.fuse = nn.ModuleList(nn.ModuleList(fusion_op(f, c, heads, dropout) for f in FUSION_OPS)
                                      for _ in range(nodes))
            self.importance = nn.Parameter(torch.ones(nodes))
            self.mix = nn.Linear(nodes * c, c)

        def forward(self, x0, x1, gamma, alpha, beta):
            states = [x0, x1]
            for j in range(nodes):
                mixed = [sum(w * op(states[p]) for w, op in zip(torch.softmax(gamma[j][p], -1), self.edges[j][p]))
                         for p in range(j + 2)]
                a = torch.softmax(alpha[j], -1)
                xa = sum(a[0, p] * mixed[p] for p in range(j + 2))
                xb = sum(a[1, p] * mixed[p] for p in range(j + 2))
                fused = sum(w * f(xa, xb) for w, f in zip(torch.softmax(beta[j], -1), self.fuse[j]))
                # a chain of Multiply nodes squares magnitudes at every node and overflows within
                # an epoch; normalised states keep the mixture finite (the genotype is retrained without it)
                states.append(torch.nn.functional.layer_norm(fused, fused.shape[-1:]))
            return self.mix(torch.cat([s * w for s, w in zip(states[2:], self.importance)], -1))

    return MixedCell()


def build_supernet(data, recipe, settings: HFSettings):
    """The supernet (both cells mixed) and its architecture parameters {cell: (gamma, alpha, beta)}."""
    import torch
    from torch import nn

    from bench.families.hfmnas.model import HFNet
    from bench.families.hfmnas.space import EDGE_OPS, FUSION_OPS, core_arch

    net = HFNet(core_arch(imm=settings.imm), data.dims, data.n_out, recipe.tokens, recipe.channels, recipe.heads,
                recipe.dropout, recipe.dcca_dim)
    net.low = nn.ModuleList([_mixed_cell(settings.nodes, recipe.channels, recipe.heads, recipe.dropout)])
    net.high = nn.ModuleList([_mixed_cell(settings.nodes, recipe.channels, recipe.heads, recipe.dropout)])
    arch = {side: ([torch.zeros(j + 2, len(EDGE_OPS), requires_grad=True) for j in range(settings.nodes)],
                   [(1e-3 * torch.randn(2, j + 2)).requires_grad_() for j in range(settings.nodes)],
                   torch.zeros(settings.nodes, len(FUSION_OPS), requires_grad=True)) for side in ("low", "high")}
    return net, arch


def _forward(net, arch, x):
    """The supernet's logits and DCCA correlation on a batch of the four features."""
    tok = {k: net.embed[k](x[k]).view(-1, net.tokens, net.c) for k in net.used}
    return net.classify(net.low[0](tok["tl"], tok["il"], *arch["low"]), net.high[0](tok["th"], tok["ih"], *arch["high"]),
                        tok)


def derive(arch_np: dict, importance: dict, settings: HFSettings):
    """The genotype of the architecture weights (softmaxed numpy arrays) and node importances."""
    from bench.families.hfmnas.space import (DEFAULT_HIGH, DEFAULT_LOW, EDGE_OPS, FUSION_OPS, Cell, HFArch,
                                             HFSpace, Node)

    none = EDGE_OPS.index("none")
    cells = {}
    for side, inputs in (("low", DEFAULT_LOW), ("high", DEFAULT_HIGH)):
        gamma, alpha, beta = arch_np[side]
        nodes = []
        for j in range(settings.nodes):
            g = np.array(gamma[j], dtype=float)
            g[:, none] = -1.0
            strength = g.max(1)
            kept = sorted(np.argsort(-strength, kind="stable")[:settings.top_edges].tolist())
            a0, a1 = alpha[j]
            if len(kept) == 2:  # the paper's rule, compared as it always was (ties: the earlier first)
                p, q = kept
                kept = [p, q] if a0[p] - a0[q] >= a1[p] - a1[q] else [q, p]
            else:  # how much more the first operand weighs each (stable: ties keep predecessor order)
                kept = sorted(kept, key=lambda p: -(a0[p] - a1[p]))
            ops = [FUSION_OPS[int(k)] for k in np.argsort(-np.asarray(beta[j]), kind="stable")[:settings.top_ops]]
            nodes.append(Node(ops[0], tuple((EDGE_OPS[int(np.argmax(g[p]))], int(p)) for p in kept), tuple(ops[1:]),
                              (len(kept) + 1) // 2))
        keep = tuple(int(k) + 1 for k in np.argsort(-np.asarray(importance[side]), kind="stable")[:settings.keep])
        cells[side] = Cell(inputs, tuple(nodes), keep)
    return HFSpace(core=False).check(HFArch(cells["low"], cells["high"], settings.stack, settings.imm, settings.cm))


def supernet_mflops(net, arch, forward, dims: dict[str, int]) -> float:
    """Forward MFLOPs of one sample through a supernet (every operation of every mixture)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    net.eval()
    x = {k: torch.zeros(2, dims[k]) for k in net.used}
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        forward(net, arch, x)
    return counter.get_total_flops() / 2 / 1e6


def stored_supernet_mflops(oracle, label: str, settings, build: Callable, forward: Callable) -> float:
    """:func:`supernet_mflops` of the supernet ``build`` makes for ``settings``, counted once and stored in
    the oracle's overlay (keyed by the search, its settings and the recipe; bound to the data like every
    record): counting builds the supernet and runs torch's FLOP counter, seconds per search."""
    from bench.core.presets import settings_digest

    digest = settings_digest(settings)

    def count() -> dict:
        net, arch = build(oracle.data, oracle.recipe, settings)
        return {"mflops": supernet_mflops(net, arch, forward, oracle.data.dims)}

    return float(oracle.cached(f"{label}-supernet-mflops:{digest}", 0, oracle.recipe.key, count, trains=False)["mflops"])


def charged_search_seconds(oracle, mflops: float) -> float:
    """Charged seconds of one supernet search of ``mflops`` per sample (deterministic; see the module doc)."""
    from bench.families.hfmnas import cost

    coef = getattr(oracle, "cost_coef", None) or cost.DEFAULT
    one = coef["fixed"] + coef["per_mflop"] * mflops
    return float(one * oracle.recipe.epochs / coef.get("mean_epochs", oracle.recipe.epochs) * 2.0)


def darts(data, recipe, seed: int, build: Callable, forward: Callable, arch_lr: float, arch_weight_decay: float,
          desc: str, progress: bool = False):
    """First-order DARTS on ``data`` (see the module doc): ``build()`` (called after seeding) gives
    the supernet and its architecture parameters ``{side: (tensor or list of tensors, ...)}``,
    ``forward(net, arch, x)`` its logits and DCCA correlation. Returns (net, arch, validation
    F1-M after each epoch). Runs under the pinned numerics."""
    from bench.core.torchutil import pinned_numerics

    return pinned_numerics(_darts)(data, recipe, seed, build, forward, arch_lr, arch_weight_decay, desc, progress)


def _darts(data, recipe, seed, build, forward, arch_lr, arch_weight_decay, desc, progress):
    import torch
    from tqdm.auto import tqdm

    from bench.families.hfmnas.trainer import _scores, _tensors, task_loss

    dev = torch.device("cpu")
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    net, arch = build()
    arch_params = [t for side in arch.values() for group in side for t in (group if isinstance(group, list) else [group])]
    w_opt = torch.optim.AdamW(net.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(w_opt, recipe.epochs, eta_min=recipe.lr_min)
    a_opt = torch.optim.Adam(arch_params, lr=arch_lr, weight_decay=arch_weight_decay)
    xtr, ytr = _tensors(data, "train", dev)
    xva, yva = _tensors(data, "val", dev)
    n, nv = len(ytr), len(yva)

    def loss_of(x, y):
        logits, corr = forward(net, arch, x)
        loss = task_loss(logits, y)
        if corr is not None and recipe.dcca_weight:
            loss = loss - recipe.dcca_weight * corr / recipe.dcca_dim
        return loss

    curve = []
    for _ in tqdm(range(recipe.epochs), desc=desc, unit="epoch", disable=not progress):
        net.train()
        order = torch.randperm(n, generator=gen)
        vorder = torch.randperm(nv, generator=gen)
        for b, start in enumerate(range(0, n - 1, recipe.batch_size)):
            vs = (b * recipe.batch_size) % max(1, nv - 1)
            vidx = vorder[vs:vs + recipe.batch_size]
            if len(vidx) > 1:
                a_opt.zero_grad()
                w_opt.zero_grad()
                loss_of({k: xva[k][vidx] for k in net.used}, yva[vidx]).backward()
                a_opt.step()
            idx = order[start:start + recipe.batch_size]
            w_opt.zero_grad()
            a_opt.zero_grad()
            loss_of({k: xtr[k][idx] for k in net.used}, ytr[idx]).backward()
            w_opt.step()
        sched.step()
        net.eval()
        with torch.no_grad():
            logits, _ = forward(net, arch, {k: xva[k] for k in net.used})
        curve.append(_scores(yva.numpy(), logits.numpy(), data.n_out)["f1m"])
    return net, arch, curve


def softmaxed(arch) -> dict:
    """The architecture parameters as nested lists of softmax weights (last axis), same structure."""
    import torch

    def soft(t):
        return [soft(x) for x in t] if isinstance(t, (list, tuple)) else torch.softmax(t, -1).detach().numpy().tolist()

    return {side: tuple(soft(group) for group in groups) for side, groups in arch.items()}


def rounded(tree, decimals: int = 5):
    """Nested lists of numbers rounded (numpy's rounding, innermost lists as arrays)."""
    if isinstance(tree, (list, tuple)) and tree and isinstance(tree[0], (list, tuple)):
        return [rounded(x, decimals) for x in tree]
    return np.round(np.asarray(tree, dtype=float), decimals).tolist()


def train_supernet(data, recipe, settings: HFSettings, seed: int, progress: bool = False) -> dict:
    """Search on ``data``; the outcome (genotype, final weights, per-epoch validation F1-M)."""
    from bench.families.hfmnas.space import HFSpace

    net, arch, curve = darts(data, recipe, seed, lambda: build_supernet(data, recipe, settings), _forward,
                             settings.arch_lr, settings.arch_weight_decay, "hfmnas supernet", progress)
    soft = softmaxed(arch)
    importance = {"low": net.low[0].importance.detach().numpy().tolist(),
                  "high": net.high[0].importance.detach().numpy().tolist()}
    geno = derive(soft, importance, settings)
    weights = {side: {"gamma": rounded(gamma), "alpha": rounded(alpha), "beta": rounded(beta)}
               for side, (gamma, alpha, beta) in soft.items()}
    return {"genotype": HFSpace(core=False).encode(geno), "weights": weights,
            "importance": {k: rounded(v) for k, v in importance.items()},
            "supernet_val_f1m": curve, "epochs": recipe.epochs}


def darts_algorithm(label: str, what: str, settings_type: type, default, build: Callable, forward: Callable,
                    train: Callable) -> Callable:
    """A weight-sharing search of this family as an algorithm ``(run, rng, settings=None, name=label)``:
    ``build(data, recipe, settings)`` gives its supernet, ``forward`` runs it and
    ``train(data, recipe, settings, seed)`` searches; the outcome is cached and charged by
    :func:`bench.core.supernet.cached_search` at the supernet's MFLOPs (:func:`charged_search_seconds`)."""
    def algo(run, rng: np.random.Generator, settings=None, name: str = label) -> None:
        from bench.core.supernet import cached_search

        s = settings if settings is not None else default
        if not isinstance(s, settings_type):
            raise HFSettingsError(f"{name}: settings must be a {settings_type.__name__}, got {type(s).__name__}")
        oracle = run.oracle
        cost = charged_search_seconds(oracle, stored_supernet_mflops(oracle, label, s, build, forward))
        cached_search(run, rng, label, name, s, cost, oracle.data.content_sha256,
                      lambda seed: train(oracle.data, oracle.recipe, s, seed), hidden=("weights",))

    algo.__name__ = algo.__qualname__ = label
    algo.__doc__ = f"The {what} search on a :class:`~bench.trained_run.TrainedRun` of the ``hfmnas`` family."
    return algo


def presets_as_algorithms(presets: dict, search: Callable, what: str) -> dict[str, Callable]:
    from bench.core.presets import preset_algorithm

    return {name: preset_algorithm(name, s, search, what) for name, s in presets.items()}


hfmnas = darts_algorithm("hfmnas", "HF-MNAS DARTS", HFSettings, PRESETS["hfmnas"], build_supernet, _forward,
                         train_supernet)
ALGORITHMS: dict[str, Callable] = presets_as_algorithms(PRESETS, hfmnas, "HF-MNAS")
