"""torch helpers every trained family shares: the pinned numeric environment on one thread
and device choice."""

from __future__ import annotations

import functools

import torch

from bench import numerics
from bench.errors import BenchError


class DeviceUnavailableError(BenchError):
    """A device was asked for that this machine does not have."""


def pinned_numerics(fn):
    """Run ``fn`` under the pinned numeric environment (:mod:`bench.numerics`) on one CPU
    thread - the same kernels and float reductions on every CPU, so the same seed gives the
    same bits - and restore the caller's thread count after."""
    @functools.wraps(fn)
    def pinned(*args, **kwargs):
        numerics.check()
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return fn(*args, **kwargs)
        finally:
            torch.set_num_threads(threads)

    return pinned


def resolve_device(device: str | None) -> torch.device:
    """'cuda' when present unless told otherwise; a named error when 'cuda' is absent."""
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise DeviceUnavailableError(f"device {device!r} was asked for but CUDA is not available on this machine; use 'cpu'")
    return torch.device(device)
