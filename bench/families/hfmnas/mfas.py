"""An MFAS-like search (Perez-Rua et al., CVPR 2019; HF-MNAS's Tables III, IV and IX compare with
it): a sequential model-based search over fusion networks that choose, layer by layer, which level
of each modality to fuse and with which activation.

Our reading, scaled to the suite's proxies:

* a configuration is 1 to ``max_layers`` fusion layers; layer l concatenates one level of ``t``
  (``tl`` or ``th``), one of ``i`` (``il`` or ``ih``) and the previous layer's output, then a
  linear map to ``tokens x channels`` units and one of ReLU, sigmoid, leaky ReLU (12 choices per
  layer); the family's MLP head classifies the last layer's output;
* progressive search: every one-layer configuration is trained for ``search_epochs`` epochs; then,
  per depth, the ``keep`` best configurations of the previous depth (validation F1-M) are
  extended by every choice, a surrogate ranks the extensions and the ``keep`` it ranks highest are
  trained. The surrogate is ridge regression (numpy least squares; the paper's is an LSTM) on
  one-hot choices per position plus position-shared features (the last layer's choice, counts of
  each level and activation), so a new layer's choice is ranked by how that choice scored in
  shallower networks;
* the best configuration by validation F1-M is retrained with the family's full recipe and
  reported. Charged cost, under the oracle's cost model at each network's MFLOPs: the short
  trainings scaled by their epochs, the final retraining as one stand-alone training (as a DARTS
  genotype's). The outcome is cached in the oracle's overlay (``search:mfas:<settings digest>``,
  with the data's checksum), like a supernet search.

MFAS networks are outside the HF-MNAS grammar, so the search is not a registered algorithm of
the family (a run record evaluates grammar members only); the paper runners call :func:`search`.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, replace

import numpy as np
import torch
from torch import nn

from bench.families.hfmnas.baselines import _Baseline, _Head
from bench.families.hfmnas.search import HFSettingsError

T_LEVELS, I_LEVELS = ("tl", "th"), ("il", "ih")
ACTS = {"relu": torch.relu, "sigmoid": torch.sigmoid, "leaky": nn.functional.leaky_relu}
CHOICES = tuple(itertools.product(T_LEVELS, I_LEVELS, ACTS))


@dataclass(frozen=True)
class MFASSettings:
    label: str = "MFAS-like (progressive SMBO over fusion layers, ridge surrogate)"
    max_layers: int = 3
    keep: int = 4
    search_epochs: int = 3
    ridge: float = 1.0
    version: int = 2  # 2: the surrogate's position-shared features

    def __post_init__(self):
        if not self.ridge > 0:
            raise HFSettingsError(f"MFAS ridge must be positive, got {self.ridge}")
        if not 1 <= self.max_layers <= 4 or not 1 <= self.keep <= len(CHOICES) or self.search_epochs < 1:
            raise HFSettingsError(f"MFAS settings out of range: max_layers 1..4, keep 1..{len(CHOICES)}, "
                                  f"search_epochs >= 1; got {self.max_layers}, {self.keep}, {self.search_epochs}")

    @property
    def digest(self) -> str:
        from bench.core.presets import settings_digest

        return settings_digest(self)


def encode(config: tuple) -> str:
    """``mfas:tl+ih/relu,th+il/sigmoid``."""
    return "mfas:" + ",".join(f"{a}+{b}/{act}" for a, b, act in config)


class MFASNet(_Baseline):
    def __init__(self, config: tuple, dims: dict[str, int], n_out: int, width: int, dropout: float):
        super().__init__()
        self.config = config
        self.used = [k for k in ("tl", "th", "il", "ih") if any(k in (a, b) for a, b, _ in config)]
        self.layers = nn.ModuleList(nn.Linear(dims[a] + dims[b] + (width if l else 0), width)
                                    for l, (a, b, _) in enumerate(config))
        self.head = _Head(width, n_out, dropout)

    def forward(self, x):
        h = None
        for layer, (a, b, act) in zip(self.layers, self.config):
            parts = [x[a], x[b]] + ([h] if h is not None else [])
            h = ACTS[act](layer(torch.cat(parts, -1)))
        return self.head(h), None


def _train(oracle, config: tuple, seed: int, epochs: int) -> dict:
    """One configuration trained for ``epochs`` (early stopping only at the full recipe), cached;
    training on a miss only where the oracle allows it."""
    from bench.families.hfmnas.trainer import train

    recipe = oracle.recipe if epochs == oracle.recipe.epochs else replace(oracle.recipe, epochs=epochs, patience=epochs)
    data = oracle.data
    return oracle.cached(f"{encode(config)}:v1", seed, recipe.key, lambda: train(None, data, seed, recipe, build_model=(
        lambda: MFASNet(config, data.dims, data.n_out, recipe.tokens * recipe.channels, recipe.dropout))).record())


def charged_seconds(oracle, outcome: dict) -> float:
    """What a search outcome is charged under the oracle's cost model: each short training at its
    MFLOPs scaled by its epochs against the table's mean, the final retraining as one stand-alone
    training (as a DARTS genotype's retraining is charged)."""
    from bench.families.hfmnas import cost

    coef = getattr(oracle, "cost_coef", None) or cost.DEFAULT

    def one(mflops: float) -> float:
        return coef["fixed"] + coef["per_mflop"] * mflops

    scale = outcome["settings"]["search_epochs"] / coef.get("mean_epochs", oracle.recipe.epochs)
    return float(sum(one(m) * scale for m in outcome["search_mflops"]) + one(outcome["result"]["mflops"]))


def _features(config: tuple, max_layers: int) -> np.ndarray:
    """One-hot choices per position, then the last layer's choice and the counts of each level
    and activation over all layers (shared across positions, so an added layer's choice can be
    ranked from what the shallower networks' layers scored)."""
    parts = np.zeros((max_layers, len(CHOICES)))
    for l, c in enumerate(config):
        parts[l, CHOICES.index(c)] = 1.0
    last = np.zeros(len(CHOICES))
    last[CHOICES.index(config[-1])] = 1.0
    counts = [sum(c[0] == v for c in config) for v in T_LEVELS] + [sum(c[1] == v for c in config) for v in I_LEVELS] \
        + [sum(c[2] == v for c in config) for v in ACTS]
    return np.concatenate([parts.ravel(), last, np.asarray(counts, dtype=float), [len(config)]])


def _ridge(xs: np.ndarray, ys: np.ndarray, lam: float):
    """Ridge regression weights (with an unpenalised intercept) by least squares."""
    mu, xc = ys.mean(), xs - xs.mean(0)
    a = np.vstack([xc, np.sqrt(lam) * np.eye(xs.shape[1])])
    b = np.concatenate([ys - mu, np.zeros(xs.shape[1])])
    w = np.linalg.lstsq(a, b, rcond=None)[0]
    return lambda q: (q - xs.mean(0)) @ w + mu


def search(oracle, settings: MFASSettings, seed: int, progress: bool = False) -> dict:
    """The search's outcome on ``oracle``'s data, seeded (training seed ``seed``), cached in the
    oracle's overlay; ``charged_seconds`` is computed under the oracle's current cost model."""
    got = oracle.cached(f"search:mfas:{settings.digest}", seed, oracle.recipe.key,
                        lambda: _search(oracle, settings, seed, progress), trains=False)  # its trainings check themselves
    return {**got, "charged_seconds": charged_seconds(oracle, got)}


def _search(oracle, settings: MFASSettings, seed: int, progress: bool) -> dict:
    from tqdm.auto import tqdm

    scores: dict[tuple, float] = {}
    mflops: list[float] = []
    bar = tqdm(desc=f"mfas {oracle.dataset}", unit="model", disable=not progress)

    def run(config):
        rec = _train(oracle, config, seed, settings.search_epochs)
        mflops.append(rec["mflops"])
        scores[config] = float(np.nan_to_num(rec["val_f1m"], nan=-1.0))
        bar.update()

    for c in CHOICES:
        run((c,))
    for depth in range(2, settings.max_layers + 1):
        best = sorted((c for c in scores if len(c) == depth - 1), key=lambda c: (-scores[c], encode(c)))[:settings.keep]
        cands = [c + (x,) for c in best for x in CHOICES if c + (x,) not in scores]
        known = sorted(scores, key=encode)
        predict = _ridge(np.array([_features(c, settings.max_layers) for c in known]),
                         np.array([scores[c] for c in known]), settings.ridge)
        pred = predict(np.array([_features(c, settings.max_layers) for c in cands]))
        for i in sorted(range(len(cands)), key=lambda i: (-pred[i], encode(cands[i])))[:settings.keep]:
            run(cands[i])
    bar.close()
    winner = max(sorted(scores, key=encode), key=lambda c: scores[c])
    final = _train(oracle, winner, seed, oracle.recipe.epochs)
    return {"genotype": encode(winner), "trained": len(scores), "search_val_f1m": scores[winner],
            "search_mflops": mflops, "result": final, "settings": asdict(settings),
            "store_sha256": oracle.data.content_sha256}
