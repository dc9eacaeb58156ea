"""The RMNAS network (``003_ca6407ec0d2ea38c.txt``, Eq. 1-13), scaled: per modality a projection,
sinusoidal positions, a trainable global token in front and ``blocks`` MetaFormer blocks
(LayerNorm -> token mixers -> residual -> LayerNorm -> feed-forward 4d -> residual); the global
tokens of the last blocks are fused by a chain of BM-NAS steps; a linear head on the fused
vector and one per modality (the paper adds the task loss of every unimodal branch).

Token mixers on ``h`` [n, L, d] (L = frames + the global token):

* ``att``: multi-head attention with the LST bias per head and key padding;
* ``rand``: softmax(RM + mean over heads of LST) @ h, RM a frozen random [L, L] matrix;
* ``pool``: the mean over a window of 3 valid tokens, minus h (padding excluded);
* ``id``: h.

LST (Algorithm 1): a Conv1d (kernel 7) over the modality's raw frames gives ``heads``
trend channels; AST = its outputs at frames 1..N-1 (the step from frame t-1 to t); the bias
between frames i < j is the mean of AST over the steps i+1..j (a chain's shortest path),
0 on the diagonal, plus DisEncoder(|i - j|) (a Linear(1, heads)) within ``maxdis`` frames and
-1e4 beyond it (a finite stand-in for -inf); the global token's row and column are
DisEncoder(-1). Without LST both softmax mixers attend over every valid token.

A block's mixer set is averaged (uniform weights, the discretised counterpart of the search's
softmax mixture). The supernet is the same class with every mixer and fusion op built, run
with ``weights``: per modality and block a softmax over :data:`MIXERS`, per step one over
:data:`FUSION_OPS`.

Fusion steps (BM-NAS's step ops on the global tokens; ``a`` the running vector, ``b`` the next
modality's global token): ``sum`` a + b; ``attn`` a + scaled dot-product attention from a to
the next modality's tokens; ``glu`` GLU(Linear(a ; b)); ``concatfc`` ReLU(Linear(a ; b)).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from bench.families.rmnas.space import FUSION_OPS, MIXERS, RMArch

NEG = -1e4


def positions(n: int, d: int) -> torch.Tensor:
    """Sinusoidal positional encoding [n, d] (Eq. 1)."""
    pos = torch.arange(n, dtype=torch.float32).unsqueeze(1)
    div = torch.exp(torch.arange(0, d, 2, dtype=torch.float32) * (-math.log(10000.0) / d))
    pe = torch.zeros(n, d)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div[: d // 2])
    return pe


class LSTBias(nn.Module):
    """The local-sentiment-trend bias [n, heads, L, L] of one modality (see the module doc)."""

    def __init__(self, in_dim: int, heads: int, kernel: int, maxdis: int, steps: int):
        super().__init__()
        self.enc = nn.Conv1d(in_dim, heads, kernel, padding=kernel // 2)
        self.dis = nn.Linear(1, heads)
        self.maxdis = maxdis
        idx = torch.arange(steps)
        dist = (idx[:, None] - idx[None, :]).abs().float()
        self.register_buffer("dist", dist, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t, _ = x.shape
        ast = self.enc(x.transpose(1, 2))[:, :, 1:]                      # [n, H, t-1]
        c = torch.cat([ast.new_zeros(n, ast.shape[1], 1), ast.cumsum(-1)], -1)   # c[k] = sum ast[:k]
        i = torch.arange(t, device=x.device)
        lo, hi = torch.minimum(i[:, None], i[None, :]), torch.maximum(i[:, None], i[None, :])
        span = (hi - lo).clamp(min=1).to(x.dtype)
        st = (c[:, :, hi] - c[:, :, lo]) / span                          # [n, H, t, t]; 0 on the diagonal
        dm = self.dis(self.dist[:t, :t].unsqueeze(-1)).permute(2, 0, 1)  # [H, t, t]
        dm = dm.masked_fill((self.dist[:t, :t] > self.maxdis).unsqueeze(0), NEG)
        frames = st + dm.unsqueeze(0)
        g = self.dis(x.new_full((1,), -1.0))                              # [H]
        out = g.view(1, -1, 1, 1).expand(n, -1, t + 1, t + 1).clone()
        out[:, :, 1:, 1:] = frames
        return out


class Mixers(nn.Module):
    """The mixers of one block (only those named are built)."""

    def __init__(self, names: tuple[str, ...], d: int, heads: int, steps: int, dropout: float):
        super().__init__()
        self.names, self.heads, self.d = names, heads, d
        if "att" in names:
            self.qkv, self.out = nn.Linear(d, 3 * d), nn.Linear(d, d)
        if "rand" in names:
            self.register_buffer("rm", torch.randn(steps + 1, steps + 1))  # frozen: not a parameter
        self.drop = nn.Dropout(dropout)

    def _softmax(self, scores: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        return torch.softmax(scores.masked_fill(pad[:, None, None, :] if scores.dim() == 4 else pad[:, None, :], NEG), -1)

    def mix(self, name: str, h: torch.Tensor, pad: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        n, length, d = h.shape
        if name == "id":
            return h
        if name == "pool":
            keep = (~pad).unsqueeze(-1).to(h.dtype)
            s = nn.functional.avg_pool1d((h * keep).transpose(1, 2), 3, 1, 1, count_include_pad=True)
            c = nn.functional.avg_pool1d(keep.transpose(1, 2), 3, 1, 1, count_include_pad=True)
            return (s / c.clamp(min=1e-6)).transpose(1, 2) * keep - h
        if name == "rand":
            scores = self.rm[:length, :length].unsqueeze(0)
            if bias is not None:
                scores = scores + bias.mean(1)
            return self.drop(self._softmax(scores.expand(n, -1, -1), pad)) @ h
        dh = d // self.heads
        q, k, v = self.qkv(h).view(n, length, 3, self.heads, dh).permute(2, 0, 3, 1, 4)
        scores = q @ k.transpose(-1, -2) / math.sqrt(dh)
        if bias is not None:
            scores = scores + bias
        a = self.drop(self._softmax(scores, pad)) @ v
        return self.out(a.transpose(1, 2).reshape(n, length, d))

    def forward(self, h, pad, bias, weights: torch.Tensor | None = None) -> torch.Tensor:
        if weights is None:
            return sum(self.mix(m, h, pad, bias) for m in self.names) / len(self.names)
        return sum(w * self.mix(m, h, pad, bias) for w, m in zip(weights, self.names))


class Block(nn.Module):
    def __init__(self, names, d, heads, steps, dropout):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.mixers = Mixers(names, d, heads, steps, dropout)
        self.ff = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Dropout(dropout), nn.Linear(4 * d, d))
        self.drop = nn.Dropout(dropout)

    def forward(self, h, pad, bias, weights=None):
        h = h + self.drop(self.mixers(self.ln1(h), pad, bias, weights))
        return h + self.drop(self.ff(self.ln2(h)))


class FusionStep(nn.Module):
    def __init__(self, ops: tuple[str, ...], d: int):
        super().__init__()
        self.ops = ops
        if "attn" in ops:
            self.q, self.kv = nn.Linear(d, d), nn.Linear(d, 2 * d)
        if "glu" in ops:
            self.glu = nn.Linear(2 * d, 2 * d)
        if "concatfc" in ops:
            self.fc = nn.Linear(2 * d, d)
        self.d = d

    def op(self, name, a, b, seq_b, pad_b):
        if name == "sum":
            return a + b
        if name == "glu":
            return nn.functional.glu(self.glu(torch.cat([a, b], -1)), -1)
        if name == "concatfc":
            return torch.relu(self.fc(torch.cat([a, b], -1)))
        k, v = self.kv(seq_b).chunk(2, -1)
        if a.dim() == 3:  # per token (dialogue level): each utterance attends over the other modality's
            w = self.q(a) @ k.transpose(1, 2) / math.sqrt(self.d)
            return a + torch.softmax(w.masked_fill(pad_b[:, None, :], NEG), -1) @ v
        w = (self.q(a).unsqueeze(1) * k).sum(-1) / math.sqrt(self.d)
        w = torch.softmax(w.masked_fill(pad_b, NEG), -1)
        return a + (w.unsqueeze(-1) * v).sum(1)

    def forward(self, a, b, seq_b, pad_b, weights=None):
        if weights is None:
            return self.op(self.ops[0], a, b, seq_b, pad_b)
        return sum(w * self.op(o, a, b, seq_b, pad_b) for w, o in zip(weights, self.ops))


class RMNASNet(nn.Module):
    """One architecture of :class:`~bench.families.rmnas.space.RMNASSpace` (``arch``), or the
    supernet (``arch=None``: every mixer and op built; call with ``weights``)."""

    def __init__(self, modalities: list[str], arch: RMArch | None, dims: dict[str, int], steps: dict[str, int],
                 d: int, heads: int, blocks: int, kernel: int, maxdis: int, dropout: float, n_out: int,
                 lst: bool | None = None, per_token: bool = False):
        super().__init__()
        #: predict per token (dialogue level: per utterance) instead of from the global tokens
        self.per_token = per_token
        self.modalities, self.arch, self.d, self.heads = list(modalities), arch, d, heads
        self.used = self.modalities
        self.lst = arch.lst if arch is not None else bool(lst)
        sets = arch.mixers if arch is not None else tuple((MIXERS,) * blocks for _ in modalities)
        ops = arch.fusion if arch is not None else (FUSION_OPS,) * (len(modalities) - 1)
        self.proj = nn.ModuleDict({m: nn.Linear(dims[m], d) for m in modalities})
        self.glob = nn.ParameterDict({m: nn.Parameter(torch.zeros(1, 1, d)) for m in modalities})
        for m in modalities:
            self.register_buffer(f"pe_{m}", positions(steps[m], d), persistent=False)
        self.blocks = nn.ModuleDict({m: nn.ModuleList([Block(tuple(s), d, heads, steps[m], dropout) for s in bs])
                                     for m, bs in zip(modalities, sets)})
        need_lst = self.lst and (arch is None or arch.uses_softmax_mixer)
        self.lst_bias = nn.ModuleDict({m: LSTBias(dims[m], heads, kernel, maxdis, steps[m]) for m in modalities}
                                      ) if need_lst else None
        self.norm = nn.ModuleDict({m: nn.LayerNorm(d) for m in modalities})
        self.steps = nn.ModuleList([FusionStep(o if isinstance(o, tuple) else (o,), d) for o in ops])
        self.head = nn.Linear(d, n_out)
        self.uni = nn.ModuleDict({m: nn.Linear(d, n_out) for m in modalities})
        self.n_steps_in = dict(steps)

    def encode(self, m: str, x: torch.Tensor, valid: torch.Tensor, weights=None):
        n = x.shape[0]
        z = self.proj[m](x) + getattr(self, f"pe_{m}")[: x.shape[1]]
        h = torch.cat([self.glob[m].expand(n, 1, self.d), z], 1)
        pad = torch.cat([torch.zeros(n, 1, dtype=torch.bool, device=x.device), ~valid], 1)
        bias = self.lst_bias[m](x) if self.lst_bias is not None else None
        for b, block in enumerate(self.blocks[m]):
            h = block(h, pad, bias, None if weights is None else weights[b])
        return self.norm[m](h), pad

    def forward(self, x: dict, valid: dict, weights: dict | None = None):
        """(fused predictions, {modality: unimodal predictions}); ``weights`` (supernet only):
        ``{"mixers": {m: [blocks, 4]}, "fusion": [steps, 4]}`` softmax weights."""
        seqs = {m: self.encode(m, x[m], valid[m], None if weights is None else weights["mixers"][m])
                for m in self.modalities}
        pick = (lambda s: s[:, 1:]) if self.per_token else (lambda s: s[:, 0])
        a = pick(seqs[self.modalities[0]][0])
        for k, step in enumerate(self.steps):
            seq, pad = seqs[self.modalities[k + 1]]
            a = step(a, pick(seq), seq, pad, None if weights is None else weights["fusion"][k])
        return self.head(a), {m: self.uni[m](pick(s)) for m, (s, _) in seqs.items()}

    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def flops(self, steps: dict[str, int]) -> int:
        """Forward FLOPs per sample (2 x multiply-adds) of a discrete architecture, from the
        shapes: projections, mixers (QKV, scores, weighted sums, output; random and pooled
        mixing), feed-forward, LST convolution, fusion steps and heads; norms, softmax and
        element-wise work left out."""
        d, total = self.d, 0
        arch = self.arch
        for i, m in enumerate(self.modalities):
            t = steps[m]
            n = t + 1
            total += 2 * t * self.proj[m].in_features * d
            if self.lst_bias is not None:
                total += 2 * t * self.proj[m].in_features * self.heads * self.lst_bias[m].enc.kernel_size[0]
            for s in (arch.mixers[i] if arch is not None else (MIXERS,) * len(self.blocks[m])):
                for mixer in s:
                    if mixer == "att":
                        total += 2 * n * d * 3 * d + 2 * 2 * n * n * d + 2 * n * d * d
                    elif mixer == "rand":
                        total += 2 * n * n * d
                    elif mixer == "pool":
                        total += 3 * n * d
                total += 2 * 2 * n * d * 4 * d
            total += 2 * d * self.head.out_features
        for k, step in enumerate(self.steps):
            for op in step.ops:
                nb = steps[self.modalities[k + 1]] + 1
                total += {"sum": 0, "glu": 2 * 2 * d * 2 * d, "concatfc": 2 * 2 * d * d,
                          "attn": 2 * d * d + 2 * nb * d * 2 * d + 2 * 2 * nb * d}[op]
        return total + 2 * d * self.head.out_features
