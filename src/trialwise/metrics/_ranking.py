"""Score-based metrics: precision-recall curve, average precision, threshold for a target."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from trialwise._exceptions import DataError, UsageError
from trialwise.metrics._common import (
    Record,
    as_labels,
    as_scores,
    check_fraction,
    check_same_length,
    fmt_pct,
)
from trialwise.metrics._intervals import Interval, wilson_interval

__all__ = ["PRCurve", "ThresholdChoice", "average_precision", "precision_recall_curve", "threshold_for_target"]

AVERAGES = ("macro", "weighted", "micro", None)
"""Ways to combine one-vs-rest average precision over classes (scikit-learn's options)."""


@dataclass(frozen=True, eq=False)
class PRCurve(Record):
    """Precision-recall pairs over all distinct thresholds, in scikit-learn's layout.

    ``precision[i]``, ``recall[i]`` hold when predicting positive for ``score >= thresholds[i]``;
    thresholds increase, recall decreases; the last pair (1, 0) has no threshold.
    """

    precision: np.ndarray
    recall: np.ndarray
    thresholds: np.ndarray
    average_precision: float
    n_positive: int
    n: int
    pos_label: Any


def _binary_truth(y_true: Any, pos_label: Any, where: str) -> np.ndarray:
    yt = as_labels(y_true, "y_true", where)
    return yt == pos_label


def _curve(is_pos: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """The scikit-learn construction, operation for operation, so results match bit for bit."""
    order = np.argsort(-s, kind="stable")
    s_sorted = s[order]
    y = is_pos[order].astype(np.float64)
    distinct = np.nonzero(np.diff(s_sorted))[0]
    idx = np.concatenate([distinct, [len(y) - 1]])
    tps = np.cumsum(y, dtype=np.float64)[idx]
    fps = 1 + idx.astype(np.float64) - tps
    ps = tps + fps
    precision = np.where(ps != 0, np.divide(tps, ps, out=np.zeros_like(tps), where=ps != 0), 0.0)
    n_pos = int(tps[-1])
    if n_pos == 0:
        warnings.warn("No positive example in y_true: recall is set to 1 for all thresholds and average "
                      "precision is 0 (scikit-learn's convention); the metric is meaningless here.",
                      UserWarning, stacklevel=3)
        recall = np.full(tps.shape, 1.0)
    else:
        recall = tps / tps[-1]
    return (np.concatenate([precision[::-1], [1.0]]), np.concatenate([recall[::-1], [0.0]]),
            s_sorted[idx][::-1], n_pos)


def _ap(precision: np.ndarray, recall: np.ndarray) -> float:
    # step-function integral; the last precision is 1 by construction; clip -0.0 like scikit-learn
    return float(max(0.0, -np.sum(np.diff(recall) * precision[:-1])))


def precision_recall_curve(y_true: Any, scores: Any, pos_label: Any = 1) -> PRCurve:
    """Precision and recall at every distinct score threshold (binary).

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True labels; ``pos_label`` is the positive class.
    scores : array-like of shape (n,)
        Score of the positive class; higher means more likely positive.
    pos_label : int or str

    Returns
    -------
    PRCurve
        Arrays identical to ``sklearn.metrics.precision_recall_curve`` (``drop_intermediate=False``)
        and its average precision.

    References
    ----------
    .. [1] J. Davis, M. Goadrich, "The relationship between precision-recall and ROC curves",
       ICML 2006.
    """
    where = "precision_recall_curve"
    is_pos = _binary_truth(y_true, pos_label, where)
    s = as_scores(scores, "scores", where, ndim=(1,))
    n = check_same_length(where, y_true=is_pos, scores=s)
    precision, recall, thresholds, n_pos = _curve(is_pos, s)
    return PRCurve(precision=precision, recall=recall, thresholds=thresholds,
                   average_precision=_ap(precision, recall), n_positive=n_pos, n=n, pos_label=pos_label)


def average_precision(y_true: Any, scores: Any, *, pos_label: Any = 1, labels: Any = None,
                      average: str | None = "macro") -> float | np.ndarray:
    """Average precision: ``AP = sum_n (R_n - R_{n-1}) P_n`` over the thresholds (no interpolation).

    Same definition and same numbers as ``sklearn.metrics.average_precision_score``; not the
    trapezoidal area, which is optimistic.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True labels.
    scores : array-like of shape (n,) or (n, k)
        Binary: score of ``pos_label``. Multi-class: column ``j`` scores ``labels[j]``
        (one-vs-rest).
    pos_label : int or str
        Positive class in the binary case.
    labels : array-like of shape (k,), optional
        Label of each score column; default ``0 .. k-1``.
    average : {'macro', 'weighted', 'micro', None}
        How one-vs-rest values combine; ``None`` returns one AP per column. A column whose class
        never occurs scores 0 (scikit-learn's convention) with a warning.

    Returns
    -------
    float or ndarray of shape (k,)

    References
    ----------
    .. [1] M. Zhu, "Recall, precision and average precision", University of Waterloo, 2004.
    .. [2] scikit-learn ``average_precision_score`` (identical definition).

    Examples
    --------
    >>> average_precision([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.8333333333333333
    """
    where = "average_precision"
    s = as_scores(scores, "scores", where)
    if s.ndim == 1:
        is_pos = _binary_truth(y_true, pos_label, where)
        check_same_length(where, y_true=is_pos, scores=s)
        p, r, _, _ = _curve(is_pos, s)
        return _ap(p, r)
    if average not in AVERAGES:
        raise UsageError(f"The 'average' parameter of {where} must be one of {AVERAGES}. Got {average!r} instead.")
    yt = as_labels(y_true, "y_true", where)
    check_same_length(where, y_true=yt, scores=s)
    lab = np.arange(s.shape[1]) if labels is None else as_labels(labels, "labels", where)
    if len(lab) != s.shape[1]:
        raise DataError(f"The 'labels' parameter of {where} must name each of the {s.shape[1]} score columns. "
                        f"Got {len(lab)} labels instead.")
    onehot = yt[:, None] == lab[None, :]
    if average == "micro":
        p, r, _, _ = _curve(onehot.ravel(), s.ravel())
        return _ap(p, r)
    per_class = np.zeros(len(lab))
    for j in range(len(lab)):
        p, r, _, _ = _curve(onehot[:, j], s[:, j])
        per_class[j] = _ap(p, r)
    if average is None:
        return per_class
    if average == "weighted":
        w = onehot.sum(axis=0)
        return float(np.average(per_class, weights=w)) if w.sum() else 0.0
    return float(np.mean(per_class))


@dataclass(frozen=True)
class ThresholdChoice(Record):
    """The threshold that meets a precision or recall target with the best other metric."""

    target_metric: str
    target: float
    achieved: bool
    threshold: float | None
    precision: Interval | None
    recall: Interval | None
    n_flagged: int
    message: str


def threshold_for_target(y_true: Any, scores: Any, *, precision: float | None = None,
                         recall: float | None = None, pos_label: Any = 1) -> ThresholdChoice:
    """The threshold meeting a precision target with most recall, or a recall target with most precision.

    Parameters
    ----------
    y_true, scores, pos_label
        As :func:`precision_recall_curve`.
    precision, recall : float
        Exactly one target in (0, 1]: ``precision=0.95`` finds the lowest threshold whose precision
        is at least 95% (maximising recall); ``recall=0.9`` the highest threshold keeping recall at
        least 90% (maximising precision).

    Returns
    -------
    ThresholdChoice
        With Wilson 95% intervals of the achieved precision and recall (both are estimates from
        this sample: the threshold will not give exactly the same numbers on new data). Not
        achieved when ``y_true`` has no positive example (recall is then undefined).

    References
    ----------
    .. [1] I. Goodfellow, Y. Bengio, A. Courville, "Deep Learning", 2016, ch. 11.1 (seed 003:
       "if the classifier outputs a score, metrics depend on a threshold").
    """
    where = "threshold_for_target"
    if (precision is None) == (recall is None):
        raise UsageError(f"{where} needs exactly one target: precision=... or recall=... "
                         f"Got precision={precision!r}, recall={recall!r}.")
    metric = "precision" if precision is not None else "recall"
    target = check_fraction(precision if precision is not None else recall, metric, where,  # type: ignore[arg-type]
                            open_high=False)
    curve = precision_recall_curve(y_true, scores, pos_label)
    if curve.n_positive == 0:
        # recall is 1 at every threshold by convention: any recall target would be "met" by a fiction
        message = (f"no positive example ({pos_label!r}) among these {curve.n} examples: precision and recall "
                   f"targets are undefined; evaluate on data that contains the positive class")
        return ThresholdChoice(metric, target, False, None, None, None, 0, message)
    p, r, t = curve.precision[:-1], curve.recall[:-1], curve.thresholds
    if metric == "precision":
        ok = p >= target
        # most recall, then most precision, then the highest threshold (fewest flags)
        key = np.lexsort((t, p, r))
    else:
        ok = r >= target
        key = np.lexsort((t, p))
    candidates = [i for i in key[::-1] if ok[i]]
    s = as_scores(scores, "scores", where, ndim=(1,))
    is_pos = _binary_truth(y_true, pos_label, where)
    if not candidates:
        best = int(np.argmax(p if metric == "precision" else r))
        message = (f"no threshold reaches {metric} >= {fmt_pct(target)} on these {curve.n} examples "
                   f"({curve.n_positive} positive); the best is precision {fmt_pct(p[best])} at recall "
                   f"{fmt_pct(r[best])}")
        return ThresholdChoice(metric, target, False, None, None, None, 0, message)
    i = candidates[0]
    thr = float(t[i])
    flagged = s >= thr
    tp = int(np.sum(flagged & is_pos))
    prec = wilson_interval(tp, int(flagged.sum()))
    rec = wilson_interval(tp, max(curve.n_positive, 1)) if curve.n_positive else None
    message = (f"flag scores >= {thr:.4g}: precision {prec}, recall "
               f"{rec if rec is not None else 'undefined'} on {curve.n} examples "
               f"(target {metric} >= {fmt_pct(target)})")
    return ThresholdChoice(metric, target, True, thr, prec, rec, int(flagged.sum()), message)
