"""Runners for CSG-NAS's tables (``000_62c610aae6b2430e.txt``) on the multi-view proxies.

The paper's datasets (ChemBook-10k, NUS-WIDE-128) are not offline; a spec maps each paper
column to a shipped set (``params.datasets``) under a training protocol. Searches query
the shipped tables first and train what they miss into ``paper_repro/cache/``, which is
committed, so a regeneration is served from tables and cache (reported on stderr).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from bench import algorithms
from bench.compare import run_trained
from bench.families.tree_fusion import open_for_search
from bench.trained_report import mann_whitney, runs_frame
from bench.repro.cache import cache_dir
from bench.repro.output import Cell, TableResult
from bench.repro.spec import TableSpec
from bench.run import RunRecord

_RUNS: dict[tuple, list[RunRecord]] = {}
_ORACLES: dict[tuple, object] = {}
_FUSED: dict[tuple, dict[str, list[float]]] = {}


def cache_path() -> Path:
    """The training cache the runners use: ``tree-fusion.sqlite`` in the paper cache folder
    (the committed one unless :func:`bench.repro.cache.using_cache_dir` redirects it)."""
    return cache_dir() / "tree-fusion.sqlite"


def _oracle(dataset: str, protocol: str):
    key = (dataset, protocol, str(cache_path()))
    if key not in _ORACLES:
        _ORACLES[key] = open_for_search(dataset, protocol, overlay=cache_path())
    return _ORACLES[key]


def _settings(algo: str, spec: TableSpec, budget_seconds: float | None):
    """The algorithm's settings with the spec's population and generations applied."""
    from dataclasses import replace

    from bench.families.tree_fusion.csgnas import PRESETS
    from bench.algorithms.edf import EDFSettings

    p = spec.params
    if budget_seconds is not None:
        return algorithms.until_budget(algo, "tree-fusion")
    if algo == "edf":
        return EDFSettings(population=int(p.get("population", 10)), generations=int(p.get("generations", 6)))
    if algo.startswith("csgnas"):
        base, _, sel = algo.partition("#")  # 'csgnas-core-random#2': random selection drawn from seed 2
        s = PRESETS[base]
        gens = int(p.get("generations", 6))
        s = replace(s, population=int(p.get("population", 10)), generations_core=gens // 2,
                    generations_expand=gens - gens // 2, k_features=int(p.get("k_features", s.k_features)),
                    k_ops=int(p.get("k_ops", s.k_ops)))
        return replace(s, selection_seed=int(sel)) if sel else s
    return None


def incumbent_note(recs: list[RunRecord], space) -> str:
    """How many runs' final incumbent (best validation accuracy) is an all-feature model, i.e.
    one the operator ranking of CSG-NAS evaluates before any search."""
    from bench.families.tree_fusion.space import FUSION_OPS, all_fused

    fused = {space.encode(all_fused(space.features, op)) for op in FUSION_OPS}
    n = sum(r.archs[int(np.argmax(r.values))] in fused for r in recs if r.archs)
    return f"incumbent is an all-feature model in {n} of {len(recs)} runs"


def runs(spec: TableSpec, algo: str, dataset: str, seeds: int, progress: bool,
         budget_seconds: float | None = None) -> list[RunRecord]:
    """Seeded runs of one algorithm on one dataset (memoised within the process)."""
    protocol = spec.params.get("protocol", "low-data")
    key = (algo, dataset, protocol, seeds, budget_seconds, spec.params.get("population"), spec.params.get("generations"))
    if key not in _RUNS:
        oracle = _oracle(dataset, protocol)
        before = dict(oracle.answered_from)
        name = algo.partition("#")[0]
        out = []
        for seed in tqdm(range(seeds), desc=f"{algo} {dataset}", unit="seed", disable=not progress):
            # each run trains with its own seed: runs 0-2 are answered by the table, the others
            # train into the cache, so a row's runs are independent replicates (seed mod 3 repeated)
            out.append(run_trained(oracle, name, seed, budget_seconds=budget_seconds,
                                   budget_evals=None if budget_seconds else 10_000,
                                   settings=_settings(algo, spec, budget_seconds), train_seed=seed))
            out[-1].algo = algo
        _RUNS[key] = out
        got = {k: oracle.answered_from[k] - before[k] for k in before}
        print(f"[{spec.id}] {algo} on {dataset}: {got['table']} answers from the table, {got['overlay']} from the "
              f"cache, {got['trained']} trained now", file=sys.stderr)
    return _RUNS[key]


def _cell(values) -> Cell:
    v = np.asarray(list(values), float)
    return Cell(float(v.mean()), float(v.std()), len(v))


def _compare_text(ref_name: str, ref: list[float], name: str, other: list[float], higher_is_better: bool = True) -> str:
    """The reference row against another, one value per run (:func:`bench.stats.compare_text`): test
    accuracy, or charged training seconds (``higher_is_better=False``)."""
    from bench.stats import compare_text

    return compare_text(ref_name, ref, name, other, higher_is_better=higher_is_better, unit="runs", means=True)


def _datasets(spec: TableSpec) -> dict[str, str]:
    return dict(spec.params["datasets"])


def _implemented(spec: TableSpec):
    return [r for r in spec.rows if r.status not in ("pending", "not-offline") and r.key]


def _fused_records(spec: TableSpec, dataset: str) -> dict[str, list[float]]:
    """Test accuracy per seed of each single-feature and each all-features-by-one-operator model."""
    from bench.families.tree_fusion.space import Leaf, all_fused

    protocol = spec.params.get("protocol", "low-data")
    key = (dataset, protocol, str(cache_path()))
    if key in _FUSED:
        return _FUSED[key]
    o = _oracle(dataset, protocol)
    out = _FUSED[key] = {}
    for f in o.space.features:
        out[f"feature {f}"] = [o.query(Leaf(f), "test_acc", s, allow_train=True) for s in range(o.n_seeds)]
    for op in o.space.ops:
        out[f"all fused by {op}"] = [o.query(all_fused(o.space.features, op), "test_acc", s, allow_train=True)
                                    for s in range(o.n_seeds)]
    return out


def csgnas_table(spec: TableSpec, seeds: int, progress: bool = True) -> TableResult:
    """Test accuracy of the final incumbent per paper column (Table 1, 6 and 7 shapes).

    Row keys: an algorithm (``edf``, ``csgnas``, a CSG-NAS variant) or ``fused:OP`` (the
    model fusing all features by OP; 3 training seeds). Columns named ``Time...`` get
    the run's training seconds; ``Params...`` the incumbent's parameters in millions.
    """
    ds_of = _datasets(spec)
    res = TableResult()
    finals: dict[tuple[str, str], list[float]] = {}
    notes_of: dict[str, list[str]] = {}
    for row in _implemented(spec):
        cells = []
        algo, _, which = row.key.partition("@")  # 'edf@NUS': the whole row on NUS's proxy
        for col in spec.columns:
            ds = ds_of[which] if which else ds_of.get(col) or ds_of["*"]
            if row.key.startswith("fused:"):
                vals = _fused_records(spec, ds)[f"all fused by {row.key[6:]}"]
                cells.append(_cell(vals) if not col.startswith(("Time", "Params")) else None)
                continue
            recs = runs(spec, algo, ds, seeds, progress)
            frame = runs_frame(recs)
            notes_of.setdefault(row.name, []).append(
                f"{ds}: {incumbent_note(recs, _oracle(ds, spec.params.get('protocol', 'low-data')).space)}")
            measure = ("charged_seconds" if col.startswith("Time") else
                       "best_params" if col.startswith("Params") else "best_test")
            vals = frame[measure] / (1e6 if measure == "best_params" else 1)
            cells.append(_cell(vals))
            if measure in ("best_test", "charged_seconds"):
                finals[(algo, f"{col} ({ds})")] = list(frame[measure])
        res.cells[row.name] = cells
        if not row.key.startswith("fused:"):
            res.row_notes[row.name] = "; ".join([f"{seeds} seeds (independent training seeds)",
                                                 *dict.fromkeys(notes_of.get(row.name, []))])
    ref = spec.params.get("reference", "csgnas")
    names = {r.key.partition("@")[0]: r.name.split(" (")[0] for r in spec.rows}
    for (key, col), vals in finals.items():
        if key != ref and (ref, col) in finals:
            res.notes.append(f"{col}: " + _compare_text(names[ref], finals[(ref, col)], names[key], vals,
                                                        higher_is_better=not col.startswith("Time")))
    return res


def csgnas_fig4(spec: TableSpec, seeds: int, progress: bool = True) -> TableResult:
    """Figure 4: test accuracy of each single-feature model and each all-features model per operator."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ds_of = _datasets(spec)
    res = TableResult()
    fig, axes = plt.subplots(1, len(ds_of), figsize=(6 * len(ds_of), 4.6), squeeze=False, layout="constrained")
    for ax, (col, ds) in zip(axes[0], ds_of.items()):
        recs = _fused_records(spec, ds)
        names = list(recs)
        mean = [np.mean(recs[n]) for n in names]
        std = [np.std(recs[n]) for n in names]
        colors = ["tab:blue" if n.startswith("feature") else "tab:orange" for n in names]
        ax.bar(range(len(names)), mean, yerr=std, color=colors)
        ax.set_xticks(range(len(names)), [n.replace("all fused by ", "all:") for n in names], rotation=45, ha="right")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(f"{col} proxy: {ds} ({spec.params.get('protocol', 'low-data')})")
        ax.set_ylim(min(mean) - 10, 100)
        ax.grid(axis="y", alpha=0.3)
        from matplotlib.patches import Patch

        ax.legend(handles=[Patch(color="tab:blue", label="one feature"),
                           Patch(color="tab:orange", label="all features fused by one operator")], fontsize=8,
                  loc="lower left")
        for kind in ("feature", "all fused by"):
            part = {n: np.mean(v) for n, v in recs.items() if n.startswith(kind)}
            row = f"{'single features' if kind == 'feature' else 'fusion operators'} ({col})"
            res.cells[row] = [_cell(part.values())]
            ranking = ", ".join(f"{n.split()[-1]} {v:.1f}" for n, v in sorted(part.items(), key=lambda t: -t[1]))
            res.row_notes[row] = f"{ds}; mean +- std over the {len(part)} models; ranking: {ranking}"
    from bench.report import set_title

    set_title(fig, spec.title)
    res.figures.append(fig)
    res.notes.append("Each bar: mean +- std over the 3 training seeds of the shipped table; blue: one feature, "
                     "orange: all features fused by one operator (a left-deep chain). CSG-NAS keeps the top k1 "
                     "features and top k2 operators of these rankings (ranked on validation accuracy in the search).")
    return res


def csgnas_anytime(spec: TableSpec, seeds: int, progress: bool = True) -> TableResult:
    """Figure 5 and the equal-cost check: rows run on one dataset, either with the spec's
    generations (Figure 5) or at ``params.budget_seconds`` training seconds each; columns
    'Acc' (test accuracy of the final incumbent), 'Time' (training seconds) and 'p' (Mann-Whitney
    against the reference row); the figure shows anytime curves against training seconds."""
    from bench.trained_report import anytime_figure

    ds = _datasets(spec)["*"]
    budget = spec.params.get("budget_seconds")
    budget = float(budget) if budget is not None else None
    ref = spec.params.get("reference", "csgnas")
    res = TableResult()
    all_recs, finals = [], {}
    for row in _implemented(spec):
        recs = runs(spec, row.key, ds, seeds, progress, budget_seconds=budget)
        frame = runs_frame(recs)
        finals[row.key] = list(frame["best_test"])
        all_recs += recs
        cells = []
        for col in spec.columns:
            if col.startswith("Acc"):
                cells.append(_cell(frame["best_test"]))
            elif col.startswith("Time"):
                cells.append(_cell(frame["charged_seconds"]))
            elif col.startswith("Evals"):
                cells.append(_cell(frame["evals"]))
            else:
                cells.append(None)
        res.cells[row.name] = cells
        cores = sorted({tuple(r.settings.get("core_features", [])) + tuple(r.settings.get("core_ops", [])) for r in recs})
        res.row_notes[row.name] = (f"{seeds} seeds (independent training seeds); "
                                   + incumbent_note(recs, _oracle(ds, spec.params.get("protocol", "low-data")).space)
                                   + (f"; core space {cores[0]}" if len(cores) == 1 and cores[0] else ""))
    for row in _implemented(spec):
        if row.key != ref and ref in finals:
            ref_name = next(r.name for r in spec.rows if r.key == ref)
            res.notes.append(_compare_text(ref_name, finals[ref], row.name, finals[row.key]))
    fig = anytime_figure(all_recs, spec.title)
    res.figures.append(fig)
    return res


def csgnas_diagnostics(spec: TableSpec, seeds: int, progress: bool = True) -> TableResult:
    """Measured diagnostics (:mod:`bench.families.tree_fusion.diagnostics`). Row keys:
    ``aki:START:EPOCHS`` (START scratch, subtrees or all: children of CSG-NAS runs on
    ``params.aki_dataset``, mean over the pairs) and ``avg:MODEL:EPOCHS`` (ALOI's all-feature
    add/avg models, mean over 3 training seeds); notes: where the all-feature models rank in
    every shipped table."""
    from bench.families.tree_fusion import TABLE_DATASETS, TABLE_PROTOCOLS
    from bench.families.tree_fusion.diagnostics import aki_measure, aki_pairs, avg_measure, table_report

    from bench.stats import compare_text

    p = spec.params
    res = TableResult()
    keys = [r.key for r in _implemented(spec)]
    aki_epochs = sorted({int(k.split(":")[2]) for k in keys if k.startswith("aki:")})
    avg_epochs = sorted({int(k.split(":")[2]) for k in keys if k.startswith("avg:")})
    pl = aki_pairs(p["aki_dataset"], int(p["aki_pairs"]))
    aki = aki_measure(p["aki_dataset"], pl, tuple(aki_epochs))
    avg = {(name, e): v for (name, _, e), v in avg_measure(p["avg_dataset"], int(p["avg_seeds"]), tuple(avg_epochs)).items()}
    for row in _implemented(spec):
        kind, what, e = row.key.split(":")
        v = np.array(aki[(what, int(e))] if kind == "aki" else avg[(what, int(e))])
        res.cells[row.name] = [Cell(float(v[:, 0].mean()), float(v[:, 0].std()), len(v)),
                               Cell(float(v[:, 1].mean()), float(v[:, 1].std()), len(v))]
        if kind == "aki":
            scratch = np.array(aki[("scratch", int(e))])[:, 0]
            d = v[:, 0] - scratch
            res.row_notes[row.name] = (f"{p['aki_dataset']}, {len(pl)} parent -> child pairs; val minus scratch at "
                                       f"{e} epochs: {d.mean():+.2f} (higher in {int((d > 0).sum())} of {len(d)})"
                                       + ("" if what == "scratch" else "; " + compare_text(
                                           f"inherit {what}", v[:, 0], "scratch", scratch, paired=True,
                                           unit="parent -> child pairs")))
        else:
            res.row_notes[row.name] = f"{p['avg_dataset']} (low-data), training seeds 0-{int(p['avg_seeds']) - 1}"
            if what != "add chain" and ("add chain", int(e)) in avg:
                add = np.array(avg[("add chain", int(e))])[:, 0]
                res.row_notes[row.name] += "; validation accuracy " + compare_text(
                    what, v[:, 0], f"add chain at {e} epochs", add, means=True)
    for e in aki_epochs:
        if e != max(aki_epochs):
            inherit, scratch = np.array(aki[("all", e)])[:, 0], np.array(aki[("scratch", max(aki_epochs))])[:, 0]
            d = inherit - scratch
            res.notes.append(f"AKI (all) after {e} epochs vs scratch after {max(aki_epochs)}: validation "
                             f"{d.mean():+.2f} points on average (higher in {int((d > 0).sum())} of {len(d)} pairs); "
                             + compare_text(f"all after {e}", inherit, f"scratch after {max(aki_epochs)}", scratch,
                                            paired=True, unit="parent -> child pairs"))
    for protocol in TABLE_PROTOCOLS:
        for ds in TABLE_DATASETS:
            r = table_report(ds, protocol)
            if r is None:
                continue
            ranks = ", ".join(f"{op} {v[0]}" for op, v in r["fused_rank"].items())
            a, v, t = r["best_val"]
            res.notes.append(f"table {r['table']} ({r['rows']} rows): rank by seed-mean validation accuracy of the "
                             f"all-feature models: {ranks}; best row `{a}` (val {v:.2f}, test {t:.2f}); seed std "
                             f"{r['seed_std_val']:.2f} vs spread of the top 20 rows {r['top20_spread_val']:.2f}")
    return res


RUNNERS = {"csgnas_diagnostics": csgnas_diagnostics, "csgnas_table": csgnas_table, "csgnas_fig4": csgnas_fig4, "csgnas_anytime": csgnas_anytime}
