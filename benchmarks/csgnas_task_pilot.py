"""Pilot: which task makes tree structure matter (the optimum a proper subtree, seed noise
small against architecture spread)?

For each candidate task it trains the five all-feature models and ``--trees`` random trees
(leaf count uniform in 2..n, seed 0) with ``--seeds`` training seeds, then prints: where the
best all-feature model ranks by seed-mean validation accuracy, the best tree and whether it
is a proper subtree, its margin over the best all-feature model, the mean seed std, the
spread of the top-10 seed means, and ICC(1) of validation accuracy over all trees.

Run: ``.venv/bin/python benchmarks/csgnas_task_pilot.py`` (one thread; a few CPU-minutes).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace

import numpy as np


def icc1(x: np.ndarray) -> float:
    """ICC(1) of a (targets x seeds) array: share of variance between targets."""
    n, k = x.shape
    msb = k * ((x.mean(1) - x.mean()) ** 2).sum() / (n - 1)
    msw = ((x - x.mean(1, keepdims=True)) ** 2).sum() / (n * (k - 1))
    return float((msb - msw) / (msb + (k - 1) * msw))


def pilot(dataset: str, recipe, trees: int, seeds: int) -> dict:
    from bench.features.store import open as open_store
    from bench.families.tree_fusion.space import FUSION_OPS, TreeFusionSpace, all_fused, leaves
    from bench.families.tree_fusion.trainer import train
    from bench.families.tree_fusion.variants import is_variant, open_variant

    store = open_variant(dataset) if is_variant(dataset) else open_store(dataset)
    feats = list(store.view_names)
    space = TreeFusionSpace(feats, max_leaves=len(feats))
    rng = np.random.default_rng(0)
    archs = {space.encode(all_fused(feats, op)): f"all:{op}" for op in FUSION_OPS}
    while len(archs) < 5 + trees:
        archs.setdefault(space.encode(space.random_tree(rng, int(rng.integers(2, len(feats) + 1)))), "")
    names = list(archs)
    val = np.array([[train(space.decode(a), store, s, recipe).val_acc for s in range(seeds)] for a in names])
    mean = val.mean(1)
    order = np.argsort(-mean, kind="stable")
    fused = [i for i, a in enumerate(names) if archs[a]]
    best_fused = max(fused, key=lambda i: mean[i])
    best = order[0]
    return {"task": f"{dataset} {recipe.key}", "best": names[best], "best_val": mean[best],
            "proper": len(set(leaves(space.decode(names[best])))) < len(feats),
            "fused_rank": int(np.flatnonzero(order == best_fused)[0]) + 1, "fused": names[best_fused],
            "margin": mean[best] - mean[best_fused], "seed_std": float(val.std(1, ddof=1).mean()),
            "top10_spread": float(mean[order[:10]].std(ddof=1)), "icc": icc1(val), "n": len(names)}


def main(argv=None) -> int:
    import torch

    torch.set_num_threads(1)
    from bench.families.tree_fusion.trainer import PROTOCOLS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trees", type=int, default=40)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--tasks", default="mfeat:low-data,mfeat+noise2:low-data,mfeat+noise2:low-data/b32")
    args = ap.parse_args(argv)
    print("| task (store, recipe key) | trees | best tree by val (seed mean %) | proper subtree | rank of best "
          "all-feature model | margin over it (val points) | seed std | top-10 spread | ICC(1) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for task in args.tasks.split(","):
        ds, _, proto = task.partition(":")
        proto, _, mod = proto.partition("/")
        recipe = PROTOCOLS[proto]
        if mod.startswith("b"):
            recipe = replace(recipe, batch_size=int(mod[1:]))
        r = pilot(ds, recipe, args.trees, args.seeds)
        print(f"| {r['task']} | {r['n']} | `{r['best']}` ({r['best_val']:.2f}) | {r['proper']} | {r['fused_rank']} "
              f"(`{r['fused']}`) | {r['margin']:.2f} | {r['seed_std']:.2f} | {r['top10_spread']:.2f} | {r['icc']:.2f} |",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
