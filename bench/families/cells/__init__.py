"""Cell-based NAS benchmarks shipped as fixed tables: NAS-Bench-201 and TransNAS-Bench-101 micro."""

from __future__ import annotations

from dataclasses import replace

from bench.core.table_family import table_family


def _nb201_space(archs):
    from bench.families.cells.nb201 import NB201Space

    return NB201Space()


def _transnas_space(archs):
    from bench.families.cells.transnas import RestrictedSpace, TransNASMicroSpace

    return RestrictedSpace(TransNASMicroSpace(), archs)


def _build_nb201(**kwargs):
    from bench.families.cells import build_nb201 as nb201

    return nb201.build(**kwargs)


def _build_transnas(**kwargs):
    from bench.families.cells import build_transnas as transnas

    return transnas.build(**kwargs)


def _ktnas_runners():
    from bench.families.cells.paper_ktnas import RUNNERS, SWEEP_MODULES
    from bench.repro.sweep_cache import cached_runner

    # the long seed sweeps without figures: whole results cached by code version (Tables II and VIII
    # cache their per-seed counts inside the runner)
    extra = ("bench.stats", "bench.families.cells.transnas", "bench.registry")
    return {**RUNNERS,
            "ktnas_table7": cached_runner(RUNNERS["ktnas_table7"], SWEEP_MODULES + extra, ["nb201.h5"]),
            "ktnas_table3": cached_runner(RUNNERS["ktnas_table3"], SWEEP_MODULES + extra, ["transnas101_micro.h5"])}


def _cell_algorithms():
    # single-task baselines of KTNAS Table II (GCN, LaNAS, WeakNAS, zero-cost warm-up): any
    # enumerable cell space whose table has zero-cost proxies (both tables here have them)
    from bench.families.cells.predictor_search import ALGORITHMS

    return ALGORITHMS


def _transnas_runners():
    from bench.families.cells.paper_ktnas_fig2 import RUNNERS

    return RUNNERS


def _multitask_algorithms():
    # KTNAS and its baselines work on any indexable cell space: NB201's 15,625 cells and the
    # TransNAS sample (RestrictedSpace: embeddings over its members, mutation inside it)
    from bench.families.cells.ktnas import multitask_algorithms

    return multitask_algorithms()


def _method_names() -> dict:
    """Legend names of the KTNAS presets (ktnas.PRESETS) and the Table II baselines."""
    return {"ktnas": "KTNAS", "ktnas-random": "KTNAS w/o transfer rank", "emt-nas": "EMT-NAS", "mtnas": "MTNAS",
            "gcn": "GCN predictor", "lanas": "LaNAS", "weaknas": "WeakNAS", "zero": "Zero-cost + REA"}


NB201 = replace(table_family(
    "nb201", "NAS-Bench-201 topology space, 15,625 cells, published 200-epoch accuracies and hardware costs",
    "nb201.h5", ("cifar10", "cifar100", "ImageNet16-120"), _nb201_space, "test_acc", _build_nb201,
    validation_metric="val_acc", test_metric="test_acc", runners=_ktnas_runners,
    multitask_algorithms=_multitask_algorithms), algorithms=_cell_algorithms, method_names=_method_names)

TRANSNAS = replace(table_family(
    "transnas101-micro", "TransNAS-Bench-101 micro cells, a 711-cell SAMPLE of 4,096, 7 tasks (NASLib export)",
    "transnas101_micro.h5",
    ("class_object", "class_scene", "room_layout", "autoencoder", "normal", "jigsaw", "segmentsemantic"),
    _transnas_space, "val_score", _build_transnas,
    validation_metric="val_score", test_metric=None,  # the NASLib sample has validation scores only
    runners=_transnas_runners, multitask_algorithms=_multitask_algorithms), algorithms=_cell_algorithms,
    method_names=_method_names)
