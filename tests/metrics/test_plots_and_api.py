"""Plot records and PNG files; the public surface; light imports."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from trialwise import UsageError
from trialwise import metrics as tm

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_plots_are_written_as_png(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    scores = rng.dirichlet(np.ones(3), 300) + np.eye(3)[y] * 0.5
    pred = scores.argmax(1)
    conf = scores.max(1) / scores.sum(1)

    cm_data = tm.confusion_matrix_plot_data(tm.confusion_matrix(y, pred), classes=["cat", "dog", "fox"])
    assert cm_data.names == ("cat", "dog", "fox")
    np.testing.assert_allclose(cm_data.colour.sum(axis=1), 1.0)

    curves = {name: tm.precision_recall_curve(y, scores[:, j], pos_label=j) for j, name in enumerate("abc")}
    pr_data = tm.pr_curve_plot_data(curves)
    assert [line.name for line in pr_data.lines] == ["a", "b", "c"]

    rc = tm.risk_coverage_curve(conf, pred == y)
    sel = tm.selective_threshold(conf, pred == y, target_accuracy=0.9, delta=0.05)
    rc_data = tm.risk_coverage_plot_data(rc, sel)
    assert (rc_data.operating_point is not None) == sel.found

    for name, data in {"cm": cm_data, "pr": pr_data, "rc": rc_data}.items():
        out = tm.save_plot(data, tmp_path / "plots" / f"{name}.png")
        assert out.read_bytes()[:8] == PNG_MAGIC and out.stat().st_size > 5000
        json.dumps(data.to_dict())  # plot records serialise too
    with pytest.raises(UsageError, match="plot record"):
        tm.save_plot(rc, tmp_path / "x.png")


def test_many_classes_plot_without_cell_labels(tmp_path):
    y = np.arange(400) % 40
    out = tm.save_plot(tm.confusion_matrix_plot_data(tm.confusion_matrix(y, np.roll(y, 1))), tmp_path / "big.png")
    assert out.read_bytes()[:8] == PNG_MAGIC


def test_public_api_is_pinned():
    assert sorted(tm.__all__) == sorted([
        "AveragedScores", "ClassReport", "ConfusionMatrix", "ConfusionMatrixPlot", "Interval", "PRCurve",
        "PRCurvePlot", "PrecisionRecall", "RareEventCheck", "RiskCoverage", "RiskCoveragePlot",
        "SelectiveThreshold", "ThresholdChoice", "aurc", "average_precision", "confusion_matrix",
        "confusion_matrix_plot_data", "cost_weighted_error", "per_class_report", "pr_curve_plot_data",
        "precision_recall_curve", "precision_recall_fbeta", "precision_recall_fbeta_ovr", "rare_event_warning",
        "risk_coverage_curve", "risk_coverage_plot_data", "save_plot", "selective_threshold",
        "threshold_for_target", "wilson_interval",
    ])
    for name in tm.__all__:
        assert getattr(tm, name).__doc__, name


def test_results_serialise_to_json():
    y, p = np.array([0, 1, 1, 2, 2, 2]), np.array([0, 1, 2, 2, 2, 1])
    s = np.array([0.1, 0.9, 0.4, 0.8, 0.7, 0.3])
    records = [tm.per_class_report(y, p, classes=["a", "b", "c"]), tm.confusion_matrix(y, p),
               tm.precision_recall_curve(y, s, pos_label=2), tm.threshold_for_target(y, s, pos_label=2, recall=0.5),
               tm.rare_event_warning(y, 0.6), tm.risk_coverage_curve(s, y == p),
               tm.selective_threshold(s, y == p, 0.9)]
    for r in records:
        json.loads(json.dumps(r.to_dict()))


def test_import_stays_light():
    code = ("import sys, trialwise.metrics, trialwise.errors; "
            "heavy = [m for m in ('scipy', 'sklearn', 'matplotlib', 'pandas', 'pyarrow', 'torch') "
            "if m in sys.modules]; "
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
