"""HF-MNAS's edge operations and the nine node fusion operations of Table VIII, on token
sequences ``[batch, tokens, channels]`` (each feature is projected to a few tokens so the
pooling and convolution edges have a length axis to act on).

Where the paper leaves an operation open, the reading here is ours and said so:

* ``biatt`` (Bidirectional_Attention, not defined in the paper): BiDAF-style, parameter-free:
  similarity ``S = x1 x2^T / sqrt(C)``, then ``softmax_row(S) x2 + softmax_row(S^T) x1``.
* ``mhatt`` (Eq. 14-16): x1 attends to x2 and x2 to x1, each with its own multi-head
  projections, the two results concatenated and projected (the standard cross-attention
  reading; Eq. 15 as printed multiplies by V1 after attending with K2).
* ``mamba`` (Eq. 23): per input, a depthwise convolution and SiLU, then a 1-D selective scan
  (input-dependent step, B and C; state size 4) along the tokens, gated by SiLU of the
  *other* input; the two gated outputs are summed and projected. The paper's scan is 2-D
  (ES2D over image patches); ours runs along the token axis.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


class Zero(nn.Module):
    def forward(self, x):
        return x * 0.0


class Identity(nn.Module):
    def forward(self, x):
        return x


class Pool(nn.Module):
    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind

    def forward(self, x):
        t = x.transpose(1, 2)
        if self.kind == "max":
            t = F.max_pool1d(t, 3, 1, 1)
        else:
            t = F.avg_pool1d(t, 3, 1, 1, count_include_pad=False)
        return t.transpose(1, 2)


class SepConv(nn.Module):
    """ReLU, depthwise 3-tap convolution along the tokens (dilation 1 or 2), pointwise mix."""

    def __init__(self, c: int, dilation: int):
        super().__init__()
        self.depth = nn.Conv1d(c, c, 3, padding=dilation, dilation=dilation, groups=c, bias=False)
        self.point = nn.Conv1d(c, c, 1)

    def forward(self, x):
        return self.point(self.depth(F.relu(x).transpose(1, 2))).transpose(1, 2)


class LinearAct(nn.Module):
    def __init__(self, c: int, act):
        super().__init__()
        self.lin, self.act = nn.Linear(c, c), act

    def forward(self, x):
        return self.act(self.lin(x))


def edge_op(name: str, c: int) -> nn.Module:
    """One of :data:`bench.families.hfmnas.space.EDGE_OPS` on ``c`` channels."""
    return {
        "maxpool": lambda: Pool("max"), "avgpool": lambda: Pool("avg"),
        "sepconv": lambda: SepConv(c, 1), "dilconv": lambda: SepConv(c, 2),
        "skip": Identity, "none": Zero,
        "linrelu": lambda: LinearAct(c, F.relu), "linsig": lambda: LinearAct(c, torch.sigmoid),
        "lintanh": lambda: LinearAct(c, torch.tanh), "linelu": lambda: LinearAct(c, F.elu),
    }[name]()


# -- node fusion operations ------------------------------------------------------------------------
class Sum(nn.Module):
    def forward(self, a, b):
        return a + b


class Multiply(nn.Module):
    def forward(self, a, b):
        return a * b


class ConcatFC(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.fc = nn.Linear(2 * c, c)

    def forward(self, a, b):
        return F.relu(self.fc(torch.cat([a, b], -1)))


class LinearGLU(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.value, self.gate = nn.Linear(c, c), nn.Linear(c, c)

    def forward(self, a, b):
        return self.value(a) * torch.sigmoid(self.gate(b))


class SqueezeExcitation(nn.Module):
    """Channel gate from ``a``'s token average (squeeze, reduce 4x, excite) applied to ``b``."""

    def __init__(self, c: int):
        super().__init__()
        self.down, self.up = nn.Linear(c, max(1, c // 4)), nn.Linear(max(1, c // 4), c)

    def forward(self, a, b):
        return b * torch.sigmoid(self.up(F.relu(self.down(a.mean(1))))).unsqueeze(1)


class ScaleDotAttention(nn.Module):
    """Single-head attention, queries from ``a``, keys and values from ``b``."""

    def __init__(self, c: int):
        super().__init__()
        self.q, self.k, self.v = nn.Linear(c, c), nn.Linear(c, c), nn.Linear(c, c)

    def forward(self, a, b):
        w = torch.softmax(self.q(a) @ self.k(b).transpose(1, 2) / math.sqrt(a.shape[-1]), -1)
        return w @ self.v(b)


class BidirectionalAttention(nn.Module):
    def forward(self, a, b):
        s = a @ b.transpose(1, 2) / math.sqrt(a.shape[-1])
        return torch.softmax(s, -1) @ b + torch.softmax(s.transpose(1, 2), -1) @ a


class MultiHeadAttention(nn.Module):
    def __init__(self, c: int, heads: int, dropout: float):
        super().__init__()
        self.ab = nn.MultiheadAttention(c, heads, dropout=dropout, batch_first=True)
        self.ba = nn.MultiheadAttention(c, heads, dropout=dropout, batch_first=True)
        self.out = nn.Linear(2 * c, c)

    def forward(self, a, b):
        x, _ = self.ab(a, b, b, need_weights=False)
        y, _ = self.ba(b, a, a, need_weights=False)
        return self.out(torch.cat([x, y], -1))


class _Scan(nn.Module):
    """One input's branch of :class:`MambaFusion`: depthwise conv, SiLU, selective scan."""

    def __init__(self, c: int, state: int):
        super().__init__()
        self.inp, self.gate = nn.Linear(c, c), nn.Linear(c, c)
        self.conv = nn.Conv1d(c, c, 3, padding=1, groups=c)
        self.delta, self.B, self.C = nn.Linear(c, c), nn.Linear(c, state), nn.Linear(c, state)
        self.A_log = nn.Parameter(torch.log(torch.arange(1, state + 1, dtype=torch.float32)).repeat(c, 1))
        self.D = nn.Parameter(torch.ones(c))

    def forward(self, x):
        u = F.silu(self.conv(self.inp(x).transpose(1, 2)).transpose(1, 2))
        dt = F.softplus(self.delta(u))  # [n, T, C]
        Bm, Cm = self.B(u), self.C(u)  # [n, T, N]
        A = -torch.exp(self.A_log)  # [C, N]
        h = x.new_zeros(x.shape[0], x.shape[2], A.shape[1])
        ys = []
        for t in range(x.shape[1]):
            h = torch.exp(dt[:, t, :, None] * A) * h + (dt[:, t] * u[:, t])[:, :, None] * Bm[:, t, None, :]
            ys.append((h * Cm[:, t, None, :]).sum(-1))
        return torch.stack(ys, 1) + self.D * u, self.gate(x)


class MambaFusion(nn.Module):
    def __init__(self, c: int, state: int = 4):
        super().__init__()
        self.sa, self.sb = _Scan(c, state), _Scan(c, state)
        self.out = nn.Linear(c, c)

    def forward(self, a, b):
        ya, za = self.sa(a)
        yb, zb = self.sb(b)
        return self.out(ya * F.silu(zb) + yb * F.silu(za))


def fusion_op(name: str, c: int, heads: int, dropout: float) -> nn.Module:
    """One of :data:`bench.families.hfmnas.space.FUSION_OPS` on ``c`` channels."""
    return {
        "sum": Sum, "mul": Multiply, "concatfc": lambda: ConcatFC(c), "glu": lambda: LinearGLU(c),
        "se": lambda: SqueezeExcitation(c), "sdatt": lambda: ScaleDotAttention(c),
        "biatt": BidirectionalAttention, "mhatt": lambda: MultiHeadAttention(c, heads, dropout),
        "mamba": lambda: MambaFusion(c),
    }[name]()


def dcca_correlation(a: torch.Tensor, b: torch.Tensor, k: int, ridge: float = 1e-3) -> torch.Tensor:
    """Sum of the top ``k`` canonical correlations between the rows of ``a`` and ``b``
    ([batch, dim] each; Andrew et al.'s DCCA objective, maximised during training). Each side is
    whitened by the inverse Cholesky factor of its covariance (``ridge`` on the diagonal keeps a
    small batch invertible); the correlations are the singular values of the whitened
    cross-covariance, whose gradients stay finite where singular values repeat. In float64."""
    a, b = a.double(), b.double()
    n = a.shape[0]
    a, b = a - a.mean(0), b - b.mean(0)
    s11 = a.T @ a / (n - 1) + ridge * torch.eye(a.shape[1], dtype=a.dtype, device=a.device)
    s22 = b.T @ b / (n - 1) + ridge * torch.eye(b.shape[1], dtype=b.dtype, device=b.device)
    l1, l2 = torch.linalg.cholesky(s11), torch.linalg.cholesky(s22)
    w = torch.linalg.solve_triangular(l1, a.T @ b / (n - 1), upper=False)  # L1^-1 S12
    t = torch.linalg.solve_triangular(l2, w.T, upper=False).T  # L1^-1 S12 L2^-T
    return torch.linalg.svdvals(t)[:k].sum().to(torch.float32)
