"""Runners for MRO's tables (``002_21034c53427ddd7b.txt``) on the suite's sequence proxies."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np

from bench.repro.output import Cell, TableResult
from bench.repro.trained_cache import cell as _cell
from bench.repro.spec import TableSpec


def mro_table2(spec: TableSpec, seeds: int, progress: bool = True) -> TableResult:
    """The paper's label distributions (transcribed, not offline); the proxies' distributions
    are reported beside them in the notes."""
    from bench.features import sequence

    res = TableResult(command="mmnas-bench tables reproduce mro-table2")
    mosi = sequence.open("mosi")
    y = np.concatenate([mosi.part("standard", p).labels["sentiment"] for p in ("train", "val", "test")])
    classes = np.round(np.clip(y, -3, 3)).astype(int)
    dist = ", ".join(f"{c:+d}: {100 * np.mean(classes == c):.2f}%" for c in range(-3, 4))
    res.notes.append(f"CMU-MOSI (the suite's `mosi` store, {len(y)} utterances), 7 sentiment classes "
                     f"round(clip(y, -3, 3)): {dist}.")
    syn = sequence.open("syn3-p2")
    ys = np.concatenate([syn.part("standard", p).labels["y"] for p in ("train", "val", "test")])
    cs = np.round(np.clip(ys, -3, 3)).astype(int)
    res.notes.append("synthetic `syn3-p2` (regression label on the same -3..3 scale), 7 classes: "
                     + ", ".join(f"{c:+d}: {100 * np.mean(cs == c):.2f}%" for c in range(-3, 4)) + ".")
    res.notes.append("POM (`pom`) has 17 continuous trait scores and no class labels. The paper's columns each "
                     "sum to 100.00%; CMU-MOSEI's emotion annotation has no neutral class, so how its 5.0% neutral "
                     "was derived is not stated.")
    return res


def mro_table3(spec: TableSpec, seeds: int, progress: bool = True) -> TableResult:
    """The paper's hyperparameters with the suite's scaled recipe beside them."""
    from bench.families.mro.trainer import Recipe

    r = Recipe()
    ours = {"Batch size": r.batch_size, "epoch": r.epochs, "Learning rate": r.lr, "Dropout": r.dropout,
            "Model dim": r.d}
    res = TableResult(command="mmnas-bench tables reproduce mro-table3")
    for row in spec.rows:
        res.cells[row.name] = [Cell(float(ours[row.name])) for _ in spec.columns]
        res.row_notes[row.name] = "the suite's one MRO recipe (bench.families.mro.trainer.Recipe), used on every proxy"
    res.notes.append(f"Our recipe {asdict(r)}: d=32 with 4 heads and lr 1e-3 because the proxies have about 600 "
                     "training sequences (the paper: 16k-23k); the reported epoch is the one with the lowest "
                     "validation MAE, with an L1 loss.")
    from bench.families.mro.trainer import RECIPES

    for ds, rec in RECIPES.items():
        diff = {k: v for k, v in asdict(rec).items() if asdict(r)[k] != v}
        res.notes.append(f"`{ds}` trains with {diff} instead (its planted path lookups need a larger step and more "
                         "epochs; benchmarks/mro_synthetic_pilot.py measures it).")
    return res


RUNNERS = {"mro_table2": mro_table2, "mro_table3": mro_table3}


# ---- Tables 4 and 5, Fig. 2: searches, baselines and the cloud of every mask -----------------
#: paper column -> the table metric it is read from (stand-alone, test split)
COLUMN_METRIC = {"MAE": "test_mae", "Corr": "test_corr", "Acc-7": "test_acc7", "Acc-2": "test_acc2",
                 "F1": "test_f1", "MFLOPs": "mflops"}


def _paper_cache():
    """This family's paper cache (:func:`bench.repro.trained_cache.shared_cache`)."""
    from bench.repro.trained_cache import shared_cache

    return shared_cache("mro")


def cache_path():
    """The committed training cache of these runners (``paper_repro/cache/mro.sqlite``)."""
    return _paper_cache().path()


def _oracle(dataset: str):
    return _paper_cache().oracle(dataset)


def searches(dataset: str, algo: str, seeds: int, progress: bool) -> list:
    """Seeded runs of one MRO search variant on ``dataset`` (supernets cached in the paper cache)."""
    return _paper_cache().searches(dataset, algo, seeds, progress)


def _view(dataset: str):
    return _paper_cache().view(dataset)


def _n_seeds(view) -> int:
    return view.metric_info("test_mae").n_seed


def _pareto(acc: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Masks no other mask beats on both accuracy (higher) and cost (lower, or equal with higher accuracy)."""
    keep = np.ones(len(acc), dtype=bool)
    for i in range(len(acc)):
        better = (acc >= acc[i]) & (cost <= cost[i]) & ((acc > acc[i]) | (cost < cost[i]))
        keep[i] = not better.any()
    return keep


def _row_values(spec: TableSpec, row, dataset: str, seeds: int, progress: bool):
    """(per-column lists of values, note, chosen masks) of one proxy row."""
    from bench.families.mro import baselines
    from bench.features.synthetic import score_paths

    view = _view(dataset)
    space = view.space
    cols = [COLUMN_METRIC.get(c) for c in spec.columns]
    key = row.key
    if key.startswith("mask:"):
        arch = key.split(":", 1)[1]
        vals = [[view.query(arch, m, seed=s) for s in range(_n_seeds(view))] if m else [] for m in cols]
        return vals, f"the tabulated mask {arch}, {_n_seeds(view)} training seeds", [arch]
    if key.startswith("baseline:"):
        name = key.split(":", 1)[1]
        oracle = _oracle(dataset)
        recs = [baselines.result(oracle, name, s) for s in range(_n_seeds(view))]
        vals = [[r[m] for r in recs] if m else [] for m in cols]
        return vals, f"trained with the masks' recipe, {len(recs)} training seeds (cached in {cache_path().name})", []
    if key == "best-val":
        archs = view.archs()
        val = view.query_many(archs, "val_mae")
        arch = archs[int(np.argmin(val))]
        vals = [[view.query(arch, m, seed=s) for s in range(_n_seeds(view))] if m else [] for m in cols]
        return vals, f"the mask with the best tabulated validation MAE ({arch}), {_n_seeds(view)} training seeds", [arch]
    runs = searches(dataset, key, seeds, progress)
    chosen = [r.best_arch for r in runs]
    vals = []
    for c, m in zip(spec.columns, cols):
        if m:
            vals.append([view.query(a, m) for a in chosen])
        elif c == "Rank corr":
            vals.append([r.settings.get("rho_prior_shared") if r.settings.get("rho_prior_shared") is not None
                         else float("nan") for r in runs])
        else:
            vals.append([])
    def tally(masks: list[str]) -> str:
        return ", ".join(f"{a} x{masks.count(a)}" for a in sorted(set(masks), key=lambda a: (-masks.count(a), a)))

    first = [r.settings["top_best"][0] for r in runs if r.settings.get("top_best")]
    note = (f"chosen masks (the best stand-alone validation MAE among the supernet's top 3) over {len(runs)} search "
            f"seeds: {tally(chosen)}; the supernet's own first choice (shared weights, no retraining): {tally(first)}")
    truth = view_truth(dataset)
    if truth:
        names, store = space.path_names(), _store(dataset)
        f1 = [score_paths(store, [names[i] for i, d in enumerate(space.decode(a)) if d])["f1"] for a in chosen]
        note += f"; path-recovery F1 against the true paths {np.mean(f1):.2f}"
    charged = [r.sim_seconds[-1] if r.sim_seconds else float("nan") for r in runs]
    note += f"; charged {np.mean(charged):.0f} s per search"
    return vals, note, chosen


def _store(dataset: str):
    return _oracle(dataset).store


def view_truth(dataset: str) -> list[str]:
    """The true signal paths of a synthetic dataset ([] for real data)."""
    gt = _store(dataset).ground_truth
    return list(gt.get("signal_paths", [])) if gt else []


def _truth_mask(dataset: str) -> str | None:
    truth = view_truth(dataset)
    if not truth:
        return None
    space = _view(dataset).space
    return "".join("1" if n in truth else "0" for n in space.path_names())


def _proxy_rows(spec: TableSpec):
    return [r for r in spec.rows if r.key and r.status not in ("pending", "not-offline")]


def _fill_rows(spec: TableSpec, res: TableResult, seeds: int, progress: bool,
               values: dict[str, dict[str, list[float]]] | None = None) -> dict[str, list[str]]:
    """Fill every proxy row's cells and note; the chosen masks per row, and (``values``) each row's
    values per column (one per training seed or search seed) for the comparisons in the notes."""
    dataset = spec.params["dataset"]
    chosen = {}
    for row in _proxy_rows(spec):
        vals, note, picks = _row_values(spec, row, dataset, seeds, progress)
        res.cells[row.name] = [_cell(v) if len(v) else None for v in vals]
        res.row_notes[row.name] = note
        chosen[row.name] = picks
        if values is not None:
            values[row.name] = {c: list(v) for c, v in zip(spec.columns, vals) if len(v)}
    return chosen


def _all_masks_frame(dataset: str):
    import pandas as pd

    view = _view(dataset)
    df = pd.DataFrame({m: view.query_many(view.archs(), m) for m in
                       ("val_mae", "test_mae", "test_corr", "test_acc7", "test_acc2", "test_f1", "mflops")},
                      index=view.archs())
    return df


def _noise_note(dataset: str) -> str:
    import json

    prov = _view(dataset).attrs.get("provenance", {})
    if isinstance(prov, str):
        prov = json.loads(prov)
    noise = prov.get("seed_noise", {})
    if not noise:
        return ""
    return ("Seed noise against architecture spread in the table (ICC(1), share of variance between masks): "
            + ", ".join(f"{m} {v['icc1']:.2f}" for m, v in noise.items()) + ".")


def _highest_against_rest(values: dict[str, dict[str, list[float]]], column: str, unit: str, higher_is_better: bool,
                          decimals: int = 3) -> list[str]:
    """Notes: the row with the best mean of ``column`` against every other row that has it
    (:func:`bench.stats.compare_text`, one value per ``unit``)."""
    from bench.stats import compare_text

    have = {k: [x for x in v[column] if x == x] for k, v in values.items() if column in v}
    have = {k: v for k, v in have.items() if v}
    if len(have) < 2:
        return []
    pick = max if higher_is_better else min
    top = pick(have, key=lambda k: np.mean(have[k]))
    return [f"{column}, the row with the {'highest' if higher_is_better else 'lowest'} mean against each other: "
            + "; ".join(compare_text(top, have[top], k, v, higher_is_better, unit=unit, decimals=decimals, means=True)
                        for k, v in have.items() if k != top) + "."]


def mro_table4(spec: TableSpec, seeds: int, progress: bool = True) -> TableResult:
    """Rank-loss variants (L0, L1, Linf, L2) of MRO on a K=3 proxy with known true paths: the
    chosen masks' tabulated stand-alone metrics, rho(prior, shared-weight validation MAE) over
    the scored masks, and rho(prior, stand-alone validation MAE) over every mask."""
    from scipy.stats import spearmanr

    from bench.stats import compare_text

    dataset = spec.params["dataset"]
    res = TableResult(command=f"mmnas-bench tables reproduce {spec.id}")
    values: dict[str, dict[str, list[float]]] = {}
    _fill_rows(spec, res, int(spec.params.get("search_seeds", seeds)), progress, values)
    df = _all_masks_frame(dataset)
    rhos = []
    for row in _proxy_rows(spec):
        runs = searches(dataset, row.key, int(spec.params.get("search_seeds", seeds)), progress)
        per = []
        for r in runs:
            prior = r.settings.get("prior_score", {})
            masks = [a for a in prior if a in df.index]
            if len(masks) > 2 and np.ptp([prior[a] for a in masks]) > 0:
                per.append(spearmanr([prior[a] for a in masks], -df.loc[masks, "val_mae"].to_numpy()).statistic)
        rhos.append(f"{row.name}: {np.mean(per):.3f} +- {np.std(per, ddof=1) if len(per) > 1 else float('nan'):.3f}"
                    if per else f"{row.name}: - (constant prior)")
    truth = _truth_mask(dataset)
    res.notes += [
        f"Proxy: `{dataset}` (K = 3, the paper's 6 directed paths in its order; true signal paths "
        f"{', '.join(view_truth(dataset)) or 'none'}, mask {truth}). Columns: the chosen mask's tabulated "
        "stand-alone test metrics (mean of 3 training seeds), mean +- std over search seeds; Rank corr = "
        "Spearman rho between the prior's score and the shared-weight validation MAE (negated) over the "
        "masks the supernet scores (the paper's definition: prior ranks against subnet performance ranks).",
        "rho(prior, stand-alone validation MAE) over all 63 masks: " + "; ".join(rhos) + ".",
        *_highest_against_rest(values, "Rank corr", "search seeds", higher_is_better=True, decimals=3),
        "POM and MOSI have two modalities: each source has one target, the prior's per-source softmax is 1 and "
        "every rank-loss variant samples uniformly, so the variants cannot differ there; they are not run.",
        _noise_note(dataset),
    ]
    return res


def _best_against_full(dataset: str, dom, full: str) -> str:
    """`` On test MAE, the best of those masks against all paths ...: <statistic>.`` ("" without such a mask)."""
    from bench.stats import compare_text

    if not len(dom):
        return ""
    view = _view(dataset)
    n, best = _n_seeds(view), dom.test_mae.idxmin()
    return (f" On test MAE, the best of those masks against all paths over their {n} training seeds: "
            + compare_text(best, [view.query(best, "test_mae", seed=s) for s in range(n)], full,
                           [view.query(full, "test_mae", seed=s) for s in range(n)], higher_is_better=False,
                           decimals=3, means=True) + ".")


def mro_table5(spec: TableSpec, seeds: int, progress: bool = True) -> TableResult:
    """Baselines, the all-paths model, MRO's ablations and full MRO on a K=3 proxy, with the
    exhaustive table answering whether any mask beats all paths at lower cost."""
    from bench.stats import compare_text

    dataset = spec.params["dataset"]
    n_search = int(spec.params.get("search_seeds", seeds))
    res = TableResult(command=f"mmnas-bench tables reproduce {spec.id}")
    values: dict[str, dict[str, list[float]]] = {}
    chosen = _fill_rows(spec, res, n_search, progress, values)
    df = _all_masks_frame(dataset)
    full = "1" * len(df.index[0])
    dom = df[(df.test_mae < df.loc[full, "test_mae"]) & (df.mflops < df.loc[full, "mflops"])]
    dom_val = df[(df.val_mae < df.loc[full, "val_mae"]) & (df.mflops < df.loc[full, "mflops"])]
    front = df.index[_pareto(-df.test_mae.to_numpy(), df.mflops.to_numpy())]
    res.notes.append(
        f"Exhaustive answer on `{dataset}` (seed means of every mask): {len(dom)} of {len(df) - 1} other masks have "
        f"a lower test MAE than all paths ({full}, {df.loc[full, 'test_mae']:.3f}) at fewer MFLOPs "
        f"({len(dom_val)} on validation MAE); the best of them: "
        + (f"{dom.test_mae.idxmin()} ({dom.test_mae.min():.3f} at {dom.loc[dom.test_mae.idxmin(), 'mflops']:.2f} "
           f"MFLOPs against {df.loc[full, 'mflops']:.2f})" if len(dom) else "none")
        + f". Pareto front (test MAE against MFLOPs): {', '.join(front)}."
        + _best_against_full(dataset, dom, full))
    ref = next((r for r in _proxy_rows(spec) if "Full MRO" in r.name), None)
    if ref is not None:
        view = _view(dataset)
        ref_mae = [view.query(a, "test_mae") for a in chosen[ref.name]]
        for row in _proxy_rows(spec):
            if row.key.startswith("mro") and row is not ref:
                other = [view.query(a, "test_mae") for a in chosen[row.name]]
                res.notes.append("Chosen-mask test MAE (seed means), one value per search seed: " + compare_text(
                    "Full MRO", ref_mae, row.name, other, higher_is_better=False, unit="search seeds", decimals=3,
                    means=True) + ".")
        for row in _proxy_rows(spec):  # the fixed networks against MRO's picks: values of different kinds
            if row.key.startswith(("mask:", "baseline:")) and row.name in values:
                for col, better in (("MAE", False), ("Corr", True)):
                    if col in values[row.name] and col in values[ref.name]:
                        res.notes.append(
                            f"On test {col}, MRO's picks (one seed-mean value per search seed) against {row.name} (one "
                            "value per training seed): " + compare_text(
                                "Full MRO", values[ref.name][col], row.name, values[row.name][col], better,
                                unit="seeds", decimals=3, means=True) + ".")
        on_front = np.mean([a in set(front) for a in chosen[ref.name]]) * 100
        res.notes.append(f"Full MRO's picks on the test-MAE/MFLOPs Pareto front: {on_front:.0f}% of search seeds.")
    res.notes.append(_noise_note(dataset))
    return res


def mro_fig2(spec: TableSpec, seeds: int, progress: bool = True) -> TableResult:
    """Acc-7 and Acc-2 against MFLOPs for every mask of the proxy (the cloud), with the
    baselines and each search variant's picks; rows: the share of picks on the Pareto front."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bench.families.mro import baselines
    from bench.repro.spec import get_spec

    dataset = spec.params["dataset"]
    n_search = int(spec.params.get("search_seeds", seeds))
    df = _all_masks_frame(dataset)
    truth = _truth_mask(dataset)
    res = TableResult(command=f"mmnas-bench tables reproduce {spec.id}")
    variants = [(r.name.split(" ", 1)[1], r.key) for r in _proxy_rows(get_spec("mro-table5"))
                if r.key.startswith("mro")]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), layout="constrained")
    oracle = _oracle(dataset)
    markers = "ovs^D<>p"
    for ax, (metric, label) in zip(axes, (("test_acc7", "Acc-7 (%)"), ("test_acc2", "Acc-2 (%)"))):
        acc, cost = df[metric].to_numpy(), df.mflops.to_numpy()
        front = _pareto(acc, cost)
        ax.scatter(cost, acc, s=14, c="0.7", label=f"every mask ({len(df)}; seed means)")
        order = np.argsort(cost[front])
        ax.plot(cost[front][order], acc[front][order], "-", c="0.4", lw=1, label="Pareto front")
        full = "1" * len(df.index[0])
        ax.scatter([df.loc[full, "mflops"]], [df.loc[full, metric]], marker="*", s=160, c="k",
                   label=f"Pairwise CMT ({full})", zorder=4)
        if truth in df.index:
            ax.scatter([df.loc[truth, "mflops"]], [df.loc[truth, metric]], marker="X", s=110, c="tab:green",
                       label=f"true paths ({truth})", zorder=4)
        for k, name in enumerate(baselines.NAMES):
            recs = [baselines.result(oracle, name, s) for s in range(3)]
            ax.scatter([np.mean([r["mflops"] for r in recs])], [np.mean([r[metric] for r in recs])],
                       marker="P", s=90, c=f"C{k + 6}", label={"concat-mlp": "Concat+MLP",
                                                              "embracenet": "EmbraceNet"}[name], zorder=4)
        for k, (name, key) in enumerate(variants):
            picks = [r.best_arch for r in searches(dataset, key, n_search, progress)]
            ax.scatter(df.loc[picks, "mflops"], df.loc[picks, metric], marker=markers[k % len(markers)], s=45,
                       facecolors="none", edgecolors=f"C{k}", lw=1.4, label=f"{name} picks", zorder=5)
        ax.set_xlabel("forward MFLOPs per sample")
        ax.set_ylabel(f"test {label}")
        ax.set_title(f"{label.split(' ')[0]} against cost on {dataset}")
    axes[1].legend(fontsize=7, loc="lower right")
    res.figures.append(fig)
    for row in _proxy_rows(spec):
        metric = {"acc7": "test_acc7", "acc2": "test_acc2"}[row.key.split(":")[1]]
        front = set(df.index[_pareto(df[metric].to_numpy(), df.mflops.to_numpy())])
        picks = [r.best_arch for r in searches(dataset, "mro-l2", n_search, progress)]
        res.cells[row.name] = [Cell(float(np.mean([a in front for a in picks]) * 100), float("nan"), len(picks))]
        res.row_notes[row.name] = (f"share (%) of full MRO's picks over {len(picks)} search seeds that lie on the "
                                   f"{metric[5:]}/MFLOPs Pareto front of all {len(df)} masks")
    res.notes.append(f"Proxy `{dataset}` (K = 3). The cloud holds every mask's tabulated seed means; markers: the "
                     "masks each search variant picked (one per search seed), the baselines (3 training seeds).")
    return res


RUNNERS.update({"mro_table4": mro_table4, "mro_table5": mro_table5, "mro_fig2": mro_fig2})
