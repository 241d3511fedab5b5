"""The winner's curse: re-run the top configurations on fresh seeds before declaring a winner.

The best trial of a search is selected *because* its seeds came out well, so its search estimate is
biased upwards (the winner's curse; the same selection effect as in Cawley & Talbot, "On over-fitting
in model selection and subsequent selection bias in performance evaluation", JMLR 11, 2010).  The
re-check runs the ``top_k`` configurations on seeds none of them was selected with, estimates each
from those fresh seeds only, and compares the best of them with every other one (Welch's t through
:func:`trialwise.stats.compare`, Holm-corrected through :func:`trialwise.stats.holm`).  When some
comparisons are not significant, the top configurations are statistically indistinguishable and the
report says so instead of crowning one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from trialwise.metrics._common import Record
from trialwise.stats._bounds import BoundedInterval, bounded_interval, metric_range
from trialwise.tune._study import TrialRecord

__all__ = ["DEFAULT_RECHECK_SEEDS", "DEFAULT_TOP_K", "Recheck", "RecheckEntry", "recheck", "top_configurations"]

DEFAULT_TOP_K = 3
"""Configurations re-checked by default (trialwise's choice: the winner and two challengers)."""

DEFAULT_RECHECK_SEEDS = 5
"""Fresh seeds per re-checked configuration by default: with Welch's t at alpha 0.05, five seeds per
arm detect a difference of about two seed standard deviations with 80 % power (Cohen 1988, table 2.4)."""

CONFIDENCE = 0.95
"""Level of the winner's interval (the comparison engine's arm intervals)."""


@dataclass(frozen=True)
class RecheckEntry(Record):
    """One re-checked configuration: its search estimate and its estimate on fresh seeds."""

    trial: int
    params: dict[str, Any]
    experiment_id: str | None
    search_mean: float
    search_seeds: int
    fresh_values: tuple[float, ...]
    fresh_mean: float
    fresh_std: float
    p_value: float | None = None
    p_adjusted: float | None = None
    distinguishable: bool | None = None
    verdict: str | None = None
    sentence: str = ""


@dataclass(frozen=True)
class Recheck(Record):
    """The re-check: the winner with its interval, and which configurations it cannot be told from.

    ``winner_ci`` is the winner's t interval kept inside the metric's range (``interval`` says
    whether it was clipped, what it was, or that the range is unknown; see
    :func:`trialwise.stats._bounds.bounded_interval`).
    """

    metric: str
    direction: str
    alpha: float
    fresh_seeds: tuple[int, ...]
    winner: RecheckEntry
    winner_ci: tuple[float, float]
    optimism: float
    entries: tuple[RecheckEntry, ...]
    indistinguishable: tuple[int, ...]
    sentence: str
    comparisons: tuple[Any, ...] = field(default_factory=tuple)
    interval: BoundedInterval | None = None


def _key(direction: str) -> Any:
    sign = 1.0 if direction == "max" else -1.0
    return lambda v: -math.inf if v is None or math.isnan(v) else sign * v


def top_configurations(trials: Sequence[TrialRecord], k: int, direction: str) -> list[TrialRecord]:
    """The ``k`` best completed trials, one per distinct configuration (experiment), best first.

    Trials with a failed seed are left out: their mean rests on the seeds that survived (a
    configuration that crashes one seed in two would otherwise be crowned on its lucky half).
    """
    key = _key(direction)
    seen: set[str] = set()
    out: list[TrialRecord] = []
    done = (t for t in trials
            if t.state == "complete" and t.value is not None and math.isfinite(t.value) and t.n_failed == 0)
    for t in sorted(done, key=lambda t: key(t.value), reverse=True):
        ident = t.experiment_id or repr(sorted(t.params.items()))
        if ident in seen:
            continue
        seen.add(ident)
        out.append(t)
        if len(out) == k:
            break
    return out


def _t_interval(values: Sequence[float], confidence: float) -> tuple[float, float]:
    """Student-t interval of a mean (the same interval as the comparison engine's arm summaries)."""
    from scipy import stats

    x = [v for v in values if math.isfinite(v)]
    if len(x) < 2:
        return math.nan, math.nan
    mean = sum(x) / len(x)
    sd = math.sqrt(sum((v - mean) ** 2 for v in x) / (len(x) - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, len(x) - 1)) * sd / math.sqrt(len(x))
    return mean - half, mean + half


def _summary(values: Sequence[float]) -> tuple[float, float]:
    x = [v for v in values if math.isfinite(v)]
    mean = sum(x) / len(x) if x else math.nan
    sd = math.sqrt(sum((v - mean) ** 2 for v in x) / (len(x) - 1)) if len(x) > 1 else math.nan
    return mean, sd


def _g(x: float) -> str:
    return "nan" if x is None or not math.isfinite(x) else f"{x:.4g}"


def recheck(candidates: Sequence[TrialRecord], fresh: Mapping[int, Sequence[float]], *, metric: str,
            direction: str, fresh_seeds: Sequence[int], alpha: float = 0.05) -> Recheck:
    """Decide the winner among re-checked configurations from their fresh seeds.

    Parameters
    ----------
    candidates : sequence of TrialRecord
        The configurations re-checked (e.g. :func:`top_configurations`).
    fresh : mapping
        ``{trial number: per-seed values on the fresh seeds}`` (NaN for a failed seed).
    metric, direction : str
        The objective and which way is better.
    fresh_seeds : sequence of int
        The seed numbers of the fresh values (reported).
    alpha : float
        Family-wise level of the Holm-corrected comparisons.

    Returns
    -------
    Recheck

    References
    ----------
    .. [1] G. C. Cawley, N. L. C. Talbot, "On over-fitting in model selection and subsequent selection
       bias in performance evaluation", JMLR 11, 2010.
    .. [2] S. Holm, "A simple sequentially rejective multiple test procedure", Scand. J. Stat. 6, 1979.
    """
    from trialwise.stats import compare, holm

    entries = []
    for t in candidates:
        values = tuple(float(v) for v in fresh.get(t.number, ()))
        mean, sd = _summary(values)
        entries.append(RecheckEntry(t.number, dict(t.params), t.experiment_id, float(t.value) if t.value is not None
                                    else math.nan, t.n_completed, values, mean, sd))
    key = _key(direction)
    entries.sort(key=lambda e: key(e.fresh_mean), reverse=True)
    winner, others = entries[0], entries[1:]
    comparisons = [compare(list(o.fresh_values), list(winner.fresh_values), direction=direction, alpha=alpha,
                           metric=metric, label_a=f"trial {o.trial}", label_b=f"trial {winner.trial}")
                   for o in others]
    testable = [i for i, c in enumerate(comparisons) if c.p_value is not None and math.isfinite(c.p_value)]
    adjusted: dict[int, tuple[float, bool]] = {}
    if testable:
        h = holm([comparisons[i].p_value for i in testable], alpha)
        adjusted = {i: (h.adjusted[j], h.rejected[j]) for j, i in enumerate(testable)}
    checked = []
    for i, (o, c) in enumerate(zip(others, comparisons)):
        p_adj, rejected = adjusted.get(i, (None, False))
        better = rejected and str(c.verdict) == "progression"
        checked.append(replace(o, p_value=c.p_value if i in adjusted else None, p_adjusted=p_adj,
                               distinguishable=better, verdict=str(c.verdict), sentence=c.sentence))
    raw = ((comparisons[0].arm_b.ci_low, comparisons[0].arm_b.ci_high) if comparisons
           else _t_interval(winner.fresh_values, CONFIDENCE))
    seen = [v for e in entries for v in (*e.fresh_values, e.search_mean)]
    interval = bounded_interval(raw[0], raw[1], metric_range(metric, seen))
    ci = (interval.low, interval.high)
    sign = 1.0 if direction == "max" else -1.0
    optimism = sign * (winner.search_mean - winner.fresh_mean)
    same = tuple(e.trial for e in checked if not e.distinguishable)
    n = sum(math.isfinite(v) for v in winner.fresh_values)
    head = (f"trial {winner.trial} has the best {metric} on {n} fresh seeds: {_g(winner.fresh_mean)} "
            f"({CONFIDENCE:.0%} CI {_g(ci[0])} to {_g(ci[1])}" + (f"; {interval.note}" if interval.note else "") + ")")
    if not checked:
        tail = "; it is the only configuration re-checked"
    elif not same:
        worst_p = max(e.p_adjusted for e in checked if e.p_adjusted is not None)
        tail = (f"; it is significantly better than trial(s) {', '.join(str(e.trial) for e in checked)} "
                f"(Holm-adjusted p ≤ {_g(worst_p)})")
    else:
        ps = ", ".join(f"trial {e.trial}: p_adj {_g(e.p_adjusted) if e.p_adjusted is not None else 'n/a'}"
                       for e in checked if e.trial in same)
        tail = (f"; it is statistically indistinguishable from trial(s) {', '.join(map(str, same))} ({ps}): "
                "choose among them on cost or simplicity, or re-check with more seeds")
    curse = (f". Its search estimate was {_g(winner.search_mean)} on {winner.search_seeds} seed(s): "
             f"{'optimistic' if optimism > 0 else 'pessimistic'} by {_g(abs(optimism))} (winner's curse)")
    return Recheck(metric, direction, alpha, tuple(fresh_seeds), winner, (float(ci[0]), float(ci[1])),
                   optimism, (winner, *checked), same, head + tail + (curse if math.isfinite(optimism) else ""),
                   tuple(comparisons), interval)
