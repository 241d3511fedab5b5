"""Shared vocabulary of the ablation layer: the oriented effect record, t intervals, checks, formatting.

Every effect is *oriented*: ``direction="min"`` flips the sign, so a positive estimate always means
"better" (seed 001 calls that a *progression*, a negative one a *regression*).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from trialwise._exceptions import DataError, UsageError
from trialwise.metrics._common import Record
from trialwise.stats._common import DIRECTIONS, decimals_for, fmt_p
from trialwise.stats._common import fmt_num as fmt

__all__ = [
    "DIRECTIONS", "LIKELY", "Effect", "as_values", "check_alpha", "check_direction", "check_names",
    "decimals_for", "fmt", "fmt_p", "sign_of", "subset_label", "t_effect", "welch_effect",
]


LIKELY = 0.8
"""Posterior probability above which a regression (or an improvement) is called *likely* even
when its confidence interval still crosses zero. With a flat prior the posterior of a normal mean
difference is the scaled t distribution of the estimate (A. Gelman et al., *Bayesian Data
Analysis*, 3rd ed., 2013, §3.2), so ``P(effect < 0) = T_df(-estimate / se)``. 0.8 is a project
convention (the brief for this module), the same "4 in 5" odds as the conventional 80 % power."""


@dataclass(frozen=True)
class Effect(Record):
    """One oriented effect estimate with its t interval (positive = better).

    ``kind`` is ``"main"`` or ``"interaction"`` (factorial model, Box-Hunter-Hunter effect =
    mean at + minus mean at -), ``"simple"`` (the cell with only that change vs the base cell,
    Welch) or ``"cell"`` (any cell vs the base cell, Welch). ``p_worse`` is P(effect < 0) under a
    flat prior (see :data:`LIKELY`).
    """

    label: str
    kind: str
    factors: tuple[str, ...]
    estimate: float
    se: float
    df: float
    ci_low: float
    ci_high: float
    p_value: float
    p_worse: float
    confidence: float
    aliases: tuple[str, ...] = ()

    @property
    def significant(self) -> bool:
        """The interval excludes zero."""
        return self.ci_low > 0 or self.ci_high < 0

    @property
    def p_better(self) -> float:
        """P(effect > 0) under a flat prior."""
        return 1.0 - self.p_worse

    def sentence(self, decimals: int = 4) -> str:
        """``"A: -0.0101 (95% CI -0.0142 to -0.0060, p = 0.0002, P(worse) = 1.00)"``."""
        alias = f" [aliased with {', '.join(self.aliases)}]" if self.aliases else ""
        return (f"{self.label}: {fmt(self.estimate, decimals, sign=True)} ({self.confidence:.0%} CI "
                f"{fmt(self.ci_low, decimals, sign=True)} to {fmt(self.ci_high, decimals, sign=True)}, "
                f"p {fmt_p(self.p_value)}, P(worse) = {fmt(self.p_worse, 2)}){alias}")


def t_effect(label: str, kind: str, factors: Sequence[str], estimate: float, se: float, df: float,
             alpha: float, aliases: Sequence[str] = ()) -> Effect:
    """An :class:`Effect` from an oriented estimate, its standard error and degrees of freedom.

    References
    ----------
    W. S. Gosset ("Student"), "The probable error of a mean", Biometrika 6 (1908).
    """
    from scipy import stats

    if not (math.isfinite(estimate) and math.isfinite(se) and df > 0):
        nan = math.nan
        return Effect(label, kind, tuple(factors), estimate, se, df, nan, nan, nan, nan, 1 - alpha,
                      tuple(aliases))
    if se == 0.0:  # deterministic results: the effect is known exactly
        p_worse = 1.0 if estimate < 0 else 0.0 if estimate > 0 else 0.5
        p = 1.0 if estimate == 0 else 0.0
        return Effect(label, kind, tuple(factors), estimate, 0.0, df, estimate, estimate, p, p_worse,
                      1 - alpha, tuple(aliases))
    tcrit = float(stats.t.ppf(1 - alpha / 2, df))
    tstat = estimate / se
    p = float(2 * stats.t.sf(abs(tstat), df))
    p_worse = float(stats.t.cdf(-tstat, df))
    return Effect(label, kind, tuple(factors), float(estimate), float(se), float(df),
                  float(estimate - tcrit * se), float(estimate + tcrit * se), p, p_worse, 1 - alpha,
                  tuple(aliases))


def welch_effect(label: str, kind: str, factors: Sequence[str], treated: np.ndarray, base: np.ndarray,
                 sign: float, alpha: float, pooled_var: float, pooled_df: float) -> Effect:
    """Oriented difference of means ``treated - base`` with Welch's standard error and df.

    When either cell has fewer than two values (no variance of its own) or both have zero
    variance, the pooled within-cell variance of the whole experiment is used instead.

    References
    ----------
    B. L. Welch, "The generalization of 'Student's' problem when several different population
    variances are involved", Biometrika 34 (1947).
    """
    n1, n0 = len(treated), len(base)
    diff = sign * (float(np.mean(treated)) - float(np.mean(base)))
    v1 = float(np.var(treated, ddof=1)) if n1 > 1 else math.nan
    v0 = float(np.var(base, ddof=1)) if n0 > 1 else math.nan
    if n1 > 1 and n0 > 1 and (v1 > 0 or v0 > 0):
        a, b = v1 / n1, v0 / n0
        se = math.sqrt(a + b)
        df = (a + b) ** 2 / (a * a / (n1 - 1) + b * b / (n0 - 1))
    else:
        se = math.sqrt(pooled_var * (1 / n1 + 1 / n0))
        df = pooled_df
    return t_effect(label, kind, factors, diff, se, df, alpha)


def check_direction(direction: str, where: str) -> float:
    """+1 for ``"max"``, -1 for ``"min"``; a :class:`UsageError` otherwise."""
    if direction not in DIRECTIONS:
        raise UsageError(f"The 'direction' parameter of {where} must be 'max' (larger is better) or 'min' "
                         f"(smaller is better). Got {direction!r} instead.")
    return 1.0 if direction == "max" else -1.0


def check_alpha(alpha: float, where: str) -> float:
    """``alpha`` as a float in (0, 0.5)."""
    try:
        a = float(alpha)
    except (TypeError, ValueError):
        a = math.nan
    if not 0.0 < a < 0.5:
        raise UsageError(f"The 'alpha' parameter of {where} must be a number in (0, 0.5), e.g. 0.05. "
                         f"Got {alpha!r} instead.")
    return a


def check_names(names: Sequence[str], k: int, where: str) -> tuple[str, ...]:
    """``names`` as a tuple of ``k`` distinct non-empty strings."""
    out = tuple(str(n) for n in names)
    if len(out) != k or len(set(out)) != k or any(not n for n in out):
        raise UsageError(f"The 'names' parameter of {where} must hold {k} distinct, non-empty change names "
                         f"(one per design column). Got {list(names)!r} instead.")
    return out


def subset_label(subset: Sequence[str]) -> str:
    """``"A+B"``, or ``"base"`` for the empty subset."""
    return "+".join(subset) if subset else "base"


def sign_of(x: float) -> int:
    """-1, 0 or +1."""
    return (x > 0) - (x < 0)


def as_values(values: Any, where: str, cell: str) -> np.ndarray:
    """Per-seed values of one cell as a 1-D float array (NaN = failed run)."""
    try:
        arr = np.asarray(values, dtype=float).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise DataError(f"The results of cell {cell} passed to {where} must be numbers (one per seed, NaN for "
                        f"a failed run). Got {values!r} instead ({exc}).") from None
    return arr
