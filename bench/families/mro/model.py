"""The pairwise cross-modal transformer whose paths MRO switches on and off.

Each modality's steps are projected to the model dimension ``d``, and a learned null token
is put in front of every modality's sequence: it is always a valid key and query, so a
modality that is absent as a whole (POM's video in about half the samples) or a short
sequence never leaves attention with nothing to attend to. A path ``s->t`` of depth L is L
layers of (LayerNorm -> cross-attention with queries from the target stream and keys/values
from the source -> residual -> LayerNorm -> feed-forward 4d -> residual), the MulT
convention (MRO does not say which side queries). Each active path's output is mean-pooled
over the target's valid steps (null token included); the active paths are averaged and a
linear head predicts the labels. Only active paths are built, so a model's parameters and
FLOPs are those of its sub-network.

MRO's weight-sharing supernet (:mod:`bench.families.mro.search`) is the same class built with
every path at full depth and run with ``forward(x, valid, arch)``: each path of depth k uses
its first k layers, so a stand-alone sub-network and the supernet share one code path.
"""

from __future__ import annotations

import torch
from torch import nn

from bench.families.mro.space import paths_of


class PathLayer(nn.Module):
    def __init__(self, d: int, heads: int, dropout: float):
        super().__init__()
        self.ln_q, self.ln_kv, self.ln_ff = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, heads, dropout=dropout, batch_first=True)
        self.ff = nn.Sequential(nn.Linear(d, 4 * d), nn.ReLU(), nn.Dropout(dropout), nn.Linear(4 * d, d))
        self.drop = nn.Dropout(dropout)
        #: when True, ``weights`` keeps the last forward's per-head attention weights (detached),
        #: which MRO's attention-variance statistic reads; off for stand-alone training
        self.keep_weights = False
        self.weights: torch.Tensor | None = None

    def forward(self, h: torch.Tensor, src: torch.Tensor, src_pad: torch.Tensor) -> torch.Tensor:
        kv = self.ln_kv(src)
        if self.keep_weights:
            a, w = self.attn(self.ln_q(h), kv, kv, key_padding_mask=src_pad, need_weights=True,
                             average_attn_weights=False)
            self.weights = w.detach()
        else:
            a, _ = self.attn(self.ln_q(h), kv, kv, key_padding_mask=src_pad, need_weights=False)
        h = h + self.drop(a)
        return h + self.drop(self.ff(self.ln_ff(h)))


class CrossModalNet(nn.Module):
    """Sub-network of the pairwise cross-modal transformer for one path architecture."""

    def __init__(self, modalities: list[str], arch: tuple[int, ...], dims: dict[str, int], d: int, heads: int,
                 dropout: float, n_out: int):
        super().__init__()
        self.modalities = list(modalities)
        self.paths = [(s, t, depth) for (s, t), depth in zip(paths_of(self.modalities), arch) if depth]
        used = sorted({m for s, t, _ in self.paths for m in (s, t)}, key=self.modalities.index)
        self.used = used
        self.proj = nn.ModuleDict({m: nn.Linear(dims[m], d) for m in used})
        self.null = nn.ParameterDict({m: nn.Parameter(torch.zeros(1, 1, d)) for m in used})
        self.blocks = nn.ModuleDict({f"{s}->{t}": nn.ModuleList([PathLayer(d, heads, dropout) for _ in range(depth)])
                                     for s, t, depth in self.paths})
        self.head = nn.Linear(d, n_out)
        self.d = d

    def embed(self, x: dict[str, torch.Tensor], valid: dict[str, torch.Tensor], used: list[str] | None = None):
        """Projected sequences with the null token first, and their padding masks (True = pad),
        of the modalities ``used`` (default: all this model has)."""
        seq, pad = {}, {}
        for m in self.used if used is None else used:
            z = self.proj[m](x[m])
            n = z.shape[0]
            seq[m] = torch.cat([self.null[m].expand(n, 1, self.d), z], dim=1)
            pad[m] = torch.cat([torch.zeros(n, 1, dtype=torch.bool, device=z.device), ~valid[m]], dim=1)
        return seq, pad

    def active(self, arch: tuple[int, ...] | None = None) -> list[tuple[str, str, int]]:
        """(source, target, depth) of the paths ``arch`` runs (None: every built path, full depth)."""
        if arch is None:
            return self.paths
        built = {f"{s}->{t}": depth for s, t, depth in self.paths}
        out = [(s, t, k) for (s, t), k in zip(paths_of(self.modalities), arch) if k]
        for s, t, k in out:
            if k > built.get(f"{s}->{t}", 0):
                raise ValueError(f"path {s}->{t} at depth {k}: this model built it with depth {built.get(f'{s}->{t}', 0)}")
        return out

    def forward(self, x: dict[str, torch.Tensor], valid: dict[str, torch.Tensor],
                arch: tuple[int, ...] | None = None) -> torch.Tensor:
        """Predictions of the sub-network ``arch`` (None: this model's own architecture)."""
        paths = self.active(arch)
        used = None if arch is None else [m for m in self.used if any(m in (s, t) for s, t, _ in paths)]
        seq, pad = self.embed(x, valid, used)
        pooled = []
        for s, t, depth in paths:
            h = seq[t]
            for layer in self.blocks[f"{s}->{t}"][:depth]:
                h = layer(h, seq[s], pad[s])
            keep = (~pad[t]).unsqueeze(-1).to(h.dtype)
            pooled.append((h * keep).sum(1) / keep.sum(1))
        return self.head(torch.stack(pooled).mean(0))

    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def flops(self, steps: dict[str, int]) -> int:
        """Forward FLOPs per sample, 2 x multiply-adds (the suite's convention), counted from the
        shapes: projections, each path layer's attention (Q, K, V, scores, weighted sum, output)
        and feed-forward, and the head; element-wise work (norms, softmax) is left out."""
        d = self.d
        total = sum(2 * steps[m] * self.proj[m].in_features * d for m in self.used)
        for s, t, depth in self.paths:
            ts, tt = steps[s] + 1, steps[t] + 1  # the null token is one more step
            layer = 2 * tt * d * d + 2 * 2 * ts * d * d + 2 * 2 * tt * ts * d + 2 * tt * d * d + 2 * 2 * tt * d * 4 * d
            total += depth * layer
        return total + 2 * d * self.head.out_features
