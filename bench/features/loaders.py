"""Loaders of the papers' own data files into :class:`~bench.features.sequence.SequenceStore`.

A user who has the real files opens them here and gets the same store object as the
shipped ``pom``/``mosi`` stores (modalities ``[n, T, d]``, valid masks, native missingness,
labels, the file's own split as ``standard``, dialogue groups where the format has them),
so every family that takes a store runs on them. Nothing is downloaded. Pickles are read
by :func:`read_pickle`, which builds only numpy arrays and plain Python containers and
refuses any other global (a crafted pickle cannot run code).

| loader | format (field names as in the published files) |
|---|---|
| :func:`load_mmsa` | MMSA ``aligned_50.pkl``/``unaligned_*.pkl`` (CMU-MOSI, CMU-MOSEI, CH-SIMS) |
| :func:`load_mult` | MulT ``<data>_data.pkl``/``_data_noalign.pkl`` (aligned or not) |
| :func:`load_dialoguernn` | DialogueRNN ``IEMOCAP_features_raw.pkl``/``MELD_features_raw.pkl`` |
| :func:`load_gcnet` | GCNet label pickle (7-tuple) + per-utterance ``<utt>.npy`` feature folders |
| :func:`load_mmimdb` | the Fuel ``multimodal_imdb.hdf5`` of MM-IMDB (text/VGG features, genres) |
| :func:`load_ntu_skeletons` | NTU RGB+D ``*.skeleton`` files, BM-NAS's cross-subject split; optionally per-sample RGB backbone features ``<sample>.npy`` |
| :func:`load_egogesture` | EgoGesture label CSVs (``labels-final-revised1``) + per-frame backbone features per recording (``.npy``) |
"""

from __future__ import annotations

import _compat_pickle
import collections
import json
import pickle
import re
from pathlib import Path

import h5py
import numpy as np

from bench.errors import SourceMissingError
from bench.features.sequence import SequenceFormatError, SequenceStore, assemble

MMSA_PARTS = {"train": "train", "valid": "val", "test": "test"}
MMIMDB_SIZES = (15552, 2608, 7799)  # the standard train/dev/test split of the 25,959 movies
NTU_TRAIN_SUBJECTS = (1, 4, 8, 13, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38)
NTU_DEV_SUBJECTS = (2, 5, 9, 14)  # BM-NAS holds these cross-subject training subjects out as dev
#: EgoGesture's subject split (50 subjects; the dataset's own 30/10/10)
EGO_VAL_SUBJECTS = (1, 7, 12, 13, 24, 29, 33, 34, 35, 37)
EGO_TEST_SUBJECTS = (2, 9, 11, 14, 18, 19, 28, 31, 41, 47)
EGO_CLASSES = 83


def _exists(path) -> Path:
    path = Path(path)
    if not path.exists():
        raise SourceMissingError(f"{path} does not exist")
    return path


def _latin1_bytes(text, encoding="latin1") -> bytes:
    # Python 3 writes bytes (numpy buffers included) as _codecs.encode(str, 'latin1') at protocols < 3;
    # only that use is served, not arbitrary codecs
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"_codecs.encode is only read as encode(str, 'latin1'), got {encoding!r}")
    return text.encode("latin1")


def _allowed_globals() -> dict[tuple[str, str], object]:
    # The numpy callables are taken from numpy's own reduce output, so the 1.x names
    # (numpy.core.*) and the 2.x names (numpy._core.*) both resolve without importing either
    # path (numpy 2 warns on numpy.core).
    reconstruct, scalar = np.zeros(0).__reduce__()[0], np.float64(0).__reduce__()[0]
    frombuffer = np.zeros(1).__reduce_ex__(5)[0]  # protocol 5 arrays
    allowed = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype, ("_codecs", "encode"): _latin1_bytes,
               ("collections", "OrderedDict"): collections.OrderedDict,
               ("collections", "defaultdict"): collections.defaultdict}
    for core in ("numpy.core", "numpy._core"):
        allowed[(f"{core}.multiarray", "_reconstruct")] = reconstruct
        allowed[(f"{core}.multiarray", "scalar")] = scalar
        allowed[(f"{core}.numeric", "_frombuffer")] = frombuffer
    for t in (dict, list, tuple, set, frozenset, int, float, complex, str, bytes, bytearray, bool, slice, range):
        allowed[("builtins", t.__name__)] = t
    return allowed


def _py3_global(module: str, name: str) -> tuple[str, str]:
    # Python 2 names (__builtin__.unicode, copy_reg, ...) mapped as pickle itself maps them
    if (module, name) in _compat_pickle.NAME_MAPPING:
        return _compat_pickle.NAME_MAPPING[(module, name)]
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


class _DataUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the globals of :func:`_allowed_globals`.

    Every callable REDUCE/BUILD/NEWOBJ/EXT* can reach comes through ``find_class``, so
    refusing here refuses code execution. ``persistent_load`` is left undefined: the base
    class raises ``UnpicklingError`` on persistent ids.
    """

    _ALLOWED: dict | None = None

    def __init__(self, fh, path):
        super().__init__(fh, encoding="latin1")  # latin1: the Python 2 pickles of DialogueRNN and GCNet
        self._path = path
        if _DataUnpickler._ALLOWED is None:
            _DataUnpickler._ALLOWED = _allowed_globals()

    def find_class(self, module, name):
        key = _py3_global(module, name)
        if key in self._ALLOWED:
            return self._ALLOWED[key]
        written = "" if key == (module, name) else f" (written '{module}.{name}')"
        raise SequenceFormatError(f"{self._path} refuses to load global '{'.'.join(key)}'{written}: only numpy "
                                  "arrays and plain Python containers are read from data files")


def read_pickle(path) -> object:
    """The object of the pickle at ``path``, restricted to numpy arrays and plain containers.

    Raises :class:`SequenceFormatError` on a refused global or an unreadable pickle.
    """
    path = _exists(path)
    try:
        with open(path, "rb") as fh:
            return _DataUnpickler(fh, path).load()
    except SequenceFormatError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError) as exc:
        raise SequenceFormatError(f"{path} is not a readable pickle ({type(exc).__name__}: {exc})") from None


def _need(d: dict, keys, where: str) -> None:
    missing = [k for k in keys if k not in d]
    if missing:
        raise SequenceFormatError(f"{where}: missing key(s) {missing}; found {sorted(map(str, d))}")


def _nonzero_steps(x: np.ndarray) -> np.ndarray:
    return np.any(x != 0, axis=2)


def _seq(x, where: str, n: int | None = None) -> np.ndarray:
    x = np.array(x, dtype=np.float64)
    if x.ndim == 2:  # one vector per sample: a sequence of one step
        x = x[:, None, :]
    if x.ndim != 3 or (n is not None and len(x) != n):
        raise SequenceFormatError(f"{where}: expected [n{'=' + str(n) if n is not None else ''}, T, d], "
                                  f"got shape {x.shape}")
    x[~np.isfinite(x)] = 0  # MulT/MMSA audio holds -inf for silent frames
    return x


def _concat_parts(parts: list[tuple[str, dict]], name: str, description: str, meta_labels: dict,
                  prov: dict) -> SequenceStore:
    """Concatenate per-part dicts ``{x: {m: [n,T,d]}, valid, labels, groups?, aux?}`` into one store;
    sequences of different lengths are padded at the end with invalid steps."""
    mods = list(parts[0][1]["x"])
    T = {m: max(p["x"][m].shape[1] for _, p in parts) for m in mods}
    x, valid, labels, groups, aux, splits = {}, {}, {}, {}, {}, {"standard": {}}
    start = 0
    for part, p in parts:
        n = len(next(iter(p["labels"].values())))
        for m in mods:
            if p["x"][m].shape[2] != _dim(parts, m):
                raise SequenceFormatError(f"{name} {part}: modality {m!r} has {p['x'][m].shape[2]} features, "
                                          f"another part {_dim(parts, m)}")
            pad = T[m] - p["x"][m].shape[1]
            x.setdefault(m, []).append(np.pad(p["x"][m], ((0, 0), (0, pad), (0, 0))))
            valid.setdefault(m, []).append(np.pad(p["valid"][m], ((0, 0), (0, pad))))
        for k, v in p["labels"].items():
            labels.setdefault(k, []).append(np.asarray(v))
        for k, v in p.get("groups", {}).items():
            groups.setdefault(k, []).append(np.asarray(v))
        for k, v in p.get("aux", {}).items():
            aux.setdefault(k, []).append(np.asarray(v))
        splits["standard"][part] = np.arange(start, start + n)
        start += n
    cat = {k: np.concatenate(v) for k, v in groups.items()}
    if "video" in cat and cat["video"].dtype.kind in "OUS":
        # dialogue grouping: video ids -> index into groups/video_ids
        ids = list(dict.fromkeys(cat["video"].tolist()))
        index = {v: i for i, v in enumerate(ids)}
        cat["video_ids"] = np.array(ids, dtype=object)
        cat["video"] = np.array([index[v] for v in cat["video"].tolist()])
    arrays = assemble({m: np.concatenate(v) for m, v in x.items()}, {m: np.concatenate(v) for m, v in valid.items()},
                      {k: np.concatenate(v) for k, v in labels.items()}, splits, groups=cat,
                      aux={k: np.concatenate(v) for k, v in aux.items()})
    meta = {"modalities": mods, "label_info": meta_labels, "ground_truth": None}
    return SequenceStore.from_arrays(name, description, arrays, meta, prov)


def _dim(parts, m: str) -> int:
    return parts[0][1]["x"][m].shape[2]


# -- MMSA ----------------------------------------------------------------------------------
def _split_dicts(path, what: str, keys: tuple[str, ...]):
    """``(part, arrays, where)`` for the train/valid/test dicts of a pickle whose parts each
    hold ``keys``; a wrong structure is a named error."""
    data = read_pickle(path)
    if not isinstance(data, dict):
        raise SequenceFormatError(f"{path}: {what} is a dict with 'train', 'valid', 'test'; got {type(data).__name__}")
    _need(data, MMSA_PARTS, str(path))
    for src, part in MMSA_PARTS.items():
        d, where = data[src], f"{path} [{src!r}]"
        if not isinstance(d, dict):
            raise SequenceFormatError(f"{where}: expected a dict of arrays, got {type(d).__name__}")
        _need(d, keys, where)
        yield part, d, where


def load_mmsa(path, name: str = "mmsa") -> SequenceStore:
    """An MMSA pickle: ``{train, valid, test}`` each with ``text`` (BERT features [n, T, 768]),
    ``text_bert`` ([n, 3, T]: ids, mask, segments; its mask marks real tokens), ``audio``,
    ``vision``, optional ``audio_lengths``/``vision_lengths`` (unaligned files),
    ``regression_labels`` (and ``regression_labels_T/A/V`` in CH-SIMS),
    ``classification_labels``, ``id`` (``video$_$clip``) and ``raw_text``."""
    parts = []
    for part, d, where in _split_dicts(path, "an MMSA pickle", ("text", "audio", "vision", "regression_labels")):
        y = np.asarray(d["regression_labels"], dtype=np.float64).reshape(-1)
        n = len(y)
        x = {"text": _seq(d["text"], f"{where} text", n), "audio": _seq(d["audio"], f"{where} audio", n),
             "vision": _seq(d["vision"], f"{where} vision", n)}
        valid = {m: _nonzero_steps(v) for m, v in x.items()}
        tb = np.asarray(d["text_bert"]) if "text_bert" in d else None
        if tb is not None and tb.ndim == 3 and tb.shape[0] == n and tb.shape[1] == 3 and tb.shape[2] == x["text"].shape[1]:
            valid["text"] = tb[:, 1, :] > 0
        for m, key in (("audio", "audio_lengths"), ("vision", "vision_lengths")):
            if key in d:
                lens = np.asarray(d[key]).reshape(-1)
                if len(lens) != n:
                    raise SequenceFormatError(f"{where}: {key} has {len(lens)} entries for {n} samples")
                valid[m] = np.arange(x[m].shape[1])[None, :] < lens[:, None]
        labels = {"sentiment": y}
        for k, v in d.items():
            if isinstance(k, str) and k.startswith("regression_labels_"):
                labels[f"sentiment_{k.rsplit('_', 1)[1]}"] = np.asarray(v, dtype=np.float64).reshape(-1)
        if "classification_labels" in d:
            labels["class"] = np.rint(np.asarray(d["classification_labels"], dtype=np.float64)).astype(np.int64).reshape(-1)
        for k, v in labels.items():
            if len(v) != n:
                raise SequenceFormatError(f"{where}: label {k!r} has {len(v)} entries for {n} samples")
        p = {"x": x, "valid": valid, "labels": labels}
        if "id" in d:
            ids = [str(i) for i in np.asarray(d["id"]).reshape(-1)]
            if len(ids) != n:
                raise SequenceFormatError(f"{where}: id has {len(ids)} entries for {n} samples")
            video = [i.split("$_$")[0] for i in ids]
            clip = [i.split("$_$")[1] if "$_$" in i else "" for i in ids]
            p["groups"] = {"video": np.array(video, dtype=object),
                           "position": np.array([int(c) if c.isdigit() else k for k, c in enumerate(clip)])}
            p["aux"] = {"ids": np.array(ids, dtype=object)}
        if "raw_text" in d:
            p.setdefault("aux", {})["raw_text"] = np.array([str(t) for t in np.asarray(d["raw_text"]).reshape(-1)],
                                                           dtype=object)
        parts.append((part, p))
    return _concat_parts(parts, name, f"MMSA pickle {Path(path).name}",
                         {"sentiment": "regression_labels", "class": "classification_labels (if present)"},
                         {"source": str(path), "format": "MMSA"})


# -- MulT ----------------------------------------------------------------------------------
def load_mult(path, name: str = "mult") -> SequenceStore:
    """A MulT pickle: ``{train, valid, test}`` each with ``text``, ``audio``, ``vision``
    ([n, T, d], zero-padded) and ``labels`` ([n, 1, 1] sentiment for MOSI/MOSEI, [n, E, 2]
    per-emotion two-way scores for IEMOCAP), optional ``id``."""
    parts = []
    for part, d, where in _split_dicts(path, "a MulT pickle", ("text", "audio", "vision", "labels")):
        lab = np.asarray(d["labels"], dtype=np.float64)
        n = len(lab)
        x = {m: _seq(d[m], f"{where} {m}", n) for m in ("text", "audio", "vision")}
        if lab.reshape(n, -1).shape[1] == 1:
            labels = {"sentiment": lab.reshape(n)}
        elif lab.ndim == 3 and lab.shape[2] == 2:
            labels = {"emotions": np.argmax(lab, axis=2).astype(np.int64)}  # 1 = the emotion is present
        else:
            labels = {"labels": lab.reshape(n, -1)}
        p = {"x": x, "valid": {m: _nonzero_steps(v) for m, v in x.items()}, "labels": labels}
        if "id" in d:
            ids = np.asarray(d["id"])
            first = ids.reshape(n, -1)[:, 0] if ids.size else ids
            p["groups"] = {"video": np.array([i.decode() if isinstance(i, bytes) else str(i) for i in first],
                                             dtype=object),
                           "position": np.zeros(n, dtype=np.int64)}
        parts.append((part, p))
    for part, p in parts:
        if "groups" in p:  # position = order of the segment within its video, as the file lists them
            vids = p["groups"]["video"]
            seen: dict[str, int] = {}
            for k, v in enumerate(vids):
                p["groups"]["position"][k] = seen.get(v, 0)
                seen[v] = seen.get(v, 0) + 1
    return _concat_parts(parts, name, f"MulT pickle {Path(path).name}",
                         {"sentiment": "labels [n,1,1]", "emotions": "argmax of labels [n,E,2] (1 = present)"},
                         {"source": str(path), "format": "MulT"})


# -- dialogue pickles ----------------------------------------------------------------------
def _dialogue_store(vids_train, vids_val, vids_test, ids, feats: dict[str, dict], labels: dict[str, dict],
                    speakers: dict | None, name: str, description: str, label_info: dict, prov: dict) -> SequenceStore:
    parts = []
    for part, vids in (("train", vids_train), ("val", vids_val), ("test", vids_test)):
        rows: dict = {"x": {m: [] for m in feats}, "labels": {k: [] for k in labels}, "video": [], "pos": [], "spk": []}
        for vid in vids:
            n_utt = len(ids[vid]) if ids is not None else len(next(iter(labels.values()))[vid])
            for m, f in feats.items():
                arr = np.asarray(f[vid], dtype=np.float64)
                if arr.ndim == 1:
                    arr = arr[:, None]
                if len(arr) != n_utt:
                    raise SequenceFormatError(f"{name}: video {vid!r} has {n_utt} utterances but {len(arr)} {m} rows")
                rows["x"][m].append(arr)
            for k, lab in labels.items():
                lv = np.asarray(lab[vid]).reshape(-1)
                if len(lv) != n_utt:
                    raise SequenceFormatError(f"{name}: video {vid!r} has {n_utt} utterances but {len(lv)} {k} labels")
                rows["labels"][k].append(lv)
            rows["video"] += [str(vid)] * n_utt
            rows["pos"] += list(range(n_utt))
            if speakers is not None:
                rows["spk"] += [str(np.argmax(s)) if np.ndim(s) else str(s) for s in speakers[vid]]
        if not rows["video"]:
            raise SequenceFormatError(f"{name}: the {part} part has no videos")
        p = {"x": {m: _seq(np.concatenate(v), f"{name} {m}") for m, v in rows["x"].items()},
             "labels": {k: np.concatenate(v) for k, v in rows["labels"].items()},
             "groups": {"video": np.array(rows["video"], dtype=object), "position": np.array(rows["pos"])}}
        p["valid"] = {m: _nonzero_steps(v) for m, v in p["x"].items()}
        if speakers is not None:
            p["aux"] = {"speaker": np.array(rows["spk"], dtype=object)}
        parts.append((part, p))
    return _concat_parts(parts, name, description, label_info, prov)


def _val_videos(train_vids, share: float = 0.1, seed: int = 0) -> tuple[list, list]:
    """A fixed share of the training videos as validation (the papers draw one at random)."""
    vids = sorted(train_vids, key=str)
    order = np.random.default_rng(seed).permutation(len(vids))
    n_val = max(1, int(round(share * len(vids))))
    val = {vids[i] for i in order[:n_val]}
    return [v for v in vids if v not in val], [v for v in vids if v in val]


def load_dialoguernn(path, dataset: str | None = None, name: str | None = None) -> SequenceStore:
    """DialogueRNN's 9-tuples. IEMOCAP: ``(videoIDs, videoSpeakers, videoLabels, videoText,
    videoAudio, videoVisual, videoSentence, trainVid, testVid)``; MELD: ``(videoIDs,
    videoSpeakers, videoLabels, videoText, videoAudio, videoSentence, trainVid, testVid,
    videoSentiment)``. Utterance vectors become one-step sequences; ``val`` is 10% of the
    training videos (seed 0), as the paper's code draws a random 10%."""
    obj = read_pickle(path)
    if not (isinstance(obj, (tuple, list)) and len(obj) == 9):
        raise SequenceFormatError(f"{path}: expected DialogueRNN's 9-tuple, got "
                                  f"{type(obj).__name__} of length {len(obj) if hasattr(obj, '__len__') else '?'}")
    if dataset is None:  # IEMOCAP's sixth item holds visual feature arrays, MELD's the sentences
        first = next(iter(obj[5].values()), None) if isinstance(obj[5], dict) else None
        dataset = "meld" if first is not None and isinstance(first[0] if len(first) else "", str) else "iemocap"
    if dataset not in ("iemocap", "meld"):
        raise SequenceFormatError(f"dataset must be 'iemocap' or 'meld', got {dataset!r}")
    for k, item in enumerate(obj[:6]):
        if not isinstance(item, dict):
            raise SequenceFormatError(f"{path}: item {k} should be a dict keyed by video id, got {type(item).__name__}")
    if dataset == "iemocap":
        ids, spk, lab, text, audio, visual, _, train, test = obj
        feats, labels = {"text": text, "audio": audio, "visual": visual}, {"emotion": lab}
    else:
        ids, spk, lab, text, audio, _, train, test, senti = obj
        feats, labels = {"text": text, "audio": audio}, {"emotion": lab, "sentiment": senti}
    tr, va = _val_videos(train)
    return _dialogue_store(tr, va, sorted(test, key=str), ids, feats, labels, spk, name or dataset,
                           f"DialogueRNN {dataset} pickle {Path(path).name}",
                           {k: "class index per utterance" for k in labels},
                           {"source": str(path), "format": "DialogueRNN", "val": "10% of train videos, seed 0"})


def _gcnet_feature(root: Path, utt: str) -> np.ndarray | None:
    """GCNet's per-utterance feature: ``<root>/<utt>.npy`` ([d] or [T, d], averaged over T) or a
    folder ``<root>/<utt>/`` of per-face arrays (averaged); None where there is none."""
    f = root / f"{utt}.npy"
    if f.exists():
        arr = np.asarray(np.load(f), dtype=np.float64).squeeze()
    elif (root / utt).is_dir() and any((root / utt).glob("*.npy")):
        arr = np.stack([np.asarray(np.load(p), dtype=np.float64).squeeze() for p in sorted((root / utt).glob("*.npy"))])
    else:
        return None
    return arr.mean(axis=0) if arr.ndim == 2 else arr.reshape(-1)


def load_gcnet(label_path, feature_roots: dict[str, str | Path], name: str = "gcnet") -> SequenceStore:
    """GCNet's label pickle ``(videoIDs, videoLabels, videoSpeakers, videoSentences, trainVids,
    valVids, testVids)`` with one feature folder per modality. An utterance without a feature
    file is natively missing in that modality."""
    obj = read_pickle(label_path)
    if not (isinstance(obj, (tuple, list)) and len(obj) == 7):
        raise SequenceFormatError(f"{label_path}: expected GCNet's 7-tuple (videoIDs, videoLabels, videoSpeakers, "
                                  "videoSentences, trainVids, valVids, testVids)")
    ids, lab, spk, _, tr, va, te = obj
    if not isinstance(ids, dict) or not isinstance(lab, dict):
        raise SequenceFormatError(f"{label_path}: videoIDs and videoLabels must be dicts keyed by video id")
    feats: dict[str, dict] = {}
    absent: dict[str, set] = {}
    for m, root in feature_roots.items():
        root = _exists(root)
        per_utt = {u: _gcnet_feature(root, u) for v in ids for u in ids[v]}
        dims = {a.shape[0] for a in per_utt.values() if a is not None}
        if len(dims) != 1:
            raise SequenceFormatError(f"{root}: modality {m!r} has feature sizes {sorted(dims) or 'none'}; "
                                      "expected one size")
        d = dims.pop()
        absent[m] = {u for u, a in per_utt.items() if a is None}
        feats[m] = {v: np.stack([per_utt[u] if per_utt[u] is not None else np.zeros(d) for u in ids[v]]) for v in ids}
    values = np.concatenate([np.asarray(lab[v], dtype=np.float64).reshape(-1) for v in ids])
    regression = not np.all(values == np.round(values))
    labels = {"sentiment" if regression else "emotion":
              {v: (np.asarray(lab[v], dtype=np.float64) if regression else np.asarray(lab[v]).astype(np.int64))
               for v in ids}}
    store = _dialogue_store(sorted(tr), sorted(va), sorted(te), ids, feats, labels, spk, name,
                            f"GCNet label pickle {Path(label_path).name}", {"sentiment": "float score",
                                                                             "emotion": "class index"},
                            {"source": str(label_path), "format": "GCNet",
                             "features": {m: str(r) for m, r in feature_roots.items()}})
    if any(absent.values()):
        # rebuild with the absent utterances marked missing (zero rows alone could be real features)
        utt = [u for part in (sorted(tr), sorted(va), sorted(te)) for v in part for u in ids[v]]
        miss = np.array([[u in absent[m] for m in store.modalities] for u in utt])
        a = store.arrays
        mods = {m: a[f"modalities/{m}"] for m in store.modalities}
        arrays = assemble(mods, {m: a[f"valid/{m}"] for m in mods},
                          {k: a[f"labels/{k}"] for k in store.label_names},
                          {"standard": {p: store.rows("standard", p) for p in store.splits["standard"]}},
                          groups={k[7:]: v for k, v in a.items() if k.startswith("groups/")},
                          aux={k[4:]: v for k, v in a.items() if k.startswith("aux/")}, missing=miss)
        store = SequenceStore.from_arrays(store.name, store.description, arrays, store.meta, store.provenance)
    return store


# -- MM-IMDB -------------------------------------------------------------------------------
def load_mmimdb(path, split_json=None, name: str = "mmimdb") -> SequenceStore:
    """MM-IMDB's Fuel HDF5 (``multimodal_imdb.hdf5``): ``features`` (text, [n, 300]),
    ``vgg_features`` (image, [n, 4096]), ``genres`` ([n, 23] multi-label), ``imdb_ids``.
    The split is the file's Fuel ``split`` attribute, else ``split_json`` (BM-NAS's
    ``mmimdb_split.json``: ``{train, dev, test: [imdb ids]}``), else the standard
    15,552/2,608/7,799 rows in file order. Raw ``images`` are not read."""
    path = _exists(path)
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise SequenceFormatError(f"{path} is not an HDF5 file ({exc})") from None
    with f:
        _need(f, ("features", "vgg_features", "genres"), str(path))
        text, image, genres = (np.asarray(f[k][()], dtype=np.float64) for k in ("features", "vgg_features", "genres"))
        n = len(genres)
        if len(text) != n or len(image) != n or genres.ndim != 2:
            raise SequenceFormatError(f"{path}: features {text.shape}, vgg_features {image.shape} and genres "
                                      f"{genres.shape} disagree")
        ids = ([i.decode() if isinstance(i, bytes) else str(i) for i in f["imdb_ids"][()]]
               if "imdb_ids" in f else [str(i) for i in range(n)])
        split = f.attrs.get("split")
    parts: dict[str, np.ndarray] = {}
    if split is not None:  # Fuel: rows (split, source, start, stop, ...)
        for row in np.asarray(split):
            sp, src = (row["split"], row["source"])
            sp, src = (sp.decode() if isinstance(sp, bytes) else str(sp)), (src.decode() if isinstance(src, bytes) else str(src))
            if src == "genres":
                parts[{"dev": "val"}.get(sp, sp)] = np.arange(int(row["start"]), int(row["stop"]))
    elif split_json is not None:
        sj = json.loads(Path(_exists(split_json)).read_text())
        _need(sj, ("train", "dev", "test"), str(split_json))
        where = {i: k for k, i in enumerate(ids)}
        for sp in ("train", "dev", "test"):
            unknown = [i for i in sj[sp] if i not in where]
            if unknown:
                raise SequenceFormatError(f"{split_json}: {sp} names ids not in {path}: {unknown[:3]}")
            parts[{"dev": "val"}.get(sp, sp)] = np.array([where[i] for i in sj[sp]], dtype=np.int64)
    else:
        if n != sum(MMIMDB_SIZES):
            raise SequenceFormatError(f"{path}: {n} rows, not the standard {sum(MMIMDB_SIZES)}; give split_json")
        b = np.cumsum((0,) + MMIMDB_SIZES)
        parts = {p: np.arange(b[k], b[k + 1]) for k, p in enumerate(("train", "val", "test"))}
    if set(parts) != {"train", "val", "test"}:
        raise SequenceFormatError(f"{path}: split gives parts {sorted(parts)}, expected train, dev/val, test")
    x = {"text": text[:, None, :], "image": image[:, None, :]}
    arrays = assemble(x, {m: np.ones((n, 1), dtype=bool) for m in x}, {"genres": genres.astype(np.int64)},
                      {"standard": parts}, aux={"imdb_ids": np.array(ids, dtype=object)},
                      missing=np.zeros((n, 2), dtype=bool))
    meta = {"modalities": list(x), "label_info": {"genres": "multi-label, one column per genre"},
            "ground_truth": None}
    return SequenceStore.from_arrays(name, f"MM-IMDB {Path(path).name}", arrays, meta,
                                     {"source": str(path), "format": "Fuel HDF5"})


# -- NTU RGB+D -------------------------------------------------------------------------------
NTU_NAME = re.compile(r"S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})")


def read_ntu_skeleton(path, max_bodies: int = 2) -> np.ndarray:
    """``[frames, max_bodies, 25, 3]`` joint coordinates of one NTU ``.skeleton`` text file
    (frame count; per frame a body count; per body an info line, a joint count and one
    line per joint whose first three numbers are x, y, z)."""
    lines = Path(_exists(path)).read_text().split("\n")
    try:
        it = iter(lines)
        n_frames = int(next(it))
        out = np.zeros((n_frames, max_bodies, 25, 3))
        for t in range(n_frames):
            for b in range(int(next(it))):
                next(it)  # body info
                n_joints = int(next(it))
                for j in range(n_joints):
                    xyz = [float(v) for v in next(it).split()[:3]]
                    if b < max_bodies and j < 25:
                        out[t, b, j] = xyz
    except (StopIteration, ValueError) as exc:
        raise SequenceFormatError(f"{path}: not an NTU .skeleton file ({type(exc).__name__}: {exc})") from None
    return np.nan_to_num(out)


def _even_steps(x: np.ndarray, steps: int) -> np.ndarray:
    """``steps`` evenly spaced rows of ``x`` [frames, d] (rows repeat when frames < steps)."""
    idx = np.linspace(0, len(x) - 1, steps).round().astype(int)
    return x[idx]


def _frame_features(path: Path, where: str) -> np.ndarray:
    try:
        x = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise SequenceFormatError(f"{path}: not a readable .npy array ({exc})") from None
    if x.ndim != 2 or len(x) == 0:
        raise SequenceFormatError(f"{path}: {where} features must be [frames >= 1, d], got shape {x.shape}")
    return np.nan_to_num(x.astype(np.float64))


def load_ntu_skeletons(folder, steps: int = 32, max_bodies: int = 2, name: str = "ntu",
                       rgb_features=None) -> SequenceStore:
    """Every ``S...C...P...R...A....skeleton`` file of ``folder`` as a ``skeleton`` sequence of
    ``steps`` frames (evenly spaced), joints relative to joint 2 of the first body (as
    BM-NAS does), labels ``action`` 0..59; split by subject as BM-NAS: train, dev
    (subjects 2, 5, 9, 14) and test (the cross-subject test subjects).

    ``rgb_features``: a folder of per-sample RGB backbone features ``<sample>.npy`` [frames, d]
    (``<sample>`` = the skeleton file's stem, e.g. from an I3D or ResNet extractor run over the
    ``_rgb.avi`` videos, as BM-NAS's Inflated ResNet-50 sees them): read as a second modality
    ``rgb`` of the same ``steps``; a sample without a file is recorded as natively missing."""
    folder = _exists(folder)
    files = sorted(p for p in folder.iterdir() if p.suffix == ".skeleton")
    if not files:
        raise SourceMissingError(f"{folder} holds no .skeleton files")
    seqs, action, subject = [], [], []
    for p in files:
        m = NTU_NAME.match(p.name)
        if not m:
            raise SequenceFormatError(f"{p.name}: not an NTU file name SsssCcccPpppRrrrAaaa.skeleton")
        sk = read_ntu_skeleton(p, max_bodies)
        sk = sk - sk[:, :1, 1:2, :]  # origin: joint 2 of the first body, per frame
        seq = _even_steps(sk, steps).reshape(steps, -1) if len(sk) else np.zeros((steps, max_bodies * 75))
        seqs.append(seq)
        subject.append(int(m.group(3)))
        action.append(int(m.group(5)) - 1)
    x = np.stack(seqs)
    subject = np.array(subject)
    parts = {"train": np.flatnonzero(np.isin(subject, NTU_TRAIN_SUBJECTS)),
             "val": np.flatnonzero(np.isin(subject, NTU_DEV_SUBJECTS)),
             "test": np.flatnonzero(~np.isin(subject, NTU_TRAIN_SUBJECTS + NTU_DEV_SUBJECTS))}
    mods, valid = {"skeleton": x}, {"skeleton": np.ones(x.shape[:2], dtype=bool)}
    missing = None
    if rgb_features is not None:
        rgb_dir = _exists(rgb_features)
        feats = [(rgb_dir / f"{p.stem}.npy") for p in files]
        rgb, first = None, None
        for i, f in enumerate(feats):
            if not f.exists():
                continue
            a = _frame_features(f, "RGB")
            if rgb is None:
                rgb, first = np.zeros((len(files), steps, a.shape[1])), f
            elif a.shape[1] != rgb.shape[2]:
                raise SequenceFormatError(f"{f}: {a.shape[1]} RGB features, {first.name} has {rgb.shape[2]}")
            rgb[i] = _even_steps(a, steps)
        if rgb is None:
            raise SourceMissingError(f"{rgb_dir} holds none of the {len(files)} samples' <sample>.npy RGB features")
        has = np.array([f.exists() for f in feats])
        mods["rgb"], valid["rgb"] = rgb, np.repeat(has[:, None], steps, axis=1)
        missing = np.stack([np.zeros(len(files), dtype=bool), ~has], axis=1)
    arrays = assemble(mods, valid, {"action": np.array(action)}, {"standard": parts},
                      aux={"files": np.array([p.name for p in files], dtype=object), "subject": subject},
                      missing=missing)
    meta = {"modalities": list(mods), "label_info": {"action": "NTU action A001..A060 as 0..59"},
            "ground_truth": None}
    return SequenceStore.from_arrays(name, f"NTU RGB+D {' + '.join(mods)} from {folder}", arrays, meta,
                                     {"source": str(folder), "format": "NTU .skeleton", "steps": steps,
                                      "rgb_features": None if rgb_features is None else str(rgb_features)})


# -- EgoGesture ------------------------------------------------------------------------------
EGO_GROUP = re.compile(r"^Group(\d+)\.csv$")
EGO_SUBJECT = re.compile(r"^[Ss]ubject(\d+)$")
EGO_SCENE = re.compile(r"^Scene(\d+)$")


def load_egogesture(label_root, feature_roots: dict, steps: int = 16, name: str = "egogesture") -> SequenceStore:
    """EgoGesture gesture clips as a store of per-frame features, one modality per entry of
    ``feature_roots`` (e.g. ``{"rgb": ..., "depth": ...}``, as BM-NAS fuses RGB and depth).

    ``label_root``: the release's ``labels-final-revised1`` folder,
    ``subjectNN/SceneK/GroupG.csv`` with one row per gesture ``class,start,end`` (1-based
    class 1..83 and inclusive 1-based frame numbers of recording ``GroupG``). Each feature
    root holds what a frame-level backbone wrote for that recording,
    ``SubjectNN/SceneK/GroupG.npy`` [frames, d]. A clip is its frames start..end, resampled to
    ``steps``; labels ``gesture`` 0..82; split by subject (the dataset's 30/10/10:
    validation :data:`EGO_VAL_SUBJECTS`, test :data:`EGO_TEST_SUBJECTS`). A recording a
    modality has no file for is natively missing in that modality."""
    label_root = _exists(label_root)
    if not feature_roots:
        raise SequenceFormatError("load_egogesture needs at least one feature root, e.g. {'rgb': folder}")
    roots = {m: _exists(r) for m, r in feature_roots.items()}
    clips = []  # (subject, scene, group, class, start, end)
    for sub in sorted(p for p in label_root.iterdir() if p.is_dir()):
        ms = EGO_SUBJECT.match(sub.name)
        if not ms:
            continue
        for scene in sorted(p for p in sub.iterdir() if p.is_dir() and EGO_SCENE.match(p.name)):
            for csv in sorted(p for p in scene.iterdir() if EGO_GROUP.match(p.name)):
                for k, line in enumerate(csv.read_text().splitlines(), 1):
                    if not line.strip():
                        continue
                    try:
                        c, a, b = (int(float(v)) for v in line.split(",")[:3])
                    except ValueError:
                        raise SequenceFormatError(f"{csv}, line {k}: expected 'class,start,end', got {line!r}") from None
                    if not (1 <= c <= EGO_CLASSES and 1 <= a <= b):
                        raise SequenceFormatError(f"{csv}, line {k}: class must be 1..{EGO_CLASSES} and "
                                                  f"1 <= start <= end, got {line!r}")
                    clips.append((int(ms.group(1)), int(EGO_SCENE.match(scene.name).group(1)),
                                  int(EGO_GROUP.match(csv.name).group(1)), c, a, b))
    if not clips:
        raise SourceMissingError(f"{label_root} holds no subjectNN/SceneK/GroupG.csv label files")
    n = len(clips)
    mods, valid, missing, dims = {}, {}, np.zeros((n, len(roots)), dtype=bool), {}
    for j, (m, root) in enumerate(roots.items()):
        cache: dict[Path, np.ndarray | None] = {}
        out = None
        for i, (subj, scene, group, _, a, b) in enumerate(clips):
            f = root / f"Subject{subj:02d}" / f"Scene{scene}" / f"Group{group}.npy"
            if f not in cache:
                cache[f] = _frame_features(f, m) if f.exists() else None
            rec = cache[f]
            if rec is None:
                missing[i, j] = True
                continue
            if b > len(rec):
                raise SequenceFormatError(f"{f}: the label asks for frames {a}..{b}, the recording has {len(rec)}")
            if out is None:
                dims[m] = rec.shape[1]
                out = np.zeros((n, steps, dims[m]))
            if rec.shape[1] != dims[m]:
                raise SequenceFormatError(f"{f}: {rec.shape[1]} {m} features, other recordings have {dims[m]}")
            out[i] = _even_steps(rec[a - 1:b], steps)
        if out is None:
            raise SourceMissingError(f"{root} holds no SubjectNN/SceneK/GroupG.npy features for the labelled clips")
        mods[m], valid[m] = out, np.repeat(~missing[:, j:j + 1], steps, axis=1)
    if missing.all(axis=1).any():
        i = int(np.flatnonzero(missing.all(axis=1))[0])
        raise SequenceFormatError(f"clip {clips[i][:3]} (subject, scene, group) has features in no modality")
    subject = np.array([c[0] for c in clips])
    parts = {"train": np.flatnonzero(~np.isin(subject, EGO_VAL_SUBJECTS + EGO_TEST_SUBJECTS)),
             "val": np.flatnonzero(np.isin(subject, EGO_VAL_SUBJECTS)),
             "test": np.flatnonzero(np.isin(subject, EGO_TEST_SUBJECTS))}
    arrays = assemble(mods, valid, {"gesture": np.array([c[3] - 1 for c in clips])}, {"standard": parts},
                      aux={"subject": subject, "clip": np.array([c[:3] + c[4:] for c in clips])}, missing=missing)
    meta = {"modalities": list(mods), "label_info": {"gesture": "EgoGesture class 1..83 as 0..82"},
            "ground_truth": None}
    return SequenceStore.from_arrays(name, f"EgoGesture {' + '.join(mods)} clips from {label_root}", arrays, meta,
                                     {"source": str(label_root), "format": "EgoGesture labels + .npy frame features",
                                      "steps": steps, "feature_roots": {m: str(r) for m, r in roots.items()}})
