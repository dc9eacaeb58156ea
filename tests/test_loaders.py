"""Paper-format loaders on small files written here in the published formats."""

import json
import pickle

import h5py
import numpy as np
import pytest

from bench.errors import SourceMissingError
from bench.features import loaders as L
from bench.features.sequence import SequenceFormatError, SequenceStore
from tests.conftest import SHARED, needs_shared

RNG = np.random.default_rng(0)


def _dump(path, obj, protocol=4):
    with open(path, "wb") as fh:
        pickle.dump(obj, fh, protocol=protocol)
    return path


def _mmsa_part(n, sims=False, unaligned=True):
    t_text, t_audio, t_vision = 6, 9, 7
    text = RNG.standard_normal((n, t_text, 8)).astype(np.float32)
    text_bert = np.zeros((n, 3, t_text))
    lens = RNG.integers(1, t_text + 1, size=n)
    for i, k in enumerate(lens):
        text_bert[i, 0, :k] = RNG.integers(100, 200, size=k)
        text_bert[i, 1, :k] = 1
    audio = RNG.standard_normal((n, t_audio, 5)).astype(np.float32)
    audio[0, 0, 0] = -np.inf  # MMSA audio holds -inf for silent frames
    a_len = RNG.integers(1, t_audio + 1, size=n)
    v_len = RNG.integers(1, t_vision + 1, size=n)
    vision = RNG.standard_normal((n, t_vision, 4)).astype(np.float32)
    d = {"raw_text": np.array([f"utt {i}" for i in range(n)]), "audio": audio, "vision": vision,
         "id": np.array([f"vid{i // 3}$_${i % 3 + 1}" for i in range(n)]), "text": text, "text_bert": text_bert,
         "annotations": ["Positive"] * n, "classification_labels": RNG.integers(0, 3, size=n).astype(np.float32),
         "regression_labels": RNG.uniform(-3, 3, size=n).astype(np.float32)}
    if unaligned:
        d["audio_lengths"], d["vision_lengths"] = list(a_len), list(v_len)
    if sims:
        for m in "TAV":
            d[f"regression_labels_{m}"] = RNG.uniform(-1, 1, size=n).astype(np.float32)
    return d


def test_mmsa_pickle(tmp_path):
    data = {"train": _mmsa_part(9, sims=True), "valid": _mmsa_part(3, sims=True), "test": _mmsa_part(6, sims=True)}
    s = L.load_mmsa(_dump(tmp_path / "unaligned_39.pkl", data))
    assert isinstance(s, SequenceStore)
    assert s.modalities == ["text", "audio", "vision"] and s.dims == {"text": 8, "audio": 5, "vision": 4}
    assert [len(s.rows("standard", p)) for p in ("train", "val", "test")] == [9, 3, 6]
    assert set(s.label_names) == {"sentiment", "class", "sentiment_T", "sentiment_A", "sentiment_V"}
    np.testing.assert_allclose(s.arrays["labels/sentiment"][:9], data["train"]["regression_labels"])
    # valid steps: text from the BERT mask, audio/vision from the lengths
    assert np.array_equal(s.arrays["valid/text"][:9], data["train"]["text_bert"][:, 1, :] > 0)
    assert np.array_equal(s.arrays["valid/audio"][:9].sum(axis=1), data["train"]["audio_lengths"])
    assert np.all(np.isfinite(s.arrays["modalities/audio"]))
    # dialogue grouping from 'video$_$clip'
    d = s.dialogues("standard", "train")
    assert len(d) == 3 and [list(s.group("position")[x]) for x in d] == [[1, 2, 3]] * 3
    assert s.aux("raw_text")[0] == b"utt 0"


def test_mmsa_bad_input(tmp_path):
    with pytest.raises(SequenceFormatError, match="dict"):
        L.load_mmsa(_dump(tmp_path / "a.pkl", [1, 2, 3]))
    with pytest.raises(SequenceFormatError, match="'valid'"):
        L.load_mmsa(_dump(tmp_path / "b.pkl", {"train": _mmsa_part(3), "test": _mmsa_part(3)}))
    bad = {"train": _mmsa_part(4), "valid": _mmsa_part(2), "test": _mmsa_part(2)}
    del bad["test"]["regression_labels"]
    with pytest.raises(SequenceFormatError, match="regression_labels"):
        L.load_mmsa(_dump(tmp_path / "c.pkl", bad))
    bad = {"train": _mmsa_part(4), "valid": _mmsa_part(2), "test": _mmsa_part(2)}
    bad["train"]["audio"] = bad["train"]["audio"][:3]
    with pytest.raises(SequenceFormatError, match="audio"):
        L.load_mmsa(_dump(tmp_path / "d.pkl", bad))
    bad = {"train": _mmsa_part(4), "valid": _mmsa_part(2), "test": _mmsa_part(2)}
    bad["valid"]["vision"] = np.zeros((2, 7, 9))  # other feature size than train
    with pytest.raises(SequenceFormatError, match="features"):
        L.load_mmsa(_dump(tmp_path / "e.pkl", bad))
    (tmp_path / "f.pkl").write_bytes(b"not a pickle")
    with pytest.raises(SequenceFormatError, match="not a readable pickle"):
        L.load_mmsa(tmp_path / "f.pkl")
    with pytest.raises(SourceMissingError):
        L.load_mmsa(tmp_path / "absent.pkl")


def _mult_part(n, iemocap=False):
    t = 5
    d = {m: RNG.standard_normal((n, t, k)).astype(np.float32) for m, k in (("text", 6), ("audio", 4), ("vision", 3))}
    d["audio"][:, :2] = 0  # aligned data is zero-padded at the start
    d["audio"][0, 3, 1] = -np.inf
    d["labels"] = (RNG.random((n, 4, 2)).astype(np.float32) if iemocap
                   else RNG.uniform(-3, 3, size=(n, 1, 1)).astype(np.float32))
    d["id"] = np.array([[f"v{i // 2}", str(i), str(i + 1)] for i in range(n)])
    return d


@pytest.mark.parametrize("iemocap", [False, True])
def test_mult_pickle(tmp_path, iemocap):
    data = {p: _mult_part(n, iemocap) for p, n in (("train", 6), ("valid", 2), ("test", 4))}
    s = L.load_mult(_dump(tmp_path / "mosi_data.pkl", data))
    assert s.dims == {"text": 6, "audio": 4, "vision": 3} and s.n == 12
    assert not s.arrays["valid/audio"][:, :2].any() and s.arrays["valid/audio"][:, 2:].all()
    if iemocap:
        assert s.arrays["labels/emotions"].shape == (12, 4)
        assert np.array_equal(s.arrays["labels/emotions"][:6], np.argmax(data["train"]["labels"], axis=2))
    else:
        np.testing.assert_allclose(s.arrays["labels/sentiment"][6:8], data["valid"]["labels"].reshape(-1))
    assert [len(x) for x in s.dialogues("standard", "train")] == [2, 2, 2]


def test_mult_bad_input(tmp_path):
    data = {p: _mult_part(3) for p in ("train", "valid", "test")}
    del data["valid"]["vision"]
    with pytest.raises(SequenceFormatError, match="vision"):
        L.load_mult(_dump(tmp_path / "a.pkl", data))
    data = {p: _mult_part(3) for p in ("train", "valid", "test")}
    data["test"]["text"] = data["test"]["text"][:2]  # fewer samples than labels
    with pytest.raises(SequenceFormatError, match="n=3"):
        L.load_mult(_dump(tmp_path / "b.pkl", data))


def _dialogue(dataset):
    vids = [f"Ses{i:02d}" for i in range(12)]
    ids = {v: [f"{v}_{k}" for k in range(3 + i % 3)] for i, v in enumerate(vids)}
    n = {v: len(u) for v, u in ids.items()}
    spk = ({v: ["M", "F"] * 3 for v in vids} if dataset == "iemocap"
           else {v: [list(np.eye(9)[k % 9]) for k in range(n[v])] for v in vids})
    spk = {v: s[:n[v]] for v, s in spk.items()}
    lab = {v: list(RNG.integers(0, 6, size=n[v])) for v in vids}
    text = {v: [list(RNG.standard_normal(100)) for _ in range(n[v])] for v in vids}
    audio = {v: [list(RNG.standard_normal(10)) for _ in range(n[v])] for v in vids}
    sentences = {v: [f"sentence {k}" for k in range(n[v])] for v in vids}
    train, test = vids[:9], vids[9:]
    if dataset == "iemocap":
        visual = {v: [list(RNG.standard_normal(7)) for _ in range(n[v])] for v in vids}
        return (ids, spk, lab, text, audio, visual, sentences, train, test)
    senti = {v: list(RNG.integers(0, 3, size=n[v])) for v in vids}
    return (ids, spk, lab, text, audio, sentences, train, test, senti)


@pytest.mark.parametrize("dataset", ["iemocap", "meld"])
def test_dialoguernn_pickle(tmp_path, dataset):
    obj = _dialogue(dataset)
    path = _dump(tmp_path / f"{dataset.upper()}_features_raw.pkl", obj, protocol=2)
    s = L.load_dialoguernn(path)  # the dataset is recognised from the tuple
    assert s.name == dataset
    assert s.dims == ({"text": 100, "audio": 10, "visual": 7} if dataset == "iemocap" else {"text": 100, "audio": 10})
    assert set(s.label_names) == ({"emotion"} if dataset == "iemocap" else {"emotion", "sentiment"})
    dialogs = {p: s.dialogues("standard", p) for p in ("train", "val", "test")}
    assert [len(d) for d in dialogs.values()] == [8, 1, 3]
    ids_of = s.group("video_ids")
    test_vids = [ids_of[s.group("video")[d[0]]].decode() for d in dialogs["test"]]
    assert test_vids == sorted(obj[-2 if dataset == "meld" else -1])  # videos in sorted order
    first = dialogs["test"][0]
    np.testing.assert_allclose(s.arrays["modalities/text"][first, 0], np.array(obj[3]["Ses09"]), rtol=1e-6)
    assert list(s.arrays["labels/emotion"][first]) == list(obj[2]["Ses09"])
    if dataset == "meld":
        assert s.aux("speaker")[first][1] == b"1"  # one-hot speaker -> index


def test_dialoguernn_bad_input(tmp_path):
    obj = list(_dialogue("iemocap"))
    with pytest.raises(SequenceFormatError, match="9-tuple"):
        L.load_dialoguernn(_dump(tmp_path / "a.pkl", tuple(obj[:7])))
    obj[2] = dict(obj[2])
    obj[2]["Ses00"] = obj[2]["Ses00"][:-1]
    with pytest.raises(SequenceFormatError, match="Ses00"):
        L.load_dialoguernn(_dump(tmp_path / "b.pkl", tuple(obj)), dataset="iemocap")
    with pytest.raises(SequenceFormatError, match="iemocap"):
        L.load_dialoguernn(_dump(tmp_path / "c.pkl", _dialogue("iemocap")), dataset="mosi")


def _gcnet_files(tmp_path, regression=True):
    vids = ["va", "vb", "vc", "vd"]
    ids = {v: [f"{v}_{k + 1}" for k in range(3)] for v in vids}
    lab = {v: list(RNG.uniform(-3, 3, 3) if regression else RNG.integers(0, 4, 3)) for v in vids}
    spk = {v: [""] * 3 for v in vids}
    sent = {v: np.array(["A B", "C", "D E F"]) for v in vids}
    label = _dump(tmp_path / "CMUMOSI_features_raw_2way.pkl", [ids, lab, spk, sent, {"va", "vb"}, {"vc"}, {"vd"}], 2)
    roots = {m: tmp_path / m for m in ("audio", "text", "video")}
    for m, root in roots.items():
        root.mkdir()
        for v in vids:
            for u in ids[v]:
                if m == "video":  # faces: a folder of per-frame arrays
                    (root / u).mkdir()
                    for k in range(2):
                        np.save(root / u / f"{k:03d}.npy", RNG.standard_normal(4))
                elif m == "audio" and u == "vb_2":
                    continue  # no audio file for this utterance: natively missing
                else:
                    np.save(root / f"{u}.npy", RNG.standard_normal((2, 5) if m == "text" else (6,)))
    return label, roots, ids, lab


def test_gcnet_label_file_and_feature_folders(tmp_path):
    label, roots, ids, lab = _gcnet_files(tmp_path)
    s = L.load_gcnet(label, roots)
    assert s.dims == {"audio": 6, "text": 5, "video": 4}
    assert [len(s.rows("standard", p)) for p in ("train", "val", "test")] == [6, 3, 3]
    np.testing.assert_allclose(s.arrays["labels/sentiment"][:3], lab["va"], rtol=1e-6)
    text = np.load(roots["text"] / "va_1.npy")
    np.testing.assert_allclose(s.arrays["modalities/text"][0, 0], text.mean(axis=0), rtol=1e-6)  # [T, d] averaged
    faces = np.stack([np.load(roots["video"] / "va_2" / f"{k:03d}.npy") for k in range(2)])
    np.testing.assert_allclose(s.arrays["modalities/video"][1, 0], faces.mean(axis=0), rtol=1e-6)
    miss = s.arrays["missing"].astype(bool)
    assert miss.sum() == 1 and miss[4, 0]  # vb_2's audio
    (tmp_path / "cls").mkdir()
    label2, roots2, *_ = _gcnet_files(tmp_path / "cls", regression=False)
    assert L.load_gcnet(label2, roots2).label_names == ["emotion"]  # integer labels are classes


def test_gcnet_bad_input(tmp_path):
    label, roots, ids, lab = _gcnet_files(tmp_path)
    with pytest.raises(SequenceFormatError, match="7-tuple"):
        L.load_gcnet(_dump(tmp_path / "x.pkl", (1, 2, 3)), roots)
    np.save(roots["audio"] / "va_1.npy", np.zeros(9))  # one utterance with another feature size
    with pytest.raises(SequenceFormatError, match="feature sizes"):
        L.load_gcnet(label, roots)
    with pytest.raises(SourceMissingError):
        L.load_gcnet(label, {"audio": tmp_path / "nowhere"})


@needs_shared
def test_gcnet_loader_reads_the_real_mosi_label_file(tmp_path):
    """The shared MOSI metadata is GCNet's own label file: the loader must read it as is."""
    label = SHARED / "sequence" / "mosi" / "mosi_meta_transcripts_labels.pkl"
    ids = pickle.load(open(label, "rb"), encoding="latin1")[0]
    root = tmp_path / "feat"
    root.mkdir()
    for v in ids:
        for u in ids[v]:
            np.save(root / f"{u}.npy", np.ones(2))
    s = L.load_gcnet(label, {"audio": root})
    assert [len(s.rows("standard", p)) for p in ("train", "val", "test")] == [1284, 229, 686]
    assert s.label_names == ["sentiment"]


def _mmimdb(path, n=30, fuel=True):
    with h5py.File(path, "w") as f:
        f["features"] = RNG.standard_normal((n, 300)).astype(np.float32)
        f["vgg_features"] = RNG.standard_normal((n, 4096)).astype(np.float32)
        f["genres"] = (RNG.random((n, 23)) < 0.2).astype(np.int64)
        f["imdb_ids"] = np.array([f"{i:07d}".encode() for i in range(n)])
        f["images"] = np.zeros((n, 3, 4, 4), dtype=np.uint8)
        if fuel:
            dt = np.dtype([("split", "S5"), ("source", "S15"), ("start", np.int64), ("stop", np.int64),
                           ("indices", h5py.special_dtype(ref=h5py.Reference)), ("available", bool),
                           ("comment", "S1")])
            rows = []
            for sp, (a, b) in (("train", (0, 20)), ("dev", (20, 24)), ("test", (24, n))):
                for src in ("features", "genres", "images", "imdb_ids", "vgg_features"):
                    rows.append((sp.encode(), src.encode(), a, b, h5py.Reference(), True, b"."))
            f.attrs["split"] = np.array(rows, dtype=dt)
    return path


def test_mmimdb_hdf5(tmp_path):
    s = L.load_mmimdb(_mmimdb(tmp_path / "multimodal_imdb.hdf5"))
    assert s.dims == {"text": 300, "image": 4096} and s.steps == {"text": 1, "image": 1}
    assert [len(s.rows("standard", p)) for p in ("train", "val", "test")] == [20, 4, 6]
    assert s.arrays["labels/genres"].shape == (30, 23)
    # BM-NAS's split file instead of Fuel's attribute
    path = _mmimdb(tmp_path / "nofuel.hdf5", fuel=False)
    split = tmp_path / "mmimdb_split.json"
    split.write_text(json.dumps({"train": [f"{i:07d}" for i in range(10, 30)], "dev": ["0000001"],
                                 "test": [f"{i:07d}" for i in range(2, 10)]}))
    s2 = L.load_mmimdb(path, split_json=split)
    assert list(s2.rows("standard", "val")) == [1] and len(s2.rows("standard", "train")) == 20


def test_mmimdb_bad_input(tmp_path):
    with pytest.raises(SequenceFormatError, match="standard"):
        L.load_mmimdb(_mmimdb(tmp_path / "a.hdf5", fuel=False))  # 30 rows and no split: not the standard file
    with h5py.File(tmp_path / "b.hdf5", "w") as f:
        f["features"] = np.zeros((3, 300))
        f["genres"] = np.zeros((3, 23))
    with pytest.raises(SequenceFormatError, match="vgg_features"):
        L.load_mmimdb(tmp_path / "b.hdf5")
    with h5py.File(tmp_path / "c.hdf5", "w") as f:
        f["features"] = np.zeros((3, 300))
        f["vgg_features"] = np.zeros((2, 4096))
        f["genres"] = np.zeros((3, 23))
    with pytest.raises(SequenceFormatError, match="disagree"):
        L.load_mmimdb(tmp_path / "c.hdf5")
    (tmp_path / "d.hdf5").write_text("text")
    with pytest.raises(SequenceFormatError, match="not an HDF5"):
        L.load_mmimdb(tmp_path / "d.hdf5")
    split = tmp_path / "s.json"
    split.write_text(json.dumps({"train": ["x"], "dev": [], "test": []}))
    with pytest.raises(SequenceFormatError, match="ids not in"):
        L.load_mmimdb(_mmimdb(tmp_path / "e.hdf5", fuel=False), split_json=split)


def _skeleton_text(frames, bodies):
    lines = [str(len(frames))]
    for t in range(len(frames)):
        lines.append(str(bodies))
        for b in range(bodies):
            lines.append("72057594037931101 0 1 1 1 1 0 0.02 0.14 2")
            lines.append("25")
            for j in range(25):
                x, y, z = frames[t][b][j]
                lines.append(f"{x} {y} {z} 254.6 211.2 969.9 545.9 0.17 0.04 -0.95 0.24 2")
    return "\n".join(lines) + "\n"


def test_ntu_skeletons(tmp_path):
    files = {}
    for subj, action in ((1, 5), (2, 7), (3, 9), (4, 1)):
        frames = RNG.standard_normal((10 + subj, 2, 25, 3)).round(4)
        name = f"S001C001P{subj:03d}R001A{action:03d}.skeleton"
        (tmp_path / name).write_text(_skeleton_text(frames, 2 if subj != 3 else 1))
        files[name] = frames
    raw = L.read_ntu_skeleton(tmp_path / "S001C001P001R001A005.skeleton")
    np.testing.assert_allclose(raw, files["S001C001P001R001A005.skeleton"])
    one = L.read_ntu_skeleton(tmp_path / "S001C001P003R001A009.skeleton")
    assert not one[:, 1].any()  # a single body leaves the second zero
    s = L.load_ntu_skeletons(tmp_path, steps=8)
    assert s.dims == {"skeleton": 150} and s.steps == {"skeleton": 8}
    assert list(s.arrays["labels/action"]) == [4, 6, 8, 0]
    assert [list(s.rows("standard", p)) for p in ("train", "val", "test")] == [[0, 3], [1], [2]]
    x = s.arrays["modalities/skeleton"][0].reshape(8, 2, 25, 3)
    assert np.allclose(x[:, 0, 1], 0, atol=1e-5)  # joint 2 of body 1 is the origin


def test_ntu_bad_input(tmp_path):
    (tmp_path / "S001C001P001R001A001.skeleton").write_text("3\n1\nbody\n25\n1 2 3\n")
    with pytest.raises(SequenceFormatError, match="not an NTU"):
        L.load_ntu_skeletons(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    (other / "clip7.skeleton").write_text(_skeleton_text(np.zeros((1, 1, 25, 3)), 1))
    with pytest.raises(SequenceFormatError, match="file name"):
        L.load_ntu_skeletons(other)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SourceMissingError, match="no .skeleton"):
        L.load_ntu_skeletons(empty)


def test_ntu_rgb_features_are_a_second_modality_missing_where_no_file(tmp_path):
    names = []
    for subj, action in ((1, 5), (2, 7), (3, 9)):
        frames = RNG.standard_normal((6, 1, 25, 3)).round(4)
        name = f"S001C001P{subj:03d}R001A{action:03d}"
        (tmp_path / f"{name}.skeleton").write_text(_skeleton_text(frames, 1))
        names.append(name)
    rgb = tmp_path / "rgb"
    rgb.mkdir()
    for name in names[:2]:
        np.save(rgb / f"{name}.npy", RNG.standard_normal((9, 5)))
    s = L.load_ntu_skeletons(tmp_path, steps=4, rgb_features=rgb)
    assert s.modalities == ["skeleton", "rgb"] and s.dims["rgb"] == 5 and s.steps["rgb"] == 4
    assert s.arrays["missing"].tolist() == [[0, 0], [0, 0], [0, 1]]  # the third sample has no RGB file
    assert not s.arrays["valid/rgb"][2].any() and s.arrays["valid/rgb"][:2].all()
    np.save(rgb / f"{names[2]}.npy", RNG.standard_normal((9, 6)))
    with pytest.raises(SequenceFormatError, match="6 RGB features"):
        L.load_ntu_skeletons(tmp_path, steps=4, rgb_features=rgb)
    with pytest.raises(SourceMissingError, match="does not exist"):
        L.load_ntu_skeletons(tmp_path, rgb_features=tmp_path / "nope")


def _ego_tree(root, subjects=(3, 1, 2)):
    """A label tree and RGB/depth frame features in the EgoGesture layouts (depth lacks subject 2)."""
    truth = {}
    for subj in subjects:
        lab = root / "labels" / f"subject{subj:02d}" / "Scene1"
        lab.mkdir(parents=True)
        (lab / "Group1.csv").write_text(f"{subj + 10},3,8\n{subj + 20},10,19\n")
        for m, d in (("rgb", 4), ("depth", 3)):
            if m == "depth" and subj == 2:
                continue
            f = root / m / f"Subject{subj:02d}" / "Scene1"
            f.mkdir(parents=True)
            x = RNG.standard_normal((20, d))
            np.save(f / "Group1.npy", x)
            truth[(subj, m)] = x
    return truth


def test_egogesture_clips_by_subject_split_with_native_missing(tmp_path):
    truth = _ego_tree(tmp_path)
    s = L.load_egogesture(tmp_path / "labels", {"rgb": tmp_path / "rgb", "depth": tmp_path / "depth"}, steps=6)
    assert s.modalities == ["rgb", "depth"] and s.dims == {"rgb": 4, "depth": 3}
    # subjects in folder order 01, 02, 03: two clips each; 3 trains, 1 validates, 2 tests
    assert list(s.arrays["labels/gesture"]) == [10, 20, 11, 21, 12, 22]
    assert [list(s.rows("standard", p)) for p in ("train", "val", "test")] == [[4, 5], [0, 1], [2, 3]]
    assert s.arrays["missing"][:, 1].tolist() == [0, 0, 1, 1, 0, 0]  # subject 2 has no depth recording
    assert s.aux("clip").tolist()[2] == [2, 1, 1, 3, 8]
    with pytest.raises(SequenceFormatError, match="frames 3..8, the recording has 5"):
        np.save(tmp_path / "rgb" / "Subject01" / "Scene1" / "Group1.npy", RNG.standard_normal((5, 4)))
        L.load_egogesture(tmp_path / "labels", {"rgb": tmp_path / "rgb"})


def test_egogesture_bad_input(tmp_path):
    _ego_tree(tmp_path, subjects=(1,))
    csv = tmp_path / "labels" / "subject01" / "Scene1" / "Group1.csv"
    csv.write_text("84,1,2\n")
    with pytest.raises(SequenceFormatError, match="class must be 1..83"):
        L.load_egogesture(tmp_path / "labels", {"rgb": tmp_path / "rgb"})
    csv.write_text("a,b\n")
    with pytest.raises(SequenceFormatError, match="expected 'class,start,end'"):
        L.load_egogesture(tmp_path / "labels", {"rgb": tmp_path / "rgb"})
    with pytest.raises(SequenceFormatError, match="at least one feature root"):
        L.load_egogesture(tmp_path / "labels", {})
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SourceMissingError, match="no subjectNN"):
        L.load_egogesture(empty, {"rgb": tmp_path / "rgb"})
