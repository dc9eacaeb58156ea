"""``MANIFEST`` files: the reference checksums of shipped tables (``tables/``) and feature stores.

One line per file, ``file<TAB>sha256<TAB>content_sha256``: the file's bytes and its data
(see :mod:`bench.tablefile` and :mod:`bench.features.store`). The MANIFEST committed at git
HEAD is the reference wherever there is one; opening a shipped file checks it against its
folder's MANIFEST (:func:`check_file`), and ``verify`` checks both columns of every file.

The sha256 of each shipped MANIFEST is pinned in the package (``bench/reference_digests.py``,
written by :func:`update_manifest`), so an edit of a MANIFEST alone is refused on open and by
``verify``, in a git clone or not. In the folders the suite reads (``tables/``,
``data_cache/features``, ``data_cache/sequence``, or where the environment moves them) a
missing MANIFEST is an error unless ``MMNAS_ALLOW_UNVERIFIED=1``.
"""

from __future__ import annotations

import ast
import fcntl
import hashlib
import os
import subprocess
from contextlib import contextmanager
from pathlib import Path

from bench.errors import ChecksumError
from bench.paths import REPO_ROOT, data_cache_dir, tables_dir

MANIFEST_HEADER = "file\tsha256\tcontent_sha256"
#: opt-out of the missing-MANIFEST error, for reading files no MANIFEST vouches for on purpose
ALLOW_UNVERIFIED = "MMNAS_ALLOW_UNVERIFIED"
#: the shipped MANIFESTs (relative to the repository root) whose sha256 the package pins
PINNED = ("data_cache/features/MANIFEST", "data_cache/sequence/MANIFEST", "tables/MANIFEST")
PINS_FILE = Path(__file__).with_name("reference_digests.py")
_digests: dict[tuple, str] = {}
_vouched: dict[tuple, dict[str, tuple[str, str]]] = {}  # (folder, MANIFEST bytes, pins version) -> entries
_pins: dict[str, object] = {}


def read_manifest(tables: Path) -> dict[str, tuple[str, str]]:
    """``{file: (file sha256, content sha256)}`` from the folder's ``MANIFEST`` ({} if absent)."""
    path = Path(tables) / "MANIFEST"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    return parse_manifest(decode_manifest(raw, path), path)


def decode_manifest(raw: bytes, where: Path | str) -> str:
    """MANIFEST bytes as text; a byte that is not UTF-8 is an error naming the file and line."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ChecksumError(f"{where}, line {line}: not UTF-8 text (byte {raw[exc.start]:#04x} at offset {exc.start}): "
                            f"the MANIFEST is damaged; {restore_hint(where)}") from None


def restore_hint(path: Path | str) -> str:
    """How to get a damaged or edited shipped file back (names its path in the repository)."""
    path = Path(path)
    try:
        rel = path.resolve().relative_to(REPO_ROOT).as_posix()
    except (ValueError, OSError):
        return f"restore {path} from the release or rebuild it"
    return f"restore it (in a git clone: git checkout -- {rel}) or rebuild it"


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
    the file on disk cannot vouch for itself), else the file; a shipped folder's MANIFEST
    must also have the digest the package pins. Fails - naming the file - when MANIFEST is
    missing, malformed or not the pinned one, when the file on disk disagrees with the
    committed one, when a file has no entry or an entry has no file, or when a file's
    sha256 differs. ``check_file(path)`` then reads each file, checking its own content
    checksum, and returns the content sha256 it recomputed (or an object with a
    ``content_sha256``), which must equal the MANIFEST's content column. Returns one ``ok``
    line per file.
    """
    directory = Path(directory)
    path = directory / "MANIFEST"
    if not path.exists():
        raise ChecksumError(f"{path} is missing: nothing to verify the files of {directory} against")
    on_disk = read_manifest(directory)
    check_pinned(directory, file_sha256(path))
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
        got = check_file(target)
        got = got if got is None or isinstance(got, str) else getattr(got, "content_sha256", None)
        if got is not None and got != content:  # a custom check that computes no content checks the sha only
            raise ChecksumError(f"{target}: content sha256 {got[:16]}... recomputed from its data does not match "
                                f"{source} {content[:16]}...: the MANIFEST's content column was edited or the file's "
                                f"data changed; {restore_hint(path)}")
        lines.append(f"ok  {name}  sha256 {sha[:16]}...  content {content[:16]}...")
    return lines


def update_manifest(tables: Path, table_file: Path, content_sha256: str) -> None:
    """Record ``table_file`` in its folder's MANIFEST (creating it); in a shipped folder the
    pinned digest follows, so new reference data shows in the package's git diff."""
    tables = Path(tables)
    manifest = tables / "MANIFEST"
    key = pin_key(tables)
    with writer_lock(manifest):  # one writer: two builds into one folder must not lose a line
        if key is not None:
            _check_before_update(tables, key, table_file)
        entries = read_manifest(tables)
        entries[table_file.name] = (file_sha256(table_file), content_sha256)
        lines = [MANIFEST_HEADER] + [f"{k}\t{v[0]}\t{v[1]}" for k, v in sorted(entries.items())]
        manifest.write_text("\n".join(lines) + "\n")
        if key is not None:
            _write_pin(key, file_sha256(manifest))


def check_can_record(tables: Path, table_file: Path) -> None:
    """Raise now, before a build replaces any file, if :func:`update_manifest` would refuse to record it."""
    key = pin_key(tables)
    if key is not None:
        _check_before_update(Path(tables), key, Path(table_file))


def _check_before_update(tables: Path, key: str, table_file: Path) -> None:
    """A build must not launder a hand-edited or deleted shipped MANIFEST into the pin."""
    manifest = tables / "MANIFEST"
    if manifest.exists():
        check_pinned(tables, file_sha256(manifest))
        return
    others = [p.name for p in tables.glob("*.h5") if p.name != table_file.name]
    if others:  # a folder built from scratch may start a MANIFEST; one holding shipped files may not
        raise ChecksumError(f"{manifest} is missing but {tables} holds {', '.join(sorted(others)[:3])}...: restore it "
                            f"(in a git clone: git checkout -- {key}) before building into this folder")


@contextmanager
def writer_lock(path: Path):
    """Exclusive lock (``<path>.lock``) so that a file has one writer at a time."""
    lock = Path(f"{path}.lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# ---- the pinned digests of the shipped MANIFESTs ------------------------------------------------
def pin_key(directory: Path | str) -> str | None:
    """``"tables/MANIFEST"`` etc. where ``directory`` is one of the repository's shipped folders
    (symlinks resolved); None for any other folder (a copy, a build's ``--out``)."""
    d = Path(directory).resolve()
    for key in PINNED:
        if d == (REPO_ROOT / key).parent:
            return key
    return None


def pinned_digests() -> dict[str, str]:
    """``{"tables/MANIFEST": sha256, ...}`` from ``bench/reference_digests.py`` (re-read when it changes)."""
    try:
        st = os.stat(PINS_FILE)
        version = (st.st_size, st.st_mtime_ns, st.st_ino)
        if _pins.get("version") != version:
            tree = ast.parse(PINS_FILE.read_text())
            pins = next(ast.literal_eval(n.value) for n in tree.body
                        if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "MANIFEST_SHA256")
            _pins.update(version=version, pins=pins)
    except (OSError, SyntaxError, ValueError, StopIteration) as exc:
        raise ChecksumError(f"{PINS_FILE} cannot be read ({type(exc).__name__}: {exc}): it pins the shipped "
                            "MANIFESTs; restore it (in a git clone: git checkout -- bench/reference_digests.py)"
                            ) from None
    return _pins["pins"]  # type: ignore[return-value]


def _pins_version() -> tuple:
    try:
        st = os.stat(PINS_FILE)
    except OSError:
        return ()
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def check_pinned(directory: Path, manifest_sha256: str) -> None:
    """Refuse a shipped folder's MANIFEST whose sha256 is not the one the package pins."""
    key = pin_key(directory)
    if key is None:
        return
    pinned = pinned_digests().get(key)
    if manifest_sha256 != pinned:
        raise ChecksumError(
            f"{Path(directory) / 'MANIFEST'} (sha256 {manifest_sha256[:16]}...) is not the reference pinned for {key} "
            f"in bench/reference_digests.py ({str(pinned)[:16]}...): the MANIFEST was edited, or a rebuild changed "
            f"reference data without recording it. Restore it (in a git clone: git checkout -- {key}; and the files "
            "it lists). New reference data is recorded by rebuilding with --accept-new-reference, which updates both "
            f"files; to accept this MANIFEST as it is: python -c \"import bench.manifest as m; m.accept_manifest('{key}')\"")


def accept_manifest(key: str) -> str:
    """Pin the MANIFEST now on disk at ``key`` (e.g. ``"tables/MANIFEST"``) as the reference; returns its sha256.
    Run ``verify`` afterwards: this vouches for the MANIFEST, not for the files it lists."""
    if key not in PINNED:
        raise ChecksumError(f"{key!r} is not a pinned MANIFEST; pinned: {', '.join(PINNED)}")
    digest = file_sha256(REPO_ROOT / key)
    _write_pin(key, digest)
    return digest


_PINS_TEMPLATE = '''"""The sha256 of each shipped MANIFEST, pinned in the package: opening or verifying a shipped
file checks its folder's MANIFEST against it, so an edit of a MANIFEST alone is refused.

Written by :func:`bench.manifest.update_manifest` when a build records reference data (commit it
with the MANIFEST); a test checks it equals the shipped MANIFESTs. Do not edit it by hand.
"""

MANIFEST_SHA256 = {{
{lines}}}
'''


def _write_pin(key: str, digest: str) -> None:
    with writer_lock(PINS_FILE):  # re-read under the lock: another process may have pinned another folder
        _pins.clear()
        pins = {**pinned_digests(), key: digest}
        text = _PINS_TEMPLATE.format(lines="".join(f'    "{k}": "{v}",\n' for k, v in sorted(pins.items())))
        tmp = PINS_FILE.with_name(f".{PINS_FILE.name}.tmp-{os.getpid()}")
        tmp.write_text(text)
        os.replace(tmp, PINS_FILE)
        _pins.clear()


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
    """Refuse a file that its folder's MANIFEST does not vouch for.

    With ``content_sha256`` (already computed by the reader) the data is compared; else the
    file's sha256 (computed once per process for each file version). A shipped folder's
    MANIFEST must have the pinned digest; in the folders the suite reads a missing MANIFEST is
    an error (unless ``MMNAS_ALLOW_UNVERIFIED=1``); elsewhere (a build's output, a rejected
    rebuild) a file with no MANIFEST beside it is not checked.
    """
    path = Path(path)
    vouched = _vouching_manifest(path)
    if vouched is None:
        return
    entries, manifest = vouched
    entry = entries.get(path.name)
    if entry is None:
        raise ChecksumError(f"{path} has no entry in {manifest}: it is not a shipped file (rebuild it with the "
                            "project's build command, which records it)")
    if content_sha256 is not None:
        if content_sha256 != entry[1]:
            raise ChecksumError(f"{path}: its data (content sha256 {content_sha256[:16]}...) is not what {manifest} "
                                f"records ({entry[1][:16]}...): the file was replaced or edited; {restore_hint(path)}")
        return
    actual = file_digest(path)
    if actual != entry[0]:
        raise ChecksumError(f"{path}: sha256 {actual[:16]}... is not what {manifest} records "
                            f"({entry[0][:16]}...): the file was replaced, edited or truncated; {restore_hint(path)}")


def _vouching_manifest(path: Path) -> tuple[dict[str, tuple[str, str]], Path] | None:
    """``(entries, MANIFEST path)`` of the folder of ``path``, parsed and pin-checked once per
    MANIFEST content (its bytes are the cache key: a same-size rewrite within one clock tick
    is still seen); None where no MANIFEST is required."""
    directory = path.parent
    manifest = directory / "MANIFEST"
    try:
        raw = manifest.read_bytes()
    except FileNotFoundError:
        if os.environ.get(ALLOW_UNVERIFIED) == "1" or not _read_by_the_suite(directory):
            return None
        raise ChecksumError(f"{manifest} is missing, so {path} cannot be verified: {restore_hint(manifest)} (the "
                            f"build commands write it). To read files that no MANIFEST vouches for on purpose, set "
                            f"{ALLOW_UNVERIFIED}=1 (table benchmarks: bench.open(..., verify=False))") from None
    key = (str(directory), raw, _pins_version())
    entries = _vouched.get(key)
    if entries is None:
        entries = parse_manifest(decode_manifest(raw, manifest), manifest)
        check_pinned(directory, hashlib.sha256(raw).hexdigest())
        if len(_vouched) > 64:
            _vouched.clear()
        _vouched[key] = entries
    return entries, manifest


def _read_by_the_suite(directory: Path) -> bool:
    """A folder the suite reads reference data from: shipped, or where the environment moves it."""
    d = directory.resolve()
    return pin_key(d) is not None or d in {tables_dir().resolve(), (data_cache_dir() / "features").resolve(),
                                          (data_cache_dir() / "sequence").resolve()}
