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
from bench.spaces.tree_fusion import Fuse, Leaf, Tree, leaves
from bench.training.decoder import FusionNet
from bench.training.trainer import Recipe, TrainResult, f1_scores, load_parts, resolve_device


ELEMENTWISE = ("add", "mul", "max", "avg")


def _positions(t: Tree, path: str = "r") -> list[tuple[str, Tree]]:
    out = [(path, t)]
    if isinstance(t, Fuse):
        out += _positions(t.left, path + "0") + _positions(t.right, path + "1")
    return out


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
    pos = [_positions(t) for t in trees]
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
        masks: dict[str, torch.Tensor] = {}
        for path, node in pos[0]:
            if isinstance(node, Leaf):
                params[f"{path}.w"] = torch.stack([n.leaf[path].weight.detach() for n in nets])
                params[f"{path}.b"] = torch.stack([n.leaf[path].bias.detach() for n in nets])[:, None, :]
            elif node.op == "concat":  # the group key makes this node concat in every model
                params[f"{path}.cw"] = torch.stack([n.concat[path].weight.detach() for n in nets])
                params[f"{path}.cb"] = torch.stack([n.concat[path].bias.detach() for n in nets])[:, None, :]
            else:
                ops = [dict(_positions(t))[path].op for t in trees]
                masks[path] = torch.tensor([[float(o == op) for op in ELEMENTWISE] for o in ops], device=dev)[:, :, None, None]
        params["head.w"] = torch.stack([n.head.weight.detach() for n in nets])
        params["head.b"] = torch.stack([n.head.bias.detach() for n in nets])[:, None, :]
        params = {k: v.to(dev).clone().requires_grad_(True) for k, v in params.items()}
        # Adam's order of parameters does not matter: its update is element-wise
        opt = torch.optim.Adam(list(params.values()), lr=recipe.lr, weight_decay=recipe.weight_decay)
        gens = [torch.Generator().manual_seed(s) for s in seeds]
        leaf_feats = {path: [dict(p)[path].feature for p in pos] for path, node in pos[0] if isinstance(node, Leaf)}

        def forward(xs: dict[str, torch.Tensor], rows: torch.Tensor | None) -> torch.Tensor:
            def go(path: str, node: Tree) -> torch.Tensor:
                if isinstance(node, Leaf):
                    x = torch.stack([xs[f] if rows is None else xs[f][rows[b]] for b, f in enumerate(leaf_feats[path])])
                    return torch.relu(torch.baddbmm(params[f"{path}.b"], x, params[f"{path}.w"].transpose(1, 2)))
                a, b = go(path + "0", node.left), go(path + "1", node.right)
                if path not in masks:
                    return torch.relu(torch.baddbmm(params[f"{path}.cb"], torch.cat([a, b], dim=2),
                                                    params[f"{path}.cw"].transpose(1, 2)))
                m = masks[path]
                candidates = {"add": a + b, "mul": a * b, "max": torch.maximum(a, b), "avg": (a + b) / 2}
                out = None
                for k, op in enumerate(ELEMENTWISE):
                    term = candidates[op] * m[:, k]
                    out = term if out is None else out + term
                return out

            h = go("r", pos[0][0][1])
            return torch.baddbmm(params["head.b"], h, params["head.w"].transpose(1, 2))

        xtr, ytr = data[parts[0]]
        n = len(ytr)
        curves = [[] for _ in range(B)]
        t0 = time.perf_counter()
        for _ in range(recipe.epochs):
            orders = torch.stack([torch.randperm(n, generator=g) for g in gens]).to(dev)
            for start in range(0, n, recipe.batch_size):
                rows = orders[:, start:start + recipe.batch_size]
                logits = forward(xtr, rows)
                loss = None
                for b in range(B):  # the single trainer's loss call, one model at a time
                    lb = torch.nn.functional.cross_entropy(logits[b], ytr[rows[b]])
                    loss = lb if loss is None else loss + lb
                opt.zero_grad()
                loss.backward()
                opt.step()
            with torch.no_grad():
                xv, yv = data[parts[1]]
                pred = forward(xv, None).argmax(dim=2)
                for b in range(B):
                    curves[b].append(float((pred[b] == yv).float().mean().item() * 100))
        seconds = (time.perf_counter() - t0) / B
        with torch.no_grad():
            xte, yte = data[parts[2]]
            pred = forward(xte, None).argmax(dim=2).cpu().numpy()
        y = yte.cpu().numpy()
        results = []
        for b in range(B):
            macro, weighted = f1_scores(y, pred[b], n_cls)
            results.append(TrainResult(float((pred[b] == y).mean() * 100), curves[b][-1], macro * 100, weighted * 100,
                                       nets[b].n_params(), nets[b].flops(), seconds, curves[b], dev.type))
        return results
    finally:
        torch.set_num_threads(threads)


