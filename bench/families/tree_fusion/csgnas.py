"""CSG-NAS, core-structures-guided multimodal fusion search (``000_62c610aae6b2430e.txt`` Sec. 3).

1. Core-structure space (Sec. 3.2): every single-feature model and every "all features
   fused by one operator" model is evaluated; the top ``k_features`` features (M1) and
   top ``k_ops`` operators (F1) span the core space. M2, F2 are the rest.
2. ENAS1 in the core space: crossover rate r1, mutation rate r2, mutation replaces a
   sub-tree by a random one from the core space. Its last population: the core structures.
3. ENAS2 around them: crossover r1/9, mutation 4*r2, mutation grows a tree by a
   sub-structure built only from M2 and F2 (``TreeFusionSpace.add_substructure``).
4. Adaptive knowledge inheritance (Sec. 3.6) in both stages: a child whose tree-edit
   similarity to its parent exceeds ``threshold`` starts from the parent's weights on the
   shared sub-trees and is fine-tuned on a shorter schedule.

Variants (the paper's ablations): ``use_core=False`` searches the whole space with the
ENAS1 operators for all generations (CSG-NAS1); ``inherit='none'`` drops inheritance
(CSG-NAS2); ``core_selection='random'`` draws M1, F1 at random (Figure 5); ``inherit``
'all', 'random', 'below' are Table 7's other conditions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

from bench.algorithms.fusion_evolution import Inheritance, evolve, initial_population
from bench.errors import InvalidArchitectureError
from bench.trained_run import TrainedRun
from bench.families.tree_fusion.space import Leaf, TreeFusionSpace, all_fused


@dataclass(frozen=True)
class CSGNASSettings:
    """All CSG-NAS settings. r1, r2 are not given numerically in the paper (0.9 and 0.1
    here, "crossover much more likely than mutation" in ENAS1); population and
    generations are scaled down from 20-28 x 8-10 to fit a 2-core machine;
    ``generations_expand=None`` runs ENAS2 until the run's budget is spent, and with it
    ``restart_on_stall`` restarts a converged ENAS2 population from new random trees (keeping its
    best) instead of ending early."""

    population: int = 10
    generations_core: int = 3
    generations_expand: int | None = 3
    k_features: int = 3
    k_ops: int = 3
    crossover_rate: float = 0.9  # r1
    mutation_rate: float = 0.1  # r2
    threshold: float = 0.5  # s
    inherit: str = "above"
    use_core: bool = True
    core_selection: str = "top"  # 'top' (ranked) or 'random' (Figure 5's controls)
    selection_seed: int | None = None  # random selection: drawn from this seed (the same for every run) if set
    restart_on_stall: bool = False

    def __post_init__(self):
        if self.core_selection not in ("top", "random"):
            raise ValueError(f"core_selection must be 'top' or 'random', got {self.core_selection!r}")
        Inheritance(self.inherit, self.threshold)  # named error for an unknown policy


PRESETS = {
    "csgnas": CSGNASSettings(),
    "csgnas-nocs": CSGNASSettings(use_core=False, inherit="none"),  # CSG-NAS1
    "csgnas-noki": CSGNASSettings(inherit="none"),  # CSG-NAS2
    "csgnas-ki-all": CSGNASSettings(inherit="all"),
    "csgnas-ki-random": CSGNASSettings(inherit="random"),
    "csgnas-ki-below": CSGNASSettings(inherit="below"),
    "csgnas-core-random": CSGNASSettings(core_selection="random"),
}


def core_space(run: TrainedRun, rng: np.random.Generator, k_features: int, k_ops: int,
               selection: str = "top") -> tuple[list[str], list[str]]:
    """(M1, F1): the top ``k_features`` features by their single-feature model and the top
    ``k_ops`` operators by their all-features model (validation accuracy; evaluated in
    this run and charged to it). ``selection='random'`` draws them instead, evaluating nothing."""
    space = run.space
    feats, ops = list(space.features), list(space.ops)
    if selection == "random":
        return ([feats[i] for i in sorted(rng.permutation(len(feats))[:k_features].tolist())],
                [ops[i] for i in sorted(rng.permutation(len(ops))[:k_ops].tolist())])
    f_score = [run.evaluate(Leaf(f)) for f in feats]
    o_score = [run.evaluate(all_fused(feats, op)) for op in ops]
    # stable: ties keep the space's order
    m1 = [feats[i] for i in sorted(np.argsort(-np.asarray(f_score), kind="stable")[:k_features].tolist())]
    f1 = [ops[i] for i in sorted(np.argsort(-np.asarray(o_score), kind="stable")[:k_ops].tolist())]
    return m1, f1


def expand_mutation(space: TreeFusionSpace, m2: list[str], f2: list[str]):
    """ENAS2's mutation: grow a tree by a sub-structure of M2 features joined by F2 operators;
    the tree is returned unchanged when nothing from M2 fits."""
    def mutate(arch, rng: np.random.Generator):
        if not m2:
            return arch
        try:
            return space.add_substructure(arch, rng, features=m2, ops=f2 or None)
        except InvalidArchitectureError:
            return arch

    return mutate


def check_space(space: TreeFusionSpace, settings: CSGNASSettings) -> None:
    """Refuse, before any work, a space the settings cannot search: ranking the operators by
    fusing all features (CSG-NAS Figure 4) needs room for every feature in one tree."""
    if settings.use_core and settings.core_selection == "top" and space.max_leaves < len(space.features):
        raise InvalidArchitectureError(
            f"CSG-NAS ranks fusion operators by fusing all {len(space.features)} features, so it needs max_leaves >= "
            f"{len(space.features)}; got max_leaves={space.max_leaves} (csgnas-nocs and csgnas-core-random do not rank)")


def csgnas(run: TrainedRun, rng: np.random.Generator, settings: CSGNASSettings | None = None) -> None:
    s = settings or CSGNASSettings()
    check_space(run.space, s)
    run.record.settings.update(asdict(s))
    space = run.space
    inherit = Inheritance(s.inherit, s.threshold)
    r1, r2 = s.crossover_rate, s.mutation_rate
    restart = (lambda n: initial_population(run, rng, n, space.sample)) if s.restart_on_stall else None
    if not s.use_core:
        population = initial_population(run, rng, s.population, space.sample)
        total = None if s.generations_expand is None else s.generations_core + s.generations_expand
        if population:
            evolve(run, rng, population, total, r1, r2, space.crossover, space.mutate, inherit, restart)
        return
    k1, k2 = min(s.k_features, len(space.features)), min(s.k_ops, len(space.ops))
    pick = rng if s.selection_seed is None else np.random.default_rng(s.selection_seed)
    m1, f1 = core_space(run, pick, k1, k2, s.core_selection)
    run.record.settings.update(core_features=m1, core_ops=f1)
    core = TreeFusionSpace(m1, f1, max_leaves=min(len(m1), space.max_leaves), repeatable=space.repeatable)
    population = initial_population(run, rng, s.population, core.sample)
    if not population:
        return
    population = evolve(run, rng, population, s.generations_core, r1, r2, core.crossover, core.mutate, inherit)
    run.record.settings.update(core_structures=[space.encode(a) for a, _ in population])
    m2 = [f for f in space.features if f not in m1]
    f2 = [o for o in space.ops if o not in f1]
    evolve(run, rng, population, s.generations_expand, r1 / 9, 4 * r2, space.crossover,
           expand_mutation(space, m2, f2), inherit, restart)


def preset(name: str, **overrides) -> CSGNASSettings:
    return replace(PRESETS[name], **overrides)
