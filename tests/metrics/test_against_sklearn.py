"""Every metric scikit-learn also has must give scikit-learn's numbers on random predictions."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm
from sklearn.preprocessing import label_binarize

from trialwise import metrics as tm

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True)


@st.composite
def labelled(draw: st.DrawFn, with_scores: bool = False, strings: bool = False):
    """Random labels (and scores with frequent ties) from a drawn seed; shapes vary."""
    n = draw(st.integers(1, 60))
    k = draw(st.integers(2, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    y_true = rng.integers(0, k, n)
    y_pred = np.where(rng.random(n) < 0.6, y_true, rng.integers(0, k, n))
    if strings:
        names = np.array(["cat", "dog", "fox", "owl", "yak"])
        y_true, y_pred = names[y_true], names[y_pred]
    if not with_scores:
        return y_true, y_pred, k
    tie_levels = draw(st.sampled_from([0, 3, 10]))  # 0: continuous scores
    raw = rng.random((n, k)) if not tie_levels else rng.integers(0, tie_levels, (n, k)) / tie_levels
    return y_true, y_pred, k, raw


@pytest.mark.filterwarnings("ignore:A single label")
@SETTINGS
@given(labelled(), st.booleans())
def test_confusion_matrix_equals_sklearn(data, pass_labels):
    y_true, y_pred, k = data
    labels = np.arange(k + 1) if pass_labels else None  # includes a label nobody has
    ours = tm.confusion_matrix(y_true, y_pred, labels=labels)
    np.testing.assert_array_equal(ours.matrix, skm.confusion_matrix(y_true, y_pred, labels=labels))
    np.testing.assert_array_equal(ours.labels, labels if pass_labels else np.unique(np.r_[y_true, y_pred]))


@pytest.mark.filterwarnings("ignore:A single label")
@SETTINGS
@given(labelled(strings=True))
def test_confusion_matrix_string_labels(data):
    y_true, y_pred, _ = data
    ours = tm.confusion_matrix(y_true, y_pred)
    np.testing.assert_array_equal(ours.matrix, skm.confusion_matrix(y_true, y_pred))
    assert ours.accuracy == pytest.approx(skm.accuracy_score(y_true, y_pred))


@SETTINGS
@given(labelled(), st.sampled_from([0.0, 1.0, np.nan]), st.sampled_from([0.0, 0.5, 1.0, 2.0, np.inf]),
       st.booleans())
def test_per_class_report_equals_sklearn(data, zero_division, beta, pass_labels):
    """Per-class P/R/F-beta/support and every average, zero-division values included.

    Zero division (documented in trialwise.metrics._classification): 0/0 takes ``zero_division``;
    with NaN, averages skip those classes (scikit-learn's ``_nanaverage``).
    """
    y_true, y_pred, k = data
    labels = np.arange(k + 1) if pass_labels else None  # class k has no true and no predicted example
    ours = tm.per_class_report(y_true, y_pred, labels=labels, beta=beta, zero_division=zero_division)
    kw = dict(labels=labels, beta=beta, zero_division=zero_division)
    p, r, f, s = skm.precision_recall_fscore_support(y_true, y_pred, average=None, **kw)
    np.testing.assert_array_equal(ours.precision, p)
    np.testing.assert_array_equal(ours.recall, r)
    np.testing.assert_allclose(ours.fscore, f, rtol=1e-12, atol=0)
    np.testing.assert_array_equal(ours.support, s)
    for average in ("macro", "weighted", "micro"):
        sp, sr, sf, _ = skm.precision_recall_fscore_support(y_true, y_pred, average=average, **kw)
        got = getattr(ours, average)
        np.testing.assert_allclose([got.precision, got.recall, got.fscore], [sp, sr, sf], rtol=1e-12, atol=1e-15)
    assert ours.accuracy == pytest.approx(skm.accuracy_score(y_true, y_pred), rel=1e-12)


def test_zero_division_values_are_documented_behaviour():
    # class 2 is never predicted (precision 0/0) and never true (recall 0/0)
    y_true, y_pred = [0, 1, 1], [0, 1, 0]
    rep = tm.per_class_report(y_true, y_pred, labels=[0, 1, 2])
    assert rep.precision[2] == 0.0 and rep.recall[2] == 0.0 and rep.fscore[2] == 0.0
    rep_nan = tm.per_class_report(y_true, y_pred, labels=[0, 1, 2], zero_division=np.nan)
    assert np.isnan(rep_nan.precision[2]) and np.isnan(rep_nan.fscore[2])
    assert rep_nan.macro.precision == pytest.approx((0.5 + 1.0) / 2)  # NaN class skipped


@SETTINGS
@given(labelled(with_scores=True), st.sampled_from([0.0, 0.3, 0.5, 0.7, 1.0]), st.sampled_from([0.5, 1.0, 2.0]),
       st.sampled_from([0.0, 1.0]))
def test_thresholded_precision_recall_equals_sklearn(data, threshold, beta, zero_division):
    y_true, _, k, raw = data
    pos = int(y_true[0])
    ours = tm.precision_recall_fbeta(y_true, raw[:, 0], threshold=threshold, beta=beta, pos_label=pos,
                                     zero_division=zero_division)
    expected = skm.precision_recall_fscore_support(y_true == pos, raw[:, 0] >= threshold, average="binary",
                                                   beta=beta, zero_division=zero_division)
    np.testing.assert_allclose([ours.precision, ours.recall, ours.fscore], expected[:3], rtol=1e-12)
    assert ours.tp + ours.fp + ours.fn + ours.tn == len(y_true)
    for j, one in enumerate(tm.precision_recall_fbeta_ovr(y_true, raw, threshold=threshold, beta=beta,
                                                          zero_division=zero_division)):
        expected = skm.precision_recall_fscore_support(y_true == j, raw[:, j] >= threshold, average="binary",
                                                       beta=beta, zero_division=zero_division)
        assert one.label == j
        np.testing.assert_allclose([one.precision, one.recall, one.fscore], expected[:3], rtol=1e-12)


@SETTINGS
@given(labelled(with_scores=True))
def test_precision_recall_curve_and_average_precision_equal_sklearn(data):
    y_true, _, _, raw = data
    pos = int(y_true[0])  # at least one positive
    score = raw[:, 0]
    curve = tm.precision_recall_curve(y_true, score, pos_label=pos)
    p, r, t = skm.precision_recall_curve(y_true, score, pos_label=pos)
    np.testing.assert_array_equal(curve.precision, p)
    np.testing.assert_array_equal(curve.recall, r)
    np.testing.assert_array_equal(curve.thresholds, t)
    expected = skm.average_precision_score(y_true == pos, score)
    assert curve.average_precision == expected  # bit-identical: same definition, same arithmetic
    assert tm.average_precision(y_true, score, pos_label=pos) == expected


@SETTINGS
@given(labelled(with_scores=True), st.sampled_from(["macro", "weighted", "micro", None]))
def test_one_vs_rest_average_precision_equals_sklearn(data, average):
    y_true, _, k, raw = data
    indicator = label_binarize(y_true, classes=np.arange(k))
    if k == 2:  # label_binarize collapses two classes to one column
        indicator = np.column_stack([1 - indicator[:, 0], indicator[:, 0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # classes without positives: both libraries warn and score 0
        ours = tm.average_precision(y_true, raw, average=average)
        expected = skm.average_precision_score(indicator, raw, average=average)
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=0)


def test_average_precision_without_positives_follows_sklearn():
    with pytest.warns(UserWarning, match="No positive"):
        assert tm.average_precision([0, 0, 0], [0.2, 0.5, 0.9]) == 0.0


@SETTINGS
@given(labelled())
def test_cost_weighted_error_matches_accuracy_and_manual_sum(data):
    y_true, y_pred, k = data
    labels = np.arange(k)
    zero_one = 1 - np.eye(k)
    assert tm.cost_weighted_error(y_true, y_pred, zero_one, labels=labels) == pytest.approx(
        1 - skm.accuracy_score(y_true, y_pred))
    cost = np.arange(k * k, dtype=float).reshape(k, k)
    manual = np.mean([cost[t, p] for t, p in zip(y_true, y_pred)])
    assert tm.cost_weighted_error(y_true, y_pred, cost, labels=labels) == pytest.approx(manual)


def test_invalid_inputs_raise_trialwise_errors():
    from trialwise import DataError, UsageError

    with pytest.raises(DataError, match="one entry per example"):
        tm.confusion_matrix([0, 1], [0, 1, 1])
    with pytest.raises(DataError, match="non-integral"):
        tm.confusion_matrix([0, 1], [0.2, 0.9])
    with pytest.raises(UsageError, match="'beta'"):
        tm.per_class_report([0, 1], [0, 1], beta=-1)
    with pytest.raises(DataError, match="finite"):
        tm.precision_recall_curve([0, 1], [0.1, np.nan])
    with pytest.raises(DataError, match="must be 2x2"):
        tm.cost_weighted_error([0, 1], [1, 0], np.zeros((3, 3)))
    with pytest.raises(DataError, match="same kind"):
        tm.confusion_matrix(["a", "b"], ["a", "a"], labels=[0, 1])
