"""MRO's search (``002_21034c53427ddd7b.txt``, Table 1, Eq. 1-2, Sec. 3) as an algorithm of the
``mro`` family, its ablations and rank-loss variants, and an exhaustive baseline.

Paper facts: a weight-sharing supernet holding every directed cross-modal path, trained with
masked one-shot training; masks drawn uniformly during a warm-up, then from a prior given by
the Modal Relation Graph (Eq. 1: a per-source softmax of GAT(alpha*CosSim + beta*Var_g +
gamma*Var_a), alpha/beta/gamma trainable); a rank regulariser (Eq. 2) aligning prior ranks with
the sampled sub-networks' performance ranks; the final sub-networks used without retraining.
Everything else is our choice (design ``sequence-families.md`` 3e, reading (B) of item 6):

* supernet = :class:`~bench.families.mro.model.CrossModalNet` with every path at the space's
  max depth; a mask of depths runs the first k layers of each path (shared projections, null
  tokens, head). E = the stand-alone recipe's epochs; warm-up = ceil(20% of E) epochs with
  uniform sampling over the space; per minibatch n = 4 masks, forward/backward each on the
  same batch, gradients averaged, one Adam step (the recipe's lr).
* MRG statistics per path, from the epoch's batches where the path ran: cosine of the
  batch-mean projected embeddings of its two modalities, the variance over steps of its
  block's gradient norm, the variance of its attention weights (heads x valid queries x valid
  keys x samples); each z-scored across paths (a path that never ran keeps its last value, or
  the mean). GAT: e_ij = LeakyReLU(a_s.W h_i + a_t.W h_j + a_e s_ij), h_m = the epoch's
  mean projected embedding of modality m (unit-normalised); p = softmax over targets j != i.
  a_e starts at 1 and W, a_s, a_t small, so the initial prior is mostly the MRG score.
* inclusion pi = clip((K-1) p 0.5, 0.05, 0.95), Bernoulli per path, all-off rejected; on a
  depth-extended space an included path takes a uniform depth in 1..max. Prior score
  P(m) = log-probability of m under pi. With K = 2 each source has one target, so p = 1 and the
  MRG cannot guide anything (pi = 0.5 throughout): the prior only matters for K >= 3.
* rank loss (B): soft prior ranks 1 + sum_j sigmoid((P_j - P_i)/0.1) against the
  stop-gradient performance ranks of the n losses of each minibatch; L1/L2 = mean |d|^p,
  Linf = max |d|, L0 = the logistic surrogate of the discordant-pair count. Weight 0.1, Adam
  lr 1e-2 on the prior's parameters only (the task loss never reaches them, so the weight only
  matters as zero vs non-zero: Adam is scale-invariant). At each epoch end the statistics and
  node features are recomputed from the epoch, then one prior step per minibatch of the epoch
  is taken on its (masks, losses); the updated prior samples the next epoch.
* selection: every mask (a seeded sample of 256 on larger spaces) is scored by one validation
  pass with the shared weights; the K = 3 best are evaluated through the run (their stand-alone
  metrics from the table / overlay / trainer), so the incumbent is the best stand-alone
  validation MAE among them.
* cost: the supernet is charged n x E x (mean stand-alone charged seconds per epoch over the
  scored masks) by :meth:`bench.trained_run.TrainedRun.charge`, from the oracle's cost model,
  never wall time. A search whose supernet would not fit the remaining seconds budget does not
  train (``settings["stopped"]`` says why). The outcome is cached in the oracle's overlay under
  ``Overlay.key(dataset, "search:mro:<settings digest>", torch_seed, recipe_key)``.

Also implemented (named in the result key through the settings digest): reading (A) of item 6,
``rank_reading="literal"`` (preset ``mro-literal``): R = mean over ordered pairs of the n masks of
max(0, (L_i - L_j) sign(P_i - P_j)) with the prior held fixed, added with the rank weight to the
network's loss, so it pushes the supernet towards the prior and never trains the prior;
``pick="within-flops"`` (preset ``mro-flops``): the top K among the masks with at most
``max_flops_ratio`` (0.75) of the all-paths MFLOPs, the paper's "sparse mask at fewer FLOPs"
claim made a constraint; every outcome reports both lists (``top_best``, ``top_within_flops``).
The selection pass (one validation forward per scored mask) is charged too: a third of a
training epoch's charged seconds per mask, scaled by validation rows over training rows.

Default rank loss: L2. The paper supports both readings: Table 4 has L1 best on MOSEI (rho
0.613; L1 and L2 pick the same mask there) and L2 best on MELD, and each dataset's norm was
picked on those results; Sec. 3.4 states that L2 "generally provided the best balance". We take
the general statement because a per-dataset choice made on test metrics would leak.

Measured (this project's 2-core EPYC shared with other jobs, load about 5, one thread; syn3-p2,
default recipe d=32, 4 heads, batch 32, 600 training rows, 2 epochs each): stand-alone full mask
1.87 s/epoch; supernet 4.14 s/epoch (n = 4 masks of 3.05 paths on average, attention weights
kept for Var_a), i.e. 2.2 full-mask epochs per supernet epoch; scoring all 63 masks 0.3 s. The
charge uses the cost model (quiet machine: 0.67 s/epoch for the full mask, 0.45 s mean over the
63 masks): 4 x 20 x 0.45 = 36 s per search, 2.7 full-mask epochs per supernet epoch, about 20%
above the measured ratio.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np

from bench.errors import BenchError

RANK_LOSSES = ("l0", "l1", "l2", "linf")


class MROSettingsError(BenchError, ValueError):
    """An MRO setting out of range; the message names the field."""


@dataclass(frozen=True)
class MROSettings:
    """All settings of an MRO search (design 3e; paper facts and our choices in the module doc)."""

    epochs: int | None = None  # supernet epochs; None: the stand-alone recipe's
    warmup: float = 0.2  # share of the epochs with uniform sampling (ceil)
    n_masks: int = 4  # masks per minibatch, gradients averaged, one step
    guidance: bool = True  # False: uniform sampling throughout (w/o Prior Guidance)
    mrg: bool = True  # False: free prior logits, initially uniform, moved only by the rank loss (w/o MRG)
    rank_loss: str = "l2"  # one of RANK_LOSSES
    rank_weight: float = 0.1  # 0: w/o Rank Regularisation
    prior_lr: float = 1e-2
    tau: float = 0.1  # soft-rank temperature
    density: float = 0.5  # target share of paths on: pi = (K-1) p density
    pi_min: float = 0.05
    pi_max: float = 0.95
    gat_dim: int = 8
    top_k: int = 3
    max_masks: int = 256  # masks scored with the shared weights (a seeded sample beyond)
    rank_reading: str = "prior"  # "prior": reading (B), the loss trains the prior; "literal": (A), the network
    pick: str = "best"  # "best": the top_k by shared-weight validation; "within-flops": among masks <= max_flops_ratio
    max_flops_ratio: float = 0.75  # x the all-paths MFLOPs, for pick="within-flops" and the reported constrained pick

    def __post_init__(self):
        def bad(name, why):
            raise MROSettingsError(f"MROSettings.{name} {why}, got {getattr(self, name)!r}")

        for name in ("n_masks", "gat_dim", "top_k", "max_masks"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                bad(name, "must be a whole number >= 1")
        if self.epochs is not None and (isinstance(self.epochs, bool) or not isinstance(self.epochs, int)
                                        or self.epochs < 1):
            bad("epochs", "must be None (the recipe's) or a whole number >= 1")
        if self.rank_loss not in RANK_LOSSES:
            bad("rank_loss", f"must be one of {', '.join(RANK_LOSSES)}")
        if self.rank_reading not in ("prior", "literal"):
            bad("rank_reading", "must be 'prior' or 'literal'")
        if self.pick not in ("best", "within-flops"):
            bad("pick", "must be 'best' or 'within-flops'")
        if not (isinstance(self.max_flops_ratio, (int, float)) and 0 < self.max_flops_ratio <= 1):
            bad("max_flops_ratio", "must be in (0, 1]")
        for name in ("guidance", "mrg"):
            if not isinstance(getattr(self, name), bool):
                bad(name, "must be True or False")
        for name, lo, hi in (("warmup", 0.0, 1.0), ("density", 0.0, 1.0)):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and lo <= v <= hi) or (name == "density" and v == 0):
                bad(name, f"must be in {'(' if name == 'density' else '['}{lo}, {hi}]")
        for name in ("rank_weight",):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                bad(name, "must be a finite number >= 0")
        for name in ("prior_lr", "tau"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                bad(name, "must be a finite number > 0")
        if not (isinstance(self.pi_min, (int, float)) and 0 < self.pi_min < 0.5):
            bad("pi_min", "must be in (0, 0.5)")
        if not (isinstance(self.pi_max, (int, float)) and 0.5 < self.pi_max < 1):
            bad("pi_max", "must be in (0.5, 1)")

    @property
    def digest(self) -> str:
        """12 hex digits of the settings, part of the supernet's cache key."""
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:12]


PRESETS: dict[str, MROSettings] = {
    "mro": MROSettings(),
    "mro-noprior": MROSettings(guidance=False),
    "mro-nomrg": MROSettings(mrg=False),
    "mro-norank": MROSettings(rank_weight=0.0),
    "mro-l0": MROSettings(rank_loss="l0"),
    "mro-l1": MROSettings(rank_loss="l1"),
    "mro-l2": MROSettings(rank_loss="l2"),
    "mro-linf": MROSettings(rank_loss="linf"),
    "mro-literal": MROSettings(rank_reading="literal"),
    "mro-flops": MROSettings(pick="within-flops"),
}


# ---- what the search needs from the oracle -------------------------------------------------
def _context(run) -> tuple[Any, Any]:
    """(sequence store, stand-alone recipe) of an MRO oracle (``oracle.store`` / ``oracle.recipe``)."""
    o = run.oracle
    store, recipe = getattr(o, "store", None), getattr(o, "recipe", None)
    if store is None or recipe is None or not hasattr(o, "overlay"):
        raise BenchError(f"the mro search needs an MRO oracle (bench.families.mro.open_oracle); "
                         f"{o.benchmark}/{o.dataset} gives no sequence store and recipe")
    return store, recipe


def _candidates(space, rng: np.random.Generator, limit: int) -> list[tuple[int, ...]]:
    """Masks scored with the shared weights: all, or a seeded sample of ``limit`` in index order."""
    if space.size <= limit:
        return list(space.enumerate())
    return [space.from_index(int(i)) for i in np.sort(rng.choice(space.size, size=limit, replace=False))]


def _supernet_cost(run, candidates, recipe, settings: MROSettings) -> float:
    """n_masks x epochs x the candidates' mean charged seconds per epoch, plus the selection:
    one validation forward per candidate (a third of a training step per row, on the
    validation rows)."""
    o = run.oracle
    per_epoch = [o.charged_seconds(o.key(a, run.train_seed)) / recipe.epochs for a in candidates]
    store = o.store
    val_share = len(store.rows(recipe.split, "val")) / len(store.rows(recipe.split, "train"))
    selection = float(np.sum(per_epoch)) * val_share / 3
    return settings.n_masks * (settings.epochs or recipe.epochs) * float(np.mean(per_epoch)) + selection


# ---- the prior (Eq. 1) and the rank loss (Eq. 2) -------------------------------------------
def _prior_module(k: int, d: int, settings: MROSettings):
    import torch
    from torch import nn

    class Prior(nn.Module):
        """p_{i->j} from the MRG statistics (or free logits without the MRG), and pi."""

        def __init__(self):
            super().__init__()
            n_paths = k * (k - 1)
            self.src = torch.tensor([i for i in range(k) for j in range(k) if i != j])
            self.tgt = torch.tensor([j for i in range(k) for j in range(k) if i != j])
            if settings.mrg:
                self.coef = nn.Parameter(torch.full((3,), 1 / 3))  # alpha, beta, gamma
                self.w = nn.Parameter(torch.randn(settings.gat_dim, d) / math.sqrt(d))
                self.a_src = nn.Parameter(torch.randn(settings.gat_dim) / math.sqrt(settings.gat_dim))
                self.a_tgt = nn.Parameter(torch.randn(settings.gat_dim) / math.sqrt(settings.gat_dim))
                self.a_edge = nn.Parameter(torch.ones(()))
            else:
                self.logits = nn.Parameter(torch.zeros(n_paths))

        def p(self, stats, nodes):
            """Per-source softmax over targets (Eq. 1); ``stats`` [paths, 3] z-scored, ``nodes`` [k, d]."""
            if settings.mrg:
                wh = nodes @ self.w.T
                e = nn.functional.leaky_relu(wh[self.src] @ self.a_src + wh[self.tgt] @ self.a_tgt
                                             + self.a_edge * (stats @ self.coef), 0.2)
            else:
                e = self.logits
            out = torch.empty_like(e)
            for i in range(k):
                sel = self.src == i
                out[sel] = torch.softmax(e[sel], 0)
            return out

        def pi(self, stats, nodes):
            return ((k - 1) * self.p(stats, nodes) * settings.density).clamp(settings.pi_min, settings.pi_max)

    return Prior()


def prior_score(pi, masks, max_depth: int):
    """log-probability of each mask (rows of depths) under inclusion ``pi`` and uniform depths."""
    import torch

    on = (masks > 0).to(pi.dtype)
    return (on * (torch.log(pi) - math.log(max_depth)) + (1 - on) * torch.log1p(-pi)).sum(1)


def rank_loss(score, losses, kind: str, tau: float):
    """Eq. 2, reading (B): soft ranks of the prior scores (rank 1 = highest) against the ranks
    of ``losses`` (rank 1 = lowest, ties halved, no gradient)."""
    import torch

    losses = losses.detach()
    n = len(score)
    off = ~torch.eye(n, dtype=torch.bool)
    if kind == "l0":  # logistic surrogate of the share of discordant pairs
        sign = torch.sign(losses[None, :] - losses[:, None])  # +1 where i has the lower loss than j
        pair = off & (sign != 0)
        if not pair.any():
            return score.sum() * 0
        margin = (score[:, None] - score[None, :]) * sign / tau
        return torch.nn.functional.softplus(-margin)[pair].mean()
    soft = 1 + (torch.sigmoid((score[None, :] - score[:, None]) / tau) * off).sum(1)
    perf = 1 + ((losses[None, :] < losses[:, None]).to(score.dtype)
                + 0.5 * ((losses[None, :] == losses[:, None]) & off).to(score.dtype)).sum(1)
    gap = (soft - perf).abs()
    return {"l1": gap.mean(), "l2": (gap ** 2).mean(), "linf": gap.max()}[kind]


def _zscore(columns: np.ndarray) -> np.ndarray:
    mean, sd = columns.mean(0), columns.std(0)
    return np.where(sd > 0, (columns - mean) / np.where(sd > 0, sd, 1), 0.0)


# ---- the supernet ------------------------------------------------------------------------------
def train_supernet(store, space, recipe, settings: MROSettings, seed: int, candidates: list) -> dict:
    """Train the weight-sharing supernet and score ``candidates`` with it (a plain dict)."""
    from bench.core.torchutil import pinned_numerics

    return pinned_numerics(_train_supernet)(store, space, recipe, settings, seed, candidates)


def _train_supernet(store, space, recipe, settings: MROSettings, seed: int, candidates: list) -> dict:
    import torch
    from torch.nn.functional import l1_loss

    from bench.families.mro.model import CrossModalNet
    from bench.families.mro.trainer import _tensors

    dev = torch.device("cpu")
    mods, k, n_paths, depth = store.modalities, len(store.modalities), space.n_paths, space.max_depth
    names = space.path_names()
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    mrng = np.random.default_rng([seed, 1])
    xtr, vtr, ytr = _tensors(store, recipe, "train", mods, dev)
    net = CrossModalNet(mods, (depth,) * n_paths, store.dims, recipe.d, recipe.heads, recipe.dropout, ytr.shape[1])
    prior = _prior_module(k, recipe.d, settings)
    opt = torch.optim.Adam(net.parameters(), lr=recipe.lr)
    popt = torch.optim.Adam(prior.parameters(), lr=settings.prior_lr)
    epochs = settings.epochs or recipe.epochs
    warmup = math.ceil(settings.warmup * epochs)
    mod_of = {m: i for i, m in enumerate(mods)}
    for layer in net.modules():
        if hasattr(layer, "keep_weights"):
            layer.keep_weights = True

    def uniform() -> tuple[int, ...]:
        return space.from_index(int(mrng.integers(space.size)))

    def guided(pi: np.ndarray) -> tuple[int, ...]:
        while True:
            on = mrng.random(n_paths) < pi
            depths = mrng.integers(1, depth + 1, size=n_paths)
            if on.any():
                return tuple(int(d) if o else 0 for o, d in zip(on, depths))

    literal = settings.rank_reading == "literal"
    literal_r: list[float] = []
    last = np.full((n_paths, 3), np.nan)  # a path that does not run in an epoch keeps its statistics
    stats_z, nodes = None, None
    pi_now = np.full(n_paths, 0.5)
    history, rank_losses, freq = [], [], {"warmup": np.zeros(n_paths), "guided": np.zeros(n_paths)}
    counts = {"warmup": 0, "guided": 0}
    n = len(ytr)
    for epoch in range(epochs):
        net.train()
        phase = "warmup" if epoch < warmup or not settings.guidance or stats_z is None else "guided"
        pi_sample = pi_now if phase == "guided" else None
        cos = [[] for _ in range(n_paths)]
        gnorm = [[] for _ in range(n_paths)]
        avar = [[] for _ in range(n_paths)]
        node_sum, node_n = torch.zeros(k, recipe.d), 0
        groups = []
        order = torch.randperm(n, generator=gen)
        for start in range(0, n, recipe.batch_size):
            idx = order[start:start + recipe.batch_size]
            xb, vb, yb = {m: xtr[m][idx] for m in mods}, {m: vtr[m][idx] for m in mods}, ytr[idx]
            masks = [uniform() if pi_sample is None else guided(pi_sample) for _ in range(settings.n_masks)]
            for m in masks:
                freq[phase] += np.asarray(m) > 0
            counts[phase] += len(masks)
            opt.zero_grad(set_to_none=True)
            losses, graph = [], []
            for mask in masks:
                loss = l1_loss(net(xb, vb, mask), yb)
                if literal:
                    graph.append(loss)
                else:
                    (loss / len(masks)).backward()
                losses.append(float(loss.detach()))
                for p, ((s, t), d_p) in enumerate(zip(space.paths, mask)):
                    if not d_p:
                        continue
                    ok_q = torch.cat([torch.ones(len(idx), 1, dtype=torch.bool), vb[t]], 1)  # null token first
                    ok_k = torch.cat([torch.ones(len(idx), 1, dtype=torch.bool), vb[s]], 1)
                    keep = (ok_q[:, None, :, None] & ok_k[:, None, None, :]).float()
                    for layer in net.blocks[f"{s}->{t}"][:d_p]:
                        w = layer.weights
                        keep_w = keep.expand_as(w)
                        mean = (w * keep_w).sum() / keep_w.sum()
                        avar[p].append(float(((w - mean) ** 2 * keep_w).sum() / keep_w.sum()))
            if literal:  # reading (A): the pairwise hinge on the task losses, ordered by the (fixed) prior
                total = torch.stack(graph).mean()
                if settings.rank_weight > 0 and stats_z is not None:
                    with torch.no_grad():
                        ps = prior_score(prior.pi(stats_z, nodes), torch.tensor(masks), depth)
                    lt = torch.stack(graph)
                    hinge = torch.relu((lt[:, None] - lt[None, :]) * torch.sign(ps[:, None] - ps[None, :]))
                    r_lit = hinge.sum() / max(1, len(masks) * (len(masks) - 1))
                    total = total + settings.rank_weight * r_lit
                    literal_r.append(float(r_lit.detach()))
                total.backward()
            active = np.array([any(m[p] for m in masks) for p in range(n_paths)])
            with torch.no_grad():  # batch-mean projected embedding per modality (valid steps)
                emb = torch.stack([(net.proj[m](xb[m]) * vb[m][..., None]).sum((0, 1)) / vb[m].sum().clamp(min=1)
                                   for m in mods])
            node_sum += emb
            node_n += 1
            for p, (s, t) in enumerate(space.paths):
                if active[p]:
                    cos[p].append(float(torch.nn.functional.cosine_similarity(emb[mod_of[s]], emb[mod_of[t]], 0)))
                    g = [q.grad for q in net.blocks[f"{s}->{t}"].parameters() if q.grad is not None]
                    gnorm[p].append(float(torch.sqrt(sum((q ** 2).sum() for q in g))) if g else 0.0)
            opt.step()
            groups.append((masks, losses))
        # update_prior: the epoch's statistics, then the rank loss on its (masks, losses)
        raw = np.array([[np.mean(cos[p]) if cos[p] else np.nan,
                         np.var(gnorm[p]) if len(gnorm[p]) > 1 else np.nan,
                         np.mean(avar[p]) if avar[p] else np.nan] for p in range(n_paths)])
        raw = np.where(np.isnan(raw), last, raw)
        last = raw
        filled = raw.copy()
        for c in range(3):  # a statistic no path has yet: neutral
            col = filled[:, c]
            col[np.isnan(col)] = np.nanmean(col) if not np.isnan(col).all() else 0.0
        stats_z = torch.as_tensor(_zscore(filled), dtype=torch.float32)
        h = node_sum / max(1, node_n)
        nodes = h / h.norm(dim=1, keepdim=True).clamp(min=1e-12)
        epoch_rank = []
        for masks, losses in groups:
            score = prior_score(prior.pi(stats_z, nodes), torch.tensor(masks), depth)
            r = rank_loss(score, torch.tensor(losses), settings.rank_loss, settings.tau)
            epoch_rank.append(float(r.detach()))
            if settings.rank_weight > 0 and not literal:  # (A) never trains the prior
                popt.zero_grad(set_to_none=True)
                (settings.rank_weight * r).backward()
                popt.step()
        rank_losses.append(float(np.mean(epoch_rank)))
        with torch.no_grad():
            pi_now = prior.pi(stats_z, nodes).numpy().astype(np.float64)
        history.append([round(float(v), 6) for v in pi_now])

    # selection: one validation pass per candidate with the shared weights
    for layer in net.modules():
        if hasattr(layer, "keep_weights"):
            layer.keep_weights, layer.weights = False, None
    xv, vv, yv = _tensors(store, recipe, "val", mods, dev)
    net.eval()
    shared = {}
    with torch.no_grad():
        for a in candidates:
            shared[space.encode(a)] = float((net(xv, vv, a) - yv).abs().mean())
        pi_t = prior.pi(stats_z, nodes) if stats_z is not None else torch.full((n_paths,), 0.5)
        p_t = prior.p(stats_z, nodes) if stats_z is not None else torch.full((n_paths,), 1 / max(1, k - 1))
        scores = prior_score(pi_t, torch.tensor([list(a) for a in candidates]), depth).numpy()
    texts = list(shared)
    from bench.families.mro.cost import _mflops

    mflops = {t: _mflops(t, store, recipe, space) for t in texts}
    limit = settings.max_flops_ratio * _mflops(space.encode((depth,) * n_paths), store, recipe, space)
    ranked = sorted(range(len(texts)), key=lambda i: (shared[texts[i]], i))
    within = [texts[i] for i in ranked if mflops[texts[i]] <= limit][:settings.top_k]
    top = ranked[:settings.top_k]
    from scipy.stats import spearmanr

    # a constant prior (e.g. K = 2, or one never moved) ranks nothing: no rho
    rho = (spearmanr(scores, [-shared[t] for t in texts]).statistic if len(texts) > 2 and np.ptp(scores) > 0
           else float("nan"))
    out = {
        "top": [texts[i] for i in top] if settings.pick == "best" else within,
        "top_best": [texts[i] for i in top],
        "top_within_flops": within,
        "flops_limit": round(float(limit), 6),
        "shared_val_mae": {t: round(v, 8) for t, v in shared.items()},
        "prior_score": {t: round(float(s), 8) for t, s in zip(texts, scores)},
        "rho_prior_shared": None if not np.isfinite(rho) else round(float(rho), 6),
        "prior_pi": {nm: round(float(v), 6) for nm, v in zip(names, pi_t.tolist())},
        "prior_p": {nm: round(float(v), 6) for nm, v in zip(names, p_t.tolist())},
        "prior_history": history,
        "rank_loss": [round(v, 6) for v in rank_losses],
        "literal_rank_loss": round(float(np.mean(literal_r)), 6) if literal_r else None,
        "path_freq": {ph: [round(float(f / counts[ph]), 6) for f in freq[ph]] if counts[ph] else None for ph in freq},
        "n_sampled": counts,
        "epochs": epochs,
        "warmup_epochs": warmup,
    }
    if settings.mrg:
        out["mrg_coef"] = {nm: round(float(v), 6) for nm, v in zip(("alpha", "beta", "gamma"), prior.coef.tolist())}
        out["mrg_stats_z"] = {nm: [round(float(v), 6) for v in row] for nm, row in zip(names, stats_z.tolist())}
    return out


# ---- the algorithms ------------------------------------------------------------------------
def mro(run, rng: np.random.Generator, settings: MROSettings | None = None, name: str = "mro") -> None:
    """MRO on a :class:`~bench.trained_run.TrainedRun` of the ``mro`` family (see the module doc)."""
    import time

    from bench.overlay import Overlay

    s = settings if settings is not None else PRESETS["mro"]
    if not isinstance(s, MROSettings):
        raise MROSettingsError(f"{name}: settings must be an MROSettings, got {type(s).__name__}")
    store, recipe = _context(run)
    space, oracle = run.space, run.oracle
    seed = int(rng.integers(2 ** 31 - 1))  # every random choice below derives from this
    candidates = _candidates(space, np.random.default_rng([seed, 2]), s.max_masks)
    label = f"search:mro:{s.digest}"
    key = Overlay.key(oracle.dataset, label, seed, recipe.key)
    info = run.record.settings
    info.update({"algorithm": name, "mro": asdict(s), "supernet_key": key})
    outcome = oracle.overlay.get(key)
    # the charge comes from the oracle's cost model, never from the cached outcome: a repeat
    # on the same table costs the same, and a supernet trained before the table existed is
    # charged what the table's cost model says
    cost = _supernet_cost(run, candidates, recipe, s)
    left = None if run.record.budget_seconds is None else run.record.budget_seconds - run.sim_seconds
    if left is not None and cost > left:
        info["stopped"] = (f"the supernet costs {cost:.1f} charged seconds, more than the {max(left, 0.0):.1f} "
                           "left in the budget; nothing trained or charged")
        return
    if outcome is None:
        t0 = time.perf_counter()
        outcome = train_supernet(store, space, recipe, s, seed, candidates)
        outcome.update(charged_seconds=cost, wall_seconds=time.perf_counter() - t0,
                       store_sha256=store.content_sha256)
        oracle.overlay.put(key, oracle.dataset, label, seed, recipe.key, outcome)
    run.charge(cost, "mro supernet")
    info.update({k: v for k, v in outcome.items() if k not in ("wall_seconds", "store_sha256", "charged_seconds")})
    for text in outcome["top"]:
        if run.done:
            break
        run.evaluate(space.decode(text))


def exhaustive(run, rng: np.random.Generator, settings=None) -> None:
    """Every architecture of the space in index order until the run is done (``rng`` unused)."""
    if settings is not None:
        raise MROSettingsError(f"exhaustive takes no settings, got {settings!r}")
    space = run.space
    for i in range(space.size):
        if run.done:
            break
        run.evaluate(space.from_index(i))


def _preset(name: str) -> Callable:
    from bench.core.presets import preset_algorithm

    return preset_algorithm(name, PRESETS[name], mro, "MRO")


ALGORITHMS: dict[str, Callable] = {**{name: _preset(name) for name in PRESETS}, "exhaustive": exhaustive}

__all__ = ["ALGORITHMS", "PRESETS", "MROSettings", "MROSettingsError", "RANK_LOSSES", "mro", "exhaustive",
           "train_supernet", "prior_score", "rank_loss"]
