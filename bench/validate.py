"""Checks of public arguments, made once where a value enters the API (``bench.open``, the
oracles' ``query``/``result``, runs, ``compare``, ``fill``) and before any work.

Each returns the value normalised or raises :class:`~bench.errors.InvalidArgumentError` (an
unknown metric: :class:`~bench.errors.UnknownMetricError`) naming the argument, the value
given and what is valid. Python's loose truthiness and numeric conversions are refused on
purpose: ``'no'`` is not False, ``1.5`` is not a seed, NaN is not a budget and ``'١٢'``
(Arabic-Indic digits, which ``int()`` accepts) is not a number on the command line.
"""

from __future__ import annotations

import math
import numbers
import os
import re
from pathlib import Path
from typing import Any, Iterable

from bench.errors import InvalidArgumentError, UnknownMetricError

#: numpy's and torch's seeding both take every seed below this
SEED_LIMIT = 2**32
#: what the command line accepts as a whole number ('\d' and int() also take non-ASCII digits)
ASCII_INT = re.compile(r"-?[0-9]+")
#: ... and as a decimal number (no 'nan', 'inf', '1_0' or non-ASCII digits)
ASCII_REAL = re.compile(r"-?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?")
DEVICE = re.compile(r"cpu|auto|cuda(:[0-9]+)?")
#: virtual file systems: no database can live there
_VIRTUAL = (Path("/proc"), Path("/sys"))


def _is_int(x: Any) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def integer(x: Any, name: str) -> int:
    """A whole number of any sign (where the range is the caller's to state)."""
    if not _is_int(x):
        raise InvalidArgumentError(f"{name} must be a whole number, got {x!r}")
    return int(x)


def whole(x: Any, name: str, low: int = 1) -> int:
    """A whole number >= ``low`` (numpy integers too; never a bool, float or string)."""
    if not _is_int(x) or x < low:
        raise InvalidArgumentError(f"{name} must be a whole number >= {low}, got {x!r}")
    return int(x)


def seed(x: Any, name: str = "seed") -> int:
    """A training seed: a whole number 0 .. 2**32 - 1."""
    if not _is_int(x) or not 0 <= x < SEED_LIMIT:
        raise InvalidArgumentError(f"{name} must be a whole number 0..{SEED_LIMIT - 1}, got {x!r}")
    return int(x)


def flag(x: Any, name: str) -> bool:
    """True or False, nothing else (``'no'`` and ``1`` are not flags)."""
    if not isinstance(x, bool):
        raise InvalidArgumentError(f"{name} must be True or False, got {x!r}")
    return x


def optional_flag(x: Any, name: str) -> bool | None:
    return None if x is None else flag(x, name)


def real(x: Any, name: str, low: float = 0.0, strict: bool = True) -> float:
    """A finite number > ``low`` (``strict``) or >= ``low``."""
    ok = isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(x) and (x > low if strict else x >= low)
    if not ok:
        raise InvalidArgumentError(f"{name} must be a finite number {'>' if strict else '>='} {low:g}, got {x!r}")
    return float(x)


def finite_positive(x: Any, name: str) -> float:
    return real(x, name, 0.0, strict=True)


def choice(x: Any, valid: Iterable[str], name: str) -> str:
    valid = list(valid)
    if not isinstance(x, str) or x not in valid:
        raise InvalidArgumentError(f"{name} must be one of {', '.join(map(repr, valid))}, got {x!r}")
    return x


def metric(x: Any, valid, context: str = "") -> str:
    """A metric name in the container ``valid``; not None (the caller's default) and not ''."""
    if not isinstance(x, str) or x not in valid:
        raise UnknownMetricError(x, list(valid), context)
    return x


def options(given: Iterable[str], valid: Iterable[str], what: str) -> None:
    """Refuse keyword options ``what`` does not take, listing the ones it does."""
    valid = list(valid)
    unknown = [k for k in given if k not in valid]
    if unknown:
        shown = ", ".join(map(repr, valid)) if valid else "none"
        raise InvalidArgumentError(f"{what} takes no option {unknown[0]!r}; valid options: {shown}")


def device(x: Any, name: str = "device") -> str | None:
    if x is not None and not (isinstance(x, str) and DEVICE.fullmatch(x)):
        raise InvalidArgumentError(f"{name} must be None, 'cpu', 'cuda', 'cuda:N' or 'auto', got {x!r}")
    return x


def overlay(x: Any, name: str = "overlay") -> Path | None:
    """An overlay file that SQLite can create or open: None (the default file), else a non-empty
    path that is not a folder, not under /proc or /sys, in a folder that exists or can be made."""
    if x is None:
        return None
    if not isinstance(x, (str, os.PathLike)) or not isinstance(os.fspath(x), str):
        raise InvalidArgumentError(f"{name} must be a file path (str or Path) or None, got {x!r}")
    text = os.fspath(x)
    if not text.strip():  # '' would otherwise mean the default overlay (or the current folder)
        raise InvalidArgumentError(f"{name} must not be empty, got {text!r}; omit it for the default overlay")
    if "\0" in text:
        raise InvalidArgumentError(f"{name} {text!r} contains a NUL character")
    p = Path(text)
    try:
        absolute = p.resolve()
        virtual = next((v for v in _VIRTUAL if absolute == v or v in absolute.parents), None)
        if virtual is not None:
            raise InvalidArgumentError(f"{name} {text!r} is under {virtual}, a virtual file system; give a file in "
                                       "an ordinary folder")
        if p.is_dir():
            raise InvalidArgumentError(f"{name} {text!r} is a folder; give a file path (e.g. {str(p / 'overlay.sqlite')!r})")
        if p.exists() and not p.is_file():
            raise InvalidArgumentError(f"{name} {text!r} exists and is not a regular file")
        folder = next((a for a in absolute.parents if a.exists()), None)
        if folder is not None and not folder.is_dir():
            raise InvalidArgumentError(f"{name} {text!r}: {str(folder)!r} is a file, not a folder")
    except OSError as exc:  # a name too long, a loop of links, a folder we may not read
        raise InvalidArgumentError(f"{name} {text!r} cannot be used: {exc.strerror or exc}") from None
    return p


def nonempty_path(x: Any, name: str) -> Path | None:
    """An output folder: None, or a non-empty path (``''`` would write into the current folder)."""
    if x is None:
        return None
    if not isinstance(x, (str, os.PathLike)) or not isinstance(os.fspath(x), str) or not os.fspath(x).strip():
        raise InvalidArgumentError(f"{name} must be a non-empty folder path or None, got {x!r}")
    return Path(x)


def distinct(items: Iterable[Any], name: str) -> list:
    """Refuse a repeated item (a repeated algorithm or dataset would be run, and counted, twice)."""
    items = list(items)
    for i, x in enumerate(items):
        if x in items[:i]:  # a list, not a set: items need not be hashable
            raise InvalidArgumentError(f"{name} {x!r} is given twice; each is run once")
    return items
