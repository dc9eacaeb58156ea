"""The generic fill (bench.core.fill) over a tiny numpy trainer that no family knows."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest

from bench.core.fill import fill
from bench.core.trainer import Trainer
from bench.errors import BenchError
from bench.overlay import Overlay

TESTS = Path(__file__).resolve().parent
DATA_DIM = 16


def _data(dataset: str) -> np.ndarray:
    """The fake trainer's "store": a vector fixed by the dataset's name."""
    return np.random.default_rng(zlib.crc32(dataset.encode())).standard_normal(DATA_DIM)


@dataclass
class FakeTrainer:
    """Architectures are ``"<group>:<name>"``; a model's score is a seeded numpy product.

    ``log``: a file each trained job is appended to (``pid arch seed``), so tests see who
    trained what, across processes. ``data`` is loaded only by :meth:`for_worker`, and
    :meth:`train_batch` refuses without it: workers must get the worker trainer.
    """

    benchmark: str = "fake"
    recipe_key: str = "r1"
    shipped: tuple[tuple[str, int], ...] = ()
    delay: float = 0.0  # seconds per job
    log: str | None = None
    data: np.ndarray | None = None

    def key(self, dataset, arch, seed):
        return f"{dataset}|{arch}|seed={seed}|recipe={self.recipe_key}"

    def shipped_keys(self, dataset):
        return {self.key(dataset, a, s) for a, s in self.shipped}

    def group_key(self, dataset, arch):
        return arch.split(":")[0]

    def store_sha256(self, dataset):
        return hashlib.sha256(_data(dataset).tobytes()).hexdigest()

    def train_batch(self, dataset, jobs):
        if self.data is None:
            raise RuntimeError("train_batch called on a trainer that for_worker did not make")
        groups = {self.group_key(dataset, a) for a, _ in jobs}
        if len(groups) != 1:
            raise RuntimeError(f"one batch mixes groups {groups}")
        time.sleep(self.delay * len(jobs))
        if self.log:
            with open(self.log, "a") as f:
                f.write("".join(f"{os.getpid()} {a} {s}\n" for a, s in jobs))
        recs = []
        for a, s in jobs:
            w = np.random.default_rng([zlib.crc32(a.encode()), s]).standard_normal(DATA_DIM)
            recs.append({"score": float(self.data @ w), "batch": [a for a, _ in jobs], "pid": os.getpid(),
                         "store_sha256": self.store_sha256(dataset), "numerics": {"fake": True},
                         "timing": f"batched/{len(jobs)}"})
        return recs

    def for_worker(self, dataset):
        return replace(self, data=_data(dataset))


def _archs(groups: dict[str, int]) -> list[str]:
    return [f"{g}:{i}" for g, n in groups.items() for i in range(n)]


def _trained(log: Path) -> list[tuple[int, str, int]]:
    if not log.exists():
        return []
    return [(int(p), a, int(s)) for p, a, s in (line.split() for line in log.read_text().splitlines())]


def _scores(path) -> dict[str, float]:
    ov = Overlay(path)
    try:
        return {k: ov.get(k)["score"] for k in ov.keys()}
    finally:
        ov.close()


def _claims(path) -> int:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT COUNT(*) FROM claims").fetchone()[0]


def test_the_fake_trainer_implements_the_protocol():
    assert isinstance(FakeTrainer(), Trainer)
    assert not isinstance(object(), Trainer)


def test_fill_skips_pairs_of_the_table_and_of_the_overlay_and_retrains_foreign_records(tmp_path):
    ds, archs = "d1", _archs({"a": 3, "b": 1})
    t = FakeTrainer(shipped=(("a:0", 0), ("b:0", 1)), log=str(tmp_path / "log"))
    path = tmp_path / "ov.sqlite"
    ov = Overlay(path)
    good = {"score": 1.0, "store_sha256": t.store_sha256(ds), "numerics": {}, "timing": "x"}
    ov.put(t.key(ds, "a:1", 0), ds, "a:1", 0, t.recipe_key, good)
    ov.put(t.key(ds, "a:1", 1), ds, "a:1", 1, t.recipe_key, {**good, "store_sha256": "made on other data"})
    ov.close()

    rep = fill(t, ds, archs, 2, overlay=str(path), progress=False)
    assert (rep.total, rep.in_table, rep.already, rep.trained, rep.elsewhere) == (8, 2, 1, 5, 0)
    trained = {(a, s) for _, a, s in _trained(tmp_path / "log")}
    assert trained == {(a, s) for a in archs for s in range(2)} - {("a:0", 0), ("b:0", 1), ("a:1", 0)}
    scores = _scores(path)
    assert len(scores) == 6 and scores[t.key(ds, "a:1", 0)] == 1.0  # the good record is kept, not retrained
    assert t.key(ds, "a:1", 1) in scores and scores[t.key(ds, "a:1", 1)] != 1.0  # the foreign one replaced

    again = fill(t, ds, archs, 2, overlay=str(path), progress=False)
    assert (again.already, again.trained) == (6, 0)
    full = fill(t, ds, archs, 2, overlay=str(tmp_path / "all.sqlite"), progress=False, skip_table=False)
    assert (full.in_table, full.trained) == (0, 8)
    assert _claims(path) == 0


def test_a_recipe_key_of_its_own_trains_again(tmp_path):
    path = str(tmp_path / "ov.sqlite")
    archs = _archs({"a": 2})
    assert fill(FakeTrainer(), "d1", archs, 1, overlay=path, progress=False).trained == 2
    assert fill(FakeTrainer(recipe_key="r2"), "d1", archs, 1, overlay=path, progress=False).trained == 2
    assert fill(FakeTrainer(), "d2", archs, 1, overlay=path, progress=False).trained == 2  # another dataset
    assert len(_scores(path)) == 6


def test_jobs_are_batched_by_group_key_in_chunks_of_at_most_batch(tmp_path):
    archs = _archs({"a": 5, "b": 2, "c": 1})
    t = FakeTrainer()
    fill(t, "d1", archs, 1, overlay=str(tmp_path / "two.sqlite"), progress=False, batch=2)
    ov = Overlay(tmp_path / "two.sqlite")
    batches = {tuple(ov.get(k)["batch"]) for k in ov.keys()}
    assert batches == {("a:0", "a:1"), ("a:2", "a:3"), ("a:4",), ("b:0", "b:1"), ("c:0",)}
    fill(t, "d1", archs, 1, overlay=str(tmp_path / "one.sqlite"), progress=False, batch=1)
    ov1 = Overlay(tmp_path / "one.sqlite")
    assert all(ov1.get(k)["batch"] == [k.split("|")[1]] for k in ov1.keys())
    assert _scores(tmp_path / "one.sqlite") == _scores(tmp_path / "two.sqlite")


def test_two_forked_workers_train_the_same_records_as_this_process(tmp_path):
    archs = _archs({"a": 6, "b": 4, "c": 2})
    t = FakeTrainer(delay=0.02, log=str(tmp_path / "log"))
    one = fill(t, "d1", archs, 2, workers=1, overlay=str(tmp_path / "one.sqlite"), progress=False, batch=2)
    two = fill(t, "d1", archs, 2, workers=2, overlay=str(tmp_path / "two.sqlite"), progress=False, batch=2)
    assert one.trained == two.trained == 24
    assert _scores(tmp_path / "one.sqlite") == _scores(tmp_path / "two.sqlite")
    pids = [p for p, _, _ in _trained(tmp_path / "log")]
    assert set(pids[:24]) == {os.getpid()} and os.getpid() not in pids[24:]  # workers=2: trained in the children
    assert _claims(tmp_path / "two.sqlite") == 0


FILL = """
import json, sys, time
sys.path.insert(0, {tests!r})
from test_core_fill import FakeTrainer, _archs
from bench.core.fill import fill
while time.time() < {start}:
    time.sleep(0.005)
t = FakeTrainer(delay={delay}, log={log!r})
r = fill(t, "d1", _archs({{"a": {n_a}, "b": {n_b}}}), 2, workers={workers}, overlay={overlay!r}, progress=False,
         batch={batch})
print(json.dumps([r.trained, r.elsewhere, r.already]))
"""


def _script(tmp_path, start=0.0, delay=0.05, n_a=10, n_b=10, workers=1, batch=2):
    return FILL.format(tests=str(TESTS), start=start, delay=delay, log=str(tmp_path / "log"), n_a=n_a, n_b=n_b,
                       workers=workers, overlay=str(tmp_path / "ov.sqlite"), batch=batch)


def test_two_concurrent_fills_share_the_work_through_claims(tmp_path):
    code = _script(tmp_path, start=time.time() + 3.0)  # both start together, past their imports
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [e[-2000:] for _, e in outs]
    counts = [json.loads(o.strip().splitlines()[-1]) for o, _ in outs]
    trained = _trained(tmp_path / "log")
    pairs = [(a, s) for _, a, s in trained]
    assert len(pairs) == len(set(pairs)) == 40  # every pair trained, none twice
    assert sorted(c[0] for c in counts) == sorted(sum(p == proc.pid for p, _, _ in trained) for proc in procs)
    assert all(c[0] > 0 for c in counts)  # the work was shared
    assert len(_scores(tmp_path / "ov.sqlite")) == 40 and _claims(tmp_path / "ov.sqlite") == 0


def test_a_killed_fill_resumes_without_retraining(tmp_path):
    path = tmp_path / "ov.sqlite"
    proc = subprocess.Popen([sys.executable, "-c", _script(tmp_path, delay=0.2, n_a=15, n_b=0, batch=1)])
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
        try:
            if path.exists() and sqlite3.connect(path).execute("SELECT COUNT(*) FROM records").fetchone()[0] >= 5:
                break
        except sqlite3.OperationalError:
            pass
    time.sleep(0.1)  # into the next job's training (0.2 s), so the fill dies holding its claim
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    kept = _scores(path)
    assert 5 <= len(kept) < 30
    assert _claims(path) >= 1  # the dead fill's claim is still there ...
    log = tmp_path / "log"
    n_before = len(_trained(log))
    t = FakeTrainer(log=str(log))
    rep = fill(t, "d1", _archs({"a": 15}), 2, overlay=str(path), progress=False, batch=1)
    assert (rep.already, rep.trained, rep.elsewhere) == (len(kept), 30 - len(kept), 0)  # ... and taken over
    retrained = {t.key("d1", a, s) for _, a, s in _trained(log)[n_before:]}
    assert not retrained & set(kept) and len(retrained) == 30 - len(kept)
    after = _scores(path)
    assert len(after) == 30 and all(after[k] == v for k, v in kept.items())


def test_protocol_violations_and_bad_executors_are_named_errors(tmp_path):
    class Short(FakeTrainer):
        def train_batch(self, dataset, jobs):
            return [{k: v for k, v in r.items() if k != "numerics"} for r in super().train_batch(dataset, jobs)]

    with pytest.raises(BenchError, match="lacks \\['numerics'\\]"):
        fill(Short(), "d1", ["a:0"], 1, overlay=str(tmp_path / "o.sqlite"), progress=False)
    assert _claims(tmp_path / "o.sqlite") == 0  # a failed fill releases its claims
    with pytest.raises(BenchError, match="unknown executor 'slurm'"):
        fill(FakeTrainer(), "d1", ["a:0"], 1, overlay=str(tmp_path / "o.sqlite"), executor="slurm")
    with pytest.raises(BenchError, match="does not implement"):
        fill(object(), "d1", ["a:0"], 1, overlay=str(tmp_path / "o.sqlite"))


@pytest.mark.slow
def test_ray_executor_trains_the_same_records_as_local_workers(tmp_path):
    ray = pytest.importorskip("ray", reason="install the extra: pip install 'mmnas-bench[ray]'")
    # Ray workers cannot import this test module: ship the fake trainer's code with it
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    archs = _archs({"a": 3, "b": 2})
    t = FakeTrainer(shipped=(("b:1", 0),))
    local = fill(t, "d1", archs, 2, workers=2, overlay=str(tmp_path / "local.sqlite"), progress=False, batch=2)
    remote = fill(t, "d1", archs, 2, workers=2, overlay=str(tmp_path / "ray.sqlite"), progress=False, batch=2,
                  executor="ray")
    assert (local.trained, local.in_table) == (remote.trained, remote.in_table) == (9, 1)
    assert _scores(tmp_path / "local.sqlite") == _scores(tmp_path / "ray.sqlite")
    ov = Overlay(tmp_path / "ray.sqlite")
    assert all(ov.get(k)["pid"] != os.getpid() for k in ov.keys())  # trained in Ray's workers
    assert _claims(tmp_path / "ray.sqlite") == 0
    again = fill(t, "d1", archs, 2, workers=2, overlay=str(tmp_path / "ray.sqlite"), progress=False, executor="ray")
    assert (again.already, again.trained) == (9, 0)
