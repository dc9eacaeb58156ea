"""KTNAS and the evolutionary multi-task baselines on the multi-task run API.

KTNAS (``004_9859b4c5803c0e34.txt``, Sec. III, Algorithms 1-4): every task evolves its
own population; each generation a transfer population TP of M architectures is drawn
from the other tasks' populations, evaluated on the target task, and used as parents
beside the task's own population. Transfer rank picks TP: architectures transferred
before are labelled positive (+1) when one of their children enters the top r% of the
next population, otherwise negative (-1); the historical transferred set (HTS) keeps
all positives and the negatives of the last m generations; each HTS member votes its
label to its nearest candidate by embedding cosine distance (Eq. 2); the M candidates
with the highest summed votes are transferred (ties broken at random, Algorithm 3).

The baselines are the same loop with another transfer policy:

- ``ktnas-random``: KTNAS without transfer rank (M random candidates);
- ``emt-nas``: candidates by their rank on their source task, and crossover between a
  parent and a transferred architecture (EMT-NAS's knowledge sharing);
- ``mtnas``: candidates by source rank, with an adaptive transfer frequency that rises
  after a generation with a positive transfer and falls otherwise.

Design choices the paper leaves open are documented in :class:`KTNASSettings`.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import asdict, dataclass, replace

import numpy as np

from bench.algorithms.regularized_evolution import sample_distinct
from bench.families.cells.embeddings import cosine_distance, get_embedding  # noqa: F401 (cosine_distance re-exported)
from bench.multitask import MultiTaskRun
from bench.run import Run


@dataclass(frozen=True)
class KTNASSettings:
    """All settings in one place. Defaults: KTNAS Table I, NAS-Bench-201 column.

    population_size K=10, tournament size 5, mutation probability 1, no crossover,
    ranking ratio r=20%, saved generations m=5, transferred individuals M=4.
    ``offspring`` per generation defaults to K. An offspring that the task has already
    evaluated is redrawn (up to ``max_redraws`` times, then a random unseen cell), so
    that an elitist top-K population cannot stall on repeats.
    """

    population_size: int = 10
    tournament_size: int = 5
    mutation_prob: float = 1.0
    crossover_prob: float = 0.0
    ranking_ratio: float = 0.2
    saved_generations: int = 5
    transferred: int = 4
    transfer: str = "rank"  # 'rank' | 'random' | 'source_rank' | 'none'
    embedding: str = "node2vec"
    adaptive_frequency: bool = False
    frequency_start: float = 0.5
    frequency_step: float = 0.1
    frequency_min: float = 0.1
    offspring: int | None = None
    max_redraws: int = 20
    max_generations: int = 100_000

    def __post_init__(self):
        if self.transfer not in ("rank", "random", "source_rank", "none"):
            raise ValueError(f"transfer must be 'rank', 'random', 'source_rank' or 'none', got {self.transfer!r}")
        if not 1 <= self.tournament_size <= self.population_size:
            raise ValueError("tournament_size must be in 1..population_size")
        if not 0 < self.ranking_ratio <= 1:
            raise ValueError("ranking_ratio must be in (0, 1]")


PRESETS: dict[str, KTNASSettings] = {
    "ktnas": KTNASSettings(),
    "ktnas-random": KTNASSettings(transfer="random"),
    "emt-nas": KTNASSettings(transfer="source_rank", crossover_prob=0.3),
    "mtnas": KTNASSettings(transfer="source_rank", adaptive_frequency=True),
}


@dataclass
class _Member:
    arch: object
    key: str
    fitness: float  # oriented: larger is better
    origin: str = "own"  # 'own' | 'transfer' | 'offspring'
    parent: str | None = None


class _Task:
    def __init__(self, name: str, run: Run, s: KTNASSettings):
        self.name = name
        self.run = run
        self.sign = 1.0 if run.record.direction == "max" else -1.0
        self.population: list[_Member] = []
        self.positives: list[str] = []
        self.negatives: deque[list[str]] = deque(maxlen=s.saved_generations)
        self.frequency = s.frequency_start

    def fitness(self, arch) -> float | None:
        """Oriented fitness on this task, or None once the task's run is finished."""
        run = self.run
        if run.done and not run.seen(arch):
            return None
        v = run.evaluate(arch)
        return -math.inf if v != v else self.sign * v

    def hts(self) -> list[tuple[str, int]]:
        """Algorithm 1: positives of every generation, negatives of the last m."""
        return [(k, 1) for k in self.positives] + [(k, -1) for gen in self.negatives for k in gen]


def ktnas(mrun: MultiTaskRun, rng: np.random.Generator, settings: KTNASSettings | None = None) -> None:
    """Run KTNAS (or a baseline, by settings) until every task's run is done."""
    s = settings or KTNASSettings()
    space = mrun.space
    tasks = [_Task(n, r, s) for n, r in mrun.runs.items()]
    emb = None
    if s.transfer == "rank":
        emb = get_embedding(s.embedding).vectors(space)
    top_n = max(1, math.ceil(s.ranking_ratio * s.population_size))
    n_off = s.offspring or s.population_size

    # generation 0 (Algorithm 4, lines 1-6): random populations, random transfer
    for t in tasks:
        for _ in range(s.population_size):
            arch = space.sample(rng)
            f = t.fitness(arch)
            if f is None:
                break
            t.population.append(_Member(arch, space.encode(arch), f))
    for t in tasks:
        tp = _transfer(t, tasks, s, rng, emb, space, first=True)
        _evaluate_transfer(t, tp)
        tp = [m for m in tp if m.fitness is not None]
        t.population = _top_k(t.population + tp, s.population_size)
        # generation 0 has no offspring, so no transfer rank; every trace has one entry per generation
        _trace_generation(mrun, t, None, len(tp))

    for gen in range(1, s.max_generations):
        if mrun.done:
            break
        for t in tasks:
            if t.run.done:  # a finished task keeps its last best value; it transfers nothing
                _trace_generation(mrun, t, None, 0)
                continue
            transfer_now = s.transfer != "none" and (not s.adaptive_frequency or rng.random() < t.frequency)
            tp = _transfer(t, tasks, s, rng, emb, space) if transfer_now else []
            _evaluate_transfer(t, tp)
            tp = [m for m in tp if m.fitness is not None]
            pool = t.population + tp
            offspring = []
            for _ in range(n_off):
                child = _make_child(t, pool, tp, s, rng, space)
                if child is None:
                    break
                offspring.append(child)
            z = _top_k(pool + offspring, s.population_size)
            top_keys = {m.key for m in z[:top_n]}
            good = {m.parent for m in offspring if m.key in top_keys}
            pos = [m.key for m in tp if m.key in good]
            neg = [m.key for m in tp if m.key not in good]
            t.positives.extend(pos)
            t.negatives.append(neg)
            if s.adaptive_frequency and transfer_now:
                step = s.frequency_step if pos else -s.frequency_step
                t.frequency = min(1.0, max(s.frequency_min, t.frequency + step))
            rank = None  # a generation without transfer (MTNAS's adaptive frequency) has no rank
            if tp:
                ranked = [m.key for m in sorted(pool + offspring, key=lambda m: -m.fitness)]
                rank = float(np.mean([ranked.index(m.key) + 1 for m in tp]))
            t.population = z
            _trace_generation(mrun, t, rank, len(tp))


def _trace_generation(mrun: MultiTaskRun, t: "_Task", rank: float | None, n_transferred: int) -> None:
    """One entry per generation and task: ``best`` (the population's best value), ``transfer_rank``
    (mean rank, 1 = best, of the transferred cells among parents, transferred cells and offspring;
    None without transfer) and ``n_transferred``; list index = generation. None, not NaN, so that
    saved records stay strict JSON."""
    best = t.population[0].fitness if t.population else -math.inf
    mrun.trace("best", t.name, t.sign * best if math.isfinite(best) else None)
    mrun.trace("transfer_rank", t.name, rank)
    mrun.trace("n_transferred", t.name, n_transferred)


def _top_k(members: list[_Member], k: int) -> list[_Member]:
    seen, out = set(), []
    for m in sorted(members, key=lambda m: -m.fitness):  # stable: earlier members win ties
        if m.key not in seen:
            seen.add(m.key)
            out.append(m)
        if len(out) == k:
            break
    return out


def _evaluate_transfer(t: _Task, tp: list[_Member]) -> None:
    for m in tp:
        m.fitness = t.fitness(m.arch)


def _candidates(t: _Task, tasks: list[_Task]) -> list[tuple[_Member, _Task]]:
    own = {m.key for m in t.population}
    out, seen = [], set()
    for o in tasks:
        if o is t:
            continue
        for m in o.population:
            if m.key not in own and m.key not in seen:
                seen.add(m.key)
                out.append((m, o))
    return out


def _transfer(t: _Task, tasks: list[_Task], s: KTNASSettings, rng, emb, space, first: bool = False) -> list[_Member]:
    """Algorithms 2-3 (or the baseline's policy): M members of other tasks' populations."""
    cands = _candidates(t, tasks)
    if not cands:
        return []
    M = min(s.transferred, len(cands))
    if first or s.transfer == "random":
        idx = sample_distinct(len(cands), M, rng)
    elif s.transfer == "source_rank":
        order = sorted(range(len(cands)), key=lambda i: -cands[i][0].fitness)  # rank on its own task
        idx = order[:M]
    else:  # transfer rank
        hts = t.hts()
        hts_vecs = emb[[space.index(k) for k, _ in hts]] if hts else np.zeros((0, emb.shape[1]))
        phi = transfer_rank(hts_vecs, [label for _, label in hts], emb[[space.index(m.key) for m, _ in cands]])
        idx = select_transferred(phi, M, rng)
    return [_Member(cands[i][0].arch, cands[i][0].key, math.nan, "transfer") for i in idx]


def transfer_rank(hts_vectors: np.ndarray, labels, candidate_vectors: np.ndarray) -> np.ndarray:
    """Algorithm 2: each HTS member adds its label (+1/-1) to its nearest candidate (Eq. 2 distance)."""
    phi = np.zeros(len(candidate_vectors))
    if len(hts_vectors):
        nearest = cosine_distance(hts_vectors, candidate_vectors).argmin(axis=1)
        np.add.at(phi, nearest, np.asarray(labels, dtype=float))
    return phi


def select_transferred(phi: np.ndarray, M: int, rng) -> list[int]:
    """Algorithm 3: whole groups of equal rank in descending order, the last group sampled."""
    chosen: list[int] = []
    for value in sorted(set(phi.tolist()), reverse=True):
        group = [i for i in range(len(phi)) if phi[i] == value]
        room = M - len(chosen)
        if len(group) <= room:
            chosen.extend(group)
        else:
            chosen.extend(group[i] for i in sample_distinct(len(group), room, rng))
        if len(chosen) == M:
            break
    return chosen


def _make_child(t: _Task, pool: list[_Member], tp: list[_Member], s: KTNASSettings, rng, space) -> _Member | None:
    """Tournament selection, optional crossover with a transferred member, mutation."""
    for _ in range(s.max_redraws):
        idx = sample_distinct(len(pool), min(s.tournament_size, len(pool)), rng)
        parent = max((pool[i] for i in idx), key=lambda m: m.fitness)
        arch = parent.arch
        if tp and s.crossover_prob > 0 and rng.random() < s.crossover_prob:
            mate = tp[int(rng.integers(len(tp)))]
            arch = space.crossover(arch, mate.arch, rng)
        if rng.random() < s.mutation_prob:
            arch = space.mutate(arch, rng)
        if not t.run.seen(arch):
            break
    else:
        arch = space.sample(rng)
        while t.run.seen(arch) and not t.run.done:
            arch = space.sample(rng)
    f = t.fitness(arch)
    if f is None:
        return None
    return _Member(arch, space.encode(arch), f, "offspring", parent.key)


def multitask_algorithms() -> dict:
    """Every preset as ``fn(mrun, rng)``, the form :attr:`bench.core.family.Family.multitask_algorithms` lists."""
    def bind(name: str, s: KTNASSettings):
        def run(mrun: MultiTaskRun, rng: np.random.Generator) -> None:
            ktnas(mrun, rng, s)

        run.__name__ = run.__qualname__ = name
        run.settings = s  # recorded beside the runs that use it
        return run

    return {name: bind(name, s) for name, s in PRESETS.items()}


def preset(name: str, **overrides) -> KTNASSettings:
    return replace(PRESETS[name], **overrides)


def settings_dict(s: KTNASSettings) -> dict:
    return asdict(s)
