"""Curves over seeds: per-step mean with a t band, and downsampling for display.

A learning curve of one seed shows one draw of the training noise; the mean over seeds with a
t interval shows what the change does (pattern #1). One implementation for the HTML report and the
dashboard (:mod:`trialwise.report`, :mod:`trialwise.ui`):

- :func:`seed_curve` turns one run's stored points into a curve: one value per step (the last one
  stored for a step wins, so a re-logged step is never counted as a second seed), steps in order.
- :func:`curve_band` aligns the seeds' curves on the union of their steps and gives, per step, the
  number of seeds with a finite value, their mean and the Student-t interval of the mean
  (``mean ± t_{1-α/2, n-1} · s / √n``, s with ddof = 1); a step seen by fewer than two seeds (a
  seed that crashed, runs still going) has a mean and no interval.
- :func:`extreme_indices` picks, per bucket of consecutive points, the first and last point, the
  smallest and largest value of every given array and the first non-finite one (the M4 aggregation
  of Jugel et al., "M4: A Visualization-Oriented Time Series Data Aggregation", PVLDB 7(10), 2014,
  plus the gaps): a divergence spike, a collapse or a run of NaN survives downsampling, which
  averaging or striding would smooth away.
- :func:`seed_band`: all three for a mapping ``seed -> (steps, values)``, as JSON-ready lists (the
  dashboard's API).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["BAND_LEVEL", "MAX_DISPLAY_POINTS", "Band", "CurveBand", "SeedCurve", "curve_band", "extreme_indices",
           "finite_or_none", "seed_band", "seed_curve"]

BAND_LEVEL = 0.95
"""Coverage of the band around the mean of the seeds (issue 12: "a 95% band over seeds")."""

MAX_DISPLAY_POINTS = 1_500
"""Most points drawn per line; longer curves are downsampled by :func:`extreme_indices`.

A few thousand points per line is more than a chart's width in pixels holds (M4 is exact at one
bucket per pixel column, Jugel et al. 2014), and keeps a report of 16 seeds × 100k points a few MB
(benchmarks/results/report.md)."""


@dataclass(frozen=True)
class SeedCurve:
    """One run's series: one value per step, steps increasing.

    ``n_stored``: points stored for the series (before duplicates per step were dropped);
    ``n_nonfinite``: NaN/inf values among the kept ones (never drawn, never averaged);
    ``steps_from_index``: the series was stored without steps, so its points are numbered 0, 1, ...
    """

    seed: int
    run_id: str
    status: str
    steps: np.ndarray
    values: np.ndarray
    n_stored: int
    n_nonfinite: int
    steps_from_index: bool = False


@dataclass(frozen=True)
class CurveBand:
    """The seeds of one experiment on one metric, aligned per step.

    ``low``/``high`` are NaN where fewer than two seeds have a finite value.
    """

    steps: np.ndarray
    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray
    n: np.ndarray
    confidence: float

    @property
    def size(self) -> int:
        return int(self.steps.size)


def seed_curve(seed: int, run_id: str, status: str, steps: Sequence[int | None], values: Sequence[float]) -> SeedCurve:
    """One run's stored points of one series as a :class:`SeedCurve`.

    Points come as the store orders them (by step, then insertion). Several points at one step keep
    the last one stored; a series stored without steps is numbered by position; in a series that
    mixes both, the points without a step are left out (they have no place on the step axis).
    """
    vals = np.asarray(values, dtype=float)
    n_stored = int(vals.size)
    missing = np.array([s is None for s in steps], dtype=bool)
    from_index = bool(missing.all()) and n_stored > 0
    if from_index:
        st = np.arange(n_stored, dtype=float)
    else:
        st = np.array([s for s in steps if s is not None], dtype=float)
        vals = vals[~missing]
        if st.size:
            # the last point stored at each step: unique over the reversed order keeps first occurrences
            rev_steps = st[::-1]
            uniq, first = np.unique(rev_steps, return_index=True)
            keep = st.size - 1 - first
            st, vals = uniq, vals[keep]
    return SeedCurve(seed, run_id, status, st, vals, n_stored, int((~np.isfinite(vals)).sum()), from_index)


def curve_band(curves: Sequence[SeedCurve], confidence: float = BAND_LEVEL) -> CurveBand:
    """Per-step mean of the seeds' finite values and the Student-t interval of that mean."""
    from scipy import stats

    if not curves:
        empty = np.array([], dtype=float)
        return CurveBand(empty, empty, empty, empty, np.array([], dtype=int), confidence)
    steps = np.unique(np.concatenate([c.steps for c in curves]))
    grid = np.full((steps.size, len(curves)), np.nan)
    for j, c in enumerate(curves):
        grid[np.searchsorted(steps, c.steps), j] = c.values
    grid[~np.isfinite(grid)] = np.nan
    n = np.isfinite(grid).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        total = np.nansum(grid, axis=1)
        mean = np.where(n > 0, total / np.maximum(n, 1), np.nan)
        dev = np.where(np.isfinite(grid), grid - mean[:, None], 0.0)
        var = np.where(n > 1, (dev ** 2).sum(axis=1) / np.maximum(n - 1, 1), np.nan)
        t = np.where(n > 1, stats.t.ppf(0.5 + confidence / 2, np.maximum(n - 1, 1)), np.nan)
        half = t * np.sqrt(var) / np.sqrt(np.maximum(n, 1))
    return CurveBand(steps, mean, mean - half, mean + half, n, confidence)


def extreme_indices(arrays: Sequence[np.ndarray], max_points: int = MAX_DISPLAY_POINTS) -> np.ndarray:
    """Indices (increasing) of at most about ``max_points`` points of aligned ``arrays`` that keep,
    per bucket of consecutive points, the first, the last, each array's smallest and largest
    finite value (M4, Jugel et al. 2014) and its first non-finite one (so a gap stays a gap).
    Short arrays are kept whole."""
    size = int(arrays[0].size) if arrays else 0
    if size <= max_points:
        return np.arange(size)
    per_bucket = 2 + 3 * len(arrays)
    buckets = max(1, max_points // per_bucket)
    edges = np.linspace(0, size, buckets + 1).astype(int)
    keep: list[np.ndarray] = [np.array([0, size - 1])]
    starts = edges[:-1]
    keep.append(starts)
    keep.append(np.maximum(edges[1:] - 1, starts))
    for a in arrays:
        finite = np.isfinite(a)
        lo = np.where(finite, a, np.inf)
        hi = np.where(finite, a, -np.inf)
        keep.append(_reduce_at(lo, edges, np.argmin))
        keep.append(_reduce_at(hi, edges, np.argmax))
        if not finite.all():
            keep.append(_reduce_at((~finite).astype(np.int8), edges, np.argmax))  # the bucket's first gap, or its start
    return np.unique(np.concatenate(keep))


def _reduce_at(a: np.ndarray, edges: np.ndarray, arg: object) -> np.ndarray:
    """Per bucket ``[edges[i], edges[i+1])``, the index of ``arg`` (np.argmin/np.argmax) in ``a``."""
    out = np.empty(edges.size - 1, dtype=int)
    for i in range(edges.size - 1):
        lo, hi = int(edges[i]), int(edges[i + 1])
        out[i] = lo + int(arg(a[lo:hi])) if hi > lo else lo  # type: ignore[operator]
    return out


def finite_or_none(values: np.ndarray, digits: int) -> list[float | None]:
    """JSON-ready values: NaN/inf as ``None`` (a gap in the line), finite ones at ``digits``
    significant digits."""
    out: list[float | None] = []
    for v in values.tolist():
        out.append(float(f"{v:.{digits}g}") if math.isfinite(v) else None)
    return out


@dataclass(frozen=True)
class Band:
    """One metric of one experiment over seeds, as drawn: ``steps`` and per-step ``mean``, ``low``,
    ``high`` (NaN where fewer than two seeds have the step) and ``n`` seeds, each seed's own line, and
    ``downsampled_from`` how many steps when fewer are drawn."""

    steps: list[int | float]
    mean: list[float]
    low: list[float]
    high: list[float]
    n: list[int]
    seeds: dict[int, tuple[list[int | float], list[float]]] = field(default_factory=dict)
    downsampled_from: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (NaN and ±inf become ``null``)."""
        return {"steps": self.steps, "mean": _json_floats(self.mean), "low": _json_floats(self.low),
                "high": _json_floats(self.high), "n": self.n,
                "seeds": {str(s): {"steps": st, "values": _json_floats(v)} for s, (st, v) in self.seeds.items()},
                "downsampled_from": self.downsampled_from}


def _json_floats(values: Sequence[float]) -> list[float | None]:
    return [v if math.isfinite(v) else None for v in values]


def steps_list(steps: np.ndarray) -> list[int | float]:
    """Steps as JSON numbers: integers where they are whole."""
    return [int(s) if float(s).is_integer() else float(s) for s in steps.tolist()]


def seed_band(series: Mapping[int, tuple[Sequence[int | None], Sequence[float]]], *, level: float = BAND_LEVEL,
              max_points: int = MAX_DISPLAY_POINTS, with_seeds: bool = True) -> Band:
    """The per-step mean and ``level`` band over seeds of one metric, downsampled for display.

    ``series`` maps each seed to its stored ``(steps, values)`` (see :func:`seed_curve` for repeated
    steps and points without a step); non-finite values count as missing for the band."""
    curves = [seed_curve(seed, "", "", steps, values) for seed, (steps, values) in series.items()]
    b = curve_band(curves, level)
    keep = extreme_indices([b.mean, b.low, b.high], max_points)
    seeds: dict[int, tuple[list[int | float], list[float]]] = {}
    if with_seeds:
        for c in curves:
            idx = extreme_indices([c.values], max_points)
            seeds[c.seed] = (steps_list(c.steps[idx]), c.values[idx].tolist())
    return Band(steps_list(b.steps[keep]), b.mean[keep].tolist(), b.low[keep].tolist(), b.high[keep].tolist(),
                b.n[keep].tolist(), seeds, b.size if keep.size < b.size else None)
