"""Pilot: CSG-NAS knowledge inheritance (AKI) against training from scratch at equal epochs.

Pairs (parent, child) are the inherited evaluations of seeded CSG-NAS runs on a proxy
(the parent trained from scratch with the 20-epoch recipe, seed 0). For each child it trains:
scratch for E epochs, and inherited for E epochs under two scopes of what is copied
(:func:`bench.families.tree_fusion.inherit.inherited_weights`): ``subtrees`` (the layers of
every maximal shared sub-tree) and ``all`` (those, plus each shared feature's leaf projection
and the classifier head, which have the same shape in every tree). Prints mean validation
and test accuracy per (start, scope, epochs) over the pairs, and the mean paired difference.

Run: ``.venv/bin/python benchmarks/csgnas_aki_pilot.py [--dataset mfeat] [--pairs 16]``
(one thread; about 1-2 CPU-minutes on mfeat, low-data).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from bench.families.tree_fusion.diagnostics import aki_measure as measure, aki_pairs as pairs


def main(argv=None) -> int:
    import torch

    torch.set_num_threads(1)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="mfeat")
    ap.add_argument("--pairs", type=int, default=16)
    ap.add_argument("--epochs", default="5,10,20")
    args = ap.parse_args(argv)
    epochs = tuple(int(e) for e in args.epochs.split(","))
    pl = pairs(args.dataset, args.pairs)
    print(f"{args.dataset} (low-data), {len(pl)} parent -> child pairs from CSG-NAS runs, training seed 0")
    res = measure(args.dataset, pl, epochs)
    print("| start | epochs | val acc (%) | test acc (%) | val - scratch at equal epochs (paired mean) |")
    print("|---|---|---|---|---|")
    for e in epochs:
        sc = np.array(res[("scratch", e)])
        for start in ("scratch", "subtrees", "all"):
            v = np.array(res[(start, e)])
            d = v[:, 0] - sc[:, 0]
            print(f"| {start} | {e} | {v[:, 0].mean():.2f} +- {v[:, 0].std():.2f} | {v[:, 1].mean():.2f} "
                  f"| {d.mean():+.2f} (wins {int((d > 0).sum())}/{len(d)}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
