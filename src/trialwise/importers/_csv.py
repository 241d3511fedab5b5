"""``trialwise import csv FILE``: runs from a long-format CSV file.

One row per metric point: ``run, step, key, value`` (``step`` and a ``time`` column of Unix seconds
are optional), every other column a param of the row's run (the same on every row of a run; an
empty cell says nothing). pandas writes NaN as an empty cell, so an empty ``value`` is NaN; any
other text that is not a number is an error naming its file and line.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

from trialwise._csvfields import allow_large_fields
from trialwise._exceptions import DataError, UsageError
from trialwise.importers._model import ImportedRun, SourceRead, number, parse_value
from trialwise.runner._ingest import Point

SOURCE = "csv"

RUN_COLUMN, STEP_COLUMN, KEY_COLUMN, VALUE_COLUMN, TIME_COLUMN = "run", "step", "key", "value", "time"
REQUIRED = (RUN_COLUMN, KEY_COLUMN, VALUE_COLUMN)
RESERVED = (RUN_COLUMN, STEP_COLUMN, KEY_COLUMN, VALUE_COLUMN, TIME_COLUMN)
"""Columns that are not params."""

FORMAT_HINT = "the long format is one row per point: run,step,key,value[,time][,param columns...]"


def read_csv(path: str | Path) -> SourceRead:
    """Every run of a long-format CSV file (see the module docstring), read and checked whole.

    Raises
    ------
    UsageError
        No such file.
    DataError
        A malformed line, as ``FILE:LINE: what is wrong``.
    """
    file = Path(path).expanduser()
    if not file.is_file():
        raise UsageError(f"no CSV file at {file}" + (" (it is a directory)" if file.is_dir() else ""))
    file = file.resolve()
    runs: dict[str, dict[str, Any]] = {}
    try:
        with file.open(encoding="utf-8-sig", newline="") as fh:
            allow_large_fields()
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                raise DataError(f"{file}:1: the file is empty; {FORMAT_HINT}")
            columns = [c.strip() for c in header]
            for name in REQUIRED:
                if name not in columns:
                    raise DataError(f"{file}:1: the header has no '{name}' column (it has {', '.join(columns)}); "
                                    f"{FORMAT_HINT}")
            duplicated = sorted({c for c in columns if columns.count(c) > 1})
            if duplicated:
                raise DataError(f"{file}:1: the header names {', '.join(duplicated)} twice")
            at = {c: i for i, c in enumerate(columns)}
            params = [c for c in columns if c not in RESERVED]
            start = reader.line_num
            for cells in reader:
                line = start + 1
                start = reader.line_num
                if not any(c.strip() for c in cells):
                    continue  # a blank line
                _row(file, line, cells, columns, at, params, runs)
    except UnicodeDecodeError as exc:
        raise DataError(f"{file}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8 CSV") from None
    except csv.Error as exc:
        raise DataError(f"{file}:{reader.line_num}: {exc}") from None
    if not runs:
        raise DataError(f"{file}: no rows after the header; {FORMAT_HINT}")
    out = []
    for name, run in runs.items():
        times = [p[3] for p in run["points"] if p[3] is not None]
        out.append(ImportedRun(SOURCE, f"{file}::{name}", name, run["params"], tuple(run["points"]),
                               started_at=min(times) if times else None, ended_at=max(times) if times else None,
                               tags={"run": name}))
    return SourceRead(SOURCE, str(file), file.stem, tuple(out))


def _row(file: Path, line: int, cells: list[str], columns: list[str], at: dict[str, int], params: list[str],
         runs: dict[str, dict[str, Any]]) -> None:
    where = f"{file}:{line}"
    if len(cells) != len(columns):
        raise DataError(f"{where}: {len(cells)} fields, but the header has {len(columns)} ({', '.join(columns)})")
    name = cells[at[RUN_COLUMN]].strip()
    key = cells[at[KEY_COLUMN]].strip()
    if not name:
        raise DataError(f"{where}: the 'run' cell is empty; every point needs the run it belongs to")
    if not key:
        raise DataError(f"{where}: the 'key' cell is empty; every point needs the name of its metric")
    raw = cells[at[VALUE_COLUMN]].strip()
    value = math.nan if raw == "" else number(raw)
    if value is None:
        raise DataError(f"{where}: value {raw!r} is not a number")
    step = _step(where, cells[at[STEP_COLUMN]].strip()) if STEP_COLUMN in at else None
    t = None
    if TIME_COLUMN in at and cells[at[TIME_COLUMN]].strip():
        t = number(cells[at[TIME_COLUMN]])
        if t is None or not math.isfinite(t):
            raise DataError(f"{where}: time {cells[at[TIME_COLUMN]]!r} is not a Unix time in seconds")
    run = runs.setdefault(name, {"params": {}, "points": [], "lines": {}})
    for param in params:
        text = cells[at[param]].strip()
        if not text:
            continue
        value_p = parse_value(text)
        if param in run["params"] and run["params"][param] != value_p:
            raise DataError(f"{where}: param '{param}' of run {name!r} is {text!r} here but "
                            f"{run['params'][param]!r} on line {run['lines'][param]}; a param has one value per run")
        run["params"].setdefault(param, value_p)
        run["lines"].setdefault(param, line)
    point: Point = (key, step, value, t, SOURCE)
    run["points"].append(point)


def _step(where: str, text: str) -> int | None:
    if not text:
        return None
    value = number(text)
    if value is None or not math.isfinite(value) or value != int(value):
        raise DataError(f"{where}: step {text!r} is not an integer")
    return int(value)
