"""Measured diagnostics of the CSG-NAS proxies (issue 13), shared by the ``csgnas-diagnostics``
spec's runner and the scripts in ``benchmarks/``:

- :func:`table_report`: where the "all features fused by one operator" models rank in a
  shipped table, the best proper subtree, seed noise against architecture spread;
- :func:`aki_pairs`, :func:`aki_measure`: inherited children against training from scratch
  at equal epochs, for both inheritance scopes;
- :func:`avg_measure`: why the avg chain trails the add chain at the recipe's 20 epochs.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np


def table_report(dataset: str, protocol: str) -> dict | None:
    """The numbers above for one shipped table (None when no table ships for it)."""
    from bench.families.tree_fusion import table_view
    from bench.families.tree_fusion.space import FUSION_OPS, all_fused, leaves, parse

    view = table_view(dataset, protocol)
    if view is None:
        return None
    archs = list(view._archs)
    val = view._metrics["val_acc"].values
    test = view._metrics["test_acc"].values
    val = val if val.ndim == 2 else val[:, :, -1]
    feats = list(view.space.features)
    vm, tm = val.mean(axis=1), test.mean(axis=1)
    order = np.argsort(-vm, kind="stable")
    rank = np.empty(len(archs), int)
    rank[order] = np.arange(1, len(archs) + 1)
    row = {a: i for i, a in enumerate(archs)}
    fused = {op: row[str(all_fused(feats, op))] for op in FUSION_OPS}
    n_leaves = np.array([len(set(leaves(parse(a)))) for a in archs])
    proper = np.flatnonzero(n_leaves < len(feats))
    best_proper = proper[np.argmax(vm[proper])]
    best_fused = max(fused.values(), key=lambda i: vm[i])
    top = order[:20]
    return {
        "table": f"{dataset} ({protocol})", "rows": len(archs), "features": len(feats),
        "best_val": (archs[order[0]], vm[order[0]], tm[order[0]]),
        "best_test": (archs[int(np.argmax(tm))], float(tm.max())),
        "fused_rank": {op: (int(rank[i]), float(vm[i]), float(tm[i])) for op, i in fused.items()},
        "best_proper": (archs[best_proper], int(rank[best_proper]), float(vm[best_proper]), float(tm[best_proper])),
        "best_fused": (archs[best_fused], float(vm[best_fused]), float(tm[best_fused])),
        "seed_std_val": float(val.std(axis=1).mean()), "top20_spread_val": float(vm[top].std()),
        "optimum_is_fused": bool(order[0] in fused.values()),
    }


def aki_pairs(dataset: str, n: int, protocol: str = "low-data") -> list[tuple[str, str]]:
    """Up to ``n`` distinct (parent, child) trees where a CSG-NAS run inherited, from run
    seeds 0, 1, ... (fresh runs of the preset with the paper specs' population and generations)."""
    from bench.compare import run_trained
    from bench.families.tree_fusion import open_for_search
    from bench.families.tree_fusion.csgnas import preset
    from bench.families.tree_fusion.paper import cache_path

    oracle = open_for_search(dataset, protocol, overlay=cache_path())
    out: list[tuple[str, str]] = []
    seed = 0
    while len(out) < n and seed < 30:
        r = run_trained(oracle, "csgnas", seed, budget_evals=10_000, settings=preset("csgnas", inherit="all"))
        for arch, parent in zip(r.archs, r.parents):
            if parent and (parent, arch) not in out and len(out) < n:
                out.append((parent, arch))
        seed += 1
    return out


def aki_measure(dataset: str, pair_list, epochs=(5, 10, 20), protocol: str = "low-data", seed: int = 0):
    """``{(start, epochs): [(val, test), ...]}`` with start in scratch, subtrees, all."""
    from bench.features.store import open as open_store
    from bench.families.tree_fusion.inherit import inherited_weights
    from bench.families.tree_fusion.space import parse
    from bench.families.tree_fusion.trainer import PROTOCOLS, train

    store = open_store(dataset)
    base = PROTOCOLS[protocol]
    out: dict[tuple[str, int], list[tuple[float, float]]] = {}
    parents: dict[str, dict] = {}
    for p_text, c_text in pair_list:
        parent, child = parse(p_text), parse(c_text)
        if p_text not in parents:
            parents[p_text] = train(parent, store, seed, base, return_state=True).state
        for e in epochs:
            rec = replace(base, epochs=e)
            r = train(child, store, seed, rec)
            out.setdefault(("scratch", e), []).append((r.val_acc, r.test_acc))
            for scope in ("subtrees", "all"):
                init = inherited_weights(child, parent, parents[p_text], scope=scope)
                r = train(child, store, seed, rec, init=init)
                out.setdefault((scope, e), []).append((r.val_acc, r.test_acc))
    return out


def avg_models(features: list[str]) -> dict[str, str]:
    from bench.families.tree_fusion.space import Fuse, Leaf, all_fused, canonical

    out = {"add chain": str(all_fused(features, "add")), "avg chain": str(all_fused(features, "avg"))}
    if len(features) == 4:
        a, b, c, d = (Leaf(f) for f in features)
        out["avg balanced"] = str(canonical(Fuse("avg", Fuse("avg", a, b), Fuse("avg", c, d))))
    out.update({f"single {f}": f for f in features})
    return out


def avg_measure(dataset: str, seeds: int, epochs=(20, 80), protocol: str = "low-data"):
    """``{(model name, epochs): [(val, test) per seed]}``."""
    from bench.features.store import open as open_store
    from bench.families.tree_fusion.space import parse
    from bench.families.tree_fusion.trainer import PROTOCOLS, train

    store = open_store(dataset)
    out = {}
    for name, text in avg_models(list(store.view_names)).items():
        for e in epochs:
            rec = replace(PROTOCOLS[protocol], epochs=e)
            out[(name, text, e)] = [(r.val_acc, r.test_acc) for r in
                                    (train(parse(text), store, s, rec) for s in range(seeds))]
    return out
