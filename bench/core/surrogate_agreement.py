"""Search-level agreement: do search algorithms rank the same on a surrogate as on the table it was
fitted on? (``mmnas-bench surrogate agree``)

Each algorithm runs over the same seeds and budget of charged seconds twice: on the shipped table
(the family's oracle, never training) and on the surrogate restricted to the table's
architectures (``oracle="surrogate-slice"``). A run's regret is the gap between the world's best
seed-mean test value and its incumbent's seed-mean test value in that world (the table's mean of
its seeds; the surrogate's predicted mean), so the noise the search saw is kept and the noise of
reading its result is not. Reported: each algorithm's mean regret in both worlds and their
difference (bootstrap CI), and the Kendall tau between the two rankings of the algorithms, beside
a Kruskal-Wallis test of whether the algorithms' regrets differ at all in each world: where they do
not, their order is noise in both and a tau between two noisy orders says little.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from bench.core import surrogate as S


@dataclass
class AlgoAgreement:
    algo: str
    table_regret: float
    surrogate_regret: float
    difference: float  # surrogate - table (mean regret)
    ci95: tuple[float, float]  # bootstrap CI of the difference (runs paired by seed)


@dataclass
class Agreement:
    family: str
    dataset: str
    seeds: int
    budget_seconds: float
    test_metric: str
    algos: list[AlgoAgreement]
    kendall: float  # between the algorithms' rankings by mean regret on the table and on the surrogate
    same_order: bool
    table_kruskal_p: float  # do the algorithms' regrets differ on the table? (Kruskal-Wallis over seeds)
    surrogate_kruskal_p: float

    def to_json(self) -> dict:
        return asdict(self)


def _regrets(records, mean_test, best: float, sign: float) -> np.ndarray:
    from bench.trained_report import runs_frame

    archs = runs_frame(records)["best_arch"].tolist()
    return np.array([sign * (best - mean_test(a)) for a in archs])


def agreement(family: str, dataset: str, algos: list[str], seeds: int = 20, budget_seconds: float | None = None,
              progress: bool = False) -> Agreement:
    """Run every algorithm on the table and on the surrogate over the table's slice; compare."""
    from scipy.stats import kendalltau, kruskal
    from tqdm import tqdm

    from bench.compare import run_trained
    from bench.families import get
    from bench.stats import bootstrap_diff_ci

    fam = get(family)
    budget = float(budget_seconds or fam.default_budget_seconds)
    table = S.family_oracle(family, dataset)  # allow_train False: a miss is an error, never a training
    sur = S.open_surrogate(family, dataset, "slice", table)
    test = table.test_metric
    sign = 1.0 if table.metric_info(test).direction == "max" else -1.0
    archs = [table.space.encode(a) for a in table.space.enumerate()]
    k = table.n_seeds
    table_mean = {a: float(np.mean([table.result(a, s)[test] for s in range(k)])) for a in archs}
    sur_mean = dict(zip(archs, sur.predict_many(archs)[test].tolist()))
    best_table = max(table_mean.values()) if sign > 0 else min(table_mean.values())
    best_sur = max(sur_mean.values()) if sign > 0 else min(sur_mean.values())
    rows, regrets = [], {"table": [], "surrogate": []}  # per world, one array of seeds per algorithm
    with tqdm(total=2 * len(algos) * seeds, desc=f"agreement {family}/{dataset}", unit="run",
              disable=not progress) as bar:
        for algo in algos:
            got = {}
            for name, oracle in (("table", table), ("surrogate", sur)):
                recs = []
                for seed in range(seeds):
                    recs.append(run_trained(oracle, algo, seed, budget_seconds=budget))
                    bar.update()
                mean = table_mean.__getitem__ if name == "table" else (lambda a: sur.means(sur.encode(a))[test])
                got[name] = _regrets(recs, mean, best_table if name == "table" else best_sur, sign)
                regrets[name].append(got[name])
            diff = got["surrogate"] - got["table"]
            lo, hi = bootstrap_diff_ci(diff)
            rows.append(AlgoAgreement(algo, round(float(got["table"].mean()), 6),
                                      round(float(got["surrogate"].mean()), 6), round(float(diff.mean()), 6),
                                      (round(float(lo), 6), round(float(hi), 6))))
    t = [r.table_regret for r in rows]
    s = [r.surrogate_regret for r in rows]
    tau = float(kendalltau(t, s).statistic) if len(rows) > 1 and np.ptp(t) > 0 and np.ptp(s) > 0 else float("nan")
    same = list(np.argsort(t, kind="stable")) == list(np.argsort(s, kind="stable"))

    def differ(groups) -> float:
        if len(groups) < 2 or np.ptp(np.concatenate(groups)) == 0:
            return float("nan")
        return round(float(kruskal(*groups).pvalue), 6)

    return Agreement(family, dataset, seeds, budget, test, rows, round(tau, 4), same,
                     differ(regrets["table"]), differ(regrets["surrogate"]))


def summary(a: Agreement) -> str:
    lines = [f"{a.family}/{a.dataset}: algorithms ranked by mean regret of the incumbent's seed-mean {a.test_metric} "
             f"({a.seeds} seeds each, {a.budget_seconds:g} charged seconds per run), table vs surrogate over the "
             f"table's slice: Kendall tau {a.kendall:.2f}, " + ("same order" if a.same_order else "order differs")]
    for r in a.algos:
        lines.append(f"  {r.algo:<12} table {r.table_regret:.4g}  surrogate {r.surrogate_regret:.4g}  "
                     f"difference {r.difference:+.4g} (95% bootstrap CI {r.ci95[0]:+.4g}..{r.ci95[1]:+.4g})")
    lines.append("  " + separation(a))
    return "\n".join(lines)


def separates(p: float) -> bool | None:
    """Whether a Kruskal-Wallis p says the algorithms' regrets differ (None: nothing to test)."""
    from bench.stats import ALPHA

    return None if p != p else p < ALPHA


def separation(a: Agreement) -> str:
    """Whether the algorithms' regrets differ at all, in each world (Kruskal-Wallis over the seeds)."""
    from bench.stats import format_p

    def one(p: float) -> str:
        if separates(p) is None:
            return "no spread to test"
        return (f"they differ (Kruskal-Wallis p = {format_p(p)}" if separates(p) else
                f"inconclusive at {a.seeds} seeds (Kruskal-Wallis p = {format_p(p)}") + f", n = {a.seeds} seeds each)"

    out = f"do the algorithms' regrets differ? on the table: {one(a.table_kruskal_p)}; on the surrogate: " \
          f"{one(a.surrogate_kruskal_p)}"
    if not separates(a.table_kruskal_p):
        out += "; the table does not separate them, so their order on it is noise and the tau says little"
    return out
