"""The composed reports behind `trialwise metrics` / `trialwise errors` on edge cases: what they say must be true."""

from __future__ import annotations

import numpy as np
import pytest

from trialwise import errors as te
from trialwise.errors._report import error_report, metrics_report
from trialwise.metrics import threshold_for_target


def test_rare_event_warning_names_the_majority_class_and_says_below():
    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(289, int), np.ones(11, int)]
    scores = np.clip(0.3 * y + 0.7 * rng.random(len(y)), 0, 1)  # 0.5 threshold: many false alarms
    preds = te.Predictions.from_arrays(np.arange(len(y)), y, scores=scores, classes=["healthy", "ill"])
    rep = metrics_report(preds)
    assert rep.accuracy < 0.9 and rep.warnings[0].startswith("rare events:")
    # far below the 96.3% of always answering 'healthy' (not "within noise"), named as the user named it
    assert "is below 96.3%" in rep.warnings[0] and "always predicting 'healthy'" in rep.warnings[0]


def test_a_class_without_examples_is_named_in_the_warning():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 100)  # class 2 has a score column but no example
    preds = te.Predictions.from_arrays(np.arange(100), y, scores=rng.dirichlet([1, 1, 1], 100),
                                       classes=["cat", "dog", "fox"])
    rep = metrics_report(preds)
    assert any(w.startswith("class 'fox': No positive example") for w in rep.warnings), rep.warnings


def test_no_positive_example_reaches_no_recall_target():
    rng = np.random.default_rng(2)
    y = np.zeros(200, int)
    with pytest.warns(UserWarning, match="No positive example"):
        choice = threshold_for_target(y, rng.random(200), recall=0.5)
    assert not choice.achieved and choice.threshold is None and "no positive example" in choice.message
    preds = te.Predictions.from_arrays(np.arange(200), y, scores=rng.random(200) * 0.4)
    (row,) = metrics_report(preds, target_recall=0.5).classes
    assert row.target is not None and not row.target.achieved


def test_binary_error_report_suggests_no_merge_of_its_two_classes():
    y = np.repeat([0, 1], 20)
    pred = np.r_[np.zeros(12, int), np.ones(8, int), np.ones(12, int), np.zeros(8, int)]
    rep = error_report(te.Predictions.from_arrays(np.arange(40), y, pred))
    assert rep.most_confused and rep.collapse == ()
