"""Plots as PNG files: plot data is computed into small typed records first, then drawn.

Drawing uses matplotlib's object API with the Agg canvas (no pyplot, no global state, no display),
imported only when a figure is saved.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from trialwise._exceptions import UsageError
from trialwise.metrics._classification import ConfusionMatrix
from trialwise.metrics._common import Record, label_names
from trialwise.metrics._ranking import PRCurve
from trialwise.metrics._selective import RiskCoverage, SelectiveThreshold

__all__ = [
    "ConfusionMatrixPlot", "PRCurvePlot", "RiskCoveragePlot", "confusion_matrix_plot_data",
    "pr_curve_plot_data", "risk_coverage_plot_data", "save_plot",
]

MAX_ANNOTATED_CLASSES = 20
"""Cells are labelled with their counts up to this many classes; beyond, text becomes unreadable."""

DPI = 120
"""Resolution of saved PNG files."""


def plain_label(text: object) -> str:
    """``text`` for a matplotlib label, shown as written: every ``$`` is escaped, so a class, series or
    parameter name such as ``$\\foo$`` is not parsed as mathtext (a ValueError when the figure is drawn).
    Every label drawn from user data goes through this."""
    return str(text).replace("$", r"\$")


@dataclass(frozen=True, eq=False)
class ConfusionMatrixPlot(Record):
    names: tuple[str, ...]
    counts: np.ndarray
    colour: np.ndarray  # row-normalised shares when normalised, else counts
    normalized: bool
    title: str


@dataclass(frozen=True, eq=False)
class PRLine(Record):
    name: str
    precision: np.ndarray
    recall: np.ndarray
    average_precision: float
    prevalence: float


@dataclass(frozen=True, eq=False)
class PRCurvePlot(Record):
    lines: tuple[PRLine, ...]
    title: str


@dataclass(frozen=True, eq=False)
class RiskCoveragePlot(Record):
    coverage: np.ndarray
    risk: np.ndarray
    aurc: float
    e_aurc: float
    error_rate: float
    operating_point: tuple[float, float] | None
    operating_label: str
    title: str


def confusion_matrix_plot_data(cm: ConfusionMatrix, classes: Any = None, normalize: bool = True,
                               title: str = "Confusion matrix") -> ConfusionMatrixPlot:
    """Plot record for a confusion matrix; ``normalize`` colours rows by share of the true class."""
    colour = cm.normalized() if normalize else cm.matrix.astype(np.float64)
    return ConfusionMatrixPlot(names=tuple(label_names(cm.labels, classes)), counts=cm.matrix, colour=colour,
                               normalized=normalize, title=title)


def pr_curve_plot_data(curves: PRCurve | Mapping[str, PRCurve],
                       title: str = "Precision-recall curve") -> PRCurvePlot:
    """Plot record for one or several precision-recall curves (e.g. one per class or per model)."""
    items = {"": curves} if isinstance(curves, PRCurve) else dict(curves)
    lines = tuple(PRLine(name=name or f"positive = {c.pos_label!r}", precision=c.precision, recall=c.recall,
                         average_precision=c.average_precision, prevalence=c.n_positive / c.n)
                  for name, c in items.items())
    return PRCurvePlot(lines=lines, title=title)


def risk_coverage_plot_data(curve: RiskCoverage, selected: SelectiveThreshold | None = None,
                            title: str = "Risk-coverage curve") -> RiskCoveragePlot:
    """Plot record for a risk-coverage curve, optionally marking an SGR operating point."""
    point, label = None, ""
    if selected is not None and selected.found:
        point = (selected.coverage, 1.0 - selected.accuracy)
        label = f"SGR: risk ≤ {selected.risk_bound:.2%} w.p. {1 - selected.delta:.1%}"
    return RiskCoveragePlot(coverage=curve.coverage, risk=curve.risk, aurc=curve.aurc, e_aurc=curve.e_aurc,
                            error_rate=curve.error_rate, operating_point=point, operating_label=label, title=title)


def _draw_confusion(ax: Any, fig: Any, d: ConfusionMatrixPlot) -> None:
    k = len(d.names)
    im = ax.imshow(d.colour, cmap="Blues", vmin=0, vmax=1 if d.normalized else None)
    fig.colorbar(im, ax=ax, label="share of true class" if d.normalized else "count")
    ax.set_xticks(range(k), labels=[plain_label(n) for n in d.names], rotation=90 if k > 8 else 0)
    ax.set_yticks(range(k), labels=[plain_label(n) for n in d.names])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if k <= MAX_ANNOTATED_CLASSES:
        high = d.colour.max() if d.colour.size else 0
        for i in range(k):
            for j in range(k):
                ax.text(j, i, str(int(d.counts[i, j])), ha="center", va="center", fontsize=8,
                        color="white" if d.colour[i, j] > high / 2 else "black")


def _draw_pr(ax: Any, d: PRCurvePlot) -> None:
    for line in d.lines:
        ax.step(line.recall, line.precision, where="post",
                label=plain_label(f"{line.name} (AP {line.average_precision:.3f})"))
    if len(d.lines) == 1:
        ax.axhline(d.lines[0].prevalence, ls=":", color="grey", label="chance (prevalence)")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.legend(loc="lower left", fontsize=8)


def _draw_risk_coverage(ax: Any, d: RiskCoveragePlot) -> None:
    ax.plot(np.concatenate([[0.0], d.coverage]), np.concatenate([[d.risk[0]], d.risk]), drawstyle="steps-pre",
            label=f"AURC {d.aurc:.4f} (E-AURC {d.e_aurc:.4f})")
    ax.axhline(d.error_rate, ls=":", color="grey", label=f"full-coverage risk {d.error_rate:.2%}")
    if d.operating_point is not None:
        ax.plot(*d.operating_point, "o", color="red", label=d.operating_label)
    ax.set_xlabel("coverage (share of inputs answered)")
    ax.set_ylabel("selective risk (error rate on answered)")
    ax.set_xlim(0, 1)
    ax.legend(loc="upper left", fontsize=8)


def save_plot(data: ConfusionMatrixPlot | PRCurvePlot | RiskCoveragePlot, path: str | Path, dpi: int = DPI) -> Path:
    """Draw a plot record and write it as a PNG file; returns the path."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if isinstance(data, ConfusionMatrixPlot):
        k = len(data.names)
        size = (min(4 + 0.45 * k, 24), min(3.5 + 0.45 * k, 24))
    elif isinstance(data, (PRCurvePlot, RiskCoveragePlot)):
        size = (6.0, 4.5)
    else:
        raise UsageError(f"The 'data' parameter of save_plot must be a plot record. Got {type(data).__name__} "
                         f"instead; build one with confusion_matrix_plot_data, pr_curve_plot_data or "
                         f"risk_coverage_plot_data.")
    fig = Figure(figsize=size)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    if isinstance(data, ConfusionMatrixPlot):
        _draw_confusion(ax, fig, data)
    elif isinstance(data, PRCurvePlot):
        _draw_pr(ax, data)
    else:
        _draw_risk_coverage(ax, data)
    ax.set_title(plain_label(data.title))
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi, format="png")
    return out
