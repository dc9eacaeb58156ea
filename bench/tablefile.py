"""HDF5 score tables, schema v1: reading, writing and checksums.

Layout (documented for users in ``tables/README.md``)::

    /                      attrs: schema_version, benchmark, space_id, space_version,
                                  provenance (JSON), content_sha256
    /<dataset>/            one group per dataset or task; attrs: description
    /<dataset>/archs       [n_arch] canonical architecture strings (UTF-8 bytes)
    /<dataset>/<metric>    float64 [n_arch, n_seed] or [n_arch, n_seed, n_epoch];
                           attrs: unit, direction ('max'|'min'), description

NaN marks a value the source does not have. ``content_sha256`` covers every
dataset's name, dtype, shape and bytes and every metric's attributes, so any
change to the numbers or their meaning is detected on open.
"""

from __future__ import annotations

import hashlib
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import h5py
import numpy as np

from bench.errors import BenchError, ChecksumError, SpecError, TableCorruptError, TableMissingError
from bench.manifest import check_file, file_sha256, restore_hint, writer_lock  # noqa: F401  (file_sha256, writer_lock: part of this module's API)

SCHEMA_VERSION = 1
ARCHS = "archs"
METRIC_ATTRS = ("unit", "direction", "description")
METRICS_JSON = "metrics_json"


@dataclass
class Metric:
    """One metric column: values ``[n_arch, n_seed(, n_epoch)]`` and its meaning."""

    values: np.ndarray
    unit: str
    direction: str  # 'max' or 'min'
    description: str = ""

    def __post_init__(self):
        if self.direction not in ("max", "min"):
            raise SpecError(f"metric direction must be 'max' or 'min', got {self.direction!r}")
        self.values = np.asarray(self.values, dtype=np.float64)
        if self.values.ndim == 1:
            self.values = self.values[:, None]
        if self.values.ndim not in (2, 3):
            raise SpecError(f"metric values must be [n_arch, n_seed] or [n_arch, n_seed, n_epoch], got shape {self.values.shape}")


@dataclass
class DatasetTable:
    """The scores of one dataset or task: architecture strings and metrics."""

    archs: list[str]
    metrics: dict[str, Metric]
    description: str = ""

    def __post_init__(self):
        for name, m in self.metrics.items():
            if m.values.shape[0] != len(self.archs):
                raise SpecError(f"metric {name!r} has {m.values.shape[0]} rows but there are {len(self.archs)} architectures")
            if "/" in name:
                raise SpecError(f"metric name {name!r} may not contain '/'")


@dataclass
class ScoreTable:
    """A whole benchmark file in memory."""

    benchmark: str
    space_id: str
    space_version: str
    datasets: dict[str, DatasetTable]
    provenance: dict = field(default_factory=dict)


def _metric_attr_bytes(name: str, attrs) -> bytes:
    return json.dumps({"name": name, **{k: str(attrs.get(k, "")) for k in METRIC_ATTRS}}, sort_keys=True).encode()


def _update_group_digest(h, ds_name: str, arrays: dict[str, np.ndarray], attrs: dict[str, dict]) -> None:
    for key in sorted(arrays):
        arr = arrays[key]
        h.update(f"{ds_name}/{key}|{arr.dtype.str}|{arr.shape}|".encode())
        h.update(np.ascontiguousarray(arr).tobytes())
        if key != ARCHS:
            h.update(_metric_attr_bytes(key, attrs[key]))


def _load_group(grp: h5py.Group) -> tuple[dict[str, np.ndarray], dict[str, dict]]:
    arrays = {key: grp[key][()] for key in grp.keys()}
    if METRICS_JSON in grp.attrs:
        attrs = json.loads(grp.attrs[METRICS_JSON])
    else:
        attrs = {key: dict(grp[key].attrs) for key in grp.keys() if key != ARCHS}
    return arrays, attrs


def content_checksum(f: h5py.File, only: str | None = None) -> str:
    """sha256 over every dataset (sorted by path) and every metric's attributes."""
    h = hashlib.sha256()
    for ds_name in (sorted(f.keys()) if only is None else [only]):
        _update_group_digest(h, ds_name, *_load_group(f[ds_name]))
    return h.hexdigest()


def group_checksums(path: Path) -> dict[str, str]:
    """Per-dataset content checksums, stored so one group can be verified alone."""
    with open_h5(path) as f:
        return json.loads(f.attrs["group_sha256"])


@contextmanager
def open_h5(path: str | os.PathLike, build_hint: str = "") -> Iterator[h5py.File]:
    """``h5py.File(path, "r")`` where a file h5py cannot read is a :class:`TableCorruptError`
    naming it and how to restore it (h5py's own errors name neither)."""
    path = Path(path)
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        if not path.exists():
            hint = f"; build it with: {build_hint}" if build_hint else ""
            raise TableMissingError(f"{path} does not exist{hint}") from None
        raise TableCorruptError(_damaged(path, exc, build_hint)) from None
    try:
        with f:
            yield f
    except (OSError, KeyError, ValueError, TypeError, RuntimeError) as exc:
        if isinstance(exc, BenchError):
            raise
        raise TableCorruptError(_damaged(path, exc, build_hint)) from None


def _damaged(path: Path, exc: BaseException, build_hint: str = "") -> str:
    return (f"{path} cannot be read ({type(exc).__name__}: {exc}); the file is damaged (truncated or overwritten): "
            f"{restore_hint(path)}" + (f" with: {build_hint}" if build_hint else ""))


def table_content_sha256(path: str | os.PathLike) -> str:
    """The content sha256 recomputed from a table's data: what its MANIFEST line's content column records."""
    with open_h5(path) as f:
        return content_checksum(f)


@contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path`` atomically.

    One writer at a time (:func:`writer_lock`); the temporary file is flushed to disk
    before the rename and removed on failure, so a process killed mid-write leaves the
    previous file untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}{path.suffix}")
    with writer_lock(path):
        try:
            yield tmp
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, path)
            dir_fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        finally:
            if tmp.exists():
                tmp.unlink()


def write_table(table: ScoreTable, path: str | os.PathLike) -> str:
    """Write ``table`` atomically (temp file, fsync, rename); return its content sha256.

    A process killed mid-write leaves the previous file untouched.
    """
    with atomic_write(path) as tmp:
        with h5py.File(tmp, "w", track_order=False) as f:
            f.attrs["schema_version"] = SCHEMA_VERSION
            f.attrs["benchmark"] = table.benchmark
            f.attrs["space_id"] = table.space_id
            f.attrs["space_version"] = table.space_version
            f.attrs["provenance"] = json.dumps(table.provenance, sort_keys=True, indent=1)
            for ds_name, dt in table.datasets.items():
                g = f.create_group(ds_name)
                g.attrs["description"] = dt.description
                width = max((len(a.encode()) for a in dt.archs), default=1)
                # dense arrays stay uncompressed: opening a table must take milliseconds
                g.create_dataset(ARCHS, data=np.array([a.encode() for a in dt.archs], dtype=f"S{width}"),
                                 track_times=False)
                for m_name, m in dt.metrics.items():
                    sparse = m.values.size and np.isnan(m.values).mean() > 0.5
                    d = g.create_dataset(m_name, data=m.values, compression="gzip" if sparse else None,
                                         track_times=False)
                    for k in METRIC_ATTRS:
                        d.attrs[k] = getattr(m, k)
                # the same metadata in one attribute, so a reader needs one attribute read
                g.attrs[METRICS_JSON] = json.dumps(
                    {n: {k: getattr(m, k) for k in METRIC_ATTRS} for n, m in dt.metrics.items()}, sort_keys=True)
            f.flush()
            groups = {name: content_checksum(f, only=name) for name in table.datasets}
            digest = content_checksum(f)
            f.attrs["group_sha256"] = json.dumps(groups, sort_keys=True)
            f.attrs["content_sha256"] = digest
    return digest


def read_dataset(path: str | os.PathLike, dataset: str, build_hint: str = "", verify: bool = True):
    """Read one dataset group: ``(archs, {metric: Metric}, file attrs)``.

    With ``verify`` the group's content checksum is recomputed and compared with the
    one recorded at write time; a mismatch raises :class:`ChecksumError` naming the file.
    """
    path = Path(path)
    if not path.exists():
        hint = f"; build it with: {build_hint}" if build_hint else ""
        raise TableMissingError(f"score table {path} does not exist{hint}")
    if verify:  # first: internal checksums can be recomputed by whoever edits a file; MANIFEST is the reference
        check_file(path)
    with open_h5(path, build_hint) as f:  # damaged inside: h5py names neither file nor cause
        arrays, m_attrs, attrs = _read_group(f, path, dataset, verify, build_hint)
    archs = [a.decode() for a in arrays.pop(ARCHS)]
    metrics = {
        key: Metric(arr, unit=str(m_attrs[key]["unit"]), direction=str(m_attrs[key]["direction"]),
                    description=str(m_attrs[key].get("description", "")))
        for key, arr in arrays.items()
    }
    return archs, metrics, attrs


def _read_group(f: h5py.File, path: Path, dataset: str, verify: bool, build_hint: str):
    """``(arrays, metric attrs, file attrs)`` of one group, its checksum verified."""
    attrs = {k: f.attrs[k] for k in f.attrs}
    if int(attrs.get("schema_version", -1)) != SCHEMA_VERSION:
        raise ChecksumError(f"score table {path} has schema version {attrs.get('schema_version')!r}, this code reads {SCHEMA_VERSION}")
    if dataset not in f:
        from bench.errors import UnknownDatasetError

        raise UnknownDatasetError(dataset, sorted(f.keys()), f"in table {path}")
    grp = f[dataset]
    arrays, m_attrs = _load_group(grp)
    if verify:
        recorded = json.loads(attrs.get("group_sha256", "{}")).get(dataset)
        h = hashlib.sha256()
        _update_group_digest(h, dataset, arrays, m_attrs)
        actual = h.hexdigest()
        if recorded != actual:
            raise ChecksumError(
                f"score table {path}, dataset {dataset!r}: content checksum {actual[:16]}... does not match the "
                f"recorded {str(recorded)[:16]}...; the file is corrupt or was edited. Rebuild it"
                + (f" with: {build_hint}" if build_hint else "")
            )
    attrs["dataset_description"] = str(grp.attrs.get("description", ""))
    return arrays, m_attrs, attrs


def list_datasets(path: str | os.PathLike, verify: bool = True) -> list[str]:
    """The dataset groups of a table (with ``verify``, checked against its MANIFEST first)."""
    if verify:
        check_file(Path(path))
    with open_h5(path) as f:
        return sorted(k for k in f.keys() if isinstance(f[k], h5py.Group))
