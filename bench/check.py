"""``mmnas-bench check``: a regression check of one search algorithm, for a user's CI.

It runs the algorithm on a named set of fixed-table benchmarks (:data:`SUITES`, or
``--bench``/``--dataset``) over seeds 0..N-1 (:func:`bench.compare.run_one`, the seeding of
``compare``), reduces each run to one number (:data:`MEASURES`, lower is better for both), and
either writes those per-seed numbers to a baseline file (``--write-baseline``) or tests them
against one (``--baseline``): per benchmark, the one-sided Mann-Whitney U test that the new values
are larger than the baseline's (:func:`bench.stats.mann_whitney_one_sided`) with Cliff's delta
(new against baseline; positive: larger, i.e. worse) as the effect size. A benchmark regresses
where p < alpha *and* delta >= the minimum effect. Runs are seeded and repeat bit for bit, so an
unchanged algorithm reproduces the baseline's values exactly (delta 0; no test can call that a
regression); a changed one whose quality is the same draws other values from the same
distribution, and fails with probability at most alpha per benchmark.

Exit status: :data:`PASS` (0), :data:`REGRESSION` (1: a regression, or the algorithm raised),
2 (bad input, as every command), :data:`CHANGED` (3: the tables or settings differ from the
baseline's, so its values are not comparable; nothing is run). Reports: JUnit XML (one testcase per
benchmark/dataset) and a Markdown summary.
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from bench.errors import BenchError

PASS, REGRESSION, CHANGED = 0, 1, 3
FORMAT, FORMAT_VERSION = "mmnas-bench check baseline", 1
DEFAULT_SEEDS = 20
DEFAULT_ALPHA = 0.01
#: Cliff's delta a regression must reach besides p < alpha ("medium", Romano et al. 2006): with many
#: seeds a negligible slowdown would otherwise be significant
DEFAULT_MIN_EFFECT = 0.33
#: counted evaluations per run for --bench/--dataset targets (regret-area) when --budget is not given
DEFAULT_BUDGET = 100

MEASURES = {
    "regret-area": "mean over evaluations t = 1..B (B the budget) of the incumbent's regret after t counted "
                   "evaluations, |optimum - incumbent| of the searched metric in its units; a run that stops "
                   "early keeps its last incumbent, and a step without one counts the table's largest regret",
    "evals-to-optimum": "counted evaluations until the incumbent first reaches the optimum of the searched "
                        "metric; a run that misses it counts the budget + 1 (with --budget all: the space's "
                        "size + 1), behind every run that reached it",
}


@dataclass(frozen=True)
class Target:
    """One benchmark/dataset with its budget: counted evaluations per run, None for ``all``
    (until the optimum; evals-to-optimum only)."""

    bench: str
    dataset: str
    budget: int | None

    @property
    def name(self) -> str:
        return f"{self.bench}/{self.dataset}"


#: named sets of fixed-table benchmarks; each budget (regret-area) runs in milliseconds per seed
SUITES: dict[str, tuple[Target, ...]] = {
    "quick": (Target("nb201", "cifar10", 100), Target("nb201", "cifar100", 100),
              Target("transnas101-micro", "class_scene", 50)),
    "full": (*(Target("nb201", d, 300) for d in ("cifar10", "cifar100", "ImageNet16-120")),
             *(Target("transnas101-micro", d, 100) for d in ("class_object", "class_scene", "room_layout",
                                                               "autoencoder", "normal", "jigsaw", "segmentsemantic"))),
}


def suite_text(name: str) -> str:
    """``nb201/cifar10 (100), ...``: a suite's benchmarks with their budgets."""
    return ", ".join(f"{t.name} ({t.budget})" for t in SUITES[name])


@dataclass
class Result:
    """One target's runs: the searched metric, what the tables were, one value per seed."""

    target: Target
    metric: str
    direction: str
    optimum: float
    tables: dict
    values: list[float] = field(default_factory=list)
    error: str = ""


@dataclass
class Verdict:
    """One target against its baseline."""

    name: str
    verdict: str  # regression, unchanged, no regression, improved, error, changed, not run, written
    message: str
    base: list[float] = field(default_factory=list)
    new: list[float] = field(default_factory=list)
    p: float = math.nan
    delta: float = math.nan
    budget: int | None = None
    metric: str = ""

    @property
    def failed(self) -> bool:
        return self.verdict in ("regression", "error", "changed")


# ---- measures ------------------------------------------------------------------------------------
def regret_area(record, budget: int, worst_regret: float) -> float:
    """:data:`MEASURES` ``regret-area`` of one run record (an exact sum: the same on every machine)."""
    regrets = [abs(record.target - c) if c == c else worst_regret for c in record.incumbent_curve()[:budget]]
    regrets += [regrets[-1] if regrets else worst_regret] * (budget - len(regrets))
    return math.fsum(regrets) / budget


def evals_to_optimum(record, cap: int) -> float:
    """:data:`MEASURES` ``evals-to-optimum`` of one run record; ``cap`` + 1 where it missed the optimum."""
    n = record.evals_to(record.target)
    return float(cap + 1 if n is None else n)


# ---- settings ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Settings:
    algo: str
    targets: tuple[Target, ...]
    seeds: int
    measure: str
    suite: str | None = None


def resolve(algo: str, *, suite: str | None = None, bench: str | None = None, datasets: Sequence[str] | None = None,
            seeds: int | None = None, budget: int | None | str = "default", measure: str | None = None,
            baseline: dict | None = None) -> Settings:
    """The settings of a check: those given, else the baseline's (so that ``--baseline`` alone
    repeats what the baseline ran), else the defaults (``--suite quick``, 20 seeds, regret-area).
    ``budget``: counted evaluations, None for ``all``, ``"default"`` where not given."""
    from bench import registry

    if suite is not None and (bench is not None or datasets):
        raise BenchError("give either --suite or --bench/--dataset, not both")
    if suite is not None and suite not in SUITES:
        raise BenchError(f"--suite {suite!r} is not a suite; valid choices: {', '.join(SUITES)}")
    if datasets and bench is None:
        raise BenchError("--dataset needs --bench (the benchmark the dataset belongs to)")
    measure = measure or (baseline["measure"] if baseline else "regret-area")
    if measure not in MEASURES:
        raise BenchError(f"--measure {measure!r} is not a measure; valid choices: {', '.join(MEASURES)}")
    if budget is None and measure == "regret-area":
        raise BenchError("--budget all runs until the optimum: it goes with --measure evals-to-optimum; "
                         "regret-area needs a number of evaluations")
    if bench is not None:
        if registry.info(bench).kind != "table":
            raise BenchError(f"--bench {bench}: check runs fixed-table benchmarks only (no training), "
                             f"valid choices: {', '.join(table_benchmarks())}")
        for ds in datasets or []:
            if ds not in registry.datasets(bench):
                from bench.errors import UnknownDatasetError

                raise UnknownDatasetError(ds, registry.datasets(bench), f"for benchmark {bench!r}")
        if datasets and len(set(datasets)) != len(datasets):
            again = next(d for d in datasets if list(datasets).count(d) > 1)
            raise BenchError(f"--dataset {again!r} is given twice; each benchmark is checked once")
        listed = [Target(bench, ds, DEFAULT_BUDGET if measure == "regret-area" else None)
                  for ds in (datasets or [registry.default_dataset(bench)])]
    elif suite is not None or not baseline:
        suite = suite or "quick"
        listed = [t if measure == "regret-area" else Target(t.bench, t.dataset, None) for t in SUITES[suite]]
    else:
        suite = baseline.get("suite")
        listed = [Target(t["bench"], t["dataset"], _budget_value(t["budget"])) for t in baseline["targets"]]
    if budget != "default":
        listed = [Target(t.bench, t.dataset, budget) for t in listed]
    n = seeds if seeds is not None else len(baseline["seeds"]) if baseline else DEFAULT_SEEDS
    return Settings(algo, tuple(listed), n, measure, suite)


def table_benchmarks() -> list[str]:
    from bench import registry

    return [b for b in registry.benchmarks() if registry.info(b).kind == "table"]


def smallest_p(n: int) -> float:
    """The smallest one-sided Mann-Whitney p of ``n`` against ``n`` values (exact, no ties)."""
    return 1 / math.comb(2 * n, n)


def check_power(seeds: int, alpha: float) -> None:
    """Refuse a seed count at which no result could reach p < alpha: such a check never fails."""
    if smallest_p(seeds) >= alpha:
        need = next(n for n in range(2, 64) if smallest_p(n) < alpha)
        raise BenchError(f"--seeds {seeds}: with {seeds} against {seeds} seeds the smallest one-sided Mann-Whitney "
                         f"p is {smallest_p(seeds):.3g} >= alpha {alpha:g}, so the check could never fail; "
                         f"use --seeds >= {need}")


def _budget_value(v) -> int | None:
    return None if v == "all" else int(v)


# ---- running -------------------------------------------------------------------------------------
def prepare(settings: Settings) -> list[tuple[Result, object, float]]:
    """Open every target's table and load the algorithm before any run: (empty result, oracle,
    the table's largest regret) per target."""
    from bench import algorithms
    from bench.algorithms.multitask import is_multitask
    from bench.registry import open as open_benchmark

    out = []
    for t in settings.targets:
        if is_multitask(settings.algo, t.bench):
            raise BenchError(f"--algo {settings.algo!r} searches several tasks together; check runs single-task "
                             "algorithms")
        algorithms.get(settings.algo, t.bench)  # named error before any work
        o = open_benchmark(t.bench, t.dataset, on_missing="nan")
        metric = o.search_metric()[0]
        info = o.metric_info(metric)
        optimum = o.optimum(metric).value
        column = o.frame([metric])[metric]
        worst = float(abs(optimum - (column.min() if info.direction == "max" else column.max())))
        out.append((Result(t, metric, info.direction, optimum, o.table_digests()), o, worst))
    return out


def run_all(settings: Settings, prepared, progress: bool = True) -> list[Result]:
    """Every target and seed; a run that raises ends its target with ``error`` set (the others go on)."""
    from tqdm.auto import tqdm

    from bench.compare import Budget, run_one

    until = settings.measure == "evals-to-optimum"
    with tqdm(total=len(prepared) * settings.seeds, desc="check", unit="run", disable=not progress) as bar:
        for result, oracle, worst in prepared:
            t = result.target
            budget = Budget(t.budget, until)
            for seed in range(settings.seeds):
                bar.set_postfix_str(f"{t.name} seed {seed}")
                try:
                    rec = run_one(oracle, settings.algo, seed, budget, result.metric)
                except Exception as exc:  # the algorithm's failure is the check's result, not a crash
                    result.error = f"{settings.algo} raised {type(exc).__name__}: {exc} (seed {seed})"
                    bar.update(settings.seeds - seed)
                    break
                result.values.append(regret_area(rec, t.budget, worst) if not until
                                     else evals_to_optimum(rec, t.budget or oracle.n_arch))
                bar.update()
    return [r for r, _, _ in prepared]


# ---- baseline file -------------------------------------------------------------------------------
def versions() -> dict:
    import numpy
    import scipy

    from bench import __version__

    return {"mmnas-bench": __version__, "python": platform.python_version(), "numpy": numpy.__version__,
            "scipy": scipy.__version__}


def baseline_data(settings: Settings, results: Sequence[Result]) -> dict:
    return {
        "format": FORMAT, "format_version": FORMAT_VERSION, "algo": settings.algo, "measure": settings.measure,
        "measure_definition": MEASURES[settings.measure], "suite": settings.suite,
        "seeds": list(range(settings.seeds)), "versions": versions(),
        "targets": [{"bench": r.target.bench, "dataset": r.target.dataset,
                     "budget": "all" if r.target.budget is None else r.target.budget, "metric": r.metric,
                     "direction": r.direction, "optimum": r.optimum, "tables": r.tables,
                     "mean": math.fsum(r.values) / len(r.values), "values": r.values} for r in results],
    }


def check_writable(path: str | os.PathLike, force: bool) -> None:
    p = Path(path)
    if p.is_dir():
        raise BenchError(f"--write-baseline {str(path)!r} is a folder; name the file to write")
    if p.exists() and not force:
        raise BenchError(f"--write-baseline {str(path)!r} exists; pass --force to replace it")


def write_baseline(path: str | os.PathLike, data: dict) -> None:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    text = json.dumps(data, indent=1)  # a list of numbers on one line: one line per benchmark's values
    text = re.sub(r"\[\s*([-+0-9.eE,\s]+?)\s*\]", lambda m: "[" + ", ".join(x.strip() for x in m.group(1).split(",")) + "]",
                  text)
    tmp.write_text(text + "\n")
    os.replace(tmp, p)


def load_baseline(path: str | os.PathLike) -> dict:
    """A baseline file, its shape checked (a bad file is a bad input: exit 2)."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise BenchError(f"--baseline {str(path)!r} does not exist; write one with --write-baseline") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BenchError(f"cannot read --baseline {str(path)!r}: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BenchError(f"--baseline {str(path)!r} is not a check baseline (written by --write-baseline)")
    if data.get("format_version") != FORMAT_VERSION:
        raise BenchError(f"--baseline {str(path)!r} has format version {data.get('format_version')!r}; this "
                         f"version reads {FORMAT_VERSION}")
    try:
        missing = [k for k in ("algo", "measure", "seeds", "targets", "versions") if k not in data]
        missing += [f"targets[{i}].{k}" for i, t in enumerate(data.get("targets", []))
                    for k in ("bench", "dataset", "budget", "metric", "optimum", "tables", "values") if k not in t]
        if missing:
            raise ValueError(f"fields missing: {', '.join(missing)}")
        n = len(data["seeds"])
        for t in data["targets"]:
            if len(t["values"]) != n or not all(isinstance(v, (int, float)) for v in t["values"]):
                raise ValueError(f"{t['bench']}/{t['dataset']} holds {len(t['values'])} values for {n} seeds")
    except (TypeError, ValueError) as exc:
        raise BenchError(f"--baseline {str(path)!r} is damaged: {exc}") from None
    return data


def changes(settings: Settings, results: Sequence[Result], baseline: dict) -> list[tuple[str | None, str]]:
    """What differs from the baseline, as (target name or None for all, sentence): the tables
    (their sha256), the measure, the seeds, the benchmarks, a budget, a searched metric, an optimum."""
    out: list[tuple[str | None, str]] = []
    if settings.measure != baseline["measure"]:
        out.append((None, f"measure: baseline {baseline['measure']}, now {settings.measure}"))
    if list(range(settings.seeds)) != list(baseline["seeds"]):
        out.append((None, f"seeds: baseline {len(baseline['seeds'])}, now {settings.seeds}"))
    base = {f"{t['bench']}/{t['dataset']}": t for t in baseline["targets"]}
    now = {r.target.name: r for r in results}
    for name in base.keys() - now.keys():
        out.append((name, f"{name}: in the baseline, not checked now"))
    for name in now.keys() - base.keys():
        out.append((name, f"{name}: checked now, not in the baseline"))
    for name in [n for n in now if n in base]:
        b, r = base[name], now[name]
        for file in sorted(b["tables"].keys() | r.tables.keys()):
            old, new = b["tables"].get(file), r.tables.get(file)
            if old != new:
                out.append((name, f"{name}: table {file} changed under the baseline: sha256 "
                                  f"{(old or 'none')[:12]} (baseline) -> {(new or 'none')[:12]} (now)"))
        budget = "all" if r.target.budget is None else r.target.budget
        if b["budget"] != budget:
            out.append((name, f"{name}: budget: baseline {b['budget']}, now {budget}"))
        if b["metric"] != r.metric:
            out.append((name, f"{name}: searched metric: baseline {b['metric']}, now {r.metric}"))
        elif b["optimum"] != r.optimum:
            out.append((name, f"{name}: optimum of {r.metric}: baseline {b['optimum']!r}, now {r.optimum!r}"))
    return out


# ---- verdicts ------------------------------------------------------------------------------------
def judge(results: Sequence[Result], baseline: dict, alpha: float, min_effect: float) -> list[Verdict]:
    """Each target against the baseline: one-sided Mann-Whitney (new larger, i.e. worse) and Cliff's delta."""
    from bench.stats import format_p, mann_whitney_one_sided
    from bench.trained_report import cliffs_delta

    base = {f"{t['bench']}/{t['dataset']}": t for t in baseline["targets"]}
    out = []
    for r in results:
        name, b = r.target.name, [float(v) for v in base[r.target.name]["values"]]
        v = Verdict(name, "", "", b, list(r.values), budget=r.target.budget, metric=r.metric)
        if r.error:
            v.verdict, v.message = "error", f"{name}: {r.error}"
            out.append(v)
            continue
        v.p, v.delta = mann_whitney_one_sided(r.values, b, "greater"), cliffs_delta(r.values, b)
        better = mann_whitney_one_sided(r.values, b, "less")
        p = "no test (no differing values)" if v.p != v.p else f"one-sided Mann-Whitney p = {format_p(v.p, alpha)}"
        stat = (f"mean {_mean(r.values):.4g} vs baseline {_mean(b):.4g}, {p}, Cliff's delta {v.delta:+.2f}, "
                f"n = {len(r.values)} vs {len(b)} seeds")
        if v.p < alpha and v.delta >= min_effect:
            v.verdict = "regression"
            v.message = f"{name}: regression ({stat}; p < alpha {alpha:g} and delta >= {min_effect:g})"
        elif r.values == b:
            v.verdict = "unchanged"
            v.message = f"{name}: unchanged, identical per-seed values ({stat})"
        elif better < alpha and v.delta <= -min_effect:
            v.verdict = "improved"
            v.message = (f"{name}: improved ({stat}; one-sided p of an improvement {format_p(better, alpha)}); "
                         "write a new baseline with --write-baseline PATH --force to keep it")
        else:
            v.verdict = "no regression"
            v.message = f"{name}: no regression ({stat})"
        out.append(v)
    return out


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values) if values else math.nan


# ---- reports -------------------------------------------------------------------------------------
def junit_xml(verdicts: Sequence[Verdict], algo: str, seconds: float = 0.0) -> bytes:
    """JUnit XML: one testcase per benchmark/dataset; ``failure`` on a regression, ``error`` where the
    algorithm raised or the tables or settings changed under the baseline."""
    failures = sum(v.verdict == "regression" for v in verdicts)
    errors = sum(v.verdict in ("error", "changed") for v in verdicts)
    skipped = sum(v.verdict == "not run" for v in verdicts)
    attrs = {"name": f"mmnas-bench check {algo}", "tests": str(len(verdicts)), "failures": str(failures),
             "errors": str(errors), "skipped": str(skipped), "time": f"{seconds:.3f}"}
    root = ET.Element("testsuites", attrs)
    suite = ET.SubElement(root, "testsuite", attrs)
    for v in verdicts:
        case = ET.SubElement(suite, "testcase", {"classname": f"mmnas-bench.check.{v.name.split('/')[0]}",
                                                 "name": v.name, "time": "0"})
        if v.verdict == "regression":
            ET.SubElement(case, "failure", {"type": "regression", "message": v.message}).text = _values_text(v)
        elif v.failed:
            kind = "tables-or-settings-changed" if v.verdict == "changed" else "algorithm-error"
            ET.SubElement(case, "error", {"type": kind, "message": v.message}).text = v.message
        elif v.verdict == "not run":
            ET.SubElement(case, "skipped", {"message": v.message})
        else:
            ET.SubElement(case, "system-out").text = v.message + "\n" + _values_text(v)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _values_text(v: Verdict) -> str:
    return f"baseline: {v.base}\nnew: {v.new}"


def markdown(verdicts: Sequence[Verdict], settings: Settings, *, baseline_path: str | None, baseline: dict | None,
             alpha: float, min_effect: float, notes: Sequence[str] = ()) -> str:
    """The summary: result, settings, one table row per benchmark, notes."""
    from bench.stats import format_p

    changed = any(v.verdict == "changed" for v in verdicts)
    failed = any(v.failed for v in verdicts)
    head = ("TABLES OR SETTINGS CHANGED (exit 3)" if changed else f"FAIL (exit {REGRESSION})" if failed
            else "baseline written" if baseline is None else f"PASS (exit {PASS})")
    lines = [f"# mmnas-bench check: {head}", ""]
    against = "" if baseline is None else f" against `{baseline_path}` (written for `{baseline['algo']}`, " \
        f"mmnas-bench {baseline['versions'].get('mmnas-bench', '?')})"
    lines.append(f"Algorithm `{settings.algo}`{against}; {settings.seeds} seeds (0..{settings.seeds - 1}); "
                 f"measure `{settings.measure}`: {MEASURES[settings.measure]}; lower is better.")
    if baseline is not None:
        lines.append(f"Test per benchmark: one-sided Mann-Whitney U (new values larger than the baseline's); a "
                     f"regression needs p < {alpha:g} and Cliff's delta (new vs baseline) >= {min_effect:g}.")
    lines.append("")
    if baseline is None:
        lines += ["| benchmark | budget | metric | mean | min | max |", "|---|---|---|---|---|---|"]
        for v in verdicts:
            lines.append(f"| {v.name} | {_b(v.budget)} | {v.metric} | {_mean(v.new):.4g} | "
                         f"{min(v.new, default=math.nan):.4g} | {max(v.new, default=math.nan):.4g} |")
    else:
        lines += ["| benchmark | budget | metric | baseline mean | new mean | p (one-sided) | Cliff's delta | verdict |",
                  "|---|---|---|---|---|---|---|---|"]
        for v in verdicts:
            if v.verdict in ("changed", "error", "not run"):
                lines.append(f"| {v.name} | {_b(v.budget)} | {v.metric} | {_mean(v.base):.4g} | | | | {v.verdict} |")
                continue
            p = "-" if v.p != v.p else format_p(v.p, alpha)
            lines.append(f"| {v.name} | {_b(v.budget)} | {v.metric} | {_mean(v.base):.4g} | {_mean(v.new):.4g} | "
                         f"{p} | {v.delta:+.2f} | {v.verdict} |")
    lines.append("")
    said = dict.fromkeys(m for v in verdicts if v.failed or v.verdict == "improved"
                         for m in (v.message.split("; ") if v.verdict == "changed" else [v.message]))
    lines += [f"- {m}" for m in said]
    if any(v.verdict == "unchanged" for v in verdicts):
        lines.append("- unchanged: runs are seeded and repeat bit for bit, so an unchanged algorithm reproduces "
                     "the baseline's per-seed values exactly (Cliff's delta 0); a one-sided p of identical samples "
                     "is about 0.5, never a regression.")
    if changed:
        lines.append("- The baseline's values are not comparable with runs on these tables or settings, so nothing "
                     "was run. Once the change is intended, write a new baseline: --write-baseline PATH --force.")
    lines += [f"- {n}" for n in notes]
    return "\n".join(lines).rstrip() + "\n"


def _b(budget: int | None) -> str:
    return "all" if budget is None else str(budget)


def _write(path: str | os.PathLike | None, data: bytes | str) -> None:
    if path is None:
        return
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data) if isinstance(data, bytes) else p.write_text(data)


# ---- the command ---------------------------------------------------------------------------------
def check(algo: str, *, baseline: str | None = None, write: str | None = None, force: bool = False,
          suite: str | None = None, bench: str | None = None, datasets: Sequence[str] | None = None,
          seeds: int | None = None, budget: int | None | str = "default", measure: str | None = None,
          alpha: float = DEFAULT_ALPHA, min_effect: float = DEFAULT_MIN_EFFECT, junit: str | None = None,
          summary: str | None = None, progress: bool = True, echo: Callable[[str], None] = print) -> int:
    """Run ``algo`` and write a baseline (``write``) or test it against one (``baseline``); write the
    JUnit XML and Markdown reports; returns the exit status (:data:`PASS`, :data:`REGRESSION`,
    :data:`CHANGED`). Bad inputs raise :class:`~bench.errors.BenchError` before any run."""
    import time

    if (baseline is None) == (write is None):
        raise BenchError("give one of --baseline PATH (check against it) or --write-baseline PATH (write it)")
    if not 0 < alpha < 1:
        raise BenchError(f"--alpha must be between 0 and 1, got {alpha!r}")
    if not 0 <= min_effect <= 1:
        raise BenchError(f"--min-effect must be a Cliff's delta between 0 and 1, got {min_effect!r}")
    base = load_baseline(baseline) if baseline is not None else None
    if write is not None:
        check_writable(write, force)
    settings = resolve(algo, suite=suite, bench=bench, datasets=datasets, seeds=seeds, budget=budget,
                       measure=measure, baseline=base)
    check_power(settings.seeds, alpha)
    prepared = prepare(settings)
    notes = []
    if base is not None:
        if base["algo"] != algo:
            notes.append(f"the baseline was written for `{base['algo']}`; checked now: `{algo}`")
        now = versions()
        notes += [f"{k}: baseline {base['versions'].get(k, '?')}, now {v} (a numpy change can change random streams)"
                  if k == "numpy" else f"{k}: baseline {base['versions'].get(k, '?')}, now {v}"
                  for k, v in now.items() if base.get("versions", {}).get(k) != v]
        changed = changes(settings, [r for r, _, _ in prepared], base)
        if changed:
            verdicts = _changed_verdicts(changed, settings, prepared, base)
            text = markdown(verdicts, settings, baseline_path=baseline, baseline=base, alpha=alpha,
                            min_effect=min_effect, notes=notes)
            _write(junit, junit_xml(verdicts, algo))
            _write(summary, text)
            echo(text)
            return CHANGED
    t0 = time.perf_counter()
    results = run_all(settings, prepared, progress)
    seconds = time.perf_counter() - t0
    if base is None:
        verdicts = [Verdict(r.target.name, "error" if r.error else "written", r.error and f"{r.target.name}: {r.error}",
                            new=r.values, budget=r.target.budget, metric=r.metric) for r in results]
        if not any(v.failed for v in verdicts):
            write_baseline(write, baseline_data(settings, results))
            notes.append(f"wrote {write}: {len(results)} benchmarks x {settings.seeds} seeds")
        else:
            notes.append(f"{write} not written: the algorithm raised")
    else:
        verdicts = judge(results, base, alpha, min_effect)
    text = markdown(verdicts, settings, baseline_path=baseline, baseline=base, alpha=alpha, min_effect=min_effect,
                    notes=notes)
    _write(junit, junit_xml(verdicts, algo, seconds))
    _write(summary, text)
    echo(text)
    return REGRESSION if any(v.failed for v in verdicts) else PASS


def _changed_verdicts(changed, settings: Settings, prepared, base: dict) -> list[Verdict]:
    """One ``changed`` verdict per benchmark of the baseline or of now, naming what changed."""
    everywhere = [m for n, m in changed if n is None]
    names = [f"{t['bench']}/{t['dataset']}" for t in base["targets"]]
    names += [r.target.name for r, _, _ in prepared if r.target.name not in names]
    info = {r.target.name: r for r, _, _ in prepared}
    recorded = {f"{t['bench']}/{t['dataset']}": t for t in base["targets"]}
    out = []
    for name in names:
        mine = everywhere + [m for n, m in changed if n == name]
        r, b = info.get(name), recorded.get(name, {})
        verdict = "changed" if mine else "not run"
        message = "; ".join(mine) if mine else f"{name}: not run (the settings changed)"
        out.append(Verdict(name, verdict, message, base=b.get("values", []),
                           budget=r.target.budget if r else _budget_value(b["budget"]),
                           metric=r.metric if r else b["metric"]))
    return out
