"""Runners for RMNAS's tables and figures (``003_ca6407ec0d2ea38c.txt``) on the suite's proxies.

A proxy row's ``key`` says what it computes on the spec's ``dataset``:

* ``search:<algorithm>``: one run per search seed (supernets cached in
  ``paper_repro/cache/rmnas.sqlite``), the found genotype retrained (table, cache or training);
* ``supernet:<algorithm>``: the same searches' supernets evaluated with their genotype's
  weights, without retraining (Table 7's rows without "retrain");
* ``arch:<architecture>``: one fixed architecture, every training seed of the table;
* ``best:<metric>``: the tabulated architecture with the best seed mean of ``metric``.

Columns: ``AUILC`` specs (``auilc = "0-1"`` or ``"0-0.5"``) integrate the per-rate test metric
over the range (Eq. 14); ``at_rate`` specs read the metric at one rate; ``Params (M)`` is the
model's parameter count.
"""

from __future__ import annotations

import numpy as np

from bench.families.rmnas import SEEDS
from bench.families.rmnas.missing import RANGES, RATES, auilc
from bench.repro.output import Cell, TableResult
from bench.repro.spec import TableSpec
from bench.repro.trained_cache import cell

#: paper column (without a dataset prefix) -> metric name inside records
COLUMN_METRIC = {"MAE": "mae", "Corr": "corr", "Acc-7": "acc7", "Acc-5": "acc5", "Acc-3": "acc3", "Acc-2": "acc2",
                 "F1": "f1"}


def paper_cache():
    """This family's paper cache (:func:`bench.repro.trained_cache.shared_cache`)."""
    from bench.repro.trained_cache import shared_cache

    return shared_cache("rmnas", independent=True)


def row_records(dataset: str, key: str, seeds: int, progress: bool) -> tuple[list[dict], str, list[str]]:
    """(records, note, architectures) of one proxy row: one record per search seed or training seed."""
    cache = paper_cache()
    kind, _, what = key.partition(":")
    oracle = cache.oracle(dataset)
    if kind == "arch":
        arch = oracle.space.encode(what)
        recs = [oracle.result(arch, s) for s in range(SEEDS)]
        return recs, f"the fixed architecture {arch}, {len(recs)} training seeds", [arch] * len(recs)
    if kind == "best":
        view = cache.view(dataset)
        archs = view.archs()
        vals = view.query_many(archs, what)
        i = int(np.argmin(vals) if view.metric_info(what).direction == "min" else np.argmax(vals))
        recs = [oracle.result(archs[i], s) for s in range(SEEDS)]
        return recs, (f"the tabulated architecture with the best {what} of {len(archs)} ({archs[i]}), "
                      f"{len(recs)} training seeds"), [archs[i]] * len(recs)
    if kind not in ("search", "supernet"):
        raise ValueError(f"row key {key!r}: expected search:, supernet:, arch: or best:")
    runs = cache.searches(dataset, what, seeds, progress)
    genos = [r.settings["genotype"] for r in runs]
    if kind == "supernet":
        recs = [r.settings["supernet"] for r in runs]
        note = (f"the supernet of each of {len(runs)} `{what}` searches run with its genotype's weights, not "
                f"retrained")
    else:
        recs = [oracle.result(r.best_arch, r.settings["train_seed"]) for r in runs]
        note = f"the genotype of each of {len(runs)} `{what}` searches, retrained from scratch"
    charged = np.mean([r.sim_seconds[-1] for r in runs if r.sim_seconds])
    return recs, note + f"; genotypes: {', '.join(genos)}; charged {charged:.0f} s per search", genos


def by_rate(rec: dict, metric: str) -> list[float] | None:
    return rec.get(f"test_{metric}_by_rate") or rec.get(f"{metric}_by_rate")


def column_value(rec: dict, column: str, spec: TableSpec) -> float | None:
    """One record's value of a paper column under the spec's params (None: not measured here)."""
    if column.startswith("Params"):
        return rec["params"] / 1e6 if "params" in rec else None
    name = column.split(" ", 1)[1] if " " in column and column.split(" ", 1)[0] in ("MOSI", "MOSEI") else column
    metric = COLUMN_METRIC.get(name)
    values = by_rate(rec, metric) if metric else None
    if not values:
        return None
    if "auilc" in spec.params:
        lo, hi = RANGES[spec.params["auilc"]]
        return auilc(RATES, values, lo, hi)
    return float(values[int(round(float(spec.params.get("at_rate", 0.0)) * 10))])


def _proxy_rows(spec: TableSpec):
    return [r for r in spec.rows if r.key and r.status not in ("pending", "not-offline")]


def _columns_for(spec: TableSpec) -> list[bool]:
    """Which columns the proxy fills (a ``MOSEI ...`` column has no stand-in)."""
    return [not c.startswith("MOSEI") for c in spec.columns]


def row_dataset(spec: TableSpec, key: str) -> tuple[str, str]:
    """(dataset, key) of a row: ``on:<dataset>:<key>`` runs the row on another dataset."""
    if key.startswith("on:"):
        _, dataset, rest = key.split(":", 2)
        return dataset, rest
    return spec.params["dataset"], key


def fill_rows(spec: TableSpec, res: TableResult, seeds: int, progress: bool) -> dict[str, list[dict]]:
    use = _columns_for(spec)
    out = {}
    for row in _proxy_rows(spec):
        dataset, key = row_dataset(spec, row.key)
        recs, note, _ = row_records(dataset, key, seeds, progress)
        if dataset != spec.params["dataset"]:
            note = f"on `{dataset}`: {note}"
        cells = []
        for c, ok in zip(spec.columns, use):
            vals = [column_value(r, c, spec) for r in recs] if ok else []
            vals = [v for v in vals if v is not None and np.isfinite(v)]
            cells.append(cell(vals) if vals else None)
        res.cells[row.name] = cells
        res.row_notes[row.name] = note
        out[row.name] = recs
    return out


def _effective_note(dataset: str) -> str:
    from bench.families.rmnas.trainer import effective_rates

    store = paper_cache().oracle(dataset).store
    eff = effective_rates(store)
    return ("Effective missing rate of each modality on test (native absence and padding count as missing) at "
            "rates 0, 0.5, 1: " + "; ".join(f"{m} {v[0]:.2f}, {v[5]:.2f}, {v[10]:.2f}" for m, v in eff.items())
            + f". Native absence of whole modalities: {store.native_missing_rate('standard', 'test')}.")


def _protocol_note(dataset: str) -> str:
    from bench.families.rmnas import parse

    store, rate = parse(dataset)
    if rate == 0:
        return (f"Protocol on `{dataset}`: every model is trained and selected on the data as it is and tested with "
                "frames dropped at each rate 0.0..1.0 (EMT-DLFR's masks: a fixed seed per modality); the paper "
                "trains a separate model at each rate, which would cost 11 trainings per model.")
    return (f"Protocol on `{dataset}`: frames dropped at rate {rate:g} in train, validation and test (EMT-DLFR's "
            "masks: a fixed seed per modality), the paper's protocol at that rate.")


def _noise_note(dataset: str) -> str:
    import json

    try:
        prov = paper_cache().view(dataset).attrs.get("provenance", {})
    except Exception:  # noqa: BLE001 - a lazily trained dataset has no table
        return ""
    prov = json.loads(prov) if isinstance(prov, str) else prov
    noise = prov.get("seed_noise", {})
    return ("Seed noise against architecture spread in the table (ICC(1), share of variance between the 80 tied "
            "architectures): " + ", ".join(f"{m} {v['icc1']:.2f}" for m, v in noise.items()) + ".") if noise else ""


def _spread_note(dataset: str, metric: str) -> str:
    view = paper_cache().view(dataset)
    vals = np.asarray(view.query_many(view.archs(), metric), dtype=float)
    best = view.archs()[int(np.argmin(vals) if view.metric_info(metric).direction == "min" else np.argmax(vals))]
    return (f"Across the {len(vals)} tabulated architectures, {metric} (seed means) spans {vals.min():.3f}..{vals.max():.3f} "
            f"(median {np.median(vals):.3f}; best {best}).")


def compare_note(spec: TableSpec, recs: dict[str, list[dict]], a: str, b: str, column: str) -> str:
    """Two rows on one column, one value per run (:func:`bench.stats.compare_text`; MAE: lower is better)."""
    from bench.stats import compare_text

    if a not in recs or b not in recs:
        return ""
    x = [column_value(r, column, spec) for r in recs[a]]
    y = [column_value(r, column, spec) for r in recs[b]]
    if None in x or None in y:
        return ""
    lower = COLUMN_METRIC.get(column.split(" ")[-1]) == "mae"
    return f"On {column}, " + compare_text(a, x, b, y, higher_is_better=not lower, unit="runs", decimals=3,
                                           means=True) + "."


def robustness_figure(spec: TableSpec, recs: dict[str, list[dict]], metrics: tuple[str, ...]):
    """Metric against missing rate, one line per row (mean over its runs), AUILC in the legend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lo, hi = RANGES[spec.params.get("auilc", "0-1")]
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.2 * len(metrics), 4.2), layout="constrained", squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        for k, (name, rows) in enumerate(recs.items()):
            curves = np.array([by_rate(r, metric) for r in rows if by_rate(r, metric)], dtype=float)
            if not len(curves):
                continue
            mean = curves.mean(0)
            ax.plot(RATES, mean, marker="o", ms=3, c=f"C{k}",
                    label=f"{name} (AUILC {lo:g}-{hi:g}: {auilc(RATES, mean, lo, hi):.3f})")
            if len(curves) > 1:
                ax.fill_between(RATES, curves.min(0), curves.max(0), color=f"C{k}", alpha=0.12)
        if hi < 1.0:  # outside the AUILC range
            ax.axvspan(hi, 1.0, color="0.92", zorder=0)
        ax.set_xlabel("missing rate r (frames dropped at test)")
        ax.set_ylabel(f"test {metric}")
        ax.set_title(f"{metric} against missing rate, `{spec.params['dataset']}`")
        ax.legend(fontsize=6)  # each panel's legend holds that metric's AUILC
    return fig


def _regenerate(spec: TableSpec, seeds: int, progress: bool):
    """(dataset, result with every proxy row filled, records per row) of a spec."""
    res = TableResult(command=f"mmnas-bench tables reproduce {spec.id}")
    recs = fill_rows(spec, res, int(spec.params.get("search_seeds", seeds)), progress)
    return spec.params["dataset"], res, recs


def rmnas_auilc(spec: TableSpec, seeds: int, progress: bool = True) -> TableResult:
    """Tables 1 and 2: AUILC over the spec's rate range, proxies with the curves plotted."""
    dataset, res, recs = _regenerate(spec, seeds, progress)
    first = [c for c in spec.columns if not c.startswith("MOSEI")][0]
    rows = [r.name for r in _proxy_rows(spec)]
    for other in rows[1:]:
        res.notes.append(compare_note(spec, recs, rows[0], other, first))
    res.notes += [_protocol_note(dataset), _effective_note(dataset), _spread_note(dataset, "test_auilc_mae"),
                  _noise_note(dataset)]
    res.figures.append(robustness_figure(spec, recs, ("mae", "corr", "acc2")))
    res.notes = [x for x in res.notes if x]
    return res


def rmnas_at_rate(spec: TableSpec, seeds: int, progress: bool = True) -> TableResult:
    """Tables 4, 5 and 7, Fig. 5: metrics at one missing rate."""
    dataset, res, recs = _regenerate(spec, seeds, progress)
    rows = _proxy_rows(spec)
    col = next(c for c in spec.columns if COLUMN_METRIC.get(c.split(" ")[-1]) == "mae")
    for a, b in zip(rows, rows[1:]):  # each row against the one before it on the same dataset
        if row_dataset(spec, a.key)[0] == row_dataset(spec, b.key)[0]:
            res.notes.append(compare_note(spec, recs, b.name, a.name, col))
    res.notes += [_protocol_note(dataset), _effective_note(dataset)]
    if "@r" not in dataset:
        res.notes += [_noise_note(dataset)]
    res.notes = [x for x in res.notes if x]
    return res


def rmnas_fig4(spec: TableSpec, seeds: int, progress: bool = True) -> TableResult:
    """The genotypes the RMNAS search finds (text cells), with the mixer weights of each block."""
    dataset = spec.params["dataset"]
    n = int(spec.params.get("search_seeds", seeds))
    res = TableResult(command=f"mmnas-bench tables reproduce {spec.id}")
    runs = paper_cache().searches(dataset, "rmnas", n, progress)
    space = paper_cache().oracle(dataset).space
    genos = [space.decode(r.settings["genotype"]) for r in runs]
    for row in _proxy_rows(spec):
        kind, _, m = row.key.partition(":")
        if kind == "mixers":
            i = space.modalities.index(m)
            texts = [".".join("+".join(s) for s in g.mixers[i]) for g in genos]
            alphas = [np.round(np.asarray(r.settings["alpha"][m]), 2).tolist() for r in runs]
            res.row_notes[row.name] = (f"`{m}` blocks (mixer sets kept at softmax weight >= 0.2) per search seed: "
                                       f"{'; '.join(texts)}; weights (att, rand, pool, id) per block: {alphas}")
        else:
            texts = [".".join(g.fusion) for g in genos]
            res.row_notes[row.name] = (f"fusion step ops per search seed: {'; '.join(texts)}; weights (sum, attn, glu, "
                                       f"concatfc): {[np.round(np.asarray(r.settings['lambda']), 2).tolist() for r in runs]}")
        distinct = len(set(texts))
        res.cells[row.name] = [Cell(float(distinct), float("nan"), len(texts))]
    warm = paper_cache().searches(dataset, "rmnas-warmup", n, progress)

    def free_share(gs) -> float:  # kept mixers without parameters (identity, pooling) among all kept
        kept = [x for g in gs for blocks in g.mixers for st in blocks for x in st]
        return 100.0 * sum(x in ("id", "pool") for x in kept) / len(kept)

    warm_g = [space.decode(r.settings["genotype"]) for r in warm]
    res.notes.append(
        f"Parameter-free mixers (identity, pooling) among the kept ones: {free_share(genos):.0f}% with the paper's "
        f"settings (architecture SGD at lr 5 from the first step), {free_share(warm_g):.0f}% when the weights train "
        f"alone for the first half of the epochs (`rmnas-warmup`); fusion ops with the paper's settings: "
        f"{', '.join('.'.join(g.fusion) for g in genos)}, with warm-up: {', '.join('.'.join(g.fusion) for g in warm_g)}. "
        f"Warm-up genotypes: {'; '.join(r.settings['genotype'] for r in warm)}.")
    res.notes += [f"Cells: the number of distinct choices over {len(runs)} search seeds on `{dataset}`. "
                  f"{_protocol_note(dataset)}",
                  "The paper's claim that modalities differ (video more complex) is read from the rows: compare the "
                  "mixer sets of the modalities."]
    return res


RUNNERS = {"rmnas_auilc": rmnas_auilc, "rmnas_at_rate": rmnas_at_rate, "rmnas_fig4": rmnas_fig4}


# ---- dialogue level (Tables 3 and 6) ----------------------------------------------------------
def dialogue_records(spec: TableSpec, key: str, progress: bool) -> tuple[list[list[dict]], str]:
    """Per seed, the records of one row's architecture trained at every dialogue rate
    (``spec.params["rates"]``; a separate model per rate, GCNet's protocol)."""
    from tqdm.auto import tqdm

    base, rates = spec.params["dataset"], [float(r) for r in spec.params["rates"]]
    kind, _, what = key.partition(":")
    if kind == "transfer":
        runs = paper_cache().searches(spec.params["search_dataset"], what, SEEDS, progress)
        archs, note = [r.settings["genotype"] for r in runs], (
            f"the genotype of each of {len(runs)} sentence-level `{what}` searches on `{spec.params['search_dataset']}` "
            "(the supernet does not run on dialogues), search seed s retrained with seed s at every rate")
    elif kind == "arch":
        archs, note = [what] * SEEDS, f"the fixed architecture {what}, {SEEDS} training seeds at every rate"
    else:
        raise ValueError(f"row key {key!r}: expected transfer: or arch:")
    out = []
    for s, arch in enumerate(tqdm(archs, desc=f"{key[:30]} dialogue", unit="seed", disable=not progress)):
        out.append([paper_cache().oracle(f"{base}@r{r:g}" if r else base).result(arch, s) for r in rates])
    return out, note + f"; architectures: {', '.join(sorted(set(archs)))}"


def rmnas_dialogue(spec: TableSpec, seeds: int, progress: bool = True) -> TableResult:
    """Table 3 (mean test WAF over the rates) and Table 6 (test WAF at the top rate), MOSI column."""
    res = TableResult(command=f"mmnas-bench tables reproduce {spec.id}")
    rates = [float(r) for r in spec.params["rates"]]
    at = spec.params.get("at_rate")
    floor = constant_waf(spec.params["dataset"])
    per_row = {}
    for row in _proxy_rows(spec):
        recs, note = dialogue_records(spec, row.key, progress)
        if at is None:
            vals = [float(np.mean([r["test_waf"] for r in seed])) for seed in recs]
        else:
            vals = [seed[rates.index(float(at))]["test_waf"] for seed in recs]
        params = [seed[0]["params"] / 1e6 for seed in recs]
        res.cells[row.name] = [cell(params) if c.startswith("Params") else cell(vals) if c == "CMU-MOSI" else None
                               for c in spec.columns]
        res.row_notes[row.name] = note + _failed_seeds_note(vals, floor)
        per_row[row.name] = (vals, recs)
    names = list(per_row)
    from bench.stats import compare_text

    for other in names[1:]:
        a, b = per_row[names[0]][0], per_row[other][0]
        res.notes.append("On test WAF, " + compare_text(names[0], a, other, b, higher_is_better=True, means=True) + ".")
    res.notes.append(
        f"Proxy: CMU-MOSI audio+text as videos of utterances (`{spec.params['dataset']}`: 52/10/31 videos), GCNet's "
        f"view-level missing at rates {', '.join(f'{r:g}' for r in rates)} (every utterance keeps a modality; two views "
        "allow at most 0.5, the paper's 0.7 needs three), a separate model per rate selected on validation WAF, "
        "fixed evaluation masks (GCNet redraws them at test).")
    clean = {n: np.mean([seed[0]["test_waf_by_rate"] for seed in recs], axis=0) for n, (_, recs) in per_row.items()}
    res.notes.append("The rate-0 models tested at every rate instead (trained clean): " + "; ".join(
        f"{n}: {', '.join(f'{v:.1f}' for v in c)}" for n, c in clean.items()) + ".")
    return res


RUNNERS["rmnas_dialogue"] = rmnas_dialogue


def constant_waf(dataset: str) -> tuple[str, float]:
    """The best test WAF of a constant predictor (training mean or median sentiment, always positive,
    always negative) on the dialogue parts of ``dataset``'s store: a seed at or below it learned
    nothing (a failed training)."""
    from bench.core.quality import regression_trivial
    from bench.families.rmnas import store_of
    from bench.families.rmnas.dialogue import _data, waf
    from bench.families.rmnas.trainer import Recipe
    from bench.features import sequence

    store, split = sequence.open(store_of(dataset)), Recipe().split
    y = {p: _data(store, split, p)["y"][_data(store, split, p)["valid"]] for p in ("train", "test")}
    scores = regression_trivial(y["train"], y["test"], lambda pred, yt: {"waf": waf(pred[:, 0], yt[:, 0])})
    for sign, c in (("always positive", 1.0), ("always negative", -1.0)):
        scores[sign] = {"waf": waf(np.full(len(y["test"]), c), y["test"])}
    name = max(scores, key=lambda k: scores[k]["waf"])
    return name, scores[name]["waf"]


def _failed_seeds_note(vals: list[float], floor: tuple[str, float]) -> str:
    """Names the seeds whose WAF is no better than a constant predictor's, and the mean without them."""
    name, value = floor
    failed = [s for s, v in enumerate(vals) if not v > value + 1.0]
    if not failed:
        return ""
    rest = [v for s, v in enumerate(vals) if s not in failed]
    return (f"; FAILED SEED{'S' if len(failed) > 1 else ''}: seed {', '.join(map(str, failed))} scores test WAF "
            f"{', '.join(f'{vals[s]:.2f}' for s in failed)}, no better than the constant {name} predictor "
            f"({value:.2f}): that training learned nothing, so the mean over seeds is not the method's; "
            + (f"without it: {np.mean(rest):.2f} over {len(rest)} seed{'s' if len(rest) > 1 else ''}" if rest else
               "no seed succeeded"))
