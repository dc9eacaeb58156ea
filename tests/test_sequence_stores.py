"""Sequence stores: shipped POM and MOSI, the MOSI join, synK generation and its ground truth."""

import h5py
import numpy as np
import pytest

import bench.features.sequence as S
from bench.builders.common import read_manifest
from bench.errors import ChecksumError, TableMissingError
from bench.features import synthetic as syn
from bench.features.sequence_build import build, join_mosi, tokenize
from tests.conftest import SHARED, needs_shared


def test_shipped_stores_open_and_verify():
    manifest = read_manifest(S.stores_dir())
    assert set(manifest) == {"pom.h5", "mosi.h5", "pom-levels.h5", "mosi-levels.h5"}
    for name in ("pom", "mosi", "pom-levels", "mosi-levels"):
        assert S.open(name).content_sha256 == manifest[f"{name}.h5"][1]
    lines = S.verify()
    assert len(lines) == 4 + len(syn.SETTINGS) and all(line.startswith("ok") for line in lines)
    assert set(S.stores()) == {"pom", "mosi", "pom-levels", "mosi-levels", *syn.SETTINGS}
    size = sum((S.stores_dir() / f).stat().st_size for f in manifest)
    assert size < 6_000_000  # shipped data stays small (the two *-levels stores: 1.8 MB)


def test_pom_splits_and_native_missingness():
    s = S.open("pom")
    assert {p: len(s.rows("standard", p)) for p in ("train", "val", "test")} == {"train": 600, "val": 100, "test": 203}
    assert s.dims == {"audio": 43, "video": 41} and s.steps == {"audio": 20, "video": 20}
    assert s.arrays["labels/traits"].shape == (903, 17)
    miss = s.arrays["missing"].astype(bool)
    counts = [int(miss[s.rows("standard", p), 1].sum()) for p in ("train", "val", "test")]
    assert counts == [322, 48, 116] and not miss[:, 0].any()
    assert abs(s.native_missing_rate()["video"] - 486 / 903) < 1e-12
    # a missing modality has no valid step and only zeros
    video = s.arrays["modalities/video"]
    assert not s.arrays["valid/video"][miss[:, 1]].any() and not video[miss[:, 1]].any()
    # padding is on the left: once a sample's audio starts, nothing before it is valid
    v = s.arrays["valid/audio"].astype(bool)
    first = v.argmax(axis=1)
    assert v.sum(axis=1).mean() > 10 and (first > 0).mean() > 0.5


def test_standardisation_uses_training_steps_only():
    s = S.open("pom")
    tr = s.part("standard", "train")
    frames = tr.x["audio"][tr.valid["audio"]]
    assert np.allclose(frames.mean(axis=0), 0, atol=1e-4)
    assert np.all(tr.x["audio"][~tr.valid["audio"]] == 0)  # padding stays exactly zero
    te = s.part("standard", "test")
    assert not np.allclose(te.x["audio"][te.valid["audio"]].mean(axis=0), 0, atol=1e-3)
    raw = s.part("standard", "test", standardize=False)
    assert np.array_equal(raw.x["video"], s.arrays["modalities/video"][s.rows("standard", "test")])
    assert te.missing.shape == (203, 2) and te.labels["traits"].shape == (203, 17)


def test_mosi_store_join_counts_and_dialogues():
    s = S.open("mosi")
    counts = {p: len(s.rows("standard", p)) for p in ("train", "val", "test")}
    assert counts == {"train": 1284, "val": 229, "test": 686}
    assert s.provenance["join"] == {"audio_videos": 93, "unique_matches": 93, "utterances": counts}
    assert [len(s.dialogues("standard", p)) for p in ("train", "val", "test")] == [52, 10, 31]
    for d in s.dialogues("standard", "val"):
        assert np.array_equal(s.group("position")[d], np.arange(len(d)))
        assert len(set(s.group("video")[d].tolist())) == 1
    y = s.arrays["labels/sentiment"]
    assert y.min() == -3 and y.max() == 3 and np.any(y != np.round(y))  # continuous -3..3 kept
    assert np.array_equal(s.arrays["labels/binary"], (y >= 0).astype(np.int64))
    assert s.dims == {"audio": 73, "text": 5} and s.steps == {"audio": 1, "text": 50}
    assert len(s.group("video_ids")) == 93
    # text token ids index a vocabulary of training words only
    ids, vocab = s.aux("text_token_ids"), s.aux("text_vocab")
    assert ids.max() < len(vocab) and vocab[0] == b"<pad>"
    assert np.array_equal(ids != 0, s.arrays["valid/text"].astype(bool))


def test_mosi_text_features_carry_the_measured_signal():
    s = S.open("mosi")
    y, comp = s.arrays["labels/sentiment"], s.aux("vader_compound")
    r = float(np.corrcoef(comp, y)[0, 1])
    assert r == pytest.approx(s.provenance["text_zero_shot"]["vader_compound_pearson_r_all"], abs=1e-4)
    assert r > 0.45
    # token valence alone, summed per utterance, is already correlated with sentiment
    val = s.arrays["modalities/text"][:, :, 0].sum(axis=1)
    assert np.corrcoef(val, y)[0, 1] > 0.3


def test_join_rule_refuses_ambiguous_and_duplicate_matches():
    labels = {"a": [1.0, -1.0], "b": [0.0, -2.0], "c": [-1.0, 2.0]}  # a and b are both (1, 0) under >= 0
    audio = [("train", 0, np.zeros((2, 3)), np.array([0, 1]))]
    assert join_mosi(audio, labels) == {("train", 0): "c"}
    with pytest.raises(S.SequenceFormatError, match="matches 2 metadata videos"):
        join_mosi([("train", 0, np.zeros((2, 3)), np.array([1, 0]))], labels)
    with pytest.raises(S.SequenceFormatError, match="matches 0"):
        join_mosi([("test", 3, np.zeros((3, 3)), np.array([1, 1, 1]))], labels)
    with pytest.raises(S.SequenceFormatError, match="more than once"):
        join_mosi(audio + [("test", 0, np.zeros((2, 3)), np.array([0, 1]))], labels)
    assert tokenize("IT WAS REALLY GOOD, ok!") == ["it", "was", "really", "good", "ok"]


@needs_shared
def test_mosi_join_on_the_real_files_is_a_bijection():
    from bench.features.sequence_build import MOSI_AUDIO, MOSI_META, read_mosi_audio, read_mosi_meta

    audio = read_mosi_audio(SHARED / "sequence" / "mosi" / MOSI_AUDIO[0])
    _, labels, _, split = read_mosi_meta(SHARED / "sequence" / "mosi" / MOSI_META[0])
    mapping = join_mosi(audio, labels)
    assert len(audio) == 93 and len(mapping) == 93 and len(set(mapping.values())) == 93
    assert [len(split[p]) for p in ("train", "val", "test")] == [52, 10, 31]
    # the rival convention (positive = sentiment > 0) does not give a join
    strict = {v: [s if s != 0 else -1 for s in lab] for v, lab in labels.items()}
    with pytest.raises(S.SequenceFormatError):
        join_mosi(audio, strict)


@needs_shared
@pytest.mark.parametrize("name", ["pom", "mosi"])
def test_rebuild_gives_the_shipped_checksum(tmp_path, name):
    manifest = read_manifest(S.stores_dir())
    out = build(name, out_dir=tmp_path, manifest=False)
    assert S.read_store(out).content_sha256 == manifest[f"{name}.h5"][1]


def test_named_errors(tmp_path):
    with pytest.raises(S.UnknownSequenceStoreError, match="pom"):
        S.open("iemocap")
    with pytest.raises(TableMissingError, match="sequence build pom"):
        S.open("pom", directory=tmp_path)
    with pytest.raises(S.UnknownSplitError, match="standard"):
        S.open("pom").rows("fold0", "train")
    with pytest.raises(S.UnknownSplitError):
        S.open("pom").part("standard", "dev")
    with pytest.raises(KeyError, match="video"):
        S.open("pom").dialogues()  # POM has no dialogue grouping
    with pytest.raises(S.SequenceFormatError, match="valid mask"):
        S.assemble({"a": np.zeros((3, 4, 2))}, {"a": np.zeros((3, 5))}, {"y": np.zeros(3)}, {})


def test_edited_store_is_refused(tmp_path):
    setting = syn.SynSetting(K=2, n=(20, 5, 5), dims=(3, 3), paths=((1, 2, 1.0),), seed=3)
    s = syn.generate(setting, "pom")
    S.write_store(tmp_path / "pom.h5", s)
    assert S.open("pom", directory=tmp_path).content_sha256 == s.content_sha256  # no MANIFEST there
    S.write_store(tmp_path / "mosi.h5", s)
    with pytest.raises(ChecksumError, match="copied over"):
        S.open("mosi", directory=tmp_path)
    with h5py.File(tmp_path / "pom.h5", "r+") as f:
        f.attrs["ground_truth"] = f.attrs["ground_truth"].replace('"m1->m2"', '"m2->m1"')
    with pytest.raises(ChecksumError, match="checksum"):
        S.open("pom", directory=tmp_path)
    S.write_store(tmp_path / "mosi.h5", syn.generate(setting, "mosi"))
    with h5py.File(tmp_path / "mosi.h5", "r+") as f:
        f["modalities/m1"][0, -1, 0] += 1
    with pytest.raises(ChecksumError, match="mosi.h5"):
        S.open("mosi", directory=tmp_path)


# -- synK ------------------------------------------------------------------------------------
def test_synthetic_is_deterministic_and_seeded():
    a, b = syn.make(K=3, n=(60, 20, 20), seed=5, paths=[(1, 2, 1.0)]), syn.make(K=3, n=(60, 20, 20), seed=5,
                                                                                   paths=[(1, 2, 1.0)])
    assert a.content_sha256 == b.content_sha256
    assert all(np.array_equal(a.arrays[k], b.arrays[k]) for k in a.arrays)
    c = syn.make(K=3, n=(60, 20, 20), seed=6, paths=[(1, 2, 1.0)])
    assert c.content_sha256 != a.content_sha256
    assert not np.array_equal(a.arrays["modalities/m1"], c.arrays["modalities/m1"])
    d = syn.make(K=3, n=(60, 20, 20), seed=5, paths=[(2, 1, 1.0)])
    assert d.content_sha256 != a.content_sha256 and d.ground_truth["signal_paths"] == ["m2->m1"]


def test_named_settings_match_their_committed_checksums():
    record = syn.read_record()
    assert set(record) == set(syn.SETTINGS)
    k3 = [n for n, s in syn.SETTINGS.items() if s.K == 3]
    assert len(k3) >= 3 and any(s.K == 4 for s in syn.SETTINGS.values())
    for name in syn.SETTINGS:
        s = S.open(name)
        assert s.content_sha256 == record[name][1] and s.name == name


def test_ground_truth_is_recorded_and_drives_the_label():
    s = S.open("syn3-p2")
    gt = s.ground_truth
    assert gt["signal_paths"] == ["m1->m2", "m3->m1"] and len(gt["all_paths"]) == 6
    assert gt["noise"] == {"m1": 0.5, "m2": 0.5, "m3": 0.5} and gt["setting"]["phi"] == 0.9
    parts = s.aux("truth/label_parts").astype(np.float64)
    assert parts.shape == (903, 3) and gt["label_parts"] == ["trend", "m1->m2", "m3->m1"]
    y = s.arrays["labels/y"]
    resid = y - np.clip(parts.sum(axis=1), -3, 3)
    assert np.std(resid) < 0.15  # sigma_y = 0.1 plus float32 rounding
    for k in range(3):
        assert np.corrcoef(parts[:, k], y)[0, 1] > 0.4  # every recorded term carries signal
    none = S.open("syn3-none")
    assert none.ground_truth["signal_paths"] == [] and none.aux("truth/label_parts").shape[1] == 1
    assert syn.score_paths(s, ["m1->m2"]) == {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "jaccard": 0.5}
    with pytest.raises(KeyError, match="m1->m2"):
        syn.score_paths(s, ["m1->m9"])


def test_trend_is_observable_through_the_informative_modalities():
    s = S.open("syn3-none")
    tr, te = s.part("standard", "train"), s.part("standard", "test")

    def pooled(p):
        x = p.x["m1"]
        return np.concatenate([x.sum(axis=1) / p.valid["m1"].sum(axis=1, keepdims=True), np.ones((len(x), 1))], axis=1)

    w = np.linalg.lstsq(pooled(tr), tr.labels["y"], rcond=None)[0]
    r = np.corrcoef(pooled(te) @ w, te.labels["y"])[0, 1]
    assert r > 0.7  # a linear read-out of one modality recovers the trend-only label


def test_missing_and_inconsistency_rates():
    s = syn.make(K=3, n=(2000, 500, 500), T=10, d=4, missing_rate=(0.0, 0.3, 0.6), inconsistency_rate=(0.2, 0.0, 0.0),
                 seed=1, min_len=4)
    rates = s.native_missing_rate()
    assert rates["m1"] < 0.01 and abs(rates["m2"] - 0.3) < 0.03 and abs(rates["m3"] - 0.6) < 0.03
    assert not s.arrays["missing"].all(axis=1).any()  # one modality always present
    inc = s.aux("truth/inconsistent")
    assert abs(inc[:, 0].mean() - 0.2) < 0.03 and not inc[:, 1:].any()
    src, part = s.aux("truth/source_row"), s.aux("truth/part")
    assert np.array_equal(part[src[:, 0]], part)  # content is borrowed within the same split part
    assert s.ground_truth["missing_rate"] == {"m1": 0.0, "m2": 0.3, "m3": 0.6}


def test_bad_settings_are_named_errors():
    with pytest.raises(S.SequenceFormatError, match="paths"):
        syn.make(K=3, paths=[(1, 1, 1.0)])
    with pytest.raises(S.SequenceFormatError, match="missing_rate"):
        syn.make(K=3, missing_rate=1.5)
    with pytest.raises(S.SequenceFormatError, match="one per modality"):
        syn.make(K=3, noise=(0.1, 0.2))
    with pytest.raises(syn.UnknownSettingError, match="syn3-p2"):
        syn.open_setting("syn9")


def test_changed_record_is_detected(tmp_path):
    (tmp_path / syn.RECORD).write_text(syn.RECORD_HEADER + "\n" + "syn3-p2\t" + syn.SETTINGS["syn3-p2"].sha256()
                                       + "\t" + "0" * 64 + "\n")
    with pytest.raises(ChecksumError, match="numpy random streams"):
        syn.open_setting("syn3-p2", tmp_path)
    with pytest.raises(ChecksumError, match="no entry"):
        syn.open_setting("syn4-p3", tmp_path)


def test_build_dispatch(tmp_path):
    path = S.build("syn3-p2", out_dir=tmp_path)
    assert path == tmp_path / syn.RECORD and syn.read_record(tmp_path) == syn.read_record()
    with pytest.raises(S.UnknownSequenceStoreError, match="mosi"):
        S.build("meld")


def test_planted_keys_make_the_looked_up_step_stand_out():
    from bench.features.sequence import SequenceFormatError
    from bench.families.mro.trainer import Recipe, recipe_for

    plain = syn.make(paths=((1, 2, 1.0),), n=(300, 50, 50), T=12)
    planted = syn.make(paths=((1, 2, 1.0),), n=(300, 50, 50), T=12, plant=3.0)
    assert "plant" not in plain.ground_truth["setting"] and planted.ground_truth["setting"]["plant"] == 3.0
    # the settings recorded before the knob existed keep their checksums
    assert syn.SETTINGS["syn3-p2"].sha256() == syn.read_record()["syn3-p2"][0]
    # the planted setting's path term is still one of the label's unit-variance parts
    parts = planted.aux("truth/label_parts").astype(np.float64)
    assert abs(parts[:, 1].std() / parts[:, 0].std() - 1) < 0.2
    with pytest.raises(SequenceFormatError, match="plant must be a finite number >= 0"):
        syn.make(paths=((1, 2, 1.0),), plant=-1.0)
    assert recipe_for("syn3-p2-planted") == Recipe(lr=3e-3, epochs=30) and recipe_for("pom") == Recipe()
    assert S.open("syn3-p2-planted").ground_truth["signal_paths"] == ["m1->m2", "m3->m1"]
