"""Plotly figures as plain dicts, from arrays and records: the charts of the report and the dashboard.

Pure: no store, no file, no Plotly import (a figure is JSON that plotly.js draws); each function
returns ``{"data": [...], "layout": {...}}``. Text that came from a user (experiment names, metric
keys, seed labels) goes through :func:`plotly_text`, because plotly.js renders a subset of HTML in
trace names, titles and annotations: escaped, ``<script>`` or ``<img onerror=...>`` is shown as
text and never becomes markup.

Interactive parts that a figure dict can carry are in the figure (Plotly ``updatemenus``: log or
linear y axis, seeds shown or hidden; legend clicks toggle each seed); smoothing is done by the
page's script on traces whose ``meta.smooth`` is true (see ``templates/report.js``).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from trialwise.stats._bands import MAX_DISPLAY_POINTS, CurveBand, SeedCurve, extreme_indices, finite_or_none, steps_list

__all__ = [
    "BAND_ALPHA", "DIGITS", "PALETTE", "ArmPoints", "CurveSet", "EffectBar", "EvidenceMark", "arms_figure", "colour",
    "curve_figure", "effects_figure", "evidence_figure", "plotly_text", "rgba",
]

PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")
"""Experiment colours, in order: the Okabe–Ito palette, distinguishable with the common colour-vision
deficiencies (M. Okabe and K. Ito, "Color Universal Design (CUD): how to make figures and
presentations that are friendly to colorblind people", 2008)."""

BAND_ALPHA = 0.2
"""Opacity of a band's fill: overlapping bands of two experiments stay readable."""

SEED_ALPHA = 0.45
"""Opacity of a single seed's line next to the mean."""

DIGITS = 7
"""Significant digits of the values written into a figure (float32 precision: more than a chart can
show, and about half the bytes of a full double)."""

HIGHLIGHT = "rgba(213, 94, 0, 0.15)"
"""Fill of the evidence span of a diagnosis finding (the palette's vermillion, transparent)."""


def plotly_text(text: Any) -> str:
    """``text`` safe for the places plotly.js renders as HTML-like markup (names, titles, annotations)."""
    return html.escape(str(text), quote=True)


def colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[k:k + 2], 16) for k in (0, 2, 4))
    return f"rgba({r}, {g}, {b}, {alpha:g})"


@dataclass(frozen=True)
class CurveSet:
    """One experiment's seeds on one metric, as drawn: a label, its colour, the curves, their band."""

    label: str
    colour: str
    curves: tuple[SeedCurve, ...]
    band: CurveBand


def _toggles(seed_traces: list[int], y_title: str) -> list[dict[str, Any]]:
    """Plotly ``updatemenus``: y axis linear or log; seeds hidden (in the legend) or drawn."""
    menus: list[dict[str, Any]] = [{
        "type": "buttons", "direction": "right", "x": 0, "xanchor": "left", "y": 1.12, "yanchor": "bottom",
        "showactive": True, "active": 0, "pad": {"r": 4, "t": 0},
        "buttons": [
            {"label": "linear", "method": "relayout", "args": [{"yaxis.type": "linear", "yaxis.title.text": y_title}]},
            {"label": "log", "method": "relayout", "args": [{"yaxis.type": "log", "yaxis.title.text": f"{y_title} (log)"}]},
        ],
    }]
    if seed_traces:
        menus.append({
            "type": "buttons", "direction": "right", "x": 0.22, "xanchor": "left", "y": 1.12, "yanchor": "bottom",
            "showactive": True, "active": 0, "pad": {"r": 4, "t": 0},
            "buttons": [
                {"label": "seeds hidden", "method": "restyle", "args": [{"visible": "legendonly"}, seed_traces]},
                {"label": "seeds shown", "method": "restyle", "args": [{"visible": True}, seed_traces]},
            ],
        })
    return menus


def _layout(title: str, x_title: str, y_title: str, *, subtitle: str = "", menus: list[dict[str, Any]] | None = None,
            height: int = 380) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "title": {"text": plotly_text(title), "x": 0, "xanchor": "left", "y": 0.98, "yanchor": "top"},
        "xaxis": {"title": {"text": plotly_text(x_title)}, "zeroline": False},
        "yaxis": {"title": {"text": plotly_text(y_title)}, "zeroline": False, "type": "linear"},
        "height": height, "margin": {"l": 60, "r": 20, "t": 80, "b": 50},
        "legend": {"orientation": "v", "font": {"size": 11}},
        "hovermode": "closest", "template": None, "plot_bgcolor": "#ffffff", "paper_bgcolor": "#ffffff",
        "updatemenus": menus or [],
    }
    if subtitle:
        layout["title"]["subtitle"] = {"text": plotly_text(subtitle), "font": {"size": 11, "color": "#555"}}
    for axis in ("xaxis", "yaxis"):
        layout[axis].update(gridcolor="#e5e5e5", linecolor="#999", showline=True)
    return layout


def downsample_note(points: int, drawn: int) -> str:
    """What a chart says when it shows fewer points than stored."""
    return (f"downsampled for display: up to {points:,} points per line → {drawn:,} "
            "(min/max per bucket, extremes kept)")


def curve_figure(metric: str, sets: Sequence[CurveSet], *, max_points: int = MAX_DISPLAY_POINTS,
                 digits: int = DIGITS, x_title: str = "step") -> dict[str, Any]:
    """The learning curve of ``metric``: per experiment the mean over seeds with its band, and each
    seed's own line (hidden until asked for: the legend or the "seeds shown" button).

    ``layout.meta`` says what was downsampled (``downsampled``: the longest input and the most points
    drawn per line) and how many non-finite values are not drawn (``nonfinite``).
    """
    data: list[dict[str, Any]] = []
    seed_traces: list[int] = []
    longest = drawn = nonfinite = 0
    for k, s in enumerate(sets):
        b = s.band
        name = plotly_text(s.label)
        fill = rgba(s.colour, BAND_ALPHA)
        if b.size:
            idx = extreme_indices([b.mean, b.low, b.high], max_points)
            longest = max(longest, b.size)
            if b.size > max_points:
                drawn = max(drawn, int(idx.size))
            x = steps_list(b.steps[idx])
            level = f"{b.confidence:.0%}"
            common = {"type": "scatter", "mode": "lines", "x": x, "legendgroup": f"exp{k}"}
            data.append({**common, "name": f"{name} {level} band", "y": finite_or_none(b.low[idx], digits),
                         "line": {"width": 0, "color": fill}, "showlegend": False, "hoverinfo": "skip",
                         "meta": {"role": "band-low", "set": k, "smooth": True}})
            data.append({**common, "name": f"{name} {level} band (t over seeds)", "y": finite_or_none(b.high[idx], digits),
                         "line": {"width": 0, "color": fill}, "fill": "tonexty", "fillcolor": fill,
                         "hoverinfo": "skip", "meta": {"role": "band-high", "set": k, "smooth": True}})
            data.append({**common, "name": f"{name} mean", "y": finite_or_none(b.mean[idx], digits),
                         "customdata": b.n[idx].tolist(), "line": {"width": 2.2, "color": s.colour},
                         "hovertemplate": "step %{x}<br>mean %{y:.4g}<br>%{customdata} seed(s)",
                         "meta": {"role": "mean", "set": k, "smooth": True}})
        for c in s.curves:
            nonfinite += c.n_nonfinite
            if not c.steps.size:
                continue
            idx = extreme_indices([c.values], max_points)
            longest = max(longest, int(c.steps.size))
            if c.steps.size > max_points:
                drawn = max(drawn, int(idx.size))
            status = "" if c.status == "completed" else f" ({plotly_text(c.status)})"
            seed_traces.append(len(data))
            data.append({"type": "scatter", "mode": "lines", "x": steps_list(c.steps[idx]),
                         "y": finite_or_none(c.values[idx], digits), "name": f"{name} seed {c.seed}{status}",
                         "legendgroup": f"exp{k}", "visible": "legendonly",
                         "line": {"width": 1, "color": rgba(s.colour, SEED_ALPHA)},
                         "hovertemplate": "step %{x}<br>%{y:.4g}",
                         "meta": {"role": "seed", "set": k, "seed": c.seed, "run": c.run_id, "smooth": True}})
    note = downsample_note(longest, drawn) if drawn else ""
    layout = _layout(metric, x_title, metric, subtitle=note, menus=_toggles(seed_traces, plotly_text(metric)))
    layout["meta"] = {"kind": "curve", "metric": metric, "sets": [s.label for s in sets],
                      "downsampled": {"points": longest, "drawn": drawn} if drawn else None, "nonfinite": nonfinite}
    return {"data": data, "layout": layout}


@dataclass(frozen=True)
class EvidenceMark:
    """Where one seed's evidence lies on a series: its steps and, when the detector read a window, the span."""

    seed: int
    steps: tuple[float, ...]
    span: tuple[float, float] | None = None


def evidence_figure(title: str, series: str, curves: Sequence[SeedCurve], marks: Sequence[EvidenceMark], *,
                    line_colour: str = PALETTE[1], max_points: int = MAX_DISPLAY_POINTS,
                    digits: int = DIGITS) -> dict[str, Any]:
    """One series of the seeds a finding was seen in, its evidence highlighted: the steps the detector
    named (dotted lines and markers) and the span it read (shaded); the other seeds in grey."""
    affected = {m.seed: m for m in marks}
    data: list[dict[str, Any]] = []
    shapes: list[dict[str, Any]] = []
    longest = drawn = 0
    for c in curves:
        if not c.steps.size:
            continue
        idx = extreme_indices([c.values], max_points)
        marked = c.seed in affected
        if c.steps.size > max_points:
            longest, drawn = max(longest, int(c.steps.size)), max(drawn, int(idx.size))
        data.append({"type": "scatter", "mode": "lines", "x": steps_list(c.steps[idx]), "y": finite_or_none(c.values[idx], digits),
                     "name": f"seed {c.seed}" + ("" if marked else " (not affected)"),
                     "line": {"width": 1.8 if marked else 1, "color": line_colour if marked else "#b0b0b0"},
                     "hovertemplate": "step %{x}<br>%{y:.4g}", "meta": {"role": "seed", "seed": c.seed, "smooth": False}})
        if not marked:
            continue
        m = affected[c.seed]
        if m.span is not None:
            shapes.append({"type": "rect", "xref": "x", "yref": "paper", "x0": m.span[0], "x1": m.span[1], "y0": 0,
                           "y1": 1, "fillcolor": HIGHLIGHT, "line": {"width": 0}, "layer": "below"})
        xs, ys = [], []
        for step in m.steps:
            shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": step, "x1": step, "y0": 0, "y1": 1,
                           "line": {"color": line_colour, "width": 1, "dash": "dot"}})
            j = int(np.searchsorted(c.steps, step))
            if j < c.steps.size and c.steps[j] == step and np.isfinite(c.values[j]):
                xs.append(float(step))
                ys.append(float(f"{c.values[j]:.{digits}g}"))
        if xs:
            data.append({"type": "scatter", "mode": "markers", "x": xs, "y": ys, "name": f"seed {c.seed}: evidence",
                         "marker": {"size": 9, "color": line_colour, "symbol": "x"}, "showlegend": False,
                         "hovertemplate": "evidence at step %{x}<br>%{y:.4g}"})
    note = downsample_note(longest, drawn) if drawn else ""
    layout = _layout(title, "step", series, subtitle=note, menus=_toggles([], plotly_text(series)), height=320)
    layout["shapes"] = shapes
    layout["meta"] = {"kind": "evidence", "series": series, "downsampled": {"points": longest, "drawn": drawn} if drawn else None}
    return {"data": data, "layout": layout}


@dataclass(frozen=True)
class ArmPoints:
    """One arm of a comparison as drawn: its seeds' values, mean and interval of the mean."""

    label: str
    colour: str
    seeds: tuple[int, ...]
    values: tuple[float, ...]
    mean: float
    ci_low: float
    ci_high: float


def arms_figure(metric: str, arms: Sequence[ArmPoints], *, digits: int = DIGITS) -> dict[str, Any]:
    """Each arm's seeds as dots with the mean and its interval: what a verdict was computed from."""
    data: list[dict[str, Any]] = []
    names = [plotly_text(a.label) for a in arms]
    for a, name in zip(arms, names):
        finite = [(s, v) for s, v in zip(a.seeds, a.values) if np.isfinite(v)]
        data.append({"type": "scatter", "mode": "markers", "x": [name] * len(finite),
                     "y": [float(f"{v:.{digits}g}") for _, v in finite], "customdata": [s for s, _ in finite],
                     "name": f"{name} seeds", "marker": {"size": 9, "color": rgba(a.colour, 0.6)},
                     "hovertemplate": "seed %{customdata}<br>%{y:.4g}"})
        if np.isfinite(a.mean):
            plus = a.ci_high - a.mean if np.isfinite(a.ci_high) else 0.0
            minus = a.mean - a.ci_low if np.isfinite(a.ci_low) else 0.0
            data.append({"type": "scatter", "mode": "markers", "x": [name], "y": [float(f"{a.mean:.{digits}g}")],
                         "name": f"{name} mean ± 95% CI", "marker": {"size": 14, "symbol": "line-ew-open",
                                                                      "color": a.colour, "line": {"width": 3}},
                         "error_y": {"type": "data", "symmetric": False, "array": [plus], "arrayminus": [minus],
                                     "color": a.colour, "thickness": 2, "width": 10},
                         "hovertemplate": "mean %{y:.4g}"})
    layout = _layout(f"{metric} per seed", "", metric, height=300)
    layout["showlegend"] = False
    layout["xaxis"]["type"] = "category"
    layout["meta"] = {"kind": "arms"}
    return {"data": data, "layout": layout}


@dataclass(frozen=True)
class EffectBar:
    """One effect as drawn: its estimate and interval (positive = better), flagged when it is a
    shadowed regression."""

    label: str
    estimate: float
    ci_low: float
    ci_high: float
    flagged: bool = False


def effects_figure(title: str, effects: Sequence[EffectBar], *, digits: int = DIGITS) -> dict[str, Any]:
    """A forest plot: each effect's estimate with its interval around zero, shadowed regressions red."""
    labels = [plotly_text(e.label) for e in effects]
    data = []
    for flagged, colour_ in ((False, PALETTE[0]), (True, "#b3261e")):
        rows = [(lab, e) for lab, e in zip(labels, effects) if e.flagged == flagged and np.isfinite(e.estimate)]
        if not rows:
            continue
        data.append({"type": "scatter", "mode": "markers", "orientation": "h",
                     "x": [float(f"{e.estimate:.{digits}g}") for _, e in rows], "y": [lab for lab, _ in rows],
                     "name": "shadowed regression" if flagged else "effect",
                     "marker": {"size": 10, "color": colour_, "symbol": "diamond"},
                     "error_x": {"type": "data", "symmetric": False, "color": colour_,
                                 "array": [max(0.0, e.ci_high - e.estimate) if np.isfinite(e.ci_high) else 0.0 for _, e in rows],
                                 "arrayminus": [max(0.0, e.estimate - e.ci_low) if np.isfinite(e.ci_low) else 0.0 for _, e in rows]},
                     "hovertemplate": "%{y}<br>%{x:.4g}"})
    layout = _layout(title, "effect (positive = better)", "", height=max(220, 60 + 34 * len(effects)))
    layout["yaxis"].update(type="category", autorange="reversed")
    layout["xaxis"]["zeroline"] = True
    layout["shapes"] = [{"type": "line", "xref": "x", "yref": "paper", "x0": 0, "x1": 0, "y0": 0, "y1": 1,
                         "line": {"color": "#444", "width": 1}}]
    layout["meta"] = {"kind": "effects"}
    return {"data": data, "layout": layout}


# -- sweeps ---------------------------------------------------------------------------------------

def history_figure(metric: str, direction: str, trials: Sequence[int], values: Sequence[float], *,
                   digits: int = DIGITS) -> dict[str, Any]:
    """Optimisation history: each completed trial's objective (its seeds' mean) and the best so far."""
    order = sorted((t, v) for t, v in zip(trials, values) if np.isfinite(v))
    best, run = [], (-np.inf if direction == "max" else np.inf)
    for _, v in order:
        run = max(run, v) if direction == "max" else min(run, v)
        best.append(float(f"{run:.{digits}g}"))
    xs = [t for t, _ in order]
    data = [{"type": "scatter", "mode": "markers", "x": xs, "y": [float(f"{v:.{digits}g}") for _, v in order],
             "name": "trial (mean over its seeds)", "marker": {"size": 8, "color": rgba(PALETTE[0], 0.7)},
             "hovertemplate": "trial %{x}<br>%{y:.4g}"},
            {"type": "scatter", "mode": "lines", "x": xs, "y": best, "name": "best so far",
             "line": {"shape": "hv", "color": PALETTE[1], "width": 2}}]
    layout = _layout(f"optimisation history: {metric} ({direction})", "trial", metric, height=320)
    layout["meta"] = {"kind": "history"}
    return {"data": data, "layout": layout}


@dataclass(frozen=True)
class ImportanceBar:
    """A parameter's importance with its bootstrap interval; ``matters``: it beats the noise probe."""

    name: str
    importance: float
    ci_low: float
    ci_high: float
    matters: bool


def importance_figure(title: str, params: Sequence[ImportanceBar], noise: ImportanceBar) -> dict[str, Any]:
    """Importances with intervals next to a random parameter's (the noise it must beat)."""
    rows = [*params, noise]
    labels = [plotly_text(p.name) for p in rows]
    colours = [PALETTE[2] if p.matters else "#9e9e9e" for p in params] + ["#444444"]
    data = [{"type": "bar", "orientation": "h", "y": labels, "x": [float(f"{p.importance:.{DIGITS}g}") for p in rows],
             "marker": {"color": colours}, "name": "importance",
             "error_x": {"type": "data", "symmetric": False,
                         "array": [max(0.0, p.ci_high - p.importance) for p in rows],
                         "arrayminus": [max(0.0, p.importance - p.ci_low) for p in rows], "color": "#333"},
             "hovertemplate": "%{y}: %{x:.3g}"}]
    layout = _layout(title, "importance", "", height=max(220, 70 + 36 * len(rows)))
    layout["yaxis"].update(type="category", autorange="reversed")
    layout["showlegend"] = False
    layout["meta"] = {"kind": "importance"}
    return {"data": data, "layout": layout}


def slice_figure(metric: str, name: str, xs: Sequence[Any], ys: Sequence[float], trials: Sequence[int], *,
                 log: bool, categorical: bool, bins: Sequence[tuple[float, float, float]] = ()) -> dict[str, Any]:
    """One parameter's slice: every trial's (value, objective), and the binned means (``(x, mean, std)``)."""
    x = [plotly_text(v) for v in xs] if categorical else [float(v) for v in xs]
    data: list[dict[str, Any]] = [{"type": "scatter", "mode": "markers", "x": x, "y": [float(f"{v:.{DIGITS}g}") for v in ys],
                                   "customdata": list(trials), "name": "trial",
                                   "marker": {"size": 8, "color": rgba(PALETTE[0], 0.7)},
                                   "hovertemplate": "trial %{customdata}<br>%{x}<br>%{y:.4g}"}]
    if bins and not categorical:
        data.append({"type": "scatter", "mode": "lines+markers", "x": [b[0] for b in bins], "y": [b[1] for b in bins],
                     "name": "bin mean", "line": {"color": PALETTE[1], "width": 2},
                     "error_y": {"type": "data", "array": [b[2] if np.isfinite(b[2]) else 0.0 for b in bins],
                                 "color": rgba(PALETTE[1], 0.6)}})
    layout = _layout(f"slice: {name}", name, metric, height=300)
    layout["xaxis"]["type"] = "category" if categorical else ("log" if log else "linear")
    layout["meta"] = {"kind": "slice", "param": name}
    return {"data": data, "layout": layout}


def parallel_figure(metric: str, names: Sequence[str], rows: Sequence[dict[str, Any]], values: Sequence[float], *,
                    logs: Sequence[bool] = ()) -> dict[str, Any]:
    """Parallel coordinates: one line per trial through its parameters, coloured by the objective.

    Categorical parameters are placed at their category's index (labelled); log-scaled ones at log10."""
    dims = []
    for i, name in enumerate(names):
        col = [r.get(name) for r in rows]
        log = bool(logs[i]) if i < len(logs) else False
        if any(isinstance(v, str) or isinstance(v, bool) for v in col if v is not None):
            cats = list(dict.fromkeys(str(v) for v in col))
            dims.append({"label": plotly_text(name), "values": [cats.index(str(v)) for v in col],
                         "tickvals": list(range(len(cats))), "ticktext": [plotly_text(c) for c in cats]})
        else:
            vals = [float(v) if v is not None else None for v in col]
            if log:
                vals = [float(np.log10(v)) if v is not None and v > 0 else None for v in vals]
            dims.append({"label": plotly_text(f"{name} (log10)" if log else name), "values": vals})
    dims.append({"label": plotly_text(metric), "values": [float(f"{v:.{DIGITS}g}") for v in values]})
    data = [{"type": "parcoords", "dimensions": dims,
             "line": {"color": [float(v) for v in values], "colorscale": "Viridis", "showscale": True}}]
    layout = _layout(f"parallel coordinates: {metric}", "", "", height=380)
    layout["meta"] = {"kind": "parallel"}
    return {"data": data, "layout": layout}


# -- error analysis -----------------------------------------------------------------------------------

def confusion_figure(title: str, names: Sequence[str], counts: np.ndarray, shares: np.ndarray) -> dict[str, Any]:
    """A confusion matrix heat map: rows the true class, columns the predicted one, coloured by the
    share of the true class (so a rare class's errors show), the counts written in the cells."""
    labels = [plotly_text(n) for n in names]
    z = [[float(f"{v:.4g}") if np.isfinite(v) else None for v in row] for row in np.asarray(shares, dtype=float)]
    data = [{"type": "heatmap", "x": labels, "y": labels, "z": z, "text": np.asarray(counts).astype(int).tolist(),
             "texttemplate": "%{text}", "colorscale": "Blues", "zmin": 0, "zmax": 1,
             "colorbar": {"title": {"text": "share of true class"}},
             "hovertemplate": "true %{y}<br>predicted %{x}<br>%{text} (%{z:.1%} of the true class)<extra></extra>"}]
    n = len(names)
    layout = _layout(title, "predicted", "true", height=min(900, max(320, 120 + 28 * n)))
    layout["yaxis"].update(type="category", autorange="reversed")
    layout["xaxis"].update(type="category", side="bottom")
    layout["meta"] = {"kind": "confusion"}
    return {"data": data, "layout": layout}


@dataclass(frozen=True)
class PRLineData:
    """One precision-recall curve: a class (or the positive class) with its AP and prevalence."""

    name: str
    precision: np.ndarray
    recall: np.ndarray
    average_precision: float
    prevalence: float


def pr_figure(title: str, lines: Sequence[PRLineData], *, max_points: int = MAX_DISPLAY_POINTS) -> dict[str, Any]:
    """Precision-recall curves, each with its average precision; a dashed line at each class's
    prevalence (what a classifier without skill gets)."""
    data = []
    for i, ln in enumerate(lines):
        idx = extreme_indices([ln.precision], max_points)
        c = colour(i)
        name = plotly_text(ln.name)
        data.append({"type": "scatter", "mode": "lines", "x": finite_or_none(ln.recall[idx], DIGITS),
                     "y": finite_or_none(ln.precision[idx], DIGITS), "name": f"{name} (AP {ln.average_precision:.3f})",
                     "line": {"color": c, "width": 2, "shape": "hv"}, "hovertemplate": "recall %{x:.3f}<br>precision %{y:.3f}"})
        data.append({"type": "scatter", "mode": "lines", "x": [0, 1], "y": [ln.prevalence, ln.prevalence],
                     "name": f"{name}: no skill ({ln.prevalence:.1%})", "showlegend": len(lines) == 1,
                     "line": {"color": c, "width": 1, "dash": "dash"}, "hoverinfo": "skip"})
    layout = _layout(title, "recall", "precision", height=380)
    layout["xaxis"]["range"] = [0, 1.02]
    layout["yaxis"]["range"] = [0, 1.02]
    layout["meta"] = {"kind": "pr"}
    return {"data": data, "layout": layout}


def risk_coverage_figure(title: str, coverage: np.ndarray, risk: np.ndarray, *, aurc: float, e_aurc: float,
                         error_rate: float, point: tuple[float, float] | None = None, point_label: str = "",
                         max_points: int = MAX_DISPLAY_POINTS) -> dict[str, Any]:
    """Risk (error on the answered examples) against coverage (share answered, most confident first)."""
    idx = extreme_indices([risk], max_points)
    data: list[dict[str, Any]] = [
        {"type": "scatter", "mode": "lines", "x": finite_or_none(coverage[idx], DIGITS), "y": finite_or_none(risk[idx], DIGITS),
         "name": f"risk-coverage (AURC {aurc:.4f}, excess {e_aurc:.4f})", "line": {"color": PALETTE[0], "width": 2},
         "hovertemplate": "coverage %{x:.1%}<br>error %{y:.2%}"},
        {"type": "scatter", "mode": "lines", "x": [0, 1], "y": [error_rate, error_rate],
         "name": f"answer everything: {error_rate:.2%}", "line": {"color": "#777", "dash": "dash", "width": 1}},
    ]
    if point is not None:
        data.append({"type": "scatter", "mode": "markers", "x": [point[0]], "y": [point[1]],
                     "name": plotly_text(point_label), "marker": {"size": 11, "color": PALETTE[1], "symbol": "star"}})
    layout = _layout(title, "coverage", "error on answered", height=360)
    layout["meta"] = {"kind": "risk-coverage"}
    return {"data": data, "layout": layout}
