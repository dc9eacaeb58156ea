"""Fill a trained benchmark's overlay: train every missing (architecture, seed) pair of a
:class:`~bench.core.trainer.Trainer`, in worker processes or Ray tasks, with one writer.

Pairs the shipped table answers for the trainer's recipe are not trained, nor pairs the
overlay already holds, so a fill that was killed and is run again trains only what is
missing. Fills running at once on the same overlay share the work: each batch is claimed in
the overlay (:meth:`bench.overlay.Overlay.claim`) just before it is trained, so no pair is
trained twice. Jobs with the same group key are trained together, at most ``batch`` per
call; the parent process alone writes each result to the overlay as it arrives (one
transaction per record).
"""

from __future__ import annotations

import multiprocessing as mp
import time
from dataclasses import dataclass

from tqdm.auto import tqdm

from bench import numerics, validate
from bench.core.trainer import RECORD_FIELDS, Trainer
from bench.errors import BenchError
from bench.overlay import Overlay, overlay_path

BATCH = 32  # models per batched group: large enough to amortise per-call overhead, small enough to balance workers
EXECUTORS = ("local", "ray")

Job = tuple[str, int]
_worker_state: dict = {}


@dataclass
class FillReport:
    total: int
    already: int  # in the overlay
    trained: int
    wall_seconds: float
    in_table: int = 0  # answered by the shipped table, so not trained
    elsewhere: int = 0  # claimed by another fill running on the same overlay, so left to it


def batches(trainer: Trainer, dataset: str, jobs: list[Job], size: int) -> list[list[Job]]:
    """Jobs grouped by :meth:`Trainer.group_key` (groups in order of first appearance), in
    chunks of at most ``size``."""
    groups: dict[str, list[Job]] = {}
    for a, s in jobs:
        groups.setdefault(trainer.group_key(dataset, a), []).append((a, s))
    return [g[i:i + size] for g in groups.values() for i in range(0, len(g), size)]


def _records(trainer: Trainer, dataset: str, jobs: list[Job]) -> list[tuple[str, int, dict]]:
    """Train one batch; ``(arch, seed, record)`` per job, the protocol checked."""
    recs = trainer.train_batch(dataset, jobs)
    if len(recs) != len(jobs):
        raise BenchError(f"{type(trainer).__name__}.train_batch returned {len(recs)} records for {len(jobs)} jobs")
    for (a, s), r in zip(jobs, recs):
        missing = [f for f in RECORD_FIELDS if f not in r]
        if missing:
            raise BenchError(f"{type(trainer).__name__}.train_batch: the record of {a!r} seed {s} lacks {missing}")
    return [(a, s, r) for (a, s), r in zip(jobs, recs)]


def _init_worker(trainer: Trainer, dataset: str, overlay: str) -> None:
    # each worker claims its own work in the overlay (a new connection: never one inherited by fork)
    ov = Overlay(overlay)
    ov.bind_store(dataset, trainer.store_sha256(dataset))
    _worker_state.update(trainer=trainer, dataset=dataset, overlay=ov)


def _train_batch(jobs: list[Job]) -> list[tuple[str, int, dict]]:
    """Train the jobs of one batch that no other fill has claimed (claimed here, just before)."""
    trainer, dataset = _worker_state["trainer"], _worker_state["dataset"]
    mine = set(_worker_state["overlay"].claim([trainer.key(dataset, a, s) for a, s in jobs]))
    jobs = [(a, s) for a, s in jobs if trainer.key(dataset, a, s) in mine]
    return _records(trainer, dataset, jobs) if jobs else []


def _ray_results(trainer: Trainer, dataset: str, groups: list[list[Job]], workers: int, address: str | None):
    """Train each batch as one Ray task; yield each task's records in completion order.

    The worker trainer goes into Ray's object store once (with whatever data it carries, so
    cluster nodes need no files). ``address=None`` starts a local Ray instance with
    ``workers`` CPUs; ``"auto"`` or ``"ray://host:10001"`` joins an existing cluster.
    """
    try:
        import ray
    except ImportError:
        raise BenchError("the Ray executor needs Ray: pip install 'mmnas-bench[ray]'") from None
    started = not ray.is_initialized()
    if started:
        kwargs = {"num_cpus": workers} if address is None else {"address": address}
        # the pinned numeric environment travels with the job to every node's workers
        env = {"env_vars": dict(numerics.PINNED)} if numerics.pinned() else {}
        ray.init(include_dashboard=False, log_to_driver=False, runtime_env=env, **kwargs)
    try:
        trainer_ref = ray.put(trainer)
        train_remote = ray.remote(num_cpus=1)(_records)
        pending = [train_remote.remote(trainer_ref, dataset, g) for g in groups]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            yield ray.get(done[0])
    finally:
        if started:
            ray.shutdown()


def fill(trainer: Trainer, dataset: str, archs: list[str], seeds: int, workers: int = 1, overlay: str | None = None,
         progress: bool = True, executor: str = "local", ray_address: str | None = None, batch: int = BATCH,
         skip_table: bool = True) -> FillReport:
    """Train every (arch, seed), seeds ``0 .. seeds-1``, missing from the shipped table and the
    overlay (default ``data_cache/overlay/<trainer.benchmark>.sqlite``).

    ``executor``: 'local' (``workers`` forked processes on this machine; 1: this process) or
    'ray' (Ray tasks, local instance or cluster at ``ray_address``). Either way this process
    is the overlay's only writer. ``batch``: the most jobs of one group trained in one call
    (1: one by one). ``skip_table``: False trains pairs the shipped table holds too.
    """
    if executor not in EXECUTORS:
        raise BenchError(f"unknown executor {executor!r}; valid: {', '.join(map(repr, EXECUTORS))}")
    seeds, workers = validate.whole(seeds, "seeds"), validate.whole(workers, "workers")
    batch = validate.whole(batch, "batch")
    if not isinstance(trainer, Trainer):
        raise BenchError(f"{type(trainer).__name__} does not implement bench.core.trainer.Trainer")
    ov = Overlay(validate.overlay(overlay) or overlay_path(trainer.benchmark))
    t0 = time.perf_counter()
    trained = 0
    try:
        ov.bind_store(dataset, trainer.store_sha256(dataset))  # records made on other data are retrained
        have = ov.keys()
        table = trainer.shipped_keys(dataset) if skip_table else set()
        keys = [((a, s), trainer.key(dataset, a, s)) for a in archs for s in range(seeds)]
        n_table = sum(k in table for _, k in keys)
        jobs = [job for job, k in keys if k not in table and k not in have]
        groups = batches(trainer, dataset, jobs, max(1, batch))
        bar = tqdm(total=len(jobs), desc=f"fill {trainer.benchmark}/{dataset}", unit="model", disable=not progress)
        pool = None
        done_here: set[Job] = set()
        try:
            if groups and executor == "local":
                if workers <= 1:
                    _init_worker(trainer.for_worker(dataset), dataset, str(ov.path))
                else:
                    # fork: workers inherit the loaded worker trainer, nothing is pickled on the way in
                    pool = mp.get_context("fork").Pool(workers, initializer=_init_worker,
                                                        initargs=(trainer.for_worker(dataset), dataset, str(ov.path)))
            while groups:
                if executor == "ray":  # tasks cannot reach the overlay file: this process claims their work
                    mine = set(ov.claim([trainer.key(dataset, a, s) for g in groups for a, s in g]))
                    groups = [g for g in ([j for j in g if trainer.key(dataset, *j) in mine] for g in groups) if g]
                    results = _ray_results(trainer.for_worker(dataset), dataset, groups, workers, ray_address)
                else:
                    results = map(_train_batch, groups) if pool is None else pool.imap_unordered(_train_batch, groups)
                for records in results:
                    for arch, seed, rec in records:
                        ov.put(trainer.key(dataset, arch, seed), dataset, arch, seed, trainer.recipe_key, rec)
                        done_here.add((arch, seed))
                        trained += 1
                        bar.update()
                # work another fill claimed and did not finish: its claims are taken over once it is dead
                have = ov.keys()
                left = [j for j in jobs if j not in done_here and trainer.key(dataset, *j) not in have]
                free = set(ov.claim([trainer.key(dataset, *j) for j in left]))
                ov.release()  # the workers claim again, batch by batch, just before training
                groups = batches(trainer, dataset, [j for j in left if trainer.key(dataset, *j) in free], max(1, batch))
            if pool is not None:
                pool.close()
                pool.join()
        finally:
            if pool is not None:  # a failed fill leaves no worker training on
                pool.terminate()
            bar.close()
            ov.release()
            worker_ov = _worker_state.pop("overlay", None)
            if worker_ov is not None:
                worker_ov.close()
            _worker_state.clear()
    finally:
        ov.close()
    elsewhere = len(jobs) - trained
    total = len(archs) * seeds
    return FillReport(total, total - n_table - len(jobs), trained, time.perf_counter() - t0, n_table, elsewhere)
