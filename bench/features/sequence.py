"""Sequence stores: per-sample, per-modality sequences with native missingness.

Layout of ``data_cache/sequence/<name>.h5`` (and of a store built in memory by
:mod:`bench.features.synthetic` or :mod:`bench.features.loaders`)::

    /modalities/<m>          float32 [n, T_m, d_m]  raw features, padding rows are zeros
    /valid/<m>               uint8   [n, T_m]       1 = a real step (not padding)
    /missing                 uint8   [n, M]         1 = modality absent for the sample (native),
                                                    columns in ``modalities`` order
    /labels/<label>          float32 or int64 [n, ...]
    /splits/<split>/<part>   int64 row indices
    /scaling/<split>/<m>/{mean,std}  float32 [d_m], from the valid steps of the split's
                                     training rows where the modality is present
    /groups/{video,position} int64 [n] (dialogue data: utterance -> video, order in it)
    /groups/video_ids        bytes [n_videos]
    /aux/...                 anything else the store documents (token ids, truth, ...)
    attrs: name, description, modalities (JSON list), label_info (JSON),
           provenance (JSON), ground_truth (JSON, synthetic stores), content_sha256

``content_sha256`` covers every dataset (name, dtype, shape, bytes) and the attributes
``modalities``, ``label_info`` and ``ground_truth``: a synthetic store's truth cannot be
edited without the checksum noticing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from bench.errors import BenchError, ChecksumError, TableMissingError, UnknownChoiceError
from bench.manifest import check_file
from bench.paths import data_cache_dir
from bench.tablefile import atomic_write

META_ATTRS = ("modalities", "label_info", "ground_truth")
BUILT = ("pom", "mosi", "pom-levels", "mosi-levels")  # shipped as files (*-levels derived: bench.features.sequence_levels);
# synthetic settings are generated (bench.features.synthetic)


class UnknownSequenceStoreError(UnknownChoiceError):
    what = "sequence store"


class UnknownSplitError(UnknownChoiceError):
    what = "split"


class SequenceFormatError(BenchError, ValueError):
    """Data that does not have the structure a store or a paper format requires."""


def stores_dir() -> Path:
    return data_cache_dir() / "sequence"


def stores() -> list[str]:
    """Every store name :func:`open` accepts: the built ones and the named synthetic settings."""
    from bench.features.synthetic import SETTINGS

    return list(BUILT) + list(SETTINGS)


def content_digest(arrays: dict[str, np.ndarray], meta: dict) -> str:
    """sha256 over the arrays (sorted by path) and the checksummed attributes."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        arr = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{arr.dtype.str}|{arr.shape}|".encode())
        h.update(arr.tobytes())
    for key in META_ATTRS:
        h.update(f"@{key}|{json.dumps(meta.get(key), sort_keys=True)}|".encode())
    return h.hexdigest()


def _strings(values) -> np.ndarray:
    """Fixed-length UTF-8 bytes: their bytes (and so the checksum) do not depend on pointers."""
    return np.array([(v if isinstance(v, bytes) else str(v).encode("utf-8")) for v in values], dtype=bytes)


def assemble(modalities: dict[str, np.ndarray], valid: dict[str, np.ndarray], labels: dict[str, np.ndarray],
             splits: dict[str, dict[str, np.ndarray]], groups: dict[str, np.ndarray] | None = None,
             aux: dict[str, np.ndarray] | None = None, missing: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The array dict of a store, with checks and train-only scaling.

    ``missing`` defaults to "no valid step"; where given, a missing modality's steps are
    zeroed and marked invalid so that the two never disagree.
    """
    names = list(modalities)
    if not names:
        raise SequenceFormatError("a store needs at least one modality")
    n = len(next(iter(modalities.values())))
    out: dict[str, np.ndarray] = {}
    for m in names:
        x = np.asarray(modalities[m])
        if x.ndim != 3 or len(x) != n:
            raise SequenceFormatError(f"modality {m!r}: expected [n={n}, T, d], got shape {x.shape}")
        v = np.asarray(valid[m]).astype(bool)
        if v.shape != x.shape[:2]:
            raise SequenceFormatError(f"modality {m!r}: valid mask has shape {v.shape}, expected {x.shape[:2]}")
        out[f"modalities/{m}"] = np.where(v[..., None], x, 0).astype(np.float32)
        out[f"valid/{m}"] = v.astype(np.uint8)
    miss = (np.stack([~out[f"valid/{m}"].astype(bool).any(axis=1) for m in names], axis=1) if missing is None
            else np.asarray(missing).astype(bool))
    if miss.shape != (n, len(names)):
        raise SequenceFormatError(f"missing mask has shape {miss.shape}, expected {(n, len(names))}")
    for j, m in enumerate(names):
        out[f"valid/{m}"][miss[:, j]] = 0
        out[f"modalities/{m}"][miss[:, j]] = 0
    out["missing"] = miss.astype(np.uint8)
    if not labels:
        raise SequenceFormatError("a store needs at least one label array")
    for k, y in labels.items():
        y = np.asarray(y)
        if len(y) != n:
            raise SequenceFormatError(f"label {k!r} has {len(y)} rows, the modalities {n}")
        out[f"labels/{k}"] = y.astype(np.int64 if y.dtype.kind in "iub" else np.float32)
    for s, parts in splits.items():
        seen = np.concatenate([np.asarray(p, dtype=np.int64) for p in parts.values()])
        if len(seen) and (seen.min() < 0 or seen.max() >= n or len(np.unique(seen)) != len(seen)):
            raise SequenceFormatError(f"split {s!r}: parts must be disjoint row indices in 0..{n - 1}")
        for p, idx in parts.items():
            out[f"splits/{s}/{p}"] = np.asarray(idx, dtype=np.int64)
        train = np.asarray(parts.get("train", np.arange(n)), dtype=np.int64)
        for j, m in enumerate(names):
            x = out[f"modalities/{m}"][train].astype(np.float64)
            sel = out[f"valid/{m}"][train].astype(bool)
            frames = x[sel]  # [n_frames, d], only real steps of present modalities
            d = x.shape[2]
            mean = frames.mean(axis=0) if len(frames) else np.zeros(d)
            std = frames.std(axis=0) if len(frames) else np.ones(d)
            out[f"scaling/{s}/{m}/mean"] = mean.astype(np.float32)
            # constant columns (flags, zero features) keep their value instead of dividing by zero
            out[f"scaling/{s}/{m}/std"] = np.where(std > 1e-12, std, 1.0).astype(np.float32)
    for k, v in (groups or {}).items():
        v = np.asarray(v)
        out[f"groups/{k}"] = _strings(v) if v.dtype.kind in "OUS" else v.astype(np.int64)
    for k, v in (aux or {}).items():
        v = np.asarray(v)
        out[f"aux/{k}"] = _strings(v.ravel()).reshape(v.shape) if v.dtype.kind in "OU" else v
    return out


@dataclass
class Part:
    """One split part: sequences per modality, their masks and the labels."""

    rows: np.ndarray
    x: dict[str, np.ndarray]       # modality -> float32 [n, T, d]
    valid: dict[str, np.ndarray]   # modality -> bool [n, T]
    missing: np.ndarray            # bool [n, M]
    labels: dict[str, np.ndarray]


@dataclass
class SequenceStore:
    """A store in memory, checksum verified (files) or computed (generated stores)."""

    name: str
    description: str
    arrays: dict[str, np.ndarray]
    meta: dict
    provenance: dict
    content_sha256: str
    modalities: list[str] = field(init=False)

    def __post_init__(self):
        self.modalities = list(self.meta["modalities"])

    @classmethod
    def from_arrays(cls, name: str, description: str, arrays: dict[str, np.ndarray], meta: dict,
                    provenance: dict) -> "SequenceStore":
        return cls(name, description, arrays, meta, provenance, content_digest(arrays, meta))

    # -- structure -------------------------------------------------------------------------
    @property
    def n(self) -> int:
        return len(self.arrays["missing"])

    @property
    def dims(self) -> dict[str, int]:
        return {m: self.arrays[f"modalities/{m}"].shape[2] for m in self.modalities}

    @property
    def steps(self) -> dict[str, int]:
        return {m: self.arrays[f"modalities/{m}"].shape[1] for m in self.modalities}

    @property
    def label_names(self) -> list[str]:
        return sorted(k.split("/", 1)[1] for k in self.arrays if k.startswith("labels/"))

    @property
    def splits(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for k in self.arrays:
            if k.startswith("splits/"):
                _, s, p = k.split("/")
                out.setdefault(s, []).append(p)
        return out

    @property
    def ground_truth(self) -> dict | None:
        return self.meta.get("ground_truth")

    def group(self, key: str) -> np.ndarray:
        if f"groups/{key}" not in self.arrays:
            raise UnknownChoiceError(key, sorted(k[7:] for k in self.arrays if k.startswith("groups/")),
                                     f"(groups of {self.name!r})")
        return self.arrays[f"groups/{key}"]

    def aux(self, key: str) -> np.ndarray:
        if f"aux/{key}" not in self.arrays:
            raise UnknownChoiceError(key, sorted(k[4:] for k in self.arrays if k.startswith("aux/")),
                                     f"(aux arrays of {self.name!r})")
        return self.arrays[f"aux/{key}"]

    def native_missing_rate(self, split: str | None = None, part: str | None = None) -> dict[str, float]:
        """Share of samples in which each modality is natively absent."""
        miss = self.arrays["missing"] if split is None else self.arrays["missing"][self.rows(split, part or "train")]
        return {m: float(miss[:, j].mean()) for j, m in enumerate(self.modalities)}

    # -- access ----------------------------------------------------------------------------
    def rows(self, split: str, part: str) -> np.ndarray:
        sp = self.splits
        if split not in sp:
            raise UnknownSplitError(split, sp, f"in sequence store {self.name!r}")
        if part not in sp[split]:
            raise UnknownSplitError(f"{split}/{part}", [f"{split}/{p}" for p in sp[split]])
        return self.arrays[f"splits/{split}/{part}"]

    def part(self, split: str = "standard", part: str = "train", modalities: list[str] | None = None,
             standardize: bool = True) -> Part:
        """One part's arrays; with ``standardize`` the real steps are scaled with the split's
        training statistics and padding/missing steps stay exactly zero."""
        idx = self.rows(split, part)
        names = modalities or self.modalities
        unknown = [m for m in names if m not in self.modalities]
        if unknown:
            raise UnknownChoiceError(unknown[0], self.modalities, f"(modality of {self.name!r})")
        xs, vs = {}, {}
        for m in names:
            x = self.arrays[f"modalities/{m}"][idx]
            v = self.arrays[f"valid/{m}"][idx].astype(bool)
            if standardize:
                mean = self.arrays[f"scaling/{split}/{m}/mean"]
                std = self.arrays[f"scaling/{split}/{m}/std"]
                x = np.where(v[..., None], (x - mean) / std, 0).astype(np.float32)
            xs[m], vs[m] = x, v
        cols = [self.modalities.index(m) for m in names]
        labels = {k: self.arrays[f"labels/{k}"][idx] for k in self.label_names}
        return Part(idx, xs, vs, self.arrays["missing"][idx][:, cols].astype(bool), labels)

    def dialogues(self, split: str = "standard", part: str = "train") -> list[np.ndarray]:
        """Row indices of each video (dialogue) in the part, in utterance order; videos in
        order of first appearance."""
        idx = self.rows(split, part)
        video, pos = self.group("video")[idx], self.group("position")[idx]
        out = []
        for v in dict.fromkeys(video.tolist()):
            sel = idx[video == v]
            out.append(sel[np.argsort(pos[video == v], kind="stable")])
        return out


# -- files -------------------------------------------------------------------------------
def write_store(path: Path, store: SequenceStore) -> str:
    """Write atomically (lock, temp file, fsync, rename); return the content sha256."""
    with atomic_write(path) as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs.update(name=store.name, description=store.description,
                           provenance=json.dumps(store.provenance, sort_keys=True, indent=1))
            for key in META_ATTRS:
                f.attrs[key] = json.dumps(store.meta.get(key), sort_keys=True)
            for k in sorted(store.arrays):
                arr = store.arrays[k]
                big = arr.nbytes > 16384  # small arrays compress worse than their chunk overhead
                f.create_dataset(k, data=arr, track_times=False, compression="gzip" if big else None,
                                 shuffle=big)
            f.attrs["content_sha256"] = store.content_sha256
    return store.content_sha256


def _datasets(f: h5py.File) -> dict[str, np.ndarray]:
    names: list[str] = []
    f.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
    return {n: f[n][()] for n in sorted(names)}


def read_store(path: Path, name: str | None = None) -> SequenceStore:
    """Read and verify the store file at ``path`` (content checksum, name, MANIFEST)."""
    path = Path(path)
    name = name or path.name.split(".")[0]
    if not path.exists():
        raise TableMissingError(f"sequence store {path} does not exist; build it with: "
                                f"mmnas-bench sequence build {name}")
    try:
        with h5py.File(path, "r") as f:
            arrays = _datasets(f)
            meta = {k: json.loads(f.attrs[k]) for k in META_ATTRS}
            attrs = {k: f.attrs[k] for k in ("name", "description", "provenance", "content_sha256")}
    except (OSError, KeyError, ValueError, RuntimeError) as exc:  # h5py's errors on damaged files name no file
        raise ChecksumError(f"sequence store {path} cannot be read ({type(exc).__name__}: {exc}); the file is "
                            f"damaged: restore it or rebuild it with: mmnas-bench sequence build {name}") from None
    digest = content_digest(arrays, meta)
    if digest != attrs["content_sha256"]:
        raise ChecksumError(f"sequence store {path}: content checksum does not match; rebuild it with: "
                            f"mmnas-bench sequence build {name}")
    if str(attrs["name"]) != name:
        raise ChecksumError(f"sequence store {path} holds the store {str(attrs['name'])!r}, not {name!r}: a file "
                            f"was copied over it; restore it or rebuild it with: mmnas-bench sequence build {name}")
    check_file(path, digest)
    return SequenceStore(name, str(attrs["description"]), arrays, meta, json.loads(attrs["provenance"]), digest)


def open(name: str, directory: Path | None = None) -> SequenceStore:  # noqa: A001
    """Open a shipped store (``pom``, ``mosi``, ``pom-levels``) or generate a named synthetic setting
    (checked against its committed checksum)."""
    from bench.features.synthetic import SETTINGS, open_setting

    if name in SETTINGS:
        return open_setting(name, directory)
    if name not in BUILT:
        raise UnknownSequenceStoreError(name, stores())
    return read_store(Path(directory or stores_dir()) / f"{name}.h5", name)


def build(name: str, accept_new_reference: bool = False, **kw) -> Path:
    """Build a shipped store (``pom``, ``mosi``: :func:`bench.features.sequence_build.build`, keyword
    arguments passed on) or, for a synthetic setting's name, record every named setting's checksum
    (:func:`bench.features.synthetic.record_settings`); returns the file written or kept."""
    from bench.features.synthetic import RECORD, SETTINGS, record_settings

    if name in SETTINGS:
        record_settings(kw.get("out_dir"), accept_new_reference)
        return Path(kw.get("out_dir") or stores_dir()) / RECORD
    if name not in BUILT:
        raise UnknownSequenceStoreError(name, stores())
    from bench.features.sequence_build import build as build_store

    return build_store(name, accept_new_reference=accept_new_reference, **kw)


def verify(directory: Path | None = None) -> list[str]:
    """Check every shipped store against the committed ``sequence/MANIFEST`` and its own content
    checksum, and every named synthetic setting against its committed checksum; one ``ok``
    line each."""
    from bench.features.synthetic import verify_settings
    from bench.manifest import verify_manifest

    directory = Path(directory) if directory else stores_dir()
    return verify_manifest(directory, read_store) + verify_settings(directory)
