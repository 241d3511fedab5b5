"""Per-example predictions of a run: the record, its Parquet file, and CSV import.

Layout in a run directory::

    predictions/<split>.parquet       id, y_true, y_pred, score | scores (list<double>), loss, input
    predictions/<split>.inputs.npy    optional: array inputs (np.save, allow_pickle=False)

Labels are integers (``classes[i]`` names label ``i`` and score column ``i``) or strings
(``classes[i]`` is the label of score column ``i``). Binary scores are one column: the score of
the positive class (label 1, or ``classes[1]``).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from trialwise._exceptions import DataError, UsageError
from trialwise.api._files import PREDICTIONS_DIR  # sub-directory of a run directory, one Parquet file per split
from trialwise.metrics._common import Record, as_labels, as_scores, label_names, to_jsonable, to_numpy

__all__ = ["Predictions", "import_predictions_csv", "predictions_path", "read_predictions", "write_predictions"]

INPUTS_SUFFIX = ".inputs.npy"
"""Array inputs live next to the Parquet file as ``<split>.inputs.npy``."""

FORMAT_VERSION = 1
"""Version of the predictions file layout, stored in the Parquet schema metadata."""

METADATA_KEY = b"trialwise.predictions"
"""Parquet schema-metadata key holding ``{"version", "classes", "split", "inputs"}`` as JSON."""

BINARY_THRESHOLD = 0.5
"""``y_pred`` derived from binary probability scores: positive when ``score >= 0.5``."""

MAX_INPUT_ARRAY_BYTES = 256 * 2**20
"""Array inputs are for small things (thumbnails, feature vectors); bigger ones should be paths."""

SPLIT_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
"""A split name becomes a file name: letters, digits, '_', '.', '-'."""

INT_PATTERN = re.compile(r"^[+-]?\d+$")

CHECK_WHERE = "Predictions"


@dataclass(frozen=True, eq=False)
class Predictions(Record):
    """Per-example predictions of one run on one split (numpy arrays, validated on construction).

    Attributes
    ----------
    ids : ndarray (n,)
        Unique example ids (int64 or str).
    y_true, y_pred : ndarray (n,)
        Labels (int64 or str, the same kind).
    scores : ndarray (n,) or (n, k), optional
        Binary: score of the positive class. Multi-class: one column per class.
    loss : ndarray (n,), optional
        Per-example loss.
    inputs : ndarray, optional
        Paths (str, shape (n,)) or small arrays (shape (n, ...)).
    classes : tuple of str, optional
        Class names / score-column labels (see the module docstring).
    split : str
    """

    ids: np.ndarray
    y_true: np.ndarray
    y_pred: np.ndarray
    scores: np.ndarray | None = None
    loss: np.ndarray | None = None
    inputs: np.ndarray | None = None
    classes: tuple[str, ...] | None = None
    split: str = "val"

    def __post_init__(self) -> None:
        _check(self, CHECK_WHERE)

    # -- construction -----------------------------------------------------------------------------
    @classmethod
    def from_arrays(cls, ids: Any, y_true: Any, y_pred: Any = None, scores: Any = None, loss: Any = None,
                    inputs: Any = None, classes: Sequence[Any] | None = None, split: str = "val",
                    where: str = "Predictions.from_arrays") -> Predictions:
        """Coerce array-likes (lists, numpy, CPU/GPU torch tensors) and derive ``y_pred`` from scores if absent."""
        id_arr = _as_ids(ids, where)
        yt = as_labels(y_true, "y_true", where)
        sc = None if scores is None else as_scores(scores, "scores", where)
        cls_t = None if classes is None else tuple(str(c) for c in classes)
        yp = _derive_pred(yt, sc, cls_t, where) if y_pred is None else as_labels(y_pred, "y_pred", where)
        ls = None if loss is None else as_scores(loss, "loss", where, ndim=(1,))
        try:
            return cls(ids=id_arr, y_true=yt, y_pred=yp, scores=sc, loss=ls, inputs=_as_inputs(inputs, where),
                       classes=cls_t, split=split)
        except (DataError, UsageError) as exc:  # name the caller, not the constructor
            raise type(exc)(str(exc).replace(CHECK_WHERE, where, 1)) from None

    # -- derived views ----------------------------------------------------------------------------
    @property
    def n(self) -> int:
        return len(self.ids)

    @property
    def correct(self) -> np.ndarray:
        return self.y_true == self.y_pred

    @property
    def error_rate(self) -> float:
        return float(np.mean(~self.correct))

    @property
    def n_errors(self) -> int:
        return int(np.sum(~self.correct))

    def names(self, labels: np.ndarray) -> list[str]:
        """Display names of labels (``classes[label]`` for integer labels)."""
        return label_names(labels, self.classes)

    def columns(self, labels: np.ndarray) -> np.ndarray:
        """Score column of each label (multi-class scores)."""
        if labels.dtype.kind in "iu":
            return labels.astype(np.int64)
        assert self.classes is not None
        lookup = {c: i for i, c in enumerate(self.classes)}
        return np.array([lookup[v] for v in labels.tolist()], dtype=np.int64)

    def _score_of(self, labels: np.ndarray) -> np.ndarray | None:
        if self.scores is None:
            return None
        if self.scores.ndim == 2:
            return self.scores[np.arange(self.n), self.columns(labels)]
        positive = _positive_label(self)
        return np.where(labels == positive, self.scores, 1.0 - self.scores)

    @property
    def confidence(self) -> np.ndarray | None:
        """Score of the predicted class (for binary scores: ``s`` or ``1 - s``); ``None`` without scores."""
        return self._score_of(self.y_pred)

    @property
    def score_true(self) -> np.ndarray | None:
        """Score of the true class; ``None`` without scores."""
        return self._score_of(self.y_true)

    @property
    def input_kind(self) -> str | None:
        """'path' (strings), 'array', or ``None``."""
        if self.inputs is None:
            return None
        return "path" if self.inputs.dtype.kind == "U" else "array"

    def input_ref(self, i: int) -> str | None:
        """How a person finds example ``i``'s input: its path, or ``<split>.inputs.npy[i]``."""
        if self.input_kind == "path":
            return str(self.inputs[i])  # type: ignore[index]
        if self.input_kind == "array":
            return f"{self.split}{INPUTS_SUFFIX}[{i}]"
        return None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict; array inputs are summarised by shape (they can be large)."""
        out = {k: v for k, v in super().to_dict().items() if k != "inputs"}
        out["inputs"] = (to_jsonable(self.inputs) if self.input_kind == "path"
                         else None if self.inputs is None else {"shape": list(self.inputs.shape)})
        return out


def _as_ids(ids: Any, where: str) -> np.ndarray:
    arr = to_numpy(ids)
    if arr.ndim != 1:
        raise DataError(f"The 'ids' parameter of {where} must be 1-D. Got shape {arr.shape} instead.")
    if arr.dtype.kind in "iub":
        arr = arr.astype(np.int64)
    elif arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
        arr = arr.astype(np.int64)
    else:
        arr = np.array([str(v) for v in arr.tolist()], dtype=str) if len(arr) else arr.astype(str)
    return arr


def _derive_pred(yt: np.ndarray, sc: np.ndarray | None, classes: tuple[str, ...] | None, where: str) -> np.ndarray:
    if sc is None:
        raise DataError(f"{where}: y_pred is missing and there are no scores to derive it from; pass y_pred= "
                        f"or scores=.")
    if yt.dtype.kind == "U" and classes is None:
        raise DataError(f"{where}: string labels with scores need classes= (the label of each score column) "
                        f"to derive y_pred.")
    if sc.ndim == 2:
        idx = np.argmax(sc, axis=1)
        return np.asarray(classes, dtype=str)[idx] if yt.dtype.kind == "U" else idx.astype(np.int64)
    positive = sc >= BINARY_THRESHOLD
    if yt.dtype.kind == "U":
        assert classes is not None
        if len(classes) != 2:
            raise DataError(f"{where}: binary scores need exactly 2 classes (negative, positive). Got {classes}.")
        return np.where(positive, classes[1], classes[0])
    return positive.astype(np.int64)


def _as_inputs(inputs: Any, where: str) -> np.ndarray | None:
    if inputs is None:
        return None
    if isinstance(inputs, (list, tuple)) or (isinstance(inputs, np.ndarray) and inputs.dtype.kind == "O"):
        values = list(inputs)
        if values and all(v is None or isinstance(v, (str, os.PathLike)) for v in values):
            return np.array(["" if v is None else os.fspath(v) for v in values], dtype=str)
    arr = to_numpy(inputs)
    if arr.dtype.kind == "U":
        return arr
    if arr.dtype.kind == "O" or arr.dtype.kind not in "biuf":
        raise DataError(f"The 'inputs' parameter of {where} must be paths (strings) or a numeric array of shape "
                        f"(n, ...). Got dtype {arr.dtype} instead (objects would need pickle, which is not used).")
    if arr.nbytes > MAX_INPUT_ARRAY_BYTES:
        raise DataError(f"The 'inputs' parameter of {where} is {arr.nbytes / 2**20:.0f} MiB; arrays above "
                        f"{MAX_INPUT_ARRAY_BYTES // 2**20} MiB should be stored as files and passed as paths.")
    return arr


def _positive_label(p: Predictions) -> Any:
    return p.classes[1] if p.y_true.dtype.kind == "U" and p.classes else 1


def _check(p: Predictions, where: str) -> None:
    """Shape and consistency checks shared by every way of building a :class:`Predictions`."""
    n = len(p.ids)
    if n == 0:
        raise DataError(f"{where}: no examples; predictions need at least one row.")
    for name in ("y_true", "y_pred", "scores", "loss", "inputs"):
        arr = getattr(p, name)
        if arr is not None and len(arr) != n:
            raise DataError(f"{where}: '{name}' has {len(arr)} entries but there are {n} ids; every array needs "
                            f"one entry per example (shape of {name}: {arr.shape}).")
    if not SPLIT_PATTERN.match(p.split):
        raise UsageError(f"The 'split' parameter of {where} must be a simple name such as 'val' (letters, digits, "
                         f"'_', '.', '-'). Got {p.split!r} instead.")
    uniq, first, counts = np.unique(p.ids, return_index=True, return_counts=True)
    if len(uniq) != n:
        dup = uniq[counts > 1][:3]
        pos = [np.nonzero(p.ids == d)[0][:3].tolist() for d in dup]
        raise DataError(f"{where}: ids must be unique; {int((counts > 1).sum())} repeat, e.g. "
                        + ", ".join(f"{d!r} at positions {q}" for d, q in zip(dup.tolist(), pos)))
    if p.y_true.dtype.kind != p.y_pred.dtype.kind:
        raise DataError(f"{where}: y_true and y_pred must both be integer or both string labels. Got "
                        f"{p.y_true.dtype} and {p.y_pred.dtype}.")
    strings = p.y_true.dtype.kind == "U"
    labels = np.concatenate([p.y_true, p.y_pred])
    if p.classes is not None and len(set(p.classes)) != len(p.classes):
        raise DataError(f"{where}: classes must be unique. Got {list(p.classes)}.")
    k = None
    if p.scores is not None:
        if p.scores.ndim == 2:
            k = p.scores.shape[1]
            if k < 2:
                raise DataError(f"{where}: scores has 1 column; pass binary scores as a 1-D array (the score of "
                                f"the positive class).")
        else:
            k = 2
        if p.classes is not None and len(p.classes) != k:
            raise DataError(f"{where}: {len(p.classes)} classes given but scores imply {k} classes "
                            f"(scores shape {p.scores.shape}).")
        if strings and p.classes is None:
            raise DataError(f"{where}: string labels with scores need classes= (the label of each score column).")
    elif p.classes is not None:
        k = len(p.classes)
    if strings and p.classes is not None:
        unknown = sorted(set(labels.tolist()) - set(p.classes))
        if unknown:
            raise DataError(f"{where}: labels {unknown[:5]} are not in classes {list(p.classes)}.")
    if not strings and k is not None:
        bad = labels[(labels < 0) | (labels >= k)]
        if len(bad):
            raise DataError(f"{where}: integer labels must be in 0..{k - 1} ({k} classes from "
                            f"{'scores' if p.scores is not None else 'classes'}). Got {sorted(set(bad.tolist()))[:5]}.")
    if p.inputs is not None and p.inputs.dtype.kind == "U" and p.inputs.ndim != 1:
        raise DataError(f"{where}: path inputs must be 1-D (one path per example). Got shape {p.inputs.shape}.")


# -- files ------------------------------------------------------------------------------------------

def predictions_path(run_dir: str | Path, split: str = "val") -> Path:
    """``run_dir/predictions/<split>.parquet``."""
    return Path(run_dir) / PREDICTIONS_DIR / f"{split}.parquet"


def _replace_atomically(path: Path, write: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _write(p: Predictions, run_dir: str | Path) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = predictions_path(run_dir, p.split)
    path.parent.mkdir(parents=True, exist_ok=True)
    cols: dict[str, Any] = {"id": pa.array(p.ids), "y_true": pa.array(p.y_true), "y_pred": pa.array(p.y_pred)}
    if p.scores is not None and p.scores.ndim == 1:
        cols["score"] = pa.array(p.scores)
    elif p.scores is not None:
        n, k = p.scores.shape
        list_type = pa.LargeListArray if n * k >= 2**31 - 1 else pa.ListArray
        offsets = pa.array(np.arange(0, n * k + 1, k), pa.int64() if list_type is pa.LargeListArray else pa.int32())
        cols["scores"] = list_type.from_arrays(offsets, pa.array(p.scores.ravel()))
    if p.loss is not None:
        cols["loss"] = pa.array(p.loss)
    npy = path.with_name(p.split + INPUTS_SUFFIX)
    if p.input_kind == "path":
        cols["input"] = pa.array(p.inputs)
    meta = {"version": FORMAT_VERSION, "classes": list(p.classes) if p.classes is not None else None,
            "split": p.split, "inputs": p.input_kind}
    table = pa.table(cols).replace_schema_metadata({METADATA_KEY: json.dumps(meta).encode()})
    if p.input_kind == "array":
        def save_npy(tmp: Path) -> None:
            with open(tmp, "wb") as fh:
                np.save(fh, np.ascontiguousarray(p.inputs), allow_pickle=False)
        _replace_atomically(npy, save_npy)
    elif npy.exists():
        npy.unlink()  # a stale array from an earlier write must not be paired with these rows
    _replace_atomically(path, lambda tmp: pq.write_table(table, tmp))
    return path


def write_predictions(run_dir: str | Path, ids: Any, y_true: Any, y_pred: Any = None, scores: Any = None,
                      loss: Any = None, split: str = "val", inputs: Any = None,
                      classes: Sequence[Any] | None = None) -> Path:
    """Validate per-example predictions and write ``run_dir/predictions/<split>.parquet``.

    Parameters
    ----------
    run_dir : path
        The run directory.
    ids : array-like (n,)
        Unique example ids (int or str): how errors are traced back to examples.
    y_true : array-like (n,)
        True labels (int or str).
    y_pred : array-like (n,), optional
        Predicted labels; default ``argmax(scores)`` (multi-class) or ``scores >= 0.5`` (binary).
    scores : array-like (n,) or (n, k), optional
        Binary: score of the positive class. Multi-class: one column per class (stored as
        ``list<double>``).
    loss : array-like (n,), optional
        Per-example loss (ranks the worst mistakes).
    split : str
        File name of the split ('val', 'test', ...).
    inputs : sequence of paths, or array (n, ...), optional
        Paths are stored as a string column; arrays go to ``<split>.inputs.npy`` (no pickle).
    classes : sequence, optional
        Class names (see the module docstring).

    Returns
    -------
    Path
        The Parquet file (written atomically; an existing one for the split is replaced).
    """
    p = Predictions.from_arrays(ids, y_true, y_pred=y_pred, scores=scores, loss=loss, inputs=inputs,
                                classes=classes, split=split, where="write_predictions")
    return _write(p, run_dir)


def _resolve_file(path: str | Path, split: str) -> Path:
    p = Path(path)
    if p.is_dir():
        p = p / f"{split}.parquet" if p.name == PREDICTIONS_DIR else predictions_path(p, split)
    if not p.is_file():
        raise DataError(f"{p}: no predictions file. Log them in the training script with "
                        f"trialwise.log_predictions(ids, y_true, scores=...) or import a CSV with "
                        f"`trialwise errors import preds.csv`.")
    return p


def read_predictions(path: str | Path, split: str = "val") -> Predictions:
    """Read a predictions Parquet file (or ``<run_dir>``/``<run_dir>/predictions`` plus ``split``).

    Files written by other tools are accepted when they have the columns ``id``, ``y_true``,
    ``y_pred`` and optionally ``score``/``scores``/``loss``/``input``.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    file = _resolve_file(path, split)
    try:
        table = pq.read_table(file)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{file}: not a readable Parquet file ({exc}).") from None
    raw = (table.schema.metadata or {}).get(METADATA_KEY)
    meta = json.loads(raw) if raw else {}
    if meta.get("version", FORMAT_VERSION) > FORMAT_VERSION:
        raise DataError(f"{file}: written by a newer trialwise (format {meta['version']}); upgrade trialwise.")
    missing = [c for c in ("id", "y_true", "y_pred") if c not in table.column_names]
    if missing:
        raise DataError(f"{file}: missing column(s) {missing}; found {table.column_names}.")
    scores = None
    if "scores" in table.column_names:
        col = table.column("scores").combine_chunks()
        if col.null_count:
            raise DataError(f"{file}: column 'scores' has {col.null_count} empty row(s).")
        lengths = np.diff(col.offsets.to_numpy())
        if len(lengths) and (lengths != lengths[0]).any():
            raise DataError(f"{file}: rows of 'scores' have different lengths {sorted(set(lengths.tolist()))[:5]}.")
        k = int(lengths[0]) if len(lengths) else 0
        scores = col.flatten().to_numpy(zero_copy_only=False).reshape(len(col), k)
    elif "score" in table.column_names:
        scores = table.column("score").to_numpy()

    def column(name: str) -> np.ndarray | None:
        return table.column(name).to_numpy(zero_copy_only=False) if name in table.column_names else None

    inputs: Any = column("input")
    if meta.get("inputs") == "array":
        npy = file.with_name(file.stem + INPUTS_SUFFIX)
        if not npy.is_file():
            raise DataError(f"{file}: its array inputs file {npy.name} is missing next to it.")
        inputs = np.load(npy, mmap_mode="r", allow_pickle=False)
    where = f"read_predictions({file})"
    return Predictions.from_arrays(column("id"), column("y_true"), column("y_pred"), scores=scores,
                                   loss=column("loss"), inputs=None if inputs is None else inputs,
                                   classes=meta.get("classes"), split=meta.get("split", file.stem), where=where)


# -- CSV import -------------------------------------------------------------------------------------

def _parse_float(text: str) -> float | None:
    """A number from a CSV cell; a decimal comma ('0,93', European spreadsheet exports) is accepted."""
    for candidate in (text, text.replace(",", ".") if text.count(",") == 1 else None):
        if candidate:
            try:
                return float(candidate)
            except ValueError:
                pass
    return None


def import_predictions_csv(csv_path: str | Path, *, classes: Sequence[Any] | None = None, split: str = "val",
                           run_dir: str | Path | None = None) -> Predictions:
    """Read predictions made elsewhere from a CSV (``trialwise errors import preds.csv``).

    Columns (header names, case-insensitive): ``id``, ``y_true``, ``y_pred`` (optional when scores
    are given), then either ``score`` (binary: score of the positive class) or one ``score_<class>``
    column per class, and optionally ``loss`` and ``input`` (a path). Labels that are all integers
    become integer labels (``score_0 .. score_<k-1>`` then name the columns); otherwise they stay
    strings and ``score_<class>`` suffixes are the class labels. For string labels with a single
    ``score`` column the positive class is ``classes[1]`` (default: the second label in sorted order).

    Errors name the CSV row (header = row 1) and column, and list up to 10 problems at once.

    Parameters
    ----------
    csv_path : path
    classes : sequence, optional
        Class names (integer labels) or ``(negative, positive)`` for string binary labels.
    split : str
    run_dir : path, optional
        When given, the predictions are also written there with :func:`write_predictions`.

    Returns
    -------
    Predictions
    """
    from trialwise.errors._csvio import Problems, read_csv_table

    table = read_csv_table(csv_path, "predictions CSV")
    lower = [h.lower() for h in table.header]
    problems = Problems(table.path, "predictions CSV")
    col = {name: lower.index(name) for name in ("id", "y_true", "y_pred", "score", "loss", "input") if name in lower}
    score_cols = [(j, table.header[j][len("score_"):]) for j, h in enumerate(lower) if h.startswith("score_")]
    found = f"the header has {list(table.header)}"
    if "id" not in col or "y_true" not in col:
        raise DataError(f"{table.path}: needs columns 'id' and 'y_true' ({found}).")
    if "score" in col and score_cols:
        raise DataError(f"{table.path}: has both 'score' and 'score_<class>' columns; use 'score' for binary "
                        f"or one score_<class> per class ({found}).")
    if "y_pred" not in col and "score" not in col and not score_cols:
        raise DataError(f"{table.path}: needs 'y_pred' or score column(s) to derive it from ({found}).")
    if not table.rows:
        raise DataError(f"{table.path}: has a header but no rows.")

    def cells(name: str, required: bool) -> list[str]:
        j = col[name]
        out = [r[j] for r in table.rows]
        if required:
            for i, v in enumerate(out):
                if v == "":
                    problems.add(f"{table.where(i, j)}: empty; every row needs a value")
        return out

    def numbers(j: int) -> np.ndarray:
        out = np.full(len(table.rows), np.nan)
        for i, r in enumerate(table.rows):
            value = _parse_float(r[j])
            if value is None:
                problems.add(f"{table.where(i, j)}: {r[j]!r} is not a number")
                continue
            out[i] = value
            if not np.isfinite(out[i]):
                problems.add(f"{table.where(i, j)}: {r[j]!r} is not a finite number")
        return out

    ids = cells("id", True)
    seen: dict[str, int] = {}
    for i, v in enumerate(ids):
        if v and v in seen:
            problems.add(f"row {table.row_numbers[i]}: id {v!r} repeats row {table.row_numbers[seen[v]]}")
        seen.setdefault(v, i)
    y_true = cells("y_true", True)
    y_pred = cells("y_pred", True) if "y_pred" in col else None
    loss = numbers(col["loss"]) if "loss" in col else None
    inputs = cells("input", False) if "input" in col else None
    raw_scores = (numbers(col["score"]) if "score" in col
                  else np.column_stack([numbers(j) for j, _ in score_cols]) if score_cols else None)
    problems.raise_if_any()

    labels_all = y_true + (y_pred or [])
    suffixes = [s for _, s in score_cols]
    suffix_ints = sorted(int(s) if INT_PATTERN.match(s) else -1 for s in suffixes)
    int_labels = all(INT_PATTERN.match(v) for v in labels_all) and (
        not score_cols or suffix_ints == list(range(len(suffixes))))
    cls_out: Sequence[Any] | None = classes
    scores = raw_scores
    if int_labels:
        yt: Any = np.array([int(v) for v in y_true], dtype=np.int64)
        yp: Any = None if y_pred is None else np.array([int(v) for v in y_pred], dtype=np.int64)
        if score_cols:
            order = np.argsort([int(s) for s in suffixes])
            assert raw_scores is not None
            scores = raw_scores[:, order]
    else:
        yt, yp = np.array(y_true, dtype=str), None if y_pred is None else np.array(y_pred, dtype=str)
        if score_cols:
            if classes is not None and [str(c) for c in classes] != suffixes:
                raise UsageError(f"classes={list(classes)} disagree with the score columns {suffixes} of {table.path}.")
            cls_out = suffixes
        elif "score" in col and classes is None:
            cls_out = sorted(set(labels_all))
            if len(cls_out) != 2:
                raise DataError(f"{table.path}: a single 'score' column means binary labels, but the labels are "
                                f"{cls_out[:10]}; use one score_<class> column per class, or pass "
                                f"classes=(negative, positive).")
        if cls_out is not None:
            known = {str(c) for c in cls_out}
            for name, values in (("y_true", y_true), ("y_pred", y_pred or [])):
                j = col[name]
                for i, v in enumerate(values):
                    if v not in known:
                        problems.add(f"{table.where(i, j)}: label {v!r} is not one of the classes "
                                     f"{sorted(known)[:10]}")
            problems.raise_if_any("Labels must match the score_<class> column names (or classes=).")
    p = Predictions.from_arrays(np.array(ids, dtype=str), yt, yp, scores=scores, loss=loss, inputs=inputs,
                                classes=cls_out, split=split, where=f"import_predictions_csv({table.path})")
    if run_dir is not None:
        _write(p, run_dir)
    return p
