"""CSG-NAS tree fusion (``000_62c610aae6b2430e.txt``): fusion trees over multi-view feature
stores, answered from shipped tables of trained results, then the overlay, then by training.

This entry declares the family; importing it loads no torch.
"""

from __future__ import annotations


from bench.core.family import Family, Option, SurrogateSpec, Table, trained_builder
from bench.core.trained_oracle import MetricSpec
from bench.errors import UnknownDatasetError

NAME = "tree-fusion"
#: feature stores with shipped tables, under these training protocols
TABLE_DATASETS = ("scene15", "landuse21", "aloi", "mfeat")
TABLE_PROTOCOLS = ("standard", "low-data")


def _max_leaves(text: str) -> int:
    import argparse

    from bench.validate import ASCII_INT

    if not ASCII_INT.fullmatch(text) or int(text) < 1:  # int() also reads '١٢'
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return int(text)


def _protocol(text: str) -> str:
    if not text.strip():
        import argparse

        raise argparse.ArgumentTypeError(f"must not be empty, got {text!r}")
    return text


def datasets() -> list[str]:
    """Every feature store; those with a shipped table first."""
    from bench.features.store import stores

    return [*TABLE_DATASETS, *(s for s in stores() if s not in TABLE_DATASETS)]


def _check(dataset: str) -> None:
    from bench.families.tree_fusion.variants import parse_variant

    variant = parse_variant(dataset)  # 'mfeat+noise2': a store plus noise views (variants.py)
    if dataset not in datasets() and (variant is None or variant[0] not in datasets()):
        raise UnknownDatasetError(dataset, datasets(), f"for benchmark {NAME!r}")


def open_oracle(dataset: str, on_missing: str = "raise", verify: bool = True, max_leaves: int | None = 3,
                protocol: str = "standard", allow_train: bool = False, overlay=None, device: str | None = "cpu",
                backbone: bool = False, repeatable: bool = False, recipe=None):
    """The table -> overlay -> trainer oracle (:class:`bench.families.tree_fusion.oracle.FusionOracle`);
    ``max_leaves`` None: every feature. The keywords are spelled out: ``bench.open`` reads them
    as the valid options. Tables are always verified; a missing value raises (``on_missing``
    is for fixed tables)."""
    from bench.families.tree_fusion.oracle import FusionOracle

    _check(dataset)
    return FusionOracle.open(dataset, max_leaves=max_leaves, protocol=protocol, allow_train=allow_train,
                             overlay=overlay, device=device, backbone=backbone, repeatable=repeatable, recipe=recipe)


def open_for_search(dataset: str, protocol: str = "standard", max_leaves: int | None = None, overlay=None):
    """The oracle a search runs on: every tree over the dataset's features (no repeats;
    ``max_leaves`` defaults to the number of features), training on a miss."""
    return open_oracle(dataset, max_leaves=max_leaves, protocol=protocol, allow_train=True, overlay=overlay)


def table_view(dataset: str, protocol: str = "standard"):
    """The shipped table of one dataset as a read-only :class:`~bench.oracle.TabularOracle`
    (seed-mean values; what ``info`` reports), or None when no table ships for it."""
    from bench.features.store import open as open_store
    from bench.oracle import TabularOracle
    from bench.paths import tables_dir
    from bench.families.tree_fusion.space import TreeFusionSpace
    from bench.tablefile import read_dataset

    _check(dataset)
    path = tables_dir() / table_file(dataset, protocol)
    if not path.exists():
        return None
    archs, metrics, attrs = read_dataset(path, dataset)
    store = open_store(dataset)
    space = TreeFusionSpace(store.view_names, max_leaves=len(store.view_names))
    return TabularOracle(NAME, dataset, space, archs, metrics, attrs, default_metric="test_acc",
                         validation_metric="val_acc", test_metric="test_acc", table_path=path)


def table_file(dataset: str, protocol: str = "standard") -> str:
    """The shipped table's file name of a dataset under a protocol (no torch imported)."""
    return f"tree_fusion_{dataset}.h5" if protocol == "standard" else f"tree_fusion_{dataset}_{protocol.replace('-', '')}.h5"


def _tables() -> tuple[Table, ...]:
    return tuple(Table(f"{NAME}-{ds}" + ("" if p == "standard" else f"-{p.replace('-', '')}"), table_file(ds, p),
                       trained_builder("bench.families.tree_fusion.build", ds, protocol=p), trained=True)
                 for p in TABLE_PROTOCOLS for ds in TABLE_DATASETS)


def fill(dataset: str, seeds: int, max_leaves: int = 2, protocol: str = "standard", epochs: int | None = None,
         device: str = "cpu", **kwargs):
    """Train every tree with at most ``max_leaves`` leaves into the overlay (:func:`bench.core.fill.fill`
    with a :class:`~bench.families.tree_fusion.fill.TreeTrainer`) under the protocol's recipe
    (``epochs`` overrides its epochs: a different recipe key); ``kwargs``: ``workers``,
    ``overlay``, ``progress``, ``executor``, ``ray_address``, ``batch``."""
    from dataclasses import replace

    from bench.core.fill import fill as fill_overlay
    from bench.errors import BenchError, UnknownChoiceError
    from bench.families.tree_fusion.fill import TreeTrainer
    from bench.families.tree_fusion.space import TreeFusionSpace
    from bench.families.tree_fusion.trainer import PROTOCOLS, resolve_device

    _check(dataset)
    if protocol not in PROTOCOLS:
        raise UnknownChoiceError(protocol, PROTOCOLS, "(training protocol)")
    resolve_device(device)  # named error before any work
    recipe = PROTOCOLS[protocol] if epochs is None else replace(PROTOCOLS[protocol], epochs=epochs)
    trainer = TreeTrainer(recipe, device)
    store = trainer.store(dataset)  # opened once: the fill trains on this very store
    if max_leaves > len(store.view_names):
        raise BenchError(f"--max-leaves {max_leaves}: {dataset} has {len(store.view_names)} features, "
                         f"so at most {len(store.view_names)} leaves")
    space = TreeFusionSpace(store.view_names, max_leaves=max_leaves)
    return fill_overlay(trainer, dataset, [space.encode(t) for t in space.enumerate()], seeds, **kwargs)


def _algorithms() -> dict:
    """EDF and the CSG-NAS presets: their runs must evaluate with weight inheritance."""
    from bench.algorithms import edf
    from bench.families.tree_fusion.csgnas import PRESETS, csgnas

    return {"edf": edf,
            **{name: (lambda run, rng, settings=None, _s=s: csgnas(run, rng, settings or _s))
               for name, s in PRESETS.items()}}


def until_budget(name: str):
    """Settings that make a generational algorithm run until the cost budget is spent."""
    from dataclasses import replace

    from bench.algorithms import EDFSettings
    from bench.families.tree_fusion.csgnas import PRESETS

    if name == "edf":
        return replace(EDFSettings(), generations=None)
    if name in PRESETS:
        return replace(PRESETS[name], generations_expand=None)
    return None


def check_algorithm(name: str, space) -> None:
    """CSG-NAS variants that rank operators by fusing all features need room for every feature."""
    from bench.families.tree_fusion.csgnas import PRESETS, check_space

    if name in PRESETS:
        check_space(space, PRESETS[name])


def _method_names() -> dict:
    """Legend names of the algorithms only this family runs (CSG-NAS presets: csgnas.PRESETS)."""
    return {"edf": "EDF", "csgnas": "CSG-NAS", "csgnas-nocs": "CSG-NAS1 (whole space, no inheritance)",
            "csgnas-noki": "CSG-NAS2 (no knowledge inheritance)", "csgnas-ki-all": "CSG-NAS, inheritance always",
            "csgnas-ki-random": "CSG-NAS, inheritance at random", "csgnas-ki-below": "CSG-NAS, inheritance below threshold",
            "csgnas-core-random": "CSG-NAS, random core"}


def _runners():
    from bench.families.tree_fusion.paper import RUNNERS

    return RUNNERS


def _gate() -> tuple:
    """The quality gate's view of the shipped tables: val_acc searched, test_acc reported."""
    from functools import partial

    from bench.core.quality import GateSpec

    return tuple(GateSpec(NAME, t.name, t.file, ds, ("val_acc", "test_acc"), partial(_trivial, ds))
                 for t, ds in zip(_tables(), [ds for _ in TABLE_PROTOCOLS for ds in TABLE_DATASETS]))


def _trivial(dataset: str) -> dict:
    """Majority and label-prior classifiers on the holdout split, knowing the full training labels
    (also for the low-data protocol, whose models see a tenth of them: a stronger baseline)."""
    from bench.core.clsmetrics import label_scores
    from bench.core.quality import by_metric, classification_trivial
    from bench.features.store import open as open_store

    st = open_store(dataset)
    y = {part: st.labels[st.rows("holdout", part)] for part in ("train", "val", "test")}
    return {**by_metric(classification_trivial(y["train"], y["val"], st.n_classes, label_scores), {"val_acc": "acc"}),
            **by_metric(classification_trivial(y["train"], y["test"], st.n_classes, label_scores), {"test_acc": "acc"})}


#: the per-epoch curve tree-fusion records hold (the out-of-slice sample's table keeps it)
_VAL_CURVE = MetricSpec("%", "max", "holdout validation accuracy after each epoch [n_arch, n_seed, n_epoch]")

FAMILY = Family(
    name=NAME, kind="trained",
    description="CSG-NAS tree fusion space over multi-view feature stores; answers from shipped tables of trained "
                "results, then the overlay, then (when allowed) by training",
    datasets=datasets, open=open_oracle, table_view=table_view,
    options=(Option("protocol", "--protocol", _protocol, "training protocol (standard, low-data)", "standard"),
             Option("max_leaves", "--max-leaves", _max_leaves, "leaf limit (default: the number of features)")),
    tables=_tables(), algorithms=_algorithms, default_algorithms=("rs", "rea", "edf", "csgnas"),
    until_budget=until_budget, check_algorithm=check_algorithm, fill=fill, runners=_runners,
    method_names=_method_names, gate=_gate, default_budget_seconds=30,
    surrogate=SurrogateSpec("bench.families.tree_fusion.surrogate", TABLE_DATASETS, "mfeat", ("val_acc", "test_acc"),
                            table_file, {"val_curve": _VAL_CURVE}, "scene15", ("rs", "rea", "edf", "csgnas-noki")),
)
