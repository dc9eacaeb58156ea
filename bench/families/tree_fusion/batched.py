"""Train many fusion trees at once: one stacked model per group of same-shaped trees.

Trees that share a topology and the dimension of the feature at every leaf position form
a group, whatever their operators, features and seeds. Each model is initialised exactly
as :func:`bench.families.tree_fusion.trainer.train` initialises it (its own ``FusionNet`` under its
own seed) and its weights are copied into stacked tensors; every leaf and the head become
one batched matrix product. The group's models are ordered by their operators, so at
every inner node the models sharing an operator form contiguous runs along the model
axis, and each run is computed by the single model's own expression (concat runs by one
batched product over their own projections). Each model keeps its own shuffling
generator, and its loss is computed by the same call as in the single trainer. The
result: bit-identical to ``train(tree, store, seed)``, which a test checks, at a
fraction of the per-model cost.
"""

from __future__ import annotations

import time
from collections import defaultdict

import torch

from bench import numerics
from bench.features.store import FeatureStore
from bench.families.tree_fusion.space import Leaf, Tree, leaves, positions
from bench.families.tree_fusion.model import FUSE, FusionNet
from bench.core.heap import keep_freed_memory
from bench.core.clsmetrics import f1_scores
from bench.core.torchutil import pinned_numerics, resolve_device
from bench.families.tree_fusion.trainer import Recipe, TrainResult, load_parts


class _Linear(torch.autograd.Function):
    """``x @ w^T + b`` for a stack of models, with the gradients computed as ``nn.Linear``'s are.

    Autograd's own backward of ``baddbmm`` forms the weight gradient as ``x^T @ grad`` and
    transposes it; ``addmm`` (one model's ``nn.Linear``) forms ``grad^T @ x``. The two sum in
    different orders and differ in the last bit, so this backward uses the single model's order.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x, w)
        return torch.baddbmm(b, x, w.transpose(1, 2))

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, w = ctx.saved_tensors
        gx = grad.bmm(w) if ctx.needs_input_grad[0] else None
        return gx, grad.transpose(1, 2).bmm(x), grad.sum(1, keepdim=True)


def _runs(ops: list[str]) -> tuple[tuple[int, int, str], ...]:
    """Maximal stretches ``(start, stop, op)`` of one operator along the model axis."""
    runs, lo = [], 0
    for i in range(1, len(ops) + 1):
        if i == len(ops) or ops[i] != ops[lo]:
            runs.append((lo, i, ops[lo]))
            lo = i
    return tuple(runs)


def shape_key(tree: Tree, dims: dict[str, int]) -> str:
    """Topology with each leaf replaced by its feature's dimension and each operator by N."""
    if isinstance(tree, Leaf):
        return f"L{dims[tree.feature]}"
    return f"N({shape_key(tree.left, dims)},{shape_key(tree.right, dims)})"


def train_many(trees: list[Tree], seeds: list[int], store: FeatureStore, recipe: Recipe = Recipe(),
               device: str | None = "cpu", return_state: bool = False) -> list[TrainResult]:
    """Train ``trees[i]`` with ``seeds[i]`` for every i; same results as one-by-one training
    (``return_state``: with each model's trained weights, named as in its ``FusionNet``).

    Keeps freed memory in this process's heap from then on (see :mod:`bench.core.heap`).
    """
    keep_freed_memory()
    groups: dict[str, list[int]] = defaultdict(list)
    for i, t in enumerate(trees):
        groups[shape_key(t, store.dims)].append(i)
    for idx in groups.values():  # same operators next to each other: fewer, longer runs per node
        idx.sort(key=lambda i: [node.op for _, node in positions(trees[i]) if not isinstance(node, Leaf)])
    out: list[TrainResult | None] = [None] * len(trees)
    for idx in groups.values():
        for i, r in zip(idx, _train_group([trees[i] for i in idx], [seeds[i] for i in idx], store, recipe, device,
                                                return_state)):
            out[i] = r
    return out


@pinned_numerics
def _train_group(trees: list[Tree], seeds: list[int], store: FeatureStore, recipe: Recipe, device,
                 return_state: bool) -> list[TrainResult]:
    dev = resolve_device(device)
    B, fd, n_cls = len(trees), recipe.fusion_dim, store.n_classes
    pos = [positions(t) for t in trees]
    parts, data = load_parts(store, recipe, sorted({f for t in trees for f in leaves(t)}), dev)
    # initialise every model exactly as the single trainer does, then stack
    nets = []
    for t, s in zip(trees, seeds):
        torch.manual_seed(s)
        nets.append(FusionNet(t, store.dims, fd, n_cls))
    params: dict[str, torch.Tensor] = {}
    node_runs: dict[str, tuple] = {}
    leaf_src: dict[str, tuple[list[str], torch.Tensor]] = {}
    for path, node in pos[0]:
        if isinstance(node, Leaf):
            params[f"{path}.w"] = torch.stack([n.leaf[path].weight.detach() for n in nets])
            params[f"{path}.b"] = torch.stack([n.leaf[path].bias.detach() for n in nets])[:, None, :]
            feats = [dict(p)[path].feature for p in pos]
            names = sorted(set(feats))
            leaf_src[path] = (names, torch.tensor([names.index(f) for f in feats], device=dev))
        else:
            node_runs[path] = _runs([dict(p)[path].op for p in pos])
            concat = [n.concat[path] for n in nets if path in n.concat]  # in model order
            if concat:
                params[f"{path}.cw"] = torch.stack([m.weight.detach() for m in concat])
                params[f"{path}.cb"] = torch.stack([m.bias.detach() for m in concat])[:, None, :]
    params["head.w"] = torch.stack([n.head.weight.detach() for n in nets])
    params["head.b"] = torch.stack([n.head.bias.detach() for n in nets])[:, None, :]
    # All weights live in one flat tensor and the models' parameters are views of it, so
    # Adam makes one pass per step instead of one per tensor. Its update is element-wise,
    # so each weight gets exactly the update the single trainer gives it.
    flat = torch.nn.Parameter(torch.cat([v.reshape(-1) for v in params.values()]).to(dev))
    flat.grad = torch.zeros_like(flat)
    offset = 0
    for k, v in params.items():
        view = flat.detach()[offset:offset + v.numel()].view(v.shape).requires_grad_(True)
        view.grad = flat.grad[offset:offset + v.numel()].view(v.shape)  # backward adds in place
        params[k], offset = view, offset + v.numel()
    opt = torch.optim.Adam([flat], lr=recipe.lr, weight_decay=recipe.weight_decay)
    gens = [torch.Generator().manual_seed(s) for s in seeds]

    def stacked(xs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Per leaf position, its distinct features stacked: [n_features, rows, dim]."""
        return {path: torch.stack([xs[f] for f in names]) for path, (names, _) in leaf_src.items()}

    def forward(xs: dict[str, torch.Tensor], rows: torch.Tensor | None) -> torch.Tensor:
        def go(path: str, node: Tree) -> torch.Tensor:
            if isinstance(node, Leaf):
                x = xs[path]
                if rows is None:
                    x = x.index_select(0, leaf_src[path][1])
                else:  # one flat row gather; two-tensor advanced indexing is several times slower
                    flat = leaf_src[path][1][:, None] * x.shape[1] + rows
                    x = x.reshape(-1, x.shape[2]).index_select(0, flat.reshape(-1)).view(*rows.shape, -1)
                return torch.relu_(_Linear.apply(x, params[f"{path}.w"], params[f"{path}.b"]))
            return fuse(path, go(path + "0", node.left), go(path + "1", node.right))

        def fuse(path: str, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            runs = node_runs[path]
            # split and cat, not indexing: their backward is one copy, not a zero-filled scatter per run
            sizes = [hi - lo for lo, hi, _ in runs]
            a_runs, b_runs = a.split(sizes), b.split(sizes)
            if f"{path}.cw" in params:
                concat_sizes = [hi - lo for lo, hi, op in runs if op == "concat"]
                cw = iter(params[f"{path}.cw"].split(concat_sizes))
                cb = iter(params[f"{path}.cb"].split(concat_sizes))
            out = [torch.relu_(_Linear.apply(torch.cat([x, y], dim=2), next(cw), next(cb)))
                   if op == "concat" else FUSE[op](x, y) for (_, _, op), x, y in zip(runs, a_runs, b_runs)]
            return out[0] if len(out) == 1 else torch.cat(out)

        h = go("r", pos[0][0][1])
        return _Linear.apply(h, params["head.w"], params["head.b"])

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
            flat.grad.zero_()  # not opt.zero_grad(): the views' gradients must stay views
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
    results, env = [], numerics.environment(str(dev))
    for b in range(B):
        macro, weighted = f1_scores(y, pred[b], n_cls)
        results.append(TrainResult(float((pred[b] == y).mean() * 100), curves[b][-1], macro * 100, weighted * 100,
                                   nets[b].n_params(), nets[b].flops(), seconds, curves[b], dev.type,
                                   _state(nets[b], b, params, nets) if return_state else None,
                                   "one-by-one" if B == 1 else f"batched/{B}", env, store.content_sha256))
    return results


def _state(net: FusionNet, b: int, params: dict[str, torch.Tensor], nets: list[FusionNet]) -> dict[str, torch.Tensor]:
    """Model ``b``'s trained weights out of the stacked tensors, under its ``FusionNet`` names."""
    def row(key: str, i: int, bias: bool) -> torch.Tensor:
        return (params[key][i, 0] if bias else params[key][i]).detach().cpu().clone()

    state = {}
    for path in net.leaf:
        state[f"leaf.{path}.weight"], state[f"leaf.{path}.bias"] = row(f"{path}.w", b, False), row(f"{path}.b", b, True)
    for path in net.concat:  # this model's place among the group's concat models at this node
        i = sum(path in n.concat for n in nets[:b])
        state[f"concat.{path}.weight"], state[f"concat.{path}.bias"] = row(f"{path}.cw", i, False), row(f"{path}.cb", i, True)
    state["head.weight"], state["head.bias"] = row("head.w", b, False), row("head.b", b, True)
    return state
