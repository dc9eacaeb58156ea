"""Train many fusion trees at once: one stacked model per group of same-shaped trees.

Trees that share a topology and the dimension of the feature at every leaf position form
a group, whatever their element-wise operators, features and seeds (concat, having a
learned projection, is part of the shape). Each model is initialised exactly
as :func:`bench.training.trainer.train` initialises it (its own ``FusionNet`` under its
own seed) and its weights are copied into stacked tensors; operators are chosen by 0/1
masks (exact: ``x * 1 + y * 0 == x``), every linear layer becomes one batched matrix
product, each model keeps its own shuffling generator, and each model's loss is computed
by the same call as in the single trainer. The aim: results bit-identical to
``train(tree, store, seed)``, which a test checks, at a fraction of the per-model cost.
"""

from __future__ import annotations

import time
from collections import defaultdict

import torch

from bench.features.store import FeatureStore
from bench.spaces.tree_fusion import Leaf, Tree, leaves, positions
from bench.training.decoder import FusionNet
from bench.training.trainer import Recipe, TrainResult, f1_scores, load_parts, resolve_device


ELEMENTWISE = ("add", "mul", "max", "avg")


FUSE = {"add": torch.add, "mul": torch.mul, "max": torch.maximum, "avg": lambda a, b: (a + b) / 2}


class _Permute(torch.autograd.Function):
    """Reorder the model axis; the gradient is reordered back (no zero-filled scatter)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, order: torch.Tensor, inverse: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(inverse)
        return x[order]

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (inverse,) = ctx.saved_tensors
        return grad[inverse], None, None


class _OpMix:
    """One element-wise fusion node across a group of models, each with exactly its own operator.

    The models are reordered so that those sharing an operator are contiguous, each operator
    runs once on its slice (the single model's own expression, so values and gradients are
    bit-equal), and the order is restored. Pure data movement around the same arithmetic.
    """

    def __init__(self, ops: list[str], dev: torch.device):
        present = [op for op in ELEMENTWISE if op in ops]
        order = [b for op in present for b in range(len(ops)) if ops[b] == op]
        self.ops = present
        self.sizes = [ops.count(op) for op in present]
        self.order = torch.tensor(order, device=dev)
        self.inverse = torch.argsort(self.order)

    def __call__(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        if len(self.ops) == 1:
            return FUSE[self.ops[0]](a, b)
        a_parts = _Permute.apply(a, self.order, self.inverse).split(self.sizes)
        b_parts = _Permute.apply(b, self.order, self.inverse).split(self.sizes)
        out = torch.cat([FUSE[op](x, y) for op, x, y in zip(self.ops, a_parts, b_parts)])
        return _Permute.apply(out, self.inverse, self.order)


def shape_key(tree: Tree, dims: dict[str, int]) -> str:
    """Topology with each leaf replaced by its feature's dimension and each operator by
    C (concat: a learned projection) or E (element-wise: add, mul, max, avg)."""
    if isinstance(tree, Leaf):
        return f"L{dims[tree.feature]}"
    kind = "C" if tree.op == "concat" else "E"
    return f"{kind}({shape_key(tree.left, dims)},{shape_key(tree.right, dims)})"


def train_many(trees: list[Tree], seeds: list[int], store: FeatureStore, recipe: Recipe = Recipe(),
               device: str | None = "cpu") -> list[TrainResult]:
    """Train ``trees[i]`` with ``seeds[i]`` for every i; same results as one-by-one training."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, t in enumerate(trees):
        groups[shape_key(t, store.dims)].append(i)
    out: list[TrainResult | None] = [None] * len(trees)
    for idx in groups.values():
        for i, r in zip(idx, _train_group([trees[i] for i in idx], [seeds[i] for i in idx], store, recipe, device)):
            out[i] = r
    return out


def _train_group(trees: list[Tree], seeds: list[int], store: FeatureStore, recipe: Recipe, device) -> list[TrainResult]:
    dev = resolve_device(device)
    B, fd, n_cls = len(trees), recipe.fusion_dim, store.n_classes
    pos = [positions(t) for t in trees]
    parts, data = load_parts(store, recipe, sorted({f for t in trees for f in leaves(t)}), dev)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        # initialise every model exactly as the single trainer does, then stack
        nets = []
        for t, s in zip(trees, seeds):
            torch.manual_seed(s)
            nets.append(FusionNet(t, store.dims, fd, n_cls))
        params: dict[str, torch.Tensor] = {}
        op_mix: dict[str, _OpMix] = {}
        leaf_src: dict[str, tuple[list[str], torch.Tensor]] = {}
        for path, node in pos[0]:
            if isinstance(node, Leaf):
                params[f"{path}.w"] = torch.stack([n.leaf[path].weight.detach() for n in nets])
                params[f"{path}.b"] = torch.stack([n.leaf[path].bias.detach() for n in nets])[:, None, :]
                feats = [dict(p)[path].feature for p in pos]
                names = sorted(set(feats))
                leaf_src[path] = (names, torch.tensor([names.index(f) for f in feats], device=dev))
            elif node.op == "concat":  # the group key makes this node concat in every model
                params[f"{path}.cw"] = torch.stack([n.concat[path].weight.detach() for n in nets])
                params[f"{path}.cb"] = torch.stack([n.concat[path].bias.detach() for n in nets])[:, None, :]
            else:
                ops = [dict(p)[path].op for p in pos]
                op_mix[path] = _OpMix(ops, dev)
        params["head.w"] = torch.stack([n.head.weight.detach() for n in nets])
        params["head.b"] = torch.stack([n.head.bias.detach() for n in nets])[:, None, :]
        params = {k: v.to(dev).clone().requires_grad_(True) for k, v in params.items()}
        # Adam's order of parameters does not matter: its update is element-wise
        opt = torch.optim.Adam(list(params.values()), lr=recipe.lr, weight_decay=recipe.weight_decay)
        gens = [torch.Generator().manual_seed(s) for s in seeds]

        def stacked(xs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
            """Per leaf position, its distinct features stacked: [n_features, rows, dim]."""
            return {path: torch.stack([xs[f] for f in names]) for path, (names, _) in leaf_src.items()}

        def forward(xs: dict[str, torch.Tensor], rows: torch.Tensor | None) -> torch.Tensor:
            def go(path: str, node: Tree) -> torch.Tensor:
                if isinstance(node, Leaf):
                    which = leaf_src[path][1]
                    x = xs[path][which] if rows is None else xs[path][which[:, None], rows]
                    return torch.relu(torch.baddbmm(params[f"{path}.b"], x, params[f"{path}.w"].transpose(1, 2)))
                a, b = go(path + "0", node.left), go(path + "1", node.right)
                if path not in op_mix:
                    return torch.relu(torch.baddbmm(params[f"{path}.cb"], torch.cat([a, b], dim=2),
                                                    params[f"{path}.cw"].transpose(1, 2)))
                return op_mix[path](a, b)

            h = go("r", pos[0][0][1])
            return torch.baddbmm(params["head.b"], h, params["head.w"].transpose(1, 2))

        xtr, ytr = data[parts[0]]
        xtr = stacked(xtr)
        n = len(ytr)
        xv, yv = data[parts[1]]
        xv_stacked = stacked(xv)
        curves = [[] for _ in range(B)]
        t0 = time.perf_counter()
        for _ in range(recipe.epochs):
            orders = torch.stack([torch.randperm(n, generator=g) for g in gens]).to(dev)
            for start in range(0, n, recipe.batch_size):
                rows = orders[:, start:start + recipe.batch_size]
                logits = forward(xtr, rows)
                # per model the mean over its rows, as the single trainer's loss; summed, each
                # model's gradient is its own
                loss = torch.nn.functional.cross_entropy(logits.reshape(-1, n_cls), ytr[rows].reshape(-1),
                                                         reduction="none").view(rows.shape).mean(dim=1).sum()
                opt.zero_grad()
                loss.backward()
                opt.step()
            with torch.no_grad():
                pred = forward(xv_stacked, None).argmax(dim=2)
                for b in range(B):
                    curves[b].append(float((pred[b] == yv).float().mean().item() * 100))
        seconds = (time.perf_counter() - t0) / B
        with torch.no_grad():
            xte, yte = data[parts[2]]
            pred = forward(stacked(xte), None).argmax(dim=2).cpu().numpy()
        y = yte.cpu().numpy()
        results = []
        for b in range(B):
            macro, weighted = f1_scores(y, pred[b], n_cls)
            results.append(TrainResult(float((pred[b] == y).mean() * 100), curves[b][-1], macro * 100, weighted * 100,
                                       nets[b].n_params(), nets[b].flops(), seconds, curves[b], dev.type))
        return results
    finally:
        torch.set_num_threads(threads)


