"""The suite's regularized evolution against syne-tune's (issue 27 item 6).

Evaluations to the NAS-Bench-201 CIFAR-10 validation optimum (distinct architectures, as the suite's
runs count them) for the suite's REA with each tournament semantics and for syne-tune 0.16's
``RegularizedEvolution`` searcher asked and told on the same shipped table: population 10, sample 5,
one edge changed per mutation in all three, every run until it reaches the optimum. Prints each
side's median and quartiles and a Mann-Whitney test of the suite's REA against syne-tune's.

Needs syne-tune, an optional extra: ``.venv/bin/pip install -e '.[crosscheck]'``, then
``.venv/bin/python benchmarks/rea_crosscheck.py [--seeds 1000]`` (about a minute).
"""

from __future__ import annotations

import argparse

import numpy as np

from bench import open as open_bench
from bench import stats
from bench.compare import Budget, run_one

DATASET, METRIC = "cifar10", "val_acc"
OURS = {"rea (with replacement, the default)": "rea",
        "rea (without replacement)": "bench.algorithms.regularized_evolution:rea_without_replacement"}


def syne_tune_evals(oracle, config_space: dict, target: float, seed: int) -> int:
    """Distinct architectures syne-tune's REA evaluates until ``METRIC`` reaches ``target``."""
    from syne_tune.optimizer.schedulers.searchers.regularized_evolution import RegularizedEvolution

    space = oracle.space
    searcher = RegularizedEvolution(config_space, population_size=10, sample_size=5, random_seed=seed)
    np.random.seed(seed)  # syne-tune draws its initial population from numpy's global stream
    seen: set[str] = set()
    for trial in range(10 * oracle.n_arch):
        config = searcher.suggest()
        key = space.encode(space.from_parameters(config))
        value = oracle.query(key, METRIC)
        seen.add(key)
        if value >= target:
            return len(seen)
        searcher.on_trial_complete(trial, config, -value)  # syne-tune's searcher minimises
    raise RuntimeError(f"seed {seed}: syne-tune's REA did not reach the optimum")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=1000)
    args = ap.parse_args(argv)
    from syne_tune.config_space import choice

    oracle = open_bench("nb201", DATASET)
    target = oracle.optimum(METRIC).value
    seeds = range(args.seeds)
    got = {name: [float(run_one(oracle, algo, s, Budget(None, True)).evals_to(target)) for s in seeds]
           for name, algo in OURS.items()}
    config_space = {p.name: choice(list(p.choices)) for p in oracle.space.parameters()}
    got["syne-tune 0.16 RegularizedEvolution"] = [float(syne_tune_evals(oracle, config_space, target, s)) for s in seeds]
    print(f"nb201/{DATASET}: distinct architectures evaluated until the {METRIC} optimum, {args.seeds} seeds each")
    for name, v in got.items():
        q1, med, q3 = np.percentile(v, [25, 50, 75])
        print(f"  {name:<40} median {med:g} [q25 {q1:g}, q75 {q3:g}], mean {np.mean(v):.1f}")
    ref = "syne-tune 0.16 RegularizedEvolution"
    for name in OURS:
        print("  " + stats.compare_text(name, got[name], ref, got[ref], higher_is_better=False))


if __name__ == "__main__":
    main()
