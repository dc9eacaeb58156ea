"""Seeded comparison of search algorithms: at equal evaluations on table benchmarks
(:func:`compare`), at equal charged training seconds on trained ones (:func:`compare_trained`)."""

from __future__ import annotations

import dataclasses
import numbers
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
from tqdm.auto import tqdm

from bench import algorithms, validate
from bench.errors import InvalidArgumentError
from bench.registry import open as open_benchmark
from bench.run import Run, RunRecord


def seed_rng(seed: int, *salt: str) -> np.random.Generator:
    """Generator for one run: same (seed, salt) -> same stream, on any machine. Runs salt it with
    the algorithm's :func:`~bench.algorithms.stream_key` (not the name it is registered under) and
    the dataset."""
    return np.random.default_rng([seed, *(zlib.crc32(s.encode()) for s in salt)])


@dataclass(frozen=True)
class Budget:
    """``evals`` counted evaluations, or ``until_optimum`` (``--budget all``)."""

    evals: int | None = None
    until_optimum: bool = False

    def __post_init__(self):
        # a NaN or fractional budget would never be reached: the run would evaluate every cell
        if self.evals is not None:
            validate.whole(self.evals, "budget evals")
        validate.flag(self.until_optimum, "until_optimum")

    @classmethod
    def parse(cls, text: str | int) -> "Budget":
        if isinstance(text, str) and text.lower() == "all":
            return cls(None, True)
        if isinstance(text, str) and validate.ASCII_INT.fullmatch(text) and int(text) > 0:
            return cls(int(text), False)
        if isinstance(text, numbers.Integral) and not isinstance(text, bool) and text > 0:
            return cls(int(text), False)
        raise InvalidArgumentError(f"budget must be a positive integer or 'all', got {text!r}")


def run_one(oracle, algo: str, seed: int, budget: Budget, metric: str | None = None, **algo_kwargs) -> RunRecord:
    """One seeded run of one algorithm; returns its record. ``metric`` defaults to the
    oracle's search metric (validation accuracy where the table has it for every cell)."""
    fn = algorithms.get(algo, oracle.benchmark)
    seed, budget = validate.seed(seed), _budget(budget)
    if metric is None:
        metric = oracle.search_metric()[0]
    run = Run(oracle, metric, algo=algo, seed=seed, budget_evals=budget.evals,
              stop_at_target=budget.until_optimum, target=oracle.optimum(metric).value)
    fn(run, seed_rng(seed, algorithms.stream_key(algo, oracle.benchmark), oracle.dataset), **algo_kwargs)
    return run.finish()


def compare(benchmark: str, datasets: Sequence[str], algos: Sequence[str], seeds: Sequence[int], budget: Budget,
            metric: str | Callable[[str], str] | None = None, out_dir: str | Path | None = None,
            progress: bool = True) -> list[RunRecord]:
    """Run every (dataset, algorithm, seed); write records, CSVs and the plot to ``out_dir``.

    ``metric`` may be a function of the dataset name, for protocols that use a
    different metric per dataset; None: each dataset's :meth:`~bench.oracle.TabularOracle.search_metric`.
    """
    from bench.algorithms.multitask import is_multitask

    algos, datasets, seeds, budget = _inputs(algos, datasets, seeds, budget)
    for a in algos:
        if is_multitask(a, benchmark):
            raise InvalidArgumentError(f"{a!r} searches several tasks together: use compare_multitask")
        algorithms.get(a, benchmark)  # named error before any work
        if algorithms.needs_epochs(a):
            raise InvalidArgumentError(f"{a!r} trains models part-way, and {benchmark}'s tables hold final values only "
                                       "(the published data has no per-epoch values); it runs on trained benchmarks "
                                       "with --fidelity epochs")
    if not seeds or not datasets or not algos:
        raise InvalidArgumentError(f"nothing to compare: {len(datasets)} dataset(s), {len(algos)} algorithm(s), {len(seeds)} seed(s)")
    check_out_dir(out_dir)
    oracles, metrics = {}, {}
    for ds in datasets:  # every dataset and metric is checked before the first run
        oracles[ds] = open_benchmark(benchmark, ds, on_missing="nan")
        m = metric(ds) if callable(metric) else metric
        metrics[ds] = oracles[ds].search_metric()[0] if m is None else m
        oracles[ds].metric_info(metrics[ds])
    records: list[RunRecord] = []
    total = len(datasets) * len(algos) * len(seeds)
    with tqdm(total=total, desc=f"compare {benchmark}", unit="run", disable=not progress) as bar:
        for ds in datasets:
            oracle, m = oracles[ds], metrics[ds]
            for algo in algos:
                for seed in seeds:
                    bar.set_postfix_str(f"{ds} {algo} seed {seed}")
                    records.append(run_one(oracle, algo, seed, budget, m))
                    bar.update()
    if out_dir is not None:
        from bench import report

        report.write_all(records, Path(out_dir))
    return records


def run_trained(oracle, algo: str, seed: int, budget_seconds: float | None = None, budget_evals: int | None = None,
                settings=None, train_seed: int | None = None, eval_seeds: int = 1,
                metric: str | None = None, fidelity: str = "full") -> RunRecord:
    """One seeded search run on a trained benchmark (see :class:`bench.trained_run.TrainedRun`);
    ``train_seed``: the seed its models train with (default: ``seed`` mod the table's seeds);
    ``eval_seeds``: seeds per evaluation (the fitness is their mean, each one charged);
    ``metric``: the validation metric searched (default the oracle's ``fitness_metric``);
    ``fidelity``: ``"epochs"`` lets the algorithm train models part-way (``run.evaluate(arch, epochs=k)``)."""
    from bench import __version__
    from bench.trained_run import TrainedRun

    fn = algorithms.get(algo, oracle.benchmark)
    run = TrainedRun(oracle, algo=algo, seed=seed, budget_seconds=budget_seconds, budget_evals=budget_evals,
                     train_seed=train_seed, eval_seeds=eval_seeds, metric=metric, fidelity=fidelity)
    rng = seed_rng(seed, algorithms.stream_key(algo, oracle.benchmark), oracle.dataset)
    fn(run, rng) if settings is None else fn(run, rng, settings)
    rec = run.finish()
    if train_seed is not None:
        rec.settings["train_seed"] = train_seed
    rec.test_metric = rec.test_metric or oracle.test_metric
    rec.version = rec.version or __version__
    rec.tables = rec.tables or oracle.table_digests()
    return rec


def _budget(budget) -> "Budget":
    return budget if isinstance(budget, Budget) else Budget.parse(budget)


def _inputs(algos, datasets, seeds, budget):
    """The lists a comparison runs over, checked: a repeated algorithm, dataset or seed would be
    run and counted twice; seeds are training seeds; a budget is a :class:`Budget` (or what
    :meth:`Budget.parse` reads)."""
    for name, items in (("algos", algos), ("datasets", datasets), ("seeds", seeds)):
        if isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
            raise InvalidArgumentError(f"{name} must be a list, got {items!r}")
    algos, datasets = validate.distinct(algos, "algorithm"), validate.distinct(datasets, "dataset")
    for x in (*algos, *datasets):
        if not isinstance(x, str):
            raise InvalidArgumentError(f"algorithm and dataset names are strings, got {x!r}")
    seeds = validate.distinct([validate.seed(s) for s in seeds], "seed")
    return algos, datasets, seeds, None if budget is None else _budget(budget)


def check_out_dir(out_dir: str | Path | None) -> None:
    """Refuse an output folder that cannot be one, before any run spends time."""
    if out_dir is None:
        return
    validate.nonempty_path(out_dir, "--out")  # '' would write into the current folder
    p = Path(out_dir)
    if p.exists() and not p.is_dir():
        raise InvalidArgumentError(f"--out {str(out_dir)!r} exists and is not a folder")
    if any((p / "records").glob("*.json")):  # a later `plot` would mix the old runs with the new ones
        raise InvalidArgumentError(f"--out {str(out_dir)!r} already holds the run records of an earlier comparison; "
                         "choose a new folder (or remove its records/ first)")
    for parent in p.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InvalidArgumentError(f"--out {str(out_dir)!r}: {str(parent)!r} is a file, not a folder")
            break


def default_settings(algo: str, benchmark: str):
    """The settings object ``algo`` runs with in an equal-cost comparison on ``benchmark``, which
    ``--algo-setting`` changes: the family's :func:`~bench.algorithms.until_budget` settings where it
    has them, else the algorithm's own (a preset's ``fn.settings``, a default dataclass of its
    signature: CSG-NAS's preset, :class:`~bench.algorithms.EDFSettings`, :class:`~bench.algorithms.REASettings`);
    None for an algorithm that takes no settings (``rs``)."""
    import inspect
    import typing

    fn = algorithms.get(algo, benchmark)
    for found in (algorithms.until_budget(algo, benchmark), getattr(fn, "settings", None)):
        if dataclasses.is_dataclass(found) and not isinstance(found, type):
            return found
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return None
    for p in params:  # a preset bound as a default (CSG-NAS's: ``lambda run, rng, settings=None, _s=preset``)
        if dataclasses.is_dataclass(p.default) and not isinstance(p.default, type):
            return p.default
    for p in params[2:3]:  # fn(run, rng, settings: SomeSettings | None = None)
        tp = p.annotation
        if isinstance(tp, str):  # postponed annotations: resolved in the function's module
            try:
                tp = eval(tp, getattr(inspect.unwrap(fn), "__globals__", {}))
            except Exception:  # an annotation that does not resolve: no settings type to read
                return None
        for tp in (typing.get_args(tp) or (tp,)):
            if isinstance(tp, type) and dataclasses.is_dataclass(tp):
                try:
                    return tp()
                except TypeError:  # required fields: not constructible with defaults
                    return None
    return None


def setting_fields(settings) -> dict[str, object]:
    """The fields ``--algo-setting`` may set on a settings dataclass (name -> type): every field
    its constructor takes except the display ``label``."""
    import typing

    hints = typing.get_type_hints(type(settings))
    return {f.name: hints.get(f.name, f.type) for f in dataclasses.fields(settings) if f.init and f.name != "label"}


def _type_words(tp) -> str:
    import types
    import typing

    args = typing.get_args(tp) if typing.get_origin(tp) in (typing.Union, types.UnionType) else (tp,)
    return " or ".join("none" if a is type(None) else getattr(a, "__name__", str(a)) for a in args)


def _setting_value(where: str, raw, tp):
    """``raw`` (text from the command line, or a value) as a value of the field type ``tp``:
    int, float, bool (true/false/1/0/yes/no), str, or None (``none``) where the type allows it."""
    import math
    import types
    import typing

    args = typing.get_args(tp) if typing.get_origin(tp) in (typing.Union, types.UnionType) else (tp,)
    if not all(a in (int, float, bool, str, type(None)) for a in args):
        raise InvalidArgumentError(f"{where}: a {_type_words(tp)} setting cannot be set this way")
    if not isinstance(raw, str):
        ok = (raw is None and type(None) in args) or (isinstance(raw, bool) and bool in args) or (
            not isinstance(raw, bool) and (isinstance(raw, int) and (int in args or float in args)
                                           or isinstance(raw, float) and float in args and math.isfinite(raw)))
        if not ok:
            raise InvalidArgumentError(f"{where}: expected {_type_words(tp)}, got {raw!r}")
        return float(raw) if isinstance(raw, int) and not isinstance(raw, bool) and int not in args else raw
    text = raw.strip()
    if type(None) in args and text.lower() == "none":
        return None
    for a in args:
        if a is bool and text.lower() in ("true", "1", "yes", "on", "false", "0", "no", "off"):
            return text.lower() in ("true", "1", "yes", "on")
        if a is int and validate.ASCII_INT.fullmatch(text):
            return int(text)
        if a is float and validate.ASCII_REAL.fullmatch(text):
            return float(text)
        if a is str:
            return raw
    raise InvalidArgumentError(f"{where}: expected {_type_words(tp)}, got {raw!r}")


def parse_algo_settings(texts: Iterable[str] | None) -> dict[str, dict[str, str]]:
    """``--algo-setting ALGO.KEY=VALUE`` (repeatable) as {algo: {key: text}}; KEY follows the
    last '.' before '=', so ``package.module:function.key=1`` names ``package.module:function``."""
    out: dict[str, dict[str, str]] = {}
    for text in texts or []:
        left, eq, value = str(text).partition("=")
        algo, dot, key = left.strip().rpartition(".")
        if not eq or not dot or not algo or not key.isidentifier():
            raise InvalidArgumentError(f"--algo-setting {text!r}: expected ALGO.KEY=VALUE (e.g. csgnas.population=20)")
        if key in out.setdefault(algo, {}):
            raise InvalidArgumentError(f"--algo-setting {algo}.{key} is given twice")
        out[algo][key] = value
    return out


def resolve_settings(benchmark: str, algos: Sequence[str], given: dict | None) -> tuple[dict, dict]:
    """``(settings, values)``: per algorithm of ``algos``, the settings object it runs with in an
    equal-cost comparison (:func:`default_settings` with ``given[algo]``'s fields replaced;
    otherwise the family's :func:`~bench.algorithms.until_budget` settings, None for most), and per
    algorithm given settings, the values set (typed: text is read as the field's type). An
    algorithm not among ``algos``, one that takes no settings, an unknown field (the valid ones
    are listed), a value of the wrong type or one the settings refuse: :class:`InvalidArgumentError`."""
    settings = {a: algorithms.until_budget(a, benchmark) for a in algos}
    values: dict[str, dict] = {}
    if not given:
        return settings, values
    if not isinstance(given, dict) or not all(isinstance(v, dict) for v in given.values()):
        raise InvalidArgumentError(f"algo_settings must map an algorithm to {{setting: value}}, got {given!r}")
    for algo, kv in given.items():
        if algo not in algos:
            raise InvalidArgumentError(f"--algo-setting {algo}.{next(iter(kv), 'KEY')}: {algo!r} is not compared "
                                       f"here; algorithms: {', '.join(repr(a) for a in algos)}")
        base = default_settings(algo, benchmark)
        if base is None:
            raise InvalidArgumentError(f"--algo-setting {algo}.{next(iter(kv), 'KEY')}: {algo!r} takes no settings")
        fields = setting_fields(base)
        typed = {}
        for key, raw in kv.items():
            if key not in fields:
                raise InvalidArgumentError(f"--algo-setting {algo}.{key}: {algo!r} ({type(base).__name__}) has no setting "
                                           f"{key!r}; valid: " + ", ".join(f"{k} ({_type_words(t)})" for k, t in fields.items()))
            typed[key] = _setting_value(f"--algo-setting {algo}.{key}={raw}", raw, fields[key])
            default = getattr(base, key)
            if default is None:  # e.g. generations=None (until the budget): the class's default says what it counts
                default = next(f.default for f in dataclasses.fields(base) if f.name == key)
            if (isinstance(default, int) and not isinstance(default, bool) and default > 0
                    and isinstance(typed[key], int) and not isinstance(typed[key], bool) and typed[key] < 1):
                # a count (population, generations, k, epochs ...): 0 would search nothing, silently
                raise InvalidArgumentError(f"--algo-setting {algo}.{key}={raw}: must be >= 1 (a count; default {default})")
            if key.endswith("seed") and typed[key] is not None:
                validate.seed(typed[key], f"--algo-setting {algo}.{key}")
        try:
            settings[algo] = dataclasses.replace(base, **typed)
        except (ValueError, TypeError) as exc:  # the settings' own checks (BenchError subclasses ValueError)
            raise InvalidArgumentError(f"--algo-setting {algo}: {exc}") from None
        values[algo] = typed
    return settings, values


def compare_trained(benchmark: str, dataset: str, algos: Sequence[str], seeds: Sequence[int], budget_seconds: float,
                    overlay=None, out_dir: str | Path | None = None, progress: bool = True, eval_seeds: int = 1,
                    metric: str | None = None, algo_settings: dict | None = None, fidelity: str = "full",
                    oracle: str = "table", **options) -> list[RunRecord]:
    """Every (algorithm, seed) on one dataset of a trained benchmark at the same budget of
    charged training seconds; with ``out_dir``, runs.csv, summary.csv (Mann-Whitney against
    the first algorithm) and anytime.png against charged seconds. ``eval_seeds``: seeds per
    evaluation (:class:`bench.trained_run.TrainedRun`); ``metric``: the validation metric searched
    (default the family's fitness metric; :func:`bench.trained_run.fitness_metrics` lists the
    choices; the matching test metric is reported); ``algo_settings``: {algo: {setting: value}}
    (``compare --algo-setting``, :func:`resolve_settings`), recorded in each run's
    ``settings["algo_setting"]``. ``fidelity="epochs"``: algorithms may train models part-way,
    charged per epoch (the multi-fidelity ones, :mod:`bench.algorithms.multi_fidelity`, need it; RS
    and REA still train fully), on a dataset whose records hold validation curves. ``options`` are
    the family's own (:attr:`bench.core.family.Family.options`).
    ``oracle``: what answers (:data:`bench.registry.ORACLES`): the table, training on a miss
    (default), or the family's surrogate over the full space or the table's slice.
    Summary and plot state the charged seconds each algorithm used of the budget and how its
    runs stopped (:func:`bench.trained_report.spend_lines`)."""
    from bench.families import get as family_of
    from bench.trained_run import check_fidelity, check_fitness_metric

    family = family_of(benchmark)
    algos, _, seeds, _ = _inputs(algos, [dataset], seeds, None)
    budget_seconds = validate.finite_positive(budget_seconds, "budget_seconds")
    validate.whole(eval_seeds, "eval_seeds")
    for a in algos:
        algorithms.get(a, benchmark)  # named error before any work
        if algorithms.needs_epochs(a) and fidelity != "epochs":
            raise InvalidArgumentError(f"{a!r} trains models part-way: compare it with --fidelity epochs "
                                       "(fidelity='epochs')")
    if not seeds or not algos:
        raise InvalidArgumentError(f"nothing to compare: {len(algos)} algorithm(s), {len(seeds)} seed(s)")
    settings, given = resolve_settings(benchmark, algos, algo_settings)
    check_out_dir(out_dir)
    source = oracle
    if source == "table":
        oracle = open_benchmark(benchmark, dataset, allow_train=True, overlay=overlay, **options)
    else:
        oracle = open_benchmark(benchmark, dataset, oracle=source, overlay=overlay, **options)
    check_fidelity(oracle, fidelity, check_fitness_metric(oracle, metric))  # named errors before any work
    for a in algos:
        family.check_algorithm(a, oracle.space)  # e.g. CSG-NAS's ranking needs room for every feature
    records = []
    with tqdm(total=len(algos) * len(seeds), desc=f"compare {benchmark}/{dataset}", unit="run",
              disable=not progress) as bar:
        for algo in algos:
            for seed in seeds:
                bar.set_postfix_str(f"{algo} seed {seed}")
                rec = run_trained(oracle, algo, seed, budget_seconds=budget_seconds, settings=settings[algo],
                                  eval_seeds=eval_seeds, metric=metric, fidelity=fidelity)
                if algo in given:
                    rec.settings["algo_setting"] = dict(given[algo])
                records.append(rec)
                bar.update()
    if out_dir is not None:
        from bench import trained_report

        trained_report.write_all(records, Path(out_dir), reference=algos[0])
    return records


def compare_multitask(benchmark: str, datasets: Sequence[str], algos: Sequence[str], seeds: Sequence[int],
                      budget: Budget, metric: str | Callable[[str], str] | None = None,
                      out_dir: str | Path | None = None, progress: bool = True) -> list:
    """Every (algorithm, seed) over all ``datasets`` at once, one :class:`~bench.multitask.MultiTaskRun`
    per seed; returns the :class:`~bench.multitask.MultiTaskRecord` of each.

    The family's multi-task algorithms (``bench.families.get(benchmark).multitask_algorithms()``)
    search the tasks together; any other algorithm searches each task on its own
    (:func:`bench.algorithms.multitask.independently`), so every task gets the same budget:
    ``budget.evals`` counted evaluations per task, or until each task's optimum. Seed ``s``
    of algorithm ``a`` draws from ``seed_rng(s, a, *datasets)``, the protocol of the KTNAS
    paper tables. ``metric`` as in :func:`compare` (None: each dataset's search metric; the
    reason is kept in each record's ``settings["metrics"]``). With ``out_dir``: records/,
    runs.csv, summary.csv and anytime.png (:func:`bench.report.write_multitask`).
    """
    from bench.algorithms import multitask as mt
    from bench.families import get as family_of
    from bench.multitask import MultiTaskRun

    family = family_of(benchmark)
    if family.kind != "table":
        raise InvalidArgumentError(f"multi-task comparisons count evaluations on fixed tables; --bench {benchmark} is a "
                         f"{family.kind} benchmark")
    algos, datasets, seeds, budget = _inputs(algos, datasets, seeds, budget)
    fns = {a: mt.get(a, benchmark) for a in algos}  # named error before any work
    if not seeds or not datasets or not algos:
        raise InvalidArgumentError(f"nothing to compare: {len(datasets)} dataset(s), {len(algos)} algorithm(s), {len(seeds)} seed(s)")
    repeated = sorted({d for d in datasets if datasets.count(d) > 1})
    if repeated:
        raise InvalidArgumentError(f"a multi-task comparison takes each dataset once; {repeated[0]!r} is given twice")
    together = [a for a in algos if mt.is_multitask(a, benchmark)]
    if together and len(datasets) < 2:
        raise InvalidArgumentError(f"{together[0]!r} searches several tasks together: give at least two datasets "
                         f"(got {datasets}; valid: {', '.join(family.datasets())})")
    check_out_dir(out_dir)
    metrics, notes = {}, {}
    for ds in datasets:  # every dataset and metric is checked before the first run
        o = open_benchmark(benchmark, ds, on_missing="nan")
        m = metric(ds) if callable(metric) else metric
        metrics[ds], notes[ds] = o.search_metric() if m is None else (m, f"{benchmark}/{ds}: searched {m} (given)")
        o.metric_info(metrics[ds])
    records = []
    with tqdm(total=len(algos) * len(seeds), desc=f"compare {benchmark} (multi-task)", unit="run",
              disable=not progress) as bar:
        for algo in algos:
            settings = {"search": "together" if algo in together else "independent", "budget_evals": budget.evals,
                        "until_optimum": budget.until_optimum, "metrics": notes}
            own = getattr(fns[algo], "settings", None)  # e.g. a KTNAS preset's settings
            if dataclasses.is_dataclass(own):
                settings["algorithm"] = dataclasses.asdict(own)
            for seed in seeds:
                bar.set_postfix_str(f"{algo} seed {seed}")
                m = MultiTaskRun.open(benchmark, metrics, algo=algo, seed=seed, budget_evals=budget.evals,
                                      until_optimum=budget.until_optimum)
                fns[algo](m, seed_rng(seed, algorithms.stream_key(algo, benchmark), *datasets))
                records.append(m.finish(settings))
                bar.update()
    if out_dir is not None:
        from bench import report

        report.write_multitask(records, Path(out_dir))
    return records
