"""What a trial is worth: per-seed values of the decision metric, or of the training-loss series when
the learning rate is tuned on the training set (seed 003), and their seed mean.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from trialwise._exceptions import UsageError
from trialwise.metrics._common import Record

__all__ = ["OBJECTIVE_KINDS", "Objective", "SeedAggregate", "aggregate"]

OBJECTIVE_KINDS = ("summary", "series-mean", "series-final")
"""How one seed's value is read: ``summary`` is the run's summary of the metric (the config's
``metric.summary`` rule: last, best or explicit); ``series-mean`` the mean of the whole logged series
(the area under a training curve: rewards fast, stable descent and averages minibatch noise);
``series-final`` its last value.  Seed 003: "Learning rate can be tuned on the training set", the
training loss curve per learning rate."""


@dataclass(frozen=True)
class Objective(Record):
    """The trial objective: which metric, which way is better, and how a seed's value is read."""

    metric: str
    direction: str
    kind: str = "summary"

    def __post_init__(self) -> None:
        if self.direction not in ("max", "min"):
            raise UsageError(f"The 'direction' of an objective must be 'max' or 'min'. Got {self.direction!r} instead.")
        if self.kind not in OBJECTIVE_KINDS:
            raise UsageError(f"The 'kind' of an objective must be one of {', '.join(OBJECTIVE_KINDS)}. "
                             f"Got {self.kind!r} instead.")

    @property
    def worst(self) -> float:
        return -math.inf if self.direction == "max" else math.inf

    @property
    def optuna_direction(self) -> str:
        return "maximize" if self.direction == "max" else "minimize"

    def better(self, a: float, b: float) -> bool:
        """Whether ``a`` is strictly better than ``b``."""
        return a > b if self.direction == "max" else a < b

    def seed_value(self, summary: Mapping[str, float], series: Sequence[float] | None = None) -> float:
        """One seed's value: NaN when the seed has none (failed); the worst value when the series
        diverged (a non-finite training loss is a bad learning rate, not a missing one)."""
        if self.kind == "summary":
            v = summary.get(self.metric, math.nan)
            return float(v) if v is not None else math.nan
        values = list(series or ())
        if not values:
            return math.nan
        if not all(math.isfinite(v) for v in values):
            return self.worst
        return statistics.fmean(values) if self.kind == "series-mean" else float(values[-1])

    def describe(self) -> str:
        how = {"summary": "", "series-mean": " (mean of the logged series)", "series-final": " (last logged value)"}
        return f"{self.metric} ({self.direction}){how[self.kind]}"


@dataclass(frozen=True)
class SeedAggregate(Record):
    """A trial's seeds: the mean is the objective, the std is kept next to it."""

    values: tuple[float, ...]
    mean: float
    std: float
    n: int
    n_ok: int


def aggregate(values: Sequence[float]) -> SeedAggregate:
    """Mean and std (ddof=1) of the seeds that gave a value; NaN marks a failed seed, ±inf (diverged)
    is kept and makes the mean infinite."""
    ok = [v for v in values if not math.isnan(v)]
    mean = (math.inf if math.inf in ok else -math.inf) if any(math.isinf(v) for v in ok) else (
        statistics.fmean(ok) if ok else math.nan)
    finite = [v for v in ok if math.isfinite(v)]
    std = statistics.stdev(finite) if len(finite) > 1 and len(finite) == len(ok) else math.nan
    return SeedAggregate(tuple(values), mean, std, len(values), len(ok))
