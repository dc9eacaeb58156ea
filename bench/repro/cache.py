"""Where paper-table runners keep the models they train: ``paper_repro/cache/`` (committed,
so regenerating the committed outputs is a lookup), or a copy when a run writes elsewhere."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from bench.paths import paper_repro_dir

_REDIRECT: list[Path] = []


def cache_dir() -> Path:
    """The folder runners read and train their cached models into."""
    return _REDIRECT[-1] if _REDIRECT else paper_repro_dir() / "cache"


@contextmanager
def using_cache_dir(path: Path) -> Iterator[None]:
    """Train and look up cached models in ``path`` instead of the committed folder."""
    _REDIRECT.append(Path(path))
    try:
        yield
    finally:
        _REDIRECT.pop()
