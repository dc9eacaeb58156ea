"""Fill the tree-fusion overlay by real training, with worker processes and one writer.

Workers train; the parent process alone writes each result to the overlay as it
arrives (one transaction per record). Keys already in the overlay are skipped, so a
fill that was killed and is run again trains only what is missing.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from dataclasses import asdict, dataclass

from tqdm.auto import tqdm

from bench.features.store import open as open_store
from bench.overlay import Overlay, overlay_path
from bench.spaces.tree_fusion import TreeFusionSpace
from bench.training.trainer import Recipe, train

_worker_state: dict = {}


@dataclass
class FillReport:
    total: int
    already: int
    trained: int
    wall_seconds: float


def _init_worker(dataset: str, recipe: dict, device: str, max_leaves: int) -> None:
    store = open_store(dataset)
    # repeatable=True accepts every tree the caller's space allowed; fill does not re-check membership
    space = TreeFusionSpace(store.view_names, max_leaves=max_leaves, repeatable=True)
    _worker_state.update(store=store, space=space, recipe=Recipe(**recipe), device=device)


def _train_one(job: tuple[str, int, dict]) -> tuple[str, int, dict]:
    arch, seed, _ = job
    st = _worker_state
    res = train(st["space"].decode(arch), st["store"], seed, st["recipe"], st["device"])
    return arch, seed, {**res.metrics(), "val_curve": res.val_curve, "device": res.device}


def fill(dataset: str, archs: list[str], seeds: int, workers: int = 1, recipe: Recipe | None = None,
         overlay: str | None = None, device: str = "cpu", progress: bool = True) -> FillReport:
    """Train every (arch, seed) missing from the overlay; ``archs`` are canonical strings."""
    recipe = recipe or Recipe()
    ov = Overlay(overlay or overlay_path("tree-fusion"))
    have = ov.keys()
    jobs = [(a, s, {}) for a in archs for s in range(seeds) if Overlay.key(dataset, a, s, recipe.key) not in have]
    total = len(archs) * seeds
    max_leaves = max((a.count(",") + 1 for a in archs), default=1)  # a tree with k leaves has k-1 commas
    t0 = time.perf_counter()
    bar = tqdm(total=len(jobs), desc=f"fill tree-fusion/{dataset}", unit="model", disable=not progress)
    try:
        if workers <= 1:
            _init_worker(dataset, asdict(recipe), device, max_leaves)
            results = map(_train_one, jobs)
            pool = None
        else:
            pool = mp.get_context("fork").Pool(workers, initializer=_init_worker, initargs=(dataset, asdict(recipe), device, max_leaves))
            results = pool.imap_unordered(_train_one, jobs)
        for arch, seed, rec in results:
            ov.put(Overlay.key(dataset, arch, seed, recipe.key), dataset, arch, seed, recipe.key, rec)
            bar.update()
        if pool is not None:
            pool.close()
            pool.join()
    finally:
        bar.close()
        ov.close()
    return FillReport(total, total - len(jobs), len(jobs), time.perf_counter() - t0)
