"""Shared vocabulary of the statistics engine: verdicts, parameter checks, orientation, records.

Every check raises :class:`~trialwise.UsageError` (a parameter is out of range) or
:class:`~trialwise.DataError` (the values are malformed) with one message template:
"The 'x' parameter of f must be ... Got ... instead."
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from enum import Enum
from typing import Any

import numpy as np

from trialwise._exceptions import DataError, UsageError
from trialwise.metrics._common import to_jsonable

__all__ = [
    "ALTERNATIVES", "DIRECTIONS", "Record", "TARGET_POWER", "TESTS", "Verdict", "check_choice", "check_fraction",
    "decimals_for", "fmt_num", "fmt_p", "orientation", "seed_values",
]

DIRECTIONS = ("max", "min")
"""``max``: larger is better (accuracy); ``min``: smaller is better (loss). Seed 001 calls a change
for the better a *progression* and one for the worse a *regression*, whatever the metric's direction."""

TESTS = ("welch", "student", "paired", "mannwhitney")
"""Welch's t (B. L. Welch, Biometrika 34, 1947), Student's pooled t ("Student", Biometrika 6, 1908),
the paired t on per-seed differences, and the Mann–Whitney U test (H. B. Mann, D. R. Whitney,
Ann. Math. Stat. 18, 1947). Welch is the default: it does not assume equal seed-to-seed variance."""

ALTERNATIVES = ("two-sided", "greater", "less")
"""Alternatives, always oriented: ``greater`` = "B is better than A", ``less`` = "B is worse"."""

TARGET_POWER = 0.8
"""Power of the minimum detectable effect and of ``seeds_needed`` (the conventional 80 %,
J. Cohen, *Statistical Power Analysis for the Behavioral Sciences*, 2nd ed., 1988, §2.4)."""


class Verdict(str, Enum):
    """What a comparison concludes (seed 001: *progression* / *regression* of the metric)."""

    PROGRESSION = "progression"
    REGRESSION = "regression"
    NO_DIFFERENCE = "no detectable difference"
    INSUFFICIENT = "insufficient data"

    def __str__(self) -> str:
        return self.value


class Record:
    """Mixin for frozen result dataclasses: ``to_dict()`` gives JSON-able values
    (NaN/inf -> ``None``, enums -> their value, nested records -> dicts)."""

    def to_dict(self) -> dict[str, Any]:
        assert dataclasses.is_dataclass(self)
        return {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}


def _jsonable(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return to_jsonable(value)


def check_choice(value: Any, name: str, where: str, choices: Sequence[str]) -> str:
    """``value`` if it is one of ``choices``, else a :class:`UsageError` naming the parameter."""
    if value not in choices:
        raise UsageError(f"The '{name}' parameter of {where} must be one of "
                         f"{', '.join(repr(c) for c in choices)}. Got {value!r} instead.")
    return str(value)


def check_fraction(value: Any, name: str, where: str, *, high: float = 1.0) -> float:
    """``value`` as a float in the open interval (0, ``high``)."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        x = math.nan
    if not 0.0 < x < high:
        raise UsageError(f"The '{name}' parameter of {where} must be a number in (0, {high:g}). Got {value!r} instead.")
    return x


def seed_values(values: Any, name: str, where: str) -> np.ndarray:
    """Per-seed summary values as a 1-D float array (NaN marks a failed run)."""
    if hasattr(values, "detach") and hasattr(values, "cpu"):
        values = values.detach().cpu().numpy()
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise DataError(f"The '{name}' parameter of {where} must hold one number per seed (NaN for a failed "
                        f"run). Got {values!r} instead ({exc}).") from None
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise DataError(f"The '{name}' parameter of {where} must be 1-D (one value per seed). "
                        f"Got shape {arr.shape} instead.")
    return arr


def orientation(direction: str) -> float:
    """+1 when larger is better, -1 when smaller is better: ``orientation * (b - a) > 0`` means B is better."""
    return 1.0 if direction == "max" else -1.0


def decimals_for(scale: float) -> int:
    """Decimals that show two significant digits of ``scale`` (the seed-to-seed std)."""
    if not math.isfinite(scale) or scale <= 0:
        return 4
    return max(0, 1 - math.floor(math.log10(scale)))


def fmt_num(x: float, decimals: int = 4, *, sign: bool = False) -> str:
    """``x`` with ``decimals`` decimals ("nan" for a missing value)."""
    if x is None or not math.isfinite(x):
        return "nan"
    return f"{x:+.{decimals}f}" if sign else f"{x:.{decimals}f}"


def fmt_p(p: float) -> str:
    """A p-value with two significant digits (``p < 1e-06`` below that)."""
    if not math.isfinite(p):
        return "nan"
    return "< 1e-06" if p < 1e-6 else f"= {p:.2g}"
