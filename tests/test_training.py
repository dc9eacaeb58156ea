import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np
import pytest
import torch

import bench
import bench.features as F
from bench.errors import MissingValueError, UnknownMetricError
from bench.families.tree_fusion.fill import fill
from bench.overlay import Overlay
from bench.families.tree_fusion.space import TreeFusionSpace
from bench.families.tree_fusion.trainer import DeviceUnavailableError, Recipe, f1_scores, resolve_device, train

FAST = Recipe(epochs=2)


@pytest.fixture(scope="module")
def aloi():
    return F.open("aloi")


def test_training_is_bit_for_bit_repeatable_on_cpu(aloi):
    s = TreeFusionSpace(aloi.view_names, max_leaves=3)
    tree = s.decode("concat(v1,max(v2,v4))")
    a, b = train(tree, aloi, 7, FAST), train(tree, aloi, 7, FAST)
    assert a.metrics() | {"train_seconds": 0} == b.metrics() | {"train_seconds": 0} and a.val_curve == b.val_curve
    c = train(tree, aloi, 8, FAST)
    assert c.val_curve != a.val_curve
    assert 0 <= a.test_acc <= 100 and a.params > 0 and a.flops > 0 and len(a.val_curve) == 2


def test_f1_scores():
    y = np.array([0, 0, 1, 1, 2])
    macro, weighted = f1_scores(y, np.array([0, 1, 1, 1, 2]), 3)
    assert macro == pytest.approx((2 / 3 + 0.8 + 1) / 3) and weighted == pytest.approx((2 * 2 / 3 + 2 * 0.8 + 1) / 5)


def test_absent_cuda_is_a_named_error():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(DeviceUnavailableError, match="CUDA is not available"):
        resolve_device("cuda")
    assert resolve_device("auto").type == "cpu"


def test_cache_miss_trains_once_then_answers_from_the_overlay(tmp_path, aloi):
    o = bench.open("tree-fusion", "aloi", overlay=tmp_path / "ov.sqlite", recipe=FAST)
    with pytest.raises(MissingValueError, match="mmnas-bench fill"):
        o.query("add(v1,v3)")
    v = o.query("add(v1,v3)", allow_train=True, seed=2)
    assert o.n_trained == 1
    assert o.query("add(v3,v1)", seed=2) == v  # commutative variant: same key, no training
    assert o.n_trained == 1
    fresh = bench.open("tree-fusion", "aloi", overlay=tmp_path / "ov.sqlite", recipe=FAST)
    assert fresh.query("add(v1,v3)", "macro_f1", seed=2) == o.query("add(v1,v3)", "macro_f1", seed=2)
    assert fresh.n_trained == 0
    # a hit equals a fresh training run of the same architecture and seed, exactly
    assert train(o.space.decode("add(v1,v3)"), aloi, 2, FAST).test_acc == v
    with pytest.raises(UnknownMetricError, match="test_acc"):
        o.query("add(v1,v3)", "auc", seed=2)


def test_recipe_is_part_of_the_key(tmp_path):
    o1 = bench.open("tree-fusion", "aloi", overlay=tmp_path / "ov.sqlite", recipe=FAST)
    o1.query("v2", allow_train=True)
    o2 = bench.open("tree-fusion", "aloi", overlay=tmp_path / "ov.sqlite", recipe=replace(FAST, epochs=3))
    with pytest.raises(MissingValueError):
        o2.query("v2")


def test_fill_skips_what_is_there(tmp_path):
    archs = ["v1", "v2", "add(v1,v2)"]
    r1 = fill("aloi", archs, 2, workers=1, recipe=FAST, overlay=str(tmp_path / "ov.sqlite"), progress=False)
    assert (r1.total, r1.already, r1.trained) == (6, 0, 6)
    r2 = fill("aloi", archs + ["mul(v1,v2)"], 2, workers=2, recipe=FAST, overlay=str(tmp_path / "ov.sqlite"), progress=False)
    assert (r2.total, r2.already, r2.trained) == (8, 6, 2)


def test_batched_fill_writes_the_same_records_as_one_by_one(tmp_path):
    archs = ["v1", "v2", "add(v1,v2)", "max(v1,v2)", "concat(v1,v3)", "mul(v2,v4)"]
    fill("aloi", archs, 2, recipe=FAST, overlay=str(tmp_path / "one.sqlite"), progress=False, batch=1)
    fill("aloi", archs, 2, recipe=FAST, overlay=str(tmp_path / "many.sqlite"), progress=False, batch=8)
    a, b = Overlay(tmp_path / "one.sqlite"), Overlay(tmp_path / "many.sqlite")
    assert a.keys() == b.keys() and len(a) == 12
    for k in a.keys():
        ra, rb = a.get(k), b.get(k)
        assert ra.pop("timing") == "one-by-one" and rb.pop("timing").startswith("batched/")
        ra.pop("train_seconds"), rb.pop("train_seconds")
        assert ra == rb


def test_fill_killed_mid_way_keeps_every_completed_record_and_retrains_none(tmp_path):
    ov = tmp_path / "ov.sqlite"
    cmd = [sys.executable, "-m", "bench", "fill", "--dataset", "aloi", "--max-leaves", "2", "--seeds", "1",
           "--epochs", "10", "--batch", "2", "--overlay", str(ov), "--no-progress"]
    proc = subprocess.Popen(cmd)
    deadline = time.time() + 120
    while time.time() < deadline:
        time.sleep(0.2)
        if ov.exists():
            try:
                if sqlite3.connect(ov).execute("SELECT COUNT(*) FROM records").fetchone()[0] >= 5:
                    break
            except sqlite3.OperationalError:
                pass
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = Overlay(ov)
    kept = {k: before.get(k) for k in before.keys()}
    before.close()
    assert 5 <= len(kept) < 34
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    assert f"{len(kept)} already in the overlay, {34 - len(kept)} trained" in out
    after = Overlay(ov)
    assert len(after) == 34
    assert all(after.get(k) == v for k, v in kept.items())  # completed records untouched


@pytest.mark.slow
def test_ray_fill_matches_local_fill(tmp_path):
    """The Ray executor against a local Ray instance: same records as local workers."""
    pytest.importorskip("ray", reason="install the extra: pip install 'mmnas-bench[ray]'")
    archs = ["v1", "v4", "add(v1,v2)", "max(v3,concat(v1,v4))"]
    local = fill("aloi", archs, 2, workers=2, recipe=FAST, overlay=str(tmp_path / "local.sqlite"), progress=False)
    remote = fill("aloi", archs, 2, workers=2, recipe=FAST, overlay=str(tmp_path / "ray.sqlite"), progress=False,
                  executor="ray")
    assert local.trained == remote.trained == 8
    a, b = Overlay(tmp_path / "local.sqlite"), Overlay(tmp_path / "ray.sqlite")
    assert a.keys() == b.keys()
    for k in a.keys():
        ra, rb = a.get(k), b.get(k)
        ra.pop("train_seconds"), rb.pop("train_seconds")
        assert ra == rb  # the same batches, so the same timing note too
    again = fill("aloi", archs, 2, workers=2, recipe=FAST, overlay=str(tmp_path / "ray.sqlite"), progress=False,
                 executor="ray")
    assert again.trained == 0


def test_batched_training_is_bit_identical_to_one_by_one(aloi):
    from bench.families.tree_fusion.batched import shape_key, train_many

    s = TreeFusionSpace(aloi.view_names, max_leaves=3)
    # one group mixing every operator (concat runs among element-wise ones at both inner nodes), and others
    names = ["add(v1,v2)", "mul(v1,v2)", "concat(v1,v2)", "max(v1,avg(v2,v4))", "avg(v1,max(v2,v4))", "v3",
             "concat(concat(v1,v2),v3)", "add(v1,v2)", "add(concat(v1,v2),v3)", "concat(max(v1,v2),v3)",
             "mul(avg(v1,v2),v3)", "concat(add(v1,v2),v3)"]
    trees, seeds = [s.decode(n) for n in names], [0, 1, 2, 3, 4, 5, 6, 9, 7, 8, 10, 11]
    assert shape_key(trees[0], aloi.dims) == shape_key(trees[2], aloi.dims) != shape_key(trees[3], aloi.dims)
    assert len({shape_key(trees[i], aloi.dims) for i in (6, 8, 9, 10, 11)}) == 1
    many = train_many(trees, seeds, aloi, FAST, return_state=True)
    for t, sd, b in zip(trees, seeds, many):
        a = train(t, aloi, sd, FAST, return_state=True)
        assert (a.test_acc, a.val_acc, a.macro_f1, a.val_curve, a.params, a.flops) == \
               (b.test_acc, b.val_acc, b.macro_f1, b.val_curve, b.params, b.flops)
        assert a.state.keys() == b.state.keys()
        assert all(torch.equal(a.state[k], b.state[k]) for k in a.state), t  # every trained weight, bit for bit


def test_batched_training_keeps_freed_memory_on_glibc():
    import platform

    from bench.core.heap import keep_freed_memory

    expected = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
    assert keep_freed_memory() is expected and keep_freed_memory() is expected  # set once, same answer after
