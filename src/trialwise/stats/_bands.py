"""Curves over seeds: the per-step mean and its 95% band, downsampled for display.

A learning curve of one seed shows one draw of the training noise; the mean over seeds with a
t interval shows what the change does (pattern #1).  At a step only some seeds reached (a seed
that crashed, runs still going) the band uses the seeds that have it and says how many (``n``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

BAND_LEVEL = 0.95
"""Coverage of the band around the mean (a t interval over the seeds at that step)."""

MAX_DISPLAY_POINTS = 1000
"""Most steps a curve is drawn with; longer curves keep, per bucket, the steps of its lowest and
highest mean so a divergence spike stays visible."""


@dataclass(frozen=True)
class Band:
    """One metric of one experiment over seeds: ``steps`` and per-step ``mean``, ``low``, ``high``
    (NaN where fewer than two seeds have the step) and ``n`` seeds; ``downsampled`` from how many steps."""

    steps: list[int]
    mean: list[float]
    low: list[float]
    high: list[float]
    n: list[int]
    seeds: dict[int, tuple[list[int], list[float]]] = field(default_factory=dict)
    downsampled_from: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (NaN and ±inf become ``null``)."""
        return {"steps": self.steps, "mean": _json_floats(self.mean), "low": _json_floats(self.low),
                "high": _json_floats(self.high), "n": self.n,
                "seeds": {str(s): {"steps": st, "values": _json_floats(v)} for s, (st, v) in self.seeds.items()},
                "downsampled_from": self.downsampled_from}


def _json_floats(values: Sequence[float]) -> list[float | None]:
    return [v if math.isfinite(v) else None for v in values]


def _t_half(values: Sequence[float], level: float) -> float:
    n = len(values)
    if n < 2:
        return math.nan
    from scipy import stats

    mean = math.fsum(values) / n
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    return float(stats.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)


def _keep(steps: list[int], mean: list[float], limit: int) -> list[int]:
    """Indices to draw: all when few; else per bucket the first, lowest- and highest-mean steps."""
    if len(steps) <= limit:
        return list(range(len(steps)))
    buckets = max(1, limit // 3)
    size = len(steps) / buckets
    keep: set[int] = {0, len(steps) - 1}
    for b in range(buckets):
        lo, hi = int(b * size), min(len(steps), int((b + 1) * size))
        idx = range(lo, hi)
        finite = [i for i in idx if math.isfinite(mean[i])]
        keep.add(lo)
        if finite:
            keep.add(min(finite, key=mean.__getitem__))
            keep.add(max(finite, key=mean.__getitem__))
        else:
            keep.update(idx)  # NaN/inf (divergence): keep every such step
    return sorted(keep)


def seed_band(series: Mapping[int, tuple[Sequence[int | None], Sequence[float]]], *, level: float = BAND_LEVEL,
              max_points: int = MAX_DISPLAY_POINTS, with_seeds: bool = True) -> Band:
    """The per-step mean and ``level`` band over seeds of one metric.

    ``series`` maps each seed to its ``(steps, values)``; points without a step are left out (they
    are summaries, not curve points).  Non-finite values count as missing for the band."""
    at: dict[int, list[float]] = {}
    for steps, values in series.values():
        for s, v in zip(steps, values):
            if s is not None and math.isfinite(v):
                at.setdefault(int(s), []).append(float(v))
    steps = sorted(at)
    mean = [math.fsum(at[s]) / len(at[s]) for s in steps]
    half = [_t_half(at[s], level) for s in steps]
    keep = _keep(steps, mean, max_points)
    seeds: dict[int, tuple[list[int], list[float]]] = {}
    if with_seeds:
        for seed, (st, vals) in series.items():
            pairs = [(int(s), float(v)) for s, v in zip(st, vals) if s is not None]
            if len(pairs) > max_points:
                stride = math.ceil(len(pairs) / max_points)
                pairs = pairs[::stride] + ([pairs[-1]] if (len(pairs) - 1) % stride else [])
            seeds[seed] = ([p[0] for p in pairs], [p[1] for p in pairs])
    return Band([steps[i] for i in keep], [mean[i] for i in keep], [mean[i] - half[i] for i in keep],
                [mean[i] + half[i] for i in keep], [len(at[steps[i]]) for i in keep], seeds,
                len(steps) if len(keep) < len(steps) else None)
