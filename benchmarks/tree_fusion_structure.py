"""Where the "all features fused by one operator" models rank in each shipped tree-fusion table.

CSG-NAS evaluates these five models while it ranks operators (its Figure 4), so when one of
them is the table's best model a search that merely ranks operators already holds the
optimum and the table cannot tell search algorithms apart. For each table
(``tables/tree_fusion_*.h5``) this prints: rows, the best row by seed-mean validation
and by test accuracy, the rank (1 = best, by seed-mean validation accuracy) of each
all-feature model, the best proper subtree (a tree that leaves out at least one feature)
against the best all-feature model, and the seed noise (mean per-row std over seeds)
against the architecture spread (std of the row means over the top 20 rows).

Run: ``.venv/bin/python benchmarks/tree_fusion_structure.py [--markdown]``.
"""

from __future__ import annotations

import argparse
import sys


from bench.families.tree_fusion.diagnostics import table_report


def main(argv=None) -> int:
    from bench.families.tree_fusion import TABLE_DATASETS, TABLE_PROTOCOLS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.parse_args(argv)
    print("| table | rows | best by val (val / test %) | rank of all-feature models by val (concat, add, mul, max, avg) "
          "| best proper subtree: rank, val / test % | seed std (val) | top-20 spread (val) |")
    print("|---|---|---|---|---|---|---|")
    for protocol in TABLE_PROTOCOLS:
        for ds in TABLE_DATASETS:
            r = table_report(ds, protocol)
            if r is None:
                continue
            a, v, t = r["best_val"]
            ranks = ", ".join(str(r["fused_rank"][op][0]) for op in ("concat", "add", "mul", "max", "avg"))
            pa, pr, pv, pt = r["best_proper"]
            print(f"| {r['table']} | {r['rows']} | `{a}` ({v:.2f} / {t:.2f}) | {ranks} | `{pa}`: {pr}, {pv:.2f} / {pt:.2f} "
                  f"| {r['seed_std_val']:.2f} | {r['top20_spread_val']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
