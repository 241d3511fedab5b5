"""Stored metric chunks as numpy columns: frames and exports without a Python object per point."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter
from typing import TYPE_CHECKING, Any

import numpy as np

from trialwise.store._points import STEP_NONE

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

LE_INT64 = np.dtype("<i8")
LE_FLOAT64 = np.dtype("<f8")
CODE = np.int32
"""The dtype of the run and key codes (half the memory of int64 per point: a frame of 1.6M points
allocates ≈ 100 MB, and fresh memory costs its first touch)."""


@dataclass(frozen=True)
class PointColumns:
    """Metric points as columns, ordered by run, key and step like :meth:`Store.metrics`.

    ``run`` indexes ``run_ids`` and ``key`` indexes ``keys`` per point (as a categorical's codes);
    ``step`` holds :data:`STEP_NONE` where a point had no step; ``value`` and ``time`` are NaN
    where missing."""

    run_ids: tuple[str, ...]
    run: np.ndarray
    keys: tuple[str, ...]
    key: np.ndarray
    step: np.ndarray
    value: np.ndarray
    time: np.ndarray

    def __len__(self) -> int:
        return len(self.step)

    def frame(self, per_run: Mapping[str, Sequence[Any]] | None = None) -> pd.DataFrame:
        """Long format ``run_id, <per_run columns>, key, step, value, time``: ``per_run`` maps a
        column name to its value for each of ``run_ids``. ``step`` is ``int64``, or ``float64`` with
        NaN when a point had no step."""
        import pandas as pd

        def text(values: np.ndarray) -> pd.Series:
            # a Series of dtype object is taken as it is; a bare object array would be scanned per
            # element for dates by the DataFrame constructor (1.6M points: 130 ms of a 150 ms load)
            return pd.Series(values, dtype=object, copy=False)

        data: dict[str, Any] = {"run_id": text(np.asarray(self.run_ids, dtype=object)[self.run])}
        for name, values in (per_run or {}).items():
            column = np.asarray(values)
            data[name] = text(column.astype(object)[self.run]) if column.dtype.kind in "USO" else column[self.run]
        missing = self.step == STEP_NONE
        step: np.ndarray = self.step
        if missing.any():
            step = self.step.astype(np.float64)
            step[missing] = np.nan
        data.update(key=text(np.asarray(self.keys, dtype=object)[self.key]), step=step, value=self.value,
                    time=self.time)
        return pd.DataFrame(data, copy=False)

    def table(self, per_run: Mapping[str, Sequence[Any]] | None = None) -> pa.Table:
        """The columns of :meth:`frame` as an Arrow table, text as dictionary arrays (no string per
        point is made); a missing step or time is null, a NaN value stays NaN (a diverged loss)."""
        import pyarrow as pa

        def coded(codes: np.ndarray, values: Sequence[Any]) -> pa.Array:
            """The column whose point ``i`` is ``values[codes[i]]``; text as a dictionary array."""
            if values and all(isinstance(v, str) for v in values):
                unique = {v: i for i, v in enumerate(dict.fromkeys(values))}
                remap = np.asarray([unique[v] for v in values], dtype=np.int32)
                return pa.DictionaryArray.from_arrays(pa.array(remap[codes]), pa.array(list(unique)))
            return pa.array(np.asarray(list(values))[codes]) if len(values) else pa.array([], pa.null())

        columns: dict[str, pa.Array] = {"run_id": coded(self.run, self.run_ids)}
        for name, values in (per_run or {}).items():
            columns[name] = coded(self.run, values)
        columns.update(key=coded(self.key, self.keys), step=pa.array(self.step, mask=self.step == STEP_NONE),
                       value=pa.array(self.value), time=pa.array(self.time, from_pandas=True))
        return pa.table(columns)


def columns_of(run_ids: Sequence[str], rows: Iterable[tuple[str, str, str, int, Any, Any, Any]]) -> PointColumns:
    """:class:`PointColumns` of the stored chunk ``rows`` ``(run_id, key, source, n, steps, values,
    times)``, ordered by run and key (each key's chunks in storage order), for the runs ``run_ids``."""
    index = {r: i for i, r in enumerate(run_ids)}
    key_codes: dict[str, int] = {}
    run_of: list[int] = []
    key_of: list[int] = []
    sizes: list[int] = []
    steps: list[np.ndarray] = []
    values: list[np.ndarray] = []
    times: list[np.ndarray] = []
    for (run_id, key), group in groupby(rows, key=itemgetter(0, 1)):
        parts = list(group)
        s = _joined(parts, 4, LE_INT64)
        v = _joined(parts, 5, LE_FLOAT64)
        t = np.concatenate([np.frombuffer(p[6], LE_FLOAT64) if len(p[6]) else np.full(p[3], np.nan) for p in parts])
        if len(s) > 1 and (s[1:] < s[:-1]).any():
            order = np.argsort(s, kind="stable")  # insertion order within a step, as stored
            s, v, t = s[order], v[order], t[order]
        run_of.append(index[run_id])
        key_of.append(key_codes.setdefault(key, len(key_codes)))
        sizes.append(len(s))
        steps.append(s)
        values.append(v)
        times.append(t)
    counts = np.asarray(sizes, dtype=np.int64)
    return PointColumns(
        run_ids=tuple(run_ids),
        run=np.repeat(np.asarray(run_of, dtype=CODE), counts),
        keys=tuple(key_codes),
        key=np.repeat(np.asarray(key_of, dtype=CODE), counts),
        step=_concat(steps, np.int64),
        value=_concat(values, np.float64),
        time=_concat(times, np.float64),
    )


def _joined(parts: list[tuple[Any, ...]], column: int, dtype: np.dtype) -> np.ndarray:
    if len(parts) == 1:
        return np.frombuffer(parts[0][column], dtype)
    return np.frombuffer(b"".join(bytes(p[column]) for p in parts), dtype)


def _concat(arrays: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(arrays).astype(dtype, copy=False) if arrays else np.empty(0, dtype)
