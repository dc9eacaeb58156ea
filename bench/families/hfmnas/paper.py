"""Runners for HF-MNAS's tables and figures (``001_6b80f99565a0cbd2.txt``) on the suite's proxies.

A proxy row's ``key`` names one architecture of the core slice's grammar: a base and optional
field overrides, ``<base>[:field=value,...]``:

* bases: ``default`` (the paper's configuration: MHAtt in both cells, LFBC (tl, il), HFBC
  (th, ih), DCCA + attention, MLP classifier), ``best`` (the tabulated architecture with
  IMM whose validation F1-M, seed mean, is the highest: picked with the whole table's
  validation scores, so it is a reference, never a search's result), and
  ``search:<algorithm>`` (of the genotypes the algorithm's search seeds find on the dataset,
  the one retraining best on validation; ``lin``, ``hin``, ``imm`` and ``cm`` can be overridden);
  a row named after a search method (:data:`SEARCH_ROWS`) must show that search's result;
  ``baseline:<name>`` is a fusion network outside the space (``gmu``, ``centralnet``) and
  ``mfas`` the winners of MFAS-like searches (:mod:`bench.families.hfmnas.mfas`), one per seed;
* fields: ``low``/``high`` (the cells' fusion ops), ``lin``/``hin`` (their inputs, ``tl+il``),
  ``imm``, ``cm``.

Every row is one architecture over the table's training seeds (table hits, else the committed
cache ``paper_repro/cache/hfmnas.sqlite``, else training). Columns: ``... F1-M``, ``... Acc``,
``... F1-W`` read test F1-M, accuracy, F1-W, on the dataset :func:`column_datasets` routes them to
(LandUse-21 for HARM_P, pom-ml17 for MM-IMDB).
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np

from bench.families.hfmnas import SEEDS
from bench.families.hfmnas.data import INC_RATES
from bench.families.hfmnas.space import PAIRS, HFSpace, core_arch
from bench.repro.output import Cell, TableResult
from bench.repro.spec import TableSpec
from bench.repro.trained_cache import cell

COLUMN_METRIC = {"F1-M": "test_f1m", "Acc": "test_acc", "F1-W": "test_f1w"}
#: a row whose name starts with a search method's name shows that search's result: its key names
#: the search (``search:<algo>``, ``hf:<algo>``, ``mfas``), never ``best`` or another base
SEARCH_ROWS = {"HF-MNAS": "hfmnas", "BM-NAS": "bmnas", "MFAS": "mfas"}


def paper_cache():
    """This family's paper cache (:func:`bench.repro.trained_cache.shared_cache`)."""
    from bench.repro.trained_cache import shared_cache

    return shared_cache("hfmnas")


def best_arch(dataset: str) -> str:
    """The tabulated architecture with IMM whose validation F1-M (seed mean) is the highest."""
    view = paper_cache().view(dataset)
    archs = [a for a in view.archs() if view.space.decode(a).imm != "none"]
    vals = np.asarray(view.query_many(archs, "val_f1m"), dtype=float)
    return archs[int(np.argmax(vals))]


def searched_arch(dataset: str, algo: str, seeds: int = SEEDS, progress: bool = False) -> str:
    """Of the genotypes that ``algo``'s search seeds ``0 .. seeds-1`` find on ``dataset``, the one
    whose retrained validation F1-M (mean over the table's training seeds) is the highest."""
    runs = paper_cache().searches(dataset, algo, seeds, progress)
    genos = list(dict.fromkeys(r.best_arch for r in runs))
    vals = [np.mean([r["val_f1m"] for r in records(dataset, g)]) for g in genos]
    return genos[int(np.argmax(vals))]


def arch_of(key: str, dataset: str, search_seeds: int = SEEDS) -> str:
    """The canonical string a row key names (see the module docstring)."""
    space = HFSpace(core=False)
    base, _, fields = key.partition(":")
    if base in ("baseline", "mfas"):  # networks outside the space: records() trains them
        return key
    if base == "search":
        algo, _, fields = fields.partition(":")
        a = space.decode(searched_arch(dataset, algo, search_seeds))
        for item in filter(None, fields.split(",")):
            k, _, v = item.partition("=")
            if k in ("lin", "hin"):  # the same cell fed another pair of features
                side = "low" if k == "lin" else "high"
                a = replace(a, **{side: replace(getattr(a, side), inputs=tuple(v.split("+")))})
            elif k in ("imm", "cm"):
                a = replace(a, **{k: v})
            else:
                raise ValueError(f"row key {key!r}: a searched genotype takes the fields lin, hin, imm and cm, not {k!r}")
        return space.encode(space.check(a))
    if base == "default":
        a = core_arch()
    elif base == "best":
        a = space.decode(best_arch(dataset))
    else:
        raise ValueError(f"row key {key!r}: the base is 'default', 'best', 'search', 'baseline' or 'mfas'")
    kw = {"low_op": a.low.nodes[0].op, "high_op": a.high.nodes[0].op, "low_in": a.low.inputs,
          "high_in": a.high.inputs, "imm": a.imm, "cm": a.cm}
    names = {"low": "low_op", "high": "high_op", "lin": "low_in", "hin": "high_in", "imm": "imm", "cm": "cm"}
    for item in filter(None, fields.split(",")):
        k, _, v = item.partition("=")
        if k not in names:
            raise ValueError(f"row key {key!r}: unknown field {k!r} (fields: {', '.join(names)})")
        kw[names[k]] = tuple(v.split("+")) if k in ("lin", "hin") else v
    return space.encode(core_arch(**kw))


def records(dataset: str, arch: str, recipe=None) -> list[dict]:
    """The architecture's records over the table's training seeds (``recipe``: another than the
    default); ``baseline:<name>`` names a fusion network outside the space
    (:mod:`bench.families.hfmnas.baselines`)."""
    oracle = paper_cache().oracle(dataset, recipe)
    if arch == "mfas":  # one MFAS-like search per training seed, its winner retrained
        from bench.families.hfmnas.mfas import MFASSettings, search

        return [search(oracle, MFASSettings(), s)["result"] for s in range(SEEDS)]
    if arch.startswith("baseline:"):
        from bench.families.hfmnas import baselines

        return [baselines.result(oracle, arch.partition(":")[2], s) for s in range(SEEDS)]
    return [oracle.result(arch, s) for s in range(SEEDS)]


def column_metric(column: str) -> str | None:
    """The metric a column reads, by its last word (``HARM_P F1-M`` -> ``test_f1m``)."""
    return COLUMN_METRIC.get(column.split(" ")[-1])


def searched_by(key: str) -> str | None:
    """The search algorithm whose result a row key names (``search:hfmnas:imm=none`` -> hfmnas,
    ``hf:bmnas`` -> bmnas, ``mfas`` -> mfas), None for an architecture picked otherwise."""
    base, _, rest = key.partition(":")
    if base in ("search", "hf"):
        return rest.partition(":")[0]
    return "mfas" if base == "mfas" else None


def _proxy_rows(spec: TableSpec):
    rows = [r for r in spec.rows if r.key and r.status not in ("pending", "not-offline")]
    for r in rows:  # compare like with like: a row named after a search is that search's result
        want = SEARCH_ROWS.get(r.name.split(" ")[0])
        if want and searched_by(r.key) != want:
            raise ValueError(f"{spec.id} row {r.name!r}: a row named after a search shows that search's result (a key "
                             f"naming `{want}`, e.g. search:{want}), not {r.key!r}; give a best-member or fixed "
                             "architecture a name of its own")
    return rows


def _spread_note(dataset: str, metric: str = "test_f1m") -> str:
    if not paper_cache().has_table(dataset):
        return f"`{dataset}` ships no table: every row was trained (and cached) for this output."
    view = paper_cache().view(dataset)
    vals = np.asarray(view.query_many(view.archs(), metric), dtype=float)
    prov = view.attrs.get("provenance", {})
    prov = json.loads(prov) if isinstance(prov, str) else prov
    noise = prov.get("seed_noise", {})
    icc = ", ".join(f"{m} {v['icc1']:.2f}" for m, v in noise.items())
    return (f"Across the {len(vals)} tabulated architectures of `{dataset}`, {metric} (seed means) spans "
            f"{vals.min():.2f}..{vals.max():.2f} (median {np.median(vals):.2f})"
            + (f"; seed noise against architecture spread, ICC(1): {icc}." if icc else "."))


def _data_note(dataset: str) -> str:
    prov = paper_cache().oracle(dataset).data.provenance
    views = prov["views"]
    if prov.get("labels") in ("ta2", "ta3"):
        return (f"Stand-in for HARM_C: `{dataset}`, CMU-MOSI utterances "
                + ("labelled sentiment >= 0" if prov["labels"] == "ta2" else "in three classes by the training tertiles of "
                   "their sentiment") + f"; text as modality t and audio as modality i, each with two backbone levels "
                f"from `{prov['store']}`; standard split 1,284/229/686, 3 training seeds.")
    if prov.get("labels") == "ml17":
        return (f"Stand-in for MM-IMDB: `{dataset}`, POM's 17 traits each above its training median as co-occurring "
                f"labels (multi-label; F1 per label at probability 0.5, Acc = share of correct label decisions); "
                f"{views['tl'].split('@')[0]} as modality t and {views['il'].split('@')[0]} as modality i, each "
                f"with two backbone levels from `{prov['store']}`; standard split 600/100/203, 3 training seeds.")
    if str(prov.get("labels", "")).startswith("harmful-vs-rest"):
        return (f"Stand-in for HARM_P 2-class: `{dataset}`, LandUse-21 with its classes merged in two (label 1 for "
                "the lower 10 of 21 classes, the ones the inconsistency protocol calls harmful), as HARM_P's 2-class "
                f"merges its two harmful classes; view {views['tl'].split('@')[0]} as modality t and view "
                f"{views['il'].split('@')[0]} as modality i, each with its two backbone levels; holdout split, "
                "3 training seeds.")
    return (f"Stand-in for HARM_P: `{prov['store']}`, view {views['tl'].split('@')[0]} as modality t and view "
            f"{views['il'].split('@')[0]} as modality i; each view's backbone levels @1 (64-d) and @2 (32-d) are the "
            "low and high features; holdout split, 3 training seeds per architecture.")


def _compare(recs: dict[str, list[dict]], a: str, b: str, metric: str) -> str:
    """Row ``a`` against row ``b`` on ``metric``, one value per training seed (:func:`bench.stats.compare_text`)."""
    from bench.stats import compare_text

    x, y = [r[metric] for r in recs[a]], [r[metric] for r in recs[b]]
    return f"on {metric}, " + compare_text(a, x, b, y, higher_is_better=True, means=True) + "."


def column_datasets(spec: TableSpec) -> list[str | None]:
    """The dataset each column reads: ``params.column_datasets`` maps column prefixes to datasets
    (``{"MM-IMDB" = "pom-ml17"}``), other columns read ``params.dataset``; a column whose metric
    is unknown stays empty (None)."""
    mapping = spec.params.get("column_datasets", {})
    out = []
    for c in spec.columns:
        prefix = next((p for p in mapping if c.startswith(p)), None)
        if prefix is not None:
            out.append(mapping[prefix] if column_metric(c) else None)
        elif column_metric(c) is None:
            out.append(None)
        else:
            out.append(spec.params["dataset"])
    return out


def column_key(row_key: str, column: str, spec: TableSpec) -> str:
    """The row key with the fields ``params.column_keys`` adds for the column's prefix
    (``{"Text" = "lin=tl+th,hin=tl+th"}``: the text-only columns feed both cells the text levels)."""
    fields = next((f for p, f in spec.params.get("column_keys", {}).items() if column.startswith(p)), "")
    if not fields:
        return row_key
    base, _, own = row_key.partition(":")
    if base in ("baseline", "mfas"):
        raise ValueError(f"{spec.id}: column {column!r} adds fields ({fields}) to row key {row_key!r}, a network "
                         "outside the grammar that takes none")
    if base == "search":
        algo, _, own = own.partition(":")
        base = f"search:{algo}"
    return f"{base}:{','.join(filter(None, [own, fields]))}"


def hfmnas_arch_rows(spec: TableSpec, seeds: int, progress: bool = True) -> TableResult:
    """Tables II, III, VI, VII, VIII: one architecture per row, column dataset (:func:`column_datasets`)
    and column key (:func:`column_key`), its test metrics over the table's training seeds. With
    ``params.skip_nan_cells`` a cell the paper leaves empty (a configuration it does not have) stays empty."""
    col_ds = column_datasets(spec)
    used = list(dict.fromkeys(d for d in col_ds if d))
    n_search = int(spec.params.get("search_seeds", SEEDS))
    skip = bool(spec.params.get("skip_nan_cells", False))
    res = TableResult(command=f"mmnas-bench tables reproduce {spec.id}")
    recs: dict[str, dict[str, list[dict]]] = {}  # dataset -> row name (and column key) -> records
    for row in _proxy_rows(spec):
        cells, seen, got = [], {}, {}
        for c, d, paper in zip(spec.columns, col_ds, row.paper):
            if d is None or (skip and paper != paper):
                cells.append(None)
                continue
            key = column_key(row.key, c, spec)
            if (d, key) not in seen:
                seen[d, key] = arch_of(key, d, n_search)
                label = row.name if key == row.key else f"{row.name} [{c.split(' ')[0]}]"
                recs.setdefault(d, {})[label] = got[d, key] = records(d, seen[d, key])
            cells.append(cell([r[column_metric(c)] for r in got[d, key]]))
        res.cells[row.name] = cells
        res.row_notes[row.name] = "; ".join(f"`{d}`{'' if k == row.key else f' ({k})'}: `{a}`"
                                            for (d, k), a in seen.items())
    ref = spec.params.get("compare_to")
    for d in used:
        for name in recs.get(d, {}):
            if ref and name != ref and ref in recs[d]:
                res.notes.append(f"`{d}`: " + _compare(recs[d], name, ref, "test_f1m"))
        groups: dict[str, dict[str, float]] = {}  # column group ("[Text]") -> row label -> mean test F1-M
        for n, v in recs.get(d, {}).items():
            groups.setdefault(n[n.index(" ["):] if n.endswith("]") else "", {})[n] = np.mean([r["test_f1m"] for r in v])
        for group, means in groups.items():
            order = sorted(means, key=means.get, reverse=True)
            res.notes.append(f"`{d}`{group}, rows by test F1-M (seed means), best first: "
                             + ", ".join(f"{n.removesuffix(group)} {means[n]:.2f}" for n in order) + ".")
    for d in used:
        res.notes += [_data_note(d), _spread_note(d)]
    empty = [c for c, d in zip(spec.columns, col_ds) if d is None]
    if empty:
        res.notes.append(f"Columns without a stand-in, left empty: {', '.join(empty)}.")
    return res


def hfmnas_inputs(spec: TableSpec, seeds: int, progress: bool = True) -> TableResult:
    """Fig. 10: every assignment of input pairs to LFBC and HFBC (6 x 6), as tabulated with the
    paper's cells (MHAtt, DCCA + attention); the paper's (tl, il) / (th, ih) ranked among them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dataset = spec.params["dataset"]
    metric = "test_f1m"
    view = paper_cache().view(dataset)
    grid = np.full((len(PAIRS), len(PAIRS)), np.nan)
    for i, lo in enumerate(PAIRS):
        for j, hi in enumerate(PAIRS):
            grid[i, j] = view.query(HFSpace().encode(core_arch(low_in=lo, high_in=hi)), metric)
    default = grid[PAIRS.index(("tl", "il")), PAIRS.index(("th", "ih"))]
    others = [v for k, v in enumerate(grid.ravel()) if k != PAIRS.index(("tl", "il")) * len(PAIRS) + PAIRS.index(("th", "ih"))]
    rank = 1 + int(np.sum(np.asarray(others) > default))
    res = TableResult(command=f"mmnas-bench tables reproduce {spec.id}")
    rows = _proxy_rows(spec)
    res.cells[rows[0].name] = [Cell(float(default), n=SEEDS)]
    res.row_notes[rows[0].name] = f"rank {rank} of 36 by test F1-M (seed means)"
    if len(rows) > 1:
        res.cells[rows[1].name] = [cell(others)]
        res.row_notes[rows[1].name] = "mean +- std of the other 35 assignments' seed means"
    best = np.unravel_index(np.nanargmax(grid), grid.shape)
    from bench.stats import compare_text

    per_seed = {k: [r[metric] for r in records(dataset, HFSpace().encode(core_arch(low_in=lo, high_in=hi)))]
                for k, (lo, hi) in {"paper": (("tl", "il"), ("th", "ih")), "best": (PAIRS[best[0]], PAIRS[best[1]])}.items()}
    res.notes += [f"The paper's assignment, LFBC (tl, il) and HFBC (th, ih), ranks {rank} of 36 on test F1-M (seed "
                  f"means); the best is LFBC ({', '.join(PAIRS[best[0]])}), HFBC ({', '.join(PAIRS[best[1]])}) with "
                  f"{grid[best]:.2f}. On {metric}, " + compare_text(
                      "the best assignment", per_seed["best"], "the paper's", per_seed["paper"], means=True) + ".",
                  _data_note(dataset), _spread_note(dataset)]
    fig, ax = plt.subplots(figsize=(6.2, 5.2), layout="constrained")
    im = ax.imshow(grid, cmap="viridis")
    labels = [f"({a}, {b})" for a, b in PAIRS]
    ax.set_xticks(range(len(PAIRS)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(PAIRS)), labels)
    ax.set_xlabel("HFBC inputs")
    ax.set_ylabel("LFBC inputs")
    for i in range(len(PAIRS)):
        for j in range(len(PAIRS)):
            ax.text(j, i, f"{grid[i, j]:.1f}", ha="center", va="center", fontsize=7,
                    color="white" if grid[i, j] < np.nanmean(grid) else "black")
    ax.set_title(f"test F1-M by input assignment, `{dataset}`")
    fig.colorbar(im, ax=ax, label="test F1-M (%)")
    res.figures.append(fig)
    return res


def hfmnas_inconsistency(spec: TableSpec, seeds: int, progress: bool = True) -> TableResult:
    """Figs. 3-6: F1-M against the modality-label inconsistency rate, one line per row; a row's
    value is its mean test F1-M over the rates (the area under its curve over the range)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy.integrate import trapezoid
    from scipy.stats import spearmanr

    base = spec.params["dataset"]
    rates = [float(r) for r in spec.params.get("rates", INC_RATES)]
    res = TableResult(command=f"mmnas-bench tables reproduce {spec.id}")
    curves = {}
    for row in _proxy_rows(spec):
        arch = arch_of(row.key, base, int(spec.params.get("search_seeds", SEEDS)))
        per_rate = [[r["test_f1m"] for r in records(base if rate == 0 else f"{base}@inc{rate:g}", arch)]
                    for rate in rates]
        curves[row.name] = np.asarray(per_rate)  # [rate, seed]
        area = trapezoid(curves[row.name].mean(1), rates) / (rates[-1] - rates[0])
        res.cells[row.name] = [Cell(float(area), n=curves[row.name].shape[1])]
        rho = [spearmanr(rates, curves[row.name][:, s]).statistic for s in range(curves[row.name].shape[1])]
        res.row_notes[row.name] = (f"`{arch}`; test F1-M at rates {', '.join(f'{r:g}' for r in rates)}: "
                                   + ", ".join(f"{v:.2f}" for v in curves[row.name].mean(1))
                                   + f"; Spearman(rate, F1-M) per seed: {', '.join(f'{x:.2f}' for x in rho)}")
    names = list(curves)
    from bench.stats import compare_text

    for a, b in zip(names, names[1:]):
        diff = curves[b].mean(1) - curves[a].mean(1)
        res.notes.append(f"{b} minus {a}, test F1-M per rate: " + ", ".join(f"{d:+.2f}" for d in diff)
                         + f" (above at {int(np.sum(diff > 0))} of {len(rates)} rates); over every rate and training "
                         "seed, " + compare_text(b, curves[b].ravel(), a, curves[a].ravel(), paired=True,
                                                 unit="(rate, training seed) pairs") + ".")
    eff = [paper_cache().oracle(f"{base}@inc{r:g}").data.provenance["effective_rate"]["test"] if r else 0.0
           for r in rates]
    res.notes.append("Effective inconsistency rate on test at each nominal rate: "
                     + ", ".join(f"{r:g} -> {e:.3f}" for r, e in zip(rates, eff))
                     + ("; nominal rates above the eligible share are capped (every eligible sample replaced, donors "
                        "drawn anew), so those points repeat one protocol" if len(set(round(e, 3) for e in eff)) < len(eff)
                        else "") + ".")
    mode = paper_cache().oracle(f"{base}@inc{rates[-1]:g}").data.provenance["mode"]
    protocol = ("round(r x N) samples get modality i (both levels) from a sample sharing at least one label with "
                "them but not all (MM-IMDB-style)" if mode == "imdb" else
                "round(r x N) samples of the lower n_classes // 2 classes get modality i (both levels) from a sample "
                "of the upper half (HARM-style)")
    res.notes += [f"Protocol: inconsistency (Sec. III-C) on `{base}`: at rate r, {protocol}, in train, validation and "
                  "test alike; labels unchanged. Rate 0 is the shipped table.", _data_note(base)]
    fig, ax = plt.subplots(figsize=(5.6, 4.2), layout="constrained")
    for k, (name, c) in enumerate(curves.items()):
        ax.plot(rates, c.mean(1), marker="o", c=f"C{k}", label=f"{name} (mean {res.cells[name][0].mean:.2f})")
        ax.fill_between(rates, c.min(1), c.max(1), color=f"C{k}", alpha=0.15)
    ax.set_xlabel("inconsistency rate")
    ax.set_ylabel("test F1-M (%)")
    ax.set_title(f"F1-M under injected inconsistency, `{base}`")
    ax.legend(fontsize=7)
    res.figures.append(fig)
    return res


def hfmnas_search_cost(spec: TableSpec, seeds: int, progress: bool = True) -> TableResult:
    """Table IX: each search's genotype retrained (validation and test F1-M, as the run evaluated it)
    and the search's charged cost in CPU-hours (supernet and retraining, or MFAS's trainings, by
    the table's cost model)."""
    dataset = spec.params["dataset"]
    n = int(spec.params.get("search_seeds", SEEDS))
    res = TableResult(command=f"mmnas-bench tables reproduce {spec.id}")
    oracle = paper_cache().oracle(dataset)
    tests: dict[str, list[float]] = {}  # row -> the test F1-M of each search's result
    for row in _proxy_rows(spec):
        kind, _, algo = row.key.partition(":")
        if kind != "search":
            raise ValueError(f"row key {row.key!r}: expected search:<algorithm>")
        if algo == "mfas":
            from bench.families.hfmnas.mfas import MFASSettings, search

            outs = [search(oracle, MFASSettings(), i, progress) for i in range(n)]
            tests[row.name] = [o["result"]["test_f1m"] for o in outs]
            res.cells[row.name] = [cell([o["result"]["val_f1m"] for o in outs]), cell(tests[row.name]),
                                   cell([o["charged_seconds"] / 3600 for o in outs])]
            res.row_notes[row.name] = (f"{n} MFAS-like searches (training seed i for search i), "
                                       + ", ".join(str(o["trained"]) for o in outs) + " networks trained short each; "
                                       "winners: " + "; ".join(f"`{o['genotype']}`" for o in outs))
            continue
        runs = paper_cache().searches(dataset, algo, n, progress)
        best = [r.best_index for r in runs]  # the genotype's retraining, as the run evaluated it
        hours = [r.sim_seconds[i] / 3600 for r, i in zip(runs, best)]
        tests[row.name] = [r.test_values[i] for r, i in zip(runs, best)]
        res.cells[row.name] = [cell([r.values[i] for r, i in zip(runs, best)]), cell(tests[row.name]), cell(hours)]
        res.row_notes[row.name] = (f"{len(runs)} `{algo}` searches (supernet validation F1-M at the last epoch: "
                                   + ", ".join(f"{r.settings['supernet_val_f1m'][-1]:.1f}" for r in runs)
                                   + "); genotypes: " + "; ".join(f"`{r.best_arch}`" for r in runs))
    hours = {name: c[2].mean for name, c in res.cells.items()}
    if "HF-MNAS" in hours and len(hours) > 1:
        res.notes.append("Search cost relative to HF-MNAS's: " + ", ".join(
            f"{name} {h / hours['HF-MNAS']:.2f}x" for name, h in hours.items() if name != "HF-MNAS")
            + " (the paper: BM-NAS 1.24x, MFAS 12.8x).")
    view = paper_cache().view(dataset)
    best = best_arch(dataset)
    from bench.stats import compare_text

    lookup = [r["test_f1m"] for r in records(dataset, best)]
    for name, test in tests.items():
        res.notes.append(f"On test F1-M, each search's genotype (search i retrained with training seed i mod {SEEDS}) "
                         "against the lookup (the core slice's best architecture with IMM by validation F1-M, its "
                         f"{SEEDS} training seeds): " + compare_text(name, test, "the lookup", lookup, means=True) + ".")
    res.notes += [f"For scale: the core slice's best architecture with IMM by validation F1-M ({best}) scores test "
                  f"F1-M {view.query(best, 'test_f1m'):.2f}; one stand-alone training is charged "
                  f"{oracle.charged_seconds(oracle.key(best, 0)):.0f} s.",
                  "Search cost is CPU-hours charged by the table's cost model (one thread): a weight-sharing search's "
                  "supernet at its MFLOPs plus its genotype's retraining; MFAS's short trainings plus its winner's "
                  "retraining. The paper's column is A100 GPU-hours, so compare ratios between rows, not the values.",
                  _data_note(dataset)]
    return res


def _recipe_with(spec_id: str, field: str, value):
    """The family's recipe with one field set (``value`` cast to the field's type)."""
    from bench.families.hfmnas.trainer import Recipe

    base = Recipe()
    if field not in Recipe.__dataclass_fields__:
        raise ValueError(f"{spec_id}: {field!r} is not a field of the HF-MNAS recipe")
    return replace(base, **{field: type(getattr(base, field))(value)})


def _against_paper(row, values: list, per_value: np.ndarray, field: str, what: str, paired: bool = False,
                   unit: str = "seeds") -> str:
    """``; best <field> <v> against the paper's <w> on <what>: <statistic>`` where the row's best value
    (the highest mean of ``per_value``, one row of values per setting) is not the paper's; "" where it
    is, or where the paper's value is not among ``values``."""
    from bench.stats import compare_text

    paper = row.paper[0] if row.paper else float("nan")
    means = per_value.mean(1)
    best = int(np.argmax(means))
    if paper != paper or paper not in values or values[best] == paper:
        return ""
    k = values.index(paper)
    return (f"; on {what}, " + compare_text(f"{field} {values[best]:g} (ours)", per_value[best],
                                            f"{field} {paper:g} (the paper's)", per_value[k], paired=paired,
                                            unit=unit, means=True))


def hfmnas_recipe_sweep(spec: TableSpec, seeds: int, progress: bool = True) -> TableResult:
    """Figs. 13-16: one recipe field (``params.field``: heads, batch size, dropout) swept over
    ``params.values``, each row's architecture retrained at every value; a row's cell is the value
    whose test metric (``params.metric``, seed mean) is the highest - what the paper's text reports."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy.stats import kruskal
    from tqdm.auto import tqdm

    from bench.families.hfmnas.trainer import Recipe

    dataset, field, metric = spec.params["dataset"], spec.params["field"], spec.params["metric"]
    values = list(spec.params["values"])
    _recipe_with(spec.id, field, values[0])  # an unknown field is refused before any training
    base = Recipe()
    res = TableResult(command=f"mmnas-bench tables reproduce {spec.id}")
    shown = {"test_f1m": "test F1-M", "test_acc": "test accuracy"}
    curves = {}
    for row in _proxy_rows(spec):
        arch = arch_of(row.key, dataset, int(spec.params.get("search_seeds", SEEDS)))
        per = {m: [] for m in shown}
        for v in tqdm(values, desc=f"{spec.id} {row.name}", unit=field, disable=not progress):
            recs = records(dataset, arch, _recipe_with(spec.id, field, v))
            for m in shown:
                per[m].append([r[m] for r in recs])
        curves[row.name] = {m: np.asarray(x) for m, x in per.items()}  # [value, seed]
        means = curves[row.name][metric].mean(1)
        best = values[int(np.argmax(means))]
        res.cells[row.name] = [Cell(float(best), n=SEEDS)]
        noise = float(np.mean(curves[row.name][metric].std(1, ddof=1)))
        p = kruskal(*curves[row.name][metric]).pvalue
        res.row_notes[row.name] = (
            f"`{arch}`; " + "; ".join(f"{shown[m]} at {field} " + ", ".join(f"{v:g}" for v in values) + ": "
                                      + ", ".join(f"{x:.2f}" for x in curves[row.name][m].mean(1)) for m in shown)
            + f"; best by {shown[metric]}: {best:g}, by the other metric: "
            + f"{values[int(np.argmax(curves[row.name][[m for m in shown if m != metric][0]].mean(1)))]:g}"
            + f"; spread of the seed means {np.ptp(means):.2f} against a seed std of {noise:.2f} "
            f"(Kruskal-Wallis over the settings p = {p:.3f})" + _against_paper(row, values, curves[row.name][metric],
                                                                                field, shown[metric]))
    names = list(curves)
    from bench.stats import compare_text

    for a, b in zip(names, names[1:]):
        diff = curves[a][metric].mean(1) - curves[b][metric].mean(1)
        res.notes.append(f"{a} minus {b}, {shown[metric]} per {field}: " + ", ".join(f"{d:+.2f}" for d in diff)
                         + f" (above at {int(np.sum(diff > 0))} of {len(values)} values); over every value and training "
                         "seed, " + compare_text(a, curves[a][metric].ravel(), b, curves[b][metric].ravel(), paired=True,
                                                 unit=f"({field}, training seed) pairs") + ".")
    res.notes += [f"Each point retrains the row's architecture with the recipe's `{field}` set to the value "
                  f"({SEEDS} training seeds; the recipe's other fields as shipped, `{field}` = "
                  f"{getattr(base, field):g} in the shipped table), on `{dataset}`; cached in "
                  "`paper_repro/cache/hfmnas.sqlite`.", _data_note(dataset)]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8), layout="constrained")
    for ax, m in zip(axes, shown):
        for k, (name, c) in enumerate(curves.items()):
            ax.plot(range(len(values)), c[m].mean(1), marker="o", c=f"C{k}", label=name)
            ax.fill_between(range(len(values)), c[m].min(1), c[m].max(1), color=f"C{k}", alpha=0.15)
        ax.set_xticks(range(len(values)), [f"{v:g}" for v in values])
        ax.set_xlabel(field.replace("_", " "))
        ax.set_ylabel(f"{shown[m]} (%)")
        ax.legend(fontsize=7)
    fig.suptitle(f"{spec.title} (proxy: `{dataset}`, {SEEDS} seeds, band = seed range)", fontsize=9)
    res.figures.append(fig)
    return res


def hfmnas_derivation_grid(spec: TableSpec, seeds: int, progress: bool = True) -> TableResult:
    """Figs. 11-12: the genotype of each HF-MNAS search derived again with one derivation setting
    changed (row key ``derive:<field>``, a field of the search settings: ``top_ops`` (top-k beta),
    ``top_edges`` (top-k gamma), ``keep`` (top-K w) or ``stack``; its values in ``params.<field>``)
    from the search's cached architecture weights, and retrained (at the preset's own settings:
    the search's genotype itself); a row's cell is the value whose test F1-M (mean over the
    searches) is the highest."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy.stats import kruskal

    from bench.families.hfmnas.search import PRESETS, derive

    dataset = spec.params["dataset"]
    n = int(spec.params.get("search_seeds", SEEDS))
    oracle = paper_cache().oracle(dataset)
    runs = paper_cache().searches(dataset, "hfmnas", n, progress)
    outcomes = [oracle.overlay.get(r.settings["supernet_key"]) for r in runs]
    space = HFSpace(core=False)
    res = TableResult(command=f"mmnas-bench tables reproduce {spec.id}")
    rows = _proxy_rows(spec)
    fig, axes = plt.subplots(1, len(rows), figsize=(4.2 * len(rows), 3.6), layout="constrained", squeeze=False)
    for ax, row in zip(axes[0], rows):
        kind, _, field = row.key.partition(":")
        if kind != "derive" or field not in spec.params:
            raise ValueError(f"{spec.id} row {row.name!r}: key {row.key!r} must be derive:<field> with params.<field>")
        values = list(spec.params[field])
        f1m, acc = np.zeros((len(values), n)), np.zeros((len(values), n))
        for i, out in enumerate(outcomes):
            soft = {side: (w["gamma"], w["alpha"], w["beta"]) for side, w in out["weights"].items()}
            for k, v in enumerate(values):
                settings = replace(PRESETS["hfmnas"], **{field: v})
                # the search's own genotype at its own settings: the cached weights are rounded, so a
                # re-derivation can break a tie the unrounded weights did not have
                geno = out["genotype"] if settings == PRESETS["hfmnas"] else \
                    space.encode(derive(soft, out["importance"], settings))
                rec = oracle.result(geno, i % SEEDS)
                f1m[k, i], acc[k, i] = rec["test_f1m"], rec["test_acc"]
        best = values[int(np.argmax(f1m.mean(1)))]
        res.cells[row.name] = [Cell(float(best), n=n)]
        res.row_notes[row.name] = (f"{field} = " + ", ".join(f"{v:g}" for v in values) + ": test F1-M "
                                   + ", ".join(f"{x:.2f}" for x in f1m.mean(1)) + "; test accuracy "
                                   + ", ".join(f"{x:.2f}" for x in acc.mean(1))
                                   + f" (means over {n} searches; Kruskal-Wallis over the values p = "
                                   f"{kruskal(*f1m).pvalue:.3f})"
                                   + _against_paper(row, values, f1m, field, "test F1-M", paired=True, unit="searches"))
        for k, (vals, label) in enumerate(((f1m, "test F1-M"), (acc, "test accuracy"))):
            ax.plot(range(len(values)), vals.mean(1), marker="o", c=f"C{k}", label=label)
            ax.fill_between(range(len(values)), vals.min(1), vals.max(1), color=f"C{k}", alpha=0.15)
        ax.set_xticks(range(len(values)), [f"{v:g}" for v in values])
        ax.set_xlabel(f"{row.name} ({field})")
        ax.set_ylabel("%")
        ax.legend(fontsize=7)
    fig.suptitle(f"{spec.title} (proxy: `{dataset}`, {n} searches, band = range over searches)", fontsize=9)
    res.figures.append(fig)
    res.notes += [f"Each point re-derives the genotypes of the {n} cached HF-MNAS searches on `{dataset}` (the "
                  "supernet is not trained again: the derivation settings act after the search) and retrains each "
                  f"once, search seed i with training seed i mod {SEEDS}. At the paper's settings (top-1 beta, top-2 "
                  "gamma, top-3 w, stacking 1) the point is the search's own genotype; the others derive from its "
                  "architecture weights as cached (5 decimals; a tie goes to the first operation or predecessor).",
                  "Top-k beta sums a node's k heaviest fusion operations of the same two operands; top-k gamma keeps "
                  "its k strongest predecessors (node n1 has only the cell's two inputs), the half (rounded up) that "
                  "its first operand's weights favour summed into that operand and the rest into the other; with "
                  "one edge the operation fuses that edge with itself (our reading: the paper's fusion operations "
                  "take two operands and it does not say how other counts meet them).", _data_note(dataset)]
    return res


def _rho_gap_text(old: np.ndarray, new: np.ndarray) -> str:
    """Spearman(new, shipped seed means) minus the seed floor Spearman(seed 0, mean of the other seeds)
    over members ``old``/``new`` ([member, seed]), with a 95% percentile bootstrap CI over members
    (resampled together for both correlations; :data:`bench.stats.BOOTSTRAP` resamples, seeded) and
    the bootstrap p (twice the share of resamples on the other side of 0, capped at 1)."""
    from scipy.stats import rankdata

    from bench.stats import BOOTSTRAP, BOOTSTRAP_SEED, format_p

    def rho(x, y):  # Spearman per row of [resample, member] arrays (NaN where a side is constant)
        rx, ry = rankdata(x, axis=-1), rankdata(y, axis=-1)
        rx, ry = rx - rx.mean(-1, keepdims=True), ry - ry.mean(-1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (rx * ry).sum(-1) / np.sqrt((rx ** 2).sum(-1) * (ry ** 2).sum(-1))

    def gap(i):
        return rho(old[i].mean(-1), new[i].mean(-1)) - rho(old[i][..., 0], old[i][..., 1:].mean(-1))

    n = len(old)
    d = float(gap(np.arange(n)))
    idx = np.random.default_rng(BOOTSTRAP_SEED).integers(0, n, size=(BOOTSTRAP, n))
    boot = gap(idx)
    boot = boot[boot == boot]  # a resample with a constant side has no correlation
    lo, hi = np.percentile(boot, [2.5, 97.5])
    p = min(1.0, 2 * min(np.mean(boot <= 0), np.mean(boot >= 0)))
    verdict = "above the floor" if p < 0.05 and d > 0 else "below the floor" if p < 0.05 else \
        f"inconclusive at {n} members"
    return (f"{d:+.2f}, {verdict} (bootstrap over members p = {format_p(p)}, 95% bootstrap CI {lo:+.2f}..{hi:+.2f}, "
            f"n = {n} members)")


def hfmnas_recipe_rank(spec: TableSpec, seeds: int, progress: bool = True) -> TableResult:
    """Does a shipped table's ranking survive another recipe? Row key ``rank:<dataset>:<field>=<value>``:
    ``params.n_archs`` core-slice members (drawn with ``params.sample_seed``) retrained with the
    recipe's field changed, 3 training seeds each. Cells: Spearman between the new and the shipped
    seed means of ``params.metric``; the shipped recipe's agreement with itself (seed 0 against the
    mean of seeds 1-2, a floor set by seed noise); the mean change of the metric."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy.stats import spearmanr
    from tqdm.auto import tqdm

    from bench.families.hfmnas.trainer import Recipe
    from bench.stats import compare_text

    metric, n = spec.params.get("metric", "test_f1m"), int(spec.params["n_archs"])
    res = TableResult(command=f"mmnas-bench tables reproduce {spec.id}")
    rows = _proxy_rows(spec)
    space = HFSpace(core=True)
    picks = np.sort(np.random.default_rng(int(spec.params["sample_seed"])).choice(space.size, n, replace=False))
    archs = [space.encode(space.from_index(int(i))) for i in picks]
    fig, axes = plt.subplots(1, len(rows), figsize=(4.2 * len(rows), 3.8), layout="constrained", squeeze=False)
    for ax, row in zip(axes[0], rows):
        kind, dataset, change = row.key.split(":")
        field, _, value = change.partition("=")
        if kind != "rank" or field not in Recipe.__dataclass_fields__:
            raise ValueError(f"{spec.id} row {row.name!r}: key {row.key!r} must be rank:<dataset>:<recipe field>=<value>")
        recipe = _recipe_with(spec.id, field, value)
        old = np.array([[r[metric] for r in records(dataset, a)] for a in archs])  # [arch, seed]
        new = np.array([[r[metric] for r in records(dataset, a, recipe)] for a in
                        tqdm(archs, desc=f"{spec.id} {row.name}", unit="arch", disable=not progress)])
        rho = float(spearmanr(old.mean(1), new.mean(1)).statistic)
        floor = float(spearmanr(old[:, 0], old[:, 1:].mean(1)).statistic)
        res.cells[row.name] = [Cell(rho, n=n), Cell(floor, n=n), cell(new.mean(1) - old.mean(1))]
        top = [archs[int(i)] for i in (np.argmax(old.mean(1)), np.argmax(new.mean(1)))]
        res.row_notes[row.name] = (
            f"{n} members of the `{dataset}` core slice; {metric} seed means {old.mean(1).min():.2f}..{old.mean(1).max():.2f} "
            f"with the shipped recipe, {new.mean(1).min():.2f}..{new.mean(1).max():.2f} with {field} = {value}; "
            f"best with the shipped recipe `{top[0]}`"
            + (", also the best with the new one" if top[0] == top[1] else f", with the new one `{top[1]}`")
            + f"; {metric} seed means, " + compare_text(f"{field} = {value}", new.mean(1), "the shipped recipe",
                                                      old.mean(1), paired=True, unit="members")
            + "; Spearman minus seed floor " + _rho_gap_text(old, new))
        ax.scatter(old.mean(1), new.mean(1), s=14)
        lo, hi = min(old.min(), new.min()), max(old.max(), new.max())
        ax.plot([lo, hi], [lo, hi], c="grey", lw=0.8, ls="--")
        ax.set_xlabel(f"{metric}, shipped recipe ({field} = {getattr(Recipe(), field):g})")
        ax.set_ylabel(f"{metric}, {field} = {value}")
        ax.set_title(f"{dataset}: Spearman {rho:.2f} (seed floor {floor:.2f})", fontsize=9)
    fig.suptitle(spec.title, fontsize=9)
    res.figures.append(fig)
    res.notes += [f"Each point is a core-slice member: its seed mean over the {SEEDS} training seeds of the shipped "
                  "table against the same seeds retrained with one recipe field changed (cached in "
                  "`paper_repro/cache/hfmnas.sqlite`). The floor compares one shipped seed with the mean of the other "
                  "two, so it is noisier than the first column's 3-seed means: a first column at or above it means "
                  "the recipe change moves the ranking no more than seed noise does."]
    return res


def _incumbent(rec, oracle, metric: str) -> tuple[str, float]:
    """A run's final incumbent (best fitness, :attr:`RunRecord.best_index`) and its ``metric``: the
    run's own test value where it scored that metric (inherited weights included), else the
    oracle's record at the run's training seed; ("", NaN) for a run that evaluated nothing."""
    i = rec.best_index
    if i < 0:
        return "", float("nan")
    if rec.test_metric == metric:
        return rec.archs[i], float(rec.test_values[i])
    return rec.archs[i], float(oracle.query(rec.archs[i], metric, seed=rec.settings.get("train_seed", rec.seed or 0)))


def _tree_search_oracle(dataset: str, views: tuple[str, ...] = ()):
    """The tree-fusion search oracle on ``dataset`` (every tree over all its raw views), or, with
    ``views``, one restricted to trees over those views: the same store, recipe, table and cache,
    so a tree over those views is the same model and record either way."""
    from bench.families.tree_fusion.paper import _oracle

    if not views:
        return _oracle(dataset, "standard")
    from bench.families.tree_fusion import open_for_search
    from bench.families.tree_fusion.paper import cache_path
    from bench.families.tree_fusion.space import TreeFusionSpace

    key = (dataset, views, str(cache_path()))
    if key not in _TREE_VIEWS:
        oracle = open_for_search(dataset, "standard", overlay=cache_path())
        unknown = [v for v in views if v not in oracle.space.features]
        if unknown:
            raise ValueError(f"tree-fusion/{dataset} has no view(s) {unknown} (views: {', '.join(oracle.space.features)})")
        oracle.space = TreeFusionSpace(views, max_leaves=len(views))
        _TREE_VIEWS[key] = oracle
    return _TREE_VIEWS[key]


_TREE_VIEWS: dict[tuple, object] = {}


def _hf_features(dataset: str, feats=("tl", "th", "il", "ih")) -> tuple[tuple[str, ...], list[str]]:
    """``(views, features)``: the store's names of the HF-MNAS features ``feats`` (``tl``, ``th``,
    ``il``, ``ih``) of ``dataset`` (``v1@1`` ...) and the views they come from (``v1``, ``v2``)."""
    names = paper_cache().oracle(dataset).data.provenance["views"]
    shown = [names[f] for f in ("tl", "th", "il", "ih") if f in feats]
    return tuple(dict.fromkeys(s.split("@")[0] for s in shown)), shown


def _hf_inputs(dataset: str, feats) -> str:
    """``v1, v2 (backbone levels v1@1, v2@2)``: the views behind the features ``feats`` and the features."""
    views, shown = _hf_features(dataset, feats)
    return f"{', '.join(views)} (backbone levels {', '.join(shown)})"


def _network_inputs(dataset: str, arch: str) -> str:
    """What a fixed network reads: its cells' input pairs, or a baseline network's inputs."""
    oracle = paper_cache().oracle(dataset)
    if arch.startswith("baseline:"):
        from bench.families.hfmnas.baselines import build

        used = build(arch.partition(":")[2], oracle.data.dims, oracle.data.n_out, oracle.recipe).used
    else:
        a = HFSpace(core=False).decode(arch)
        used = set(a.low.inputs) | set(a.high.inputs)
    return _hf_inputs(dataset, used)


def _fixed_charged(dataset: str, arch: str, recs: list[dict]) -> list[float]:
    """Charged seconds of a fixed network's training per seed: the table's recorded seconds or the
    cost model's (:meth:`TrainedOracle.charged_seconds`); a network outside the space at its MFLOPs."""
    from bench.families.hfmnas import cost

    oracle = paper_cache().oracle(dataset)
    if arch.startswith("baseline:"):
        coef = getattr(oracle, "cost_coef", None) or cost.DEFAULT
        return [float(coef["fixed"] + coef["per_mflop"] * r["mflops"]) for r in recs]
    return [float(oracle.charged_seconds(oracle.key(arch, s))) for s in range(len(recs))]


def hfmnas_equal_budget(spec: TableSpec, seeds: int, progress: bool = True) -> TableResult:
    """Tables IV-V: every search may spend the same charged training seconds (``params.budget_seconds``)
    per run, ``params.runs`` seeded runs each; the cell is the test metric of each run's final
    incumbent. Row keys: ``hf:<algorithm>`` (this family on ``params.dataset``: hfmnas, bmnas, edf,
    rs, rea), ``tree:<algorithm>`` (the tree-fusion family on ``params.tree_dataset``, over all its
    raw views: edf, csgnas), ``tree:<algorithm>@<view>+<view>`` (the same, trees over those raw
    views only), ``mfas`` (MFAS-like searches on their own schedule, not cut to the budget) or an
    architecture key (a fixed network, no search). Every row note opens with the charged seconds
    the row used per run against the cap and the views (and features) it read."""
    from tqdm.auto import tqdm

    from bench.compare import run_trained
    from bench.run import how_stopped

    dataset, tree_ds = spec.params["dataset"], spec.params["tree_dataset"]
    budget, n = float(spec.params["budget_seconds"]), int(spec.params.get("runs", SEEDS))
    metric = column_metric(spec.columns[0])
    res = TableResult(command=f"mmnas-bench tables reproduce {spec.id}")
    vals: dict[str, list[float]] = {}
    used: dict[str, list[float]] = {}  # row -> charged seconds per run
    stops: dict[str, str] = {}  # row -> how its runs ended
    seen: dict[str, str] = {}  # row -> the views it read
    narrowed: set[tuple[str, ...]] = set()  # the views tree-fusion rows are restricted to
    for row in _proxy_rows(spec):
        family, _, algo = row.key.partition(":")
        if family in ("hf", "tree"):
            algo, _, only = algo.partition("@")
            views = tuple(only.split("+")) if only else ()
            if family == "hf" and views:
                raise ValueError(f"{spec.id} row {row.name!r}: hf:<algorithm> reads the family's two views; "
                                 f"@<views> is for tree:<algorithm>")
            oracle = paper_cache().oracle(dataset) if family == "hf" else _tree_search_oracle(tree_ds, views)
            recs = [run_trained(oracle, algo, s, budget_seconds=budget, train_seed=s % SEEDS) for s in
                    tqdm(range(n), desc=f"{spec.id} {row.name}", unit="run", disable=not progress)]
            inc = [_incumbent(r, oracle, metric) for r in recs]
            vals[row.name] = [v for _, v in inc]
            used[row.name] = [r.sim_seconds[-1] if r.sim_seconds else 0.0 for r in recs]
            stops[row.name] = how_stopped(recs)  # in the words of bench.run.STOPPED
            narrowed |= {views} if views else set()
            if family == "hf":
                seen[row.name] = _hf_inputs(dataset, ("tl", "th", "il", "ih"))
            else:
                seen[row.name] = (f"{', '.join(oracle.space.features)} (raw features"
                                  + (f"; trees over these {len(views)} of the store's views only, {oracle.space.size} "
                                     "trees)" if views else ", every view of the store)"))
            res.row_notes[row.name] = (f"`{algo}` on `{dataset if family == 'hf' else tree_ds}`; stopped {stops[row.name]}; "
                                       f"evaluations: {', '.join(str(len(r.archs)) for r in recs)}; incumbents: "
                                       + "; ".join(f"`{a}`" for a, _ in inc))
        elif row.key == "mfas":
            from bench.families.hfmnas.mfas import MFASSettings, search

            outs = [search(paper_cache().oracle(dataset), MFASSettings(), s) for s in range(n)]
            vals[row.name] = [o["result"][metric] for o in outs]
            used[row.name] = [o["charged_seconds"] for o in outs]
            stops[row.name] = "at the end of its own schedule, not cut to the cap"
            seen[row.name] = _hf_inputs(dataset, ("tl", "th", "il", "ih"))
            res.row_notes[row.name] = (f"MFAS-like searches; stopped {stops[row.name]}; winners: "
                                       + "; ".join(f"`{o['genotype']}`" for o in outs))
        else:
            arch = arch_of(row.key, dataset, n)
            recs = records(dataset, arch)
            vals[row.name] = [r[metric] for r in recs]
            used[row.name] = _fixed_charged(dataset, arch, recs)
            stops[row.name] = "after one training per seed (a fixed network, no search)"
            seen[row.name] = _network_inputs(dataset, arch)
            res.row_notes[row.name] = f"a fixed network, no search: `{arch}`"
        res.cells[row.name] = [cell(vals[row.name])]
        res.row_notes[row.name] = (f"Used {', '.join(f'{u:.0f}' for u in used[row.name])} of {budget:.0f} charged s "
                                   f"(per run); views: {seen[row.name]}; " + res.row_notes[row.name])
    ref = spec.params.get("compare_to")
    if ref in vals:
        from bench.stats import compare_text

        for name, v in vals.items():
            if name != ref:
                res.notes.append(f"On {metric}, " + compare_text(name, v, ref, vals[ref], unit="runs", means=True) + ".")
    high = [k for k, u in used.items() if max(u) >= 0.5 * budget]
    hf_views = _hf_features(dataset)[0]
    span = {k: f"{min(u):.0f}" + (f"-{max(u):.0f}" if f"{min(u):.0f}" != f"{max(u):.0f}" else "") for k, u in used.items()}
    res.notes += [f"Budget: every search may spend {budget:.0f} charged training seconds per run ({n} runs, run i trains "
                  f"with seed i mod {SEEDS}) and stops at that cap (the evaluation that crosses it counts in full) or at "
                  "the end of its own schedule, whichever comes first; a weight-sharing search is charged its supernet "
                  "and its genotype's retraining and stops there. Charged seconds come from each family's own cost "
                  "model (one CPU thread), so the cap is equal in estimated CPU time, not in models trained.",
                  f"The budgets spent are not equal: charged seconds used per run (min-max), of the {budget:.0f} "
                  "allowed: " + ", ".join(f"{k} {s}" for k, s in span.items())
                  + (f"; only {', '.join(high)} used half of the cap or more" if len(high) < len(used) else "")
                  + " (each row's note says how its runs ended).",
                  "The inputs are not equal: " + "; ".join(
                      f"{', '.join(ks)} read views {v}" for v, ks in
                      {v: [k for k in seen if seen[k] == v] for v in dict.fromkeys(seen.values())}.items())
                  + f". The HF-MNAS family reads backbone levels of two views of `{dataset}` ({', '.join(hf_views)}); "
                  f"the tree-fusion family fuses raw views of `{tree_ds}`"
                  + (f", so its rows restricted to {' and '.join(hf_views)} see the same views "
                     "as the HF-MNAS rows but not the same features (raw, not backbone levels); tree fusion over the "
                     "backbone levels themselves is not run" if hf_views in narrowed else
                     ", all of them: no tree-fusion row here is restricted to the HF-MNAS rows' views") + ".",
                  _data_note(dataset).replace("Stand-in for HARM_P", f"Stand-in for {spec.params.get('stands_in', 'the paper data')}")]
    return res


RUNNERS = {"hfmnas_arch_rows": hfmnas_arch_rows, "hfmnas_search_cost": hfmnas_search_cost, "hfmnas_inputs": hfmnas_inputs,
           "hfmnas_inconsistency": hfmnas_inconsistency, "hfmnas_recipe_sweep": hfmnas_recipe_sweep,
           "hfmnas_derivation_grid": hfmnas_derivation_grid, "hfmnas_equal_budget": hfmnas_equal_budget,
           "hfmnas_recipe_rank": hfmnas_recipe_rank}
