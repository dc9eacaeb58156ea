"""Throughput of MRO training: models per second one by one against the seeds of one mask
stacked (:mod:`bench.families.mro.batched`), on one device, same recipe and masks.

Prints one line per batch size with models/s and the ratio to one-by-one; run it where the
build runs (the CPU build trains on one thread under the pinned numerics). Example:

    .venv/bin/python benchmarks/mro_batched.py --dataset syn3-p2 --epochs 5 --batch 3 12
    .venv/bin/python benchmarks/mro_batched.py --device cuda --batch 3 12 48
"""

from __future__ import annotations

import argparse
import dataclasses
import time

from bench.families.mro.batched import train_seeds
from bench.families.mro.trainer import MROTrainer, recipe_for, train


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="syn3-p2")
    ap.add_argument("--masks", nargs="+", default=["100010", "111111"], help="path masks, canonical strings")
    ap.add_argument("--epochs", type=int, default=5, help="epochs per model (the recipe's otherwise)")
    ap.add_argument("--batch", type=int, nargs="+", default=[3, 12], help="seeds stacked per training")
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args(argv)
    recipe = dataclasses.replace(recipe_for(a.dataset), epochs=a.epochs)
    trainer = MROTrainer(recipe, a.device)
    store, space = trainer.store(a.dataset), trainer.space(a.dataset)
    archs = [space.decode(m) for m in a.masks]
    n_one = max(2, min(a.batch))
    train(archs[0], store, 0, dataclasses.replace(recipe, epochs=1), a.device)  # warm caches and kernels
    t0 = time.perf_counter()
    for arch in archs:
        for seed in range(n_one):
            train(arch, store, seed, recipe, a.device)
    one = len(archs) * n_one / (time.perf_counter() - t0)
    print(f"{a.dataset} on {a.device}, {a.epochs} epochs, masks {' '.join(a.masks)}")
    print(f"one-by-one: {one:.3f} models/s ({len(archs) * n_one} models)")
    stacked = dataclasses.replace(recipe, batched=True)
    for b in a.batch:
        t0 = time.perf_counter()
        for arch in archs:
            train_seeds(arch, store, list(range(b)), stacked, a.device)
        rate = len(archs) * b / (time.perf_counter() - t0)
        print(f"batched/{b}: {rate:.3f} models/s, {rate / one:.2f}x one-by-one")


if __name__ == "__main__":
    main()
