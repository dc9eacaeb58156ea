"""Multi-task runs: several tasks searched together, one :class:`Run` per task.

Each task keeps its own budget, target and trajectory; the multi-task record holds the
per-task records plus per-generation traces an algorithm wants to keep (e.g. the rank
of transferred architectures).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.errors import BenchError
from bench.registry import open as open_benchmark
from bench.run import RecordError, Run, RunRecord


@dataclass
class MultiTaskRecord:
    algo: str
    seed: int | None
    tasks: list[str]
    records: list[RunRecord]
    settings: dict = field(default_factory=dict)
    traces: dict = field(default_factory=dict)  # name -> {task: [value per generation]}

    def record(self, task: str) -> RunRecord:
        return self.records[self.tasks.index(task)]

    @property
    def total_evals(self) -> int:
        return sum(len(r.values) for r in self.records)

    def evals_to_targets(self) -> dict[str, int | None]:
        return {t: r.evals_to(r.target) for t, r in zip(self.tasks, self.records)}

    def save(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(asdict(self), separators=(",", ":")))

    @property
    def benchmark(self) -> str:
        return self.records[0].benchmark if self.records else ""

    @classmethod
    def load(cls, path: str | Path) -> "MultiTaskRecord":
        """Read a record saved by :meth:`save`; a file that is not one raises :class:`RecordError`."""
        try:
            d = json.loads(Path(path).read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RecordError(f"cannot read multi-task record {path}: {exc}") from None
        if not is_multitask_data(d):
            raise RecordError(f"{path} is not a multi-task record (fields missing)")
        try:
            d["records"] = [RunRecord(**r) for r in d["records"]]
            return cls(**d)
        except TypeError as exc:  # unknown or missing fields
            raise RecordError(f"{path} is not a multi-task record this version reads: {exc}") from None


def is_multitask_data(d) -> bool:
    """Whether parsed JSON is a saved :class:`MultiTaskRecord` (a run record has no ``tasks``)."""
    return isinstance(d, dict) and {"algo", "tasks", "records"} <= set(d) and isinstance(d["records"], list)


class MultiTaskRun:
    """One run per task over a shared search space."""

    def __init__(self, runs: dict[str, Run], algo: str = "", seed: int | None = None):
        if not runs:
            raise BenchError("a multi-task run needs at least one task")
        ids = {r.space.space_id for r in runs.values()}
        if len(ids) != 1:
            raise BenchError(f"all tasks of a multi-task run must share one search space, got {sorted(ids)}")
        self.runs = runs
        self.space = next(iter(runs.values())).space
        self.algo = algo
        self.seed = seed
        self.traces: dict[str, dict[str, list]] = {}

    @classmethod
    def open(cls, benchmark: str, tasks: dict[str, str], *, algo: str = "", seed: int | None = None,
             budget_evals: int | None = None, until_optimum: bool = False) -> "MultiTaskRun":
        """``tasks`` maps dataset -> metric; each task stops at its own budget or optimum."""
        runs = {}
        for ds, metric in tasks.items():
            o = open_benchmark(benchmark, ds, on_missing="nan")
            runs[ds] = Run(o, metric, algo=algo, seed=seed, budget_evals=budget_evals,
                           stop_at_target=until_optimum, target=o.optimum(metric).value)
        return cls(runs, algo, seed)

    @property
    def tasks(self) -> list[str]:
        return list(self.runs)

    @property
    def done(self) -> bool:
        return all(r.done for r in self.runs.values())

    @property
    def total_evals(self) -> int:
        return sum(r.n_evals for r in self.runs.values())

    def trace(self, name: str, task: str, value) -> None:
        self.traces.setdefault(name, {}).setdefault(task, []).append(value)

    def finish(self, settings: dict | None = None) -> MultiTaskRecord:
        records = [r.finish() for r in self.runs.values()]
        return MultiTaskRecord(self.algo, self.seed, self.tasks, records, dict(settings or {}), self.traces)
