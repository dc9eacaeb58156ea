"""Builders of the shipped sequence stores ``pom`` and ``mosi`` (``data_cache/sequence/``).

Sources (``../shared/data/sequence/``, or ``MMNAS_SHARED_DATA``), each sha256-checked:

- POM: MFN's word-aligned ``{audio,video,y}_{train,valid,test}.h5`` (dataset ``d1``).
- CMU-MOSI: the utterance-level audio pickle (62 + 31 videos padded to 63 utterances) and
  GCNet's metadata pickle (utterance ids, sentiment, transcripts, the standard split). The
  two are joined by video: each audio video matches exactly one metadata video whose
  per-utterance labels, read as ``sentiment >= 0``, equal the audio file's binary labels;
  utterances line up by position. The build refuses anything but a bijection.
- Text features from the VADER lexicon inside the PyPI wheel ``vaderSentiment-3.3.2``
  (read at build time only; nothing of it is needed at run time).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from pathlib import Path

import h5py
import numpy as np

from bench.builders.common import candidate_path, provenance, replace_reference, verify_source
from bench.errors import SourceMissingError
from bench.features.loaders import read_pickle
from bench.features.sequence import (BUILT, SequenceFormatError, SequenceStore, UnknownSequenceStoreError, assemble,
                                     stores_dir, write_store)
from bench.features.sequence_levels import DERIVED, levels_store
from bench.paths import data_cache_dir, shared_data_dir

POM_SHA256 = {
    "audio_test.h5": "15aa2f0eaa8787e5aec2de28636fb5b0181aeacc1e8f6eec56fce4cdade367ab",
    "audio_train.h5": "a7edb566f5d5026c9ed82222fbdbfc22d506fdd243c4c112f1ecca2f5155eee7",
    "audio_valid.h5": "430b49d06e7fc2a8ea11bf3636cd08df4366df18647acfda39d8014d342fb7cf",
    "video_test.h5": "bd1bd57bf2bf4ad49b2ff03c79a3d13375627d23a531a6bde7b13a0f68f8c0dd",
    "video_train.h5": "936d32765899d8cab2d8c7c84fb5d6b91b249906d3e46ce51aa73c4f5b0d582d",
    "video_valid.h5": "39f8a4aabfe7deb94da001b9ca25ad087ddd155f2786de04a3cacd90a379bb80",
    "y_test.h5": "dec80f328c2e811fb28a04df2ad11495dc00be34a6c439d40b3d1848fe518a18",
    "y_train.h5": "420831e96b21c5fc77194c70c8a76f831fd04d3cc6cadd513e1749c3b325fef5",
    "y_valid.h5": "066fb33cef488591ff999b4c6859c990ff93645003cc795501c70b3ea87ac2ef",
}
MOSI_AUDIO = ("mosi_audio_utterance.pickle", "2093cef26de55e2a943600b711d388d6a1d621ce765d00e1a203ef2c52610978")
MOSI_META = ("mosi_meta_transcripts_labels.pkl", "931ee50f3a77b2eb18786840a880a439f3ae6542bf2dfb5e14ecc9690702af84")
VADER_WHEEL = ("vaderSentiment-3.3.2-py2.py3-none-any.whl",
               "3bf1d243b98b1afad575b9f22bc2cb1e212b94ff89ca74f8a23a588d024ea311")
TEXT_STEPS = 50  # words kept per utterance (p95 is 28, max 114)
TEXT_FEATURES = ("valence", "valence_sd", "in_lexicon", "negation", "booster")
PARTS = (("train", "train"), ("valid", "val"), ("test", "test"))

DESCRIPTIONS = {
    "pom": "POM (MFN word-aligned): audio 43-d and video 41-d over 20 left-padded steps; 17 trait scores; "
           "standard split 600/100/203; video natively missing (all zero) in about 54% of samples",
    "mosi": "CMU-MOSI utterances: audio 73-d (1 step) and text as 50 VADER token features (5-d); sentiment "
            "-3..3; standard split 52/10/31 videos = 1,284/229/686 utterances; video/position groups",
}


# -- POM ---------------------------------------------------------------------------------
def pom_store(source: Path) -> SequenceStore:
    """The POM store from MFN's nine files in ``source`` (``.../sequence/pom``)."""
    data: dict[str, list[np.ndarray]] = {"audio": [], "video": [], "y": []}
    sizes = []
    for src, _ in PARTS:
        for kind in data:
            path = verify_source(source, f"{kind}_{src}.h5", POM_SHA256[f"{kind}_{src}.h5"])
            with h5py.File(path, "r") as f:
                if "d1" not in f:
                    raise SequenceFormatError(f"{path}: expected dataset 'd1', found {sorted(f)}")
                data[kind].append(np.asarray(f["d1"][()], dtype=np.float64))
        sizes.append(len(data["y"][-1]))
        if {len(a[-1]) for a in data.values()} != {sizes[-1]}:
            raise SequenceFormatError(f"POM {src}: audio, video and y disagree on the number of samples")
    x = {m: np.concatenate(data[m]) for m in ("audio", "video")}
    y = np.concatenate(data["y"])
    # a step is real where its features are not all zero (the files left-pad with zero rows)
    valid = {m: np.any(a != 0, axis=2) for m, a in x.items()}
    bounds = np.cumsum([0] + sizes)
    splits = {"standard": {p: np.arange(bounds[i], bounds[i + 1]) for i, (_, p) in enumerate(PARTS)}}
    arrays = assemble(x, valid, {"traits": y}, splits)
    miss = arrays["missing"].astype(bool)
    rates = {m: {p: round(float(miss[idx, j].mean()), 4) for p, idx in splits["standard"].items()}
             for j, m in enumerate(x)}
    meta = {"modalities": list(x), "ground_truth": None,
            "label_info": {"traits": "17 continuous annotation scores; dims 8-13 on a 1-5 scale, the rest 1-7 "
                                     "(trait names are not in the source); one test value of dim 8 is 0.667"}}
    prov = provenance({f"sequence/pom/{k}": v for k, v in sorted(POM_SHA256.items())}, "sequence build pom",
                      "float64 source cast to float32; a step is valid where its row is not all zero; a modality "
                      "is natively missing where no step is valid")
    prov["native_missing_rate"] = rates
    return SequenceStore.from_arrays("pom", DESCRIPTIONS["pom"], arrays, meta, prov)


# -- MOSI --------------------------------------------------------------------------------
def read_mosi_audio(path: Path) -> list[tuple[str, int, np.ndarray, np.ndarray]]:
    """``[(audio_part, index, features [L, 73], binary labels [L])]`` of the audio pickle."""
    obj = read_pickle(path)
    if not (isinstance(obj, tuple) and len(obj) == 7):
        raise SequenceFormatError(f"{path}: expected a 7-tuple (Xtr, ytr, Xte, yte, maxlen, lengths_tr, lengths_te)")
    xtr, ytr, xte, yte, _, ltr, lte = obj
    out = []
    for part, x, y, lens in (("train", xtr, ytr, ltr), ("test", xte, yte, lte)):
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y)
        if x.ndim != 3 or y.shape != x.shape[:2] or len(lens) != len(x):
            raise SequenceFormatError(f"{path}: {part} features {x.shape}, labels {y.shape}, {len(lens)} lengths")
        out += [(part, i, x[i, :n], y[i, :n].astype(np.int64)) for i, n in enumerate(lens)]
    return out


def read_mosi_meta(path: Path) -> tuple[dict, dict, dict, dict[str, set]]:
    """``(utterance ids, sentiment, transcripts, {train, val, test: video ids})`` of GCNet's label pickle."""
    obj = read_pickle(path)
    if not (isinstance(obj, (tuple, list)) and len(obj) == 7):
        raise SequenceFormatError(f"{path}: expected GCNet's 7-tuple (videoIDs, videoLabels, videoSpeakers, "
                                  "videoSentences, trainVids, valVids, testVids)")
    ids, labels, _, text, tr, va, te = obj
    return ids, labels, text, {"train": set(tr), "val": set(va), "test": set(te)}


def join_mosi(audio: list, labels: dict) -> dict[tuple[str, int], str]:
    """Audio video -> metadata video, by equal per-utterance label sequences (positive = sentiment >= 0).

    Raises :class:`SequenceFormatError` unless every audio video has exactly one match and
    no metadata video is matched twice.
    """
    by_seq: dict[tuple, list[str]] = {}
    for vid, s in labels.items():
        by_seq.setdefault(tuple((np.asarray(s, dtype=np.float64) >= 0).astype(int).tolist()), []).append(vid)
    mapping = {}
    for part, i, _, y in audio:
        cands = by_seq.get(tuple(y.tolist()), [])
        if len(cands) != 1:
            raise SequenceFormatError(f"MOSI join: audio {part} video {i} matches {len(cands)} metadata videos "
                                      "(expected exactly one)")
        mapping[(part, i)] = cands[0]
    dup = [v for v, c in Counter(mapping.values()).items() if c > 1]
    if dup:
        raise SequenceFormatError(f"MOSI join: metadata videos matched more than once: {dup[:5]}")
    return mapping


def _wheel(source_dir: Path | None) -> Path:
    """The VADER wheel: from the source folder, data_cache/sources/, or fetched by pip (build time only)."""
    name, sha = VADER_WHEEL
    for folder in [source_dir, data_cache_dir() / "sources", shared_data_dir()]:
        if folder and (Path(folder) / name).exists():
            return verify_source(Path(folder), name, sha)
    dest = data_cache_dir() / "sources"
    dest.mkdir(parents=True, exist_ok=True)
    r = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(dest),
                        "vaderSentiment==3.3.2"], capture_output=True, text=True)
    if r.returncode != 0 or not (dest / name).exists():
        raise SourceMissingError(f"{name} not found and `pip download vaderSentiment==3.3.2` failed: "
                                 f"{r.stderr.strip()[-300:]}")
    return verify_source(dest, name, sha)


class Vader:
    """VADER's lexicon and rule word lists, and its compound score, from the wheel's own module.

    The module imports only the standard library; it is loaded from a temporary copy of
    the wheel's package so that it finds its lexicon files beside itself.
    """

    def __init__(self, wheel: Path):
        self._tmp = tempfile.TemporaryDirectory()
        with zipfile.ZipFile(wheel) as z:
            members = [m for m in z.namelist() if m.startswith("vaderSentiment/")]
            if "vaderSentiment/vader_lexicon.txt" not in members:
                raise SourceMissingError(f"{wheel}: vaderSentiment/vader_lexicon.txt is missing")
            z.extractall(self._tmp.name, members)
        spec = importlib.util.spec_from_file_location(
            "_mmnas_vader", Path(self._tmp.name) / "vaderSentiment" / "vaderSentiment.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        self.analyzer = mod.SentimentIntensityAnalyzer()
        self.negations = {w.lower() for w in mod.NEGATE}
        self.boosters = {w.lower(): float(v) for w, v in mod.BOOSTER_DICT.items()}
        self.lexicon: dict[str, tuple[float, float]] = {}
        for line in (Path(self._tmp.name) / "vaderSentiment" / "vader_lexicon.txt").read_text(
                encoding="utf-8").splitlines():
            parts = line.split("\t")
            if len(parts) >= 3:
                self.lexicon[parts[0]] = (float(parts[1]), float(parts[2]))

    def compound(self, text: str) -> float:
        return float(self.analyzer.polarity_scores(text)["compound"])

    def token_features(self, tokens: list[str]) -> np.ndarray:
        """``[len, 5]``: lexicon valence/4, its raters' sd/4, in-lexicon, negation, booster sign."""
        out = np.zeros((len(tokens), len(TEXT_FEATURES)))
        for i, t in enumerate(tokens):
            if t in self.lexicon:
                mean, sd = self.lexicon[t]
                out[i, :3] = mean / 4.0, sd / 4.0, 1.0
            out[i, 3] = float(t in self.negations or t.endswith("n't"))
            out[i, 4] = np.sign(self.boosters.get(t, 0.0))
        return out


def tokenize(text: str) -> list[str]:
    """Lower-cased words with edge punctuation stripped (the transcripts are upper case)."""
    words = (w.strip(".,!?;:\"()[]{}") for w in str(text).lower().split())
    return [w for w in words if w]


def mosi_store(source: Path, wheel: Path) -> SequenceStore:
    """The MOSI store from the two pickles in ``source`` (``.../sequence/mosi``) and the VADER wheel."""
    audio = read_mosi_audio(verify_source(source, *MOSI_AUDIO))
    ids, labels, text, split = read_mosi_meta(verify_source(source, *MOSI_META))
    mapping = join_mosi(audio, labels)
    audio_of = {mapping[(p, i)]: (p, i, x) for p, i, x, _ in audio}
    vader = Vader(wheel)
    order = [(part, vid) for part in ("train", "val", "test") for vid in sorted(split[part])]
    rows: dict[str, list] = {k: [] for k in ("audio", "tokens", "sent", "video", "pos", "utt", "transcript", "part")}
    for part, vid in order:
        if vid not in audio_of:
            raise SequenceFormatError(f"MOSI: metadata video {vid} has no audio video")
        _, _, xa = audio_of[vid]
        if len(xa) != len(ids[vid]) or len(labels[vid]) != len(ids[vid]) or len(text[vid]) != len(ids[vid]):
            raise SequenceFormatError(f"MOSI video {vid}: audio, ids, labels and transcripts differ in length")
        for k, utt in enumerate(ids[vid]):
            rows["audio"].append(xa[k])
            rows["tokens"].append(tokenize(text[vid][k]))
            rows["sent"].append(float(labels[vid][k]))
            rows["video"].append(vid)
            rows["pos"].append(k)
            rows["utt"].append(utt)
            rows["transcript"].append(str(text[vid][k]))
            rows["part"].append(part)
    n = len(rows["sent"])
    x_audio = np.asarray(rows["audio"])[:, None, :]
    # text: left-padded like POM, the first TEXT_STEPS words kept
    x_text = np.zeros((n, TEXT_STEPS, len(TEXT_FEATURES)))
    v_text = np.zeros((n, TEXT_STEPS), dtype=bool)
    part_arr = np.asarray(rows["part"])
    train_vocab = Counter(t for toks, p in zip(rows["tokens"], rows["part"]) if p == "train" for t in toks)
    vocab = ["<pad>", "<oov>"] + sorted(train_vocab, key=lambda t: (-train_vocab[t], t))
    index = {t: i for i, t in enumerate(vocab)}
    token_ids = np.zeros((n, TEXT_STEPS), dtype=np.int32)
    truncated = 0
    for r, toks in enumerate(rows["tokens"]):
        truncated += len(toks) > TEXT_STEPS
        toks = toks[:TEXT_STEPS]
        if toks:
            x_text[r, TEXT_STEPS - len(toks):] = vader.token_features(toks)
            v_text[r, TEXT_STEPS - len(toks):] = True
            token_ids[r, TEXT_STEPS - len(toks):] = [index.get(t, 1) for t in toks]
    compound = np.array([vader.compound(" ".join(t)) for t in rows["tokens"]])
    sent = np.asarray(rows["sent"])
    videos = list(dict.fromkeys(rows["video"]))
    vindex = {v: i for i, v in enumerate(videos)}
    splits = {"standard": {p: np.flatnonzero(part_arr == p) for p in ("train", "val", "test")}}
    arrays = assemble(
        {"audio": x_audio, "text": x_text},
        {"audio": np.any(x_audio != 0, axis=2), "text": v_text},
        {"sentiment": sent, "binary": (sent >= 0).astype(np.int64)},
        splits,
        groups={"video": np.array([vindex[v] for v in rows["video"]]), "position": np.array(rows["pos"]),
                "video_ids": videos, "utterance_ids": rows["utt"]},
        aux={"text_token_ids": token_ids, "text_vocab": np.array(vocab, dtype=object),
             "transcripts": np.array(rows["transcript"], dtype=object),
             "vader_compound": compound.astype(np.float32),
             "join/audio_part": np.array([0 if audio_of[v][0] == "train" else 1 for v in videos], dtype=np.int64),
             "join/audio_index": np.array([audio_of[v][1] for v in videos], dtype=np.int64)})
    test = splits["standard"]["test"]
    nz = test[sent[test] != 0]
    meta = {"modalities": ["audio", "text"], "ground_truth": None,
            "label_info": {"sentiment": "CMU-MOSI sentiment -3..3 (float)",
                           "binary": "sentiment >= 0 (the audio file's own labels, checked equal by the join)"}}
    prov = provenance({f"sequence/mosi/{MOSI_AUDIO[0]}": MOSI_AUDIO[1], f"sequence/mosi/{MOSI_META[0]}": MOSI_META[1],
                       f"PyPI {VADER_WHEEL[0]}": VADER_WHEEL[1]}, "sequence build mosi",
                      "join: each audio video = the one metadata video with equal per-utterance labels "
                      "(positive = sentiment >= 0), utterances by position; split = the metadata's standard split; "
                      f"text: lower-cased words, first {TEXT_STEPS} kept ({truncated} utterances truncated), "
                      f"left-padded, features {list(TEXT_FEATURES)} from VADER 3.3.2's lexicon and word lists; "
                      "token ids index aux/text_vocab (train transcripts only; 0 pad, 1 out of vocabulary); "
                      "aux/vader_compound is VADER's zero-shot compound score of the utterance")
    prov["join"] = {"audio_videos": len(audio), "unique_matches": len(mapping),
                    "utterances": {p: int(len(i)) for p, i in splits["standard"].items()}}
    prov["text_zero_shot"] = {
        "vader_compound_pearson_r_all": round(float(np.corrcoef(compound, sent)[0, 1]), 4),
        "vader_compound_pearson_r_test": round(float(np.corrcoef(compound[test], sent[test])[0, 1]), 4),
        "vader_nonzero_acc2_test": round(float(np.mean((compound[nz] > 0) == (sent[nz] > 0))), 4),
    }
    return SequenceStore.from_arrays("mosi", DESCRIPTIONS["mosi"], arrays, meta, prov)


# -- build -------------------------------------------------------------------------------
def build(name: str, out_dir: Path | None = None, source_dir: Path | None = None, manifest: bool = True,
          accept_new_reference: bool = False, wheel_dir: Path | None = None) -> Path:
    """Build ``pom`` or ``mosi`` from its checked sources, or ``pom-levels`` from the shipped
    ``pom.h5`` (:mod:`bench.features.sequence_levels`), into ``out_dir`` (default
    ``data_cache/sequence/``) and record it in that folder's MANIFEST.

    A rebuild that differs from a shipped store is an error unless ``accept_new_reference``
    (:func:`bench.builders.common.replace_reference`). Named synthetic settings are
    generated, not built: see :func:`bench.features.synthetic.record_settings`.
    """
    if name not in BUILT:
        raise UnknownSequenceStoreError(name, BUILT)
    out_dir = Path(out_dir) if out_dir else stores_dir()
    src = Path(source_dir) if source_dir else shared_data_dir()
    if name in DERIVED:  # from the shipped source store in out_dir (or the default folder), not ../shared
        from bench.features.sequence import read_store

        origin = out_dir / f"{DERIVED[name]}.h5"
        store = levels_store(read_store(origin if origin.exists() else stores_dir() / origin.name, DERIVED[name]), name)
    else:
        store = (pom_store(src / "sequence" / "pom") if name == "pom"
                 else mosi_store(src / "sequence" / "mosi", _wheel(wheel_dir)))
    target = out_dir / f"{name}.h5"
    candidate = candidate_path(target)
    digest = write_store(candidate, store)
    return replace_reference(candidate, target, digest, manifest, accept_new_reference)
