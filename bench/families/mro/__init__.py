"""MRO (``002_21034c53427ddd7b.txt``): which directed cross-modal attention paths of a pairwise
cross-modal transformer to keep, on sequence stores (synthetic synK with known useful paths,
POM audio+video, CMU-MOSI text+audio).

This entry declares the family; importing it loads no torch.
"""

from __future__ import annotations

from functools import partial

from bench.core.family import Family, SurrogateSpec, Table, trained_builder
from bench.core.trained_oracle import MetricSpec
from bench.errors import UnknownDatasetError

NAME = "mro"
#: K=3 synthetic settings (known useful paths), the real 2-modality stores, and a K=4 sample
DATASETS = ("syn3-p2", "syn3-p4", "syn3-none", "syn3-p2-planted", "pom", "mosi", "syn4-p3", "syn4-p3-planted")
#: datasets with a shipped table
TABLE_DATASETS = tuple(d for d in DATASETS if d != "syn4-p3")
SEEDS = 3

METRICS = {
    "val_mae": MetricSpec("label units", "min", "validation MAE at the best epoch (the search fitness)"),
    "test_mae": MetricSpec("label units", "min", "test MAE (POM: the primary trait, column 0)"),
    "test_corr": MetricSpec("r", "max", "test Pearson correlation (POM: the primary trait)"),
    "test_acc7": MetricSpec("%", "max", "test Acc-7 on round(clip(., -3, 3)) (sentiment-scale stores)"),
    "test_acc2": MetricSpec("%", "max", "test Acc-2 on non-zero labels, pred > 0 vs label > 0"),
    "test_acc2_nonneg": MetricSpec("%", "max", "test Acc-2 with the >= 0 convention"),
    "test_f1": MetricSpec("%", "max", "test weighted F1 on non-zero labels"),
    "test_mae_mean": MetricSpec("label units", "min", "POM: test MAE averaged over the 17 traits"),
    "test_corr_mean": MetricSpec("r", "max", "POM: test Pearson r averaged over the 17 traits"),
    "params": MetricSpec("count", "min", "trainable parameters of the sub-network"),
    "mflops": MetricSpec("MFLOPs", "min", "forward MFLOPs per sample (2 x multiply-adds)"),
    "n_paths": MetricSpec("count", "min", "active paths"),
    "train_seconds": MetricSpec("s", "min", "training wall seconds on one CPU thread"),
}


def max_depth(dataset: str) -> int:
    """Binary masks where there are 3+ modalities; depths 0..3 per path for the 2-modality stores
    (else their space would be 3 masks)."""
    return 3 if dataset in ("pom", "mosi") else 1


def _check(dataset: str) -> None:
    if dataset not in DATASETS:
        raise UnknownDatasetError(dataset, DATASETS, f"for benchmark {NAME!r}")


def table_file(dataset: str) -> str:
    return f"mro_{dataset.replace('-', '_')}.h5"


def open_oracle(dataset: str, on_missing: str = "raise", verify: bool = True, allow_train: bool = False,
                overlay=None, device: str | None = "cpu", recipe=None):
    """The table -> overlay -> trainer oracle of one dataset (see :class:`bench.core.trained_oracle.TrainedOracle`)."""
    from bench.core.trained_oracle import Curve, LazyTrain, TrainedOracle
    from bench.families.mro import cost
    from bench.families.mro.space import PathSpace
    from bench.families.mro.recipe import recipe_for
    from bench.features import sequence
    from bench import validate
    from bench.overlay import Overlay, overlay_path
    from bench.paths import tables_dir

    _check(dataset)
    store = sequence.open(dataset)
    recipe = recipe or recipe_for(dataset)
    space = PathSpace(store.modalities, max_depth(dataset))
    table = tables_dir() / table_file(dataset)

    def trainer():  # imported (with torch) on the first model trained: table answers need no torch
        from bench.families.mro.trainer import MROTrainer

        return partial(MROTrainer(recipe, device, {dataset: store}).train_pair, dataset)

    oracle = TrainedOracle(
        NAME, dataset, space, METRICS, recipe.key, train=LazyTrain(trainer),
        store_sha256=store.content_sha256, overlay=Overlay(validate.overlay(overlay) or overlay_path(NAME)),
        fitness_metric="val_mae", test_metric="test_mae", default_metric="test_mae",
        cost=partial(cost.seconds, store=store, recipe=recipe, space=space, coef=cost.coefficients(table)),
        allow_train=allow_train, table=table, curve=Curve("val_curve", "val_mae", "best", recipe.epochs))
    oracle.store, oracle.recipe = store, recipe  # what MRO's supernet search trains on
    return oracle


def table_view(dataset: str):
    """The shipped table as a read-only tabular oracle (seed means), or None."""
    from bench.families.mro.space import PathSpace
    from bench.features import sequence
    from bench.oracle import TabularOracle
    from bench.paths import tables_dir
    from bench.tablefile import read_dataset

    _check(dataset)
    path = tables_dir() / table_file(dataset)
    if not path.exists():
        return None
    archs, metrics, attrs = read_dataset(path, dataset)
    space = PathSpace(sequence.open(dataset).modalities, max_depth(dataset))
    return TabularOracle(NAME, dataset, space, archs, metrics, attrs, default_metric="test_mae",
                         validation_metric="val_mae", test_metric="test_mae", table_path=path)


def fill(dataset: str, seeds: int, epochs: int | None = None, device: str = "cpu", stacked: bool = False, **kwargs):
    """Train every architecture of the dataset's table rows (all of them where the space has at
    most 256 members) into the overlay (:func:`bench.core.fill.fill`); ``epochs`` overrides the
    recipe's and ``stacked`` trains each architecture's seeds as one stack (both: a different
    recipe key); ``kwargs``: ``workers``, ``overlay``, ``progress``, ``executor``,
    ``ray_address``, ``batch``."""
    from bench.core.fill import fill as fill_overlay
    from bench.core.store_trainer import adjusted
    from bench.core.torchutil import resolve_device
    from bench.families.mro.build import table_archs
    from bench.families.mro.trainer import MROTrainer, recipe_for

    _check(dataset)
    resolve_device(device)  # named error before any work
    trainer = MROTrainer(adjusted(recipe_for(dataset), epochs, stacked), device)
    return fill_overlay(trainer, dataset, table_archs(dataset, trainer), seeds, **kwargs)


def _runners() -> dict:
    from bench.families.mro.paper import RUNNERS

    return RUNNERS


def _algorithms() -> dict:
    from bench.families.mro.search import ALGORITHMS

    return ALGORITHMS


def _method_names() -> dict:
    """Legend names of MRO's presets (search.PRESETS) and of exhaustive search."""
    return {"mro": "MRO", "mro-noprior": "MRO w/o prior guidance", "mro-nomrg": "MRO w/o MRG prior",
            "mro-norank": "MRO w/o rank regularization", "mro-l0": "MRO, L0 rank loss", "mro-l1": "MRO, L1 rank loss",
            "mro-l2": "MRO, L2 rank loss", "mro-linf": "MRO, L-infinity rank loss", "exhaustive": "Exhaustive search",
            "mro-literal": "MRO, literal rank loss (A)", "mro-flops": "MRO, pick under 0.75x FLOPs"}


def _gate() -> tuple:
    """The quality gate's view of the shipped tables: val_mae searched, test_mae reported."""
    from bench.core.quality import GateSpec

    return tuple(GateSpec(NAME, f"{NAME}-{ds}", table_file(ds), ds, ("val_mae", "test_mae"),
                          partial(_trivial, ds), real_data=not ds.startswith("syn")) for ds in DATASETS)


def _trivial(dataset: str) -> dict:
    """Constant predictors scored as MRO scores its models (val_mae over every label column)."""
    from bench.core.quality import sequence_trivial

    return sequence_trivial(dataset, "standard", {"val_mae": ("val", "mae_mean", "mae"), "test_mae": ("test", "mae", "mae")})


FAMILY = Family(
    name=NAME, kind="trained",
    description="MRO cross-modal attention paths (a path mask per directed modality pair; depth per path on "
                "2-modality stores) over sequence stores; shipped tables of trained sub-networks, then the overlay, "
                "then (when allowed) training",
    datasets=lambda: list(DATASETS), open=open_oracle, table_view=table_view,
    tables=tuple(Table(f"{NAME}-{ds}", table_file(ds), trained_builder("bench.families.mro.build", ds), trained=True) for ds in DATASETS),
    algorithms=_algorithms, default_algorithms=("rs", "rea", "mro"), fill=fill, runners=_runners,
    method_names=_method_names, gate=_gate, default_budget_seconds=500,
    surrogate=SurrogateSpec("bench.families.mro.surrogate", TABLE_DATASETS, "syn4-p3-planted", ("val_mae", "test_mae"),
                            table_file, {"val_curve": MetricSpec("label units", "min", "validation MAE after each epoch "
                                                                 "(NaN after early stopping)")}, "syn3-p2-planted",
                            ("rs", "rea")),
)
