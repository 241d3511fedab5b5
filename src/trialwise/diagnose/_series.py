"""Logged series of one run (:class:`RunSeries`) and the robust statistics the detectors share.

Everything here is numpy only.  Missing values (``None``), NaN and inf are kept as non-finite
points: a detector that needs clean values asks for :meth:`Curve.finite`; the divergence detector
counts them.  Statistics are robust (medians, median absolute deviations, Theil–Sen slopes over
block medians) so that a noisy but healthy curve looks healthy.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trialwise._exceptions import DataError
from trialwise.metrics._common import Record

__all__ = [
    "MAD_TO_SIGMA", "SMOOTH_BLOCKS", "Curve", "RunSeries", "head", "noise_sigma", "robust_sd", "tail",
    "theil_sen",
]

MAD_TO_SIGMA = 1.4826
"""Median absolute deviation -> standard deviation for Gaussian noise (Rousseeuw & Croux, JASA 1993)."""

SMOOTH_BLOCKS = 40
"""Per-step curves are summarised by this many block medians before their shape is judged (a
running-median smoother, Tukey 1977); per-epoch curves shorter than twice this are used as logged."""


def _as_values(values: Any, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=object) if not isinstance(values, np.ndarray) else values
    if arr.ndim != 1:
        raise DataError(f"The values of series '{name}' must be 1-D. Got shape {arr.shape} instead.")
    if arr.dtype.kind in "fiub":
        return arr.astype(np.float64)
    out = np.empty(arr.shape, dtype=np.float64)
    for i, v in enumerate(arr.tolist()):
        if v is None:
            out[i] = np.nan
            continue
        try:
            out[i] = float(v)
        except (TypeError, ValueError):
            raise DataError(f"Series '{name}' holds a non-numeric value {v!r} at position {i}; log numbers "
                            f"(None/NaN count as missing).") from None
    return out


@dataclass(frozen=True, eq=False)
class Curve(Record):
    """One series sorted by step; ``values`` may hold NaN/inf (non-finite points)."""

    name: str
    steps: np.ndarray
    values: np.ndarray

    @classmethod
    def of(cls, name: str, steps: Any, values: Any) -> Curve:
        s = _as_values(steps, name)
        v = _as_values(values, name)
        if len(s) != len(v):
            raise DataError(f"Series '{name}' has {len(s)} steps but {len(v)} values; give one step per value.")
        keep = np.isfinite(s)
        s, v = s[keep], v[keep]
        if len(s) > 1 and s.min() == s.max():  # logged without distinct steps: use the logging order
            s = np.arange(len(s), dtype=np.float64)
        order = np.argsort(s, kind="stable")
        return cls(name, s[order], v[order])

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def finite_mask(self) -> np.ndarray:
        return np.isfinite(self.values)

    def finite(self) -> Curve:
        """Only the finite points."""
        m = self.finite_mask
        return self if m.all() else Curve(self.name, self.steps[m], self.values[m])

    def smooth(self, blocks: int = SMOOTH_BLOCKS) -> Curve:
        """Block medians of the finite points (the curve itself when it is short)."""
        c = self.finite()
        if c.n < 2 * blocks:
            return c
        edges = np.linspace(0, c.n, blocks + 1).astype(int)
        steps = np.array([c.steps[a:b].mean() for a, b in zip(edges[:-1], edges[1:], strict=True)])
        vals = np.array([np.median(c.values[a:b]) for a, b in zip(edges[:-1], edges[1:], strict=True)])
        return Curve(self.name, steps, vals)

    def at(self, step: float | np.ndarray) -> Any:
        """Linear interpolation of the finite points at ``step`` (NaN when there are none)."""
        c = self.finite()
        if not c.n:
            return np.full(np.shape(step), np.nan) if np.ndim(step) else math.nan
        return np.interp(step, c.steps, c.values)

    def between(self, lo: float, hi: float) -> np.ndarray:
        """Finite values with ``lo <= step <= hi``."""
        c = self.finite()
        return c.values[(c.steps >= lo) & (c.steps <= hi)]


@dataclass(frozen=True, eq=False)
class RunSeries(Record):
    """The logged series of one run, ready for :func:`~trialwise.diagnose.diagnose`.

    Parameters
    ----------
    series : mapping name -> (steps, values)
        One entry per logged series, with that series' own steps; per-step and per-epoch series may
        have different lengths.  ``None``, NaN and inf values are kept and count as non-finite, so
        do not pass a wide table padded with NaN where a series was not logged.
    seed : int, optional
        The run's seed (reported as "3 of 5 seeds").
    status : str, optional
        How the run ended (``finished``, ``failed``, ...).
    n_classes : int, optional
        Number of classes, for chance level (1/C accuracy, ln C cross-entropy).
    config : mapping, optional
        The run's hyperparameters (``tw.config``, and what its command line and framework
        configuration say); ``n_classes``/``num_classes``/``num_labels`` are read from it.
    run_id : str, optional
        An identifier for reports.
    data : DataEvidence, optional
        What the run's own train/validation arrays show (:func:`~trialwise.diagnose._evidence.data_evidence`).
    sources : mapping, optional
        Where each ``config`` value came from (``"command line"``, ``"outputs/.../hparams.yaml"``;
        default ``tw.config``), for evidence texts.
    notes : sequence of str, optional
        What could not be read of the run's evidence files (passed on to the diagnosis' notes).
    """

    series: Mapping[str, tuple[np.ndarray, np.ndarray]]
    seed: int | None = None
    status: str | None = None
    n_classes: int | None = None
    config: Mapping[str, Any] = field(default_factory=dict)
    run_id: str | None = None
    data: Any = None
    sources: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.series, Mapping):
            raise DataError("RunSeries.series must be a mapping name -> (steps, values).")
        clean: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for name, pair in self.series.items():
            try:
                steps, values = pair
            except (TypeError, ValueError):
                raise DataError(f"Series '{name}' must be a pair (steps, values).") from None
            c = Curve.of(str(name), steps, values)
            clean[str(name)] = (c.steps, c.values)
        object.__setattr__(self, "series", clean)
        object.__setattr__(self, "config", dict(self.config or {}))
        object.__setattr__(self, "sources", dict(self.sources or {}))
        if self.n_classes is not None and (not isinstance(self.n_classes, (int, np.integer)) or self.n_classes < 2):
            raise DataError(f"RunSeries.n_classes must be an integer >= 2. Got {self.n_classes!r} instead.")

    @classmethod
    def from_points(cls, points: Iterable[tuple[str, float, Any]], **kwargs: Any) -> RunSeries:
        """Build from long-format rows ``(name, step, value)`` (e.g. a metrics table)."""
        acc: dict[str, tuple[list[float], list[Any]]] = {}
        for name, step, value in points:
            s, v = acc.setdefault(str(name), ([], []))
            s.append(step)
            v.append(value)
        return cls({k: (np.asarray(s, dtype=float), v) for k, (s, v) in acc.items()}, **kwargs)

    def curve(self, name: str) -> Curve:
        steps, values = self.series[name]
        return Curve(name, steps, values)

    @property
    def label(self) -> str:
        """``seed 3`` or the run id."""
        if self.seed is not None:
            return f"seed {self.seed}"
        return self.run_id or "run"

    def classes(self) -> int | None:
        """``n_classes``, else what the run states (:meth:`classes_stated`)."""
        found = self.classes_stated()
        return found[0] if found is not None else None

    def classes_stated(self) -> tuple[int, str] | None:
        """``(C, where)``: ``n_classes``, else a ``n_classes``-like config value (``tw.config``, the command
        line, the framework's configuration), else the distinct labels of the run's data files."""
        if self.n_classes is not None:
            return int(self.n_classes), "given"
        from trialwise.diagnose._evidence import classes_stated

        return classes_stated(self.config, self.sources, self.data)


# -- robust statistics -------------------------------------------------------------------------------

def robust_sd(x: np.ndarray) -> float:
    """``MAD_TO_SIGMA`` x median absolute deviation (0.0 for fewer than 2 values)."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if len(x) < 2:
        return 0.0
    return float(MAD_TO_SIGMA * np.median(np.abs(x - np.median(x))))


def noise_sigma(y: np.ndarray) -> float:
    """Point-to-point noise of a series, insensitive to its trend.

    Uses second differences (a linear trend cancels; for white noise ``Var(Δ²y) = 6σ²``) with a
    median absolute deviation, falling back to first differences for 3 points.
    """
    y = np.asarray(y, dtype=float)
    y = y[np.isfinite(y)]
    if len(y) >= 4:
        return robust_sd(np.diff(y, 2)) / math.sqrt(6.0)
    if len(y) == 3:
        return robust_sd(np.diff(y)) / math.sqrt(2.0)
    return 0.0


def _count(n: int, frac: float) -> int:
    return max(1, min(n, int(math.ceil(frac * n))))


def head(y: np.ndarray, frac: float) -> float:
    """Median of the first ``frac`` of the points (at least one)."""
    y = np.asarray(y, dtype=float)
    return float(np.median(y[: _count(len(y), frac)]))


def tail(y: np.ndarray, frac: float) -> float:
    """Median of the last ``frac`` of the points (at least one)."""
    y = np.asarray(y, dtype=float)
    return float(np.median(y[-_count(len(y), frac):]))


def theil_sen(x: np.ndarray, y: np.ndarray) -> float:
    """Theil–Sen slope: the median of pairwise slopes (Sen, JASA 1968); 0.0 for fewer than 2 points."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if len(x) < 2:
        return 0.0
    i, j = np.triu_indices(len(x), k=1)
    dx = x[j] - x[i]
    ok = dx != 0
    if not ok.any():
        return 0.0
    return float(np.median((y[j] - y[i])[ok] / dx[ok]))


def seeds_text(labels: Sequence[str]) -> str:
    """``seeds 0, 2, 4`` from run labels ``seed 0`` ...; other labels listed as they are."""
    if labels and all(lab.startswith("seed ") for lab in labels):
        return "seeds " + ", ".join(lab[5:] for lab in labels) if len(labels) > 1 else labels[0]
    return ", ".join(labels)
