"""Label-based classification metrics: confusion matrix, per-class report, thresholded P/R/F, costs.

Zero division (documented once, used everywhere): precision with no predicted positives, recall
with no true examples, and F-beta with neither are undefined; they take the value of the
``zero_division`` parameter (default 0.0, scikit-learn's value without its warning; ``np.nan``
marks them as undefined and averages then skip them, like scikit-learn's ``_nanaverage``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from trialwise._exceptions import DataError, UsageError
from trialwise.metrics._common import (
    Record,
    as_labels,
    as_scores,
    check_same_length,
    label_names,
    unique_labels,
)

__all__ = [
    "ClassReport", "ConfusionMatrix", "PrecisionRecall", "confusion_matrix", "cost_weighted_error",
    "per_class_report", "precision_recall_fbeta", "precision_recall_fbeta_ovr",
]

DEFAULT_ZERO_DIVISION = 0.0
"""Value of an undefined precision/recall/F (0/0); scikit-learn's default value (>= 1.3)."""

DEFAULT_THRESHOLD = 0.5
"""Decision threshold on a probability score (predict positive when ``score >= threshold``)."""


@dataclass(frozen=True, eq=False)
class ConfusionMatrix(Record):
    """Counts ``matrix[i, j]`` of examples with true label ``labels[i]`` predicted as ``labels[j]``."""

    labels: np.ndarray
    matrix: np.ndarray

    @property
    def n(self) -> int:
        return int(self.matrix.sum())

    @property
    def accuracy(self) -> float:
        return float(np.trace(self.matrix) / self.matrix.sum()) if self.matrix.sum() else math.nan

    def normalized(self) -> np.ndarray:
        """Rows divided by their totals (recall on the diagonal); empty rows stay 0."""
        totals = self.matrix.sum(axis=1, keepdims=True)
        return np.divide(self.matrix, totals, out=np.zeros(self.matrix.shape), where=totals > 0)


def _label_index(labels: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Position of each ``y`` in ``labels``; -1 where absent."""
    order = np.argsort(labels, kind="stable")
    pos = np.searchsorted(labels, y, sorter=order)
    pos = np.clip(pos, 0, len(labels) - 1)
    idx = order[pos]
    return np.where(labels[idx] == y, idx, -1)


def _resolve_labels(y_true: np.ndarray, y_pred: np.ndarray, labels: Any, where: str) -> np.ndarray:
    if labels is None:
        return unique_labels(y_true, y_pred)
    lab = as_labels(labels, "labels", where)
    if len(lab) == 0 or len(np.unique(lab)) != len(lab):
        raise UsageError(f"The 'labels' parameter of {where} must be non-empty and without repeats. "
                         f"Got {lab.tolist()} instead.")
    if (lab.dtype.kind == "U") != (y_true.dtype.kind == "U") and len(y_true):
        raise DataError(f"The 'labels' parameter of {where} must be of the same kind as the labels "
                        f"(integers or strings). Got {lab.tolist()[:5]} for labels such as "
                        f"{y_true[:3].tolist()} instead.")
    return lab


def confusion_matrix(y_true: Any, y_pred: Any, labels: Any = None) -> ConfusionMatrix:
    """Confusion matrix with true labels as rows and predictions as columns.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
        Integer or string labels.
    labels : array-like, optional
        Row/column order; default the sorted union of both (scikit-learn's order). Examples whose
        true or predicted label is not listed are not counted.

    Returns
    -------
    ConfusionMatrix

    References
    ----------
    .. [1] scikit-learn ``sklearn.metrics.confusion_matrix`` (same layout and label order).
    """
    yt = as_labels(y_true, "y_true", "confusion_matrix")
    yp = as_labels(y_pred, "y_pred", "confusion_matrix")
    check_same_length("confusion_matrix", y_true=yt, y_pred=yp)
    lab = _resolve_labels(yt, yp, labels, "confusion_matrix")
    k = len(lab)
    it, ip = _label_index(lab, yt), _label_index(lab, yp)
    keep = (it >= 0) & (ip >= 0)
    matrix = np.bincount(it[keep] * k + ip[keep], minlength=k * k).reshape(k, k).astype(np.int64)
    return ConfusionMatrix(labels=lab, matrix=matrix)


def _divide(num: np.ndarray, den: np.ndarray, zero_division: float) -> np.ndarray:
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.full(np.broadcast(num, den).shape, float(zero_division))
    np.divide(num, den, out=out, where=den != 0)
    return out


def _check_beta(beta: float, where: str) -> float:
    b = float(beta)
    if not b >= 0 or math.isnan(b):
        raise UsageError(f"The 'beta' parameter of {where} must be >= 0. Got {beta!r} instead.")
    return b


def _prf(tp: np.ndarray, pred: np.ndarray, true: np.ndarray, beta: float,
         zero_division: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall, F-beta from counts; F = (1+b^2) tp / (b^2 true + pred) as scikit-learn."""
    precision = _divide(tp, pred, zero_division)
    recall = _divide(tp, true, zero_division)
    if math.isinf(beta):
        return precision, recall, recall
    if beta == 0:
        return precision, recall, precision
    b2 = beta * beta
    fscore = _divide((1 + b2) * np.asarray(tp, dtype=np.float64),
                     b2 * np.asarray(true, dtype=np.float64) + np.asarray(pred, dtype=np.float64),
                     zero_division)
    return precision, recall, fscore


@dataclass(frozen=True)
class AveragedScores(Record):
    """Precision, recall and F-beta averaged over classes."""

    precision: float
    recall: float
    fscore: float


@dataclass(frozen=True, eq=False)
class ClassReport(Record):
    """Per-class precision, recall, F-beta and support, with macro/weighted/micro averages."""

    labels: np.ndarray
    names: tuple[str, ...]
    precision: np.ndarray
    recall: np.ndarray
    fscore: np.ndarray
    support: np.ndarray
    beta: float
    accuracy: float
    macro: AveragedScores
    weighted: AveragedScores
    micro: AveragedScores

    def rows(self) -> list[dict[str, Any]]:
        """One dict per class (for tables)."""
        return [{"label": self.labels[i].item(), "name": self.names[i], "precision": float(self.precision[i]),
                 "recall": float(self.recall[i]), "fscore": float(self.fscore[i]),
                 "support": int(self.support[i])} for i in range(len(self.labels))]


def _nanaverage(a: np.ndarray, weights: np.ndarray | None = None) -> float:
    mask = ~np.isnan(a)
    if not mask.any():
        return math.nan
    if weights is None:
        return float(np.mean(a[mask]))
    w = weights[mask].astype(np.float64)
    return float(np.average(a[mask], weights=w)) if w.sum() > 0 else 0.0


def per_class_report(y_true: Any, y_pred: Any, labels: Any = None, classes: Sequence[str] | None = None,
                     beta: float = 1.0, zero_division: float = DEFAULT_ZERO_DIVISION) -> ClassReport:
    """Precision, recall, F-beta and support for every class, plus averages.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
        Integer or string labels.
    labels : array-like, optional
        Classes to report, in order; default the sorted union of both.
    classes : sequence of str, optional
        Display names for integer labels (``classes[label]``).
    beta : float
        Recall is ``beta`` times as important as precision (``beta=1``: F1).
    zero_division : float
        Value of undefined ratios (see the module docstring); ``np.nan`` excludes them from averages.

    Returns
    -------
    ClassReport
        Equal to ``sklearn.metrics.precision_recall_fscore_support(..., average=None)`` for the
        same ``labels``, ``beta`` and ``zero_division``.

    References
    ----------
    .. [1] C. J. van Rijsbergen, "Information Retrieval", 2nd ed., 1979 (F-beta).
    """
    where = "per_class_report"
    beta = _check_beta(beta, where)
    yt = as_labels(y_true, "y_true", where)
    yp = as_labels(y_pred, "y_pred", where)
    n = check_same_length(where, y_true=yt, y_pred=yp)
    cm = confusion_matrix(yt, yp, labels)
    m = cm.matrix
    tp = np.diag(m)
    pred, true = m.sum(axis=0), m.sum(axis=1)
    precision, recall, fscore = _prf(tp, pred, true, beta, zero_division)
    micro = _prf(tp.sum(keepdims=True), pred.sum(keepdims=True), true.sum(keepdims=True), beta, zero_division)
    return ClassReport(
        labels=cm.labels, names=tuple(label_names(cm.labels, classes)), precision=precision, recall=recall,
        fscore=fscore, support=true, beta=beta, accuracy=float(tp.sum() / n),
        macro=AveragedScores(_nanaverage(precision), _nanaverage(recall), _nanaverage(fscore)),
        weighted=AveragedScores(_nanaverage(precision, true), _nanaverage(recall, true),
                                _nanaverage(fscore, true)),
        micro=AveragedScores(float(micro[0][0]), float(micro[1][0]), float(micro[2][0])),
    )


@dataclass(frozen=True)
class PrecisionRecall(Record):
    """Precision, recall and F-beta of one class at one threshold (positive when ``score >= threshold``)."""

    label: Any
    threshold: float
    beta: float
    precision: float
    recall: float
    fscore: float
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def support(self) -> int:
        return self.tp + self.fn


def _thresholded(label: Any, is_pos: np.ndarray, score: np.ndarray, threshold: float, beta: float,
                 zero_division: float) -> PrecisionRecall:
    predicted = score >= threshold
    tp = int(np.sum(predicted & is_pos))
    fp = int(np.sum(predicted & ~is_pos))
    fn = int(np.sum(~predicted & is_pos))
    tn = len(is_pos) - tp - fp - fn
    p, r, f = _prf(np.array(tp), np.array(tp + fp), np.array(tp + fn), beta, zero_division)
    return PrecisionRecall(label=label, threshold=float(threshold), beta=beta, precision=float(p),
                           recall=float(r), fscore=float(f), tp=tp, fp=fp, fn=fn, tn=tn)


def _check_threshold(threshold: float, where: str) -> float:
    t = float(threshold)
    if math.isnan(t):
        raise UsageError(f"The 'threshold' parameter of {where} must be a number. Got {threshold!r} instead.")
    return t


def precision_recall_fbeta(y_true: Any, scores: Any, threshold: float = DEFAULT_THRESHOLD, beta: float = 1.0,
                           pos_label: Any = 1, zero_division: float = DEFAULT_ZERO_DIVISION) -> PrecisionRecall:
    """Binary precision, recall and F-beta when predicting positive for ``scores >= threshold``.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True labels; ``pos_label`` marks the positive class, anything else is negative.
    scores : array-like of shape (n,)
        Score of the positive class (probability or any monotone confidence).
    threshold, beta, pos_label, zero_division
        See :func:`per_class_report` for ``beta`` and ``zero_division``.

    Returns
    -------
    PrecisionRecall

    References
    ----------
    .. [1] I. Goodfellow, Y. Bengio, A. Courville, "Deep Learning", 2016, ch. 11.1 (seed 003).
    """
    where = "precision_recall_fbeta"
    yt = as_labels(y_true, "y_true", where)
    s = as_scores(scores, "scores", where, ndim=(1,))
    check_same_length(where, y_true=yt, scores=s)
    return _thresholded(pos_label, yt == pos_label, s, _check_threshold(threshold, where),
                        _check_beta(beta, where), zero_division)


def precision_recall_fbeta_ovr(y_true: Any, scores: Any, labels: Any = None,
                               threshold: float = DEFAULT_THRESHOLD, beta: float = 1.0,
                               zero_division: float = DEFAULT_ZERO_DIVISION) -> tuple[PrecisionRecall, ...]:
    """One-vs-rest :func:`precision_recall_fbeta` for every column of a score matrix.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True labels.
    scores : array-like of shape (n, k)
        Column ``j`` scores class ``labels[j]``.
    labels : array-like of shape (k,), optional
        The label of each column; default ``0 .. k-1``.

    Returns
    -------
    tuple of PrecisionRecall
        One per column, class ``labels[j]`` positive, every other class negative.
    """
    where = "precision_recall_fbeta_ovr"
    yt = as_labels(y_true, "y_true", where)
    s = as_scores(scores, "scores", where, ndim=(2,))
    check_same_length(where, y_true=yt, scores=s)
    lab = np.arange(s.shape[1]) if labels is None else as_labels(labels, "labels", where)
    if len(lab) != s.shape[1]:
        raise DataError(f"The 'labels' parameter of {where} must name each of the {s.shape[1]} score "
                        f"columns. Got {len(lab)} labels instead.")
    t, b = _check_threshold(threshold, where), _check_beta(beta, where)
    return tuple(_thresholded(lab[j].item(), yt == lab[j], s[:, j], t, b, zero_division)
                 for j in range(len(lab)))


def cost_weighted_error(y_true: Any, y_pred: Any, cost_matrix: Any, labels: Any = None) -> float:
    """Mean misclassification cost per example (lower is better).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
    cost_matrix : array-like of shape (k, k)
        ``cost_matrix[i, j]`` is the cost of predicting ``labels[j]`` for an example of ``labels[i]``
        (usually 0 on the diagonal). A missed tumour may cost 100 times a false alarm (seed 003:
        "different errors should be weighted differently").
    labels : array-like of shape (k,), optional
        Row/column order of ``cost_matrix``; default the sorted union of labels, which must then
        have exactly ``k`` classes.

    Returns
    -------
    float
        ``sum(confusion * cost) / n``; with 0/1 costs this is the error rate.

    References
    ----------
    .. [1] C. Elkan, "The foundations of cost-sensitive learning", IJCAI 2001.
    """
    where = "cost_weighted_error"
    cost = as_scores(cost_matrix, "cost_matrix", where, ndim=(2,))
    if cost.shape[0] != cost.shape[1]:
        raise DataError(f"The 'cost_matrix' parameter of {where} must be square. Got shape {cost.shape} instead.")
    yt = as_labels(y_true, "y_true", where)
    yp = as_labels(y_pred, "y_pred", where)
    n = check_same_length(where, y_true=yt, y_pred=yp)
    lab = _resolve_labels(yt, yp, labels, where)
    if len(lab) != cost.shape[0]:
        raise DataError(f"The 'cost_matrix' parameter of {where} must be {len(lab)}x{len(lab)} for labels "
                        f"{lab.tolist()}. Got shape {cost.shape} instead; pass labels= to fix the order.")
    missing = sorted(set(np.concatenate([yt, yp]).tolist()) - set(lab.tolist()))
    if missing:
        raise DataError(f"Labels {missing[:5]} appear in y_true/y_pred but not in 'labels' of {where}; "
                        f"every label needs a row and a column of the cost matrix.")
    cm = confusion_matrix(yt, yp, lab).matrix
    return float((cm * cost).sum() / n)
