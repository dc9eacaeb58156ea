"""Shared steps of every builder: source checks, provenance, the manifest."""

from __future__ import annotations

import datetime as _dt
import subprocess
from pathlib import Path

from bench import __version__
from bench.errors import ChecksumError, SourceMissingError
from bench.paths import REPO_ROOT
from bench.paths import tables_dir
from bench.tablefile import ScoreTable, file_sha256, write_table

MANIFEST_HEADER = "file\tsha256\tcontent_sha256"


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


def read_manifest(tables: Path) -> dict[str, tuple[str, str]]:
    """``{file: (file sha256, content sha256)}`` from ``tables/MANIFEST``."""
    path = Path(tables) / "MANIFEST"
    if not path.exists():
        return {}
    out = {}
    for line in path.read_text().splitlines()[1:]:
        if line.strip():
            name, sha, content = line.split("\t")
            out[name] = (sha, content)
    return out


def update_manifest(tables: Path, table_file: Path, content_sha256: str) -> None:
    entries = read_manifest(tables)
    entries[table_file.name] = (file_sha256(table_file), content_sha256)
    lines = [MANIFEST_HEADER] + [f"{k}\t{v[0]}\t{v[1]}" for k, v in sorted(entries.items())]
    (Path(tables) / "MANIFEST").write_text("\n".join(lines) + "\n")


def write_built_table(table: ScoreTable, file_name: str, out_dir: Path | None = None, manifest: bool = True) -> Path:
    """Write a freshly built table into ``out_dir`` (default ``tables/``) and record it in MANIFEST."""
    out_dir = Path(out_dir) if out_dir else tables_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / file_name
    digest = write_table(table, path)
    if manifest:
        update_manifest(out_dir, path, digest)
    return path
