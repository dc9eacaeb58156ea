"""RMNAS (``003_ca6407ec0d2ea38c.txt``): token mixers per modality and block, BM-NAS fusion
steps and the local-sentiment-trend bias, scored under missing modalities on sequence stores
(POM audio+video, CMU-MOSI audio+text, synthetic synK).

A dataset is a store and the rate it is trained at: ``pom`` trains on the data as it is
(native missingness only) and ``pom@r0.5`` drops frames at rate 0.5 in every split (EMT-DLFR's
sentence-level protocol); either way every record is evaluated at the 11 rates 0.0..1.0
(``*_by_rate``) with the AUILC over 0..1 beside them. ``mosi-dial@r0.3`` is the dialogue level
(:mod:`bench.families.rmnas.dialogue`: view-level missing at 0.0..0.5, test WAF at 6 rates).

This entry declares the family; importing it loads no torch.
"""

from __future__ import annotations

from functools import partial

from bench.core.family import Family, SurrogateSpec, Table, trained_builder
from bench.core.trained_oracle import MetricSpec
from bench.errors import UnknownDatasetError

NAME = "rmnas"
STORES = ("pom", "mosi", "syn3-p2", "syn3-p2-phi0", "syn3-p2-miss")
#: dialogue-level datasets (videos as sequences of utterances, GCNet's view-level missing;
#: :mod:`bench.families.rmnas.dialogue`) -> the store they read
DIALOGUE = {"mosi-dial": "mosi"}
#: training rates the paper tables use beside 0 (their datasets are trained lazily on a miss)
TRAIN_RATES = (0.5, 0.7)
#: datasets with a shipped table (their order sets the order of ``datasets()``)
TABLES = ("pom", "mosi")
#: shipped tables of models trained at a missing rate (the paper's protocol at that rate)
RATE_TABLES = ("mosi@r0.5",)
SEEDS = 3

METRICS = {
    "val_mae": MetricSpec("label units", "min", "validation MAE at the training rate, best epoch (the search fitness)"),
    "test_mae": MetricSpec("label units", "min", "test MAE at the training rate (POM: the primary trait)"),
    "test_corr": MetricSpec("r", "max", "test Pearson r at the training rate (POM: the primary trait)"),
    "test_acc7": MetricSpec("%", "max", "test Acc-7, round(clip(., -3, 3)) (sentiment-scale stores)"),
    "test_acc5": MetricSpec("%", "max", "test Acc-5, round(clip(., -2, 2))"),
    "test_acc3": MetricSpec("%", "max", "test Acc-3, round(clip(., -1, 1))"),
    "test_acc2": MetricSpec("%", "max", "test Acc-2 on non-zero labels"),
    "test_acc2_nonneg": MetricSpec("%", "max", "test Acc-2 with the >= 0 convention"),
    "test_f1": MetricSpec("%", "max", "test weighted F1 on non-zero labels"),
    "test_mae_mean": MetricSpec("label units", "min", "POM: test MAE averaged over the 17 traits"),
    "test_corr_mean": MetricSpec("r", "max", "POM: test Pearson r averaged over the 17 traits"),
    "val_auilc_mae": MetricSpec("label units", "min", "AUILC (Eq. 14) of validation MAE over rates 0..1 (a robust fitness)"),
    "test_auilc_mae": MetricSpec("label units", "min", "AUILC of test MAE over rates 0..1"),
    "test_auilc_corr": MetricSpec("r", "max", "AUILC of test Pearson r over rates 0..1"),
    "test_auilc_acc7": MetricSpec("%", "max", "AUILC of test Acc-7 over rates 0..1"),
    "test_auilc_acc5": MetricSpec("%", "max", "AUILC of test Acc-5 over rates 0..1"),
    "test_auilc_acc3": MetricSpec("%", "max", "AUILC of test Acc-3 over rates 0..1"),
    "test_auilc_acc2": MetricSpec("%", "max", "AUILC of test Acc-2 over rates 0..1"),
    "test_auilc_f1": MetricSpec("%", "max", "AUILC of test F1 over rates 0..1"),
    "params": MetricSpec("count", "min", "trainable parameters"),
    "mflops": MetricSpec("MFLOPs", "min", "forward MFLOPs per sample (2 x multiply-adds)"),
    "best_epoch": MetricSpec("epoch", "min", "the epoch whose weights were kept (1-based)"),
    "epochs_run": MetricSpec("epoch", "min", "epochs trained before early stopping"),
    "train_seconds": MetricSpec("s", "min", "training wall seconds on one CPU thread"),
    "val_waf": MetricSpec("%", "max", "dialogue level: validation WAF at the training rate, best epoch (the fitness)"),
    "test_waf": MetricSpec("%", "max", "dialogue level: test WAF (weighted F1 on non-zero labels) at the training rate"),
}
#: list-valued record fields stored as [n_arch, n_seed, n] arrays
CURVES = {
    **{f"{m}_by_rate": MetricSpec(METRICS[m].unit, METRICS[m].direction, f"{m} at missing rates 0.0, 0.1, ..., 1.0")
       for m in ("val_mae", "test_mae", "test_corr", "test_acc7", "test_acc5", "test_acc3", "test_acc2", "test_f1")},
    "val_curve": MetricSpec("label units", "min", "validation MAE (dialogue: WAF) after each epoch (NaN after early "
                                                  "stopping)"),
    "test_waf_by_rate": MetricSpec("%", "max", "dialogue level: test WAF at view-missing rates 0.0..0.5"),
}


def parse(dataset: str) -> tuple[str, float]:
    """``(base, training rate)`` of a dataset name (``pom``, ``pom@r0.5``, ``mosi-dial@r0.3``)."""
    store, at, rate = dataset.partition("@r")
    if store not in STORES and store not in DIALOGUE:
        raise UnknownDatasetError(dataset, datasets(), f"for benchmark {NAME!r}")
    if not at:
        return store, 0.0
    from bench.families.rmnas.missing import check_rate

    top = 0.5 if store in DIALOGUE else 1.0  # two views: at most half of the entries can be missing
    try:
        r = check_rate(float(rate), top)
    except ValueError:
        raise UnknownDatasetError(dataset, datasets(), f"for benchmark {NAME!r} (rate after '@r': 0.0..{top})") from None
    if abs(r * 10 - round(r * 10)) > 1e-9 or r == 0.0:
        raise UnknownDatasetError(dataset, datasets(), f"for benchmark {NAME!r} (a training rate is a tenth in "
                                  f"0.1..{top}; rate 0 is the store's own name, {store!r})")
    if f"{r:g}" != rate:
        raise UnknownDatasetError(dataset, datasets(), f"for benchmark {NAME!r} (write the rate as {r:g})")
    return store, r


def datasets() -> list[str]:
    """The datasets the suite uses (``parse`` accepts every store at any rate 0.0..1.0 in tenths)."""
    return [*TABLES, *(f"{s}@r{r:g}" for s in TABLES for r in TRAIN_RATES), *STORES[len(TABLES):], *DIALOGUE]


def store_of(dataset: str) -> str:
    """The sequence store a dataset reads."""
    base = parse(dataset)[0]
    return DIALOGUE.get(base, base)


def is_dialogue(dataset: str) -> bool:
    return parse(dataset)[0] in DIALOGUE


def table_file(dataset: str) -> str:
    return f"rmnas_{dataset.replace('-', '_').replace('@r', '_r').replace('.', '')}.h5"


def space_of(dataset: str):
    """The tabulated slice's space of a dataset (its decode accepts the full grammar)."""
    from bench.families.rmnas.recipe import Recipe
    from bench.families.rmnas.space import RMNASSpace
    from bench.features import sequence

    return RMNASSpace(sequence.open(store_of(dataset)).modalities, Recipe().blocks, tied=True)


def open_oracle(dataset: str, on_missing: str = "raise", verify: bool = True, allow_train: bool = False,
                overlay=None, device: str | None = "cpu", recipe=None):
    """The table -> overlay -> trainer oracle of one dataset (see :class:`bench.core.trained_oracle.TrainedOracle`)."""
    from bench.core.trained_oracle import Curve, LazyTrain, TrainedOracle
    from bench.families.rmnas import cost
    from bench.families.rmnas.recipe import Recipe
    from bench.families.rmnas.space import RMNASSpace
    from bench.features import sequence
    from bench import validate
    from bench.overlay import Overlay, overlay_path
    from bench.paths import tables_dir

    rate = parse(dataset)[1]
    store = sequence.open(store_of(dataset))
    recipe = recipe or Recipe()
    space = RMNASSpace(store.modalities, recipe.blocks, tied=True)
    table = tables_dir() / table_file(dataset)
    coef = cost.coefficients(table)
    dialogue = is_dialogue(dataset)

    def trainer():  # one place decides how a dataset trains; imported (with torch) on the first miss
        from bench.families.rmnas.trainer import RMNASTrainer

        return partial(RMNASTrainer(recipe, device, {store.name: store}).train_pair, dataset)

    oracle = TrainedOracle(
        NAME, dataset, space, METRICS, recipe.key, train=LazyTrain(trainer),
        store_sha256=store.content_sha256, overlay=Overlay(validate.overlay(overlay) or overlay_path(NAME)),
        fitness_metric="val_waf" if dialogue else "val_mae", test_metric="test_waf" if dialogue else "test_mae",
        default_metric="test_waf" if dialogue else "test_mae",
        cost=partial(cost.dialogue_seconds if dialogue else cost.seconds, store=store, recipe=recipe, space=space,
                     coef=coef),
        allow_train=allow_train, table=table,
        curve=Curve("val_curve", "val_waf" if dialogue else "val_mae", "best", recipe.epochs))
    # what the supernet search trains on and is charged by
    oracle.store, oracle.recipe, oracle.train_rate, oracle.cost_coef = store, recipe, rate, coef
    return oracle


def table_view(dataset: str):
    """The shipped table as a read-only tabular oracle (seed means), or None."""
    from bench.oracle import TabularOracle
    from bench.paths import tables_dir
    from bench.tablefile import read_dataset

    path = tables_dir() / table_file(dataset)
    if not path.exists():  # checked before the store is opened: synthetic stores are generated on open
        return None
    space = space_of(dataset)
    archs, metrics, attrs = read_dataset(path, dataset)
    return TabularOracle(NAME, dataset, space, archs, metrics, attrs, default_metric="test_mae",
                         validation_metric="val_mae", test_metric="test_mae", table_path=path)


def fill(dataset: str, seeds: int, epochs: int | None = None, device: str = "cpu", stacked: bool = False,
         **kwargs):
    """Train every architecture of the tabulated slice into the overlay (:func:`bench.core.fill.fill`);
    ``epochs`` and ``stacked``: see :func:`bench.core.store_trainer.fill_slice`; ``kwargs``:
    ``workers``, ``overlay``, ``progress``, ``executor``, ``ray_address``, ``batch``."""
    from bench.core.store_trainer import fill_slice
    from bench.families.rmnas.trainer import Recipe, RMNASTrainer

    parse(dataset)
    return fill_slice(RMNASTrainer, Recipe(), dataset, seeds, epochs, device, stacked, **kwargs)


def _runners() -> dict:
    from bench.families.rmnas.paper import RUNNERS

    return RUNNERS


def _algorithms() -> dict:
    """RMNAS's search presets and EDF's generational evolution (CSG-NAS's baseline) over the space's
    sample, mutate and crossover."""
    from bench.algorithms import edf
    from bench.families.rmnas.search import ALGORITHMS

    return {**ALGORITHMS, "edf": edf}


def _method_names() -> dict:
    from bench.families.rmnas.search import PRESETS

    return {**{name: p.label for name, p in PRESETS.items()}, "edf": "EDF (generational evolution)"}


def _gate() -> tuple:
    """The quality gate's view of the shipped tables: val_mae searched; test_mae and the AUILC of
    test MAE over missing rates reported."""
    from bench.core.quality import GateSpec

    return tuple(GateSpec(NAME, f"{NAME}-{ds}", table_file(ds), ds, ("val_mae", "test_mae", "test_auilc_mae"),
                          partial(_trivial, ds)) for ds in (*TABLES, *RATE_TABLES))


def _trivial(dataset: str) -> dict:
    """Constant predictors scored as RMNAS scores its models (val_mae on the primary column; a
    constant's MAE is the same at every missing rate, so its AUILC is Eq. 14 of a flat curve)."""
    from bench.core.quality import sequence_trivial
    from bench.families.rmnas.missing import RATES, auilc

    out = sequence_trivial(store_of(dataset), "standard", {"val_mae": ("val", "mae", "mae"),
                                                           "test_mae": ("test", "mae", "mae")})
    out["test_auilc_mae"] = {p: auilc(RATES, [v] * len(RATES)) for p, v in out["test_mae"].items()}
    return out


FAMILY = Family(
    name=NAME, kind="trained",
    description="RMNAS token mixers per modality, BM-NAS fusion steps and the LST bias, trained at a missing rate "
                "and scored at rates 0..1 (AUILC) on sequence stores; shipped tables of the tied slice, then the "
                "overlay, then (when allowed) training",
    datasets=datasets, open=open_oracle, table_view=table_view,
    tables=tuple(Table(f"{NAME}-{ds}", table_file(ds), trained_builder("bench.families.rmnas.build", ds), trained=True)
                 for ds in (*TABLES, *RATE_TABLES)),
    algorithms=_algorithms, default_algorithms=("rs", "rea", "rmnas"), fill=fill, runners=_runners,
    method_names=_method_names, gate=_gate, default_budget_seconds=400,
    surrogate=SurrogateSpec("bench.families.rmnas.surrogate", (*TABLES, *RATE_TABLES), "mosi",
                            ("val_mae", "test_mae", "test_auilc_mae"), table_file, CURVES, "mosi"),
)
