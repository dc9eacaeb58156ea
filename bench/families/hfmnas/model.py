"""The HF-MNAS network of one architecture (``001_6b80f99565a0cbd2.txt``, Fig. 7-8), scaled.

Each of the four features (``tl``, ``th``, ``il``, ``ih``) is projected to ``tokens`` tokens of
``channels`` channels. LFBC and HFBC (:class:`CellNet`) fuse their input pairs; the cell output
concatenates its kept nodes, each scaled by a learned node-importance weight (Eq. 24-25), and
mixes them back to ``channels``. With ``s=2`` a second LFBC fuses the first pair's outputs and a
second HFBC fuses the first HFBC's output with the new LFBC's (our reading of "hierarchically
stacked"). IMM (:class:`Mitigation`) then aligns the two cell outputs: DCCA maps each through a
token-wise tanh layer whose pooled outputs' top canonical correlations are maximised (a loss
term), and multi-head attention lets each output attend to the other. CM pools both and
classifies with an MLP, or first cascades a Bi-LSTM over the ``th`` tokens (the paper's Bi-LSTM
on text).
"""

from __future__ import annotations

import torch
from torch import nn

from bench.families.hfmnas.ops import dcca_correlation, edge_op, fusion_op
from bench.families.hfmnas.space import INPUTS, Cell, HFArch


def _total(xs: list[torch.Tensor]) -> torch.Tensor:
    out = xs[0]
    for x in xs[1:]:
        out = out + x
    return out


class FusionSum(nn.Module):
    """Several fusion operations of the same two operands, summed (a node kept with top-k beta, k > 1)."""

    def __init__(self, ops: tuple[str, ...], c: int, heads: int, dropout: float):
        super().__init__()
        self.ops = nn.ModuleList(fusion_op(op, c, heads, dropout) for op in ops)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return _total([f(a, b) for f in self.ops])


class CellNet(nn.Module):
    def __init__(self, cell: Cell, c: int, heads: int, dropout: float):
        super().__init__()
        self.cell = cell
        self.edges = nn.ModuleList(nn.ModuleList(edge_op(op, c) for op, _ in node.edges) for node in cell.nodes)
        # a one-op node keeps the bare operation, so the paper's cells build (and initialise) as before
        self.fuse = nn.ModuleList(FusionSum(node.ops, c, heads, dropout) if node.more_ops
                                  else fusion_op(node.op, c, heads, dropout) for node in cell.nodes)
        self.importance = nn.Parameter(torch.ones(len(cell.keep)))
        self.mix = nn.Linear(len(cell.keep) * c, c)

    def forward(self, x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        states = [x0, x1]
        for node, edges, fuse in zip(self.cell.nodes, self.edges, self.fuse):
            out = [edge(states[src]) for edge, (_, src) in zip(edges, node.edges)]
            a = _total(out[:node.split])
            states.append(fuse(a, _total(out[node.split:]) if node.split < len(out) else a))
        kept = [states[k + 1] * w for k, w in zip(self.cell.keep, self.importance)]
        return self.mix(torch.cat(kept, -1))


class Mitigation(nn.Module):
    """IMM: ``none``, ``mha``, ``dcca`` or ``dcca+mha`` on the two cell outputs."""

    def __init__(self, kind: str, c: int, heads: int, dropout: float, dcca_dim: int):
        super().__init__()
        self.kind, self.dcca_dim = kind, dcca_dim
        if "dcca" in kind:
            self.map_low, self.map_high = nn.Linear(c, c), nn.Linear(c, c)
        if "mha" in kind:
            self.att_low = nn.MultiheadAttention(c, heads, dropout=dropout, batch_first=True)
            self.att_high = nn.MultiheadAttention(c, heads, dropout=dropout, batch_first=True)

    def forward(self, low: torch.Tensor, high: torch.Tensor):
        """(pooled low, pooled high, canonical correlation or None)."""
        corr = None
        if "dcca" in self.kind:
            low, high = torch.tanh(self.map_low(low)), torch.tanh(self.map_high(high))
            if low.shape[0] > 1:
                corr = dcca_correlation(low.mean(1), high.mean(1), self.dcca_dim)
        if "mha" in self.kind:
            a, _ = self.att_low(low, high, high, need_weights=False)
            b, _ = self.att_high(high, low, low, need_weights=False)
            low, high = low + a, high + b
        return low.mean(1), high.mean(1), corr


class HFNet(nn.Module):
    def __init__(self, arch: HFArch, dims: dict[str, int], n_out: int, tokens: int = 8, channels: int = 16,
                 heads: int = 4, dropout: float = 0.1, dcca_dim: int = 8, hidden: int = 64):
        super().__init__()
        self.arch, self.tokens, self.c = arch, tokens, channels
        need = set(arch.low.inputs) | set(arch.high.inputs) | ({"th"} if arch.cm == "bilstm" else set())
        self.used = [x for x in INPUTS if x in need]
        self.embed = nn.ModuleDict({x: nn.Linear(dims[x], tokens * channels) for x in self.used})
        self.low = nn.ModuleList(CellNet(arch.low, channels, heads, dropout) for _ in range(arch.stack))
        self.high = nn.ModuleList(CellNet(arch.high, channels, heads, dropout) for _ in range(arch.stack))
        self.imm = Mitigation(arch.imm, channels, heads, dropout, dcca_dim)
        width = 2 * channels
        if arch.cm == "bilstm":
            self.lstm = nn.LSTM(channels, channels, batch_first=True, bidirectional=True)
            width += 2 * channels
        self.head = nn.Sequential(nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, n_out))

    def forward(self, x: dict[str, torch.Tensor]):
        """(logits, DCCA correlation of the batch or None)."""
        tok = {k: self.embed[k](x[k]).view(-1, self.tokens, self.c) for k in self.used}
        low = self.low[0](*(tok[k] for k in self.arch.low.inputs))
        high = self.high[0](*(tok[k] for k in self.arch.high.inputs))
        for r in range(1, self.arch.stack):
            low = self.low[r](low, high)
            high = self.high[r](high, low)
        if not self.training:  # what the trainer's cell-correlation metric reads
            self.imm_inputs = (low.mean(1).detach(), high.mean(1).detach())
        return self.classify(low, high, tok)

    def classify(self, low: torch.Tensor, high: torch.Tensor, tok: dict[str, torch.Tensor]):
        """IMM and CM on the two cell outputs: (logits, DCCA correlation or None); the supernets
        of :mod:`~bench.families.hfmnas.search` and :mod:`~bench.families.hfmnas.bmnas` end here too."""
        lo, hi, corr = self.imm(low, high)
        parts = [lo, hi]
        if self.arch.cm == "bilstm":
            _, (h, _) = self.lstm(tok["th"])
            parts.append(torch.cat([h[0], h[1]], -1))
        return self.head(torch.cat(parts, -1)), corr

    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def mflops(self, dims: dict[str, int]) -> float:
        """Forward MFLOPs of one sample (torch's FLOP counter: 2 x multiply-adds of the matrix
        products and convolutions; element-wise work and the scan's products left out)."""
        from torch.utils.flop_counter import FlopCounterMode

        was = self.training
        self.eval()
        x = {k: torch.zeros(2, dims[k]) for k in self.used}  # 2 samples: DCCA needs more than one row
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            self(x)
        self.train(was)
        return counter.get_total_flops() / 2 / 1e6
