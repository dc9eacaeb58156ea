"""Models per second of a trained family's batched path (the seeds of one architecture stacked,
:mod:`bench.core.stacked`) against one-by-one training, on one device, with the same recipe, architectures and seeds.

What is printed, each from this run:

* throughput: models/s one by one (whole trainings: build, train, evaluate, count FLOPs), then
  for each stack size models/s and the ratio, beside the ratio of the training loops alone;
* equal results: for the (architecture, seed) pairs trained both ways, the searched validation
  metric one by one against batched, paired (Wilcoxon signed-rank; the two paths draw dropout
  differently, so single pairs differ, and the test asks whether one path is systematically
  better);
* with ``--profile``, the operators one epoch of one-by-one training spends most time in:
  stacking removes per-operator overhead, not arithmetic (random draws for dropout, matrix
  products, activations), so where those dominate a step a stack gains little.

The build trains on one CPU thread under the pinned numerics; run it where the build runs.
Examples (the README quotes these):

    .venv/bin/python benchmarks/batched_training.py hfmnas --batch 3 32
    .venv/bin/python benchmarks/batched_training.py rmnas --epochs 3 --batch 3 16 --profile
    .venv/bin/python benchmarks/batched_training.py mro --epochs 5 --batch 3 16
    .venv/bin/python benchmarks/batched_training.py hfmnas --device cuda --batch 32 128
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import time

import numpy as np

from bench.families import FAMILIES, get
from bench.stats import compare_text

_stores: dict = {}


def _trainer(family: str, dataset: str, device: str, **changes):
    """The family's default-recipe trainer with ``changes``, on one store per dataset for the whole
    run: every trainer reads the same loaded data, and no timing includes loading it."""
    base = importlib.import_module(f"bench.families.{family}.surrogate").trainer(dataset)
    name = base.store_name(dataset)
    _stores.setdefault(name, base.store(dataset))
    return type(base)(dataclasses.replace(base.recipe, **changes), device, {name: _stores[name]})


def _timed(trainer, dataset: str, jobs: list[tuple[str, int]]) -> tuple[float, list[dict]]:
    t0 = time.perf_counter()
    records = trainer.train_batch(dataset, jobs)
    return time.perf_counter() - t0, records


def profile(family: str, dataset: str, device: str, arch: str, top: int = 6) -> None:
    """The operators taking most of one epoch of ``arch`` trained one by one (self time)."""
    from torch.profiler import profile as torch_profile

    trainer = _trainer(family, dataset, device, epochs=1)
    with torch_profile() as prof:
        trainer.train_batch(dataset, [(arch, 0)])
    rows = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in rows)
    print(f"where a one-epoch training and its evaluation spend their time ({arch}, one by one): " + ", ".join(
        f"{e.key} {100 * e.self_cpu_time_total / total:.0f}%" for e in rows[:top]))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("family", choices=[n for n in FAMILIES if get(n).stacks_seeds])
    ap.add_argument("--dataset", help="the family's surrogate-agreement dataset by default")
    ap.add_argument("--archs", type=int, default=2, help="architectures drawn from the space (seeded)")
    ap.add_argument("--arch", nargs="*", default=[], help="architectures (canonical strings) instead of drawn ones")
    ap.add_argument("--one", type=int, default=4, help="seeds per architecture trained one by one")
    ap.add_argument("--epochs", type=int, help="epochs per model (the recipe's otherwise)")
    ap.add_argument("--batch", type=int, nargs="+", default=[3, 32], help="seeds stacked per training")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--profile", action="store_true", help="also print the operators one epoch spends most on")
    a = ap.parse_args(argv)
    fam = get(a.family)
    dataset = a.dataset or fam.surrogate.agree_dataset
    metric = fam.surrogate.metrics[0]
    higher = importlib.import_module(f"bench.families.{a.family}").METRICS[metric].direction == "max"
    changes = {} if a.epochs is None else {"epochs": a.epochs}
    one = _trainer(a.family, dataset, a.device, **changes)
    space = one.space(dataset)
    rng = np.random.default_rng(a.seed)
    archs = list(a.arch) or list(dict.fromkeys(space.encode(space.sample(rng)) for _ in range(a.archs)))
    print(f"{a.family} {dataset} on {a.device}, {one.recipe.epochs} epochs (early stopping as the recipe), "
          f"architectures: {' '.join(archs)}")
    _timed(_trainer(a.family, dataset, a.device, epochs=1), dataset, [(archs[0], 0)])  # warm caches and kernels
    _timed(_trainer(a.family, dataset, a.device, epochs=1, batched=True), dataset, [(archs[0], 0), (archs[0], 1)])

    seconds, by_pair, loop = 0.0, {}, []
    for arch in archs:
        jobs = [(arch, s) for s in range(a.one)]
        t, recs = _timed(one, dataset, jobs)
        seconds += t
        by_pair.update({job: r[metric] for job, r in zip(jobs, recs)})
        loop += [r["train_seconds"] for r in recs]
    rate_one, loop_one = len(by_pair) / seconds, float(np.mean(loop))
    print(f"one-by-one: {rate_one:.3f} models/s ({len(by_pair)} models, {seconds:.1f} s; training loop "
          f"{loop_one:.2f} s per model)")

    stacked = _trainer(a.family, dataset, a.device, batched=True, **changes)
    batched_pairs: dict = {}
    for b in a.batch:
        seconds, timings, loop = 0.0, set(), []
        for arch in archs:
            jobs = [(arch, s) for s in range(b)]
            t, recs = _timed(stacked, dataset, jobs)
            seconds += t
            timings |= {r["timing"] for r in recs}
            loop += [r["train_seconds"] for r in recs]
            batched_pairs.update({job: r[metric] for job, r in zip(jobs, recs) if job in by_pair})
        rate = len(archs) * b / seconds
        print(f"batched/{b}: {rate:.3f} models/s, {rate / rate_one:.2f}x one-by-one (training loop "
              f"{loop_one / np.mean(loop):.2f}x; records' timing: {', '.join(sorted(timings))})")

    pairs = sorted(batched_pairs)
    print("equal results, " + compare_text("batched", [batched_pairs[p] for p in pairs], "one-by-one",
                                           [by_pair[p] for p in pairs], higher, paired=True, unit="pairs",
                                           decimals=4) + f" ({metric}, same architectures and seeds)")
    if a.profile:
        profile(a.family, dataset, a.device, archs[0])


if __name__ == "__main__":
    main()
