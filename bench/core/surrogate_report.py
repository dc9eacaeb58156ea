"""How much a surrogate's answers are worth, in numbers that cannot flatter it
(``mmnas-bench surrogate report``).

1. Held-out architectures: folds are drawn by architecture, never by seed, so no seed of a held-out
   architecture is ever fitted. Against each seed ``s`` of the table, the target is the mean of the
   OTHER seeds; the surrogate's held-out prediction and seed ``s`` itself (the test-retest
   ceiling: what re-running one training tells you) are scored on the same target (Kendall tau,
   Spearman, R^2, averaged over ``s``). A metric's surrogate is ``valid`` only where its Kendall
   tau beats the single seed's.
2. Out of the slice: the shipped surrogate's predictions on the family's out-of-slice sample
   (:mod:`bench.core.outslice`: trained full-space architectures no table holds), with the same
   one-seed ceiling on the sample, the bias, and the coverage of 90% predictive intervals
   (seed noise plus the held-out error) by the sample's per-seed values.
3. A surrogate fitted on shuffled labels (architectures paired with other architectures' results)
   runs through the same check: it must come out ``invalid`` (a test holds the report to it).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from bench.core import surrogate as S

FOLDS = 5
FOLD_SEED = 0
Z90 = 1.6448536269514722  # two-sided 90% normal interval


def _rank_stats(pred: np.ndarray, target: np.ndarray) -> dict[str, float]:
    from scipy.stats import kendalltau, spearmanr

    if np.ptp(pred) == 0 or np.ptp(target) == 0:  # a constant has no ranking
        return {"kendall": 0.0, "spearman": 0.0, "r2": _r2(pred, target)}
    return {"kendall": float(kendalltau(pred, target).statistic), "spearman": float(spearmanr(pred, target).statistic),
            "r2": _r2(pred, target)}


def _r2(pred: np.ndarray, target: np.ndarray) -> float:
    sst = float(((target - target.mean()) ** 2).sum())
    return 1.0 - float(((pred - target) ** 2).sum()) / sst if sst > 0 else float("nan")


def _mean_stats(rows: list[dict]) -> dict[str, float]:
    return {k: round(float(np.mean([r[k] for r in rows])), 4) for k in rows[0]}


def seed_ceiling(values: np.ndarray) -> dict[str, float]:
    """One seed predicting the mean of the other seeds, averaged over the seeds [n_arch, n_seed]."""
    k = values.shape[1]
    return _mean_stats([_rank_stats(values[:, s], np.delete(values, s, axis=1).mean(axis=1)) for s in range(k)])


def held_out(X: np.ndarray, values: dict[str, np.ndarray], directions: dict[str, str],
             folds: int = FOLDS) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Out-of-fold predicted seed means ({metric: [n_arch]}) with folds drawn by architecture, and
    each architecture's fold."""
    n = X.shape[0]
    fold = np.random.default_rng(FOLD_SEED).permutation(n) % min(folds, n)
    pred = {m: np.empty(n) for m in values}
    for f in range(min(folds, n)):
        test, train = fold == f, fold != f
        models = S.fit_models(X[train], {m: v[train] for m, v in values.items()}, directions)
        for m, p in zip(models, S.Forest([mm.trees for mm in models.values()]).predict(X[test])):
            pred[m][test] = p
    return pred, fold


@dataclass
class MetricCheck:
    """One metric's held-out check."""

    metric: str
    surrogate: dict  # kendall, spearman, r2 against the other seeds' mean (held-out architectures)
    one_seed: dict  # the same for one seed of the table (the test-retest ceiling)
    rmse: float  # held-out error of the predicted seed mean (all seeds' mean as target)
    noise_sd: float
    valid: bool


@dataclass
class SliceCheck:
    """One metric on the out-of-slice sample."""

    metric: str
    surrogate: dict  # kendall, spearman, r2 against the sample's seed means
    one_seed: dict
    bias: float  # mean(predicted - observed seed mean)
    coverage90: float  # share of the sample's per-seed values inside the 90% predictive interval
    outside_table_range: float  # share of sample seed means outside the table's seed-mean range
    holds: bool
    sample_vs_table: str = ""  # real data: the sample's seed means against the table's (architectures as units)


@dataclass
class Report:
    family: str
    dataset: str
    n_arch: int
    n_seed: int
    checks: list[MetricCheck]
    verdict: str  # 'valid' or 'invalid'
    why: str
    shuffled: bool = False
    table_gate: str = ""  # the quality gate's verdict on the table fitted (a surrogate cannot rank better than it)
    out_of_slice: list[SliceCheck] = field(default_factory=list)
    out_of_slice_n: int = 0
    out_of_slice_verdict: str = ""

    def to_json(self) -> dict:
        return asdict(self)


def check(family: str, dataset: str, shuffle: bool = False, folds: int = FOLDS, outslice: bool = True) -> Report:
    """The surrogate's report for one dataset (see the module docstring). ``shuffle``: fit on labels
    shuffled across architectures (a control that must be ``invalid``)."""
    from bench.core.outslice import spec_of

    spec = spec_of(family)
    archs, values, fitted_on = S.table_data(family, dataset)
    if shuffle:
        perm = np.random.default_rng(FOLD_SEED + 1).permutation(len(archs))
        values = {m: v[perm] for m, v in values.items()}
    space = spec.impl().full_space(dataset)
    X = S.design(spec, space, archs)
    oracle = S.family_oracle(family, dataset)
    directions = {m: oracle.metric_info(m).direction for m in values}
    pred, _ = held_out(X, values, directions, folds)
    k = fitted_on["n_seed"]
    checks = []
    for m, v in values.items():
        sur = _mean_stats([_rank_stats(pred[m], np.delete(v, s, axis=1).mean(axis=1)) for s in range(k)])
        one = seed_ceiling(v)
        noise = float(np.sqrt(((v - v.mean(axis=1, keepdims=True)) ** 2).sum() / max(1, v.shape[0] * (k - 1))))
        rmse = float(np.sqrt(((pred[m] - v.mean(axis=1)) ** 2).mean()))
        checks.append(MetricCheck(m, sur, one, round(rmse, 6), round(noise, 6), sur["kendall"] > one["kendall"]))
    bad = [c for c in checks if not c.valid]
    verdict = "invalid" if bad else "valid"
    why = ("; ".join(f"{c.metric}: held-out Kendall tau {c.surrogate['kendall']:.3f} does not beat one seed's "
                     f"{c.one_seed['kendall']:.3f}" for c in bad) if bad else
           "; ".join(f"{c.metric}: held-out Kendall tau {c.surrogate['kendall']:.3f} > one seed's "
                     f"{c.one_seed['kendall']:.3f}" for c in checks))
    if space.size is not None and space.size <= len(archs):
        why += "; the table holds the whole space, so its answers need no surrogate"
    from bench.core import quality

    gate = quality.verdict_of(fitted_on["table"])
    rep = Report(family, dataset, len(archs), k, checks, verdict, why, shuffle,
                 quality.verdict_text(gate) if gate else "not gated")
    if outslice and not shuffle and dataset == spec.sample_dataset:
        _out_of_slice(rep, family, dataset, values, {c.metric: c.rmse for c in checks})
    return rep


def _out_of_slice(rep: Report, family: str, dataset: str, table_values: dict, rmse: dict) -> None:
    from bench.core.outslice import spec_of
    from bench.paths import tables_dir
    from bench.stats import compare_text
    from bench.tablefile import read_dataset

    spec = spec_of(family)
    path = tables_dir() / spec.outslice_file()
    if not path.exists():
        rep.out_of_slice_verdict = (f"not measured: tables/{path.name} is not built (`mmnas-bench tables build "
                                    f"{family}-{dataset}-outslice`)")
        return
    archs, metrics, _ = read_dataset(path, dataset)
    sur = S.load(family, dataset)
    X = S.design(spec, spec.impl().full_space(dataset), archs)
    pred = sur.predict(X)
    rep.out_of_slice_n = len(archs)
    for m, mm in sur.models.items():
        v = np.asarray(metrics[m].values, dtype=float)
        mean = v.mean(axis=1)
        stats = _rank_stats(pred[m], mean)
        one = seed_ceiling(v)
        half = Z90 * float(np.sqrt(mm.noise_sd ** 2 + rmse[m] ** 2))
        cover = float(np.mean(np.abs(v - pred[m][:, None]) <= half))
        tm = table_values[m].mean(axis=1)
        outside = float(np.mean((mean < tm.min()) | (mean > tm.max())))
        real = compare_text("sampled full-space architectures", mean.tolist(), "the table's", tm.tolist(),
                            higher_is_better=mm.direction == "max", unit="architectures", means=True)
        rep.out_of_slice.append(SliceCheck(m, {k: round(x, 4) for k, x in stats.items()}, one,
                                           round(float(np.mean(pred[m] - mean)), 6), round(cover, 4),
                                           round(outside, 4), stats["kendall"] > one["kendall"] and cover >= 0.8, real))
    fails = [c for c in rep.out_of_slice if not c.holds]
    rep.out_of_slice_verdict = ("holds: " if not fails else "fails: ") + "; ".join(
        f"{c.metric}: Kendall tau {c.surrogate['kendall']:.3f} (one seed {c.one_seed['kendall']:.3f}), "
        f"90% interval coverage {c.coverage90:.0%}, bias {c.bias:+.4g}" for c in rep.out_of_slice)


def summary(rep: Report) -> str:
    """The report as the CLI prints it."""
    tag = " (labels shuffled across architectures: a control)" if rep.shuffled else ""
    lines = [f"{rep.family}/{rep.dataset}{tag}: {rep.verdict} ({rep.n_arch} architectures x {rep.n_seed} seeds, "
             f"{FOLDS} folds by architecture); the table it models: {rep.table_gate} by the quality gate"]
    lines.append(f"  {'metric':<16} {'tau':>6} {'rho':>6} {'R2':>7} | {'1-seed tau':>10} {'rho':>6} {'R2':>7} | "
                 f"{'rmse':>8} {'seed sd':>8}")
    for c in rep.checks:
        s, o = c.surrogate, c.one_seed
        lines.append(f"  {c.metric:<16} {s['kendall']:>6.3f} {s['spearman']:>6.3f} {s['r2']:>7.3f} | "
                     f"{o['kendall']:>10.3f} {o['spearman']:>6.3f} {o['r2']:>7.3f} | {c.rmse:>8.4g} {c.noise_sd:>8.4g}")
    lines.append(f"  why: {rep.why}")
    if rep.out_of_slice_verdict:
        lines.append(f"  out of the slice ({rep.out_of_slice_n} sampled architectures): {rep.out_of_slice_verdict}")
        for c in rep.out_of_slice:
            lines.append(f"    {c.metric}: R2 {c.surrogate['r2']:.3f}, Spearman {c.surrogate['spearman']:.3f}, "
                         f"{c.outside_table_range:.0%} of the sample's means outside the table's range; measured: "
                         f"{c.sample_vs_table}")
    return "\n".join(lines)


# ---- every surrogate, and the shipped report ----------------------------------------------------------
REPORT_FILE = "SURROGATES.json"


def targets(family: str | None = None, dataset: str | None = None) -> list[tuple[str, str]]:
    """``(family, dataset)`` of every surrogate (or those of one family / one dataset)."""
    from bench.core.outslice import spec_of
    from bench.families import FAMILIES

    fams = [family] if family is not None else [n for n, f in FAMILIES.items() if f.surrogate is not None]
    out = []
    for f in fams:
        spec = spec_of(f)
        if dataset is not None and dataset not in spec.datasets:
            from bench.errors import UnknownDatasetError

            raise UnknownDatasetError(dataset, list(spec.datasets), f"for the {f} surrogate (datasets with a table)")
        out += [(f, d) for d in spec.datasets if dataset in (None, d)]
    return out


AGREEMENT_SEEDS = 20


def compute_all(pairs: list[tuple[str, str]], progress: bool = False) -> list[Report]:
    from tqdm import tqdm

    return [check(f, d) for f, d in tqdm(pairs, desc="surrogate report", unit="dataset", disable=not progress)]


def agreements(pairs: list[tuple[str, str]], seeds: int = AGREEMENT_SEEDS, progress: bool = False) -> list:
    """The search-level agreement (:mod:`bench.core.surrogate_agreement`) of every family whose
    agreement dataset is among ``pairs``."""
    from bench.core.outslice import spec_of
    from bench.core.surrogate_agreement import agreement

    out = []
    for f, d in pairs:
        spec = spec_of(f)
        if d == spec.agree_dataset:
            out.append(agreement(f, d, list(spec.algorithms), seeds, progress=progress))
    return out


def report_path():
    from bench.paths import tables_dir

    return tables_dir() / REPORT_FILE


def report_json(reports: list[Report], agreed: list) -> str:
    import json

    return json.dumps({"folds": FOLDS, "fold_seed": FOLD_SEED, "params": S.PARAMS, "rounds": S.ROUNDS,
                       "reports": [r.to_json() for r in reports], "agreement": [a.to_json() for a in agreed]},
                      indent=1, sort_keys=True) + "\n"


def shipped(part: str = "reports") -> dict[tuple[str, str], dict]:
    """The shipped report's entries (``part``: 'reports' or 'agreement') by ``(family, dataset)``
    (empty when none ships)."""
    import json

    path = report_path()
    if not path.exists():
        return {}
    return {(r["family"], r["dataset"]): r for r in json.loads(path.read_text())[part]}


def shipped_verdict(family: str, dataset: str) -> str:
    """One line: the shipped report's verdict on a surrogate (held-out and out of the slice)."""
    r = shipped().get((family, dataset))
    if r is None:
        return f"no entry in tables/{REPORT_FILE} (run `mmnas-bench surrogate report --write`)"
    out = (f"surrogate report: {r['verdict']} ({r['why']}; the table it models: {r.get('table_gate', '?')} by the "
           "quality gate)")
    if r.get("out_of_slice_verdict"):
        out += f"; out of the slice: {r['out_of_slice_verdict']}"
    a = shipped("agreement").get((family, dataset))
    if a is not None:
        out += (f"; search algorithms ({', '.join(x['algo'] for x in a['algos'])}, {a['seeds']} seeds) rank "
                f"{'in the same order' if a['same_order'] else 'in another order'} on it as on the table "
                f"(Kendall tau {a['kendall']:.2f}" + _separated(a) + ")")
    return out


def _separated(a: dict) -> str:
    """How far the table itself separates the algorithms an agreement ranks."""
    from bench.core.surrogate_agreement import separates
    from bench.stats import format_p

    p = a.get("table_kruskal_p", float("nan"))
    if separates(p) is None:
        return ""
    if separates(p):
        return f"; on the table they differ: Kruskal-Wallis p = {format_p(p)}, n = {a['seeds']} seeds each"
    return (f"; the table does not separate them, inconclusive at {a['seeds']} seeds: Kruskal-Wallis p = "
            f"{format_p(p)}, so that order is noise")


def readme_table() -> str:
    """The shipped report as the README prints it (a test keeps the README in step)."""
    rows = []
    for (fam, ds), r in shipped().items():
        c = r["checks"]
        taus = "  ".join(f"{x['metric']} {x['surrogate']['kendall']:.2f} ({x['one_seed']['kendall']:.2f})" for x in c[:2])
        line = f"{fam + ' ' + ds:<26} {r['n_arch']:>4} x {r['n_seed']}  {r['verdict']:<8} {taus}   table: {r['table_gate']}"
        rows.append(line)
        if r["out_of_slice"]:
            rows.append(f"{'':<26} out of the slice ({r['out_of_slice_n']} sampled): "
                        + ("holds" if r["out_of_slice_verdict"].startswith("holds") else "fails") + ": "
                        + "; ".join(f"{x['metric']} {x['surrogate']['kendall']:.2f} ({x['one_seed']['kendall']:.2f}), "
                                    f"90% coverage {x['coverage90']:.0%}" for x in r["out_of_slice"][:2]))
    return "\n".join(rows)
