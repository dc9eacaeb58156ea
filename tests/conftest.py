import os
import tempfile
from pathlib import Path

import pytest

# Tests never write the user's overlays (data_cache/overlay/): every default overlay of this
# session, and of the commands it starts, goes to a folder of its own.
os.environ["MMNAS_OVERLAY_DIR"] = tempfile.mkdtemp(prefix="mmnas-test-overlays-")

from bench.paths import shared_data_dir

SHARED = shared_data_dir()
HAVE_SHARED = (SHARED / "nats_tss_test_acc_200ep.csv").exists()

# CI runs with ../shared beside the clone; a user's clone has none. Tests that need the
# raw sources say so in their skip reason instead of passing vacuously.
needs_shared = pytest.mark.skipif(
    not HAVE_SHARED and not os.environ.get("CI"), reason=f"raw sources not found at {SHARED} (set MMNAS_SHARED_DATA)"
)


@pytest.fixture(scope="session")
def nb201_oracles():
    import bench

    return {ds: bench.open("nb201", ds) for ds in ("cifar10", "cifar100", "ImageNet16-120")}


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]


def assert_retrained_equal(fresh: dict, shipped: dict, table_path, tolerance: dict):
    """A row retrained now against the table's: bit for bit on a CPU of the vendor that trained
    the table; on another vendor (where MKL's code paths differ: bench.numerics.cpu_vendor) within
    ``tolerance`` (key -> absolute), with a warning that says so. Never skipped."""
    import json
    import warnings

    import h5py
    import numpy as np

    from bench.numerics import cpu_vendor, table_vendor

    with h5py.File(table_path, "r") as f:
        built_on = table_vendor(json.loads(f.attrs["provenance"]))
    if cpu_vendor() == built_on:
        for k in tolerance:
            assert fresh[k] == shipped[k], k
        return
    for k, tol in tolerance.items():
        a, b = np.asarray(fresh[k], dtype=float), np.asarray(shipped[k], dtype=float)
        assert a.shape == b.shape and np.all(np.isnan(a) == np.isnan(b)), k
        ok = ~np.isnan(a)
        assert np.all(np.abs(a[ok] - b[ok]) <= tol), (k, a.tolist(), b.tolist())
    warnings.warn(f"{Path(table_path).name} was trained on {built_on} CPUs and this is a {cpu_vendor()} CPU: "
                  "checked within tolerance, not bit for bit (known gap, bench/numerics.py cpu_vendor)")
