"""Full-space surrogates of the trained families: a gradient-boosted tree model (LightGBM) per metric,
fitted on a dataset's shipped table, that answers ANY architecture of the paper's full space with a
predicted seed mean, and a fitted seed-noise model that turns it into a per-seed draw (the same
draw for the same architecture and seed, on every machine).

What a family gives: :class:`bench.core.family.SurrogateSpec` (its full space and a fixed-length
feature description of an architecture). Everything else is here, once for every family:

* :func:`fit` - deterministic (one thread, fixed seeds); the boosted trees are compiled to flat
  arrays and their leaf values rounded to multiples of 2**-32, so a prediction is an exact sum
  in any order: a query answers the same bits on any CPU, alone or in a batch, without LightGBM;
* :class:`Surrogate` - the fitted model as plain data, saved as canonical JSON beside the
  tables (``tables/<table>_surrogate.json``, recorded in MANIFEST like a table) and loaded with
  numpy alone;
* :class:`SurrogateOracle` - the oracle protocol over it (what :class:`bench.trained_run.TrainedRun`
  searches), charging the family's training seconds so budgets match the table's.

How good a surrogate is, is :mod:`bench.core.surrogate_report`'s job.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist
from typing import Mapping

import numpy as np

from bench import validate
from bench.errors import BenchError, ChecksumError, InvalidArgumentError, MissingValueError, UnknownMetricError

FORMAT = "mmnas-surrogate/1"
#: LightGBM settings of every fit (small tables: shallow trees, few rows per leaf); chosen by the held-out
#: check among the sizes ``benchmarks/surrogate_sizes.py`` prints: about as good as the largest, faster to
#: query, and the smaller ones lose the check on the largest table
PARAMS = {"objective": "regression", "learning_rate": 0.05, "num_leaves": 15, "max_depth": 4, "min_data_in_leaf": 3,
          "min_data_in_bin": 1, "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1,
          "lambda_l2": 1.0, "num_threads": 1, "deterministic": True, "force_row_wise": True, "verbose": -1}
ROUNDS = 300
FIT_SEED = 0
#: leaf values are multiples of this, so sums are exact whatever their order (|sum| < 2**21)
QUANTUM = 2.0 ** -32
_NORMAL = NormalDist()


# ---- the model as data -----------------------------------------------------------------------------
@dataclass
class Trees:
    """A boosted ensemble as flat arrays: node ``i`` goes to ``left[i]`` when ``x[feat[i]] <= thr[i]``,
    else ``right[i]``; a leaf points to itself (``thr`` +inf), so ``depth`` steps from the roots reach
    every leaf; the prediction is the sum of the reached leaves' ``value``."""

    feat: np.ndarray
    thr: np.ndarray
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray
    roots: np.ndarray
    depth: int

    @classmethod
    def from_lightgbm(cls, booster) -> "Trees":
        feat, thr, left, right, value, roots = [], [], [], [], [], []
        depth = 0

        def add(node: dict, level: int) -> int:
            nonlocal depth
            i = len(feat)
            feat.append(0), thr.append(math.inf), left.append(i), right.append(i), value.append(0.0)
            if "leaf_value" in node:
                value[i] = round(node["leaf_value"] / QUANTUM) * QUANTUM
                depth = max(depth, level)
                return i
            if node["decision_type"] != "<=":
                raise BenchError(f"unsupported LightGBM split {node['decision_type']!r} (numeric features only)")
            feat[i], thr[i] = int(node["split_feature"]), float(node["threshold"])
            left[i] = add(node["left_child"], level + 1)
            right[i] = add(node["right_child"], level + 1)
            return i

        for tree in booster.dump_model()["tree_info"]:
            roots.append(add(tree["tree_structure"], 0))
        return cls(np.array(feat, np.int64), np.array(thr, float), np.array(left, np.int64),
                   np.array(right, np.int64), np.array(value, float), np.array(roots, np.int64), depth)

    def to_json(self) -> dict:
        return {"feat": self.feat.tolist(), "thr": [None if math.isinf(t) else t for t in self.thr.tolist()],
                "left": self.left.tolist(), "right": self.right.tolist(), "value": self.value.tolist(),
                "roots": self.roots.tolist(), "depth": self.depth}

    @classmethod
    def from_json(cls, d: Mapping) -> "Trees":
        return cls(np.array(d["feat"], np.int64), np.array([math.inf if t is None else t for t in d["thr"]], float),
                   np.array(d["left"], np.int64), np.array(d["right"], np.int64), np.array(d["value"], float),
                   np.array(d["roots"], np.int64), int(d["depth"]))


class Forest:
    """Several :class:`Trees` (one per metric) compiled for prediction: every distinct split
    ``x[f] <= t`` is decided once per row, then each level of every tree is one gather
    (``child[2 * node + decision]``); a metric's prediction is the sum of its trees' leaves."""

    CHUNK = 128

    def __init__(self, ensembles: list[Trees]):
        offsets = np.cumsum([0] + [t.feat.size for t in ensembles])
        feat = np.concatenate([t.feat for t in ensembles])
        thr = np.concatenate([t.thr for t in ensembles])
        left = np.concatenate([t.left + o for t, o in zip(ensembles, offsets)])
        right = np.concatenate([t.right + o for t, o in zip(ensembles, offsets)])
        self.value = np.concatenate([t.value for t in ensembles])
        self.roots = np.concatenate([t.roots + o for t, o in zip(ensembles, offsets)])
        self.bounds = np.cumsum([0] + [t.roots.size for t in ensembles])[:-1]
        self.depth = max((t.depth for t in ensembles), default=0)
        inner = np.isfinite(thr)
        pairs = sorted({(int(f), float(t)) for f, t in zip(feat[inner], thr[inner])})
        self.split_feat = np.array([f for f, _ in pairs], np.int64)
        self.split_thr = np.array([t for _, t in pairs], float)
        where = {p: i for i, p in enumerate(pairs)}
        u = len(pairs)  # column u: "always true", a leaf's own decision
        self.split = np.array([where[(int(f), float(t))] if ok else u for f, t, ok in zip(feat, thr, inner)], np.int64)
        self.child = np.empty(2 * feat.size, np.int64)
        self.child[0::2], self.child[1::2] = right, left  # decision 1 (x <= t) goes left; a leaf to itself
        self._d = np.ones(u + 1, bool)

    def predict_one(self, x: np.ndarray) -> np.ndarray:
        """Each ensemble's prediction for one feature vector."""
        d = self._d
        np.less_equal(x[self.split_feat], self.split_thr, out=d[:-1])
        node = self.roots
        for _ in range(self.depth):
            node = self.child[2 * node + d[self.split[node]]]
        return np.add.reduceat(self.value[node], self.bounds)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Each ensemble's predictions [n_ensembles, n] for the rows of ``X`` [n, n_features]."""
        X = np.asarray(X, dtype=float)
        if X.shape[0] > self.CHUNK:  # blocks that stay in cache
            return np.concatenate([self.predict(X[i:i + self.CHUNK]) for i in range(0, X.shape[0], self.CHUNK)], axis=1)
        n = X.shape[0]
        d = np.ones((n, self.split_feat.size + 1), bool)
        np.less_equal(X[:, self.split_feat], self.split_thr, out=d[:, :-1])
        flat = d.ravel()
        base = (np.arange(n) * d.shape[1])[:, None]
        node = np.broadcast_to(self.roots, (n, self.roots.size))
        for _ in range(self.depth):
            node = self.child[2 * node + flat[base + self.split[node]]]
        # exact in any order: every value is a multiple of QUANTUM
        return np.add.reduceat(self.value[node], self.bounds, axis=1).T


@dataclass
class MetricModel:
    """One metric's model: the seed-mean trees and the seed-noise model (pooled within-architecture
    sd; ``rho``: correlation of a seed's deviation with the searched metric's, so one draw moves
    the validation and test values of a model together as real seeds do)."""

    name: str
    direction: str
    trees: Trees
    noise_sd: float
    rho: float


@dataclass
class Surrogate:
    """A fitted surrogate of one dataset of a family (plain data; :func:`fit` makes it)."""

    family: str
    dataset: str
    recipe_key: str
    feature_names: list[str]
    models: dict[str, MetricModel]
    fitted_on: dict  # what the fit read: table file, its sha256, architectures, seeds
    lightgbm: str

    @property
    def metrics(self) -> list[str]:
        return list(self.models)

    @property
    def forest(self) -> Forest:
        """Every metric's trees compiled together (built on first use)."""
        f = self.__dict__.get("_forest")
        if f is None:
            f = self.__dict__["_forest"] = Forest([mm.trees for mm in self.models.values()])
        return f

    def predict(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Predicted seed means of every modelled metric for the rows of ``X``."""
        return dict(zip(self.models, self.forest.predict(X)))

    def predict_one(self, x: np.ndarray) -> dict[str, float]:
        """Predicted seed means of every modelled metric for one feature vector."""
        return dict(zip(self.models, self.forest.predict_one(x).tolist()))

    def draw(self, text: str, seed: int, means: Mapping[str, float]) -> dict[str, float]:
        """One seed's values for an architecture (canonical ``text``) with predicted ``means``."""
        z0 = normal_draw(text, seed, 0)
        out = {}
        for k, (m, mm) in enumerate(self.models.items()):
            z = z0 if k == 0 else mm.rho * z0 + math.sqrt(max(0.0, 1.0 - mm.rho ** 2)) * normal_draw(text, seed, k)
            out[m] = means[m] + mm.noise_sd * z
        return out

    def to_json(self) -> dict:
        return {"format": FORMAT, "family": self.family, "dataset": self.dataset, "recipe_key": self.recipe_key,
                "lightgbm": self.lightgbm, "params": PARAMS, "rounds": ROUNDS, "fit_seed": FIT_SEED,
                "quantum": QUANTUM, "fitted_on": self.fitted_on, "feature_names": self.feature_names,
                "metrics": self.metrics,  # the searched one first (the keys below are sorted)
                "models": {m: {"direction": mm.direction, "noise_sd": mm.noise_sd, "rho": mm.rho,
                               "trees": mm.trees.to_json()} for m, mm in self.models.items()}}

    @classmethod
    def from_json(cls, d: Mapping, where: str = "surrogate") -> "Surrogate":
        if d.get("format") != FORMAT:
            raise ChecksumError(f"{where}: format {d.get('format')!r} is not {FORMAT!r}; rebuild it with "
                                "`mmnas-bench surrogate build`")
        models = {m: MetricModel(m, v["direction"], Trees.from_json(v["trees"]), float(v["noise_sd"]), float(v["rho"]))
                  for m, v in ((m, d["models"][m]) for m in d["metrics"])}
        return cls(d["family"], d["dataset"], d["recipe_key"], list(d["feature_names"]), models, dict(d["fitted_on"]),
                   d["lightgbm"])

    def dumps(self) -> bytes:
        """Canonical JSON: the same fit is the same bytes."""
        return (json.dumps(self.to_json(), sort_keys=True, separators=(",", ":")) + "\n").encode()

    def digest(self) -> str:
        return hashlib.sha256(self.dumps()).hexdigest()


def normal_draw(text: str, seed: int, k: int) -> float:
    """A standard normal value fixed by (architecture, seed, k): the surrogate's seed noise."""
    h = int.from_bytes(hashlib.blake2b(f"{text}|{seed}|{k}".encode(), digest_size=8).digest(), "big") >> 11
    return _NORMAL.inv_cdf((h + 0.5) / 2.0 ** 53)  # 53 bits: exact in a float, strictly inside (0, 1)


# ---- fitting --------------------------------------------------------------------------------------
def design(spec, space, archs) -> np.ndarray:
    """The feature matrix [n, n_features] of ``archs`` (texts or objects of ``space``)."""
    impl = spec.impl()
    return np.array([impl.features(space, a) for a in archs], dtype=float).reshape(len(archs), -1)


def fit_booster(X: np.ndarray, y: np.ndarray, seed: int = FIT_SEED):
    """LightGBM's booster of the surrogate's recipe (``PARAMS``, ``ROUNDS``) fitted to ``y``."""
    import lightgbm as lgb

    return lgb.train({**PARAMS, "seed": seed}, lgb.Dataset(X, y, free_raw_data=False), num_boost_round=ROUNDS)


def fit_models(X: np.ndarray, values: Mapping[str, np.ndarray], directions: Mapping[str, str],
               seed: int = FIT_SEED) -> dict[str, MetricModel]:
    """One :class:`MetricModel` per metric of ``values`` ({metric: [n_arch, n_seed]}, the searched
    metric first), fitted on the seed means of the rows of ``X``."""
    first = next(iter(values))
    resid0 = values[first] - values[first].mean(axis=1, keepdims=True)
    models = {}
    for m, v in values.items():
        v = np.asarray(v, dtype=float)
        if v.ndim != 2 or v.shape[0] != X.shape[0] or not np.isfinite(v).all():
            raise InvalidArgumentError(f"metric {m!r}: need finite values [n_arch={X.shape[0]}, n_seed], got "
                                       f"shape {v.shape}")
        means = v.mean(axis=1)
        booster = fit_booster(X, means, seed)
        resid = v - means[:, None]
        k = v.shape[1]
        sd = float(np.sqrt((resid ** 2).sum() / max(1, v.shape[0] * (k - 1)))) if k > 1 else 0.0
        denom = float(np.sqrt((resid ** 2).sum() * (resid0 ** 2).sum()))
        rho = 1.0 if m == first else (float((resid * resid0).sum() / denom) if denom > 0 else 0.0)
        models[m] = MetricModel(m, directions[m], Trees.from_lightgbm(booster), round(sd, 12), round(rho, 12))
    return models


def family_oracle(family: str, dataset: str, **options):
    """The family's own oracle of a dataset (metric directions, costs), without the quality gate's
    warning: a surrogate reads the table to model it, not to search it."""
    import warnings

    from bench.core.quality import QualityWarning
    from bench.families import get

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QualityWarning)
        return get(family).open(dataset, **options)


def table_data(family: str, dataset: str) -> tuple[list[str], dict[str, np.ndarray], dict]:
    """``(archs, {metric: [n_arch, n_seed]}, fitted_on)`` of the dataset's shipped table, for the
    modelled metrics and the recipe the family's oracle uses."""
    from bench.core.outslice import spec_of
    from bench.core.trained_oracle import recipe_rows
    from bench.manifest import file_digest
    from bench.paths import tables_dir

    spec = spec_of(family)
    if dataset not in spec.datasets:
        from bench.errors import UnknownDatasetError

        raise UnknownDatasetError(dataset, list(spec.datasets), f"for a {family} surrogate (datasets with a table)")
    oracle = family_oracle(family, dataset)
    path = tables_dir() / spec.table_file(dataset)
    rows = recipe_rows(path, dataset, oracle.recipe_key)
    if rows is None:
        raise MissingValueError(f"{family}/{dataset}: tables/{path.name} is absent or was trained with another recipe")
    archs, metrics, n_seed = rows
    values = {m: np.asarray(metrics[m].values, dtype=float) for m in spec.metrics if m in metrics}
    return list(archs), values, {"table": path.name, "sha256": file_digest(path), "n_arch": len(archs),
                                 "n_seed": int(n_seed)}


def fit(family: str, dataset: str) -> Surrogate:
    """Fit the surrogate of one dataset on its shipped table (deterministic)."""
    import lightgbm

    from bench.core.outslice import spec_of

    spec = spec_of(family)
    archs, values, fitted_on = table_data(family, dataset)
    space = spec.impl().full_space(dataset)
    oracle = family_oracle(family, dataset)
    X = design(spec, space, archs)
    models = fit_models(X, values, {m: oracle.metric_info(m).direction for m in values})
    return Surrogate(family, dataset, oracle.recipe_key, spec.impl().feature_names(space), models, fitted_on,
                     lightgbm.__version__)


# ---- shipped files --------------------------------------------------------------------------------
def surrogate_file(family: str, dataset: str) -> str:
    from bench.core.outslice import spec_of

    return spec_of(family).table_file(dataset).removesuffix(".h5") + "_surrogate.json"


def build(family: str, dataset: str, out_dir: Path | None = None, accept_new_reference: bool = False) -> Path:
    """Fit and write ``tables/<table>_surrogate.json``, recorded in MANIFEST; a refit that gives
    other bytes than the shipped file is refused (the shipped file stays) unless
    ``accept_new_reference``."""
    from bench.builders.common import ReferenceChangedError
    from bench.manifest import check_can_record, read_manifest, update_manifest
    from bench.paths import tables_dir
    from bench.tablefile import atomic_write

    s = fit(family, dataset)
    raw, digest = s.dumps(), s.digest()
    out_dir = Path(out_dir) if out_dir else tables_dir()
    target = out_dir / surrogate_file(family, dataset)
    entry = read_manifest(out_dir).get(target.name)
    shipped = target.read_bytes() if target.exists() else None
    if shipped == raw and entry is not None and entry[1] == digest:
        return target
    if (shipped is not None or entry is not None) and not accept_new_reference and shipped != raw:
        raise ReferenceChangedError(
            f"the refit of {target} gives other bytes (sha256 {digest[:16]}...) than the shipped surrogate; nothing "
            "was replaced. A different LightGBM version or table changes a fit: refit with --accept-new-reference "
            "to make it the new reference, and commit tables/MANIFEST with bench/reference_digests.py")
    check_can_record(out_dir, target)
    with atomic_write(target) as tmp:
        tmp.write_bytes(raw)
    update_manifest(out_dir, target, digest)
    return target


def load(family: str, dataset: str, path: Path | None = None) -> Surrogate:
    """The shipped surrogate of a dataset, checked against MANIFEST and against the table it was
    fitted on (a rebuilt table makes it stale: a named error)."""
    from bench.manifest import check_file, file_digest
    from bench.paths import tables_dir

    path = Path(path) if path else tables_dir() / surrogate_file(family, dataset)
    if not path.exists():
        raise MissingValueError(f"no surrogate for {family}/{dataset} ({path} is missing): run "
                                f"`mmnas-bench surrogate build {family} --dataset {dataset}`")
    check_file(path)
    s = Surrogate.from_json(json.loads(path.read_bytes()), str(path))
    table = path.parent / s.fitted_on["table"]
    if table.exists() and file_digest(table) != s.fitted_on["sha256"]:
        raise ChecksumError(f"{path} was fitted on another version of {table.name}: rebuild it with "
                            f"`mmnas-bench surrogate build {family} --dataset {dataset}`")
    return s


# ---- the oracle -------------------------------------------------------------------------------------
SPACES = ("full", "slice")


class SurrogateOracle:
    """The oracle protocol answered by a :class:`Surrogate`: any architecture of ``space`` (the full
    space, or the table's slice to compare with the table), a per-seed draw for each seed. Charged
    seconds are the family oracle's (the table's recorded seconds for its rows, the cost model for
    the rest), so a budget buys what it buys on the table."""

    source = "surrogate"

    def __init__(self, inner, surrogate: Surrogate, space, spec):
        self.inner, self.surrogate, self.space, self._spec = inner, surrogate, space, spec
        self.benchmark, self.dataset = inner.benchmark, inner.dataset
        self.fitness_metric = surrogate.metrics[0]
        self.test_metric = inner.test_metric if inner.test_metric in surrogate.models else None
        self.default_metric = self.test_metric or self.fitness_metric
        self.recipe_key = f"{inner.recipe_key}+surrogate-{surrogate.digest()[:12]}"
        self.n_seeds = inner.n_seeds
        self.curve = None  # a surrogate answers final values only
        self.allow_train = False
        self.answered_from = {"surrogate": 0}
        self._means: dict[str, dict[str, float]] = {}
        self._records: dict[tuple[str, int], tuple[str, dict]] = {}

    @property
    def metrics(self) -> list[str]:
        return self.surrogate.metrics

    def metric_info(self, metric: str):
        if metric not in self.surrogate.models:
            raise UnknownMetricError(metric, self.surrogate.models, f"for the {self.benchmark} surrogate")
        return self.inner.metric_info(metric)

    def table_digests(self) -> dict[str, str]:
        """``{file: sha256}`` of the surrogate and of the table it was fitted on."""
        return {surrogate_file(self.benchmark, self.dataset): self.surrogate.digest(),
                self.surrogate.fitted_on["table"]: self.surrogate.fitted_on["sha256"]}

    def encode(self, arch) -> str:
        return self.space.encode(arch)

    def means(self, text: str, arch=None) -> dict[str, float]:
        """Predicted seed means of a canonical architecture (memoised); ``arch``: its decoded
        object where the caller has it (spares a second parse)."""
        got = self._means.get(text)
        if got is None:
            x = np.asarray(self._spec.impl().features(self.space, text if arch is None else arch), dtype=float)
            got = self._means[text] = self.surrogate.predict_one(x)
        return got

    def predict_many(self, archs) -> dict[str, np.ndarray]:
        """Predicted seed means of many architectures at once (one matrix through the trees)."""
        texts = [self.encode(a) for a in archs]
        return self.surrogate.predict(design(self._spec, self.space, texts))

    def keyed_result(self, arch, seed: int = 0, allow_train: bool | None = None) -> tuple[str, dict]:
        if type(seed) is not int or not 0 <= seed < validate.SEED_LIMIT:
            seed = validate.seed(seed)
        if allow_train is not None:  # a surrogate answers every architecture: nothing is ever trained
            validate.flag(allow_train, "allow_train")
        got = self._records.get((arch, seed)) if type(arch) is str else None
        if got is not None:
            return got
        from bench.overlay import Overlay

        obj = self.space.decode(arch) if type(arch) is str else arch  # parsed once, checked by encode
        text = self.space.encode(obj)
        got = (Overlay.key(self.dataset, text, seed, self.recipe_key),
               self.surrogate.draw(text, seed, self.means(text, obj)))
        self.answered_from["surrogate"] += 1
        if type(arch) is str:
            self._records[(arch, seed)] = got
        return got

    def result(self, arch, seed: int = 0, allow_train: bool | None = None) -> dict:
        return self.keyed_result(arch, seed, allow_train)[1]

    def query(self, arch, metric: str | None = None, seed: int = 0, allow_train: bool | None = None) -> float:
        metric = self.default_metric if metric is None else metric
        if metric not in self.surrogate.models:
            raise UnknownMetricError(metric, self.surrogate.models, f"for the {self.benchmark} surrogate")
        return float(self.keyed_result(arch, seed, allow_train)[1][metric])

    def charged_seconds(self, key: str) -> float:
        from bench.core.keys import RecordKey
        from bench.overlay import Overlay

        k = RecordKey.parse(key)
        return self.inner.charged_seconds(Overlay.key(self.dataset, k.arch, k.seed, self.inner.recipe_key))

    def inherited_result(self, arch, seed: int, parent_key: str, allow_train: bool | None = None):
        raise MissingValueError(f"the {self.benchmark} surrogate models stand-alone training; weight inheritance "
                                "needs the family's oracle")


def open_surrogate(family: str, dataset: str, space: str = "full", inner=None) -> SurrogateOracle:
    """The surrogate oracle of one dataset (``space``: 'full', the paper's whole space; 'slice',
    the shipped table's architectures only, for a like-with-like check against the table)."""
    from bench.core.outslice import spec_of

    validate.choice(space, SPACES, "surrogate space")
    spec = spec_of(family)
    if dataset not in spec.datasets:
        from bench.errors import UnknownDatasetError

        raise UnknownDatasetError(dataset, list(spec.datasets), f"for the {family} surrogate (datasets with a table)")
    s = load(family, dataset)
    inner = inner or family_oracle(family, dataset)
    if inner.recipe_key != s.recipe_key:
        raise BenchError(f"the {family}/{dataset} surrogate models recipe {s.recipe_key} (its table's); this oracle's "
                         f"recipe is {inner.recipe_key} (another protocol or recipe): no surrogate answers it")
    return SurrogateOracle(inner, s, spec.impl().full_space(dataset) if space == "full" else inner.space, spec)
