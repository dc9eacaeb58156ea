"""The statistic behind every comparison the suite prints (issue #24: claims follow statistics).

A sentence that says one method, setting or architecture is better or worse than another carries
the test it rests on, its p-value, an effect size and the number of seeds (or runs) on each side;
where p >= :data:`ALPHA` it says ``inconclusive at N seeds`` and claims no direction.
:func:`compare_text` writes such a sentence::

    A better than B: Mann-Whitney p = 0.012, difference of means +1.30 (95% bootstrap CI +0.40..+2.10),
    Cliff's delta +0.62, n = 20 vs 20 seeds
    A vs B: inconclusive at 3 seeds (Mann-Whitney p = 0.4, difference of means +0.80 (95% bootstrap CI
    -1.20..+2.10), Cliff's delta +0.33, n = 3 vs 3 seeds)

Independent samples (one value per seed on each side) are tested with the two-sided Mann-Whitney U
test (:func:`bench.trained_report.mann_whitney`), effect size Cliff's delta
(:func:`bench.trained_report.cliffs_delta`); paired samples (the same seeds, searches or settings on
both sides) with the two-sided Wilcoxon signed-rank test, effect size the matched-pairs
rank-biserial correlation. Both give the difference of means (a - b) with a 95% percentile
bootstrap CI (:data:`BOOTSTRAP` resamples, generator seeded with :data:`BOOTSTRAP_SEED`, so the
text is the same on every run and machine). With 3 against 3 seeds a two-sided Mann-Whitney p
cannot go below 0.1, and a Wilcoxon p over 3 pairs not below 0.25: such comparisons are
inconclusive whatever the means. With fewer than :data:`MIN_N` values on a side (one seed) no
test is run at all: the p-value is NaN and the sentence carries :func:`too_few_text` (``1 seed: no
test can separate algorithms; use --seeds >= 5``) where a p-value of 1 would look like a result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

ALPHA = 0.05
BOOTSTRAP = 10_000
BOOTSTRAP_SEED = 0
#: the fewest values per side (pairs, paired) a test is run on; below it p, effect and CI are NaN
MIN_N = 2
#: the seeds :func:`too_few_text` recommends: 5 vs 5 is the fewest a two-sided Mann-Whitney test
#: separates with room (p >= 0.1 at 3 vs 3, >= 0.029 at 4 vs 4, >= 0.008 at 5 vs 5)
ADVISED_SEEDS = 5


def too_few_text(n: int, unit: str = "seeds") -> str:
    """What a comparison of ``n`` < :data:`MIN_N` values per side says instead of a p-value:
    ``1 seed: no test can separate algorithms; use --seeds >= 5``."""
    one = unit[:-1] if n == 1 and unit.endswith("s") else unit
    return f"{n} {one}: no test can separate algorithms; use --seeds >= {ADVISED_SEEDS}"


@dataclass(frozen=True)
class Comparison:
    """``a`` against ``b``: the test, its two-sided p (NaN where the values leave nothing to test),
    the difference of means a - b with its bootstrap CI, the effect size (signed: positive where
    ``a``'s values are larger), the counts and whether larger values are better."""

    test: str
    p: float
    diff: float
    ci: tuple[float, float]
    effect_name: str
    effect: float
    n_a: int
    n_b: int
    higher_is_better: bool
    alpha: float = ALPHA

    @property
    def too_few(self) -> bool:
        """Fewer than :data:`MIN_N` values (pairs) on a side: nothing was tested."""
        return min(self.n_a, self.n_b) < MIN_N

    @property
    def verdict(self) -> str:
        """``better`` or ``worse`` (for ``a``) where p < alpha, else ``inconclusive``. The direction
        is the rank effect's (what the test tests; with a heavy tail the means can disagree), the
        difference of means' where the effect is 0 or undefined."""
        lean = self.effect if self.effect == self.effect and self.effect != 0 else self.diff
        if not self.p < self.alpha or not lean or lean != lean:
            return "inconclusive"
        return "better" if (lean > 0) == self.higher_is_better else "worse"

    def statistic(self, unit: str = "seeds", decimals: int = 2) -> str:
        """``Mann-Whitney p = 0.012, difference of means +1.30 (95% bootstrap CI +0.40..+2.10),
        Cliff's delta +0.62, n = 20 vs 20 seeds``."""
        f = f"+.{decimals}f"
        test = f"{self.test} p = {format_p(self.p, self.alpha)}" if self.p == self.p else \
            f"no {self.test} test" if self.too_few else \
            f"no {self.test} test (no differing values)"
        ci = "" if self.ci[0] != self.ci[0] else f" (95% bootstrap CI {self.ci[0]:{f}}..{self.ci[1]:{f}})"
        n = f"n = {self.n_a} {unit}, paired" if self.test == "Wilcoxon" else f"n = {self.n_a} vs {self.n_b} {unit}"
        effect = "" if self.effect != self.effect else f", {self.effect_name} {self.effect:+.2f}"
        return f"{test}, difference of means {self.diff:{f}}{ci}{effect}, {n}"

    def text(self, name_a: str, name_b: str, unit: str = "seeds", decimals: int = 2,
             means: tuple[float, float] | None = None) -> str:
        """One sentence (without a final stop): ``A better than B: <statistic>`` where p < alpha,
        else ``A vs B: inconclusive at N seeds (<statistic>)``, or with one seed a side ``A vs B:
        1 seed: no test can separate algorithms; use --seeds >= 5 (<statistic>)``; with ``means``
        each name is followed by its mean (``A 55.12 vs B 53.61: ...``)."""
        stat = self.statistic(unit, decimals)
        if means is not None:
            name_a, name_b = f"{name_a} {means[0]:.{decimals}f}", f"{name_b} {means[1]:.{decimals}f}"
        if self.too_few:  # said instead of a p-value of 1 that would look like a result
            return f"{name_a} vs {name_b}: {too_few_text(min(self.n_a, self.n_b), unit)} ({stat})"
        if self.verdict == "inconclusive":
            n = self.n_a if self.test == "Wilcoxon" else min(self.n_a, self.n_b)
            return f"{name_a} vs {name_b}: inconclusive at {n} {unit} ({stat})"
        disagree = self.effect == self.effect and self.effect != 0 and self.diff * self.effect < 0
        return f"{name_a} {self.verdict} than {name_b}" + (" by ranks (the means disagree)" if disagree else "") + \
            f": {stat}"


def format_p(p: float, alpha: float = ALPHA) -> str:
    """p to 3 significant digits (more where rounding would carry it to ``alpha``), ``< 0.001``
    in scientific notation."""
    if p < 0.001:
        return f"{p:.1e}"
    s = f"{p:.3g}"
    if p < alpha <= float(s):
        s = f"{p:.5g}"
    return s


def bootstrap_diff_ci(a: Sequence[float], b: Sequence[float] | None = None, reps: int = BOOTSTRAP,
                      seed: int = BOOTSTRAP_SEED) -> tuple[float, float]:
    """95% percentile bootstrap CI of mean(a) - mean(b), each side resampled with replacement on its
    own; with ``b`` None, of mean(a) (``a`` being paired differences, resampled as pairs)."""
    a = np.asarray(a, float)
    if len(a) == 0 or (b is not None and len(b) == 0):
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    stat = a[rng.integers(0, len(a), size=(reps, len(a)))].mean(1)
    if b is not None:
        b = np.asarray(b, float)
        stat = stat - b[rng.integers(0, len(b), size=(reps, len(b)))].mean(1)
    lo, hi = np.percentile(stat, [2.5, 97.5])
    return float(lo), float(hi)


def compare(a: Sequence[float], b: Sequence[float], higher_is_better: bool = True, paired: bool = False,
            alpha: float = ALPHA) -> Comparison:
    """``a`` against ``b``: Mann-Whitney U and Cliff's delta on independent samples, or (``paired``:
    ``a[i]`` and ``b[i]`` share a seed, search or setting) Wilcoxon signed-rank and the matched-pairs
    rank-biserial correlation; both with the difference of means and its bootstrap CI."""
    from bench.trained_report import cliffs_delta, mann_whitney

    a, b = np.asarray(a, float), np.asarray(b, float)
    if paired:
        if len(a) != len(b):
            raise ValueError(f"paired comparison of {len(a)} against {len(b)} values")
        d = a - b
        p, effect = math.nan, math.nan
        nz = d[d != 0]
        if len(d) < MIN_N:  # one pair: a Wilcoxon p (1) or a rank-biserial of +-1 would look like a result
            return Comparison("Wilcoxon", p, float(d.mean()) if len(d) else math.nan, (math.nan, math.nan),
                              "rank-biserial", effect, len(a), len(b), higher_is_better, alpha)
        if len(nz):
            from scipy.stats import rankdata, wilcoxon

            p = float(wilcoxon(a, b, alternative="two-sided").pvalue)
            r = rankdata(np.abs(nz))
            effect = float((r[nz > 0].sum() - r[nz < 0].sum()) / r.sum())
        return Comparison("Wilcoxon", p, float(d.mean()) if len(d) else math.nan, bootstrap_diff_ci(d),
                          "rank-biserial", effect, len(a), len(b), higher_is_better, alpha)
    diff = float(a.mean() - b.mean()) if len(a) and len(b) else math.nan
    if min(len(a), len(b)) < MIN_N:  # one seed a side: Mann-Whitney says p = 1, Cliff's delta +-1
        return Comparison("Mann-Whitney", math.nan, diff, (math.nan, math.nan), "Cliff's delta", math.nan,
                          len(a), len(b), higher_is_better, alpha)
    return Comparison("Mann-Whitney", mann_whitney(a, b), diff, bootstrap_diff_ci(a, b), "Cliff's delta",
                      cliffs_delta(a, b), len(a), len(b), higher_is_better, alpha)


def compare_text(name_a: str, a: Sequence[float], name_b: str, b: Sequence[float], higher_is_better: bool = True,
                 *, paired: bool = False, unit: str = "seeds", decimals: int = 2, means: bool = False,
                 alpha: float = ALPHA) -> str:
    """:func:`compare` as one sentence (no final stop), e.g. ``HF-MNAS vs BM-NAS: inconclusive at 3
    seeds (Mann-Whitney p = 0.4, difference of means +1.50 (95% bootstrap CI -0.90..+3.80), Cliff's
    delta +0.33, n = 3 vs 3 seeds)``; ``unit`` names what one value is (seeds, runs, searches);
    ``means``: each name followed by its mean."""
    c = compare(a, b, higher_is_better, paired, alpha)
    m = (float(np.mean(a)), float(np.mean(b))) if means and len(a) and len(b) else None
    return c.text(name_a, name_b, unit, decimals, m)


def mann_whitney_one_sided(a: Sequence[float], b: Sequence[float], alternative: str = "greater") -> float:
    """One-sided Mann-Whitney U p-value that ``a``'s values tend to be larger than ``b``'s
    (``alternative="greater"``) or smaller (``"less"``); NaN where a side has fewer than
    :data:`MIN_N` values or every value is the same (nothing to test). ``mmnas-bench check``
    (:mod:`bench.check`) asks with it whether a new run's lower-is-better values exceed its baseline's."""
    from scipy.stats import mannwhitneyu

    if alternative not in ("greater", "less"):
        raise ValueError(f"alternative must be 'greater' or 'less', got {alternative!r}")
    a, b = np.asarray(a, float), np.asarray(b, float)
    if min(len(a), len(b)) < MIN_N or np.ptp(np.r_[a, b]) == 0:
        return math.nan
    return float(mannwhitneyu(a, b, alternative=alternative).pvalue)
