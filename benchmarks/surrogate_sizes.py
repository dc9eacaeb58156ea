"""The held-out check (``bench.core.surrogate_report.check``) of every discriminating table's surrogate at
the three model sizes tried when the surrogate's settings were chosen; prints each metric's held-out
Kendall tau beside one seed's. ``.venv/bin/python benchmarks/surrogate_sizes.py`` (about 2 minutes)."""

from __future__ import annotations

import warnings

from bench.core import surrogate as S
from bench.core import surrogate_report as R

SIZES = {  # (extra LightGBM settings, rounds)
    "small: 8 leaves, depth 3, 200 rounds": ({"num_leaves": 8, "max_depth": 3, "learning_rate": 0.05}, 200),
    "shipped: 15 leaves, depth 4, 300 rounds": ({}, S.ROUNDS),
    "fewer trees: 15 leaves, depth 4, 100 rounds at rate 0.1": ({"learning_rate": 0.1}, 100),
    "large: 24 leaves, depth 5, 400 rounds": ({"num_leaves": 24, "max_depth": 5}, 400),
}
CASES = [("rmnas", "mosi"), ("rmnas", "mosi@r0.5"), ("tree-fusion", "scene15"), ("tree-fusion", "landuse21"),
         ("tree-fusion", "mfeat"), ("hfmnas", "landuse21"), ("mro", "mosi"), ("mro", "syn3-p2-planted")]

if __name__ == "__main__":
    warnings.simplefilter("ignore")
    shipped = dict(S.PARAMS), S.ROUNDS
    for name, (extra, rounds) in SIZES.items():
        S.PARAMS.clear()
        S.PARAMS.update({**shipped[0], **extra})
        S.ROUNDS = rounds
        print(name)
        for fam, ds in CASES:
            r = R.check(fam, ds, outslice=False)
            print(f"  {fam}/{ds}: {r.verdict}  " + "  ".join(
                f"{c.metric} {c.surrogate['kendall']:.3f} (one seed {c.one_seed['kendall']:.3f})" for c in r.checks))
