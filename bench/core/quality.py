"""The quality gate of the trained tables: can a table rank architectures, and so rank search
algorithms?

For every searched and reported metric of a shipped trained table (``[n_arch, n_seed]``):

* ICC(1), the share of variance between architectures (one-way random effects, single seed: a
  search sees one seed per evaluation, ``bench.trained_run``), with a bootstrap CI over
  architectures, and ICC(1,k), the reliability of the k-seed mean the table reports;
* the split-half rank agreement: Spearman of the seed means of two disjoint seed halves
  (averaged over every split into halves);
* the trivial predictors of the task (constant / majority / label prior for classification,
  training mean and median for regression) scored with the family's own metric code, and the
  best architecture's margin over the best of them in pooled seed standard deviations.

Verdicts: ``discriminates`` (ICC(1) >= 0.75 and the best architecture beats every trivial
predictor by more than 2 seed sd), ``control`` (it does not beat them, or ICC(1) < 0.5: the
ranks are noise-dominated) and ``weak`` (in between, or saturated: more than 1% of the
architectures tie at the best value, so ties pick a search's incumbent). A table's verdict is its
worst metric's. Each verdict is also given for evaluations that average the table's k seeds
(``eval_seeds=k``: ICC(1,k) in place of ICC(1)).

Families register their tables with :class:`GateSpec` (``Family.gate``); the report of every
table ships as ``tables/QUALITY.json`` (``mmnas-bench tables quality --write``), so ``info``,
``tables status`` and the paper outputs read it without loading data or torch; a test
recomputes it.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from itertools import combinations
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

ICC_DISCRIMINATES = 0.75
ICC_NOISE = 0.5
MARGIN_SD = 2.0
BOOTSTRAP = 1000
BOOTSTRAP_SEED = 0
SATURATED = 0.02  # more architectures than this share (and than 3) tied at the best: the top cannot be ranked
VERDICTS = ("discriminates", "weak", "control")  # best first
REPORT_FILE = "QUALITY.json"


@dataclass(frozen=True)
class GateSpec:
    """One trained table as the gate reads it: ``metrics`` are the searched metric first, then
    the reported ones; ``trivial()`` -> ``{metric: {predictor: value}}`` scored with the family's
    metric code on the split the table's models were scored on; ``real_data``: False for
    synthetic stores (controls by design)."""

    family: str
    table: str
    file: str
    dataset: str
    metrics: tuple[str, ...]
    trivial: Callable[[], Mapping[str, Mapping[str, float]]]
    real_data: bool = True


# ---- statistics ----------------------------------------------------------------------------------
def icc1(values: np.ndarray) -> float:
    """One-way random-effects ICC(1) of ``values`` [n_arch, n_seed]."""
    n, k = values.shape
    means = values.mean(axis=1)
    msb = k * ((means - values.mean()) ** 2).sum() / max(1, n - 1)
    msw = ((values - means[:, None]) ** 2).sum() / max(1, n * (k - 1))
    den = msb + (k - 1) * msw
    return float((msb - msw) / den) if den > 0 else float("nan")


def icc_of_mean(icc: float, k: int) -> float:
    """ICC(1,k): the reliability of a k-seed mean (Spearman-Brown of ICC(1))."""
    return float(k * icc / (1 + (k - 1) * icc)) if 1 + (k - 1) * icc > 0 else float("nan")


def icc_bootstrap_ci(values: np.ndarray, reps: int = BOOTSTRAP, seed: int = BOOTSTRAP_SEED) -> tuple[float, float]:
    """95% percentile CI of ICC(1), resampling architectures (never seeds) with replacement."""
    n, k = values.shape
    idx = np.random.default_rng(seed).integers(0, n, size=(reps, n))
    v = values[idx]  # [reps, n, k]
    means = v.mean(axis=2)
    msb = k * ((means - v.mean(axis=(1, 2))[:, None]) ** 2).sum(axis=1) / max(1, n - 1)
    msw = ((v - means[..., None]) ** 2).sum(axis=(1, 2)) / max(1, n * (k - 1))
    den = msb + (k - 1) * msw
    icc = np.where(den > 0, (msb - msw) / np.where(den > 0, den, 1.0), np.nan)
    lo, hi = np.nanpercentile(icc, [2.5, 97.5])
    return float(lo), float(hi)


def split_half_spearman(values: np.ndarray) -> float:
    """Mean Spearman correlation of the seed means of two disjoint seed halves, over every split
    of the k seeds into halves of floor(k/2) and the rest (NaN with one seed)."""
    from scipy.stats import spearmanr

    n, k = values.shape
    if k < 2 or n < 3:
        return float("nan")
    rhos = []
    for half in combinations(range(k), k // 2):
        rest = [s for s in range(k) if s not in half]
        a, b = values[:, list(half)].mean(axis=1), values[:, rest].mean(axis=1)
        if np.ptp(a) == 0 or np.ptp(b) == 0:
            continue
        rhos.append(spearmanr(a, b).statistic)
    return float(np.mean(rhos)) if rhos else float("nan")


# ---- trivial predictors --------------------------------------------------------------------------
PRIOR_DRAWS = 200


def classification_trivial(y_train: np.ndarray, y_eval: np.ndarray, n_out: int,
                           score: Callable[[np.ndarray, np.ndarray, int], Mapping[str, float]],
                           seed: int = BOOTSTRAP_SEED) -> dict[str, dict[str, float]]:
    """``{predictor: score(y_eval, pred, n_out)}`` of the trivial classifiers, with the training
    labels as their only knowledge. Class ids [n]: the majority class, and random labels drawn from
    the training prior (mean over draws). Multi-label [n, L]: all labels on, all off, each label's
    majority, and each label on with its training rate (mean over draws)."""
    rng = np.random.default_rng(seed)
    n = len(y_eval)
    out: dict[str, dict[str, float]] = {}

    def mean_over_draws(draw) -> dict[str, float]:
        runs = [score(y_eval, draw(), n_out) for _ in range(PRIOR_DRAWS)]
        return {m: float(np.mean([r[m] for r in runs])) for m in runs[0]}

    if y_train.ndim == 2:
        rate = y_train.astype(bool).mean(axis=0)
        shape = (n, y_train.shape[1])
        out["all-positive"] = dict(score(y_eval, np.ones(shape, bool), n_out))
        out["all-negative"] = dict(score(y_eval, np.zeros(shape, bool), n_out))
        out["per-label majority"] = dict(score(y_eval, np.broadcast_to(rate >= 0.5, shape).copy(), n_out))
        out["label prior"] = mean_over_draws(lambda: rng.random(shape) < rate)
        return out
    prior = np.bincount(y_train, minlength=n_out) / len(y_train)
    out["majority"] = dict(score(y_eval, np.full(n, int(prior.argmax())), n_out))
    out["label prior"] = mean_over_draws(lambda: rng.choice(n_out, size=n, p=prior))
    return out


def regression_trivial(y_train: np.ndarray, y_eval: np.ndarray,
                       score: Callable[[np.ndarray, np.ndarray], Mapping[str, float]]) -> dict[str, dict[str, float]]:
    """``{predictor: score(pred, y_eval)}`` of the constant predictors: the training mean and the
    training median (the MAE-optimal constant), per label column."""
    y_train = y_train.reshape(len(y_train), -1).astype(np.float64)
    y_eval = y_eval.reshape(len(y_eval), -1).astype(np.float64)
    return {name: dict(score(np.broadcast_to(c, y_eval.shape).copy(), y_eval))
            for name, c in (("training mean", y_train.mean(axis=0)), ("training median", np.median(y_train, axis=0)))}


def sequence_trivial(store_name: str, split: str, metrics: Mapping[str, tuple[str, str, str]]
                     ) -> dict[str, dict[str, float]]:
    """Constant predictors of a sequence store's regression label (:func:`regression_trivial` with
    :func:`bench.core.seqmetrics.regression_metrics`): ``metrics`` maps a table metric to
    ``(part, score key for multi-column labels, score key for one column)``."""
    from bench.core.seqmetrics import regression_metrics, target_of
    from bench.features import sequence

    store = sequence.open(store_name)
    label = store.arrays[f"labels/{target_of(store)}"]
    y = {part: label[store.rows(split, part)] for part in ("train", "val", "test")}
    out: dict[str, dict[str, float]] = {}
    for metric, (part, multi, single) in metrics.items():
        scores = regression_trivial(y["train"], y[part], regression_metrics)
        out[metric] = {p: float(s[multi if y[part].ndim > 1 and y[part].shape[1] > 1 else single])
                       for p, s in scores.items()}
    return out


def by_metric(scores: Mapping[str, Mapping[str, float]], names: Mapping[str, str]) -> dict[str, dict[str, float]]:
    """Re-key ``{predictor: {score: v}}`` as ``{metric: {predictor: v}}`` with ``names``:
    ``{metric: score}`` (e.g. ``{"test_acc": "acc"}``)."""
    return {metric: {p: float(s[key]) for p, s in scores.items()} for metric, key in names.items()}


# ---- the gate ------------------------------------------------------------------------------------
@dataclass
class MetricQuality:
    metric: str
    role: str  # 'searched' or 'reported'
    direction: str
    n_arch: int
    n_seed: int
    icc1: float
    icc1_ci: tuple[float, float]
    icc_mean: float  # ICC(1,k) of the k-seed mean
    split_half: float
    seed_sd: float  # pooled within-architecture standard deviation
    best: float  # the best architecture's seed mean
    best_arch: str
    n_tied_best: int  # architectures whose seed mean equals the best's
    n_tied_best_seed: int  # architectures tied at one seed's best value (mean over seeds)
    trivial: dict[str, float]
    best_trivial: str
    margin: float  # best - best trivial, positive when the architecture is better
    margin_sd: float
    verdict: str  # single-seed evaluations (what a search sees by default)
    why: str
    verdict_mean: str  # evaluations that are k-seed means (``eval_seeds=k``, the table's seeds)
    why_mean: str


@dataclass
class TableQuality:
    family: str
    table: str
    file: str
    dataset: str
    sha256: str
    real_data: bool
    n_seed: int
    verdict: str
    why: str
    verdict_mean: str
    why_mean: str
    metrics: list[MetricQuality] = field(default_factory=list)


def metric_quality(metric: str, role: str, direction: str, values: np.ndarray, archs: list[str],
                   trivial: Mapping[str, float]) -> MetricQuality:
    """The gate on one metric's ``values`` [n_arch, n_seed] (NaN rows are left out)."""
    ok = ~np.isnan(values).any(axis=1)
    v, names = values[ok], [a for a, keep in zip(archs, ok) if keep]
    n, k = v.shape
    icc = icc1(v)
    means = v.mean(axis=1)
    sign = 1.0 if direction == "max" else -1.0
    b = int(np.argmax(sign * means))
    seed_sd = float(np.sqrt(((v - means[:, None]) ** 2).sum() / max(1, n * (k - 1))))
    if trivial:
        best_trivial = max(trivial, key=lambda p: sign * trivial[p])
        margin = sign * (means[b] - trivial[best_trivial])
    else:
        best_trivial, margin = "", float("nan")
    margin_sd = margin / seed_sd if seed_sd > 0 else (math.inf if margin > 0 else -math.inf)
    tied = _ties_at_best(means, sign)
    tied_seed = int(round(np.mean([_ties_at_best(v[:, j], sign) for j in range(k)])))
    verdict, why = _verdict(metric, icc, "ICC(1)", margin_sd, trivial, best_trivial, float(means[b]), tied_seed, n,
                            "one seed's best value")
    verdict_mean, why_mean = _verdict(metric, icc_of_mean(icc, k), f"ICC(1,{k})", margin_sd, trivial, best_trivial,
                                      float(means[b]), tied, n, "the best seed mean")
    lo, hi = icc_bootstrap_ci(v)
    return MetricQuality(metric, role, direction, n, k, round(icc, 4), (round(lo, 4), round(hi, 4)),
                         round(icc_of_mean(icc, k), 4), round(split_half_spearman(v), 4), round(seed_sd, 6),
                         round(float(means[b]), 6), names[b], tied, tied_seed, {p: round(float(x), 6) for p, x in trivial.items()},
                         best_trivial, round(float(margin), 6), round(float(margin_sd), 3), verdict, why, verdict_mean,
                         why_mean)


def _ties_at_best(values: np.ndarray, sign: float) -> int:
    top = np.max(sign * values)
    return int(np.sum(np.abs(sign * values - top) <= 1e-9 * max(1.0, abs(top))))


def _verdict(metric: str, icc: float, icc_name: str, margin_sd: float, trivial: Mapping[str, float],
             best_trivial: str, best: float, tied: int, n: int, at: str) -> tuple[str, str]:
    """(verdict, why) of one metric by the rules in the module doc."""
    if trivial and not margin_sd > MARGIN_SD:
        return "control", (f"{metric}: the best architecture ({best:.4g}) does not beat the {best_trivial} predictor "
                           f"({trivial[best_trivial]:.4g}) by more than {MARGIN_SD:g} seed sd ({margin_sd:+.1f} sd)")
    if not icc >= ICC_NOISE:
        return "control", f"{metric}: {icc_name} {icc:.2f} < {ICC_NOISE}: ranks are noise-dominated"
    if not icc >= ICC_DISCRIMINATES:
        return "weak", f"{metric}: {icc_name} {icc:.2f} < {ICC_DISCRIMINATES}"
    if tied > max(3, SATURATED * n):
        return "weak", (f"{metric}: saturated, {tied} of {n} architectures tie at {at} "
                        "(ties, not ranks, pick a search's incumbent)")
    return "discriminates", f"{metric}: {icc_name} {icc:.2f} >= {ICC_DISCRIMINATES}" + (
        f", best {margin_sd:.1f} seed sd above the {best_trivial} predictor" if trivial else "")


def table_quality(spec: GateSpec) -> TableQuality:
    """The gate on one shipped table (read from ``tables/``, verified)."""
    from bench.manifest import file_digest
    from bench.paths import tables_dir
    from bench.tablefile import read_dataset

    path = tables_dir() / spec.file
    archs, metrics, _ = read_dataset(path, spec.dataset)
    trivial = spec.trivial()
    out = []
    for i, m in enumerate(spec.metrics):
        col = metrics[m]
        out.append(metric_quality(m, "searched" if i == 0 else "reported", col.direction, col.values, archs,
                                  trivial.get(m, {})))
    verdict, why = _worst([(q.verdict, q.why) for q in out])
    verdict_mean, why_mean = _worst([(q.verdict_mean, q.why_mean) for q in out])
    return TableQuality(spec.family, spec.table, spec.file, spec.dataset, file_digest(path), spec.real_data,
                        out[0].n_seed, verdict, why, verdict_mean, why_mean, out)


def _worst(verdicts: list[tuple[str, str]]) -> tuple[str, str]:
    """A table's verdict: its worst metric's, with the reasons of the metrics that decide it."""
    worst = max((v for v, _ in verdicts), key=VERDICTS.index)
    return worst, "; ".join(w for v, w in verdicts if v == worst)


def gate_specs() -> list[GateSpec]:
    """Every registered trained table whose file ships, in registry order."""
    from bench.families import FAMILIES
    from bench.paths import tables_dir

    return [g for f in FAMILIES.values() for g in f.gate() if (tables_dir() / g.file).exists()]


def compute_report(progress: bool = False) -> list[TableQuality]:
    specs = gate_specs()
    if progress:
        from tqdm import tqdm

        specs = tqdm(specs, desc="quality gate", unit="table")
    return [table_quality(g) for g in specs]


def report_json(report: list[TableQuality]) -> str:
    """The report as the shipped file holds it (sorted keys, fixed rounding: rebuilds compare
    byte for byte)."""
    return json.dumps({"gate": {"icc_discriminates": ICC_DISCRIMINATES, "icc_noise": ICC_NOISE, "margin_sd": MARGIN_SD,
                                "saturated_share": SATURATED, "bootstrap": BOOTSTRAP, "bootstrap_seed": BOOTSTRAP_SEED, "prior_draws": PRIOR_DRAWS},
                       "tables": [asdict(q) for q in report]}, indent=1, sort_keys=True) + "\n"


def report_path() -> Path:
    from bench.paths import tables_dir

    return tables_dir() / REPORT_FILE


def shipped() -> dict[str, dict]:
    """``{table file: its entry}`` of the shipped report in registry order (empty when none ships);
    read once per version of the file."""
    p = report_path()
    try:
        st = p.stat()
    except OSError:
        return {}
    return _read_report(str(p), st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=4)
def _read_report(path: str, mtime_ns: int, size: int) -> dict[str, dict]:
    return {e["file"]: e for e in json.loads(Path(path).read_text())["tables"]}


def verdict_of(file: str) -> dict | None:
    """The shipped report's entry of a table file, with ``stale`` True when the file changed since
    the report was written; None for files the gate does not cover."""
    entry = shipped().get(file)
    if entry is None:
        return None
    from bench.manifest import file_digest
    from bench.paths import tables_dir

    path = tables_dir() / file
    return {**entry, "stale": not path.exists() or file_digest(path) != entry["sha256"]}


def shipped_report() -> list[dict]:
    """The shipped report's entries in registry order, each with ``stale`` (see :func:`verdict_of`)."""
    return [verdict_of(f) for f in shipped()]


def verdict_text(entry: dict) -> str:
    """``weak; discriminates with --eval-seeds 3``: the single-seed verdict and, where it differs,
    the verdict of evaluations that average the table's seeds."""
    text = entry["verdict"] + ("" if entry["real_data"] else " (synthetic data)")
    if entry["verdict_mean"] != entry["verdict"]:
        text += f"; {entry['verdict_mean']} with --eval-seeds {entry['n_seed']}"
    return text


def summary(entry: dict) -> str:
    """One line of a report entry: verdict, what decides it, and each metric's numbers."""
    parts = [f"{m['metric']} ICC(1) {m['icc1']:.2f} [{m['icc1_ci'][0]:.2f}, {m['icc1_ci'][1]:.2f}], "
             f"{m['n_seed']}-seed mean {m['icc_mean']:.2f}, split-half rho {m['split_half']:.2f}, best "
             + (f"{m['margin_sd']:+.1f} sd vs {m['best_trivial']} ({m['trivial'][m['best_trivial']]:.4g})"
                if m["best_trivial"] else "(no trivial predictor)") for m in entry["metrics"]]
    stale = " [STALE: the table changed; run `mmnas-bench tables quality --write`]" if entry.get("stale") else ""
    return f"{verdict_text(entry)}{stale}: {entry['why']} | {'; '.join(parts)}"


def format_verdicts(entries: list[dict]) -> str:
    """The verdict of every trained table, one line each (what ``tables status`` prints)."""
    if not entries:
        return "Quality gate: no tables/QUALITY.json (run `mmnas-bench tables quality --write`)"
    width = max(len(e["table"]) for e in entries)
    lines = [f"Quality gate of the trained tables (`mmnas-bench tables quality` for the numbers; thresholds: "
             f"discriminates = ICC(1) >= {ICC_DISCRIMINATES} and best > every trivial predictor + {MARGIN_SD:g} seed sd; "
             f"control = not above them, or ICC(1) < {ICC_NOISE}; else weak, also when over {SATURATED:.0%} of the "
             "architectures, and over 3, tie at the best):"]
    for e in entries:
        lines.append(f"  {e['table']:<{width}}  {verdict_text(e)}" + ("  [STALE]" if e.get("stale") else ""))
    return "\n".join(lines)


def format_report(report: list[TableQuality]) -> str:
    """The full gate: per table its verdicts and reasons, per metric ICC(1) with its bootstrap CI,
    the k-seed mean's ICC(1,k), split-half Spearman, the best architecture against every trivial
    predictor."""
    entries = [json.loads(json.dumps(asdict(q))) for q in report]
    lines = [format_verdicts(entries), ""]
    for e in entries:
        lines.append(f"{e['table']} (tables/{e['file']}, {e['dataset']}): {verdict_text(e)}")
        lines.append(f"  why: {e['why']}")
        if e["verdict_mean"] != e["verdict"]:
            lines.append(f"  with --eval-seeds {e['n_seed']}: {e['why_mean']}")
        for m in e["metrics"]:
            triv = ", ".join(f"{p} {v:.4g}" for p, v in m["trivial"].items()) or "none"
            lines.append(f"  {m['metric']:<15} ({m['role']}, {m['n_arch']} x {m['n_seed']} seeds) ICC(1) {m['icc1']:.2f} "
                         f"[95% CI {m['icc1_ci'][0]:.2f}, {m['icc1_ci'][1]:.2f}]  ICC(1,{m['n_seed']}) {m['icc_mean']:.2f}  "
                         f"split-half rho {m['split_half']:.2f}  seed sd {m['seed_sd']:.4g}")
            lines.append(f"  {'':<15} best {m['best']:.4g} ({m['best_arch']}"
                         + (f"; {m['n_tied_best']} tie at it" if m["n_tied_best"] > 1 else "")
                         + (f"; {m['n_tied_best_seed']} tie at one seed's best" if m["n_tied_best_seed"] > 1 else "")
                         + f"); trivial: {triv}; margin "
                         f"{m['margin']:+.4g} = {m['margin_sd']:+.1f} seed sd")
    return "\n".join(lines)


def output_lines(files: list[str]) -> tuple[str, str]:
    """``(first line, header line)`` of a paper output that read the trained tables ``files``:
    the first line warns when one of them is weak or a control (else ''), the header line lists
    each with its verdict (else '')."""
    entries = [e for e in (verdict_of(f) for f in files) if e is not None]
    if not entries:
        return "", ""
    header = "- quality gate of the trained tables read (`mmnas-bench tables quality`): " + "; ".join(
        f"`tables/{e['file']}` {verdict_text(e)}" + (" [STALE]" if e["stale"] else "") for e in entries)
    bad = [e for e in entries if e["verdict"] != "discriminates"]
    if not bad:
        return "", header
    first = ("> **Quality gate: " + "; ".join(f"`tables/{e['file']}` is {verdict_text(e)} ({e['why'].split('; ')[0]})"
                                              for e in bad)
             + ".** Rows read from " + ("it" if len(bad) == 1 else "them")
             + " with single-seed models do not rank architectures or methods reliably"
             + (" (a control table cannot rank them at all)" if any(e["verdict"] == "control" for e in bad) else "")
             + "; read differences between such rows as inconclusive.")
    return first, header


class QualityWarning(UserWarning):
    """A table that cannot rank architectures reliably (``weak`` or ``control``) was opened."""


_WARNED: set[str] = set()


def warn_if_not_discriminating(file_name: str) -> None:
    """Warn, once per process and table, when the shipped gate does not say ``discriminates``."""
    entry = shipped().get(file_name)
    if entry is None or entry["verdict"] == "discriminates" or file_name in _WARNED:
        return
    _WARNED.add(file_name)
    import sys
    import warnings

    # point at the user's code: the first frame outside this package
    package, frame, stacklevel = str(Path(__file__).resolve().parents[1]), sys._getframe(1), 2
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame, stacklevel = frame.f_back, stacklevel + 1
    warnings.warn(QualityWarning(
        f"{entry['table']} (tables/{file_name}) is {verdict_text(entry)} by the quality gate: {entry['why']}. "
        "Single-seed rankings on it, and comparisons of search algorithms on them, are unreliable"
        + ("" if entry["verdict_mean"] == entry["verdict"] else
           f" (evaluate the mean of {entry['n_seed']} seeds: --eval-seeds {entry['n_seed']}, TrainedRun(eval_seeds=...))")
        + "; `mmnas-bench tables quality` gives the numbers"), stacklevel=stacklevel)


# ---- which tables an output read -----------------------------------------------------------------
_READ: set[str] = set()


def gated(file_name: str) -> bool:
    """Whether the shipped report covers a table file."""
    return file_name in shipped()


def note_read(file_name: str) -> None:
    """Called by the oracles when they answer from a shipped table (cheap: one set insert)."""
    _READ.add(file_name)


def reads_since_reset() -> list[str]:
    return sorted(_READ)


def reset_reads() -> None:
    _READ.clear()
