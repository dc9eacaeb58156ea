"""Pilot: does the MRO stand-alone recipe learn the synthetic cross-modal paths?

Trains a few masks of a synK setting (the true paths, their complement, all paths, one true
path, one useless path) and prints test Pearson r and MAE per mask, so a setting can be
checked for whether the true paths win before a 63-mask table is built. Example:

    .venv/bin/python benchmarks/mro_synthetic_pilot.py --plant 0 2 --epochs 20 40
"""

from __future__ import annotations

import argparse
import itertools
import time

from bench.families.mro.space import PathSpace
from bench.families.mro.trainer import Recipe, train
from bench.features import synthetic

P2 = ((1, 2, 1.0), (3, 1, 1.0))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plant", type=float, nargs="+", default=[0.0, 2.0])
    ap.add_argument("--epochs", type=int, nargs="+", default=[20])
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--noise", type=float, default=0.5)
    ap.add_argument("--trend-weight", type=float, default=1.0)
    ap.add_argument("--n-train", type=int, default=600)
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--masks", nargs="+", default=["100010", "011101", "111111", "000010", "010000"])
    a = ap.parse_args(argv)
    for plant, epochs in itertools.product(a.plant, a.epochs):
        store = synthetic.make(paths=P2, plant=plant, noise=a.noise, trend_weight=a.trend_weight,
                               n=(a.n_train, 100, 203))
        space = PathSpace(store.modalities)
        recipe = Recipe(epochs=epochs, lr=a.lr)
        for mask in a.masks:
            for seed in range(a.seeds):
                t0 = time.perf_counter()
                r = train(space.decode(mask), store, seed, recipe)
                m = r.metrics
                print(f"plant {plant:g} epochs {epochs} mask {mask} seed {seed}: test r {m['test_corr']:.3f} "
                      f"mae {m['test_mae']:.3f} val_mae {m['val_mae']:.3f} ({time.perf_counter() - t0:.1f} s)",
                      flush=True)


if __name__ == "__main__":
    main()
