"""Read what a run wrote (``tw.log`` file, JSON lines on stdout, TensorBoard events) into the store.

Scripts that never imported trialwise still get their metrics: every stdout line that is a JSON
object with numeric values (``{"step": 10, "train_loss": 0.4}``) is a metric point, and TensorBoard
event files under the run directory are read with TensorBoard's own event reader.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trialwise.api import _files as F

STEP_KEYS = ("step", "global_step", "iteration", "iter")
"""Keys of a stdout JSON object that give the step rather than a metric."""

EPOCH_KEY = "epoch"
"""Used as the step when no step key is present; also kept as a series of its own."""

TB_GLOB = "**/events.out.tfevents.*"

Point = tuple[str, int | None, float, float | None, str]

MAX_STEP = 2**63 - 1
"""Largest step the store's integer column holds (SQLite and PostgreSQL BIGINT)."""


def _step(value: Any) -> int | None:
    """A step: a finite number (not a bool) within the store's integer range; else ``None``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    step = int(value)
    return step if -MAX_STEP <= step <= MAX_STEP else None


def _number(value: Any) -> float | None:
    """A metric value: numbers, numeric strings ('nan', 'inf') and ``null`` (NaN); else ``None``."""
    if value is None:
        return math.nan
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, float):
        return value
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:  # an integer beyond float range
            return math.inf if value > 0 else -math.inf
    if isinstance(value, str) and value.strip().lower() in ("nan", "inf", "-inf", "+inf", "infinity", "-infinity"):
        return float(value)
    return None


def read_api_metrics(run_dir: Path) -> list[Point]:
    """Points from ``metrics.jsonl``; a line cut short by ``kill -9`` is skipped."""
    path = run_dir / F.METRICS_FILE
    points: list[Point] = []
    if not path.exists():
        return points
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            try:
                columns = json.loads(line)
            except ValueError:
                continue
            if not isinstance(columns, dict):
                continue
            t = columns.get("t")
            steps, rows = columns.get("s"), columns.get("m")
            if not isinstance(steps, list) or not isinstance(rows, list):
                continue
            for raw_step, row in zip(steps, rows):
                if not isinstance(row, dict):
                    continue
                step = _step(raw_step)
                for key, value in row.items():
                    v = _number(value)
                    if v is not None:
                        points.append((key, step, v, t, "api"))
    return points


def parse_stdout_line(line: str) -> dict[str, Any] | None:
    """The JSON object on ``line``, or ``None`` for ordinary log output."""
    line = line.strip()
    if not (line.startswith("{") and line.endswith("}")):
        return None
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


def read_stdout_metrics(run_dir: Path) -> list[Point]:
    """Points from JSON objects printed one per line on stdout."""
    path = run_dir / F.STDOUT_FILE
    points: list[Point] = []
    if not path.exists():
        return points
    auto = 0
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            obj = parse_stdout_line(line)
            if obj is None:
                continue
            step = next((s for s in (_step(obj.get(k)) for k in STEP_KEYS) if s is not None), None)
            if step is None:
                step = _step(obj.get(EPOCH_KEY))
            if step is None:
                step = auto
            auto = step + 1
            for key, value in obj.items():
                if key in STEP_KEYS:
                    continue
                v = _number(value)
                if v is not None:
                    points.append((key, step, v, None, "stdout"))
    return points


def read_tensorboard_metrics(run_dir: Path) -> list[Point]:
    """Scalar points from TensorBoard event files anywhere under ``run_dir``."""
    files = sorted(run_dir.glob(TB_GLOB))
    if not files:
        return []
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    points: list[Point] = []
    for directory in sorted({f.parent for f in files}):
        acc = EventAccumulator(str(directory), size_guidance={"scalars": 0, "tensors": 0})
        acc.Reload()
        tags = acc.Tags()
        for tag in tags.get("scalars", []):
            points.extend((tag, e.step, float(e.value), e.wall_time, "tensorboard") for e in acc.Scalars(tag))
        for tag in tags.get("tensors", []):
            for e in acc.Tensors(tag):
                from tensorboard.util import tensor_util

                arr = tensor_util.make_ndarray(e.tensor_proto)
                if arr.size == 1 and arr.dtype.kind in "fiu":
                    points.append((tag, e.step, float(arr.reshape(())), e.wall_time, "tensorboard"))
    return points


@dataclass(frozen=True)
class Ingested:
    """Everything read from a run directory."""

    points: list[Point]
    config: dict[str, Any]
    summary: dict[str, float]
    by_source: dict[str, int] = field(default_factory=dict)


def ingest_run_dir(run_dir: Path) -> Ingested:
    """Read all metric sources, the recorded config and the explicit summary of a run."""
    sources = {
        "api": read_api_metrics(run_dir),
        "stdout": read_stdout_metrics(run_dir),
        "tensorboard": read_tensorboard_metrics(run_dir),
    }
    points = [p for pts in sources.values() for p in pts]
    summary = {k: (math.nan if v is None else float(v)) for k, v in F.read_json(run_dir / F.SUMMARY_FILE, {}).items()}
    return Ingested(points, F.read_json(run_dir / F.CONFIG_FILE, {}), summary, {k: len(v) for k, v in sources.items()})


def summarize(points: list[Point], explicit: dict[str, float], metric: str, rule: str, direction: str) -> dict[str, float]:
    """Per-run summary: explicit ``tw.summary`` values, the last finite value of every other series,
    and the decision metric under ``rule`` (``last`` | ``best`` | ``summary``)."""
    series: dict[str, list[tuple[int, float]]] = {}
    for key, step, value, _t, _src in points:
        series.setdefault(key, []).append((step if step is not None else -1, value))
    out: dict[str, float] = {}
    for key, values in series.items():
        values.sort(key=lambda sv: sv[0])
        finite = [v for _, v in values if math.isfinite(v)]
        out[key] = finite[-1] if finite else values[-1][1]
    out.update(explicit)
    if rule != "summary" and metric in series:
        values = [v for _, v in sorted(series[metric], key=lambda sv: sv[0])]
        finite = [v for v in values if math.isfinite(v)]
        if rule == "last":
            out[metric] = values[-1] if values else math.nan
        elif finite:
            out[metric] = max(finite) if direction == "max" else min(finite)
        else:
            out[metric] = math.nan
    return out


def tail_last_json(path: Path, max_bytes: int = 8192) -> dict[str, Any] | None:
    """The last metric object written to a metrics or stdout file (for the live display)."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - max_bytes))
            chunk = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return None
    for line in reversed(chunk.splitlines()):
        obj = parse_stdout_line(line)
        if obj is None:
            continue
        if isinstance(obj.get("m"), list) and isinstance(obj.get("s"), list):
            return obj["m"][-1] if obj["m"] else None
        return obj
    return None
