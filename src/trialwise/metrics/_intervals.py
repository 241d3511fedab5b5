"""Binomial confidence intervals and the rare-event accuracy warning."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

from trialwise._exceptions import DataError, UsageError
from trialwise.metrics._common import Record, as_labels, check_fraction, fmt_pct, label_names

__all__ = ["Interval", "RareEventCheck", "rare_event_warning", "wilson_interval"]

DEFAULT_CONFIDENCE = 0.95
"""Two-sided confidence level of reported intervals (the conventional 95%)."""


@dataclass(frozen=True)
class Interval(Record):
    """A proportion ``k / n`` with its two-sided confidence interval ``[low, high]``."""

    estimate: float
    low: float
    high: float
    k: int
    n: int
    confidence: float

    def __str__(self) -> str:
        return f"{fmt_pct(self.estimate)} [{fmt_pct(self.low, rounding='down')}, {fmt_pct(self.high, rounding='up')}]"


def wilson_interval(k: int, n: int, confidence: float = DEFAULT_CONFIDENCE) -> Interval:
    """Wilson score interval for a binomial proportion ``k`` successes out of ``n`` trials.

    Unlike the normal ("Wald") interval it stays inside [0, 1] and keeps close to nominal coverage
    for small ``n`` and proportions near 0 or 1, which is where error-analysis samples live.

    Parameters
    ----------
    k, n : int
        Successes and trials, ``0 <= k <= n``, ``n >= 1``.
    confidence : float
        Two-sided confidence level in (0, 1).

    Returns
    -------
    Interval

    References
    ----------
    .. [1] E. B. Wilson, "Probable inference, the law of succession, and statistical inference",
       JASA 22(158), 1927.
    .. [2] L. D. Brown, T. T. Cai, A. DasGupta, "Interval estimation for a binomial proportion",
       Statistical Science 16(2), 2001.

    Examples
    --------
    >>> str(wilson_interval(5, 100))
    '5.0% [2.1%, 11.2%]'
    """
    conf = check_fraction(confidence, "confidence", "wilson_interval")
    if isinstance(k, float) and not k.is_integer():
        raise UsageError(f"The 'k' parameter of wilson_interval must be a whole count. Got {k!r} instead.")
    k, n = int(k), int(n)
    if n < 1 or not 0 <= k <= n:
        raise UsageError(f"The 'k' and 'n' parameters of wilson_interval must satisfy 0 <= k <= n and "
                         f"n >= 1. Got k={k}, n={n} instead.")
    z = NormalDist().inv_cdf(0.5 + conf / 2)
    p = k / n
    z2n = z * z / n
    center = (p + z2n / 2) / (1 + z2n)
    half = z / (1 + z2n) * math.sqrt(p * (1 - p) / n + z2n / (4 * n))
    # exact endpoints at k = 0 / k = n (the formula gives them up to rounding)
    low = 0.0 if k == 0 else max(0.0, center - half)
    high = 1.0 if k == n else min(1.0, center + half)
    return Interval(estimate=p, low=low, high=high, k=k, n=n, confidence=conf)


@dataclass(frozen=True)
class RareEventCheck(Record):
    """Whether an accuracy is distinguishable from always predicting the majority class."""

    warn: bool
    accuracy: Interval
    majority_label: Any
    majority_rate: float
    minority_rate: float
    n_classes: int
    message: str


def rare_event_warning(y_true: Any, accuracy: float, confidence: float = DEFAULT_CONFIDENCE,
                       classes: Sequence[str] | None = None) -> RareEventCheck:
    """Warn when ``accuracy`` is within noise of the trivial always-majority-class accuracy.

    With a disease one person in a million has, predicting "nobody is ill" scores 99.9999%
    accuracy (seed 003). The check builds the Wilson interval of the accuracy on ``len(y_true)``
    examples and warns when its lower end does not clear the majority-class rate: the accuracy
    then says nothing; lead with precision and recall of the rare class instead.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True labels of the evaluation set.
    accuracy : float
        The model's accuracy on that set, in [0, 1].
    confidence : float
        Level of the Wilson interval.
    classes : sequence of str, optional
        Display names of integer labels (``classes[label]``), used in the message.

    Returns
    -------
    RareEventCheck
        ``warn`` and a ``message`` sentence.

    References
    ----------
    .. [1] I. Goodfellow, Y. Bengio, A. Courville, "Deep Learning", MIT Press 2016, ch. 11.1
       (performance metrics for rare events; seed 003).
    .. [2] E. B. Wilson, JASA 22(158), 1927.
    """
    y = as_labels(y_true, "y_true", "rare_event_warning")
    acc = check_fraction(accuracy, "accuracy", "rare_event_warning", open_low=False, open_high=False)
    if len(y) == 0:
        raise DataError("The 'y_true' parameter of rare_event_warning is empty.")
    values, counts = np.unique(y, return_counts=True)
    i = int(np.argmax(counts))
    n = len(y)
    majority = counts[i] / n
    interval = wilson_interval(round(acc * n), n, confidence)
    warn = interval.low <= majority
    label = values[i].item()
    name = label_names(values[i:i + 1], classes)[0] if classes is not None else label
    if warn and len(values) == 1:
        message = (f"every one of the {n} examples is of class {name!r}: accuracy {interval} says nothing "
                   f"about telling classes apart; evaluate on data that contains the other class(es)")
    elif warn and interval.high < majority:
        message = (f"accuracy {interval} on {n} examples is below {fmt_pct(majority)}, the accuracy of always "
                   f"predicting {name!r}; report precision and recall of the rarer class(es) instead of accuracy")
    elif warn:
        message = (f"accuracy {interval} on {n} examples is within noise of {fmt_pct(majority)}, the accuracy "
                   f"of always predicting {name!r}; report precision and recall of the rarer "
                   f"class(es) instead of accuracy")
    else:
        message = (f"accuracy {interval} clears the always-{name!r} rate of {fmt_pct(majority)}")
    return RareEventCheck(warn=bool(warn), accuracy=interval, majority_label=label,
                          majority_rate=float(majority), minority_rate=float(counts.min() / n),
                          n_classes=len(values), message=message)
