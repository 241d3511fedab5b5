"""The range of a metric, and intervals that stay inside it.

A t interval of a mean ignores that a proportion cannot leave [0, 1]: with few seeds and a large
spread it prints an accuracy "CI of -0.065 to 1.488" (issue 11 §7). trialwise keeps the t interval
and *clips* it to the metric's range when the range is known, and says so. Clipping loses no
coverage: the true mean lies inside the range, so it is inside the clipped interval exactly when it
is inside the unclipped one; what clipping cannot do is make a too-wide interval informative, so the
note says the interval was clipped (more seeds are the remedy). A logit or bootstrap interval would
also respect the bounds, but the logit needs every value strictly inside (0, 1) and estimates
something other than the mean, and a bootstrap of 2-5 seeds cannot cover (Efron & Tibshirani 1993,
ch. 13), so the plain interval, clipped, is the honest one for the few seeds of a sweep.

The range is known from the metric's *name*, confirmed by its *values*: a name made of the words in
:data:`PROPORTION_WORDS` is a proportion, on the [0, 1] scale when every value lies in it, on the
percent scale [0, 100] when some value exceeds 1 (e.g. a script printing ``98.1`` for accuracy); any
other metric's range is unknown, and the interval is printed as computed, with that said.

References
----------
W. S. Gosset ("Student"), Biometrika 6 (1908); B. Efron, R. J. Tibshirani, *An Introduction to the
Bootstrap*, Chapman & Hall, 1993, ch. 12-14; A. Agresti, B. A. Coull, "Approximate is better than
'exact' for interval estimation of binomial proportions", The American Statistician 52(2), 1998
(a proportion's interval must not leave [0, 1]).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from trialwise.metrics._common import Record

__all__ = ["PERCENT_RANGE", "PROPORTION_RANGE", "PROPORTION_WORDS", "BoundedInterval", "MetricRange",
           "bounded_interval", "metric_range"]

PROPORTION_WORDS = frozenset({"acc", "accuracy", "f1", "auc", "auroc", "precision", "recall", "iou", "miou",
                              "dice"})
"""Words of a metric name that make it a proportion: the share of correct predictions (accuracy),
precision, recall and their harmonic mean F1, the area under the ROC curve, intersection over union
and the Dice coefficient are all in [0, 1] by definition (seed 003, "Performance metrics"; T. Fawcett,
"An introduction to ROC analysis", Pattern Recognition Letters 27, 2006). A name matches when one of
its words (split at ``_ - / . :`` and spaces, case-insensitive) is in this set and none is in
:data:`NOT_PROPORTION_WORDS`."""

NOT_PROPORTION_WORDS = frozenset({"loss", "error", "err", "delta", "diff", "gain", "logit", "logits"})
"""Words that make a name *not* a proportion even beside one of :data:`PROPORTION_WORDS`
(``f1_loss``, ``acc_delta``): a loss, an error or a difference has no known range."""

PROPORTION_RANGE = (0.0, 1.0)
"""Range of a proportion on the unit scale."""

PERCENT_RANGE = (0.0, 100.0)
"""Range of a proportion printed in percent."""

_WORD_SPLIT = re.compile(r"[\s_\-/.:]+")


@dataclass(frozen=True)
class MetricRange(Record):
    """The values a metric can take: ``low``/``high`` (``None`` = unknown) and why."""

    metric: str
    low: float | None
    high: float | None
    reason: str

    @property
    def known(self) -> bool:
        return self.low is not None and self.high is not None

    def describe(self) -> str:
        """``"[0, 1]"`` or ``"unknown"``."""
        return f"[{self.low:g}, {self.high:g}]" if self.known else "unknown"  # type: ignore[str-format]


def _words(name: str) -> set[str]:
    return {w for w in _WORD_SPLIT.split(str(name).lower()) if w}


def metric_range(metric: str, values: Iterable[float] = ()) -> MetricRange:
    """The range of ``metric``, from its name (see :data:`PROPORTION_WORDS`) and its observed values.

    Parameters
    ----------
    metric : str
        The metric's name, e.g. ``"val_acc"``, ``"eval_f1"``, ``"val_loss"``.
    values : iterable of float
        Values seen (NaN ignored): a proportion-named metric with a value above 1 (and none above
        100 or below 0) is read on the percent scale; one outside [0, 100] has an unknown range.

    Examples
    --------
    >>> metric_range("val_acc", [0.91, 0.93]).describe()
    '[0, 1]'
    >>> metric_range("val_acc", [91.0, 93.5]).describe()
    '[0, 100]'
    >>> metric_range("val_loss", [0.3]).describe()
    'unknown'
    """
    words = _words(metric)
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not words & PROPORTION_WORDS or words & NOT_PROPORTION_WORDS:
        return MetricRange(metric, None, None, f"the range of '{metric}' is unknown (not named as a proportion "
                                               "such as acc, f1, auc, precision or recall)")
    if all(PROPORTION_RANGE[0] <= v <= PROPORTION_RANGE[1] for v in finite):
        return MetricRange(metric, *PROPORTION_RANGE, f"'{metric}' is a proportion")
    if all(PERCENT_RANGE[0] <= v <= PERCENT_RANGE[1] for v in finite):
        return MetricRange(metric, *PERCENT_RANGE, f"'{metric}' is a proportion in percent (values above 1)")
    return MetricRange(metric, None, None, f"the range of '{metric}' is unknown: it is named as a proportion but "
                                           f"takes values outside [0, 100] (e.g. {next(v for v in finite if not 0 <= v <= 100):g})")


@dataclass(frozen=True)
class BoundedInterval(Record):
    """An interval kept inside its metric's range: ``low``/``high`` as reported, ``raw_*`` as computed."""

    low: float
    high: float
    raw_low: float
    raw_high: float
    range: MetricRange
    clipped: bool
    note: str


def bounded_interval(low: float, high: float, rng: MetricRange) -> BoundedInterval:
    """``[low, high]`` clipped to ``rng`` when it is known, with a note that says what was done.

    The note is empty when the interval already lies inside a known range; it says the interval was
    clipped (and what it was) when it did not; it says the range is unknown otherwise.
    """
    lo, hi = float(low), float(high)
    if not rng.known:
        return BoundedInterval(lo, hi, lo, hi, rng, False,
                               f"the range of '{rng.metric}' is unknown, so the interval is not bounded")
    a, b = float(rng.low), float(rng.high)  # type: ignore[arg-type]
    if not (math.isfinite(lo) and math.isfinite(hi)) or (a <= lo and hi <= b):
        return BoundedInterval(lo, hi, lo, hi, rng, False, "")
    clo, chi = min(max(lo, a), b), min(max(hi, a), b)
    note = (f"clipped to {rng.describe()}, the range of '{rng.metric}' (computed: {lo:.4g} to {hi:.4g}; too few "
            "seeds or too much spread for a narrower interval)")
    return BoundedInterval(clo, chi, lo, hi, rng, True, note)
