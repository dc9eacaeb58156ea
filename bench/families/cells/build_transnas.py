"""Build ``tables/transnas101_micro.h5`` from NASLib's TransNAS-Bench-101 micro sample.

The source holds 711 of the 4,096 micro cells for 7 tasks: a sample, so every result
on this table is a result on the sample. One headline metric per task,
``val_score``: accuracy (%) for the classification tasks and jigsaw, SSIM for
autoencoder and surface normal, the L2 loss x100 (the TransNAS/KTNAS units; lower is
better) for room layout, and NASLib's exported value for semantic segmentation.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np

from bench.builders.common import provenance, verify_source, write_built_table
from bench.paths import shared_data_dir
from bench.families.cells.transnas import TransNASMicroSpace
from bench.tablefile import DatasetTable, Metric, ScoreTable

TABLE_FILE = "transnas101_micro.h5"
BUILD_COMMAND = "mmnas-bench tables build transnas101-micro"
SOURCE = "naslib_zc_transbench101_micro.json"
SOURCES = {SOURCE: "f9f2c5d6d9b9a73964f1bffb2869f218e1110755d84ddd4a46a8cf482f799cd1"}
TASKS = ("class_object", "class_scene", "room_layout", "autoencoder", "normal", "jigsaw", "segmentsemantic")
# The source's keys are TransNAS-Bench micro codes digit for digit: edges in code order
# (0->1, 0->2, 1->2, 0->3, 1->3, 2->3, our EDGES order) and 0 none, 1 skip, 2 conv1x1,
# 3 conv3x3 (our TransNASMicroSpace.ops order). NASLib's own OP_NAMES order does not
# apply to this export: read that way, FLOPs would grow 9x faster with 1x1 than with 3x3
# convolutions and cells with a dead output would score above average. Read as codes,
# the 20 dead-output cells sit at the sample's floor; tests/test_transnas.py checks both.
SCORE = {
    "class_object": ("%", "max", 1.0, "validation top-1 accuracy"),
    "class_scene": ("%", "max", 1.0, "validation top-1 accuracy"),
    "jigsaw": ("%", "max", 1.0, "validation accuracy"),
    "room_layout": ("L2 loss x100", "min", -100.0, "validation L2 loss x100 (source stores the negated loss)"),
    "autoencoder": ("SSIM", "max", 1.0, "validation SSIM"),
    "normal": ("SSIM", "max", 1.0, "validation SSIM"),
    "segmentsemantic": ("%", "max", 1.0, "validation score as exported by NASLib"),
}
ZC = ("grasp", "fisher", "grad_norm", "l2_norm", "plain", "nwot", "epe_nas", "jacov", "snip")


def naslib_to_ops(key: str) -> tuple[str, ...]:
    """Op tuple (our edge order) of a source key such as ``"(1, 0, 0, 2, 1, 0)"``."""
    return tuple(TransNASMicroSpace.ops[i] for i in ast.literal_eval(key))


def build_table(source_dir: Path | None = None) -> ScoreTable:
    src = Path(source_dir) if source_dir else shared_data_dir()
    path = verify_source(src, SOURCE, SOURCES[SOURCE])
    data = json.loads(path.read_text())
    space = TransNASMicroSpace()
    keys = sorted(data[TASKS[0]], key=lambda k: space.index(naslib_to_ops(k)))
    archs = [space.to_string(naslib_to_ops(k)) for k in keys]
    datasets = {}
    for task in TASKS:
        entries = [data[task][k] for k in keys]
        unit, direction, scale, desc = SCORE[task]
        metrics = {
            "val_score": Metric(np.array([e["val_accuracy"] for e in entries]) * scale, unit, direction,
                                f"{task}: {desc} (TransNAS-Bench-101 via NASLib)"),
            "flops": Metric(np.array([e["flops"]["score"] for e in entries]), "MFLOPs", "min", "FLOPs of the network"),
            "params": Metric(np.array([e["params"]["score"] for e in entries]), "M", "min", "parameters of the network"),
        }
        for z in ZC:
            metrics[f"zc_{z}"] = Metric(np.array([e[z]["score"] for e in entries]), "score", "max", f"zero-cost proxy {z}")
        datasets[task] = DatasetTable(archs, metrics, f"TransNAS-Bench-101 micro, task {task}; 711-cell sample of 4,096")
    notes = ("SAMPLE: 711 of the 4,096 micro cells (NASLib's zero-cost sample); rows in TransNASMicroSpace index order; "
             "search on it uses RestrictedSpace so that every proposal has a row")
    return ScoreTable("transnas101-micro", space.space_id, space.space_version, datasets,
                      provenance(SOURCES, BUILD_COMMAND, notes))


def build(out_dir: Path | None = None, source_dir: Path | None = None, manifest: bool = True,
          accept_new_reference: bool = False) -> Path:
    """Build and write the table; update ``MANIFEST`` beside it. Returns the file path."""
    return write_built_table(build_table(source_dir), TABLE_FILE, out_dir, manifest, accept_new_reference)
