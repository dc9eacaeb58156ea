import shutil

import pytest

from bench.families.cells import build_nb201 as nb201
from bench.builders.common import read_manifest
from bench.builders.registry import verify
from bench.errors import ChecksumError, SourceMissingError
from bench.paths import tables_dir
from bench.tablefile import file_sha256
from tests.conftest import SHARED, needs_shared


def test_shipped_tables_match_manifest():
    manifest = read_manifest(tables_dir())
    assert "nb201.h5" in manifest
    assert file_sha256(tables_dir() / "nb201.h5") == manifest["nb201.h5"][0]
    assert any(line.startswith("ok  nb201.h5") for line in verify())


@needs_shared
def test_rebuild_gives_the_shipped_content_checksum(tmp_path):
    path = nb201.build(out_dir=tmp_path, source_dir=SHARED)
    rebuilt = read_manifest(tmp_path)["nb201.h5"][1]
    assert rebuilt == read_manifest(tables_dir())["nb201.h5"][1]
    assert path.exists()


@needs_shared
def test_source_with_wrong_checksum_is_refused_naming_the_file(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in nb201.SOURCES:
        shutil.copy(SHARED / name, src / name)
    bad = src / "nb201_hw_cifar10.csv"
    bad.write_bytes(bad.read_bytes().replace(b"5.807", b"5.808", 1))
    with pytest.raises(ChecksumError, match="nb201_hw_cifar10.csv"):
        nb201.build(out_dir=tmp_path / "out", source_dir=src)
    assert not (tmp_path / "out" / "nb201.h5").exists()


def test_missing_source_names_the_variable(tmp_path):
    with pytest.raises(SourceMissingError, match="MMNAS_SHARED_DATA"):
        nb201.build(out_dir=tmp_path, source_dir=tmp_path)


def test_a_rebuild_on_another_cpu_vendor_says_so_and_names_its_own_manifest(tmp_path, monkeypatch):
    import json

    import h5py

    from bench.builders.common import ReferenceChangedError, replace_reference
    from bench.manifest import MANIFEST_HEADER

    monkeypatch.setenv("MMNAS_DATA_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "sequence"
    folder.mkdir()
    (folder / "MANIFEST").write_text(MANIFEST_HEADER + "\n")
    for path, vendor, value in ((folder / "s.h5", "GenuineIntel", 1.0), (tmp_path / "new.h5", "AuthenticAMD", 1.0 + 1e-7)):
        with h5py.File(path, "w") as f:
            f["x"] = [value]
            f.attrs["provenance"] = json.dumps({"cpu_vendor": vendor})
    with pytest.raises(ReferenceChangedError) as err:
        replace_reference(tmp_path / "new.h5", folder / "s.h5", "0" * 64)
    text = str(err.value)
    assert "built on a GenuineIntel CPU" in text and "on a AuthenticAMD CPU" in text
    assert f"commit {folder / 'MANIFEST'}" in text and "tables/MANIFEST" not in text
