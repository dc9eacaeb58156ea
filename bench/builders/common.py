"""Shared steps of every builder: source checks, provenance, the manifest."""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import subprocess
from pathlib import Path

import h5py
import numpy as np

from bench import __version__
from bench.errors import ChecksumError, SourceMissingError
from bench.paths import REPO_ROOT, data_cache_dir, tables_dir
from bench.manifest import check_can_record, read_manifest, update_manifest, verify_manifest  # noqa: F401  (builders' API)
from bench.tablefile import ScoreTable, file_sha256, write_table, writer_lock

def verify_source(directory: Path, name: str, expected_sha256: str) -> Path:
    """Path of a source file whose sha256 is the recorded one; otherwise a named error."""
    path = Path(directory) / name
    if not path.exists():
        raise SourceMissingError(
            f"source file {path} is missing; point MMNAS_SHARED_DATA (or --source) at the folder holding it"
        )
    actual = file_sha256(path)
    if actual != expected_sha256:
        raise ChecksumError(f"source file {path} has sha256 {actual}, expected {expected_sha256}; refusing to build from it")
    return path


def code_version() -> str:
    try:
        rev = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        rev = ""
    return f"{__version__}+g{rev}" if rev else __version__


def provenance(sources: dict[str, str], command: str, notes: str = "") -> dict:
    return {
        "sources": [{"file": k, "sha256": v} for k, v in sources.items()],
        "command": command,
        "code_version": code_version(),
        "date": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "notes": notes,
    }


def write_built_table(table: ScoreTable, file_name: str, out_dir: Path | None = None, manifest: bool = True,
                      accept_new_reference: bool = False) -> Path:
    """Write a freshly built table into ``out_dir`` (default ``tables/``) and record it in MANIFEST.

    A table that is already there (or named in MANIFEST) is reference data: see
    :func:`replace_reference`.
    """
    out_dir = Path(out_dir) if out_dir else tables_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    candidate = candidate_path(out_dir / file_name)
    digest = write_table(table, candidate)
    return replace_reference(candidate, out_dir / file_name, digest, manifest, accept_new_reference)


def candidate_path(target: Path) -> Path:
    """Where a rebuild of ``target`` is written before :func:`replace_reference` decides (one per process)."""
    return target.with_name(f".{target.name}.candidate-{os.getpid()}")


class ReferenceChangedError(ChecksumError):
    """A rebuild gave other content than the shipped reference file; nothing was replaced."""


def replace_reference(candidate: Path, target: Path, content_sha256: str, manifest: bool = True,
                      accept_new_reference: bool = False) -> Path:
    """Move a freshly written ``candidate`` into ``target``, never silently changing reference data.

    Where ``target`` exists or its folder's MANIFEST names it, a candidate with the same
    content checksum leaves the shipped file (and its MANIFEST line) untouched, byte for
    byte; one with other content raises :class:`ReferenceChangedError` listing the
    differing cells and keeps the candidate in ``data_cache/build/rejected/`` for
    inspection - unless ``accept_new_reference`` is set, which replaces the file and its
    MANIFEST line. A target that is neither present nor listed is simply written.
    """
    Path(f"{candidate}.lock").unlink(missing_ok=True)  # the candidate's private writer lock
    entry = read_manifest(target.parent).get(target.name)
    shipped = target.exists() or entry is not None
    if shipped:
        same = (entry is None or entry[1] == content_sha256) and (
            not target.exists() or not h5_differences(target, candidate, limit=1))
        # measured wall times differ on every machine by nature; the shipped file's are the build's own record
        same = same or (target.exists() and not h5_differences(target, candidate, limit=1, skip=MEASURED))
        if same and target.exists():
            candidate.unlink()
            if manifest and entry is None:
                update_manifest(target.parent, target, content_sha256)
            return target
        if not (same or accept_new_reference):
            diffs = (h5_differences(target, candidate) if target.exists() else
                     [f"{target} is missing; MANIFEST records content {entry[1][:16]}..., the rebuild gives "
                      f"{content_sha256[:16]}..."])
            kept = data_cache_dir() / "build" / "rejected" / target.name
            kept.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(candidate, kept)
            raise ReferenceChangedError(
                f"the rebuild of {target} differs from the shipped reference data; nothing was replaced. "
                + _vendor_note(target, kept) + "Differences:\n  " + "\n  ".join(diffs) +
                f"\nThe rebuilt file is kept at {kept}. To make it the new reference, rebuild with "
                f"--accept-new-reference (Python: accept_new_reference=True) and commit {target.parent / 'MANIFEST'} "
                "with bench/reference_digests.py.")
    if manifest:  # a MANIFEST that cannot take the new line refuses before anything is replaced
        check_can_record(target.parent, target)
    with writer_lock(target):
        os.replace(candidate, target)
    if manifest:
        update_manifest(target.parent, target, content_sha256)
    return target


def _built_on(path: Path) -> str | None:
    """The CPU vendor a file's provenance records (trained and derived data), if any."""
    try:
        with h5py.File(path, "r") as f:
            return json.loads(f.attrs["provenance"]).get("cpu_vendor")
    except (OSError, KeyError, ValueError, TypeError, AttributeError):
        return None


def _vendor_note(target: Path, rebuilt: Path) -> str:
    """Why a rebuild of trained or derived data may differ: another CPU vendor's float code paths."""
    shipped, here = _built_on(target), _built_on(rebuilt)
    if shipped and here and shipped != here:
        return (f"The shipped file was built on a {shipped} CPU and this rebuild ran on a {here} CPU: math-library "
                "code paths differ between vendors, so trained or derived values may differ in the last bits "
                "(bench/numerics.py cpu_vendor); the shipped file stays the reference. ")
    return ""


#: columns that record measured wall time: a rebuild elsewhere differs there by nature, so a
#: rebuild that matches the shipped table in everything else keeps the shipped file
MEASURED = ("train_seconds",)


def h5_differences(old: Path, new: Path, limit: int = 20, skip: tuple[str, ...] = ()) -> list[str]:
    """Cell-by-cell differences between two HDF5 files' datasets (first ``limit`` lines).

    Arrays are compared exactly (NaN equals NaN); rows of a group with an ``archs`` dataset
    are named by architecture. Attributes such as the build date are not compared: only
    the data and, for score tables, each metric's unit, direction and description.
    Datasets whose last path component is in ``skip`` are left out.
    """
    out: list[str] = []

    def arrays(path: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
        data, meta = {}, {}
        with h5py.File(path, "r") as f:
            def visit(name, obj):
                if isinstance(obj, h5py.Dataset):
                    data[name] = obj[()]
                    meta[name] = json.dumps({k: str(obj.attrs[k]) for k in sorted(obj.attrs)})
            f.visititems(visit)
        return data, meta

    try:
        (a, ma), (b, mb) = arrays(old), arrays(new)
    except OSError as exc:
        return [f"{old} cannot be read as HDF5 ({exc})"]
    for name in sorted(set(a) | set(b)):
        if name.rsplit("/", 1)[-1] in skip:
            continue
        if len(out) >= limit:
            out.append("... (more differences not listed)")
            break
        if name not in b:
            out.append(f"{name}: in the shipped file, not in the rebuild")
        elif name not in a:
            out.append(f"{name}: new in the rebuild")
        elif a[name].shape != b[name].shape or a[name].dtype.kind != b[name].dtype.kind:
            out.append(f"{name}: shape {a[name].shape} {a[name].dtype} -> {b[name].shape} {b[name].dtype}")
        elif ma[name] != mb[name]:
            out.append(f"{name}: attributes {ma[name]} -> {mb[name]}")
        else:
            x, y = a[name], b[name]
            same = (x == y) | ((x != x) & (y != y)) if x.dtype.kind == "f" else (x == y)
            if not np.all(same):
                bad = np.argwhere(~same)
                group = name.rsplit("/", 1)[0] if "/" in name else ""
                archs = a.get(f"{group}/archs" if group else "archs")
                shown = []
                for idx in bad[:3]:
                    row = archs[idx[0]].decode() if archs is not None and len(archs) == len(x) else idx[0]
                    at = ", ".join([f"row {row!s}"] + [f"index {i}" for i in idx[1:]])
                    shown.append(f"[{at}] {x[tuple(idx)]!r} -> {y[tuple(idx)]!r}")
                out.append(f"{name}: {len(bad)} of {x.size} cells differ, e.g. " + "; ".join(shown))
    return out
