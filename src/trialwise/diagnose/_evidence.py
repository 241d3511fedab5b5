"""Evidence besides the curves: the data arrays a run left, and the number of classes the run states.

Pure functions (numpy; the leakage scan of :func:`trialwise.checks.find_leakage`); the files are read
by :mod:`trialwise.diagnose._runfiles`.  Issue 15 items 7 and 9: a run's own train/val arrays are
checked (overlap, a column or a one-hot block that encodes the label, unnormalized ranges, the sizes
of the splits) and the number of classes is taken from what states it (``n_classes``-like parameters,
the labels in the data files) before it is ever read off a loss.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from trialwise.diagnose import _thresholds as T
from trialwise.metrics._common import Record

__all__ = ["CLASS_KEYS", "DataEvidence", "classes_stated", "data_evidence"]

CLASS_KEYS = ("n_classes", "num_classes", "nclasses", "num_labels", "n_labels", "classes", "number_of_classes")
"""Parameter names that state the number of classes (``tw.config``, the command line ``--num-classes``,
Lightning's ``hparams.yaml``, a Hugging Face ``config.json``'s ``num_labels``)."""

MAX_LABEL_CLASSES = 1000
"""Integer labels with at most this many distinct values are class labels (their count is C)."""


@dataclass(frozen=True)
class DataEvidence(Record):
    """What the run's own train (and validation) arrays show.

    ``leakage`` is :func:`~trialwise.checks.find_leakage`'s result on the two splits (``None`` without
    a validation split or labels); ``input_*`` are over every finite training feature value.
    """

    train: str
    val: str | None
    n_train: int
    n_val: int | None
    n_features: int
    n_classes: int | None
    input_mean: float
    input_std: float
    input_min: float
    input_max: float
    leakage: Any = None

    @property
    def unnormalized(self) -> bool:
        """Far from standardized or [0, 1]-scaled (the thresholds of the input probes)."""
        return abs(self.input_mean) > T.UNNORMALIZED_MEAN or self.input_std > T.UNNORMALIZED_STD

    @property
    def leaks(self) -> bool:
        return self.leakage is not None and not self.leakage.passed

    def describe_range(self) -> str:
        return (f"{self.train}: {self.n_train} x {self.n_features} values in [{self.input_min:.3g}, "
                f"{self.input_max:.3g}], mean {self.input_mean:.3g}, std {self.input_std:.3g}")


def _labels_count(*ys: Any) -> int | None:
    parts = [np.asarray(y).ravel() for y in ys if y is not None]
    if not parts:
        return None
    y = np.concatenate(parts)
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
            return None
    elif y.dtype.kind not in "iub":
        return None
    k = len(np.unique(y))
    return k if 2 <= k <= MAX_LABEL_CLASSES else None


def data_evidence(x_train: Any, y_train: Any = None, x_val: Any = None, y_val: Any = None, *,
                  train: str = "train", val: str | None = None,
                  feature_names: Sequence[str] | None = None) -> DataEvidence:
    """Statistics and checks of a run's training (and validation) arrays.

    Parameters
    ----------
    x_train, x_val : array-like (n, ...)
        Features (flattened per row); ``x_val`` optional.
    y_train, y_val : array-like (n,), optional
        Labels; with both splits labelled the leakage scan runs (duplicates, a column or a one-hot
        block that predicts the label).
    train, val : str
        How to name the files in evidence texts.
    feature_names : sequence of str, optional
        Column names (a table's header) for the leakage report.
    """
    xtr = np.asarray(x_train, dtype=np.float64).reshape(len(x_train), -1)
    finite = xtr[np.isfinite(xtr)]
    stats = (float(finite.mean()), float(finite.std()), float(finite.min()), float(finite.max())) if finite.size \
        else (math.nan,) * 4
    leakage = None
    xv = None if x_val is None else np.asarray(x_val, dtype=np.float64).reshape(len(x_val), -1)
    if xv is not None and xv.shape[1] == xtr.shape[1]:
        from trialwise.checks import find_leakage

        names = list(feature_names) if feature_names is not None and len(feature_names) == xtr.shape[1] else None
        leakage = find_leakage(xtr, xv, y_train if y_val is not None else None, y_val if y_train is not None else None,
                               feature_names=names)
    return DataEvidence(train, val, len(xtr), None if xv is None else len(xv), xtr.shape[1],
                        _labels_count(y_train, y_val), *stats, leakage=leakage)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, (list, tuple, dict)) and value:
        return len(value)  # id2label, a list of class names
    return None


def classes_stated(config: Mapping[str, Any], sources: Mapping[str, str] | None = None,
                   data: DataEvidence | None = None) -> tuple[int, str] | None:
    """``(C, where)``: the number of classes the run states, first found first: a ``n_classes``-like
    parameter (:data:`CLASS_KEYS`; ``id2label``/``class_names`` by their length), else the distinct
    labels of its data files.  ``where`` says which (``"num_classes = 10 from the command line"``)."""
    lower = {str(k).lower(): (k, v) for k, v in config.items()}
    for key in (*CLASS_KEYS, "id2label", "label2id", "class_names", "labels_list"):
        if key in lower:
            name, value = lower[key]
            c = _int(value)
            if c is not None and c >= 2:
                src = (sources or {}).get(name, "tw.config")
                return c, f"{name} = {c if not isinstance(value, (list, tuple, dict)) else f'{c} entries'} ({src})"
    if data is not None and data.n_classes is not None:
        files = data.train + (f" and {data.val}" if data.val else "")
        return data.n_classes, f"{data.n_classes} distinct labels in {files}"
    return None
