"""``synK``: seeded synthetic sequence data whose label depends on known cross-modal paths.

Per sample (K modalities ``m1..mK``, T steps, valid length L ~ U{min_len..T}, left-padded):

- a latent trend z_t: z_1 ~ N(0,1), z_t = phi z_{t-1} + sqrt(1-phi^2) e_t;
- per modality m and step t: a key k_{m,t} (key_dim), a value a_{m,t}, nuisance u_{m,t}
  (nuisance_dim), and a static query q_m (the same at every step);
- observations x_{m,t} = W_m [s_m z_t, k_{m,t}, a_{m,t}, q_m, u_{m,t}] + noise_m e, with a
  fixed random W_m [d_m, 2 + 2 key_dim + nuisance_dim];
- the label y = trend + sum over paths (i -> j) of lambda_ij a_{i,t*}, with
  t* = argmax over valid t of <k_{i,t}, q_j> (a lookup that cross-attention with queries
  from j and keys/values from i performs), all scaled by 1/sqrt(trend_weight^2 + sum lambda^2)
  (unit variance), + sigma_y e, clipped to [-3, 3]; trend is the mean of z over the valid
  steps, scaled to unit variance over the data set.

Then modality m is natively missing (all zeros) with probability ``missing_rate[m]`` (at
least one modality stays present) and, with probability ``inconsistency_rate[m]``, shows
the content of another sample of the same part (a modality-label inconsistency).

The ground truth (which directed paths carry signal, lambda, noise per modality, rates)
is in the store's ``ground_truth`` and ``aux/truth/*``. Generation uses only numpy's
Generator and element-wise arithmetic in a fixed order (no BLAS, no transcendental
functions beyond the generator's own), so a setting gives the same bytes on every machine
with the same numpy random streams; the named settings' checksums are committed in
``data_cache/sequence/SYNTHETIC`` and checked on open.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from bench.errors import BenchError, ChecksumError, UnknownChoiceError
from bench.features.sequence import SequenceFormatError, SequenceStore, assemble, stores_dir

RECORD = "SYNTHETIC"
RECORD_HEADER = "name\tsetting_sha256\tcontent_sha256"
PARTS = ("train", "val", "test")


@dataclass(frozen=True)
class SynSetting:
    """Every knob of a synthetic set. Per-modality values are a number (all modalities) or a
    K-tuple; ``paths`` are ``(from, to, lambda)`` with 1-based modality numbers."""

    K: int = 3
    n: tuple[int, int, int] = (600, 100, 203)
    T: int = 20
    dims: tuple[int, ...] = (43, 41, 32)
    paths: tuple[tuple[int, int, float], ...] = ()
    informativeness: float | tuple[float, ...] = 1.0
    noise: float | tuple[float, ...] = 0.5
    missing_rate: float | tuple[float, ...] = 0.0
    inconsistency_rate: float | tuple[float, ...] = 0.0
    phi: float = 0.9
    sigma_y: float = 0.1
    trend_weight: float = 1.0
    min_len: int = 8
    key_dim: int = 4
    nuisance_dim: int = 4
    seed: int = 0
    #: > 0: for each path (i -> j) one valid step of i, drawn per sample, gets the key
    #: ``plant * sqrt(key_dim) * q_j / |q_j|`` (a planted match), so the looked-up step stands out
    #: by a margin attention can learn with few samples; 0: keys stay pure noise (the argmax
    #: is often a near-tie, learnable only with far more data than the proxies hold)
    plant: float = 0.0

    def per_modality(self, value) -> tuple[float, ...]:
        vals = (value,) * self.K if np.isscalar(value) else tuple(value)
        if len(vals) != self.K:
            raise SequenceFormatError(f"expected one value or {self.K} (one per modality), got {value!r}")
        return tuple(float(v) for v in vals)

    def check(self) -> "SynSetting":
        if self.K < 2:
            raise SequenceFormatError(f"K must be >= 2, got {self.K}")
        if len(self.dims) != self.K or min(self.dims) < 1:
            raise SequenceFormatError(f"dims must give {self.K} positive sizes, got {self.dims}")
        if not (1 <= self.min_len <= self.T) or min(self.n) < 2 or len(self.n) != 3:
            raise SequenceFormatError(f"need 1 <= min_len <= T and three part sizes >= 2; got min_len={self.min_len}, "
                                      f"T={self.T}, n={self.n}")
        if not (0 <= self.phi < 1):
            raise SequenceFormatError(f"phi must be in [0, 1), got {self.phi}")
        seen = set()
        for i, j, _ in self.paths:
            if not (1 <= i <= self.K and 1 <= j <= self.K and i != j) or (i, j) in seen:
                raise SequenceFormatError(f"path {i}->{j}: paths join two different modalities 1..{self.K}, once each")
            seen.add((i, j))
        for name in ("missing_rate", "inconsistency_rate"):
            if any(not 0 <= r <= 1 for r in self.per_modality(getattr(self, name))):
                raise SequenceFormatError(f"{name} must lie in [0, 1], got {getattr(self, name)!r}")
        if not (self.plant >= 0 and np.isfinite(self.plant)):
            raise SequenceFormatError(f"plant must be a finite number >= 0, got {self.plant}")
        if any(v < 0 for v in self.per_modality(self.noise) + (self.sigma_y,)):
            raise SequenceFormatError("noise levels must be >= 0")
        return self

    def to_json(self) -> dict:
        d = asdict(self)
        for k in ("informativeness", "noise", "missing_rate", "inconsistency_rate"):
            d[k] = list(self.per_modality(d[k]))
        d["n"], d["dims"] = list(self.n), list(self.dims)
        d["paths"] = [[int(i), int(j), float(w)] for i, j, w in self.paths]
        if not self.plant:
            del d["plant"]  # the settings recorded before this knob keep their checksums
        return d

    def sha256(self) -> str:
        return hashlib.sha256(json.dumps(self.to_json(), sort_keys=True).encode()).hexdigest()


A, T_, V = 1, 2, 3  # the design's audio, text, video roles for K=3
SETTINGS: dict[str, SynSetting] = {
    # two useful paths, A->T and V->A, smooth trend
    "syn3-p2": SynSetting(paths=((A, T_, 1.0), (V, A, 1.0))),
    # the same paths with a white-noise trend (phi = 0)
    "syn3-p2-phi0": SynSetting(paths=((A, T_, 1.0), (V, A, 1.0)), phi=0.0),
    # four useful paths
    "syn3-p4": SynSetting(paths=((A, T_, 1.0), (V, A, 1.0), (T_, V, 1.0), (A, V, 1.0))),
    # no path carries signal: only the unimodal trend matters
    "syn3-none": SynSetting(paths=()),
    # POM-like: modality 3 natively missing in 54% of samples, 10% inconsistent samples per modality
    "syn3-p2-miss": SynSetting(paths=((A, T_, 1.0), (V, A, 1.0)), missing_rate=(0.0, 0.0, 0.54),
                               inconsistency_rate=0.1),
    # K = 4, three paths
    "syn4-p3": SynSetting(K=4, dims=(43, 41, 32, 24), paths=((1, 2, 1.0), (3, 1, 1.0), (4, 2, 1.0))),
    # the syn3-p2 paths made learnable by the proxies' recipe (benchmarks/mro_synthetic_pilot.py): a
    # planted key match per path, less observation noise, the trend a smaller share of the label
    "syn3-p2-planted": SynSetting(paths=((A, T_, 1.0), (V, A, 1.0)), plant=3.0, noise=0.2, trend_weight=0.5),
    "syn4-p3-planted": SynSetting(K=4, dims=(43, 41, 32, 24), paths=((1, 2, 1.0), (3, 1, 1.0), (4, 2, 1.0)),
                                  plant=3.0, noise=0.2, trend_weight=0.5),
}


class UnknownSettingError(UnknownChoiceError):
    what = "synthetic setting"


def _rng(seed: int, *key: int) -> np.random.Generator:
    """An independent stream per component, so one knob does not reshuffle the others' draws."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


def _lincomb(h: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``h [..., c] @ w.T [c, d]`` as element-wise multiply-adds in a fixed order (no BLAS)."""
    out = np.zeros(h.shape[:-1] + (w.shape[0],))
    for c in range(h.shape[-1]):
        out += h[..., c, None] * w[:, c]
    return out


def generate(setting: SynSetting, name: str = "synK") -> SequenceStore:
    """The store of ``setting``: bit-identical for equal settings."""
    s = setting.check()
    K, T, kd, nd = s.K, s.T, s.key_dim, s.nuisance_dim
    N = sum(s.n)
    bounds = np.cumsum((0,) + tuple(s.n))
    part_of = np.repeat(np.arange(3), s.n)
    inform, noise = s.per_modality(s.informativeness), s.per_modality(s.noise)
    miss_rate, inc_rate = s.per_modality(s.missing_rate), s.per_modality(s.inconsistency_rate)

    lengths = _rng(s.seed, 0).integers(s.min_len, T + 1, size=N)
    valid = np.arange(T)[None, :] >= (T - lengths)[:, None]  # left padding
    e = _rng(s.seed, 1).standard_normal((N, T))
    z = np.empty((N, T))
    z[:, 0] = e[:, 0]
    c = np.sqrt(1.0 - s.phi * s.phi)
    for t in range(1, T):
        z[:, t] = s.phi * z[:, t - 1] + c * e[:, t]
    keys, values, queries, nuis = [], [], [], []
    for m in range(K):
        keys.append(_rng(s.seed, 2, m).standard_normal((N, T, kd)))
        values.append(_rng(s.seed, 3, m).standard_normal((N, T)))
        queries.append(_rng(s.seed, 4, m).standard_normal((N, kd)))
        nuis.append(_rng(s.seed, 5, m).standard_normal((N, T, nd)))

    if s.plant:
        for p, (i, j, _) in enumerate(s.paths):
            step = T - 1 - (_rng(s.seed, 11, p).random(N) * lengths).astype(np.int64)  # uniform over valid steps
            q = queries[j - 1]
            unit = q / np.sqrt((q * q).sum(axis=1, keepdims=True))
            keys[i - 1][np.arange(N), step] = s.plant * np.sqrt(kd) * unit

    # label
    trend = (z * valid).sum(axis=1) / lengths
    trend_sd = float(trend.std())
    parts = [s.trend_weight * trend / trend_sd]
    for i, j, lam in s.paths:
        score = np.zeros((N, T))
        for c_ in range(kd):
            score += keys[i - 1][:, :, c_] * queries[j - 1][:, None, c_]
        t_star = np.argmax(np.where(valid, score, -np.inf), axis=1)
        parts.append(lam * values[i - 1][np.arange(N), t_star])
    # every term has unit variance; scaling their sum to unit variance keeps clipping rare for any path count
    label_scale = 1.0 / float(np.sqrt(s.trend_weight ** 2 + sum(lam * lam for _, _, lam in s.paths)))
    label_parts = np.stack(parts, axis=1) * label_scale
    y_clean = label_parts.sum(axis=1)
    y = np.clip(y_clean + s.sigma_y * _rng(s.seed, 6).standard_normal(N), -3.0, 3.0)

    # native missingness (at least one modality stays present) and inconsistency
    missing = np.stack([_rng(s.seed, 7, m).random(N) < miss_rate[m] for m in range(K)], axis=1)
    missing[missing.all(axis=1), 0] = False
    source_row = np.tile(np.arange(N)[:, None], (1, K))
    for m in range(K):
        r = _rng(s.seed, 8, m)
        flip = r.random(N) < inc_rate[m]
        for p in range(3):
            lo, hi = bounds[p], bounds[p + 1]
            perm = lo + r.permutation(hi - lo)
            perm = np.where(perm == np.arange(lo, hi), lo + (perm - lo + 1) % (hi - lo), perm)  # never itself
            sel = flip[lo:hi]
            source_row[lo:hi, m][sel] = perm[sel]

    mods, vals = {}, {}
    for m in range(K):
        w = _rng(s.seed, 9, m).standard_normal((s.dims[m], 2 + 2 * kd + nd)) / np.sqrt(2 + 2 * kd + nd)
        src = source_row[:, m]
        h = np.concatenate([inform[m] * z[src][..., None], keys[m][src], values[m][src][..., None],
                            np.repeat(queries[m][src][:, None, :], T, axis=1), nuis[m][src]], axis=2)
        x = _lincomb(h, w) + noise[m] * _rng(s.seed, 10, m).standard_normal((N, T, s.dims[m]))
        v = valid[src]
        mods[f"m{m + 1}"] = np.where(v[..., None], x, 0.0)
        vals[f"m{m + 1}"] = v
    names = list(mods)
    splits = {"standard": {p: np.arange(bounds[k], bounds[k + 1]) for k, p in enumerate(PARTS)}}
    arrays = assemble(mods, vals, {"y": y, "y_binary": (y >= 0).astype(np.int64)}, splits, missing=missing,
                      aux={"truth/label_parts": label_parts.astype(np.float32),
                           "truth/inconsistent": (source_row != np.arange(N)[:, None]).astype(np.uint8),
                           "truth/source_row": source_row.astype(np.int64),
                           "truth/part": part_of.astype(np.int64)})
    all_paths = [f"m{i}->m{j}" for i in range(1, K + 1) for j in range(1, K + 1) if i != j]
    truth = {"setting": s.to_json(), "modalities": names,
             "signal_paths": [f"m{i}->m{j}" for i, j, _ in s.paths],
             "lambda": {f"m{i}->m{j}": float(w) for i, j, w in s.paths},
             "all_paths": all_paths, "noise": dict(zip(names, noise)), "informativeness": dict(zip(names, inform)),
             "missing_rate": dict(zip(names, miss_rate)), "inconsistency_rate": dict(zip(names, inc_rate)),
             "trend_sd": trend_sd, "label_scale": label_scale,
             "label_parts": ["trend"] + [f"m{i}->m{j}" for i, j, _ in s.paths],
             "clipped_share": float(np.mean(np.abs(y_clean) > 3.0))}
    meta = {"modalities": names, "ground_truth": truth,
            "label_info": {"y": "(trend + sum of path terms) * label_scale + noise, clipped to [-3, 3]", "y_binary": "y >= 0"}}
    prov = {"generator": "bench.features.synthetic.generate", "setting_sha256": s.sha256(),
            "numpy": np.__version__}
    desc = (f"synthetic: K={K}, paths {truth['signal_paths'] or 'none'}, phi={s.phi}, noise {list(noise)}, "
            f"missing {list(miss_rate)}, inconsistency {list(inc_rate)}, seed {s.seed}")
    return SequenceStore.from_arrays(name, desc, arrays, meta, prov)


def make(K: int = 3, n: tuple[int, int, int] = (600, 100, 203), T: int = 20, d: int | tuple[int, ...] | None = None,
         paths=(), noise=0.5, missing_rate=0.0, inconsistency_rate=0.0, seed: int = 0, **kw) -> SequenceStore:
    """Any setting by its knobs (``d`` one size or K sizes; default 43, 41, 32, 24, ...)."""
    default = (43, 41, 32, 24)
    dims = (tuple(d) if d is not None and not np.isscalar(d) else
            (int(d),) * K if d is not None else tuple(default[m % 4] for m in range(K)))
    return generate(SynSetting(K=K, n=tuple(n), T=T, dims=dims, paths=tuple(tuple(p) for p in paths), noise=noise,
                               missing_rate=missing_rate, inconsistency_rate=inconsistency_rate, seed=seed, **kw))


def score_paths(store: SequenceStore, selected: list[str]) -> dict[str, float]:
    """Precision, recall, F1 and Jaccard of a set of selected directed paths (``"m1->m2"``)
    against the store's signal paths."""
    truth = store.ground_truth
    if not truth:
        raise BenchError(f"store {store.name!r} has no ground truth (not a synthetic store)")
    bad = [p for p in selected if p not in truth["all_paths"]]
    if bad:
        raise UnknownChoiceError(bad[0], truth["all_paths"], "(directed path)")
    sel, true = set(selected), set(truth["signal_paths"])
    tp = len(sel & true)
    prec = tp / len(sel) if sel else float(not true)
    rec = tp / len(true) if true else float(not sel)
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    union = sel | true
    return {"precision": prec, "recall": rec, "f1": f1, "jaccard": len(sel & true) / len(union) if union else 1.0}


# -- the committed record of the named settings ------------------------------------------
def read_record(directory: Path | None = None) -> dict[str, tuple[str, str]]:
    path = Path(directory or stores_dir()) / RECORD
    if not path.exists():
        return {}
    out = {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if n == 1 or not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 3:
            raise ChecksumError(f"{path}, line {n}: expected '{RECORD_HEADER}', got {line!r}")
        out[fields[0]] = (fields[1], fields[2])
    return out


def open_setting(name: str, directory: Path | None = None) -> SequenceStore:
    """Generate a named setting and check it against the committed record."""
    if name not in SETTINGS:
        raise UnknownSettingError(name, SETTINGS)
    store = generate(SETTINGS[name], name)
    entry = read_record(directory).get(name)
    if entry is None:
        raise ChecksumError(f"{Path(directory or stores_dir()) / RECORD} has no entry for {name!r}: record it with "
                            "bench.features.synthetic.record_settings()")
    if entry[0] != SETTINGS[name].sha256():
        raise ChecksumError(f"synthetic setting {name!r} was changed in code (setting sha256 {entry[0][:16]}... "
                            "recorded): record it again with record_settings(accept_new_reference=True)")
    if entry[1] != store.content_sha256:
        raise ChecksumError(f"synthetic setting {name!r} generates content {store.content_sha256[:16]}..., the record "
                            f"says {entry[1][:16]}...: this machine's numpy random streams differ from the build's")
    return store


def record_settings(directory: Path | None = None, accept_new_reference: bool = False) -> dict[str, str]:
    """Generate every named setting and write its checksums to ``SYNTHETIC``; a recorded
    setting whose content changed is an error unless ``accept_new_reference``."""
    from bench.builders.common import ReferenceChangedError
    from bench.tablefile import atomic_write

    directory = Path(directory or stores_dir())
    old = read_record(directory)
    new = {name: (s.sha256(), generate(s, name).content_sha256) for name, s in SETTINGS.items()}
    changed = [k for k in new if k in old and old[k] != new[k]]
    if changed and not accept_new_reference:
        raise ReferenceChangedError(f"synthetic settings {changed} generate other content than recorded in "
                                    f"{directory / RECORD}; nothing was replaced (accept_new_reference=True to do so)")
    lines = [RECORD_HEADER] + [f"{k}\t{v[0]}\t{v[1]}" for k, v in sorted(new.items())]
    with atomic_write(directory / RECORD) as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    return {k: v[1] for k, v in new.items()}


def verify_settings(directory: Path | None = None) -> list[str]:
    """One ``ok`` line per named setting whose generated content equals the record."""
    record = read_record(directory)
    missing = sorted(set(SETTINGS) - set(record))
    if missing:
        raise ChecksumError(f"{Path(directory or stores_dir()) / RECORD} has no entry for {', '.join(missing)}")
    return [f"ok  {name} (synthetic)  content {open_setting(name, directory).content_sha256[:16]}..."
            for name in SETTINGS]
