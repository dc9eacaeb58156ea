"""HF-MNAS (``001_6b80f99565a0cbd2.txt``): hierarchical fusion of low- and high-level features
of two modalities by two DARTS cells (LFBC, HFBC) with the nine node fusion operations of
Table VIII, node importance, stacking, the inconsistency-mitigation module (DCCA + attention)
and a Bi-LSTM classifier; scored on multi-view stores whose backbone levels play the low and
high features (the stand-in for HARM_P) and on ``pom-ml17`` (POM's audio and video levels,
17 co-occurring trait labels: the stand-in for MM-IMDB), with modality-label inconsistency
injected at a rate (``landuse21@inc0.3``, ``pom-ml17@inc0.3``). Beside the paper's DARTS search:
the BM-NAS-like cell search (:mod:`~bench.families.hfmnas.bmnas`), an MFAS-like search and
hand-designed fusion baselines (:mod:`~bench.families.hfmnas.mfas`, :mod:`~bench.families.hfmnas.baselines`).

This entry declares the family; importing it loads no torch.
"""

from __future__ import annotations

from functools import partial

from bench.core.family import Family, SurrogateSpec, Table, trained_builder
from bench.core.trained_oracle import MetricSpec

NAME = "hfmnas"
#: datasets with a shipped table of the core slice
TABLES = ("landuse21", "pom-ml17")
SEEDS = 3

METRICS = {
    "val_f1m": MetricSpec("%", "max", "validation macro F1 at the best epoch (the search fitness)"),
    "val_acc": MetricSpec("%", "max", "validation accuracy at the best epoch"),
    "val_f1w": MetricSpec("%", "max", "validation support-weighted F1 at the best epoch"),
    "test_f1m": MetricSpec("%", "max", "test macro F1 (F1-M)"),
    "test_acc": MetricSpec("%", "max", "test accuracy"),
    "test_f1w": MetricSpec("%", "max", "test support-weighted F1 (F1-W)"),
    "test_cell_corr": MetricSpec("r", "max", "mean of the top canonical correlations between the two cells' "
                                             "pooled outputs on test (how aligned LFBC and HFBC are)"),
    "params": MetricSpec("count", "min", "trainable parameters"),
    "mflops": MetricSpec("MFLOPs", "min", "forward MFLOPs per sample (2 x multiply-adds, torch's counter)"),
    "best_epoch": MetricSpec("epoch", "min", "the epoch whose weights were kept (1-based)"),
    "epochs_run": MetricSpec("epoch", "min", "epochs trained before early stopping"),
    "train_seconds": MetricSpec("s", "min", "training wall seconds on one CPU thread"),
}
CURVES = {"val_curve": MetricSpec("%", "max", "validation F1-M after each epoch (NaN after early stopping)")}


def datasets() -> list[str]:
    from bench.families.hfmnas.data import datasets as names

    return names()


def table_file(dataset: str) -> str:
    return f"hfmnas_{dataset.replace('-', '_').replace('@inc', '_inc').replace('.', '')}.h5"


def open_oracle(dataset: str, on_missing: str = "raise", verify: bool = True, allow_train: bool = False,
                overlay=None, device: str | None = "cpu", recipe=None):
    """The table -> overlay -> trainer oracle of one dataset (see :class:`bench.core.trained_oracle.TrainedOracle`)."""
    from bench.core.trained_oracle import Curve, LazyTrain, TrainedOracle
    from bench.families.hfmnas import cost
    from bench.families.hfmnas.data import load, parse
    from bench.families.hfmnas.recipe import Recipe
    from bench.families.hfmnas.space import HFSpace
    from bench import validate
    from bench.overlay import Overlay, overlay_path
    from bench.paths import tables_dir

    parse(dataset)
    data = load(dataset)
    recipe = recipe or Recipe()
    space = HFSpace(core=True)
    table = tables_dir() / table_file(dataset)
    coef = cost.coefficients(table)

    def trainer():  # imported (with torch) on the first miss
        from bench.families.hfmnas.trainer import HFTrainer

        return partial(HFTrainer(recipe, device, {dataset: data}).train_pair, dataset)

    oracle = TrainedOracle(
        NAME, dataset, space, METRICS, recipe.key, train=LazyTrain(trainer),
        store_sha256=data.content_sha256, overlay=Overlay(validate.overlay(overlay) or overlay_path(NAME)),
        fitness_metric="val_f1m", test_metric="test_f1m", default_metric="test_f1m",
        cost=partial(cost.seconds, data=data, recipe=recipe, space=space, coef=coef),
        allow_train=allow_train, table=table, curve=Curve("val_curve", "val_f1m", "best", recipe.epochs))
    # what the DARTS search trains on and is charged by
    oracle.data, oracle.recipe, oracle.cost_coef = data, recipe, coef
    return oracle


def table_view(dataset: str):
    """The shipped table as a read-only tabular oracle (seed means), or None."""
    from bench.families.hfmnas.data import parse
    from bench.families.hfmnas.space import HFSpace
    from bench.oracle import TabularOracle
    from bench.paths import tables_dir
    from bench.tablefile import read_dataset

    parse(dataset)
    path = tables_dir() / table_file(dataset)
    if not path.exists():
        return None
    archs, metrics, attrs = read_dataset(path, dataset)
    return TabularOracle(NAME, dataset, HFSpace(core=True), archs, metrics, attrs, default_metric="test_f1m",
                         validation_metric="val_f1m", test_metric="test_f1m", table_path=path)


def fill(dataset: str, seeds: int, epochs: int | None = None, device: str = "cpu", stacked: bool = False,
         **kwargs):
    """Train every architecture of the core slice into the overlay (:func:`bench.core.fill.fill`);
    ``epochs`` and ``stacked``: see :func:`bench.core.store_trainer.fill_slice`; ``kwargs``:
    ``workers``, ``overlay``, ``progress``, ``executor``, ``ray_address``, ``batch``."""
    from bench.core.store_trainer import fill_slice
    from bench.families.hfmnas.data import parse
    from bench.families.hfmnas.trainer import HFTrainer, Recipe

    parse(dataset)
    return fill_slice(HFTrainer, Recipe(), dataset, seeds, epochs, device, stacked, **kwargs)


def _runners() -> dict:
    from bench.families.hfmnas.paper import RUNNERS

    return RUNNERS


def _algorithms() -> dict:
    """HF-MNAS's DARTS search presets, the BM-NAS-like cell search and EDF's generational evolution
    over the core slice."""
    from bench.algorithms import edf
    from bench.families.hfmnas.bmnas import ALGORITHMS as BM
    from bench.families.hfmnas.search import ALGORITHMS

    return {**ALGORITHMS, **BM, "edf": edf}


def _method_names() -> dict:
    from bench.families.hfmnas.bmnas import PRESETS as BM
    from bench.families.hfmnas.search import PRESETS

    return {**{name: p.label for name, p in {**PRESETS, **BM}.items()}, "edf": "EDF (generational evolution)"}


def _gate() -> tuple:
    """The quality gate's view of the shipped tables: val F1-M searched; test F1-M and accuracy
    reported (the papers' two columns)."""
    from bench.core.quality import GateSpec

    return tuple(GateSpec(NAME, f"{NAME}-{ds}", table_file(ds), ds, ("val_f1m", "test_f1m", "test_acc"),
                          partial(_trivial, ds)) for ds in TABLES)


def _trivial(dataset: str) -> dict:
    """Trivial classifiers (majority, label prior; multi-label: all on, all off, per-label majority,
    label prior) scored as HF-MNAS scores its models."""
    from bench.core.clsmetrics import label_scores
    from bench.core.quality import by_metric, classification_trivial
    from bench.families.hfmnas.data import load

    data = load(dataset)
    return {**by_metric(classification_trivial(data.y["train"], data.y["val"], data.n_out, label_scores),
                        {"val_f1m": "f1m"}),
            **by_metric(classification_trivial(data.y["train"], data.y["test"], data.n_out, label_scores),
                        {"test_f1m": "f1m", "test_acc": "acc"})}


FAMILY = Family(
    name=NAME, kind="trained",
    description="HF-MNAS hierarchical fusion cells (LFBC/HFBC, nine node fusion ops, IMM, CM) over the low and high "
                "backbone levels of two modalities (two views of a multi-view store, or POM's audio and video with its "
                "17 traits as multi-label labels), with modality-label inconsistency injected at a rate; the core "
                "slice's shipped tables, then the overlay, then (when allowed) training",
    datasets=datasets, open=open_oracle, table_view=table_view,
    tables=tuple(Table(f"{NAME}-{ds}", table_file(ds), trained_builder("bench.families.hfmnas.build", ds), trained=True) for ds in TABLES),
    algorithms=_algorithms, default_algorithms=("rs", "rea", "hfmnas"), fill=fill, runners=_runners,
    method_names=_method_names, gate=_gate, default_budget_seconds=200,
    surrogate=SurrogateSpec("bench.families.hfmnas.surrogate", TABLES, "landuse21", ("val_f1m", "test_f1m", "test_acc"),
                            table_file, CURVES, "landuse21"),
)
