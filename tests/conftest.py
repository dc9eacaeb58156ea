import os
from pathlib import Path

import pytest

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
