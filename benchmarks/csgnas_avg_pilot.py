"""Pilot: why "all features fused by avg" scores far below "by add" on ALOI (low-data).

The all-feature row is a left-deep chain, ``avg(avg(avg(v1,v2),v3),v4)``: that is
v1/8 + v2/8 + v3/4 + v4/2, not (v1+v2+v3+v4)/4, so avg is not a constant rescaling of add
there. This trains, per training seed, the add chain, the avg chain, the balanced avg tree
``avg(avg(v1,v2),avg(v3,v4))`` (exactly the add chain / 4) and every single feature, at the
recipe's 20 epochs and at 4x the epochs, and prints test and validation accuracy.

Run: ``.venv/bin/python benchmarks/csgnas_avg_pilot.py [--dataset aloi] [--seeds 3]``
(one thread; well under a CPU-minute on ALOI, low-data).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from bench.families.tree_fusion.diagnostics import avg_measure as measure


def main(argv=None) -> int:
    import torch

    torch.set_num_threads(1)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="aloi")
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args(argv)
    res = measure(args.dataset, args.seeds)
    print(f"{args.dataset} (low-data), training seeds 0..{args.seeds - 1}: mean +- std over seeds")
    print("| model | tree | epochs | val acc (%) | test acc (%) |")
    print("|---|---|---|---|---|")
    for (name, text, e), v in res.items():
        v = np.array(v)
        print(f"| {name} | `{text}` | {e} | {v[:, 0].mean():.2f} +- {v[:, 0].std():.2f} "
              f"| {v[:, 1].mean():.2f} +- {v[:, 1].std():.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
