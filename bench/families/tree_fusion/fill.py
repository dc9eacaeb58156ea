"""Fill the tree-fusion overlay by real training, with worker processes and one writer.

Pairs the shipped table already answers (same recipe) are not trained again, and fills
running at once on the same overlay share the work: each batch is claimed in the overlay
just before it is trained (:meth:`bench.overlay.Overlay.claim`), so no pair is trained twice.

Workers train batches of same-shaped trees together (:func:`bench.families.tree_fusion.batched.train_many`,
bit-identical to one-by-one training); the parent process alone writes each result to
the overlay as it arrives (one transaction per record). Keys already in the overlay are skipped, so a
fill that was killed and is run again trains only what is missing.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from dataclasses import asdict, dataclass

from tqdm.auto import tqdm

from bench import numerics
from bench.errors import BenchError
from bench.features.store import open as open_store
from bench.overlay import Overlay, overlay_path
from bench.families.tree_fusion.space import parse
from bench.families.tree_fusion.batched import shape_key, train_many
from bench.families.tree_fusion.trainer import Recipe

BATCH = 32  # models per batched group: large enough to amortise per-op overhead, small enough to balance workers

_worker_state: dict = {}


@dataclass
class FillReport:
    total: int
    already: int  # in the overlay
    trained: int
    wall_seconds: float
    in_table: int = 0  # answered by the shipped table, so not trained
    elsewhere: int = 0  # claimed by another fill running on the same overlay, so left to it


def shipped_keys(dataset: str, recipe: Recipe) -> set[str]:
    """Overlay keys of the (architecture, seed) pairs that the shipped table holds for this
    recipe (empty where no shipped table was trained with it)."""
    import json

    from bench.families.tree_fusion.build import table_file
    from bench.paths import tables_dir
    from bench.tablefile import read_dataset
    from bench.families.tree_fusion.trainer import PROTOCOLS

    protocol = next((name for name, r in PROTOCOLS.items() if r.key == recipe.key), None)
    path = tables_dir() / table_file(dataset, protocol) if protocol else None
    if path is None or not path.exists():
        return set()
    archs, metrics, attrs = read_dataset(path, dataset)
    if json.loads(attrs["provenance"]).get("recipe_key") != recipe.key:
        return set()
    n_seed = metrics["test_acc"].values.shape[1]
    return {Overlay.key(dataset, a, s, recipe.key) for a in archs for s in range(n_seed)}


def _init_worker(dataset: str, recipe: dict, device: str, overlay: str) -> None:
    # each worker claims its own work in the overlay (a new connection: never one inherited by fork)
    store, ov = open_store(dataset), Overlay(overlay)
    ov.bind_store(dataset, store.content_sha256)
    _worker_state.update(store=store, recipe=Recipe(**recipe), device=device, overlay=ov)


def _records(jobs: list[tuple[str, int]], store, recipe: Recipe, device: str):
    """Train one batch of same-shaped (arch, seed) jobs; ``(arch, seed, record)`` per job.

    The architectures are strings that the caller's space accepted, so only parsed here."""
    results = train_many([parse(a) for a, _ in jobs], [s for _, s in jobs], store, recipe, device)
    return [(a, s, r.record()) for (a, s), r in zip(jobs, results)]


def _train_batch(jobs: list[tuple[str, int]]) -> list[tuple[str, int, dict]]:
    """Train the jobs of one batch that no other fill has claimed (claimed here, just before)."""
    st = _worker_state
    store, recipe = st["store"], st["recipe"]
    mine = set(st["overlay"].claim([Overlay.key(store.name, a, s, recipe.key) for a, s in jobs]))
    jobs = [(a, s) for a, s in jobs if Overlay.key(store.name, a, s, recipe.key) in mine]
    return _records(jobs, store, recipe, st["device"]) if jobs else []


def batches(jobs: list[tuple[str, int]], dims: dict[str, int], size: int) -> list[list[tuple[str, int]]]:
    """Jobs grouped by the shape of their tree (see :func:`shape_key`), in chunks of at most ``size``."""
    groups: dict[str, list[tuple[str, int]]] = {}
    for a, s in jobs:
        groups.setdefault(shape_key(parse(a, dims), dims), []).append((a, s))
    return [g[i:i + size] for g in groups.values() for i in range(0, len(g), size)]


def _ray_results(store, groups, recipe: Recipe, device: str, workers: int, address: str | None):
    """Train each batch of jobs as one Ray task; yield each task's records in completion order.

    The feature store goes into Ray's object store once, so cluster nodes need no files.
    ``address=None`` starts a local Ray instance with ``workers`` CPUs; ``"auto"`` or
    ``"ray://host:10001"`` joins an existing cluster.
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
        store_ref = ray.put(store)

        @ray.remote(num_cpus=1)
        def train_remote(store, jobs: list[tuple[str, int]]) -> list[tuple[str, int, dict]]:
            return _records(jobs, store, recipe, device)

        pending = [train_remote.remote(store_ref, g) for g in groups]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            yield ray.get(done[0])
    finally:
        if started:
            ray.shutdown()


def fill(dataset: str, archs: list[str], seeds: int, workers: int = 1, recipe: Recipe | None = None,
         overlay: str | None = None, device: str = "cpu", progress: bool = True, executor: str = "local",
         ray_address: str | None = None, batch: int = BATCH, skip_table: bool = True) -> FillReport:
    """Train every (arch, seed) missing from the shipped table and the overlay; ``archs`` are
    canonical strings.

    ``executor``: 'local' (worker processes on this machine) or 'ray' (Ray tasks, local
    instance or cluster). Either way this process is the overlay's only writer. ``batch``:
    the most models trained together in one stacked model (1: one by one). ``skip_table``:
    False trains pairs the shipped table holds too (a table build does, to compare).
    """
    if executor not in ("local", "ray"):
        raise BenchError(f"unknown executor {executor!r}; valid: 'local', 'ray'")
    recipe = recipe or Recipe()
    store = open_store(dataset)
    ov = Overlay(overlay or overlay_path("tree-fusion"))
    ov.bind_store(dataset, store.content_sha256)  # records made on other data are retrained
    have = ov.keys()
    table = shipped_keys(dataset, recipe) if skip_table else set()
    keys = [((a, s), Overlay.key(dataset, a, s, recipe.key)) for a in archs for s in range(seeds)]
    n_table = sum(k in table for _, k in keys)
    jobs = [job for job, k in keys if k not in table and k not in have]
    total = len(archs) * seeds
    groups = batches(jobs, store.dims, max(1, batch))
    t0 = time.perf_counter()
    trained = 0
    bar = tqdm(total=len(jobs), desc=f"fill tree-fusion/{dataset}", unit="model", disable=not progress)
    try:
        pool = None
        if executor == "ray":  # tasks cannot reach the overlay file: this process claims their work
            mine = set(ov.claim([Overlay.key(dataset, a, s, recipe.key) for a, s in jobs]))
            groups = [g for g in ([j for j in g if Overlay.key(dataset, *j, recipe.key) in mine] for g in groups) if g]
            results = _ray_results(store, groups, recipe, device, workers, ray_address)
        elif workers <= 1:
            _init_worker(dataset, asdict(recipe), device, str(ov.path))
            results = map(_train_batch, groups)
        else:
            pool = mp.get_context("fork").Pool(workers, initializer=_init_worker,
                                                initargs=(dataset, asdict(recipe), device, str(ov.path)))
            results = pool.imap_unordered(_train_batch, groups)
        for records in results:
            for arch, seed, rec in records:
                ov.put(Overlay.key(dataset, arch, seed, recipe.key), dataset, arch, seed, recipe.key, rec)
                trained += 1
                bar.update()
        if pool is not None:
            pool.close()
            pool.join()
    finally:
        bar.close()
        ov.release()
        _worker_state.pop("overlay", None)
        ov.close()
    elsewhere = len(jobs) - trained
    return FillReport(total, total - n_table - len(jobs), trained, time.perf_counter() - t0, n_table, elsewhere)
