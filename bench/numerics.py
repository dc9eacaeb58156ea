"""The pinned numeric environment of every CPU training: same seed, same bits, across AVX2 and
AVX-512 dispatch on CPUs of one vendor (across vendors, see :func:`cpu_vendor`: a known gap).

torch picks its vectorised CPU kernels by the processor's instruction set (AVX-512 where
present, else AVX2), and MKL picks its GEMM code path by processor too. The kernels sum in
different orders, so one seed gives different weights - and a different table cell - on an
AVX-512 machine than on an AVX2 one (measured: ``add(v1,v2)`` seed 1 on scene15 scores
75.558 with torch's AVX-512 kernels, 75.335 with AVX2, the shipped value).

:func:`pin` sets the environment variables that choose those code paths. It runs when
``bench`` is imported - before the package imports torch - and torch reads them lazily at
its first kernel dispatch, so every process that imports ``bench`` (worker processes and
Ray tasks included) trains under the same settings. Measured on a 2-core AMD EPYC with
AVX-512 (``benchmarks/numerics_pin.py`` prints the comparison):

* ``ATEN_CPU_CAPABILITY``: changes the trained weights (AVX-512 vs AVX2 vs DEFAULT all
  differ). Pinned to ``avx2``, the level of every x86-64 CPU sold since 2015 and the one the
  shipped tables were trained at.
* ``MKL_CBWR``: ``AVX2``, ``AVX512`` and unset give identical weights on that AMD CPU, whose
  MKL path is AVX2 whatever is asked; ``COMPATIBLE`` differs. Pinned to ``AVX2`` so that
  Intel AVX-512 CPUs, where MKL would otherwise take AVX-512 GEMMs, take the same path.
* ``ONEDNN_MAX_CPU_ISA``: the fusion models never call oneDNN; pinned to ``AVX2`` anyway,
  for layers (convolutions) that later families may use.

Training also runs on one thread (:func:`bench.families.tree_fusion.trainer.pinned_numerics`), so reductions
are never split across threads. ``MMNAS_NUMERICS=native`` leaves the CPU's own choice
(faster on some CPUs, but results no longer match the shipped tables): it is recorded in
every result's numeric environment, and only meant for measuring the pin's cost.
"""

from __future__ import annotations

import os
import platform

from bench.errors import BenchError

#: the pinned settings; a result records them (see :func:`environment`)
PINNED = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2"}
OPT_OUT = "MMNAS_NUMERICS"

_overridden: dict[str, str] = {}


class NumericEnvironmentError(BenchError):
    """torch chose its CPU kernels before the pin could apply (see :func:`check`)."""


def pinned() -> bool:
    """True unless the user asked for the CPU's native kernels (``MMNAS_NUMERICS=native``)."""
    return os.environ.get(OPT_OUT, "pinned").lower() != "native"


def pin() -> None:
    """Set the pinned variables in this process's environment (inherited by its children).

    A value the user had set differently is replaced (and remembered for the error message
    of :func:`check`): trained results must not depend on the caller's shell.
    """
    if not pinned():
        return
    for name, value in PINNED.items():
        old = os.environ.get(name)
        if old is not None and old.lower() != value.lower():
            _overridden[name] = old
        os.environ[name] = value


def kernel_isa() -> str:
    """The instruction set torch dispatches its CPU kernels to (e.g. 'AVX2', 'AVX512')."""
    import torch

    return torch.backends.cpu.get_cpu_capability()


def check() -> None:
    """Raise unless torch's CPU kernels are the pinned ones (a no-op when pinning is off).

    torch fixes its kernel choice at its first dispatch; a program that ran torch code before
    importing ``bench`` keeps the CPU's own choice, and its trained results would differ from
    everyone else's. A CPU without AVX2 cannot reach the pin either; both get this error.
    """
    if not pinned():
        return
    isa = kernel_isa()
    if isa.lower() != PINNED["ATEN_CPU_CAPABILITY"]:
        import torch.cpu

        why = (f"this CPU does not support {PINNED['ATEN_CPU_CAPABILITY'].upper()}" if not torch.cpu._is_avx2_supported() else
               "torch ran before `bench` was imported and fixed its kernels then; import bench first, or start "
               f"Python with ATEN_CPU_CAPABILITY={PINNED['ATEN_CPU_CAPABILITY']}")
        raise NumericEnvironmentError(
            f"torch dispatches CPU kernels for {isa}, but trained results are pinned to "
            f"{PINNED['ATEN_CPU_CAPABILITY'].upper()} ({why}); set {OPT_OUT}=native to train anyway with "
            "results that will not match the shipped tables")


#: the CPU vendor of every trained table whose provenance does not name one (all built before
#: 2026-12-01, on AMD EPYC machines)
LEGACY_TABLE_VENDOR = "AuthenticAMD"


def cpu_vendor() -> str:
    """The CPU's vendor string (``AuthenticAMD``, ``GenuineIntel``; ``unknown`` off Linux/x86).

    The pin does not make every trained result vendor-independent: measured on an Intel Xeon
    (AVX-512, AMX) against tables trained on AMD EPYC, with the same kernel ISA and MKL branch,
    the MRO, RMNAS and tree-fusion table-hit checks differ in the last bits after some epochs
    (``MKL_CBWR=AVX2,STRICT`` reproduces the tree-fusion row but not the MRO or RMNAS ones; no
    branch reproduces all). Tables therefore record the vendor they were trained on.
    """
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("vendor_id"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def table_vendor(provenance: dict) -> str:
    """The CPU vendor a trained table was built on (its provenance, else :data:`LEGACY_TABLE_VENDOR`)."""
    return provenance.get("cpu_vendor") or LEGACY_TABLE_VENDOR


def environment(device: str = "cpu") -> dict:
    """The numeric environment a result was trained under, for provenance and overlay records."""
    import torch

    env = {"torch": torch.__version__, "device": device, "pinned": pinned(), "kernel_isa": kernel_isa(),
           "mkl_cbwr": os.environ.get("MKL_CBWR", ""), "threads": 1, "machine": platform.machine()}
    if device.startswith("cuda"):
        env["cuda"] = torch.version.cuda or ""
        env["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return env
