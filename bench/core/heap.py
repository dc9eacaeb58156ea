"""Keep freed memory in the process heap during batched training (glibc only).

A batched step allocates and frees activation tensors of a few MiB each. glibc serves
blocks that large by ``mmap`` and returns them to the kernel when freed, so each step's
tensors are page-faulted in again (measured: about 1 in 6 of batched training's time). Raising
the mmap and trim thresholds keeps those blocks in the heap for reuse. The cost is that
the process keeps up to ``TRIM`` bytes of freed heap instead of returning them, which
suits a process that trains; :func:`bench.families.tree_fusion.batched.train_many` sets it, importing
the package does not.
"""

from __future__ import annotations

import ctypes
import ctypes.util

MMAP = 256 << 20  # blocks up to this size come from the heap
TRIM = 1 << 30  # freed heap kept before trimming
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters from glibc's malloc.h
_result: bool | None = None


def keep_freed_memory() -> bool:
    """Set glibc's thresholds (once per process); False where the C library has no ``mallopt``."""
    global _result
    if _result is None:
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _result = bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, TRIM))
        except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to tune, training is unchanged
            _result = False
    return _result
