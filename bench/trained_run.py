"""Runs on a trained benchmark (table -> overlay -> trainer): the one path by which a search queries it.

A :class:`TrainedRun` is the counterpart of :class:`bench.run.Run` for families of kind
``"trained"`` (:mod:`bench.core.family`). Fitness is the oracle's ``fitness_metric``
(validation accuracy), or another of its validation metrics given as ``metric`` (e.g. RMNAS's
``val_auilc_mae``; :func:`fitness_metrics` lists them); the matching test metric of each
evaluation (``val_X`` -> ``test_X``, :func:`test_metric_of`) is kept for reporting only.
Every distinct architecture is evaluated once per run - from scratch, or fine-tuned from
a parent's weights when the algorithm asks (CSG-NAS's knowledge inheritance) - and is
charged deterministic training seconds (the oracle's ``charged_seconds``: the shipped
table's recorded time for its rows, a cost model of the recipe for every other model),
so a budget buys the same evaluations on every machine and whether or not misses had to
be trained. ``record.sim_seconds`` holds the charged seconds (cumulative),
``record.eval_wall_seconds`` each evaluation's measured wall time on this machine and
``record.wall_seconds`` the run's. Runs stop at a budget of charged training seconds or
of evaluations. Work that is not an evaluation (a one-shot search's supernet training) is
charged with :meth:`TrainedRun.charge`.

The oracle provides ``space``, ``dataset``, ``benchmark``, ``n_seeds``, ``fitness_metric``,
``test_metric``, ``metric_info``, ``keyed_result(arch, seed, allow_train)``,
``inherited_result(arch, seed, parent_key, allow_train)`` and ``charged_seconds(key)``.

Training seed: a run with seed ``s`` trains with seed ``s mod n`` where ``n`` is the
number of seeds the shipped table holds (3), so that table rows answer its queries.

Epoch fidelity: a run opened with ``fidelity="epochs"`` may ask ``evaluate(arch, epochs=k)``: the
validation value after k epochs, read from the per-epoch curve the records hold (the oracle's
:class:`~bench.core.trained_oracle.Curve`), charged k / E of the model's seconds where E is the
epochs it trained (fewer than the recipe's after an early stop); asking again for more epochs of
the same architecture resumes it and charges only the extra ones. A partial training is recorded
(``record.epochs``, ``record.partial``) with no test value and is never the incumbent; the
training that reaches its end is the architecture's full evaluation, as at full fidelity.

Evaluation seeds: with ``eval_seeds=k`` an evaluation trains the architecture with k seeds
(the run's training seed and the next k - 1, modulo the table's seeds by default), its fitness
and test value are the k-seed means, and it is charged all k trainings. A table whose single
seeds are too noisy to rank architectures may rank them by k-seed means (the quality gate,
:mod:`bench.core.quality`, gives the reliability of each).
"""

from __future__ import annotations

import math
import time
from typing import Any

from bench import validate
from bench.errors import BudgetExhausted, InvalidArgumentError
from bench.run import BudgetedRun, RunRecord


def fitness_metrics(oracle) -> list[str]:
    """The metrics a run on ``oracle`` can search: its validation metrics (``val_*``) that have a
    test metric to report (``test_*`` of the same name), the oracle's ``fitness_metric`` first."""
    names = oracle.metrics
    out = [m for m in names if m.startswith("val_") and "test_" + m[4:] in names]
    return sorted(out, key=lambda m: m != oracle.fitness_metric)


def test_metric_of(oracle, metric: str | None = None) -> str:
    """The test metric reported for a search of ``metric`` (None: the oracle's fitness metric):
    the oracle's ``test_metric`` for its own fitness, else ``test_X`` for ``val_X``."""
    if metric is None or metric == oracle.fitness_metric:
        return oracle.test_metric
    return "test_" + metric.removeprefix("val_")


def check_fitness_metric(oracle, metric: str | None, recorded=None, label: str = "metric") -> str:
    """``metric`` if a run on ``oracle`` can search it (None: the oracle's ``fitness_metric``);
    else :class:`InvalidArgumentError` naming the valid choices (a test metric is reported, never
    searched: searching it would select on the held-out data). ``recorded``: the metrics the
    dataset's records hold where known (its shipped table's), which narrow the choices;
    ``label`` names the value in the message (the CLI: ``--metric``)."""
    if metric is None:
        return oracle.fitness_metric
    valid = [m for m in fitness_metrics(oracle) if recorded is None or m in recorded]
    if metric not in valid:
        known = isinstance(metric, str) and metric in oracle.metrics
        why = ("is a test metric (reported, never searched)" if known and metric.startswith("test_")
               else "is not recorded for this dataset" if metric in fitness_metrics(oracle)
               else "is not a validation metric" if known else "is not a metric")
        raise InvalidArgumentError(f"{label} {metric!r} {why}; valid choices for {oracle.benchmark}/{oracle.dataset}: "
                                   + ", ".join(repr(m) for m in valid))
    return metric


class TrainedRun(BudgetedRun):
    def __init__(self, oracle, *, algo: str = "", seed: int = 0, budget_seconds: float | None = None,
                 budget_evals: int | None = None, settings: dict | None = None, train_seed: int | None = None,
                 eval_seeds: int = 1, metric: str | None = None, fidelity: str = "full"):
        if budget_seconds is not None:
            budget_seconds = validate.finite_positive(budget_seconds, "budget_seconds")
        if budget_evals is not None:
            budget_evals = validate.whole(budget_evals, "budget_evals")
        eval_seeds = validate.whole(eval_seeds, "eval_seeds")
        seed = validate.seed(seed)
        if train_seed is not None:
            train_seed = validate.seed(train_seed, "train_seed")
        self.oracle = oracle
        self.space = oracle.space
        # by default the run's models are the table's seeds (seed mod n_seeds: lookups); a given
        # train_seed makes runs independent replicates of training too (seeds past the table train)
        self.train_seed = seed % max(1, oracle.n_seeds) if train_seed is None else int(train_seed)
        self.eval_seeds = eval_seeds
        # the seeds of one evaluation: the table's (wrapping) by default, consecutive when given
        self._eval_seeds = ([(self.train_seed + i) % max(1, oracle.n_seeds) for i in range(eval_seeds)]
                            if train_seed is None else [self.train_seed + i for i in range(eval_seeds)])
        if len(set(self._eval_seeds)) < eval_seeds:
            raise InvalidArgumentError(f"eval_seeds={eval_seeds}: the table holds {oracle.n_seeds} seeds; pass "
                                       "train_seed to train seeds beyond it")
        fitness = check_fitness_metric(oracle, metric)
        self.fidelity = check_fidelity(oracle, fidelity, fitness)
        self.test_metric = test_metric_of(oracle, fitness)
        self.record = RunRecord(oracle.benchmark, oracle.dataset, fitness, oracle.metric_info(fitness).direction, algo,
                                seed, budget_evals, budget_seconds, None, dict(settings or {}))
        self.record.test_metric = self.test_metric
        if eval_seeds > 1:
            self.record.settings["eval_seeds"] = eval_seeds
        if self.fidelity != "full":
            self.record.settings["fidelity"] = self.fidelity
        self._seen: dict[str, tuple[float, str]] = {}  # arch -> (fitness, record key of its model)
        self._partial: dict[str, tuple[int, list]] = {}  # arch -> (epochs charged, its models' (key, record))
        self._sim = 0.0
        self._t0 = time.perf_counter()

    def _stop_reason(self) -> str:
        base = super()._stop_reason()
        if base:
            return base
        if self.space.size is not None and self.n_evals >= self.space.size:  # full evaluations
            return "space_exhausted"
        return ""

    def seen(self, arch: Any) -> bool:
        return self.oracle.space.encode(arch) in self._seen

    def fitness(self, arch: Any) -> float:
        """Fitness of an architecture this run has evaluated."""
        return self._seen[self.oracle.space.encode(arch)][0]

    def charge(self, seconds: float, what: str) -> None:
        """Charge ``seconds`` of search work that is not an evaluation (e.g. a supernet's
        training, from a deterministic cost model, never wall time).

        The seconds count against the budget and every later evaluation's ``sim_seconds``
        includes them, so anytime curves start after the work; each charge is listed in
        ``record.settings["charges"]`` (what, seconds, evaluations before it, cumulative
        charged seconds after it). Like :meth:`evaluate`, refused once the run is done.
        """
        seconds = float(seconds)
        if not (math.isfinite(seconds) and seconds >= 0):
            raise ValueError(f"charge({what!r}): seconds must be a finite number >= 0, got {seconds!r}")
        if self.done:
            raise BudgetExhausted(f"run {self.record.algo!r} seed {self.record.seed} is finished "
                                  f"({self._stop_reason()}); cannot charge {what!r}")
        self._sim += seconds
        self.record.settings.setdefault("charges", []).append(
            {"what": str(what), "seconds": seconds, "after_evals": self.n_evals, "sim_seconds": self._sim})

    @property
    def max_epochs(self) -> int:
        """Epochs of a full training (the recipe's); an epoch-fidelity run asks for 1..max_epochs."""
        if self.fidelity != "epochs":
            raise InvalidArgumentError(f"run {self.record.algo!r} evaluates full trainings only (fidelity "
                                       f"{self.fidelity!r}); open it with fidelity='epochs' (compare --fidelity epochs)")
        return self.oracle.curve.epochs

    def trained_epochs(self, arch: Any) -> int:
        """Epochs this run has trained ``arch`` for so far (0: never; :attr:`max_epochs` or its early
        stop: fully)."""
        key = self.oracle.space.encode(arch)
        if key in self._seen:
            return self.oracle.curve.epochs if self.fidelity == "epochs" else 0
        return self._partial.get(key, (0, None))[0]

    def evaluate(self, arch: Any, inherit_from: Any = None, epochs: int | None = None) -> float:
        """Validation value of ``arch`` (the searched metric); counted and charged once per distinct
        architecture.

        ``inherit_from``: an architecture this run evaluated earlier; ``arch`` then starts
        from its trained weights on every shared sub-tree and is fine-tuned.
        ``epochs``: in a run at epoch fidelity, the value after that many epochs (see the module).
        """
        if epochs is not None:
            return self._evaluate_epochs(arch, epochs, inherit_from)
        key = self.oracle.space.encode(arch)
        r = self.record
        r.n_queries += 1
        if key in self._seen:
            return self._seen[key][0]
        if self.done:
            raise BudgetExhausted(f"run {r.algo!r} seed {r.seed} is finished ({self._stop_reason()}); no further evaluations")
        if key in self._partial:  # a model trained part-way: the rest of its epochs
            return self._evaluate_epochs(arch, self.oracle.curve.epochs, None, counted=True)
        t0 = time.perf_counter()
        if inherit_from is None:
            got = [self.oracle.keyed_result(key, s, True) for s in self._eval_seeds]
            parent = ""
        else:
            parent = self.oracle.space.encode(inherit_from)
            if parent not in self._seen:
                raise ValueError(f"inherit_from {parent!r} has not been evaluated in this run")
            if self.eval_seeds > 1:
                raise ValueError("weight inheritance fine-tunes one parent model: it needs eval_seeds=1")
            got = [self.oracle.inherited_result(key, self.train_seed, self._seen[parent][1], True)]
        model_key, rec = got[0]
        lacking = next((m for m in (r.metric, self.test_metric) for _, g in got if m not in g), None)
        if lacking is not None:  # e.g. a sentence-level metric asked of a dialogue-level record
            raise InvalidArgumentError(f"{r.benchmark}/{r.dataset}: its records have no {lacking!r}; search one of "
                                       "the metrics they hold (the family's fitness metric: "
                                       f"{self.oracle.fitness_metric!r})")
        value = float(rec[r.metric]) if len(got) == 1 else float(sum(float(g[r.metric]) for _, g in got) / len(got))
        test = (float(rec[self.test_metric]) if len(got) == 1
                else float(sum(float(g[self.test_metric]) for _, g in got) / len(got)))
        self._seen[key] = (value, model_key)
        for k, _ in got:
            self._sim += float(self.oracle.charged_seconds(k))
        self._append(key, value, test, rec, parent, t0)
        return value

    def _append(self, key: str, value: float, test: float, rec: dict, parent: str, t0: float,
                epochs: int | None = None) -> None:
        r = self.record
        r.archs.append(key)
        r.values.append(value)
        r.test_values.append(test)
        r.params.append(int(rec.get("params", 0)))
        r.parents.append(parent)
        r.evals.append(self.n_evals)
        r.sim_seconds.append(self._sim)
        r.eval_wall_seconds.append(time.perf_counter() - t0)
        if self.fidelity == "epochs":
            r.epochs.append(self.oracle.curve.epochs if epochs is None else int(epochs))
            r.partial.append(key not in self._seen)

    def _evaluate_epochs(self, arch: Any, epochs: int, inherit_from: Any, counted: bool = False) -> float:
        """``evaluate(arch, epochs=k)``: the value after k epochs, charged the epochs not charged before."""
        curve = self.oracle.curve
        if self.fidelity != "epochs":
            self.max_epochs  # the named error
        if inherit_from is not None:
            raise InvalidArgumentError("epochs= trains from scratch: a fine-tuned model (inherit_from) has no "
                                       "epoch fidelity")
        epochs = validate.whole(epochs, "epochs")
        if epochs > curve.epochs:
            raise InvalidArgumentError(f"epochs={epochs}: a full training is {curve.epochs} epochs on "
                                       f"{self.oracle.benchmark}/{self.oracle.dataset}")
        key = self.oracle.space.encode(arch)
        r = self.record
        if not counted:
            r.n_queries += 1
        if key in self._seen:
            return self._seen[key][0]
        done_epochs, got = self._partial.get(key, (0, None))
        if got is not None and epochs <= done_epochs:  # already trained that far: no charge, no new entry
            return self._value_at(got, epochs)
        if self.done:
            raise BudgetExhausted(f"run {r.algo!r} seed {r.seed} is finished ({self._stop_reason()}); no further evaluations")
        t0 = time.perf_counter()
        if got is None:
            got = [self.oracle.keyed_result(key, s, True) for s in self._eval_seeds]
        trained = [curve.trained_epochs(g) for _, g in got]
        for (k, _), n in zip(got, trained):  # each seed's model: the share of its seconds for the epochs not charged yet
            if n:
                self._sim += float(self.oracle.charged_seconds(k)) * (min(epochs, n) - min(done_epochs, n)) / n
        complete = all(epochs >= n for n in trained)
        rec = got[0][1]
        if complete:  # its full training: the record's own values, as at full fidelity
            value = sum(float(g[r.metric]) for _, g in got) / len(got)
            test = sum(float(g[self.test_metric]) for _, g in got) / len(got)
            self._seen[key] = (value, got[0][0])
            self._partial.pop(key, None)
        else:
            value, test = self._value_at(got, epochs), math.nan
            self._partial[key] = (epochs, got)
        self._append(key, value, test, rec, "", t0, epochs)
        return value

    def _value_at(self, got: list, epochs: int) -> float:
        direction = self.record.direction
        return sum(self.oracle.curve.at(g, epochs, direction) for _, g in got) / len(got)


def check_fidelity(oracle, fidelity: str, metric: str) -> str:
    """``fidelity`` if a run on ``oracle`` searching ``metric`` can use it: ``"full"`` always,
    ``"epochs"`` where the records hold a per-epoch curve of ``metric``; else a named error."""
    if fidelity not in FIDELITIES:
        raise InvalidArgumentError(f"fidelity must be one of {', '.join(map(repr, FIDELITIES))}, got {fidelity!r}")
    if fidelity == "epochs":
        curve = getattr(oracle, "curve", None)
        if curve is None:
            raise InvalidArgumentError(f"{oracle.benchmark}/{oracle.dataset}: its records hold no per-epoch curve, so "
                                       "there is no epoch fidelity")
        if curve.metric != metric:
            raise InvalidArgumentError(f"{oracle.benchmark}/{oracle.dataset}: the per-epoch curve is of "
                                       f"{curve.metric!r}; an epoch fidelity cannot search {metric!r}")
    return fidelity


#: what a run may be asked at: full trainings, or a number of epochs (:meth:`TrainedRun.evaluate`)
FIDELITIES = ("full", "epochs")


def best_test(record: RunRecord) -> float:
    """Test value of the run's incumbent (chosen on the fitness metric)."""
    i = record.best_index
    return record.test_values[i] if i >= 0 else math.nan
