"""The pinned numeric environment: applied on import, enforced at training, recorded in results."""

import hashlib
import os
import subprocess
import sys

import pytest

import bench.features as F
from bench import numerics
from bench.families.tree_fusion.build import table_archs
from bench.families.tree_fusion.fill import fill
from bench.overlay import Overlay
from bench.families.tree_fusion.space import TreeFusionSpace
from bench.families.tree_fusion.trainer import PROTOCOLS, Recipe, train

HAS_AVX2 = "avx2" in open("/proc/cpuinfo").read() if os.path.exists("/proc/cpuinfo") else False
needs_avx2 = pytest.mark.skipif(not HAS_AVX2, reason="the pin is AVX2; this CPU cannot run it")

WEIGHTS = """
import hashlib, sys
import bench.features as F
from bench.families.tree_fusion.space import TreeFusionSpace
from bench.families.tree_fusion.trainer import Recipe, train
s = F.open("scene15")
r = train(TreeFusionSpace(s.view_names).decode("add(v1,v2)"), s, 1, Recipe(epochs=3), return_state=True)
h = hashlib.sha256(b"".join(r.state[k].numpy().tobytes() for k in sorted(r.state)))
print(r.numerics["kernel_isa"], h.hexdigest())
"""


def _python(code: str, **env) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k not in (*numerics.PINNED, numerics.OPT_OUT)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**full, **env})


@needs_avx2
def test_the_pin_overrides_what_the_shell_asked_for():
    for asked in ("default", "avx512", "avx2", None):
        out = _python("import bench, torch, os; print(torch.backends.cpu.get_cpu_capability(), os.environ['MKL_CBWR'])",
                      **({} if asked is None else {"ATEN_CPU_CAPABILITY": asked}))
        assert out.stdout.split() == ["AVX2", "AVX2"], (asked, out.stderr)


@needs_avx2
def test_the_pin_decides_the_bits_and_gives_the_same_bits_in_every_process():
    pinned = [_python(WEIGHTS, **env).stdout.split() for env in ({}, {"ATEN_CPU_CAPABILITY": "avx512"})]
    native_default = _python(WEIGHTS, MMNAS_NUMERICS="native", ATEN_CPU_CAPABILITY="default").stdout.split()
    assert pinned[0] == pinned[1] and pinned[0][0] == "AVX2"
    # other kernels give other weights: the pin is what makes the shipped tables reproducible
    assert native_default[0] == "DEFAULT" and native_default[1] != pinned[0][1]


def test_torch_run_before_bench_makes_training_refuse_with_a_named_error():
    code = "import torch; torch.ones(4) + 1\n" + WEIGHTS
    out = _python(code, ATEN_CPU_CAPABILITY="default")  # torch fixes DEFAULT kernels before bench can pin
    assert out.returncode != 0 and "NumericEnvironmentError" in out.stderr and "import bench first" in out.stderr


@needs_avx2
def test_results_record_their_numeric_environment_and_timing(tmp_path):
    s = F.open("aloi")
    r = train(TreeFusionSpace(s.view_names).decode("add(v1,v2)"), s, 0, Recipe(epochs=1))
    rec = r.record()
    assert rec["numerics"]["kernel_isa"] == "AVX2" and rec["numerics"]["mkl_cbwr"] == "AVX2"
    assert rec["numerics"]["torch"] and rec["numerics"]["pinned"] is True and rec["timing"] == "one-by-one"
    fill("aloi", ["v1", "v2", "add(v1,v2)"], 1, recipe=Recipe(epochs=1), overlay=str(tmp_path / "o.sqlite"),
         progress=False, batch=8)
    ov = Overlay(tmp_path / "o.sqlite")
    stored = [ov.get(k) for k in sorted(ov.keys())]
    assert all(x["numerics"] == rec["numerics"] for x in stored)
    assert {x["timing"] for x in stored} == {"one-by-one", "batched/2"}  # v1, v2 share a shape; add(v1,v2) is alone


def test_fill_trains_nothing_the_shipped_table_answers(tmp_path):
    archs = table_archs("aloi")[0][:4]
    rep = fill("aloi", archs, 3, recipe=PROTOCOLS["standard"],
               overlay=str(tmp_path / "o.sqlite"), progress=False)
    assert (rep.total, rep.in_table, rep.already, rep.trained) == (12, 12, 0, 0)
    assert len(Overlay(tmp_path / "o.sqlite")) == 0
