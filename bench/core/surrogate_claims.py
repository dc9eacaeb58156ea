"""Paper claims re-tested on the paper's full space through a surrogate, beside the table's slice.

A claim compares two sides at equal search cost over many seeds: ``"algo@full"`` (a search of the
full space), ``"algo@slice"`` (a search of the architectures the table holds) or ``"arch:<text>"``
(one fixed architecture, e.g. the paper's baseline design). Each side's value is the seed-mean test
value of what it returns, in two worlds: the surrogate (its predicted mean) and the shipped table
(its recorded mean; a full-space search would train there, so it is shown as not run). Every
comparison is printed with its test (two-sided Mann-Whitney), effect size (Cliff's delta) and seed
count, beside the surrogate's own verdicts (held-out and out of the slice), which say how far the
full-space answer can be trusted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from bench.core import surrogate as S

SEEDS = 50
REPORT_FILE = "SURROGATE_CLAIMS.json"


@dataclass(frozen=True)
class Claim:
    """One paper claim as a comparison of two sides (see the module docstring)."""

    text: str
    source: str  # paper file and table
    dataset: str
    a: str
    b: str
    seeds: int = SEEDS
    budget_seconds: float | None = None  # default: the family's


@dataclass
class WorldResult:
    world: str  # 'surrogate' or 'table'
    a: list[float] = field(default_factory=list)
    b: list[float] = field(default_factory=list)
    not_run: str = ""  # why a side could not run in this world
    verdict: str = ""  # the comparison, as printed


@dataclass
class ClaimResult:
    family: str
    claim: dict
    test_metric: str
    direction: str
    worlds: list[WorldResult]

    def to_json(self) -> dict:
        return asdict(self)


def _side_values(side: str, world: str, family: str, claim: Claim, table, sur_full, sur_slice, budget: float
                 ) -> list[float] | str:
    """The seed-mean test values of one side over the claim's seeds, or why it cannot run."""
    from bench.compare import run_trained
    from bench.trained_report import runs_frame

    test = table.test_metric
    k = table.n_seeds

    def table_mean(a: str) -> float:
        return float(np.mean([table.result(a, s)[test] for s in range(k)]))

    def sur_mean(o, a: str) -> float:
        return o.means(o.encode(a))[test]

    if side.startswith("arch:"):
        arch = side[5:]
        if world == "surrogate":
            return [sur_mean(sur_full, arch)] * claim.seeds
        try:
            return [table_mean(table.encode(arch))] * claim.seeds
        except Exception as exc:  # not in the table: it would train
            return f"{arch} is not in the table ({exc})"
    algo, _, space = side.partition("@")
    if world == "table" and space == "full" and not _table_is_full_space(table, sur_full.space):
        return "a full-space search would train every architecture outside the table"
    oracle = table if world == "table" else (sur_full if space == "full" else sur_slice)
    from bench.families import get

    try:
        get(family).check_algorithm(algo, oracle.space)
    except Exception as exc:
        return f"{algo} cannot search this space: {exc}"
    recs = [run_trained(oracle, algo, seed, budget_seconds=budget) for seed in range(claim.seeds)]
    archs = runs_frame(recs)["best_arch"].tolist()
    return [table_mean(a) if world == "table" else sur_mean(oracle, a) for a in archs]


def _table_is_full_space(table, full) -> bool:
    """Whether the table holds every architecture of the full space (then a full-space search runs on it)."""
    size = full.size
    if size is None or size > 100_000 or table.space.size != size:
        return False
    from bench.errors import MissingValueError

    try:
        for a in full.enumerate():
            table.result(full.encode(a), 0, allow_train=False)
    except MissingValueError:
        return False
    return True


def evaluate(family: str, claim: Claim) -> ClaimResult:
    """Both sides of a claim in both worlds, compared."""
    from bench.families import get
    from bench.stats import compare_text

    table = S.family_oracle(family, claim.dataset)
    sur_full = S.open_surrogate(family, claim.dataset, "full", table)
    sur_slice = S.open_surrogate(family, claim.dataset, "slice", table)
    budget = float(claim.budget_seconds or get(family).default_budget_seconds)
    test = table.test_metric
    direction = table.metric_info(test).direction
    worlds = []
    for world in ("surrogate", "table"):
        w = WorldResult(world)
        a = _side_values(claim.a, world, family, claim, table, sur_full, sur_slice, budget)
        b = _side_values(claim.b, world, family, claim, table, sur_full, sur_slice, budget)
        if isinstance(a, str) or isinstance(b, str):
            w.not_run = a if isinstance(a, str) else b
            w.a, w.b = ([] if isinstance(a, str) else [round(x, 6) for x in a],
                        [] if isinstance(b, str) else [round(x, 6) for x in b])
        else:
            w.a, w.b = [round(x, 6) for x in a], [round(x, 6) for x in b]
            w.verdict = compare_text(claim.a, w.a, claim.b, w.b, higher_is_better=direction == "max")
        worlds.append(w)
    return ClaimResult(family, asdict(claim), test, direction, worlds)


def claims_of(family: str) -> list[Claim]:
    """The claims a family's surrogate module declares (``CLAIMS``)."""
    from bench.core.outslice import spec_of

    return list(getattr(spec_of(family).impl(), "CLAIMS", ()))


def summary(r: ClaimResult) -> str:
    from bench.core.surrogate_report import shipped_verdict

    c = r.claim
    lines = [f"{r.family}/{c['dataset']}: \"{c['text']}\" ({c['source']}); seed-mean {r.test_metric} of what each "
             f"side returns, {c['seeds']} seeds, equal charged seconds"]
    for w in r.worlds:
        if w.not_run:
            lines.append(f"  {w.world}: not run ({w.not_run})"
                         + (f"; {c['a'] if w.a else c['b']} mean {np.mean(w.a or w.b):.4g}" if (w.a or w.b) else ""))
        else:
            lines.append(f"  {w.world}: {c['a']} mean {np.mean(w.a):.4g}, {c['b']} mean {np.mean(w.b):.4g}; {w.verdict}")
    lines.append(f"  the surrogate: {shipped_verdict(r.family, c['dataset'])}")
    return "\n".join(lines)


def evaluate_all(progress: bool = False) -> list[ClaimResult]:
    """Every family's claims (:func:`claims_of`), evaluated."""
    from tqdm import tqdm

    from bench.families import FAMILIES

    todo = [(n, c) for n, f in FAMILIES.items() if f.surrogate is not None for c in claims_of(n)]
    return [evaluate(n, c) for n, c in tqdm(todo, desc="surrogate claims", unit="claim", disable=not progress)]


def report_json(results: list[ClaimResult]) -> str:
    import json

    return json.dumps({"claims": [r.to_json() for r in results]}, indent=1, sort_keys=True) + "\n"


def report_path():
    from bench.paths import tables_dir

    return tables_dir() / REPORT_FILE


def shipped() -> list[dict]:
    import json

    path = report_path()
    return json.loads(path.read_text())["claims"] if path.exists() else []


def readme_table() -> str:
    """The shipped claims as the README prints them (a test keeps the README in step)."""
    out = []
    for r in shipped():
        c = r["claim"]
        out.append(f"{r['family']} {c['dataset']}: {c['text']} ({c['source']})")
        for w in r["worlds"]:
            a = f"{np.mean(w['a']):.4g}" if w["a"] else "-"
            b = f"{np.mean(w['b']):.4g}" if w["b"] else "-"
            out.append(f"  {w['world']:<9} {c['a']} {a} vs {c['b']} {b}: "
                       + (f"not run ({w['not_run']})" if w["not_run"] else w["verdict"]))
    return "\n".join(out)
