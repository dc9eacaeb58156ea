"""Training-time cost of the pinned numeric environment (bench.numerics).

Trains the same models under the pin (AVX2 kernels, MKL_CBWR=AVX2) and under the CPU's own
choice (``MMNAS_NUMERICS=native``), each in its own process because torch fixes its kernels
once per process, and prints the seconds and their ratio (min of ``--rounds`` rounds).

    .venv/bin/python benchmarks/numerics_pin.py          # `make bench` runs it
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

WORKLOAD = """
import json, time
import bench.features as F
from bench.families.tree_fusion.space import TreeFusionSpace
from bench.families.tree_fusion.batched import train_many
from bench.families.tree_fusion.trainer import train
s = F.open("scene15")
space = TreeFusionSpace(s.view_names, max_leaves=3)
trees = [t for t in space.enumerate()][:{n}]
out = {{}}
for name, go in [("one-by-one", lambda: [train(t, s, 0) for t in trees]),
                 ("batched", lambda: train_many(trees, [0] * len(trees), s))]:
    best = float("inf")
    for _ in range({rounds}):
        t0 = time.perf_counter(); go(); best = min(best, time.perf_counter() - t0)
    out[name] = best
import torch
out["isa"] = torch.backends.cpu.get_cpu_capability()
print(json.dumps(out))
"""


def measure(native: bool, n: int, rounds: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("ATEN_CPU_CAPABILITY", "MKL_CBWR", "ONEDNN_MAX_CPU_ISA")}
    if native:
        env["MMNAS_NUMERICS"] = "native"
    else:
        env.pop("MMNAS_NUMERICS", None)
    out = subprocess.run([sys.executable, "-c", WORKLOAD.format(n=n, rounds=rounds)], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", type=int, default=24, help="scene15 trees with <= 3 leaves, standard recipe")
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args()
    # rounds alternate between the two settings, so load from other processes hits both alike
    runs = [(measure(False, a.models, 1), measure(True, a.models, 1)) for _ in range(a.rounds)]
    pinned, native = ({k: (min(r[i][k] for r in runs) if k != "isa" else runs[0][i][k]) for k in runs[0][i]}
                      for i in (0, 1))
    print(f"training {a.models} scene15 models, min of {a.rounds} rounds, 1 thread")
    print(f"{'':<12} {'pinned (' + pinned['isa'] + ')':>16} {'native (' + native['isa'] + ')':>18} {'ratio':>7}")
    for k in ("one-by-one", "batched"):
        print(f"{k:<12} {pinned[k]:>14.2f} s {native[k]:>16.2f} s {pinned[k] / native[k]:>7.2f}")


if __name__ == "__main__":
    main()
