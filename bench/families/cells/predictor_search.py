"""Single-task predictor-guided and zero-cost-guided searches over the 6-edge cell spaces:
the baselines of KTNAS Table II (``004_9859b4c5803c0e34.txt``) that are not evolution.

* ``gcn`` (Wen et al., ECCV 2020, KTNAS ref. [36]): a graph convolutional predictor on each
  cell's DAG, trained on the evaluated cells; each round scores a random pool of unevaluated
  cells and evaluates the top-predicted ones.
* ``lanas`` (Wang et al., TPAMI 2021, ref. [38]): learned space partitioning. A tree of linear
  classifiers splits each node's cells into a good and a bad region; UCB descends the tree to
  a leaf, and the next cell is drawn uniformly from the leaf's region.
* ``weaknas`` (Wu et al., NeurIPS 2021, ref. [39]): progressive weak predictors. A small MLP
  is fitted to the evaluated cells, the next cells are drawn from its top-predicted region,
  and it is refitted.
* ``zero`` (Abdelfattah et al., ICLR 2021, ref. [37]): zero-cost warm-up of aging evolution.
  The cells that carry zero-cost proxies in the table (NASLib's sample: ~725 cells per NB201
  dataset, all 711 cells of the TransNAS sample) are ranked by a proxy, the top ones are evaluated as REA's first population, and REA
  continues. Proxies are read from the table, not counted as evaluations (they cost no
  training, which is the method's premise).

KTNAS gives none of these algorithms' settings; ours are the dataclass defaults below, chosen
before any run and documented there. Every search enumerates the space through precomputed
encodings of all its cells (:func:`cell_table`: 15,625 for NB201), so a round scores its
candidates in one batched call. Predictors train in torch on one thread under the suite's pinned
numerics (:func:`bench.core.torchutil.pinned_numerics`), seeded from the run's generator, so
the same seed gives the same trace bit for bit. Evaluations are counted by the run, as for
``rs`` and ``rea``: distinct cells queried.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import asdict, dataclass

import numpy as np

from bench.errors import BenchError
from bench.run import Run


class PredictorSearchError(BenchError, ValueError):
    """A setting or a space these searches cannot use."""


def _check_positive(s, *, ints=(), floats=(), nonneg=()) -> None:
    for name in ints:
        v = getattr(s, name)
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise PredictorSearchError(f"{type(s).__name__}.{name} must be an integer >= 1, got {v!r}")
    for name in floats:
        v = getattr(s, name)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not (v > 0 and math.isfinite(v)):
            raise PredictorSearchError(f"{type(s).__name__}.{name} must be a finite number > 0, got {v!r}")
    for name in nonneg:
        v = getattr(s, name)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not (v >= 0 and math.isfinite(v)):
            raise PredictorSearchError(f"{type(s).__name__}.{name} must be a finite number >= 0, got {v!r}")


def _check_bool(s, name: str) -> None:
    if not isinstance(getattr(s, name), bool):
        raise PredictorSearchError(f"{type(s).__name__}.{name} must be true or false, got {getattr(s, name)!r}")


@dataclass(frozen=True)
class _FitSettings:
    """How a predictor is (re)fitted each round: ``epochs`` full-batch Adam steps at first, then
    ``refit_epochs`` more from the last weights when ``warm_start`` (else ``epochs`` from scratch)."""

    epochs: int = 100
    refit_epochs: int = 10
    warm_start: bool = True
    lr: float = 1e-2
    weight_decay: float = 1e-4

    def _check_fit(self) -> None:
        _check_positive(self, ints=("epochs", "refit_epochs"), floats=("lr",), nonneg=("weight_decay",))
        _check_bool(self, "warm_start")


@dataclass(frozen=True)
class GCNSettings(_FitSettings):
    """GCN-predictor search. ``initial`` random cells, then rounds: train the predictor on every
    evaluated cell, score ``pool`` random unevaluated cells, evaluate the ``batch`` best.

    Predictor after Wen et al.: cell as an 8-node DAG (input, one node per edge op, output),
    ``layers`` bidirectional graph-convolution layers of ``hidden`` units, mean over nodes,
    a linear output; MSE on standardised values, Adam, full batch, ``epochs`` steps.
    """

    initial: int = 10
    batch: int = 10
    pool: int = 1000
    hidden: int = 32
    layers: int = 3

    def __post_init__(self):
        _check_positive(self, ints=("initial", "batch", "pool", "hidden", "layers"))
        self._check_fit()


@dataclass(frozen=True)
class LaNASSettings:
    """LaNAS-style partitioning. ``initial`` random cells; then, per evaluation, the tree is
    relearned on every evaluated cell: a node with at least ``2 * leaf_size`` cells and depth
    below ``height - 1`` splits them by a linear classifier (least squares with ridge ``ridge``
    on the one-hot edge ops, labels: at or above the node's median value = good). UCB with
    constant ``cp`` on min-max-normalised values picks the path; the cell is drawn uniformly
    from the leaf region's unevaluated cells (exact: the space is enumerated)."""

    initial: int = 10
    height: int = 5
    leaf_size: int = 5
    cp: float = 0.1
    ridge: float = 1e-3

    def __post_init__(self):
        _check_positive(self, ints=("initial", "height", "leaf_size"), floats=("ridge",), nonneg=("cp",))


@dataclass(frozen=True)
class WeakNASSettings(_FitSettings):
    """Progressive weak predictors. ``initial`` random cells, then rounds: fit an MLP (one-hot
    edge ops, two hidden layers of ``hidden`` units, MSE on standardised values, Adam, full batch,
    ``epochs`` steps) to every evaluated cell, predict every unevaluated cell, and evaluate
    ``batch`` cells drawn uniformly from the ``top`` best-predicted."""

    initial: int = 10
    batch: int = 10
    top: int = 100
    hidden: int = 64

    def __post_init__(self):
        _check_positive(self, ints=("initial", "batch", "top", "hidden"))
        self._check_fit()
        if self.batch > self.top:
            raise PredictorSearchError(f"WeakNASSettings.batch ({self.batch}) must be <= top ({self.top})")


@dataclass(frozen=True)
class ZeroSettings:
    """Zero-cost warm-up, then aging evolution (KTNAS Table I's REA: population 10, tournament 5).

    ``proxy`` names the table's ``zc_<proxy>`` metric. Default ``jacov``: synflow, the best
    NB201 proxy in Abdelfattah et al., is not among the shipped proxies; jacob_cov (``jacov``)
    is the next best they report on NB201. The chosen proxy was fixed before any search ran.
    """

    proxy: str = "jacov"
    population_size: int = 10
    sample_size: int = 5

    def __post_init__(self):
        _check_positive(self, ints=("population_size", "sample_size"))
        if not 1 <= self.sample_size <= self.population_size:
            raise PredictorSearchError(f"ZeroSettings.sample_size must be in 1..population_size "
                                       f"({self.population_size}), got {self.sample_size}")
        if not isinstance(self.proxy, str) or not self.proxy:
            raise PredictorSearchError(f"ZeroSettings.proxy must name a zero-cost proxy, got {self.proxy!r}")


# ---- encodings of every cell of a space ---------------------------------------------------------

@dataclass(frozen=True)
class CellTable:
    """Every cell of a space in index order: op index per edge, one-hot ops, and the GCN graph.

    ``nodes``: [N, 8, n_ops + 2] node features (input, 6 edge-op nodes, output). ``base``
    [8, 8] is the DAG every cell shares: the input feeds the op nodes of edges leaving node 0,
    an op node feeds the op nodes of edges leaving its target node, op nodes of edges into
    node 3 feed the output. An edge whose op is ``none`` carries nothing, so its op node is
    cut: a cell's adjacency is ``A = base * m m^T`` with ``m`` its live nodes. ``adj`` [N, 8, 16]
    is ``[D_f^-1 (A + I) | D_b^-1 (A^T + I)] / 2`` (row-normalised, both directions side by side),
    so one batched product propagates both ways.
    """

    ops: np.ndarray
    onehot: np.ndarray
    nodes: np.ndarray
    adj: np.ndarray
    n_ops: int


_TABLES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def cell_table(space) -> CellTable:
    """Encodings of every cell of ``space`` (cached per space object); a clear error for a space
    that is not an enumerable 6-edge cell space."""
    try:
        return _TABLES[space]
    except (KeyError, TypeError):
        pass
    edges, ops_names = getattr(space, "edges", None), getattr(space, "ops", None)
    if not getattr(space, "indexable", False) or not edges or not ops_names or not hasattr(space, "op_indices"):
        raise PredictorSearchError(
            f"predictor searches need an enumerable cell space (NB201, TransNAS micro), got {type(space).__name__}")
    n = space.size
    k = len(ops_names)
    ops = np.array([space.op_indices(space.from_index(i)) for i in range(n)], dtype=np.int64).reshape(n, len(edges))
    e_count = len(edges)
    onehot = np.zeros((n, e_count * k), dtype=np.float32)
    onehot[np.arange(n)[:, None], np.arange(e_count) * k + ops] = 1.0
    # graph: node 0 input, 1..E op nodes, E+1 output
    n_nodes = e_count + 2
    out_node = max(dst for dst, _ in edges)
    base = np.zeros((n_nodes, n_nodes), dtype=np.float32)
    for e, (dst, src) in enumerate(edges):
        if src == 0:
            base[0, e + 1] = 1
        if dst == out_node:
            base[e + 1, n_nodes - 1] = 1
        for f, (_, src_f) in enumerate(edges):
            if src_f == dst:
                base[e + 1, f + 1] = 1
    none = ops_names.index("none") if "none" in ops_names else -1
    alive = np.ones((n, n_nodes), dtype=np.float32)
    alive[:, 1:-1] = (ops != none)
    adj = base[None] * alive[:, :, None] * alive[:, None, :]
    eye = np.eye(n_nodes, dtype=np.float32)[None]
    fwd, bwd = adj + eye, adj.transpose(0, 2, 1) + eye
    both = np.concatenate([fwd / fwd.sum(axis=2, keepdims=True), bwd / bwd.sum(axis=2, keepdims=True)], axis=2) / 2
    nodes = np.zeros((n, n_nodes, k + 2), dtype=np.float32)
    nodes[:, 0, k] = 1  # input
    nodes[:, -1, k + 1] = 1  # output
    nodes[np.arange(n)[:, None], np.arange(1, e_count + 1)[None], ops] = 1
    table = CellTable(ops, onehot, nodes, both.astype(np.float32), k)
    try:
        _TABLES[space] = table
    except TypeError:
        pass  # an unhashable space: no cache
    return table


# ---- predictors (torch, one thread, pinned numerics) --------------------------------------------

def _standardise(y: np.ndarray) -> np.ndarray:
    sd = y.std()
    return (y - y.mean()) / (sd if sd > 0 else 1.0)


class _Predictor:
    """A torch predictor (``gcn`` or ``mlp``) over a :class:`CellTable`, refitted each round.

    The first :meth:`fit` trains ``s.epochs`` Adam steps from a seeded initialisation; later
    fits continue from the previous weights for ``s.refit_epochs`` steps (``warm_start``;
    otherwise every fit starts afresh with ``s.epochs``): a GCN fit from scratch every round
    made a search cost tens of seconds. Runs on one thread under the pinned numerics.
    """

    def __init__(self, kind: str, table: CellTable, s, seed: int):
        import torch

        if kind not in ("gcn", "mlp"):
            raise PredictorSearchError(f"unknown predictor {kind!r}; choose 'gcn' or 'mlp'")
        self.kind, self.table, self.s = kind, table, s
        self.gen = torch.Generator().manual_seed(seed)
        self.params: list | None = None
        if kind == "gcn":
            self.data = [torch.from_numpy(table.nodes), torch.from_numpy(table.adj)]
        else:
            self.data = [torch.from_numpy(table.onehot)]

    def _linear(self, n_in: int, n_out: int) -> list:
        import torch

        # uniform(-1/sqrt(n_in), 1/sqrt(n_in)) as torch's default layers, from our own generator
        bound = 1.0 / math.sqrt(n_in)
        return [((torch.rand(n_in, n_out, generator=self.gen) * 2 - 1) * bound).requires_grad_(),
                ((torch.rand(n_out, generator=self.gen) * 2 - 1) * bound).requires_grad_()]

    def _init(self) -> None:
        import torch

        s = self.s
        if self.kind == "gcn":
            dims = [self.table.nodes.shape[2]] + [s.hidden] * s.layers
            self.params = []
            for a, b in zip(dims[:-1], dims[1:]):
                w_fwd, bias = self._linear(a, b)
                w_bwd = self._linear(a, b)[0]
                self.params += [torch.cat([w_fwd, w_bwd], dim=1).detach().requires_grad_(), bias]
            self.params += self._linear(s.hidden, 1)
        else:
            n_in = self.table.onehot.shape[1]
            self.params = self._linear(n_in, s.hidden) + self._linear(s.hidden, s.hidden) + self._linear(s.hidden, 1)

    def _inputs(self, idx: np.ndarray) -> list:
        import torch

        t = torch.from_numpy(np.asarray(idx, dtype=np.int64))
        return [d[t] for d in self.data]

    def _forward(self, x: list):
        import torch

        p = self.params
        if self.kind == "gcn":
            # H' = relu([A_f | A_b] @ [H W_f ; H W_b] + b): both directions in one batched product
            h, adj = x
            for j in range(0, len(p) - 2, 2):
                hw = h @ p[j]
                half = hw.shape[2] // 2
                h = torch.relu(torch.bmm(adj, torch.cat([hw[..., :half], hw[..., half:]], dim=1)) + p[j + 1])
            h = h.mean(dim=1)
        else:
            h = x[0]
            for j in range(0, len(p) - 2, 2):
                h = torch.relu(h @ p[j] + p[j + 1])
        return (h @ p[-2] + p[-1]).squeeze(1)

    def fit_predict(self, train: np.ndarray, y: np.ndarray, predict: np.ndarray) -> np.ndarray:
        """Fit to cells ``train`` with values ``y`` (larger is better); predictions for ``predict``."""
        from bench.core.torchutil import pinned_numerics

        return pinned_numerics(self._fit_predict)(train, y, predict)

    def _fit_predict(self, train, y, predict):
        import torch

        s = self.s
        epochs = s.epochs
        if self.params is None or not s.warm_start:
            self._init()
        else:
            epochs = s.refit_epochs
        x = self._inputs(train)
        target = torch.from_numpy(_standardise(np.asarray(y, dtype=np.float64)).astype(np.float32))
        opt = torch.optim.Adam(self.params, lr=s.lr, weight_decay=s.weight_decay)
        for _ in range(epochs):
            opt.zero_grad()
            loss = torch.mean((self._forward(x) - target) ** 2)
            loss.backward()
            opt.step()
        with torch.no_grad():
            return self._forward(self._inputs(predict)).numpy().astype(np.float64)


# ---- the searches ---------------------------------------------------------------------------

class _Evaluated:
    """The cells a search evaluated, by index, with oriented values (larger is better)."""

    def __init__(self, run: Run, table: CellTable):
        self.run, self.space = run, run.space
        self.sign = 1.0 if run.record.direction == "max" else -1.0
        self.free = np.ones(len(table.ops), dtype=bool)
        self.idx: list[int] = []
        self.val: list[float] = []
        self.pos: dict[int, int] = {}

    def evaluate(self, i: int) -> None:
        v = self.run.evaluate(self.space.from_index(int(i)))
        self.free[i] = False
        self.pos[int(i)] = len(self.idx)
        self.idx.append(int(i))
        self.val.append(self.sign * v if v == v else math.nan)

    def values(self) -> np.ndarray:
        """Oriented values; a cell without a value (NaN) counts as the worst seen."""
        y = np.array(self.val, dtype=np.float64)
        bad = np.isnan(y)
        if bad.any():
            y[bad] = np.nanmin(y) if (~bad).any() else 0.0
        return y

    def random(self, count: int, rng: np.random.Generator) -> None:
        free = np.flatnonzero(self.free)
        for i in rng.permutation(free)[:count]:
            if self.run.done:
                return
            self.evaluate(int(i))


def _start(run: Run, s) -> tuple[CellTable, _Evaluated]:
    table = cell_table(run.space)
    run.record.settings.update(asdict(s))
    return table, _Evaluated(run, table)


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(2**62))


def _predictor_rounds(run: Run, rng: np.random.Generator, s, kind: str, pick) -> None:
    """The loop GCN and WeakNAS share: ``s.initial`` random cells, then rounds that refit the
    predictor on every evaluated cell and evaluate the cells ``pick(free, predict)`` returns
    (``predict(candidates)`` gives the refitted predictor's values) until the run is done."""
    table, ev = _start(run, s)
    model = _Predictor(kind, table, s, _seed(rng))
    ev.random(s.initial, rng)
    while not run.done:
        free = np.flatnonzero(ev.free)
        for i in pick(free, lambda candidates: model.fit_predict(np.array(ev.idx), ev.values(), candidates)):
            if run.done:
                return
            ev.evaluate(int(i))


def gcn_search(run: Run, rng: np.random.Generator, settings: GCNSettings | None = None) -> None:
    """GCN-predictor-guided search (see :class:`GCNSettings`)."""
    s = settings or GCNSettings()

    def pick(free, predict):
        pool = free if len(free) <= s.pool else np.sort(rng.choice(free, size=s.pool, replace=False))
        return pool[np.argsort(-predict(pool), kind="stable")[:s.batch]]

    _predictor_rounds(run, rng, s, "gcn", pick)


def weaknas_search(run: Run, rng: np.random.Generator, settings: WeakNASSettings | None = None) -> None:
    """WeakNAS-style search with progressively refitted weak predictors (see :class:`WeakNASSettings`)."""
    s = settings or WeakNASSettings()

    def pick(free, predict):
        top = free[np.argsort(-predict(free), kind="stable")[:s.top]]
        return rng.choice(top, size=min(s.batch, len(top)), replace=False)

    _predictor_rounds(run, rng, s, "mlp", pick)


def _ridge_classifier(x: np.ndarray, labels: np.ndarray, ridge: float) -> np.ndarray:
    """Least-squares linear classifier: weights (one per one-hot feature) then the bias."""
    from bench.core.torchutil import pinned_numerics

    @pinned_numerics
    def solve():
        import torch

        a = torch.from_numpy(np.hstack([x, np.ones((len(x), 1))]).astype(np.float64))
        reg = ridge * torch.eye(a.shape[1], dtype=torch.float64)
        return torch.linalg.solve(a.T @ a + reg, a.T @ torch.from_numpy(labels.astype(np.float64))).numpy()

    return solve()


def _scores(table: CellTable, w: np.ndarray, cells: np.ndarray | slice = slice(None)) -> np.ndarray:
    """Linear score of cells from one-hot weights, summed edge by edge in a fixed order (no BLAS,
    so a cell on the boundary is classified the same on every machine)."""
    ops = table.ops[cells]
    k = table.n_ops
    out = np.full(len(ops), w[-1])
    for e in range(ops.shape[1]):
        out = out + w[e * k + ops[:, e]]
    return out


class _Node:
    __slots__ = ("samples", "w", "children")

    def __init__(self, samples: np.ndarray):
        self.samples = samples  # positions into the evaluated list
        self.w: np.ndarray | None = None
        self.children: tuple[_Node, _Node] | None = None


def _grow(node: _Node, depth: int, table: CellTable, cells: np.ndarray, y: np.ndarray, s: LaNASSettings) -> None:
    idx = node.samples
    if depth >= s.height - 1 or len(idx) < 2 * s.leaf_size:
        return
    vals = y[idx]
    labels = np.where(vals >= np.median(vals), 1.0, -1.0)
    if (labels > 0).all():
        return  # every cell ties: nothing to split
    w = _ridge_classifier(table.onehot[cells[idx]], labels, s.ridge)
    good = _scores(table, w, cells[idx]) >= 0
    if good.all() or not good.any():
        return
    node.w = w
    node.children = (_Node(idx[good]), _Node(idx[~good]))
    for child in node.children:
        _grow(child, depth + 1, table, cells, y, s)


def lanas_search(run: Run, rng: np.random.Generator, settings: LaNASSettings | None = None) -> None:
    """LaNAS-style learned space partitioning with UCB over leaves (see :class:`LaNASSettings`)."""
    s = settings or LaNASSettings()
    table, ev = _start(run, s)
    ev.random(s.initial, rng)
    while not run.done:
        cells = np.array(ev.idx)
        y = ev.values()
        lo, hi = y.min(), y.max()
        norm = (y - lo) / (hi - lo) if hi > lo else np.zeros_like(y)
        root = _Node(np.arange(len(cells)))
        _grow(root, 0, table, cells, y, s)
        node, region = root, ev.free
        while node.children is not None:
            side = _scores(table, node.w) >= 0
            best, pick = -math.inf, None
            for child, part in zip(node.children, (side, ~side)):
                r = region & part
                if not r.any():
                    continue  # every cell of this region is evaluated
                ucb = norm[child.samples].mean() + s.cp * math.sqrt(2 * math.log(len(node.samples)) / len(child.samples))
                if ucb > best:
                    best, pick = ucb, (child, r)
            node, region = pick
        free = np.flatnonzero(region)
        ev.evaluate(int(free[int(rng.integers(len(free)))]))


def zero_search(run: Run, rng: np.random.Generator, settings: ZeroSettings | None = None) -> None:
    """Zero-cost warm-up, then aging evolution (see :class:`ZeroSettings`).

    The proxy is read from the run's table for the cells that have it (the NASLib sample on
    NB201); those cells are ranked by it (ties: lower index first) and the top
    ``population_size`` form REA's first population.
    """
    from collections import deque

    from bench.algorithms.regularized_evolution import sample_distinct

    s = settings or ZeroSettings()
    table, ev = _start(run, s)
    metric = f"zc_{s.proxy}"
    oracle = run.oracle
    if metric not in oracle.metrics:
        known = sorted(m[3:] for m in oracle.metrics if m.startswith("zc_") and not m.endswith("_seconds"))
        raise PredictorSearchError(
            f"zero: {oracle.benchmark}/{oracle.dataset} has no zero-cost proxy {s.proxy!r}"
            + (f"; proxies in this table: {', '.join(known)}" if known else "; this table has no zero-cost proxies"))
    proxy = oracle.query_many(np.arange(oracle.n_arch), metric, on_missing="nan")
    if oracle.metric_info(metric).direction == "min":
        proxy = -proxy
    have = np.flatnonzero(~np.isnan(proxy))
    rows = np.array([run.space.index(oracle.arch(int(r))) for r in have], dtype=np.int64)
    ranked = rows[np.lexsort((rows, -proxy[have]))]  # best proxy first, ties by lower index
    run.record.settings["zero_cost_pool"] = int(len(rows))

    def score(i: int) -> float:
        # REA's rule: a missing value ranks last; a seen cell is answered from the run's memory
        if ev.free[i]:
            ev.evaluate(i)
        else:
            run.evaluate(run.space.from_index(i))
        v = ev.val[ev.pos[i]]
        return v if v == v else -math.inf

    population: deque = deque()
    for i in ranked[:s.population_size]:
        if run.done:
            return
        population.append((int(i), score(int(i))))
    while not run.done:
        idx = (sample_distinct(len(population), s.sample_size, rng) if len(population) >= s.sample_size
               else list(range(len(population))))
        parent = max((population[i] for i in idx), key=lambda p: p[1])
        child = run.space.index(run.space.mutate(run.space.from_index(parent[0]), rng))
        population.append((child, score(child)))
        population.popleft()


#: the cell family's own single-task algorithms, by name
ALGORITHMS = {"gcn": gcn_search, "lanas": lanas_search, "weaknas": weaknas_search, "zero": zero_search}
SETTINGS = {"gcn": GCNSettings, "lanas": LaNASSettings, "weaknas": WeakNASSettings, "zero": ZeroSettings}
