"""Whole reports behind ``trialwise errors`` and ``trialwise metrics``: the pure functions composed for one run.

:func:`error_report` answers "which mistakes, and are they stable across seeds?"; :func:`metrics_report`
answers "how good is it, judged the right way?" (precision/recall before accuracy on rare events,
average precision, thresholds for targets, costs, coverage). Both return frozen records with
``to_dict()`` and a ``plots()`` method giving the plot records to draw.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from trialwise._exceptions import DataError, UsageError
from trialwise.errors._analysis import (
    CollapseSuggestion,
    ConfusedPair,
    Mistake,
    StableErrors,
    _align,
    most_confused,
    stable_errors,
    suggest_collapse,
    worst_mistakes,
)
from trialwise.errors._predictions import Predictions, _positive_label
from trialwise.metrics._classification import (
    DEFAULT_THRESHOLD,
    ClassReport,
    ConfusionMatrix,
    confusion_matrix,
    cost_weighted_error,
    per_class_report,
    precision_recall_fbeta,
    precision_recall_fbeta_ovr,
)
from trialwise.metrics._common import Record, fmt_pct, to_jsonable, unique_labels
from trialwise.metrics._intervals import RareEventCheck, rare_event_warning
from trialwise.metrics._plots import (
    confusion_matrix_plot_data,
    pr_curve_plot_data,
    risk_coverage_plot_data,
)
from trialwise.metrics._ranking import PRCurve, ThresholdChoice, precision_recall_curve, threshold_for_target
from trialwise.metrics._selective import (
    DEFAULT_DELTA,
    RiskCoverage,
    SelectiveThreshold,
    risk_coverage_curve,
    selective_threshold,
)

__all__ = [
    "ClassMetrics", "CostCell", "CostMatrix", "CostSummary", "CoveragePoint", "ErrorReport", "MetricsReport",
    "SeedErrors", "SeedPair", "StableExample", "class_universe", "error_report", "metrics_report",
    "read_cost_matrix", "seed_errors",
]

DEFAULT_K = 10
"""Worst mistakes (and stable errors) listed: one screen, as fastai's ``plot_top_losses(9)`` shows a page."""

COVERAGE_LEVELS = (1.0, 0.95, 0.9, 0.8, 0.5)
"""Coverages tabulated from the risk-coverage curve (a display choice: the full curve is in the plot)."""

MAX_PR_LINES = 10
"""A PR plot draws at most this many one-vs-rest curves (the classes with the lowest AP); more are unreadable."""

TOP_COST_CELLS = 5
"""Confusion cells listed as the largest contributors to the cost-weighted error."""

ZERO_DIVISION = math.nan
"""Undefined precision/recall (no predicted / no true examples) is reported as undefined and skipped
by averages, rather than silently counted as 0 (scikit-learn's ``zero_division=np.nan``)."""


def class_universe(p: Predictions) -> tuple[np.ndarray, tuple[str, ...]]:
    """All classes of ``p`` in score-column order (or the labels seen), with display names."""
    strings = p.y_true.dtype.kind == "U"
    if p.scores is not None and p.scores.ndim == 2:
        labels = np.asarray(p.classes, dtype=str) if strings else np.arange(p.scores.shape[1])
    elif p.scores is not None:
        labels = np.asarray(p.classes, dtype=str) if strings else np.array([0, 1])
    elif p.classes is not None:
        labels = np.asarray(p.classes, dtype=str) if strings else np.arange(len(p.classes))
    else:
        labels = unique_labels(p.y_true, p.y_pred)
    return labels, tuple(p.names(labels))


# -- errors across seeds ----------------------------------------------------------------------------

@dataclass(frozen=True)
class SeedPair(Record):
    """A confused pair across seeds: ``counts[s]`` in seed ``s``; ``stable`` when every seed has >= min_count."""

    actual: str
    predicted: str
    counts: tuple[int, ...]
    total: int
    mean_share: float
    n_seeds_with: int
    stable: bool


@dataclass(frozen=True)
class StableExample(Record):
    """An example every seed gets wrong, with what each seed predicted."""

    id: Any
    true: str
    predicted: tuple[str, ...]
    mean_loss: float | None
    mean_confidence: float | None
    input: str | None


@dataclass(frozen=True)
class SeedErrors(Record):
    """Errors of an experiment's seeds: stable (every seed) vs seed noise, per example and per pair."""

    seeds: tuple[int, ...]
    stable: StableErrors
    pairs: tuple[SeedPair, ...]
    stable_examples: tuple[StableExample, ...]
    message: str


def seed_errors(seeds: Sequence[Predictions], seed_numbers: Sequence[int] | None = None, *, min_count: int = 1,
                k: int = DEFAULT_K) -> SeedErrors:
    """Which errors and confused pairs every seed shares, and which are seed noise.

    Parameters
    ----------
    seeds : sequence of Predictions
        One per seed, on the same examples (at least two).
    seed_numbers : sequence of int, optional
        The seeds' numbers (default 0..n-1), for display.
    min_count : int
        A pair counts in a seed when it has at least this many examples there.
    k : int
        Stable errors listed (highest mean loss, else highest mean confidence, first).

    Returns
    -------
    SeedErrors

    References
    ----------
    .. [1] X. Bouthillier et al., "Accounting for variance in machine learning benchmarks", MLSys 2021
       (one seed is one draw: a difference seen in one seed may be noise).
    """
    stable = stable_errors(seeds)
    runs = _align(list(seeds), "seed_errors")
    numbers = tuple(int(s) for s in (seed_numbers if seed_numbers is not None else range(len(runs))))
    if len(numbers) != len(runs):
        raise UsageError(f"seed_errors got {len(runs)} predictions but {len(numbers)} seed numbers.")
    labels = unique_labels(runs[0].y_true, *[p.y_pred for p in runs])
    names = runs[0].names(labels)
    mats = np.stack([confusion_matrix(p.y_true, p.y_pred, labels).matrix for p in runs])
    support = mats[0].sum(axis=1)
    pairs = []
    for i, j in zip(*np.nonzero(mats.sum(axis=0))):
        if i == j:
            continue
        counts = mats[:, i, j]
        present = int(np.sum(counts >= min_count))
        if present == 0:
            continue
        pairs.append(SeedPair(actual=names[i], predicted=names[j], counts=tuple(int(c) for c in counts),
                              total=int(counts.sum()), mean_share=float(np.mean(counts / support[i])),
                              n_seeds_with=present, stable=present == len(runs)))
    pairs.sort(key=lambda q: (-q.total, -q.n_seeds_with, q.actual, q.predicted))

    ref = runs[0]
    always = np.nonzero(np.all(np.stack([~p.correct for p in runs]), axis=0))[0]
    loss = np.mean(np.stack([p.loss for p in runs]), axis=0) if all(p.loss is not None for p in runs) else None
    confs = [p.confidence for p in runs]
    conf = np.mean(np.stack(confs), axis=0) if all(c is not None for c in confs) else None  # type: ignore[arg-type]
    key = loss if loss is not None else conf
    order = always[np.argsort(-key[always], kind="stable")] if key is not None else always
    true_names = ref.names(ref.y_true)
    pred_names = [p.names(p.y_pred) for p in runs]
    inputs = seeds[0]
    position = {v: i for i, v in enumerate(inputs.ids.astype(str).tolist())}
    examples = tuple(
        StableExample(id=ref.ids[i].item(), true=true_names[i], predicted=tuple(n[i] for n in pred_names),
                      mean_loss=None if loss is None else float(loss[i]),
                      mean_confidence=None if conf is None else float(conf[i]),
                      input=inputs.input_ref(position[str(ref.ids[i])]))
        for i in order[:k])
    n_stable_pairs = sum(q.stable for q in pairs)
    noise = len(pairs) - n_stable_pairs
    message = (f"{stable.message}. {n_stable_pairs} of {len(pairs)} confused pair(s) occur in every seed "
               f"(stable)" + (f", {noise} only in some (seed noise)" if noise else ""))
    return SeedErrors(seeds=numbers, stable=stable, pairs=tuple(pairs), stable_examples=examples, message=message)


# -- error report -----------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class ErrorReport(Record):
    """Confusion matrix, per-class report, most-confused pairs, worst mistakes, and (optionally) seeds."""

    split: str
    n: int
    n_errors: int
    error_rate: float
    confusion: ConfusionMatrix
    names: tuple[str, ...]
    per_class: ClassReport
    most_confused: tuple[ConfusedPair, ...]
    collapse: tuple[CollapseSuggestion, ...]
    worst: tuple[Mistake, ...]
    worst_by: str | None
    seeds: SeedErrors | None = None

    def to_dict(self) -> dict[str, Any]:
        r = self.per_class
        return {
            "split": self.split, "n": self.n, "n_errors": self.n_errors, "error_rate": self.error_rate,
            "accuracy": 1.0 - self.error_rate,
            "confusion_matrix": {"labels": to_jsonable(self.confusion.labels), "names": list(self.names),
                                 "matrix": to_jsonable(self.confusion.matrix)},
            "per_class": to_jsonable(r.rows()),
            "averages": {"macro": r.macro.to_dict(), "weighted": r.weighted.to_dict(), "micro": r.micro.to_dict()},
            "most_confused": [p.to_dict() for p in self.most_confused],
            "collapse_suggestions": [c.to_dict() for c in self.collapse],
            "worst_by": self.worst_by,
            "worst_mistakes": [m.to_dict() for m in self.worst],
            "seeds": None if self.seeds is None else self.seeds.to_dict(),
        }

    def plots(self, title: str = "") -> dict[str, Any]:
        """Plot records by file name."""
        return {"confusion_matrix.png": confusion_matrix_plot_data(
            self.confusion, list(self.names), title=f"Confusion matrix{title}")}


def error_report(preds: Predictions, *, k: int = DEFAULT_K, min_count: int = 1,
                 seeds: Sequence[Predictions] = (), seed_numbers: Sequence[int] | None = None) -> ErrorReport:
    """Which mistakes one run makes, and with ``seeds`` (>= 2), which of them every seed makes.

    Parameters
    ----------
    preds : Predictions
        The run analysed in detail.
    k : int
        Worst mistakes listed (by loss, else by confidence in the wrong class).
    min_count : int
        Smallest count of a confused pair (fastai's ``min_val``).
    seeds : sequence of Predictions
        All seeds of the experiment (including ``preds``'s run) for the stable/noise split.
    seed_numbers : sequence of int, optional

    Returns
    -------
    ErrorReport

    References
    ----------
    .. [1] J. Howard, S. Gugger, "fastai: a layered API for deep learning", Information 11(2), 2020
       (``most_confused``; seed 004).
    .. [2] I. Goodfellow, Y. Bengio, A. Courville, "Deep Learning", 2016, ch. 11.5 (worst mistakes; seed 003).
    """
    if min_count < 1:
        raise UsageError(f"--min-count must be >= 1. Got {min_count} instead.")
    labels, names = class_universe(preds)
    cm = confusion_matrix(preds.y_true, preds.y_pred, labels)
    report = per_class_report(preds.y_true, preds.y_pred, labels=labels, classes=preds.classes,
                              zero_division=ZERO_DIVISION)
    worst_by = "loss" if preds.loss is not None else "confidence" if preds.scores is not None else None
    worst = worst_mistakes(preds, k) if worst_by is not None else ()
    return ErrorReport(
        split=preds.split, n=preds.n, n_errors=preds.n_errors, error_rate=preds.error_rate, confusion=cm,
        names=names, per_class=report,
        most_confused=most_confused(preds.y_true, preds.y_pred, preds.classes, min_count=min_count),
        collapse=suggest_collapse(preds.y_true, preds.y_pred, preds.classes), worst=worst, worst_by=worst_by,
        seeds=seed_errors(seeds, seed_numbers, min_count=min_count, k=k) if len(seeds) >= 2 else None,
    )


# -- cost matrix ------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class CostMatrix(Record):
    """``matrix[i, j]``: cost of predicting ``labels[j]`` for an example of ``labels[i]``."""

    labels: np.ndarray
    names: tuple[str, ...]
    matrix: np.ndarray
    path: str


def read_cost_matrix(path: str | Path, preds: Predictions) -> CostMatrix:
    """Read a cost matrix CSV: header ``true\\predicted, <class>, ...``, one row per true class.

    Classes are named as the predictions name them (class names, or the labels themselves), in any
    order; classes that occur in the predictions must all be there. Costs are finite numbers,
    usually 0 on the diagonal. Errors name the row (header = row 1) and column.

    Example::

        true\\predicted,healthy,ill
        healthy,0,1
        ill,100,0
    """
    from trialwise.errors._csvio import Problems, read_csv_table
    from trialwise.errors._predictions import _parse_float

    table = read_csv_table(path, "cost matrix")
    labels, names = class_universe(preds)
    lookup: dict[str, int] = {}
    for i, (lab, nm) in enumerate(zip(labels.tolist(), names)):
        lookup.setdefault(nm, i)
        lookup.setdefault(str(lab), i)
    problems = Problems(table.path, "cost matrix")
    cols: list[int] = []
    for j, h in enumerate(table.header[1:], start=1):
        if h not in lookup:
            problems.add(f"row 1, column {j + 1}: {h!r} is not a class of these predictions {list(names)[:10]}")
        elif lookup[h] in cols:
            problems.add(f"row 1, column {j + 1}: class {h!r} repeats")
        else:
            cols.append(lookup[h])
    rows: list[int] = []
    values = np.full((len(table.rows), len(table.header) - 1), np.nan)
    for r, row in enumerate(table.rows):
        head = row[0]
        if head not in lookup:
            problems.add(f"{table.where(r, 0)}: {head!r} is not a class of these predictions {list(names)[:10]}")
        elif lookup[head] in rows:
            problems.add(f"{table.where(r, 0)}: class {head!r} repeats")
        else:
            rows.append(lookup[head])
        for j in range(1, len(table.header)):
            v = _parse_float(row[j])
            if v is None or not math.isfinite(v):
                problems.add(f"{table.where(r, j)}: {row[j]!r} is not a finite number")
            else:
                values[r, j - 1] = v
    problems.raise_if_any("The first row names the predicted classes, the first column the true classes.")
    if sorted(rows) != sorted(cols):
        raise DataError(f"{table.path}: the rows name classes {[names[i] for i in rows]} but the columns "
                        f"{[names[i] for i in cols]}; a cost matrix needs the same classes both ways.")
    seen = set(preds.y_true.tolist()) | set(preds.y_pred.tolist())
    missing = [names[i] for i, lab in enumerate(labels.tolist()) if lab in seen and i not in rows]
    if missing:
        raise DataError(f"{table.path}: no row/column for class(es) {missing}, which occur in the predictions; "
                        f"every class that occurs needs a cost.")
    order = [cols.index(i) for i in rows]  # columns reordered to the row order
    return CostMatrix(labels=labels[rows], names=tuple(names[i] for i in rows), matrix=values[:, order],
                      path=str(table.path))


@dataclass(frozen=True)
class CostCell(Record):
    true: str
    predicted: str
    count: int
    unit_cost: float
    cost: float
    share: float


@dataclass(frozen=True)
class CostSummary(Record):
    """Mean cost per example against the plain error rate, and where the cost comes from."""

    cost_per_example: float
    error_rate: float
    top_cells: tuple[CostCell, ...]
    path: str
    message: str


def _cost_summary(preds: Predictions, cost: CostMatrix) -> CostSummary:
    value = cost_weighted_error(preds.y_true, preds.y_pred, cost.matrix, labels=cost.labels)
    cm = confusion_matrix(preds.y_true, preds.y_pred, cost.labels).matrix
    cells = cm * cost.matrix
    total = float(cells.sum())
    order = np.argsort(-cells, axis=None, kind="stable")
    top = []
    for flat in order[:TOP_COST_CELLS]:
        i, j = np.unravel_index(flat, cells.shape)
        if cells[i, j] <= 0:
            break
        top.append(CostCell(true=cost.names[i], predicted=cost.names[j], count=int(cm[i, j]),
                            unit_cost=float(cost.matrix[i, j]), cost=float(cells[i, j]),
                            share=float(cells[i, j] / total) if total else math.nan))
    message = f"cost-weighted error {value:.4g} per example (0/1 error rate {fmt_pct(preds.error_rate)})"
    if top:
        message += (f"; {fmt_pct(top[0].share)} of the cost comes from true {top[0].true!r} predicted as "
                    f"{top[0].predicted!r} ({top[0].count} x {top[0].unit_cost:g})")
    return CostSummary(cost_per_example=value, error_rate=preds.error_rate, top_cells=tuple(top),
                       path=cost.path, message=message)


# -- metrics report ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class ClassMetrics(Record):
    """One class as positive (binary, or one-vs-rest): P/R/F-beta at the threshold, AP, target threshold."""

    label: Any
    name: str
    support: int
    prevalence: float
    precision: float
    recall: float
    fscore: float
    tp: int
    fp: int
    fn: int
    tn: int
    average_precision: float | None
    target: ThresholdChoice | None


@dataclass(frozen=True)
class CoveragePoint(Record):
    """Answering the ``coverage`` share of inputs with confidence >= ``threshold`` has error ``risk``."""

    coverage: float
    risk: float
    threshold: float


@dataclass(frozen=True, eq=False)
class MetricsReport(Record):
    """Metrics of one run's predictions, in the order a person should read them (warnings first)."""

    warnings: tuple[str, ...]
    split: str
    n: int
    task: str
    scored: bool
    based_on: str
    threshold: float | None
    beta: float
    positive: str | None
    classes: tuple[ClassMetrics, ...]
    macro_average_precision: float | None
    accuracy: float
    error_rate: float
    rare_event: RareEventCheck
    cost: CostSummary | None
    aurc: float | None
    e_aurc: float | None
    coverage: tuple[CoveragePoint, ...]
    selective: SelectiveThreshold | None
    messages: tuple[str, ...]
    confusion: ConfusionMatrix = field(repr=False)
    names: tuple[str, ...] = field(repr=False, default=())
    pr_curves: tuple[tuple[str, PRCurve], ...] = field(repr=False, default=())
    risk_coverage: RiskCoverage | None = field(repr=False, default=None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict of the reported fields (curves and matrices are for plots, not JSON)."""
        hidden = ("confusion", "names", "pr_curves", "risk_coverage")
        return {f.name: to_jsonable(getattr(self, f.name)) for f in dataclasses.fields(self) if f.name not in hidden}

    def plots(self, title: str = "") -> dict[str, Any]:
        """Plot records by file name: confusion matrix, PR curve(s), risk-coverage curve."""
        out: dict[str, Any] = {"confusion_matrix.png": confusion_matrix_plot_data(
            self.confusion, list(self.names), title=f"Confusion matrix{title}")}
        if self.pr_curves:
            curves = sorted(self.pr_curves, key=lambda nc: nc[1].average_precision)[:MAX_PR_LINES]
            shown = "" if len(curves) == len(self.pr_curves) else f" ({len(curves)} lowest-AP classes)"
            out["pr_curve.png"] = pr_curve_plot_data(
                self.pr_curves[0][1] if self.task == "binary" else dict(curves),
                title=f"Precision-recall curve{shown}{title}")
        if self.risk_coverage is not None:
            out["risk_coverage.png"] = risk_coverage_plot_data(self.risk_coverage, self.selective,
                                                               title=f"Risk-coverage curve{title}")
        return out


def _coverage_points(rc: RiskCoverage) -> tuple[CoveragePoint, ...]:
    points = []
    for level in COVERAGE_LEVELS:
        i = int(np.searchsorted(rc.coverage, level - 1e-12, side="left"))
        i = min(i, len(rc.coverage) - 1)
        point = CoveragePoint(coverage=float(rc.coverage[i]), risk=float(rc.risk[i]), threshold=float(rc.thresholds[i]))
        if not points or point.coverage != points[-1].coverage:
            points.append(point)
    return tuple(points)


def _class_rows(preds: Predictions, labels: np.ndarray, binary: bool, cut: float | None, beta: float,
                target_precision: float | None,
                target_recall: float | None) -> tuple[list[ClassMetrics], list[tuple[str, PRCurve]]]:
    """One row per reported class (the positive class if binary) and its PR curve when there are scores."""
    y, scores = preds.y_true, preds.scores
    positive = _positive_label(preds) if scores is not None else labels[1].item() if binary else None
    keep = [positive] if binary else [lab.item() for lab in labels]
    if cut is not None and scores is not None:
        prs = ([precision_recall_fbeta(y, scores, cut, beta, positive, ZERO_DIVISION)] if binary else
               list(precision_recall_fbeta_ovr(y, scores, labels, cut, beta, ZERO_DIVISION)))
        counts = [(pr.precision, pr.recall, pr.fscore, pr.tp, pr.fp, pr.fn, pr.tn) for pr in prs]
    else:
        rep = per_class_report(y, preds.y_pred, labels=labels, classes=preds.classes, beta=beta,
                               zero_division=ZERO_DIVISION)
        counts = []
        for label in keep:
            j = int(np.nonzero(labels == label)[0][0])
            is_true, is_pred = y == label, preds.y_pred == label
            tp, fp, fn = (int(np.sum(is_true & is_pred)), int(np.sum(~is_true & is_pred)),
                          int(np.sum(is_true & ~is_pred)))
            counts.append((float(rep.precision[j]), float(rep.recall[j]), float(rep.fscore[j]), tp, fp, fn,
                           preds.n - tp - fp - fn))
    rows: list[ClassMetrics] = []
    curves: list[tuple[str, PRCurve]] = []
    for j, (label, (prec, rec, f, tp, fp, fn, tn)) in enumerate(zip(keep, counts)):
        name = preds.names(np.asarray([label]))[0]
        ap = target = None
        if scores is not None:
            s = scores if binary else scores[:, j]
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                curve = precision_recall_curve(y, s, pos_label=label)
                if target_precision is not None or target_recall is not None:
                    target = threshold_for_target(y, s, precision=target_precision, recall=target_recall,
                                                  pos_label=label)
            for w in {str(w.message) for w in caught if issubclass(w.category, UserWarning)}:
                warnings.warn(f"class {name!r}: {w}", UserWarning, stacklevel=2)  # which class it is about
            curves.append((name, curve))
            ap = curve.average_precision
        rows.append(ClassMetrics(label=label, name=name, support=tp + fn, prevalence=(tp + fn) / preds.n,
                                 precision=prec, recall=rec, fscore=f, tp=tp, fp=fp, fn=fn, tn=tn,
                                 average_precision=ap, target=target))
    return rows, curves


def metrics_report(preds: Predictions, *, threshold: float | None = None, beta: float = 1.0,
                   target_precision: float | None = None, target_recall: float | None = None,
                   target_accuracy: float | None = None, delta: float = DEFAULT_DELTA,
                   cost: CostMatrix | None = None) -> MetricsReport:
    """Binary or one-vs-rest evaluation of one run's predictions, warnings first.

    Binary predictions (one score column, or two classes) report the positive class; multi-class
    ones report every class one-vs-rest. With scores: precision, recall and F-beta at ``threshold``,
    the PR curve and average precision (``sklearn.metrics.average_precision_score``), the threshold
    that meets a precision or recall target, the risk-coverage curve with AURC, and with
    ``target_accuracy`` the SGR threshold (Geifman & El-Yaniv 2017). Without scores, the label-based
    precision/recall/F-beta per class. When accuracy is within noise of always predicting the
    majority class, that warning leads the report.

    Parameters
    ----------
    preds : Predictions
    threshold : float, optional
        Predict the class when its score is >= threshold: binary scores (default 0.5), and
        one-vs-rest for multi-class scores when given (default: the predicted labels, i.e. argmax).
    beta : float
        F-beta weight of recall.
    target_precision, target_recall : float, optional
        At most one: the threshold reaching it (per class one-vs-rest).
    target_accuracy : float, optional
        Selective prediction: the confidence threshold with the most coverage at this accuracy,
        guaranteed with probability ``1 - delta``.
    delta : float
    cost : CostMatrix, optional
        From :func:`read_cost_matrix`.

    Returns
    -------
    MetricsReport

    References
    ----------
    .. [1] I. Goodfellow, Y. Bengio, A. Courville, "Deep Learning", 2016, ch. 11.1 (seed 003).
    .. [2] Y. Geifman, R. El-Yaniv, "Selective classification for deep neural networks", NeurIPS 2017.
    .. [3] Y. Geifman, G. Uziel, R. El-Yaniv, "Bias-reduced uncertainty estimation for deep neural
       classifiers", ICLR 2019 (AURC).
    """
    if target_precision is not None and target_recall is not None:
        raise UsageError("pass --target-precision or --target-recall, not both: a threshold can be chosen "
                         "for one target at a time.")
    labels, names = class_universe(preds)
    y, scores = preds.y_true, preds.scores
    if target_accuracy is not None and scores is None:
        raise DataError("--target-accuracy needs a confidence per example; these predictions have no scores.")
    binary = (scores is not None and scores.ndim == 1) or (scores is None and len(labels) == 2)
    accuracy = 1.0 - preds.error_rate
    rare = rare_event_warning(y, accuracy, classes=preds.classes)
    notes: list[str] = []
    # binary scores are always thresholded; one-vs-rest thresholds only when asked (argmax otherwise)
    cut = (DEFAULT_THRESHOLD if threshold is None else threshold) if binary and scores is not None else threshold
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows, curves = _class_rows(preds, labels, binary, cut, beta, target_precision, target_recall)
    if scores is None:
        notes.append("no scores were logged: the PR curve, average precision, thresholds and coverage need "
                     "them (tw.log_predictions(..., scores=probabilities))"
                     + ("; --threshold was ignored" if threshold is not None else ""))
    warned = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]

    out_warnings: list[str] = []
    if rare.warn:
        out_warnings.append(f"rare events: {rare.message}")
    out_warnings += sorted(set(warned))
    ap_values = [r.average_precision for r in rows if r.average_precision is not None]
    macro_ap = float(np.mean(ap_values)) if ap_values and not binary else (ap_values[0] if ap_values else None)

    lines = list(out_warnings)
    based_on = f"scores >= {cut:g}" if cut is not None and scores is not None else "the predicted labels"
    if binary:
        r = rows[0]
        ap = f", average precision {r.average_precision:.4f}" if r.average_precision is not None else ""
        lines.append(f"positive class {r.name!r} ({r.support} of {preds.n}, {fmt_pct(r.prevalence)}): precision "
                     f"{fmt_pct(r.precision)}, recall {fmt_pct(r.recall)}, F{beta:g} {fmt_pct(r.fscore)} "
                     f"({based_on}){ap}")
    else:
        finite = [r.fscore for r in rows if math.isfinite(r.fscore)]
        worst = min((r for r in rows if math.isfinite(r.fscore)), key=lambda r: r.fscore, default=None)
        ap = f"; macro average precision {macro_ap:.4f}" if macro_ap is not None else ""
        lines.append(f"one-vs-rest over {len(rows)} classes ({based_on}): macro F{beta:g} "
                     f"{fmt_pct(float(np.mean(finite))) if finite else 'n/a'}"
                     + (f", lowest {worst.name!r} {fmt_pct(worst.fscore)}" if worst else "") + ap)
    for r in rows:
        if r.target is not None and (binary or not r.target.achieved or len(rows) <= 2):
            lines.append(f"{r.name!r}: {r.target.message}" if not binary else r.target.message)
    if not binary and any(r.target is not None for r in rows):
        reached = sum(r.target.achieved for r in rows if r.target is not None)
        lines.append(f"target reached by {reached} of {len(rows)} classes (thresholds per class in the table)")
    if not rare.warn:
        lines.append(rare.message)

    cost_summary = _cost_summary(preds, cost) if cost is not None else None
    if cost_summary is not None:
        lines.append(cost_summary.message)

    rc = sel = None
    points: tuple[CoveragePoint, ...] = ()
    conf = preds.confidence
    if conf is not None:
        rc = risk_coverage_curve(conf, preds.correct)
        points = _coverage_points(rc)
        lines.append(f"coverage: AURC {rc.aurc:.4f} (excess over a perfect confidence ranking: E-AURC "
                     f"{rc.e_aurc:.4f}); answering the most confident {fmt_pct(points[-1].coverage, 0)} gives "
                     f"{fmt_pct(points[-1].risk)} error instead of {fmt_pct(rc.error_rate)}")
        if target_accuracy is not None:
            sel = selective_threshold(conf, preds.correct, target_accuracy, delta)
            lines.append(f"selective prediction (SGR): {sel.message}")
        else:
            lines.append("pass --target-accuracy A to get the confidence threshold that answers the most inputs "
                         "at accuracy A, with a guarantee (SGR)")
    lines += notes
    return MetricsReport(
        warnings=tuple(out_warnings), split=preds.split, n=preds.n, task="binary" if binary else "multiclass",
        scored=scores is not None, based_on=based_on, threshold=cut if scores is not None else None,
        beta=beta, positive=rows[0].name if binary else None, classes=tuple(rows), macro_average_precision=macro_ap,
        accuracy=accuracy, error_rate=preds.error_rate, rare_event=rare, cost=cost_summary,
        aurc=None if rc is None else rc.aurc, e_aurc=None if rc is None else rc.e_aurc, coverage=points,
        selective=sel, messages=tuple(lines), confusion=confusion_matrix(y, preds.y_pred, labels), names=names,
        pr_curves=tuple(curves), risk_coverage=rc,
    )
