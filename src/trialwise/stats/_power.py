"""Power of a two-sample comparison of per-seed values: the noncentral t distribution.

For an effect ``Δ`` (metric units), seed-to-seed standard deviation ``σ`` and ``n_a``, ``n_b``
seeds, the t statistic follows a noncentral t with ``ncp = Δ / (σ √(1/n_a + 1/n_b))`` and
``n_a + n_b - 2`` degrees of freedom (pooled σ, as in Cohen 1988); the paired test uses the std
of the per-seed differences and ``n - 1`` degrees of freedom; Mann–Whitney counts each seed as
``3/π`` of one (its asymptotic relative efficiency under normal noise, Hodges & Lehmann 1956).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from trialwise._exceptions import UsageError
from trialwise.stats import _dist as D
from trialwise.stats._common import ALTERNATIVES, TARGET_POWER, TESTS, Record, check_choice, check_fraction

__all__ = ["PowerSummary", "n_per_arm", "pooled_std", "power_summary"]

MANN_WHITNEY_ARE = 3.0 / math.pi
"""Asymptotic relative efficiency of the Mann–Whitney test to the t-test under normal noise
(J. L. Hodges, E. L. Lehmann, Ann. Math. Stat. 27(2), 1956): one seed is worth 3/π ≈ 0.955."""

MAX_SEEDS_SEARCH = 1_000_000
"""Largest per-arm seed count searched by ``seeds_needed``; beyond it the effect is, in practice,
undetectable and ``None`` is reported."""

_NCP_SEARCH_MAX = 1e4
"""Upper end of the noncentrality bracket when solving for the minimum detectable effect."""


@dataclass(frozen=True)
class PowerSummary(Record):
    """Power of a comparison at the current seed counts, and what a target power would need.

    ``effect`` is oriented (positive = B better); ``mde`` is a magnitude in metric units in the
    direction(s) the alternative tests; ``seeds_needed`` is per arm (equal arms) or ``None`` when
    the effect is 0, lies on the side a one-sided test ignores, or needs more than 10^6 seeds.
    """

    test: str
    alternative: str
    alpha: float
    target_power: float
    n_a: int
    n_b: int
    std_a: float
    std_b: float
    pooled_std: float
    effect: float
    cohen_d: float
    power: float
    mde: float
    seeds_needed: int | None


def pooled_std(std_a: float, std_b: float, n_a: int, n_b: int) -> float:
    """Pooled standard deviation ``√(((n_a-1)s_a² + (n_b-1)s_b²) / (n_a + n_b - 2))``."""
    dof = n_a + n_b - 2
    if dof <= 0:
        return math.nan
    return math.sqrt(((n_a - 1) * std_a**2 + (n_b - 1) * std_b**2) / dof)


def _se_df(sd: float, n_a: np.ndarray | float, n_b: np.ndarray | float, test: str) -> tuple[np.ndarray, np.ndarray]:
    """Standard error of the mean difference and t degrees of freedom (vectorised over n)."""
    n_a, n_b = np.asarray(n_a, dtype=float), np.asarray(n_b, dtype=float)
    if test == "paired":
        return sd / np.sqrt(n_a), n_a - 1.0
    eff = MANN_WHITNEY_ARE if test == "mannwhitney" else 1.0
    return sd * np.sqrt(1.0 / (eff * n_a) + 1.0 / (eff * n_b)), eff * (n_a + n_b) - 2.0


def _power_at(ncp: np.ndarray | float, df: np.ndarray | float, alpha: float, alternative: str) -> np.ndarray:
    """Power of a t-test with noncentrality ``ncp`` (oriented: > 0 means B better)."""
    ncp, df = np.asarray(ncp, dtype=float), np.asarray(df, dtype=float)
    if alternative == "two-sided":
        crit = D.t_isf(alpha / 2, df)
        power = _nct_sf(crit, df, ncp) + _nct_sf(crit, df, -ncp)
    else:
        crit = D.t_isf(alpha, df)
        power = _nct_sf(crit, df, ncp if alternative == "greater" else -ncp)
    return np.clip(power, 0.0, 1.0)


def _nct_sf(x: np.ndarray, df: np.ndarray, ncp: np.ndarray) -> np.ndarray:
    """P(T > x) for a noncentral t.  SciPy's ``nct.sf`` returns NaN for some arguments at small
    df (e.g. x = 3.18, df = 3, ncp = 8: an arm of 2 seeds); there ``1 - cdf`` is used, and if
    that fails too, the normal approximation (Johnson & Welch 1940, eq. 7)."""
    sf = np.asarray(D.nct_sf(x, df, ncp), dtype=float)
    bad = ~np.isfinite(sf)
    if bad.any():
        alt = 1.0 - np.asarray(D.nct_cdf(x, df, ncp), dtype=float)
        sf = np.where(bad, alt, sf)
        bad = ~np.isfinite(sf)
        if bad.any():
            x_, df_ = np.broadcast_to(x, sf.shape), np.broadcast_to(df, sf.shape)
            z = (x_ * (1 - 1 / (4 * df_)) - ncp) / np.sqrt(1 + x_ ** 2 / (2 * df_))
            sf = np.where(bad, D.norm_sf(z), sf)
    return sf


def _one_side(alternative: str) -> str:
    """The alternative used for a magnitude: ``less`` mirrors ``greater`` (the t is symmetric)."""
    return "two-sided" if alternative == "two-sided" else "greater"


def _mde(sd: float, n_a: int, n_b: int, alpha: float, alternative: str, power: float, test: str) -> float:
    """Smallest effect magnitude detected with probability ``power`` at these seed counts."""
    se, df = _se_df(sd, n_a, n_b, test)
    if not (math.isfinite(float(se)) and float(se) > 0 and float(df) > 0):
        return math.nan
    alt = _one_side(alternative)
    hi = 1.0
    while float(_power_at(hi, df, alpha, alt)) < power:
        hi *= 2.0
        if hi > _NCP_SEARCH_MAX:
            return math.inf
    ncp = D.brentq(lambda x: float(_power_at(x, df, alpha, alt)) - power, 0.0, hi, xtol=1e-10)
    return float(ncp * se)


def n_per_arm(effect: float, sd: float, alpha: float, alternative: str, power: float = TARGET_POWER,
              test: str = "welch") -> int | None:
    """Seeds per arm (equal arms) for a test at level ``alpha`` to detect the oriented ``effect``
    with probability ``power``; ``None`` if it cannot (effect 0, wrong side, > 10^6 seeds)."""
    if not (math.isfinite(effect) and math.isfinite(sd)) or effect == 0 or sd <= 0:
        return None
    if (alternative == "greater" and effect < 0) or (alternative == "less" and effect > 0):
        return None
    magnitude, alt = abs(effect), _one_side(alternative)

    def ok(n: int) -> bool:
        se, df = _se_df(sd, n, n, test)
        return bool(_power_at(magnitude / se, df, alpha, alt) >= power)

    lo, hi = 1, 2
    while not ok(hi):
        lo, hi = hi, hi * 2
        if hi > MAX_SEEDS_SEARCH:
            return None
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return hi


def power_summary(std_a: float, std_b: float, n_a: int, n_b: int, effect: float, alpha: float = 0.05,
                  alternative: str = "two-sided", power: float = TARGET_POWER, *, test: str = "welch",
                  std_diff: float | None = None) -> PowerSummary:
    """Power at the current seeds, minimum detectable effect (MDE) and seeds needed for ``effect``.

    Parameters
    ----------
    std_a, std_b : float
        Seed-to-seed standard deviations (ddof=1) of the baseline A and candidate B.
    n_a, n_b : int
        Completed seeds per arm (at least 2 each).
    effect : float
        Oriented effect in metric units (positive = B better), e.g. the observed improvement.
    alpha : float
        Significance level.
    alternative : {"two-sided", "greater", "less"}
        Oriented alternative (``greater`` = B better).
    power : float
        Target power of ``mde`` and ``seeds_needed`` (default 0.8).
    test : {"welch", "student", "paired", "mannwhitney"}
        Welch and Student use the pooled std with ``n_a + n_b - 2`` dof; ``paired`` needs
        ``std_diff`` (std of the per-seed differences); Mann–Whitney scales seeds by 3/π.
    std_diff : float, optional
        Standard deviation of the paired differences (``test="paired"`` only).

    Returns
    -------
    PowerSummary

    References
    ----------
    .. [1] J. Cohen, *Statistical Power Analysis for the Behavioral Sciences*, 2nd ed., 1988, ch. 2.
    .. [2] J. L. Hodges, E. L. Lehmann, "The efficiency of some nonparametric competitors of the
       t-test", Ann. Math. Stat. 27(2), 1956.

    Examples
    --------
    >>> s = power_summary(1.0, 1.0, 17, 17, effect=1.0)
    >>> s.seeds_needed, round(s.power, 3)
    (17, 0.807)
    """
    where = "power_summary"
    alternative = check_choice(alternative, "alternative", where, ALTERNATIVES)
    test = check_choice(test, "test", where, TESTS)
    alpha = check_fraction(alpha, "alpha", where, high=0.5)
    power = check_fraction(power, "power", where)
    n_a, n_b = int(n_a), int(n_b)
    if n_a < 2 or n_b < 2:
        raise UsageError(f"The 'n_a' and 'n_b' parameters of {where} must be at least 2 (seeds per arm). "
                         f"Got {n_a} and {n_b} instead.")
    if test == "paired":
        if std_diff is None or n_a != n_b:
            raise UsageError(f"The paired test of {where} needs 'std_diff' and n_a == n_b. "
                             f"Got std_diff={std_diff!r}, n_a={n_a}, n_b={n_b} instead.")
        sd = float(std_diff)
    else:
        sd = pooled_std(float(std_a), float(std_b), n_a, n_b)
    effect = float(effect)
    if sd > 0 and math.isfinite(sd):
        se, df = _se_df(sd, n_a, n_b, test)
        achieved = float(_power_at(effect / se, df, alpha, alternative))
        mde = _mde(sd, n_a, n_b, alpha, alternative, power, test)
        needed = n_per_arm(effect, sd, alpha, alternative, power, test)
        cohen_d = effect / sd
    else:
        achieved, mde, needed, cohen_d = math.nan, math.nan, None, math.nan
    return PowerSummary(test, alternative, alpha, power, n_a, n_b, float(std_a), float(std_b), sd, effect,
                        cohen_d, achieved, mde, needed)
