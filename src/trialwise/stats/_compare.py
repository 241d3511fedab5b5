"""Compare two arms of per-seed values: test, effect sizes, intervals, power, verdict (seed 001 #1, #2).

Values are oriented first (``direction="min"`` flips the sign), so every oriented quantity reads
"positive = B better than A" and ``alternative="greater"`` always asks "is B better?".
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trialwise._exceptions import UsageError
from trialwise.stats import _dist as D
from trialwise.stats._common import (
    ALTERNATIVES,
    DIRECTIONS,
    TARGET_POWER,
    TESTS,
    Record,
    Verdict,
    check_choice,
    check_fraction,
    decimals_for,
    fmt_num,
    fmt_p,
    orientation,
    seed_values,
)
from trialwise.stats._power import pooled_std, power_summary

__all__ = ["ArmSummary", "Comparison", "compare"]

MIN_SEEDS_PER_ARM = 2
"""Fewest completed seeds per arm that give a seed-to-seed variance (ddof=1); seed 001 #1:
"run multiple training cycles to estimate the variance of outcomes"."""

BCA = "BCa"
PERCENTILE = "percentile"
"""Bootstrap interval methods: bias-corrected and accelerated (B. Efron, "Better bootstrap
confidence intervals", JASA 82(397), 1987), and the plain percentile interval used when BCa is
degenerate (e.g. too few distinct resamples)."""


@dataclass(frozen=True)
class ArmSummary(Record):
    """One arm's completed seeds: mean, std (ddof=1) and the t-interval of the mean."""

    label: str
    n: int
    n_failed: int
    mean: float
    std: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class Comparison(Record):
    """Candidate B against baseline A on one metric.

    ``diff`` and its bootstrap interval are in raw metric units (``mean_b - mean_a``);
    ``improvement``, ``hedges_g``, ``statistic`` and ``p_improvement`` are oriented (positive = B better).
    """

    metric: str
    direction: str
    arm_a: ArmSummary
    arm_b: ArmSummary
    diff: float
    improvement: float
    diff_ci_low: float
    diff_ci_high: float
    confidence: float
    ci_method: str
    hedges_g: float
    p_improvement: float
    test: str
    alternative: str
    alpha: float
    p_value: float
    statistic: float
    mde: float
    seeds_needed: int | None
    verdict: Verdict
    sentence: str
    notes: list[str] = field(default_factory=list)


def _arm(label: str, values: np.ndarray, n_failed: int, confidence: float) -> ArmSummary:
    n = int(values.size)
    mean = float(np.mean(values)) if n else math.nan
    std = float(np.std(values, ddof=1)) if n >= 2 else math.nan
    if n >= 2:
        half = float(D.t_ppf(0.5 + confidence / 2, n - 1)) * std / math.sqrt(n)
        low, high = mean - half, mean + half
    else:
        low = high = math.nan
    return ArmSummary(label, n, n_failed, mean, std, low, high)


def _diff_of_means(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """Bootstrap statistic: ``mean(x) - mean(y)`` along ``axis`` (vectorised)."""
    return np.mean(x, axis=axis) - np.mean(y, axis=axis)


def _bootstrap(a: np.ndarray, b: np.ndarray, paired: bool, confidence: float, n_resamples: int,
               random_state: Any) -> tuple[float, float, str, str | None]:
    """BCa interval of ``mean_b - mean_a`` (of the paired differences when ``paired``): what
    ``scipy.stats.bootstrap(..., rng=random_state)`` gives, computed by :mod:`trialwise.stats._dist`."""
    data = (b - a,) if paired else (b, a)
    statistic = np.mean if paired else _diff_of_means
    for method in (BCA, PERCENTILE):
        low, high = D.bootstrap_interval(data, statistic, n_resamples=n_resamples, confidence_level=confidence,
                                         method=method, rng=random_state)
        if math.isfinite(low) and math.isfinite(high):
            note = None if method == BCA else (
                "the BCa bootstrap interval is degenerate here (every resample on one side of the estimate, "
                "or too few resamples); "
                "the percentile interval is reported instead")
            return low, high, method, note
    return math.nan, math.nan, PERCENTILE, "the bootstrap interval is undefined for these values"


def _prob_better(b: np.ndarray, a: np.ndarray) -> float:
    """P(X_B better than X_A) on oriented values, ties counted 1/2 (the Mann–Whitney U / (n_a n_b))."""
    if not (a.size and b.size):
        return math.nan
    d = b[:, None] - a[None, :]
    return float(np.mean((d > 0) + 0.5 * (d == 0)))


def _run_test(test: str, b: np.ndarray, a: np.ndarray, alternative: str) -> tuple[float, float]:
    """Statistic and p-value of ``test`` on oriented values, B first (as scipy orders them); the
    t-tests of independent arms without ``scipy.stats`` (its import costs more than the rest)."""
    if test in ("welch", "student"):
        return D.ttest_ind(b, a, equal_var=test == "student", alternative=alternative)
    from scipy import stats

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # scipy's precision note when one arm is constant
        if test == "mannwhitney":
            res = stats.mannwhitneyu(b, a, alternative=alternative)
        else:
            res = stats.ttest_rel(b, a, alternative=alternative)
    return float(res.statistic), float(res.pvalue)


def _insufficient(arm_a: ArmSummary, arm_b: ArmSummary, a: np.ndarray, b: np.ndarray, paired: bool) -> str | None:
    """Why these values cannot decide anything, and what would fix it (``None`` if they can)."""
    small = [arm for arm in (arm_a, arm_b) if arm.n < MIN_SEEDS_PER_ARM]
    if small:
        have = " and ".join(
            f"{arm.label} has {arm.n} completed seed{'s' if arm.n != 1 else ''}"
            + (f" ({arm.n_failed} failed)" if arm.n_failed else "") for arm in (arm_a, arm_b))
        todo = " and ".join(f"{MIN_SEEDS_PER_ARM - arm.n} more seed{'s' if MIN_SEEDS_PER_ARM - arm.n != 1 else ''} "
                            f"of {arm.label}" for arm in small)
        unit = "completed pairs" if paired else "completed seeds per arm"
        return (f"{have}; at least {MIN_SEEDS_PER_ARM} {unit} are needed to estimate the seed-to-seed "
                f"noise: run at least {todo}")
    if np.ptp(a) == 0 and np.ptp(b) == 0:
        return (f"every seed gave the same value within each arm ({arm_a.label} = {arm_a.mean:.6g}, "
                f"{arm_b.label} = {arm_b.mean:.6g}), so the seed-to-seed noise cannot be estimated: check that "
                "the seed really changes the run (initialisation, data order, dropout)")
    if paired and np.ptp(b - a) == 0:
        return ("every paired difference is identical, so the noise of the differences cannot be estimated: "
                "check that the seed really changes the run")
    return None


def compare(a: Any, b: Any, *, direction: str = "max", alternative: str = "two-sided", alpha: float = 0.05,
            test: str = "welch", metric: str = "metric", label_a: str = "A", label_b: str = "B",
            confidence: float = 0.95, n_resamples: int = 9999, random_state: Any = 0) -> Comparison:
    """Decide whether candidate B is a progression, a regression, or indistinguishable from baseline A.

    Parameters
    ----------
    a, b : array-like of float
        Per-seed summary values of the baseline A and the candidate B; NaN (or inf) marks a failed
        run, which is excluded and counted in ``n_failed``.
    direction : {"max", "min"}
        Whether larger (accuracy) or smaller (loss) values are better.
    alternative : {"two-sided", "greater", "less"}
        Oriented: ``greater`` tests "B better", ``less`` tests "B worse". A one-sided test can only
        conclude its own side.
    alpha : float
        Significance level; significant means ``p_value <= alpha``.
    test : {"welch", "student", "paired", "mannwhitney"}
        Welch's t (default), Student's pooled t, paired t (seed i of A pairs with seed i of B;
        needs equal lengths) or Mann–Whitney U. ``statistic`` and ``p_value`` are scipy's on the
        oriented values with B first (for ``direction="max"``: ``ttest_ind(b, a, ...)``).
    metric, label_a, label_b : str
        Names used in the sentence.
    confidence : float
        Level of the arm t-intervals and of the BCa bootstrap interval of ``diff``.
    n_resamples, random_state
        Passed to :func:`scipy.stats.bootstrap` (``rng=random_state``); fixed by default so the
        same values give the same interval.

    Returns
    -------
    Comparison
        With ``verdict`` and a one-line ``sentence``. ``mde`` is the smallest effect the test
        detects with 80 % power at these seeds (pooled std, noncentral t); ``seeds_needed`` the
        seeds per arm to detect the observed difference with 80 % power.

    Raises
    ------
    UsageError
        An unknown option, or ``test="paired"`` with arms of different lengths.
    DataError
        Values that are not one number per seed.

    References
    ----------
    .. [1] B. L. Welch, "The generalization of 'Student's' problem when several different
       population variances are involved", Biometrika 34(1/2), 1947.
    .. [2] H. B. Mann, D. R. Whitney, "On a test of whether one of two random variables is
       stochastically larger than the other", Ann. Math. Stat. 18(1), 1947.
    .. [3] B. Efron, "Better bootstrap confidence intervals", JASA 82(397), 1987.
    .. [4] L. V. Hedges, "Distribution theory for Glass's estimator of effect size and related
       estimators", Journal of Educational Statistics 6(2), 1981.
    .. [5] X. Bouthillier et al., "Accounting for variance in machine learning benchmarks",
       MLSys 2021 (P(A > B) as the decision quantity).
    .. [6] D. Khizbullin, "Ten patterns and antipatterns of deep learning experimentation",
       2023 (seed 001: #1 reliability of results, #2 wishful thinking).

    Examples
    --------
    >>> c = compare([0.90, 0.91, 0.90, 0.92, 0.91], [0.93, 0.94, 0.92, 0.95, 0.93], metric="val_acc")
    >>> c.verdict.value
    'progression'
    """
    where = "compare"
    direction = check_choice(direction, "direction", where, DIRECTIONS)
    alternative = check_choice(alternative, "alternative", where, ALTERNATIVES)
    test = check_choice(test, "test", where, TESTS)
    alpha = check_fraction(alpha, "alpha", where)
    confidence = check_fraction(confidence, "confidence", where)
    a_raw, b_raw = seed_values(a, "a", where), seed_values(b, "b", where)
    paired = test == "paired"
    if paired and a_raw.size != b_raw.size:
        raise UsageError(f"The paired test of {where} pairs seed i of A with seed i of B, so 'a' and 'b' must "
                         f"have the same length. Got {a_raw.size} and {b_raw.size} instead; use test='welch' "
                         "for unpaired arms.")
    sign = orientation(direction)
    ok_a, ok_b = np.isfinite(a_raw), np.isfinite(b_raw)
    notes: list[str] = []
    n_inf = int(np.sum(np.isinf(a_raw)) + np.sum(np.isinf(b_raw)))
    if n_inf:
        notes.append(f"{n_inf} infinite value(s) (diverged runs?) are counted as failed runs")
    if paired:
        keep = ok_a & ok_b
        if int(np.sum(ok_a ^ ok_b)):
            notes.append(f"{int(np.sum(ok_a ^ ok_b))} pair(s) dropped because the other arm's seed failed")
        ok_a = ok_b = keep
    a_val, b_val = a_raw[ok_a], b_raw[ok_b]
    arm_a = _arm(label_a, a_val, int(np.sum(~np.isfinite(a_raw))), confidence)
    arm_b = _arm(label_b, b_val, int(np.sum(~np.isfinite(b_raw))), confidence)
    for arm in (arm_a, arm_b):
        if arm.n_failed:
            notes.append(f"{arm.n_failed} failed run(s) of {arm.label} excluded")
    diff = arm_b.mean - arm_a.mean
    improvement = sign * diff
    p_better = _prob_better(sign * b_val, sign * a_val)
    common = dict(metric=metric, direction=direction, arm_a=arm_a, arm_b=arm_b, diff=diff, improvement=improvement,
                  confidence=confidence, p_improvement=p_better, test=test, alternative=alternative, alpha=alpha)

    why = _insufficient(arm_a, arm_b, a_val, b_val, paired)
    statistic = p_value = math.nan
    if why is None:
        statistic, p_value = _run_test(test, sign * b_val, sign * a_val, alternative)
        if not math.isfinite(p_value):
            why = f"the {test} test is undefined for these values"
    if why is not None:
        return Comparison(**common, diff_ci_low=math.nan, diff_ci_high=math.nan, ci_method=BCA, hedges_g=math.nan,
                          p_value=p_value, statistic=statistic, mde=math.nan, seeds_needed=None,
                          verdict=Verdict.INSUFFICIENT, sentence=f"insufficient data on {metric}: {why}", notes=notes)

    low, high, ci_method, ci_note = _bootstrap(a_val, b_val, paired, confidence, n_resamples, random_state)
    if ci_note:
        notes.append(ci_note)
    sd = pooled_std(arm_a.std, arm_b.std, arm_a.n, arm_b.n)
    dof = arm_a.n + arm_b.n - 2
    hedges_g = (1.0 - 3.0 / (4.0 * dof - 1.0)) * improvement / sd if sd > 0 else math.nan
    power = power_summary(arm_a.std, arm_b.std, arm_a.n, arm_b.n, improvement, alpha, alternative, TARGET_POWER,
                          test=test, std_diff=float(np.std(b_val - a_val, ddof=1)) if paired else None)
    if p_value <= alpha:
        if alternative == "two-sided":
            verdict = Verdict.PROGRESSION if improvement > 0 else Verdict.REGRESSION
        else:
            verdict = Verdict.PROGRESSION if alternative == "greater" else Verdict.REGRESSION
    else:
        verdict = Verdict.NO_DIFFERENCE
        if (alternative == "greater" and improvement < 0) or (alternative == "less" and improvement > 0):
            notes.append(f"the observed change is on the side the one-sided alternative '{alternative}' does not test")
    sentence = _sentence(verdict, metric, direction, label_b, arm_a, arm_b, improvement, sign * low, sign * high,
                         confidence, p_value, alternative, power.mde, power.seeds_needed, decimals_for(sd))
    return Comparison(**common, diff_ci_low=low, diff_ci_high=high, ci_method=ci_method, hedges_g=hedges_g,
                      p_value=p_value, statistic=statistic, mde=power.mde, seeds_needed=power.seeds_needed,
                      verdict=verdict, sentence=sentence, notes=notes)


def _sentence(verdict: Verdict, metric: str, direction: str, label_b: str, arm_a: ArmSummary, arm_b: ArmSummary,
              improvement: float, imp_lo: float, imp_hi: float, confidence: float, p_value: float, alternative: str,
              mde: float, seeds_needed: int | None, dec: int) -> str:
    """One readable sentence with the numbers behind the verdict."""
    imp_lo, imp_hi = sorted((imp_lo, imp_hi))
    seeds = f"{arm_a.n} seeds each" if arm_a.n == arm_b.n else f"{arm_a.n} and {arm_b.n} seeds"
    level = f"{confidence * 100:g}% CI"
    tail = f"p {fmt_p(p_value)} with {seeds}: {verdict.value}"
    if verdict is Verdict.PROGRESSION:
        return (f"{label_b} improves {metric} by {fmt_num(improvement, dec)} ({level} {fmt_num(imp_lo, dec)} to "
                f"{fmt_num(imp_hi, dec)}), {tail}")
    if verdict is Verdict.REGRESSION:
        return (f"{label_b} worsens {metric} by {fmt_num(-improvement, dec)} ({level} {fmt_num(-imp_hi, dec)} to "
                f"{fmt_num(-imp_lo, dec)}), {tail}")
    kind = {"two-sided": "difference", "greater": "improvement", "less": "regression"}[alternative]
    sign = orientation(direction)
    raw_lo, raw_hi = sorted((sign * imp_lo, sign * imp_hi))
    better = "higher" if direction == "max" else "lower"
    text = (f"{label_b} changes {metric} by {fmt_num(sign * improvement, dec, sign=True)} ({better} is better; {level} "
            f"{fmt_num(raw_lo, dec, sign=True)} to {fmt_num(raw_hi, dec, sign=True)}), {tail}; "
            f"the smallest {kind} these seeds detect with {TARGET_POWER:.0%} power is {fmt_num(mde, dec)}")
    if seeds_needed is not None:
        text += f" (the observed {fmt_num(abs(improvement), dec)} would need {seeds_needed} seeds per arm)"
    return text
