"""Wall seconds of each paper spec's regeneration (`make reproduce-table`'s second step), one process.

    .venv/bin/python benchmarks/repro_times.py                 # every spec, slowest last in the summary
    .venv/bin/python benchmarks/repro_times.py hfmnas-table2   # some specs

Writes into a temporary folder, so the committed outputs are untouched; misses train into a copy of
the committed training caches (as `tables reproduce --out` does), so a run on a fresh clone trains
nothing and its seconds are lookups, cache reads and computation only.
"""

from __future__ import annotations

import sys
import tempfile
import time
import warnings


def main(ids: list[str]) -> int:
    from bench.repro.reproduce import reproduce
    from bench.repro.spec import get_spec, load_specs

    specs = [get_spec(i) for i in ids] if ids else list(load_specs().values())
    times = {}
    with tempfile.TemporaryDirectory() as out, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for spec in specs:
            t0 = time.perf_counter()
            reproduce(spec, None, False, out)
            times[spec.id] = time.perf_counter() - t0
            print(f"{spec.id:28s} {times[spec.id]:8.1f} s", flush=True)
    total = sum(times.values())
    print(f"{'total':28s} {total:8.1f} s over {len(times)} specs")
    for sid, t in sorted(times.items(), key=lambda kv: -kv[1])[:5]:
        print(f"  {sid}: {t:.1f} s ({t / total:.0%} of the total)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
