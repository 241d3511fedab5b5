"""Per-parameter slices of a sweep: the objective against each parameter, binned, to show the U-shape.

Seed 003: "Usually the performance follows a U-shaped curve for each hyperparameter".  The slice of
a parameter bins its range (on the parameter's own scale: log for log parameters) and averages the
objective per bin.  When the best bin lies at an edge of the searched range, the optimum may lie
outside it and the range should be widened.  Plot data is computed into records first, then drawn.

A slice is read as a U-shape ("optimum inside the range") only when it can show one: at least
:data:`MIN_SHAPE_TRIALS` trials, and a best bin with a tried bin on each side (the curve goes down
on both sides of it).  Otherwise the slice is monotone over what was tried, and it says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from trialwise.metrics._common import Record
from trialwise.metrics._plots import plain_label
from trialwise.tune._space import Space

__all__ = ["MIN_SHAPE_TRIALS", "SLICE_BINS", "SliceBin", "SliceData", "save_slices", "slice_data"]

SLICE_BINS = 5
"""Bins per numeric range (trialwise's choice: enough to see a bottom between two walls, few enough
that 20-40 trials put several in most bins)."""

MIN_SHAPE_TRIALS = 5
"""Fewest trials with a finite objective from which a slice's shape is read (issue 11 §7: a
"U-shape" was claimed from 2 monotone trials). A U needs a bottom and two walls, i.e. three
distinct bins; 5 trials is the least that can put more than one trial into any of
:data:`SLICE_BINS` bins (trialwise's choice, next to seed 003's "usually the performance follows a
U-shaped curve for each hyperparameter", which is about the curve, not about how few points show it)."""

DPI = 120
"""Resolution of the saved PNG."""

PANEL_COLUMNS = 3
"""Slices per row of the figure."""

SHAPES = {
    "interior": "optimum inside the range (the U-shape of seed 003)",
    "low": "best at the low edge of the range: the optimum may lie below it; widen the range",
    "high": "best at the high edge of the range: the optimum may lie above it; widen the range",
    "monotone": "monotone over the values tried: no U-shape shown",
    "categorical": "categorical",
    "few": f"too few trials to read a shape (fewer than {MIN_SHAPE_TRIALS})",
}
"""How a slice reads (``note`` starts with these words; ``monotone`` adds where the best bin is)."""


@dataclass(frozen=True)
class SliceBin(Record):
    """One bin of a slice: bounds on the parameter's scale (or a category) and the objective there."""

    label: str
    low: float
    high: float
    mean: float
    std: float
    n: int


@dataclass(frozen=True)
class SliceData(Record):
    """A parameter's slice: every trial's (value, objective) and the binned means."""

    name: str
    kind: str
    log: bool
    x: tuple[Any, ...]
    y: tuple[float, ...]
    trials: tuple[int, ...]
    bins: tuple[SliceBin, ...]
    shape: str
    note: str


def _bin_stats(label: str, low: float, high: float, ys: np.ndarray) -> SliceBin:
    return SliceBin(label, low, high, float(np.mean(ys)), float(np.std(ys, ddof=1)) if ys.size > 1 else math.nan,
                    int(ys.size))


def _fmt(v: float, log: bool) -> str:
    return f"{10 ** v:.3g}" if log else f"{v:.3g}"


def slice_data(params: Sequence[Mapping[str, Any]], values: Sequence[float], trials: Sequence[int], space: Space,
               *, direction: str = "max", n_bins: int = SLICE_BINS) -> tuple[SliceData, ...]:
    """Slices of every parameter of ``space`` over the trials with a finite objective.

    Returns
    -------
    tuple of SliceData
        ``shape`` is ``interior`` (U-shape: the best bin has a tried bin on each side, from at least
        :data:`MIN_SHAPE_TRIALS` trials), ``low`` / ``high`` (best bin at an edge of the range: widen
        it), ``monotone`` (best at the first or last bin tried, with untried bins beyond it),
        ``categorical`` or ``few`` (fewer than :data:`MIN_SHAPE_TRIALS` trials, or one bin).

    References
    ----------
    .. [1] Seed 003 (Deep Learning Book ch. 11 notes): U-shaped curve per hyperparameter.
    """
    keep = [i for i, v in enumerate(values) if v is not None and math.isfinite(v)]
    sign = 1.0 if direction == "max" else -1.0
    out = []
    for p in space.params:
        idx = [i for i in keep if p.name in params[i] and p.contains(params[i][p.name])]
        xs = [params[i][p.name] for i in idx]
        ys = np.asarray([values[i] for i in idx], dtype=float)
        bins: list[SliceBin] = []
        if p.kind == "choice":
            for c in p.choices:
                sel = np.asarray([x == c for x in xs], dtype=bool)
                if sel.any():
                    pos = float(p.choices.index(c))
                    bins.append(_bin_stats(str(c), pos, pos, ys[sel]))
            shape, note = "categorical", SHAPES["categorical"]
        else:
            lo, hi = p.position(p.low), p.position(p.high)
            edges = np.linspace(lo, hi, n_bins + 1)
            pos = np.asarray([p.position(x) for x in xs], dtype=float)
            which = np.clip(np.searchsorted(edges, pos, side="right") - 1, 0, n_bins - 1)
            best_k, best_mean = None, -math.inf
            occupied = []
            for k in range(n_bins):
                sel = which == k
                if sel.any():
                    b = _bin_stats(f"{_fmt(edges[k], p.log)}–{_fmt(edges[k + 1], p.log)}", float(edges[k]),
                                   float(edges[k + 1]), ys[sel])
                    bins.append(b)
                    occupied.append(k)
                    if sign * b.mean > best_mean:
                        best_k, best_mean = k, sign * b.mean
            shape, note = _shape(occupied, best_k, n_bins, int(ys.size), bins, p.log)
        out.append(SliceData(p.name, p.kind, p.log, tuple(xs), tuple(float(v) for v in ys),
                             tuple(trials[i] for i in idx), tuple(bins), shape, note))
    return tuple(out)


def _shape(occupied: Sequence[int], best_k: int | None, n_bins: int, n: int, bins: Sequence[SliceBin],
           log: bool) -> tuple[str, str]:
    """(shape, note) of a numeric slice from its occupied bins (in order) and its best bin.

    ``interior`` only from :data:`MIN_SHAPE_TRIALS` trials and a best bin strictly between two tried
    bins; ``low``/``high`` when the best bin is the range's own first/last bin; ``monotone`` when it
    is the first/last *tried* bin but the range goes on untried beyond it.
    """
    if n < MIN_SHAPE_TRIALS or best_k is None or len(occupied) < 2:
        return "few", f"{SHAPES['few']}: {n} trial(s) in {len(occupied)} bin(s)"
    if occupied[0] < best_k < occupied[-1]:
        return "interior", SHAPES["interior"]
    if best_k == 0:
        return "low", SHAPES["low"]
    if best_k == n_bins - 1:
        return "high", SHAPES["high"]
    b = bins[occupied.index(best_k)]
    side, edge = ("lowest", b.low) if best_k == occupied[0] else ("highest", b.high)
    return "monotone", (f"{SHAPES['monotone']}; best at the {side} values tried (bin {b.label}), none tried "
                        f"{'below' if side == 'lowest' else 'above'} {_fmt(edge, log)}: try them before "
                        "reading an optimum")


def save_slices(slices: Sequence[SliceData], path: str | Path, *, metric: str = "objective",
                importance: Mapping[str, float] | None = None, title: str = "", dpi: int = DPI) -> Path:
    """Draw the slices (one panel per parameter) into a PNG file; returns its path."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    k = max(1, len(slices))
    cols = min(PANEL_COLUMNS, k)
    rows = math.ceil(k / cols)
    fig = Figure(figsize=(4.2 * cols, 3.4 * rows))
    FigureCanvasAgg(fig)
    for j, s in enumerate(slices):
        ax = fig.add_subplot(rows, cols, j + 1)
        order = np.argsort(np.asarray(s.trials)) if s.trials else np.asarray([], dtype=int)
        colour = np.arange(len(s.trials))
        if s.kind == "choice":
            labels = [b.label for b in s.bins]
            xpos = [labels.index(str(x)) if str(x) in labels else math.nan for x in s.x]
            jitter = np.random.default_rng(0).uniform(-0.15, 0.15, len(xpos))
            ax.scatter(np.asarray(xpos)[order] + jitter, np.asarray(s.y)[order], c=colour, cmap="viridis", s=18, alpha=0.8)
            ax.errorbar(range(len(s.bins)), [b.mean for b in s.bins],
                        yerr=[0 if math.isnan(b.std) else b.std for b in s.bins], fmt="o-", color="crimson", capsize=3)
            ax.set_xticks(range(len(labels)), labels=[plain_label(x) for x in labels])
        else:
            xs = np.asarray(s.x, dtype=float)
            ax.scatter(xs[order], np.asarray(s.y)[order], c=colour, cmap="viridis", s=18, alpha=0.8)
            centres = [(b.low + b.high) / 2 for b in s.bins]
            centres = [10 ** c for c in centres] if s.log else centres
            ax.errorbar(centres, [b.mean for b in s.bins], yerr=[0 if math.isnan(b.std) else b.std for b in s.bins],
                        fmt="o-", color="crimson", capsize=3, label="bin mean ± std")
            if s.log:
                ax.set_xscale("log")
        head = s.name + (f"  (importance {importance[s.name]:.2f})" if importance and s.name in importance else "")
        ax.set_title(plain_label(head), fontsize=10)
        ax.set_xlabel(plain_label(s.name + (" (log scale)" if s.log else "")))
        ax.set_ylabel(plain_label(metric))
        if s.shape in ("low", "high", "monotone", "few"):
            flag = {"low": "best at the low edge", "high": "best at the high edge", "monotone": "monotone: no U-shape",
                    "few": "too few trials for a shape"}[s.shape]
            ax.text(0.02, 0.02, flag, transform=ax.transAxes, fontsize=8, color="crimson")
    if title:
        fig.suptitle(plain_label(title), fontsize=11)
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi, format="png")
    return out
