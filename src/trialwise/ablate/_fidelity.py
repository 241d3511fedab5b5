"""Fidelity of the fast training cycle (seed 001 #5): is it faster, and does it rank changes the same?

Seed 001 #5: "The fast version must be 2 to 10 times faster and be able to reflect the effect of
changes under assessment." Given changes measured with both cycles (each against its own
baseline), this reports the speed-up, whether the effects have the same sign, and Kendall's rank
correlation between the fast and the full effects.

References
----------
M. G. Kendall, "A new measure of rank correlation", Biometrika 30 (1938); D. Khizbullin, "Ten
Patterns and Antipatterns of Deep Learning Experimentation", Towards AI, 2023, #5 (seed 001).
"""

from __future__ import annotations

import math
import statistics
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from trialwise._exceptions import DataError
from trialwise.ablate._common import sign_of
from trialwise.metrics._common import Record

__all__ = [
    "HIGH_SPEEDUP", "MIN_PAIRS", "MIN_SIGN_AGREEMENT", "MIN_SPEEDUP", "MIN_TAU", "TAU_ALPHA", "FidelityPair",
    "FidelityReport", "fidelity",
]

MIN_SPEEDUP = 2.0
"""Seed 001 #5: the fast cycle "must be 2 to 10 times faster"; below 2× it saves too little."""

HIGH_SPEEDUP = 10.0
"""Seed 001 #5's upper end: faster than 10× is fine, but the more a cycle is shrunk the likelier it
stops reflecting the changes, so its fidelity deserves a closer look."""

MIN_PAIRS = 5
"""Fewest changes for a fidelity estimate: with 4 pairs even a perfect ranking gives an exact
two-sided Kendall p of 2/4! = 0.083, so tau cannot be significant at 0.05 (Kendall 1938); 5 is the
smallest n where it can (2/5! = 0.017)."""

MIN_SIGN_AGREEMENT = 0.8
"""Fewest fraction of changes whose fast and full effects have the same sign (project convention:
4 in 5, the same odds as :data:`trialwise.ablate.LIKELY`)."""

MIN_TAU = 0.6
"""Lowest acceptable Kendall tau between fast and full effects. tau = P(concordant) - P(discordant),
so 0.6 means 80 % of pairs of changes are ordered the same by both cycles (project convention,
consistent with :data:`MIN_SIGN_AGREEMENT`)."""

TAU_ALPHA = 0.05
"""Significance level at which a positive rank correlation must be established (one-sided)."""


@dataclass(frozen=True)
class FidelityPair(Record):
    """One change measured by both cycles: its effect against each cycle's own baseline, and wall times.

    Effects must share an orientation (e.g. both "candidate minus baseline"); times are per run,
    in seconds.
    """

    name: str
    fast_effect: float
    full_effect: float
    fast_seconds: float
    full_seconds: float

    @property
    def speedup(self) -> float:
        return self.full_seconds / self.fast_seconds

    @property
    def agrees(self) -> bool:
        return sign_of(self.fast_effect) == sign_of(self.full_effect)


@dataclass(frozen=True)
class FidelityReport(Record):
    """How well the fast cycle stands in for the full one.

    Attributes
    ----------
    n_pairs : int
        Number of changes the estimate rests on.
    median_speedup : float
        Median of full / fast wall time over the pairs.
    sign_agreement : float
        Fraction of pairs whose fast and full effects have the same sign.
    disagreeing : tuple of str
        Names of the pairs whose signs differ.
    kendall_tau, kendall_p : float
        Kendall's tau-b between fast and full effects and its one-sided p-value (tau > 0); NaN when
        fewer than two pairs or a constant column.
    warnings : tuple of str
        What makes the fast cycle untrustworthy or too slow.
    notes : tuple of str
        Remarks that do not fail the check (e.g. a speed-up above 10×).
    """

    n_pairs: int
    pairs: tuple[FidelityPair, ...]
    speedups: tuple[float, ...]
    median_speedup: float
    sign_agreement: float
    disagreeing: tuple[str, ...]
    kendall_tau: float
    kendall_p: float
    warnings: tuple[str, ...]
    notes: tuple[str, ...]
    summary: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """No warning: the fast cycle is fast enough and agrees with the full one."""
        return not self.warnings


def _as_pair(p: Any, i: int) -> FidelityPair:
    pair = p if isinstance(p, FidelityPair) else None
    if pair is None:
        try:
            name, fe, ue, fs, us = p
            pair = FidelityPair(str(name), float(fe), float(ue), float(fs), float(us))
        except (TypeError, ValueError):
            raise DataError(f"Pair {i} passed to fidelity() must be a FidelityPair or a tuple (name, fast_effect, "
                            f"full_effect, fast_seconds, full_seconds). Got {p!r} instead.") from None
    if not (math.isfinite(pair.fast_effect) and math.isfinite(pair.full_effect)):
        raise DataError(f"Pair '{pair.name}' passed to fidelity() has a non-finite effect (fast "
                        f"{pair.fast_effect}, full {pair.full_effect}); drop it or re-run its seeds.")
    if not (pair.fast_seconds > 0 and pair.full_seconds > 0 and math.isfinite(pair.speedup)):
        raise DataError(f"Pair '{pair.name}' passed to fidelity() must have positive wall times. Got fast "
                        f"{pair.fast_seconds!r} s, full {pair.full_seconds!r} s instead.")
    return pair


def fidelity(pairs: Sequence[FidelityPair | tuple[str, float, float, float, float]]) -> FidelityReport:
    """Speed-up, sign agreement and rank agreement of a fast training cycle against the full one.

    Parameters
    ----------
    pairs : sequence of FidelityPair or (name, fast_effect, full_effect, fast_seconds, full_seconds)
        One per change measured with both cycles.

    Returns
    -------
    FidelityReport

    References
    ----------
    Seed 001 #5; M. G. Kendall, Biometrika 30 (1938); scipy.stats.kendalltau (tau-b).
    """
    from scipy import stats

    items = tuple(_as_pair(p, i) for i, p in enumerate(pairs))
    if not items:
        raise DataError("fidelity() needs at least one pair (a change measured with both the fast and the full "
                        "cycle); got none.")
    n = len(items)
    speedups = tuple(p.speedup for p in items)
    median = float(statistics.median(speedups))
    disagreeing = tuple(p.name for p in items if not p.agrees)
    agreement = 1 - len(disagreeing) / n
    tau = tau_p = math.nan
    if n >= 2:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = stats.kendalltau([p.fast_effect for p in items], [p.full_effect for p in items],
                                   alternative="greater")
        tau, tau_p = float(res.statistic), float(res.pvalue)

    warns, notes = [], []
    if n < MIN_PAIRS:
        warns.append(f"The estimate rests on {n} pair(s); with fewer than {MIN_PAIRS} even a perfect ranking "
                     f"cannot be told from chance. Measure more changes with both cycles.")
    if median < MIN_SPEEDUP:
        warns.append(f"The fast cycle is only {median:.1f}× faster than the full one (median); seed 001 #5 asks "
                     f"for {MIN_SPEEDUP:g} to {HIGH_SPEEDUP:g}×: shrink it (fewer iterations, a smaller network).")
    elif median > HIGH_SPEEDUP:
        notes.append(f"The fast cycle is {median:.0f}× faster (above seed 001 #5's {HIGH_SPEEDUP:g}×): fine, as "
                     "long as it still reflects the changes; keep checking its fidelity.")
    slower = [p.name for p in items if p.speedup < 1]
    if slower:
        warns.append(f"The fast cycle was slower than the full one for: {', '.join(slower)}.")
    if agreement < MIN_SIGN_AGREEMENT:
        warns.append(f"Fast and full effects agree in sign for only {agreement:.0%} of changes (at least "
                     f"{MIN_SIGN_AGREEMENT:.0%} wanted); they disagree for {', '.join(disagreeing)}.")
    if n >= 2 and not (tau >= MIN_TAU):
        warns.append(f"Kendall tau between fast and full effects is {_fmt(tau)} (at least {MIN_TAU:g} wanted): "
                     "the fast cycle does not rank changes like the full one.")
    elif n >= MIN_PAIRS and not tau_p < TAU_ALPHA:
        warns.append(f"Kendall tau = {_fmt(tau)} is not significantly positive (p = {_fmt(tau_p)}); measure more "
                     "changes with both cycles.")

    summary = [f"Fast cycle vs full over {n} change(s): median speed-up {median:.1f}× "
               f"(range {min(speedups):.1f}× to {max(speedups):.1f}×), same sign for {agreement:.0%}, "
               f"Kendall tau {_fmt(tau)} (one-sided p {_fmt(tau_p)})."]
    summary += [f"warning: {w}" for w in warns] + [f"note: {x}" for x in notes]
    if not warns:
        summary.append("The fast cycle is fast enough and reflects the effect of changes (seed 001 #5).")
    return FidelityReport(n, items, speedups, median, agreement, disagreeing, tau, tau_p, tuple(warns),
                          tuple(notes), tuple(summary))


def _fmt(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"{x:.2g}"
