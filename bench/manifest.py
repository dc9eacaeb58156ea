"""``MANIFEST`` files: the reference checksums of shipped tables (``tables/``) and feature stores.

One line per file, ``file<TAB>sha256<TAB>content_sha256``: the file's bytes and its data
(see :mod:`bench.tablefile` and :mod:`bench.features.store`). The MANIFEST committed at git
HEAD is the reference wherever there is one; opening a shipped file checks it against its
folder's MANIFEST (:func:`check_file`), and ``verify`` checks every file.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

from bench.errors import ChecksumError

MANIFEST_HEADER = "file\tsha256\tcontent_sha256"
_digests: dict[tuple, str] = {}


def read_manifest(tables: Path) -> dict[str, tuple[str, str]]:
    """``{file: (file sha256, content sha256)}`` from the folder's ``MANIFEST`` ({} if absent)."""
    path = Path(tables) / "MANIFEST"
    return parse_manifest(path.read_text(), path) if path.exists() else {}


def parse_manifest(text: str, where: Path | str) -> dict[str, tuple[str, str]]:
    """Parse MANIFEST text; a malformed line is an error naming the file and line."""
    lines = text.splitlines()
    if not lines or lines[0] != MANIFEST_HEADER:
        raise ChecksumError(f"{where}: not a MANIFEST (first line must be {MANIFEST_HEADER!r})")
    out = {}
    for n, line in enumerate(lines[1:], start=2):
        if line.strip():
            fields = line.split("\t")
            if len(fields) != 3 or not all(len(f) == 64 for f in fields[1:]):
                raise ChecksumError(f"{where}, line {n}: expected 'file<TAB>sha256<TAB>content_sha256', got {line!r}")
            out[fields[0]] = (fields[1], fields[2])
    return out


def committed_manifest(directory: Path) -> tuple[dict[str, tuple[str, str]], str] | None:
    """``(entries, source)`` of the MANIFEST committed at git HEAD for ``directory``; None when
    the folder is not in a git checkout or its MANIFEST is not committed (an installed copy)."""
    directory = Path(directory).resolve()

    def git(*args: str) -> str | None:
        try:
            r = subprocess.run(["git", "-C", str(directory), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return r.stdout if r.returncode == 0 else None

    top = git("rev-parse", "--show-toplevel")
    if not top:
        return None
    rel = (directory / "MANIFEST").relative_to(Path(top.strip()).resolve()).as_posix()
    text = git("show", f"HEAD:{rel}")
    return None if text is None else (parse_manifest(text, f"git HEAD:{rel}"), f"git HEAD:{rel}")


def verify_manifest(directory: Path, check_file) -> list[str]:
    """Verify every ``*.h5`` of ``directory`` against the committed MANIFEST.

    The reference is the MANIFEST at git HEAD where there is one (a rebuild that rewrote
    the file on disk cannot vouch for itself), else the file. Fails - naming the file -
    when MANIFEST is missing or malformed, when the file on disk disagrees with the
    committed one, when a file has no entry or an entry has no file, or when a file's
    sha256 differs. ``check_file(path)`` then checks each file's own content checksum.
    Returns one ``ok`` line per file.
    """
    directory = Path(directory)
    path = directory / "MANIFEST"
    if not path.exists():
        raise ChecksumError(f"{path} is missing: nothing to verify the files of {directory} against")
    on_disk = read_manifest(directory)
    committed = committed_manifest(directory)
    entries, source = (on_disk, str(path)) if committed is None else committed
    if committed is not None and on_disk != entries:
        changed = sorted(k for k in set(on_disk) | set(entries) if on_disk.get(k) != entries.get(k))
        raise ChecksumError(f"{path} differs from the committed {source} for {', '.join(changed)}: a rebuild accepted "
                            "new reference data. Review it, then commit MANIFEST (or restore it with git checkout)")
    files = sorted(p.name for p in directory.glob("*.h5"))
    unlisted = [f for f in files if f not in entries]
    if unlisted:
        raise ChecksumError(f"{source} has no entry for {', '.join(unlisted)} (MANIFEST truncated, or a file added by hand)")
    lines = []
    for name, (sha, content) in sorted(entries.items()):
        target = directory / name
        actual = file_sha256(target) if target.exists() else "missing"
        if actual != sha:
            raise ChecksumError(f"{target}: sha256 {actual} does not match {source} {sha}")
        check_file(target)
        lines.append(f"ok  {name}  sha256 {sha[:16]}...  content {content[:16]}...")
    return lines


def update_manifest(tables: Path, table_file: Path, content_sha256: str) -> None:
    entries = read_manifest(tables)
    entries[table_file.name] = (file_sha256(table_file), content_sha256)
    lines = [MANIFEST_HEADER] + [f"{k}\t{v[0]}\t{v[1]}" for k, v in sorted(entries.items())]
    (Path(tables) / "MANIFEST").write_text("\n".join(lines) + "\n")


def file_sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_digest(path: str | os.PathLike) -> str:
    """:func:`file_sha256`, computed once per process for each version of a file (a replaced or
    rewritten file is hashed again): opening and recording shipped tables must not re-read them."""
    st = os.stat(path)
    version = (str(Path(path).resolve()), st.st_size, st.st_mtime_ns, st.st_ino)
    if version not in _digests:
        _digests[version] = file_sha256(path)
    return _digests[version]


def check_file(path: Path, content_sha256: str | None = None) -> None:
    """Refuse a file that its folder's MANIFEST does not vouch for (no-op where there is no MANIFEST).

    With ``content_sha256`` (already computed by the reader) the data is compared; else the
    file's sha256 (computed once per process for each file version).
    """
    path = Path(path)
    manifest = path.parent / "MANIFEST"
    if not manifest.exists():
        return
    entry = read_manifest(path.parent).get(path.name)
    if entry is None:
        raise ChecksumError(f"{path} has no entry in {manifest}: it is not a shipped file (rebuild it with the "
                            "project's build command, which records it)")
    if content_sha256 is not None:
        if content_sha256 != entry[1]:
            raise ChecksumError(f"{path}: its data (content sha256 {content_sha256[:16]}...) is not what {manifest} "
                                f"records ({entry[1][:16]}...): the file was replaced or edited")
        return
    actual = file_digest(path)
    if actual != entry[0]:
        raise ChecksumError(f"{path}: sha256 {actual[:16]}... is not what {manifest} records "
                            f"({entry[0][:16]}...): the file was replaced or edited")
