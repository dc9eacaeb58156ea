"""RMNAS's differentiable search (``003_ca6407ec0d2ea38c.txt``, Sec. 3.3-3.4, Fig. 4) and the
fixed-attention + BM-NAS baseline (Fig. 5's EMT-DLFR-BMNAS analogue) as algorithms of the
``rmnas`` family.

Paper facts: three groups of architecture weights - the token mixers of every block of every
modality (alpha), BM-NAS's inputs (beta) and step operations (lambda) - optimised by their own
optimiser (SGD, lr 5) beside the weights' (AdamW, lr 5e-4); after the search an operation is
kept when its softmax weight is at least 0.2 (Fig. 4), and the found network is retrained from
scratch (Table 7: retraining matters). Everything else is our choice:

* alternating first-order updates (the paper does not say bi- or single-level): per minibatch
  one AdamW step of the weights on a training batch, then one SGD step (lr 5) of alpha and
  lambda on a validation batch, both at the dataset's missing rate; the recipe's epochs, no
  early stopping; the task loss as in stand-alone training (fused + unimodal heads).
  ``warmup`` (preset ``rmnas-warmup``: 0.5) trains the weights alone for that share of the
  epochs first - the usual remedy when a DARTS search collapses onto parameter-free operations,
  which the paper's settings do on POM (``make reproduce-table TABLE=rmnas-fig4``).
* beta is not searched: the fusion always reads the last block (the tabulated slice's choice).
* derived genotype: per block the mixers with softmax weight >= ``keep`` (0.2; the largest is
  always kept), per fusion step the argmax of lambda; LST as the preset says.
* ``no retrain``: the supernet itself evaluated with the genotype's weights (kept mixers
  averaged, the chosen op one-hot) is stored in the outcome (``supernet``: metrics at every
  rate) - Table 7's rows without retraining read it; the run then evaluates the retrained
  genotype through the oracle (table, overlay, or training on a miss).
* cost: the supernet is charged by the table's cost model at the supernet's MFLOPs (every
  mixer and op on), scaled from the table's mean early-stopped epochs to all the recipe's
  epochs, times (2 - warmup) for the architecture steps (one per weight step after the
  warm-up, on a batch of the same size); never wall time. A search that would not fit the remaining seconds does not train.
* the outcome is cached in the oracle's overlay under ``Overlay.key(dataset,
  "search:rmnas:<settings digest>", torch seed, recipe key)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from bench.errors import BenchError


class RMNASSettingsError(BenchError, ValueError):
    """Settings of the RMNAS search that cannot be run."""


@dataclass(frozen=True)
class RMSettings:
    label: str
    search_mixers: bool = True   # False: every block uses attention only (alpha frozen)
    lst: bool = True
    keep: float = 0.2            # the discretisation threshold on the softmax weights
    arch_lr: float = 5.0
    warmup: float = 0.0          # share of the epochs trained before the first architecture step
    version: int = 1

    def __post_init__(self):
        if not 0.0 < self.keep <= 1.0:
            raise RMNASSettingsError(f"keep must be in (0, 1], got {self.keep}")
        if not self.arch_lr > 0:
            raise RMNASSettingsError(f"arch_lr must be positive, got {self.arch_lr}")
        if not 0.0 <= self.warmup < 1.0:
            raise RMNASSettingsError(f"warmup must be in [0, 1), got {self.warmup}")

    @property
    def digest(self) -> str:
        from bench.core.presets import settings_digest

        return settings_digest(self, {"warmup": 0.0})


PRESETS: dict[str, RMSettings] = {
    "rmnas": RMSettings("RMNAS (searched mixers + LST + BM-NAS fusion, retrained)"),
    "rmnas-nolst": RMSettings("RMNAS without LST", lst=False),
    "fixed-att-bmnas": RMSettings("Fixed attention + BM-NAS fusion (EMT-DLFR-BMNAS analogue)", search_mixers=False,
                                  lst=False),
    "fixed-att-lst-bmnas": RMSettings("Fixed attention + LST + BM-NAS fusion", search_mixers=False, lst=True),
    "rmnas-warmup": RMSettings("RMNAS, architecture steps after half the epochs (warm-up)", warmup=0.5),
}


def derive(space, alpha: dict, lam: np.ndarray, settings: RMSettings):
    """The genotype of softmax weights ``alpha`` {modality: [blocks, 4]} and ``lam`` [steps, 4]."""
    from bench.families.rmnas.space import FUSION_OPS, MIXERS, RMArch

    mixers = []
    for m in space.modalities:
        blocks = []
        for w in np.asarray(alpha[m]):
            kept = tuple(x for x, v in zip(MIXERS, w) if v >= settings.keep) or (MIXERS[int(np.argmax(w))],)
            blocks.append(kept)
        mixers.append(tuple(blocks))
    fusion = tuple(FUSION_OPS[int(np.argmax(w))] for w in np.asarray(lam))
    return space.check(RMArch(tuple(mixers), fusion, settings.lst))


def supernet_mflops(store, recipe, settings: RMSettings) -> float:
    from bench.families.rmnas.model import RMNASNet

    net = RMNASNet(store.modalities, None, store.dims, store.steps, recipe.d, recipe.heads, recipe.blocks,
                   recipe.kernel, recipe.maxdis, 0.0, 1, lst=settings.lst)
    return net.flops(store.steps) / 1e6


def search_cost(oracle, settings: RMSettings) -> float:
    """Charged seconds of one supernet search (deterministic; see the module doc)."""
    from bench.families.rmnas import cost

    store, recipe = oracle.store, oracle.recipe
    coef = getattr(oracle, "cost_coef", None) or cost.DEFAULT
    one = coef["fixed"] + coef["per_mflop"] * supernet_mflops(store, recipe, settings)  # one early-stopped training
    full = recipe.epochs / coef.get("mean_epochs", recipe.epochs)  # the supernet runs every epoch
    # every weight step after the warm-up is followed by an architecture step on a batch of the same size
    return float(one * full * (2.0 - settings.warmup))


def train_supernet(store, space, recipe, rate: float, settings: RMSettings, seed: int) -> dict:
    """Search on ``store`` at missing ``rate``; the outcome (genotype, weights, no-retrain metrics)."""
    from bench.core.torchutil import pinned_numerics

    return pinned_numerics(_train_supernet)(store, space, recipe, rate, settings, seed)


def _train_supernet(store, space, recipe, rate: float, settings: RMSettings, seed: int) -> dict:
    import torch

    from bench.families.rmnas.missing import RATES
    from bench.families.rmnas.model import RMNASNet
    from bench.families.rmnas.space import FUSION_OPS, MIXERS
    from bench.families.rmnas.trainer import _tensors, evaluate, task_loss

    dev = torch.device("cpu")
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    xtr, vtr, ytr = _tensors(store, recipe, "train", rate, dev)
    xva, vva, yva = _tensors(store, recipe, "val", rate, dev)
    net = RMNASNet(store.modalities, None, store.dims, store.steps, recipe.d, recipe.heads, recipe.blocks,
                   recipe.kernel, recipe.maxdis, recipe.dropout, ytr.shape[1], lst=settings.lst)
    mods = store.modalities
    alpha = {m: torch.zeros(recipe.blocks, len(MIXERS), requires_grad=settings.search_mixers) for m in mods}
    if not settings.search_mixers:  # attention only: its softmax weight is 1
        for m in mods:
            alpha[m].data[:, 1:] = -1e4
    lam = torch.zeros(len(mods) - 1, len(FUSION_OPS), requires_grad=True)
    arch_params = [lam] + ([alpha[m] for m in mods] if settings.search_mixers else [])
    w_opt = torch.optim.AdamW(net.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    a_opt = torch.optim.SGD(arch_params, lr=settings.arch_lr)

    def weights():
        return {"mixers": {m: torch.softmax(alpha[m], -1) for m in mods}, "fusion": torch.softmax(lam, -1)}

    n, nv = len(ytr), len(yva)
    history = []
    first_arch_epoch = int(np.ceil(settings.warmup * recipe.epochs))
    for epoch in range(recipe.epochs):
        net.train()
        order = torch.randperm(n, generator=gen)
        vorder = torch.randperm(nv, generator=gen)
        for b, start in enumerate(range(0, n, recipe.batch_size)):
            idx = order[start:start + recipe.batch_size]
            out, uni = net({m: xtr[m][idx] for m in mods}, {m: vtr[m][idx] for m in mods}, weights())
            w_opt.zero_grad()
            task_loss(out, uni, ytr[idx], recipe.aux_weight).backward()
            w_opt.step()
            if epoch < first_arch_epoch:
                continue
            vs = (b * recipe.batch_size) % nv
            vidx = vorder[vs:vs + recipe.batch_size]
            out, uni = net({m: xva[m][vidx] for m in mods}, {m: vva[m][vidx] for m in mods}, weights())
            a_opt.zero_grad()
            w_opt.zero_grad()
            task_loss(out, uni, yva[vidx], recipe.aux_weight).backward()
            a_opt.step()
        w = weights()
        history.append({"mixers": {m: np.round(w["mixers"][m].detach().numpy(), 4).tolist() for m in mods},
                        "fusion": np.round(w["fusion"].detach().numpy(), 4).tolist()})
    final = weights()
    alpha_np = {m: final["mixers"][m].detach().numpy() for m in mods}
    lam_np = final["fusion"].detach().numpy()
    geno = derive(space, alpha_np, lam_np, settings)
    # no retrain: the supernet run with the genotype's (discrete) weights
    disc = {"mixers": {m: torch.tensor([[1.0 / len(s) if x in s else 0.0 for x in MIXERS] for s in blocks])
                       for m, blocks in zip(mods, geno.mixers)},
            "fusion": torch.tensor([[1.0 if o == op else 0.0 for o in FUSION_OPS] for op in geno.fusion])}
    by_rate = evaluate(net, store, recipe, RATES, dev, disc)
    at = int(round(rate * 10))
    supernet = {k: v[at] for k, v in by_rate.items()}
    return {"genotype": space.encode(geno), "alpha": {m: np.round(v, 6).tolist() for m, v in alpha_np.items()},
            "lambda": np.round(lam_np, 6).tolist(), "history": history,
            "supernet": {**supernet, **{f"{k}_by_rate": v for k, v in by_rate.items()}}, "epochs": recipe.epochs}


def rmnas(run, rng: np.random.Generator, settings: RMSettings | None = None, name: str = "rmnas") -> None:
    """The RMNAS search on a :class:`~bench.trained_run.TrainedRun` of the ``rmnas`` family."""
    from bench.core.supernet import cached_search
    from bench.families.rmnas import is_dialogue

    s = settings if settings is not None else PRESETS["rmnas"]
    if not isinstance(s, RMSettings):
        raise RMNASSettingsError(f"{name}: settings must be an RMSettings, got {type(s).__name__}")
    oracle = run.oracle
    if is_dialogue(oracle.dataset):
        raise RMNASSettingsError(f"{name}: the supernet search runs at sentence level; on the dialogue dataset "
                                 f"{oracle.dataset!r} use rs, rea or edf, or retrain a sentence-level genotype")
    store, recipe, rate = oracle.store, oracle.recipe, oracle.train_rate
    cached_search(run, rng, "rmnas", name, s, search_cost(oracle, s), store.content_sha256,
                  lambda seed: train_supernet(store, run.space, recipe, rate, s, seed))


def _preset(name: str) -> Callable:
    from bench.core.presets import preset_algorithm

    return preset_algorithm(name, PRESETS[name], rmnas, "RMNAS")


ALGORITHMS: dict[str, Callable] = {name: _preset(name) for name in PRESETS}

__all__ = ["ALGORITHMS", "PRESETS", "RMSettings", "RMNASSettingsError", "derive", "rmnas", "train_supernet"]
