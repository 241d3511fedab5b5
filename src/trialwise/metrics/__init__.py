"""Evaluation metrics: pure numpy functions returning frozen records with ``to_dict()``.

Naming follows scikit-learn: ``*_score`` is higher-is-better, ``*_error``/``*_loss`` lower-is-better;
scalar metrics return a ``float``, structured ones a record. Label-based metrics equal their
scikit-learn namesakes (tested property by property); zero-division behaviour is documented in
:mod:`trialwise.metrics._classification`.

- Classification: :func:`confusion_matrix`, :func:`per_class_report`, :func:`precision_recall_fbeta`
  (binary at a threshold), :func:`precision_recall_fbeta_ovr`, :func:`cost_weighted_error`.
- Ranking: :func:`precision_recall_curve`, :func:`average_precision`, :func:`threshold_for_target`.
- Intervals and rare events: :func:`wilson_interval`, :func:`rare_event_warning`.
- Selective prediction: :func:`risk_coverage_curve`, :func:`aurc`, :func:`selective_threshold` (SGR).
- Plots (matplotlib loads on save): ``*_plot_data`` builds a record, :func:`save_plot` draws a PNG.
"""

from trialwise.metrics._classification import (
    AveragedScores,
    ClassReport,
    ConfusionMatrix,
    PrecisionRecall,
    confusion_matrix,
    cost_weighted_error,
    per_class_report,
    precision_recall_fbeta,
    precision_recall_fbeta_ovr,
)
from trialwise.metrics._intervals import Interval, RareEventCheck, rare_event_warning, wilson_interval
from trialwise.metrics._plots import (
    ConfusionMatrixPlot,
    PRCurvePlot,
    RiskCoveragePlot,
    confusion_matrix_plot_data,
    pr_curve_plot_data,
    risk_coverage_plot_data,
    save_plot,
)
from trialwise.metrics._ranking import (
    PRCurve,
    ThresholdChoice,
    average_precision,
    precision_recall_curve,
    threshold_for_target,
)
from trialwise.metrics._selective import (
    RiskCoverage,
    SelectiveThreshold,
    aurc,
    risk_coverage_curve,
    selective_threshold,
)

__all__ = [
    "AveragedScores", "ClassReport", "ConfusionMatrix", "ConfusionMatrixPlot", "Interval", "PRCurve",
    "PRCurvePlot", "PrecisionRecall", "RareEventCheck", "RiskCoverage", "RiskCoveragePlot",
    "SelectiveThreshold", "ThresholdChoice", "aurc", "average_precision", "confusion_matrix",
    "confusion_matrix_plot_data", "cost_weighted_error", "per_class_report", "pr_curve_plot_data",
    "precision_recall_curve", "precision_recall_fbeta", "precision_recall_fbeta_ovr", "rare_event_warning",
    "risk_coverage_curve", "risk_coverage_plot_data", "save_plot", "selective_threshold",
    "threshold_for_target", "wilson_interval",
]
