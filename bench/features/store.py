"""Feature stores: build (from a source), write atomically, open and verify.

Layout of ``data_cache/features/<name>.h5``::

    /                 attrs: name, description, n_classes, provenance (JSON), content_sha256
    /labels           int64 [n]
    /views/<view>     float32 [n, d]   raw features
    /splits/<split>/<part>   int64 row indices; splits 'holdout' (train/val/test 60/20/20)
                             and 'fold0'..'fold4' (train/test), all stratified by class
    /scaling/<split>/<view>/{mean,std}   fitted on the split's training rows only
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from bench.errors import ChecksumError, TableMissingError, UnknownChoiceError
from bench.manifest import check_file
from bench.paths import data_cache_dir
from bench.tablefile import atomic_write

SPLIT_SEED = 0
N_FOLDS = 5
HOLDOUT = (0.6, 0.2, 0.2)


class UnknownFeatureStoreError(UnknownChoiceError):
    what = "feature store"


class UnknownSplitError(UnknownChoiceError):
    what = "split"


def stores_dir() -> Path:
    return data_cache_dir() / "features"


def stores() -> list[str]:
    from bench.features.build import FEATURE_SETS

    return list(FEATURE_SETS)


def stratified_splits(y: np.ndarray, seed: int = SPLIT_SEED) -> dict[str, dict[str, np.ndarray]]:
    """Holdout 60/20/20 and 5 folds, each stratified by class, fixed by ``seed``."""
    rng = np.random.default_rng(seed)
    fold_of = np.empty(len(y), dtype=np.int64)
    part_of = np.empty(len(y), dtype=np.int64)
    for c in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == c))
        fold_of[rows] = np.arange(len(rows)) % N_FOLDS
        cut = np.cumsum(np.round(np.array(HOLDOUT[:2]) * len(rows)).astype(int))
        part_of[rows] = np.searchsorted(cut, np.arange(len(rows)), side="right")
    out = {"holdout": {p: np.flatnonzero(part_of == i) for i, p in enumerate(("train", "val", "test"))}}
    for k in range(N_FOLDS):
        out[f"fold{k}"] = {"train": np.flatnonzero(fold_of != k), "test": np.flatnonzero(fold_of == k)}
    return out


def _arrays(f: h5py.File) -> dict[str, np.ndarray]:
    """Every dataset of the file by path, sorted: read once, for the checksum and the store."""
    items = []
    f.visititems(lambda name, obj: items.append(name) if isinstance(obj, h5py.Dataset) else None)
    return {name: f[name][()] for name in sorted(items)}


def _digest(arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name, arr in arrays.items():
        h.update(f"{name}|{arr.dtype.str}|{arr.shape}|".encode())
        h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


def write_store(path: Path, name: str, views: dict[str, np.ndarray], labels: np.ndarray, description: str,
                provenance: dict) -> str:
    """Write a store atomically (lock, temp file, fsync, rename); return its content sha256."""
    splits = stratified_splits(labels)
    with atomic_write(path) as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs.update(name=name, description=description, n_classes=int(labels.max() + 1),
                           provenance=json.dumps(provenance, sort_keys=True, indent=1))
            f.create_dataset("labels", data=labels.astype(np.int64), track_times=False)
            for v, arr in views.items():
                f.create_dataset(f"views/{v}", data=arr.astype(np.float32), compression="gzip", track_times=False)
            for s, parts in splits.items():
                for p, idx in parts.items():
                    f.create_dataset(f"splits/{s}/{p}", data=idx, track_times=False)
                train = parts["train"]
                for v, arr in views.items():
                    x = arr[train].astype(np.float64)
                    std = x.std(axis=0)
                    f.create_dataset(f"scaling/{s}/{v}/mean", data=x.mean(axis=0).astype(np.float32), track_times=False)
                    # constant columns keep their value (scale 1) instead of dividing by zero
                    f.create_dataset(f"scaling/{s}/{v}/std", data=np.where(std > 1e-12, std, 1.0).astype(np.float32),
                                     track_times=False)
            f.flush()
            digest = _digest(_arrays(f))
            f.attrs["content_sha256"] = digest
    return digest


@dataclass
class FeatureStore:
    """An opened store: every array in memory, checksum verified."""

    name: str
    description: str
    labels: np.ndarray
    views: dict[str, np.ndarray]
    splits: dict[str, dict[str, np.ndarray]]
    scaling: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]
    provenance: dict
    content_sha256: str

    @property
    def view_names(self) -> list[str]:
        return list(self.views)

    @property
    def dims(self) -> dict[str, int]:
        return {v: a.shape[1] for v, a in self.views.items()}

    @property
    def n_classes(self) -> int:
        return int(self.labels.max() + 1)

    def rows(self, split: str, part: str) -> np.ndarray:
        if split not in self.splits:
            raise UnknownSplitError(split, self.splits, f"in feature store {self.name!r}")
        if part not in self.splits[split]:
            raise UnknownSplitError(f"{split}/{part}", [f"{split}/{p}" for p in self.splits[split]])
        return self.splits[split][part]

    def arrays(self, split: str = "holdout", part: str = "train", views: list[str] | None = None
               ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Standardised views (scaling fitted on ``split``'s training rows) and labels of one part."""
        idx = self.rows(split, part)
        names = views or self.view_names
        unknown = [v for v in names if v not in self.views]
        if unknown:
            raise UnknownChoiceError(unknown[0], self.views, f"(view of {self.name!r})")
        out = {}
        for v in names:
            mean, std = self.scaling[split][v]
            out[v] = (self.views[v][idx] - mean) / std
        return out, self.labels[idx]


def open(name: str, directory: Path | None = None, with_backbone: bool = False) -> FeatureStore:  # noqa: A001
    """Open a built store; a missing one names the command that builds it.

    ``with_backbone`` adds the backbone views ``VIEW@1``, ``VIEW@2`` (see
    :mod:`bench.features.backbone`) beside the raw ones.
    """
    from bench.features.build import FEATURE_SETS

    if name not in FEATURE_SETS:
        raise UnknownFeatureStoreError(name, FEATURE_SETS)
    store = _read(Path(directory or stores_dir()) / f"{name}.h5", name)
    if with_backbone:
        extra = _read(Path(directory or stores_dir()) / f"{name}.backbone.h5", name)
        store.views.update(extra.views)
        for s in store.scaling:
            store.scaling[s].update(extra.scaling[s])
        store.provenance["backbone"] = extra.provenance.get("backbone", {})
    return store


def read_store(path: Path) -> FeatureStore:
    """Read and verify the store file at ``path`` (its name is the file's stem)."""
    return _read(Path(path), Path(path).name.split(".")[0])


def _read(path: Path, name: str) -> FeatureStore:
    if not path.exists():
        raise TableMissingError(f"feature store {path} does not exist; build it with: mmnas-bench features build {name}")
    try:
        return _read_file(path, name)
    except (OSError, KeyError, ValueError, RuntimeError) as exc:  # h5py's errors on damaged files name no file
        raise ChecksumError(f"feature store {path} cannot be read ({type(exc).__name__}: {exc}); the file is damaged: "
                            f"restore it or rebuild it with: mmnas-bench features build {name}") from None


def _read_file(path: Path, name: str) -> FeatureStore:
    with h5py.File(path, "r") as f:
        a = _arrays(f)
        digest = _digest(a)
        if digest != f.attrs.get("content_sha256"):
            raise ChecksumError(f"feature store {path}: content checksum does not match; rebuild it with: "
                                f"mmnas-bench features build {name}")
        if str(f.attrs.get("name")) != name:
            raise ChecksumError(f"feature store {path} holds the store {str(f.attrs.get('name'))!r}, not {name!r}: "
                                "a file was copied over it; restore it or rebuild it with: "
                                f"mmnas-bench features build {name}")
        check_file(path, digest)
        views = {v: a[f"views/{v}"] for v in f["views"]}
        splits = {s: {p: a[f"splits/{s}/{p}"] for p in f[f"splits/{s}"]} for s in f["splits"]}
        scaling = {s: {v: (a[f"scaling/{s}/{v}/mean"], a[f"scaling/{s}/{v}/std"]) for v in views} for s in splits}
        return FeatureStore(str(f.attrs["name"]), str(f.attrs["description"]), a["labels"], views, splits, scaling,
                            json.loads(f.attrs["provenance"]), digest)
