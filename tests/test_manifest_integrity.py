"""MANIFEST is the reference of every shipped file: required, every column checked, and pinned in the package."""

import json
import os
import shutil
import subprocess
import sys

import pytest

import bench
from bench.builders.registry import verify as verify_tables
from bench.errors import ChecksumError
from bench.manifest import read_manifest
from bench.paths import REPO_ROOT, data_cache_dir, tables_dir

NB201_ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"


def _tables(tmp_path, monkeypatch, *names, manifest=True):
    """A private tables folder holding ``names`` (and, with ``manifest``, the shipped MANIFEST's lines for them)."""
    out = tmp_path / "tables"
    out.mkdir()
    for n in names:
        shutil.copy(tables_dir() / n, out / n)
    if manifest:
        _subset_manifest(tables_dir(), out, names)
    monkeypatch.setenv("MMNAS_TABLES_DIR", str(out))
    return out


def _subset_manifest(src, dst, names):
    lines = (src / "MANIFEST").read_text().splitlines()
    (dst / "MANIFEST").write_text("\n".join([lines[0]] + [ln for ln in lines[1:] if ln.split("\t")[0] in names]) + "\n")


def test_a_missing_manifest_is_an_error_on_open_and_the_opt_out_works(tmp_path, monkeypatch):
    _tables(tmp_path, monkeypatch, "nb201.h5", manifest=False)
    monkeypatch.delenv("MMNAS_ALLOW_UNVERIFIED", raising=False)
    with pytest.raises(ChecksumError, match=r"MANIFEST is missing.*nb201\.h5.*MMNAS_ALLOW_UNVERIFIED=1"):
        bench.open("nb201", "cifar10")
    assert bench.open("nb201", "cifar10", verify=False).query(NB201_ARCH, "test_acc") > 90
    monkeypatch.setenv("MMNAS_ALLOW_UNVERIFIED", "1")
    assert bench.open("nb201", "cifar10").query(NB201_ARCH, "test_acc") > 90


def test_a_feature_store_without_manifest_is_refused(tmp_path, monkeypatch):
    import bench.features as F

    (tmp_path / "cache" / "features").mkdir(parents=True)
    shutil.copy(data_cache_dir() / "features" / "orl.h5", tmp_path / "cache" / "features" / "orl.h5")
    monkeypatch.setenv("MMNAS_DATA_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("MMNAS_ALLOW_UNVERIFIED", raising=False)
    with pytest.raises(ChecksumError, match=r"MANIFEST is missing.*orl\.h5"):
        F.open("orl")


def _verify_features(d):
    from bench.features.build import verify

    return verify(d)


def _verify_sequence(d):
    from bench.features import sequence

    return sequence.verify(d)


@pytest.mark.parametrize("folder, name, verify", [
    ("tables", "nb201.h5", verify_tables),
    ("features", "orl.h5", _verify_features),
    ("sequence", "mosi.h5", _verify_sequence),
])
def test_verify_compares_the_content_column(tmp_path, folder, name, verify):
    src = tables_dir() if folder == "tables" else data_cache_dir() / folder
    shutil.copy(src / name, tmp_path / name)
    _subset_manifest(src, tmp_path, [name])
    if folder == "sequence":  # its verify also checks the synthetic settings' record
        shutil.copy(src / "SYNTHETIC", tmp_path / "SYNTHETIC")
    assert any(line.startswith(f"ok  {name}") for line in verify(tmp_path))
    text = (tmp_path / "MANIFEST").read_text()
    content = text.splitlines()[1].split("\t")[2]
    flipped = content[:10] + ("0" if content[10] != "0" else "1") + content[11:]
    (tmp_path / "MANIFEST").write_text(text.replace(content, flipped))
    with pytest.raises(ChecksumError, match=rf"{name}: (content sha256 .* recomputed from its data|its data)"):
        verify(tmp_path)


def test_a_non_utf8_byte_in_manifest_is_an_error_naming_it(tmp_path, monkeypatch):
    tables = _tables(tmp_path, monkeypatch, "nb201.h5")
    raw = (tables / "MANIFEST").read_bytes()
    (tables / "MANIFEST").write_bytes(raw.replace(b"nb201.h5", b"nb201.h5\xff", 1))
    with pytest.raises(ChecksumError, match=r"MANIFEST, line 2: not UTF-8"):
        bench.open("nb201", "cifar10")
    with pytest.raises(ChecksumError, match=r"MANIFEST, line 2: not UTF-8"):
        verify_tables(tables)


@pytest.mark.parametrize("bench_name, dataset, file", [
    ("mro", "pom", "mro_pom.h5"),
    ("rmnas", "pom", "rmnas_pom.h5"),
    ("hfmnas", "landuse21", "hfmnas_landuse21.h5"),
])
@pytest.mark.parametrize("unverified", [False, True])
def test_a_truncated_trained_table_is_a_named_error(tmp_path, monkeypatch, bench_name, dataset, file, unverified):
    tables = _tables(tmp_path, monkeypatch, file, manifest=not unverified)
    monkeypatch.setenv("MMNAS_ALLOW_UNVERIFIED", "1") if unverified else monkeypatch.delenv(
        "MMNAS_ALLOW_UNVERIFIED", raising=False)
    data = (tables / file).read_bytes()
    (tables / file).write_bytes(data[: len(data) // 2])
    with pytest.raises(ChecksumError, match=rf"{file}.*(restore|rebuild)") as err:
        bench.open(bench_name, dataset, overlay=tmp_path / "o.sqlite")
    assert not isinstance(err.value, OSError)


def test_the_pinned_digests_are_the_shipped_manifests():
    from bench.manifest import PINNED, file_sha256, pinned_digests

    r = subprocess.run(["git", "-C", str(REPO_ROOT), "ls-files", "*MANIFEST"], capture_output=True, text=True)
    if r.returncode == 0 and r.stdout.strip():
        assert sorted(r.stdout.split()) == sorted(PINNED)  # every shipped MANIFEST is pinned
    pins = pinned_digests()
    assert sorted(pins) == sorted(PINNED)
    for key in PINNED:
        assert pins[key] == file_sha256(REPO_ROOT / key), (
            f"{key} changed without its pin in bench/reference_digests.py: rebuild with the project's build "
            "command (it records both), or restore the MANIFEST")


OUTSIDE_GIT = r"""
import json, sys
import bench
from bench.builders.common import write_built_table
from bench.builders.registry import verify
from bench.errors import ChecksumError
from bench.manifest import read_manifest
from bench.manifest import file_sha256, pinned_digests
from bench.paths import tables_dir
from bench.tablefile import DatasetTable, Metric, ScoreTable, read_dataset, write_table
import numpy as np

out = {"repo_root": str(bench.paths.REPO_ROOT)}
arch = sys.argv[1]
o = bench.open("nb201", "cifar10")
out["before"] = o.query(arch, "test_acc")
out["verify_before"] = len(verify())

# a builder adding a table records it in MANIFEST and in the pin, and the shipped files still open
acc = np.array([[0.1, 0.2]])
write_built_table(ScoreTable("toy", "s", "1", {"d": DatasetTable(["a"], {"acc": Metric(acc, "%", "max")})}), "toy.h5")
out["pin_follows_build"] = pinned_digests()["tables/MANIFEST"] == file_sha256(tables_dir() / "MANIFEST")
out["after_build"] = bench.open("nb201", "cifar10", on_missing="nan").query(arch, "test_acc")

# an edited value with recomputed internal checksums and a recomputed MANIFEST line
path = tables_dir() / "nb201.h5"
archs, metrics, attrs = read_dataset(path, "cifar10")
row = archs.index(arch)
metrics["test_acc"].values[row] += 1.0
tables = {ds: DatasetTable(*read_dataset(path, ds)[:2]) for ds in ("cifar10", "cifar100", "ImageNet16-120")}
tables["cifar10"] = DatasetTable(archs, metrics)
content = write_table(ScoreTable("nb201", attrs["space_id"], attrs["space_version"], tables,
                                 json.loads(attrs["provenance"])), path)
manifest = tables_dir() / "MANIFEST"
lines = [l if not l.startswith("nb201.h5\t") else f"nb201.h5\t{file_sha256(path)}\t{content}"
         for l in manifest.read_text().splitlines()]
manifest.write_text("\n".join(lines) + "\n")
for what, call in (("open", lambda: bench.open("nb201", "cifar10", on_missing="raise").query(arch, "test_acc")),
                   ("verify", verify)):
    try:
        out[what] = repr(call())
    except ChecksumError as exc:
        out[what] = "ChecksumError: " + str(exc)
try:  # a build must not record the edited MANIFEST into the pin
    toy = ScoreTable("toy", "s", "1", {"d": DatasetTable(["a"], {"acc": Metric(acc, "%", "max")})})
    write_built_table(toy, "toy2.h5")
    out["launder"] = "built"
except ChecksumError as exc:
    out["launder"] = "ChecksumError: " + str(exc)
print(json.dumps(out))
"""


def test_an_edited_value_with_a_recomputed_manifest_line_is_refused_outside_git(tmp_path):
    """A copy of the project without .git (an unpacked release): the pinned digest is the reference."""
    repo = tmp_path / "release"
    shutil.copytree(REPO_ROOT / "bench", repo / "bench", ignore=shutil.ignore_patterns("__pycache__", "*.lock"))
    shutil.copytree(tables_dir(), repo / "tables", ignore=shutil.ignore_patterns("*.png", "*.lock"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MMNAS_")}
    env.update(PYTHONPATH=str(repo), MMNAS_DATA_CACHE=str(tmp_path / "cache"), GIT_CEILING_DIRECTORIES=str(tmp_path))
    r = subprocess.run([sys.executable, "-c", OUTSIDE_GIT, NB201_ARCH], cwd=repo, env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["repo_root"] == str(repo)
    assert out["before"] == bench.open("nb201", "cifar10").query(NB201_ARCH, "test_acc") and out["verify_before"] == len(read_manifest(tables_dir()))
    assert out["pin_follows_build"] and out["after_build"] == out["before"]
    for what in ("open", "verify"):
        assert out[what].startswith("ChecksumError: ") and "tables/MANIFEST" in out[what], out[what]
        assert "bench/reference_digests.py" in out[what] and "git checkout -- tables/MANIFEST" in out[what]
    assert out["launder"].startswith("ChecksumError: ") and "is not the reference pinned" in out["launder"]
    pins = "bench/reference_digests.py"
    assert (REPO_ROOT / pins).read_text() != (repo / pins).read_text()  # the build moved the copy's pin only
