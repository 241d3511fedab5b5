"""Shared plumbing for the metrics and error-analysis layers: input coercion, records, formatting.

Every check raises :class:`~trialwise.DataError` (the arrays are malformed) or
:class:`~trialwise.UsageError` (a parameter is out of range) with one message template:
"The 'x' parameter of f must be ... Got ... instead." (scikit-learn's convention).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from trialwise._exceptions import DataError, UsageError

__all__ = [
    "Record", "as_bool", "as_labels", "as_scores", "check_fraction", "check_same_length",
    "fmt_pct", "label_names", "to_jsonable", "to_numpy", "unique_labels",
]


def to_jsonable(value: Any) -> Any:
    """Numpy arrays/scalars, tuples and nested records as plain JSON-able Python values."""
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, np.ndarray):
        return [to_jsonable(v) for v in value.tolist()] if value.ndim else to_jsonable(value.item())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class Record:
    """Mixin for frozen result dataclasses: ``to_dict()`` gives JSON-able values (NaN -> None)."""

    def to_dict(self) -> dict[str, Any]:
        assert dataclasses.is_dataclass(self)
        return {f.name: to_jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}


def to_numpy(x: Any) -> np.ndarray:
    """``x`` as a numpy array; torch tensors are detached and moved to the CPU first."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def as_labels(y: Any, name: str, where: str) -> np.ndarray:
    """A 1-D label array: int64 for integer/bool labels, str for text labels.

    Float labels with integral values (e.g. from a CSV or a float tensor) become int64.
    """
    arr = to_numpy(y)
    if arr.ndim != 1:
        raise DataError(f"The '{name}' parameter of {where} must be 1-D (one label per example). "
                        f"Got shape {arr.shape} instead.")
    if arr.dtype.kind == "b" or arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise DataError(f"The '{name}' parameter of {where} must hold class labels (integers or "
                            f"strings). Got non-integral floats such as {arr[arr != np.round(arr)][:3]} "
                            f"instead; pass predicted labels, not scores.")
        return arr.astype(np.int64)
    if arr.dtype.kind == "U":
        return arr
    if arr.dtype.kind == "O":
        kinds = {type(v) for v in arr.tolist()}
        if kinds <= {str}:
            return arr.astype(str)
        if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in arr.tolist()):
            return arr.astype(np.int64)
        raise DataError(f"The '{name}' parameter of {where} must hold labels of one kind (all integers "
                        f"or all strings). Got {sorted(k.__name__ for k in kinds)} instead.")
    raise DataError(f"The '{name}' parameter of {where} must hold class labels. Got dtype {arr.dtype} "
                    f"instead.")


def as_scores(x: Any, name: str, where: str, *, ndim: tuple[int, ...] = (1, 2)) -> np.ndarray:
    """A finite float64 array of 1 or 2 dimensions."""
    arr = to_numpy(x)
    if arr.ndim not in ndim:
        raise DataError(f"The '{name}' parameter of {where} must have {' or '.join(map(str, ndim))} "
                        f"dimension(s). Got shape {arr.shape} instead.")
    try:
        arr = arr.astype(np.float64)
    except (TypeError, ValueError):
        raise DataError(f"The '{name}' parameter of {where} must be numeric. Got dtype {arr.dtype} "
                        f"instead.") from None
    bad = ~np.isfinite(arr)
    if bad.any():
        first = np.argwhere(bad)[0]
        raise DataError(f"The '{name}' parameter of {where} must be finite. Got {arr[tuple(first)]} at "
                        f"index {tuple(int(i) for i in first) if arr.ndim > 1 else int(first[0])} "
                        f"({int(bad.sum())} non-finite value(s)) instead.")
    return arr


def as_bool(x: Any, name: str, where: str) -> np.ndarray:
    """A 1-D boolean array; accepts bools or 0/1 numbers."""
    arr = to_numpy(x)
    if arr.ndim != 1:
        raise DataError(f"The '{name}' parameter of {where} must be 1-D. Got shape {arr.shape} instead.")
    if arr.dtype.kind == "b":
        return arr
    if arr.dtype.kind in "iuf" and np.all(np.isin(arr, (0, 1))):
        return arr.astype(bool)
    raise DataError(f"The '{name}' parameter of {where} must be boolean (or 0/1). Got values such as "
                    f"{np.unique(arr)[:5].tolist()} instead.")


def check_same_length(where: str, **arrays: np.ndarray | None) -> int:
    """The common length of the given arrays (``None`` entries are skipped); at least 1."""
    lengths = {k: len(v) for k, v in arrays.items() if v is not None}
    if len(set(lengths.values())) > 1:
        raise DataError(f"The inputs of {where} must have one entry per example. Got lengths "
                        f"{', '.join(f'{k}={v}' for k, v in lengths.items())} instead.")
    n = next(iter(lengths.values()), 0)
    if n == 0:
        raise DataError(f"The inputs of {where} are empty; at least one example is needed.")
    return n


def check_fraction(value: float, name: str, where: str, *, open_low: bool = True,
                   open_high: bool = True) -> float:
    """``value`` as a float inside (0, 1) (bounds open or closed as asked)."""
    v = float(value)
    low_ok = v > 0 if open_low else v >= 0
    high_ok = v < 1 if open_high else v <= 1
    if not (math.isfinite(v) and low_ok and high_ok):
        bounds = f"{'(' if open_low else '['}0, 1{')' if open_high else ']'}"
        raise UsageError(f"The '{name}' parameter of {where} must be in {bounds}. Got {value!r} instead.")
    return v


def unique_labels(*ys: np.ndarray) -> np.ndarray:
    """Sorted union of labels (scikit-learn's ``unique_labels`` order); refuses mixed kinds."""
    kinds = {y.dtype.kind for y in ys if len(y)}
    if len(kinds) > 1:
        raise DataError("y_true and y_pred mix integer and string labels; use one kind for both.")
    return np.unique(np.concatenate(ys)) if ys else np.array([])


def label_names(labels: np.ndarray, classes: Sequence[str] | None) -> list[str]:
    """Display names: ``classes[label]`` for integer labels when ``classes`` is given, else ``str``."""
    if classes is not None and labels.dtype.kind in "iu":
        k = len(classes)
        return [str(classes[int(v)]) if 0 <= int(v) < k else str(v) for v in labels.tolist()]
    return [str(v) for v in labels.tolist()]


def fmt_pct(x: float, decimals: int = 1, rounding: str = "nearest") -> str:
    """``x`` as a percentage; ``rounding`` 'up'/'down' keeps bounds honest when printed."""
    if not math.isfinite(x):
        return "n/a"
    scale = 100 * 10**decimals
    v = x * scale
    # the 1e-9 guard keeps exact values like 0.01 from rounding up to 1.1% through float noise
    v = math.ceil(v - 1e-9) if rounding == "up" else math.floor(v + 1e-9) if rounding == "down" else round(v)
    return f"{v / 10**decimals:.{decimals}f}%"
