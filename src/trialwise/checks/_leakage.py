"""``find_leakage``: validation rows that are (near) copies of training rows, and input columns that
alone give the label away (seed 002: "Suspiciously good performance. Cause: Encoded an answer in the
input").  Pure numpy; scikit-learn's ``NearestNeighbors`` loads on use."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from trialwise._exceptions import DataError
from trialwise.checks._records import LeakageResult, LeakyColumn
from trialwise.metrics._common import to_numpy

__all__ = ["find_leakage"]

EXACT_DECIMALS = 6
"""Rows equal after rounding to this many decimals are exact duplicates (float32 round-off is ~1e-7
relative).  *trialwise*."""

NEAR_DUP_FRACTION = 0.05
"""A validation row is a near-duplicate when its nearest training row (in train-standardised
units) is closer than this share of the median nearest-neighbour distance within the training set.
*trialwise*: on scikit-learn's digits no natural train/validation pair is that close, while copies
with noise of 1% of a feature's spread are."""

NN_MAX_ROWS = 20_000
"""Up to this many training rows, near-duplicates are found by exact nearest neighbours; above it, by
hashing rows rounded to :data:`NEAR_GRID` standard deviations (cheaper, misses pairs that straddle a
rounding boundary)."""

NN_SCALE_SAMPLE = 1_000
"""Training rows used to estimate the median within-train nearest-neighbour distance."""

NEAR_GRID = 0.05
"""Grid step of the rounding hash used above :data:`NN_MAX_ROWS`, in training standard deviations
(each column's, but at least the median column's, so that near-constant columns do not split
copies over cells)."""

LEAK_SCORE = 0.99
"""A column leaks when, alone, it predicts the validation label with accuracy (classification) or
R^2 (regression) at least this high, while the best constant prediction stays below it.
*trialwise* number for seed 002's "encoded an answer in the input"."""

MAX_LOOKUP_VALUES = 64
"""A column with at most this many distinct training values is read as categories (one bin per
value); otherwise as :data:`N_BINS` quantile bins."""

N_BINS = 64
"""Quantile bins of a continuous column in the single-feature scan."""

MAX_CLASSES = 100
"""Labels with at most this many distinct values (or non-float labels) are classes; else regression."""

MAX_REPORTED = 20
"""At most this many duplicate pairs are listed; counts are complete."""

TOP_COLUMNS = 5
"""The single-feature scan reports this many best columns as evidence."""


def _matrix(x: Any, name: str) -> np.ndarray:
    arr = to_numpy(x)
    if arr.ndim == 1:
        arr = arr[:, None]
    elif arr.ndim > 2:
        arr = arr.reshape(len(arr), -1)
    try:
        arr = arr.astype(np.float64)
    except (TypeError, ValueError):
        raise DataError(f"The '{name}' parameter of find_leakage must be numeric (rows x features). Got dtype "
                        f"{arr.dtype} instead; encode categorical columns first.") from None
    if len(arr) == 0:
        raise DataError(f"The '{name}' parameter of find_leakage is empty.")
    return arr


def _row_bytes(x: np.ndarray) -> list[bytes]:
    x = np.ascontiguousarray(x + 0.0)  # + 0.0 turns -0.0 into 0.0
    return [r.tobytes() for r in x]


def _exact(xtr: np.ndarray, xv: np.ndarray) -> list[tuple[int, int]]:
    first: dict[bytes, int] = {}
    for i, key in enumerate(_row_bytes(np.round(xtr, EXACT_DECIMALS))):
        first.setdefault(key, i)
    return [(first[key], j) for j, key in enumerate(_row_bytes(np.round(xv, EXACT_DECIMALS))) if key in first]


def _near(ztr: np.ndarray, zv: np.ndarray, exact_val: set[int]) -> tuple[list[tuple[int, int]], str, float | None]:
    if len(ztr) <= NN_MAX_ROWS:
        from sklearn.neighbors import NearestNeighbors

        nn = NearestNeighbors(n_neighbors=min(2, len(ztr))).fit(ztr)
        sample = ztr[np.random.default_rng(0).permutation(len(ztr))[:NN_SCALE_SAMPLE]]
        d_tt = nn.kneighbors(sample)[0][:, -1] if len(ztr) > 1 else np.zeros(1)
        positive = d_tt[d_tt > 0]
        scale = float(np.median(positive)) if len(positive) else 0.0
        threshold = NEAR_DUP_FRACTION * scale
        d, idx = nn.kneighbors(zv, n_neighbors=1)
        pairs = [(int(idx[j, 0]), j) for j in range(len(zv)) if d[j, 0] <= threshold and j not in exact_val]
        return pairs, "nearest-neighbour", threshold
    first: dict[bytes, int] = {}
    for i, key in enumerate(_row_bytes(np.round(ztr / NEAR_GRID))):
        first.setdefault(key, i)
    pairs = [(first[key], j) for j, key in enumerate(_row_bytes(np.round(zv / NEAR_GRID)))
             if key in first and j not in exact_val]
    return pairs, "rounded-hash", NEAR_GRID


def _standardize(xtr: np.ndarray, xv: np.ndarray, floor: bool) -> tuple[np.ndarray, np.ndarray]:
    """Both splits in training-standardised units (NaN -> 0); ``floor``: std at least the median std."""
    d = xtr.shape[1]
    mean = np.nanmean(xtr, axis=0) if np.isfinite(xtr).any() else np.zeros(d)
    std = np.nanstd(xtr, axis=0)
    ok = np.isfinite(std) & (std > 0)
    std = np.where(ok, std, 1.0)
    if floor and ok.any():
        std = np.maximum(std, float(np.median(std[ok])))
    return np.nan_to_num((xtr - mean) / std), np.nan_to_num((xv - mean) / std)


def _bins(col_tr: np.ndarray, col_v: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    finite = np.isfinite(col_tr)
    low = (col_tr[finite].min() if finite.any() else 0.0) - 1.0
    a = np.where(np.isfinite(col_tr), col_tr, low)
    b = np.where(np.isfinite(col_v), col_v, low)
    values = np.unique(a)
    if len(values) <= MAX_LOOKUP_VALUES:
        edges = (values[1:] + values[:-1]) / 2
    else:
        edges = np.unique(np.quantile(a, np.linspace(0, 1, N_BINS + 1)[1:-1]))
    return np.searchsorted(edges, a, side="right"), np.searchsorted(edges, b, side="right"), len(edges) + 1


def _scan(xtr: np.ndarray, xv: np.ndarray, ytr: np.ndarray, yv: np.ndarray,
          names: Sequence[str]) -> tuple[list[LeakyColumn], str]:
    classify = ytr.dtype.kind not in "fc" or len(np.unique(np.concatenate([ytr, yv]))) <= MAX_CLASSES
    out: list[LeakyColumn] = []
    if classify:
        classes, codes = np.unique(np.concatenate([ytr.astype(str) if ytr.dtype.kind in "OUS" else ytr,
                                                   yv.astype(str) if yv.dtype.kind in "OUS" else yv]),
                                   return_inverse=True)
        k = len(classes)
        ctr, cv = codes[: len(ytr)], codes[len(ytr):]
        majority = int(np.argmax(np.bincount(ctr, minlength=k)))
        chance = float(np.bincount(cv, minlength=k).max() / len(cv))
        for c in range(xtr.shape[1]):
            btr, bv, nb = _bins(xtr[:, c], xv[:, c])
            counts = np.bincount(btr * k + ctr, minlength=nb * k).reshape(nb, k)
            pred = np.where(counts.sum(1) > 0, counts.argmax(1), majority)
            out.append(LeakyColumn(c, names[c], float(np.mean(pred[bv] == cv)), chance))
        return out, "classification"
    ytr_f, yv_f = ytr.astype(np.float64), yv.astype(np.float64)
    sst = float(np.sum((yv_f - yv_f.mean()) ** 2))
    for c in range(xtr.shape[1]):
        btr, bv, nb = _bins(xtr[:, c], xv[:, c])
        n = np.bincount(btr, minlength=nb)
        means = np.where(n > 0, np.bincount(btr, weights=ytr_f, minlength=nb) / np.maximum(n, 1), ytr_f.mean())
        r2 = 1.0 - float(np.sum((yv_f - means[bv]) ** 2)) / sst if sst > 0 else 0.0
        out.append(LeakyColumn(c, names[c], r2, 0.0))
    return out, "regression"


MIN_GROUP = 2
"""A one-hot group has at least this many indicator columns."""


def _indicator_groups(xtr: np.ndarray) -> list[tuple[int, int]]:
    """Runs of adjacent columns ``[a, b)`` that are a one-hot block: each column takes 0 and one other
    value, and every training row has exactly one non-zero among them (a label column written as
    indicators: each one alone says little, together they give the class away)."""
    d = xtr.shape[1]
    nz = (xtr != 0) & np.isfinite(xtr)
    binary = np.zeros(d, dtype=bool)
    for c in range(d):
        values = np.unique(xtr[nz[:, c], c])
        binary[c] = len(values) == 1
    groups: list[tuple[int, int]] = []
    a = 0
    while a < d:
        if not binary[a]:
            a += 1
            continue
        count = np.zeros(len(xtr), dtype=np.int64)
        best = None
        b = a
        while b < d and binary[b]:
            count += nz[:, b]
            if count.max() > 1:
                break
            b += 1
            if b - a >= MIN_GROUP and count.min() == 1:
                best = b
        if best is not None:
            groups.append((a, best))
            a = best
        else:
            a += 1
    return groups


def _group_scan(xtr: np.ndarray, xv: np.ndarray, ytr: np.ndarray, yv: np.ndarray,
                names: Sequence[str]) -> list[LeakyColumn]:
    """Each one-hot group (:func:`_indicator_groups`) as one feature (the index of its non-zero column),
    scored like a single column: a lookup to the majority training label, accuracy on validation."""
    out: list[LeakyColumn] = []
    classes, codes = np.unique(np.concatenate([ytr.astype(str), yv.astype(str)]), return_inverse=True)
    k = len(classes)
    ctr, cv = codes[: len(ytr)], codes[len(ytr):]
    chance = float(np.bincount(cv, minlength=k).max() / len(cv))
    majority = int(np.argmax(np.bincount(ctr, minlength=k)))
    for a, b in _indicator_groups(xtr):
        gtr = np.argmax(xtr[:, a:b] != 0, axis=1)
        gv = np.where((xv[:, a:b] != 0).any(axis=1), np.argmax(xv[:, a:b] != 0, axis=1), b - a)
        counts = np.bincount(gtr * k + ctr, minlength=(b - a + 1) * k).reshape(b - a + 1, k)
        pred = np.where(counts.sum(1) > 0, counts.argmax(1), majority)
        label = f"one-hot columns {names[a]}..{names[b - 1]} ({b - a} indicators)"
        out.append(LeakyColumn(a, label, float(np.mean(pred[gv] == cv)), chance))
    return out


def find_leakage(train: Any, val: Any, y_train: Any = None, y_val: Any = None, *,
                 feature_names: Sequence[str] | None = None) -> LeakageResult:
    """Find validation rows copied from training, and columns that alone predict the label.

    - *Exact duplicates*: rows equal after rounding to :data:`EXACT_DECIMALS` decimals (hashed).
    - *Near duplicates*: features standardised with the training mean and standard deviation;
      a validation row whose nearest training row is closer than :data:`NEAR_DUP_FRACTION` of the
      training set's median nearest-neighbour distance (exact neighbours up to
      :data:`NN_MAX_ROWS` training rows, a rounding hash above).
    - *Single-feature scan* (labels of both splits given): each column alone, as a lookup table
      from its value (or quantile bin) to the majority training label (classification) or mean
      (regression), scored on the validation split.  A column scoring at least :data:`LEAK_SCORE`
      while the best constant scores less encodes the answer.  A block of adjacent one-hot indicator
      columns (exactly one non-zero per row) is scanned as one feature, its non-zero position: a
      label appended as indicators gives the answer away although no single indicator does.

    Parameters
    ----------
    train, val : array-like of shape (n, d) (images are flattened per row)
        Numeric features of the two splits; pandas DataFrames and torch tensors work.
    y_train, y_val : array-like of shape (n,), optional
        Labels; needed for the column scan and to count duplicates that share their label.
    feature_names : sequence of str, optional
        Column names for the report (a DataFrame's columns by default).

    Returns
    -------
    LeakageResult
        ``passed`` when there are no duplicates and no leaking column; pairs are
        ``(train_row, val_row)``, the first :data:`MAX_REPORTED` of each kind.

    References
    ----------
    .. [1] Seed 002 (Sultania, "Deep Learning in Practice"): "Suspiciously good performance - Encoded
       an answer in the input - Look through input carefully and see whether cheating is possible."
    .. [2] S. Kaufman, S. Rosset, C. Perlich, "Leakage in Data Mining: Formulation, Detection, and
       Avoidance", KDD 2011.
    """
    xtr, xv = _matrix(train, "train"), _matrix(val, "val")
    if xtr.shape[1] != xv.shape[1]:
        raise DataError(f"The 'train' and 'val' parameters of find_leakage must have the same number of features. "
                        f"Got {xtr.shape[1]} and {xv.shape[1]} instead.")
    d = xtr.shape[1]
    names = list(feature_names) if feature_names is not None else [str(c) for c in getattr(train, "columns", [])]
    if len(names) != d:
        names = [str(c) for c in range(d)]
    ytr = to_numpy(y_train).ravel() if y_train is not None else None
    yv = to_numpy(y_val).ravel() if y_val is not None else None
    for y, x, name in ((ytr, xtr, "y_train"), (yv, xv, "y_val")):
        if y is not None and len(y) != len(x):
            raise DataError(f"The '{name}' parameter of find_leakage must have one label per row. Got {len(y)} labels "
                            f"for {len(x)} rows instead.")
    exact = _exact(xtr, xv)
    same_label = int(sum(ytr[i] == yv[j] for i, j in exact)) if ytr is not None and yv is not None else None
    ztr, zv = _standardize(xtr, xv, floor=len(xtr) > NN_MAX_ROWS)
    near, method, threshold = _near(ztr, zv, {j for _, j in exact})
    leaky: list[LeakyColumn] = []
    top: list[LeakyColumn] = []
    task = None
    if ytr is not None and yv is not None:
        scores, task = _scan(xtr, xv, ytr, yv, names)
        if task == "classification":
            scores += _group_scan(xtr, xv, ytr, yv, names)
        ranked = sorted(scores, key=lambda s: -s.score)
        top = ranked[:TOP_COLUMNS]
        leaky = [s for s in ranked if s.score >= LEAK_SCORE and s.chance < LEAK_SCORE]
    passed = not exact and not near and not leaky
    parts = []
    if exact or near:
        found = []
        if exact:
            found.append(f"{len(exact)} of {len(xv)} validation rows are exact copies of training rows"
                         + (f" ({same_label} with the same label)" if same_label is not None else ""))
        if near:
            found.append(f"{len(near)} {'more ' if exact else ''}are near-duplicates ({method})")
        parts.append(", ".join(found) + ": deduplicate before splitting, or split by group (subject, source)")
    if leaky:
        cols = ", ".join(f"{c.name!r} ({c.score:.3f})" for c in leaky[:5])
        metric = "accuracy" if task == "classification" else "R^2"
        parts.append(f"{len(leaky)} column(s) alone predict the validation label ({metric} {cols} vs chance "
                     f"{leaky[0].chance:.3f}): the input encodes the answer; drop or rebuild label-derived columns")
    if passed:
        message = (f"no duplicates across {len(xtr)} train / {len(xv)} validation rows"
                   + ("; no single column predicts the label" if task else ""))
    else:
        message = "; ".join(parts)
    return LeakageResult(passed=passed, n_train=len(xtr), n_val=len(xv), exact_duplicates=len(exact),
                         exact_pairs=tuple(exact[:MAX_REPORTED]), exact_same_label=same_label,
                         near_duplicates=len(near), near_pairs=tuple(near[:MAX_REPORTED]), near_method=method,
                         near_threshold=threshold, leaky_columns=tuple(leaky), top_columns=tuple(top), task=task,
                         message=message)
