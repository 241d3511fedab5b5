"""The data checks on files, for ``trialwise check``: listings as ``glob`` returns them, tables from disk.

Pure checks live beside this module; here is only the reading: what a training script's
``glob.glob`` would list, and a split's features and labels from CSV, Parquet, ``.npy`` or ``.npz``.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trialwise._exceptions import DataError
from trialwise.checks._leakage import find_leakage
from trialwise.checks._pairs import check_pairs
from trialwise.checks._records import LeakageResult, PairsResult

__all__ = ["TABLE_SUFFIXES", "Split", "check_pairs_glob", "find_leakage_files", "read_split"]

TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq", ".npy", ".npz")
"""File types :func:`read_split` reads."""

NPZ_FEATURES = ("X", "x", "features", "inputs", "data")
"""Array names tried, in order, for the features of an ``.npz`` file (``--features`` overrides)."""

NPZ_LABELS = ("y", "Y", "labels", "targets", "target")
"""Array names tried, in order, for the labels of an ``.npz`` file (``--label`` overrides)."""


def check_pairs_glob(inputs: str, labels: str) -> PairsResult:
    """:func:`check_pairs` on what ``glob.glob(inputs)`` and ``glob.glob(labels)`` return, unsorted.

    That is the listing order a script that globs without ``sorted`` gets on this file system
    (seed 004's bug), so a pass here means the script's pairing is right on this machine.
    """
    a, b = glob.glob(inputs, recursive=True), glob.glob(labels, recursive=True)
    for pattern, found, what in ((inputs, a, "inputs"), (labels, b, "labels")):
        if not found:
            raise DataError(f"The {what} pattern {pattern!r} matches no file (relative to {os.getcwd()}). Quote the "
                            "pattern so the shell does not expand it, e.g. 'images/*.png'.")
    return check_pairs(a, b)


@dataclass(frozen=True)
class Split:
    """Features and (optional) labels of one split, with the column names."""

    path: Path
    features: Any
    labels: Any
    feature_names: tuple[str, ...]


def _pick(arrays: Any, wanted: str | None, defaults: tuple[str, ...], path: Path, what: str) -> Any:
    names = list(arrays.files)
    if wanted is not None:
        if wanted not in names:
            raise DataError(f"{path}: no array {wanted!r} for the {what} (the file holds {', '.join(names)}).")
        return arrays[wanted]
    for name in defaults:
        if name in names:
            return arrays[name]
    return None


def _load_array(path: Path) -> Any:
    """One ``.npy`` array, never unpickled; a malformed file is a :class:`DataError` naming it."""
    import numpy as np

    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(f"{path}: not a readable .npy array ({exc}); save it with numpy.save "
                        "(object arrays are refused: no pickle).") from None


def read_split(path: str | Path, label: str | None = None, features: str | None = None) -> Split:
    """Read one split: a table (CSV/TSV/Parquet, the ``label`` column is the label, the other
    numeric columns the features) or arrays (``.npy`` features; ``.npz`` with ``X``/``y`` or the
    names given)."""
    import numpy as np

    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: no such file.")
    suffix = p.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise DataError(f"{p}: cannot read {suffix or 'a file without suffix'}; use one of {', '.join(TABLE_SUFFIXES)}.")
    if suffix in (".npy", ".npz"):
        if suffix == ".npy":
            x, y = _load_array(p), None
            if label is not None:
                raise DataError(f"{p}: a .npy file holds one array (the features); pass labels in an .npz file.")
        else:
            try:
                arrays = np.load(p, allow_pickle=False)
            except (ValueError, OSError, EOFError) as exc:
                raise DataError(f"{p}: not a readable .npz archive ({exc}); save it with numpy.savez "
                                "(object arrays are refused: no pickle).") from None
            with arrays:
                x = _pick(arrays, features, NPZ_FEATURES, p, "features")
                y = _pick(arrays, label, NPZ_LABELS, p, "labels")
                if x is None:
                    raise DataError(f"{p}: no features array (tried {', '.join(NPZ_FEATURES)}; the file holds "
                                    f"{', '.join(arrays.files)}). Name it with --features.")
        x = np.asarray(x).reshape(len(x), -1)
        return Split(p, x, y, tuple(str(i) for i in range(x.shape[1])))
    import pandas as pd

    try:
        df = pd.read_parquet(p) if suffix in (".parquet", ".pq") else pd.read_csv(p, sep="\t" if suffix == ".tsv" else ",")
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise DataError(f"{p}: cannot be read as a table ({exc}).") from None
    y = None
    if label is not None:
        if label not in df.columns:
            raise DataError(f"{p}: no column {label!r} for the label (columns: {', '.join(map(str, df.columns))}).")
        y = df.pop(label).to_numpy()
    numeric = df.select_dtypes(include="number")
    if numeric.shape[1] == 0:
        raise DataError(f"{p}: no numeric feature column (columns: {', '.join(map(str, df.columns))}).")
    return Split(p, numeric.to_numpy(dtype=float), y, tuple(map(str, numeric.columns)))


def find_leakage_files(train: str | Path, val: str | Path, label: str | None = None,
                       features: str | None = None) -> LeakageResult:
    """:func:`find_leakage` on two split files read by :func:`read_split` (same columns in both)."""
    tr, va = read_split(train, label, features), read_split(val, label, features)
    if tr.feature_names != va.feature_names and tr.path.suffix.lower() not in (".npy", ".npz"):
        missing = sorted(set(tr.feature_names) ^ set(va.feature_names))
        raise DataError(f"{tr.path} and {va.path} have different feature columns ({', '.join(missing)}).")
    return find_leakage(tr.features, va.features, tr.labels, va.labels, feature_names=tr.feature_names)
