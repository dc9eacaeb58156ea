"""Runs: the one path by which a search algorithm queries an oracle.

A :class:`Run` counts distinct evaluations (a repeated architecture is answered from
the run's memory and not counted again), keeps the incumbent and the trajectory,
stops at an evaluation budget, a simulated-time budget or a target value, and
saves a :class:`RunRecord` that can be compared and re-plotted later.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from bench import validate
from bench.errors import BenchError, BudgetExhausted
from bench.oracle import TabularOracle

#: safety stop for algorithms that keep proposing seen architectures
DEFAULT_MAX_QUERIES = 2_000_000

#: how a run ended (:attr:`RunRecord.stop_reason`), in words
STOPPED = {"budget_seconds": "at the cap", "algorithm_stopped": "at the end of its own schedule",
           "space_exhausted": "after every architecture of its space"}
#: stop reasons that mean the run spent its budget (the rest ended first)
AT_BUDGET = ("budget_seconds", "budget_evals")


def how_stopped(reasons) -> str:
    """How runs ended, from their :attr:`RunRecord.stop_reason` (records or the reasons themselves),
    in words with counts: ``at the cap (3 of 5 runs); at the end of its own schedule (2 of 5 runs)``."""
    ends = [STOPPED.get(r, r) for r in (getattr(x, "stop_reason", x) for x in reasons)]
    return "; ".join(f"{e} ({ends.count(e)} of {len(ends)} runs)" for e in dict.fromkeys(ends))


class RecordError(BenchError, ValueError):
    """A file that is not a readable run record."""


@dataclass
class RunRecord:
    """Everything needed to compare and re-plot a finished run (plain data)."""

    benchmark: str
    dataset: str
    metric: str
    direction: str
    algo: str
    seed: int | None
    budget_evals: int | None
    budget_seconds: float | None
    target: float | None
    settings: dict = field(default_factory=dict)
    # one entry per counted evaluation
    archs: list[str] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    evals: list[int] = field(default_factory=list)
    sim_seconds: list[float] = field(default_factory=list)
    # runs on trained benchmarks (bench.trained_run): per evaluation, test value, parameter count and
    # the parent whose weights it inherited ("" when trained from scratch)
    test_values: list[float] = field(default_factory=list)
    params: list[int] = field(default_factory=list)
    parents: list[str] = field(default_factory=list)
    # runs on trained benchmarks: measured wall seconds of each evaluation on this machine (a lookup
    # costs microseconds, a model trained now its training time); ``sim_seconds`` is what
    # the run was charged, the same everywhere
    eval_wall_seconds: list[float] = field(default_factory=list)
    # runs at an epoch fidelity (``TrainedRun(fidelity="epochs")``): per evaluation, the epochs its
    # model had trained, and whether that training was cut short (a partial one is never an incumbent:
    # its value is not the architecture's result); empty for full-fidelity runs
    epochs: list[int] = field(default_factory=list)
    partial: list[bool] = field(default_factory=list)
    n_queries: int = 0
    wall_seconds: float = 0.0
    stop_reason: str = ""
    # provenance (absent from records saved before they existed: the defaults)
    test_metric: str | None = None  # what test_values hold
    version: str = ""  # bench.__version__ of the code that made the run
    tables: dict = field(default_factory=dict)  # {table file name: sha256} of every table read

    @property
    def sign(self) -> float:
        return 1.0 if self.direction == "max" else -1.0

    def _candidates(self) -> list[float]:
        """``values`` with partial trainings' values as NaN: what an incumbent is chosen from."""
        if not any(self.partial):
            return self.values
        return [math.nan if p else v for v, p in zip(self.values, self.partial)]

    def incumbent_curve(self) -> list[float]:
        """Best value so far after each counted evaluation (NaN, and a partial training, count as worst)."""
        out, best = [], -math.inf
        for v in self._candidates():
            s = self.sign * v if v == v else -math.inf
            best = max(best, s)
            out.append(self.sign * best if best > -math.inf else math.nan)
        return out

    @property
    def best_value(self) -> float:
        curve = self.incumbent_curve()
        return curve[-1] if curve else math.nan

    @property
    def best_arch(self) -> str | None:
        i = self.best_index
        return self.archs[i] if i >= 0 else None

    def _incumbent_index(self) -> list[int]:
        out, best, at = [], -math.inf, -1
        for i, v in enumerate(self._candidates()):
            if v == v and self.sign * v > best:
                best, at = self.sign * v, i
            out.append(at)
        return out

    def incumbent_test_curve(self) -> list[float]:
        """Test value of the incumbent (chosen on ``values``) after each evaluation."""
        return [self.test_values[i] if i >= 0 else math.nan for i in self._incumbent_index()]

    @property
    def best_index(self) -> int:
        """Position of the incumbent among the evaluations (-1 if none)."""
        idx = self._incumbent_index()
        return idx[-1] if idx else -1

    def evals_to(self, target: float) -> int | None:
        """Counted evaluations until the incumbent first reached ``target`` (None if never)."""
        for n, v in zip(self.evals, self._candidates()):
            if v == v and self.sign * v >= self.sign * target:
                return n
        return None

    def save(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(asdict(self), separators=(",", ":")))

    @property
    def best_test(self) -> float:
        """Test value of the incumbent (chosen on ``values``); NaN when none was recorded."""
        i = self.best_index
        return self.test_values[i] if 0 <= i < len(self.test_values) else math.nan

    @classmethod
    def load(cls, path: str | Path) -> "RunRecord":
        """Read a record saved by :meth:`save`, by this or an earlier version."""
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RecordError(f"cannot read run record {path}: {exc}") from None
        known = {f.name for f in fields(cls)}
        if not isinstance(data, dict) or not {f.name for f in fields(cls) if f.default is MISSING
                                              and f.default_factory is MISSING} <= set(data):
            raise RecordError(f"{path} is not a run record (fields missing)")
        unknown = sorted(set(data) - known)
        if unknown:
            raise RecordError(f"{path} has fields this version does not know: {unknown}; it was written by "
                              f"version {data.get('version') or '?'}")
        return cls(**data)


class BudgetedRun:
    """What every run shares: distinct evaluations in ``_seen``, spent seconds in ``_sim``,
    a ``record`` with the budgets, and the stop test (``_stop_reason``, extended by subclasses)."""

    _seen: dict
    _sim: float
    record: RunRecord

    @property
    def n_evals(self) -> int:
        return len(self._seen)

    @property
    def sim_seconds(self) -> float:
        """Seconds charged so far (simulated or training seconds)."""
        return self._sim

    @property
    def done(self) -> bool:
        return self._stop_reason() != ""

    def _stop_reason(self) -> str:
        r = self.record
        if r.budget_evals is not None and len(self._seen) >= r.budget_evals:
            return "budget_evals"
        if r.budget_seconds is not None and self._sim >= r.budget_seconds:
            return "budget_seconds"
        return ""

    def finish(self) -> RunRecord:
        """Close the run: wall time and stop reason go into the record."""
        self.record.wall_seconds = time.perf_counter() - self._t0
        self.record.stop_reason = self._stop_reason() or "algorithm_stopped"
        return self.record


class Run(BudgetedRun):
    """Budgeted, counted access to an oracle for one search run.

    ``metric`` defaults to :meth:`TabularOracle.search_metric` (validation accuracy where
    the table has it for every architecture). The oracle's test metric is recorded beside
    each evaluation (``test_values``) for reporting only.
    ``cost_metric`` names a table column in seconds charged per evaluation (e.g.
    train seconds); otherwise each evaluation costs ``seconds_per_eval``.
    With ``stop_at_target`` the run ends when the incumbent reaches ``target``.
    """

    def __init__(self, oracle: TabularOracle, metric: str | None = None, *, algo: str = "", seed: int | None = None,
                 budget_evals: int | None = None, budget_seconds: float | None = None,
                 cost_metric: str | None = None, seconds_per_eval: float = 0.0,
                 target: float | None = None, stop_at_target: bool = False,
                 max_queries: int = DEFAULT_MAX_QUERIES, settings: dict | None = None):
        # NaN budgets compare False with everything: the run would evaluate the whole space
        if budget_evals is not None:
            budget_evals = validate.whole(budget_evals, "budget_evals")
        if budget_seconds is not None:
            budget_seconds = validate.finite_positive(budget_seconds, "budget_seconds")
        seconds_per_eval = validate.real(seconds_per_eval, "seconds_per_eval", strict=False)
        max_queries = validate.whole(max_queries, "max_queries")
        validate.flag(stop_at_target, "stop_at_target")
        if target is not None:
            target = validate.real(target, "target", -math.inf)
        if seed is not None:
            seed = validate.seed(seed)
        self.oracle = oracle
        self.space = oracle.space
        self.metric = oracle.search_metric()[0] if metric is None else metric
        info = oracle.metric_info(self.metric)
        self.test_metric = getattr(oracle, "test_metric", None)
        if cost_metric is not None:
            oracle.metric_info(cost_metric)  # named error if unknown
        if stop_at_target and target is None:
            target = oracle.optimum(self.metric).value
        self.cost_metric = cost_metric
        self.seconds_per_eval = seconds_per_eval
        self.stop_at_target = stop_at_target
        self.max_queries = max_queries
        self._sign = 1.0 if info.direction == "max" else -1.0
        self._seen: dict[str, float] = {}
        self._best = -math.inf
        self._sim = 0.0
        self._t0 = time.perf_counter()
        self.record = RunRecord(oracle.benchmark, oracle.dataset, self.metric, info.direction, algo, seed,
                                budget_evals, budget_seconds, target, dict(settings or {}),
                                test_metric=self.test_metric, version=_version(),
                                tables=getattr(oracle, "table_digests", dict)())
        self.incumbent: tuple[str, float] | None = None

    # ---- state -------------------------------------------------------------------
    def _stop_reason(self) -> str:
        r = self.record
        base = super()._stop_reason()
        if base:
            return base
        if self.stop_at_target and self._best >= self._sign * r.target:
            return "target"
        if self.space.size is not None and len(self._seen) >= self.oracle.n_arch:
            return "space_exhausted"
        if r.n_queries >= self.max_queries:
            return "max_queries"
        return ""

    def seen(self, arch: Any) -> bool:
        return self._key(arch) in self._seen

    def _key(self, arch: Any) -> str:
        return arch if type(arch) is str else self.space.encode(arch)

    # ---- the one query path --------------------------------------------------------
    def evaluate(self, arch: Any) -> float:
        """Value of ``arch``; counted once per distinct architecture."""
        key = self._key(arch)
        r = self.record
        v = self._seen.get(key)
        if v is not None:
            r.n_queries += 1
            return v
        if self.done:
            raise BudgetExhausted(f"run {r.algo!r} seed {r.seed} is finished ({self._stop_reason()}); no further evaluations")
        r.n_queries += 1
        v = self.oracle.query(key, self.metric, on_missing="nan")
        self._seen[key] = v
        self._sim += self.seconds_per_eval if self.cost_metric is None else self.oracle.query(key, self.cost_metric, on_missing="nan")
        s = self._sign * v if v == v else -math.inf  # a missing value ranks last
        if s > self._best:
            self._best = s
            self.incumbent = (key, v)
        r.archs.append(key)
        r.values.append(v)
        if self.test_metric is not None:
            r.test_values.append(v if self.test_metric == self.metric
                                 else self.oracle.query(key, self.test_metric, on_missing="nan"))
        r.evals.append(len(self._seen))
        r.sim_seconds.append(self._sim)
        return v


def _version() -> str:
    from bench import __version__

    return __version__
