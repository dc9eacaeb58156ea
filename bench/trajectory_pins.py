"""Pinned search trajectories: the suite's own regression check of its algorithms' behaviour.

Each case runs one algorithm with one seed on one benchmark (a shipped table's slice, so nothing
trains) and reduces the run record to a digest of what the search did: the architectures it
evaluated in order, their values bit for bit (``float.hex``), the charged seconds, fidelities and
stop reason. ``tests/trajectory_pins.json`` holds the digests; a test recomputes them, so a change
of an algorithm, a space's sampler, a table or the random streams fails CI naming the algorithm
and the benchmark. An intended change is re-pinned with ``make pin-trajectories`` (``python -m
bench.trajectory_pins --write``), and the diff of the JSON shows which trajectories moved.

TPE-driven searches are not pinned: TPE's density arithmetic goes through numpy's exp/log, whose
last bits differ between the CPU kernels numpy dispatches to (AVX2, AVX-512), so a pin would be
a property of the machine, not of the code.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

#: the pinned digests, beside the tests that check them
PIN_FILE = Path(__file__).resolve().parent.parent / "tests" / "trajectory_pins.json"


@dataclass(frozen=True)
class Case:
    """One pinned run: ``budget`` is evaluations on a table benchmark, charged seconds on a trained one."""

    bench: str
    dataset: str
    algo: str
    seed: int
    budget: float
    fidelity: str = "full"
    options: tuple = ()

    @property
    def name(self) -> str:
        opts = "".join(f",{k}={v}" for k, v in self.options)
        fid = "" if self.fidelity == "full" else f",fidelity={self.fidelity}"
        return f"{self.bench}/{self.dataset}{opts}{fid}:{self.algo}:seed{self.seed}"


def _cases() -> list[Case]:
    out = []
    for ds in ("cifar10", "ImageNet16-120"):
        out += [Case("nb201", ds, a, s, 100) for a in ("rs", "rea") for s in (0, 1)]
    out += [Case("transnas101-micro", "class_object", a, 0, 60) for a in ("rs", "rea")]
    trained = [("tree-fusion", "mfeat", 12, (("max_leaves", 3),), ("edf",)),
               ("mro", "syn3-p2-planted", 600, (), ()),
               ("rmnas", "mosi", 400, (), ("edf",)),
               ("hfmnas", "landuse21", 40, (), ("edf",))]
    for bench, ds, budget, options, own in trained:
        out += [Case(bench, ds, a, s, budget, options=options) for a in ("rs", "rea", *own) for s in (0, 1)]
        out += [Case(bench, ds, a, 0, budget, "epochs", options) for a in ("asha", "hyperband")]
    return out


CASES = _cases()


def digest(record) -> str:
    """sha256 of what the search did (not of wall times or versions)."""
    def hexes(xs):
        return [float(x).hex() for x in xs]

    what = {"archs": record.archs, "values": hexes(record.values), "test_values": hexes(record.test_values),
            "sim_seconds": hexes(record.sim_seconds), "evals": record.evals, "parents": record.parents,
            "epochs": record.epochs, "partial": record.partial, "stop_reason": record.stop_reason,
            "n_queries": record.n_queries}
    return hashlib.sha256(json.dumps(what, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def run_case(case: Case, oracles: dict | None = None):
    """The record of ``case``'s run; trained cases refuse to train (a pin reads only the table)."""
    from bench import registry
    from bench.compare import Budget, run_one, run_trained
    from bench.errors import BenchError

    oracles = {} if oracles is None else oracles
    key = (case.bench, case.dataset, case.options)
    if key not in oracles:
        oracles[key] = registry.open(case.bench, case.dataset, **dict(case.options))
    o = oracles[key]
    if registry.info(case.bench).kind == "table":
        return run_one(o, case.algo, case.seed, Budget(int(case.budget)))
    trained = o.n_trained
    rec = run_trained(o, case.algo, case.seed, budget_seconds=case.budget, fidelity=case.fidelity)
    if o.n_trained != trained:
        raise BenchError(f"pinned case {case.name} trained a model: a pin must read only the shipped table")
    return rec


def compute(cases=CASES) -> dict[str, str]:
    """``{case name: digest}`` of ``cases``."""
    import warnings

    from bench.core.quality import QualityWarning

    oracles: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QualityWarning)  # weak tables are pinned too: the pin is of behaviour
        return {c.name: digest(run_case(c, oracles)) for c in cases}


def main(argv=None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m bench.trajectory_pins", description=__doc__.split("\n\n")[0])
    p.add_argument("--write", action="store_true", help=f"write the digests to {PIN_FILE} (else compare with it)")
    a = p.parse_args(argv)
    got = compute()
    if a.write:
        PIN_FILE.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
        print(f"pinned {len(got)} trajectories in {PIN_FILE}")
        return 0
    pinned = json.loads(PIN_FILE.read_text())
    moved = [n for n in got if pinned.get(n) != got[n]]
    for n in moved:
        print(f"changed: {n}")
    print(f"{len(got) - len(moved)} of {len(got)} trajectories as pinned")
    return 1 if moved else 0


if __name__ == "__main__":
    sys.exit(main())
