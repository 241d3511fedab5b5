"""Read what a run wrote into the store: ``tw.log``, stdout, TensorBoard events, CSV logs.

Scripts that never imported trialwise still get their metrics, as their authors wrote them:

- every stdout line that is a JSON object (``{"step": 10, "train_loss": 0.4}``) or a Python dict
  repr with numeric values (Hugging Face ``Trainer`` prints ``{'loss': '2.303', 'epoch': '0.43'}``)
  is a metric point;
- TensorBoard event files anywhere under the run directory (Lightning's default logger, HF's
  ``report_to="tensorboard"``; a run's outputs are kept there) are read with TensorBoard's reader;
- ``metrics.csv`` files with a ``step`` or ``epoch`` column (Lightning's ``CSVLogger``).

A series found in several sources is taken from one (:data:`SOURCE_PRIORITY`), so a script that logs
the same value twice is not counted twice.  Placeholder series are dropped (:data:`PLACEHOLDERS`).
"""

from __future__ import annotations

import ast
import csv
import json
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trialwise._csvfields import allow_large_fields
from trialwise.api import _files as F

STEP_KEYS = ("step", "global_step", "iteration", "iter")
"""Keys of a stdout JSON object that give the step rather than a metric."""

EPOCH_KEY = "epoch"
"""Used as the step when no step key is present; also kept as a series of its own."""

TB_GLOB = "**/events.out.tfevents.*"

CSV_NAME = "metrics.csv"
"""The file name Lightning's ``CSVLogger`` writes (``<save_dir>/<name>/version_N/metrics.csv``)."""

SOURCE_PRIORITY = ("api", "tensorboard", "csv", "stdout", "text")
"""Where a series is taken from when several sources hold it: the explicit ``tw.log`` first, then
the framework's own logs (exact steps), then printed records, then plain log lines
(:mod:`trialwise.runner._text`)."""

PLACEHOLDERS = {"hp_metric": -1.0}
"""Series whose every value is a placeholder, not a measurement: Lightning's TensorBoard logger
writes ``hp_metric = -1`` for the hyperparameter tab unless the script logs one."""

Point = tuple[str, int | None, float, float | None, str]

MAX_STEP = F.MAX_STEP
"""Largest step the store's integer column holds (one constant with ``tw.log``'s check, api/_files)."""


def _step(value: Any) -> int | None:
    """A step: a finite number or numeric string (not a bool) within the store's integer range."""
    if isinstance(value, str):
        value = _numeric_string(value)
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
    if isinstance(value, str):
        return _numeric_string(value)
    return None


def _numeric_string(text: str) -> float | None:
    """``'2.303'``, ``'4.5e-05'``, ``'nan'``, ``'inf'`` → float; other text → ``None``."""
    text = text.strip()
    if not text or len(text) > MAX_NUMBER_CHARS:
        return None
    try:
        return float(text)
    except ValueError:
        return None


MAX_NUMBER_CHARS = 64
"""Longest string read as a number (longer text is never a logged scalar)."""


def api_line_points(line: str, points: list[Point]) -> bool:
    """Append the points of one ``metrics.jsonl`` line (a column batch written by ``tw.log``);
    ``False`` when the line is no batch (unreadable, cut short, nested too deeply to parse)."""
    try:
        columns = json.loads(line)
    except (ValueError, RecursionError):
        return False
    if not isinstance(columns, dict):
        return False
    t = columns.get("t")
    steps, rows = columns.get("s"), columns.get("m")
    if not isinstance(steps, list) or not isinstance(rows, list):
        return False
    for raw_step, row in zip(steps, rows):
        if not isinstance(row, dict):
            continue
        step = _step(raw_step)
        for key, value in row.items():
            v = _number(value)
            if v is not None:
                points.append((key, step, v, t, "api"))
    return True


def read_api_metrics(run_dir: Path, skipped: Counter[str] | None = None) -> list[Point]:
    """Points from ``metrics.jsonl``; a line cut short by ``kill -9`` is skipped silently, any other
    unreadable line is skipped and counted in ``skipped``."""
    path = run_dir / F.METRICS_FILE
    points: list[Point] = []
    if not path.exists():
        return points
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if not api_line_points(line, points) and skipped is not None and line.strip() and line.endswith("\n"):
                skipped[f"unreadable lines of {F.METRICS_FILE}"] += 1  # a complete line, not kill -9's cut
    return points


MAX_DICT_LINE_CHARS = 100_000
"""Longest printed dict read as metrics (longer lines are data dumps, not log records)."""


def parse_stdout_line(line: str) -> dict[str, Any] | None:
    """The JSON object or Python dict literal on ``line``, or ``None`` for ordinary log output.

    A progress bar redrawn with carriage returns may precede the dict on the same line; only the
    text after the last ``\r`` counts.  Python literals are read with :func:`ast.literal_eval`,
    which evaluates no code."""
    line = line.rsplit("\r", 1)[-1].strip()
    if not (line.startswith("{") and line.endswith("}")) or len(line) > MAX_DICT_LINE_CHARS:
        return None
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError):
        try:
            obj = ast.literal_eval(line)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return None
    if not isinstance(obj, dict) or not all(isinstance(k, str) for k in obj):
        return None
    return obj


def _stdout_objects(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / F.STDOUT_FILE
    objects: list[dict[str, Any]] = []
    if not path.exists():
        return objects
    with path.open(encoding="utf-8", errors="replace", newline="\n") as fh:
        for line in fh:
            obj = parse_stdout_line(line)
            if obj is not None:
                objects.append(obj)
    return objects


def _placed(obj: dict[str, Any]) -> bool:
    """The record says where it belongs: a step key or an epoch."""
    return EPOCH_KEY in obj or any(_step(obj.get(k)) is not None for k in STEP_KEYS)


def summary_records(objects: list[dict[str, Any]]) -> int:
    """How many records at the end of the output are summary-only: printed after the last record
    that carried a step or an epoch, with neither (``{"best_val_acc": 0.97}`` after training).  0
    when no record carries a step or epoch (every record is then placed by its position)."""
    last = max((i for i, o in enumerate(objects) if _placed(o)), default=None)
    return 0 if last is None else len(objects) - 1 - last


def read_stdout_metrics(run_dir: Path) -> list[Point]:
    """Points from JSON objects or dict reprs printed one per line on stdout.

    The step is the object's own (``step``, ``global_step``, ...); a record without one that follows
    records that had one is placed at the step of the record before it (an epoch's evaluation printed
    after that epoch's steps belongs there, not at step ``epoch``: issue 15 item 8), or the next step
    when the record before it had none either; else its
    ``epoch`` when every epoch printed is a whole number; else the object's position in the output,
    which keeps train and evaluation records in the order they happened when epochs are fractional
    (HF ``Trainer``).  Summary-only records at the end (:func:`summary_records`) are not points of a
    curve: :func:`read_stdout_summary` reads them."""
    points: list[Point] = []
    objects = _stdout_objects(run_dir)
    objects = objects[: len(objects) - summary_records(objects)]
    epochs = [_number(o[EPOCH_KEY]) for o in objects if EPOCH_KEY in o]
    parser = StdoutRecords(whole_epochs=all(_whole(e) for e in epochs))
    for obj in objects:
        parser.add(obj, points)
    return points


def read_stdout_summary(run_dir: Path) -> dict[str, Any]:
    """The values of the summary-only records at the end of stdout (later ones win)."""
    objects = _stdout_objects(run_dir)
    n = summary_records(objects)
    out: dict[str, Any] = {}
    for obj in objects[len(objects) - n:] if n else []:
        out.update({k: v for k, v in obj.items() if k not in STEP_KEYS})
    return out


def _whole(epoch: float | None) -> bool:
    return epoch is not None and math.isfinite(epoch) and epoch == int(epoch)


class StdoutRecords:
    """Steps and points of stdout records, one record at a time (see :func:`read_stdout_metrics`).

    ``whole_epochs`` says whether every epoch printed is a whole number; reading live, that is only
    known so far: :attr:`whole_epochs` turns false at the first fractional epoch."""

    def __init__(self, whole_epochs: bool = True) -> None:
        self.whole_epochs = whole_epochs
        self.position = 0
        self.auto = 0
        self.stepped = False
        """Some record so far carried a step (``step``, ``global_step`` ...)."""
        self.previous: int | None = None
        """The step of the previous record when it carried it itself."""

    def add(self, obj: dict[str, Any], points: list[Point]) -> None:
        if EPOCH_KEY in obj and not _whole(_number(obj[EPOCH_KEY])):
            self.whole_epochs = False
        step = next((s for s in (_step(obj.get(k)) for k in STEP_KEYS) if s is not None), None)
        explicit = step is not None
        if step is None and self.stepped:
            # it follows the steps printed before it (issue 15 item 8): an evaluation printed after an
            # epoch's steps sits at the last of them, the records after it at the next steps
            step = self.previous if self.previous is not None else self.auto
        self.stepped = self.stepped or explicit
        self.previous = step if explicit else None
        if step is None:
            step = _step(obj.get(EPOCH_KEY)) if self.whole_epochs else self.position
        if step is None:
            step = self.auto
        self.auto = min(step + 1, MAX_STEP)
        self.position += 1
        for key, value in obj.items():
            if key in STEP_KEYS:
                continue
            v = _number(value)
            if v is not None:
                points.append((key, step, v, None, "stdout"))


def read_text_metrics(run_dir: Path) -> list[Point]:
    """Points from plain stdout log lines that are not JSON or dict records (``Test set:
    Average loss: 0.0479, Accuracy: 9845/10000``; see :mod:`trialwise.runner._text`)."""
    from trialwise.runner._text import TextRecords

    path = run_dir / F.STDOUT_FILE
    points: list[Point] = []
    if not path.exists():
        return points
    records = TextRecords()
    with path.open(encoding="utf-8", errors="replace", newline="\n") as fh:
        for line in fh:
            line = line.rstrip("\n")
            if parse_stdout_line(line) is None:
                records.add(line.rsplit("\r", 1)[-1], points)
    return points


def csv_log_files(run_dir: Path) -> list[Path]:
    """``metrics.csv`` files a framework logger wrote under ``run_dir`` (sorted)."""
    return sorted(p for p in run_dir.glob(f"**/{CSV_NAME}") if p.is_file())


def read_csv_metrics(run_dir: Path) -> list[Point]:
    """Points from Lightning ``CSVLogger``-style files: one row per logging call, a ``step``
    and/or ``epoch`` column, one column per metric, empty cells where a metric was not logged."""
    points: list[Point] = []
    for path in csv_log_files(run_dir):
        try:
            with path.open(encoding="utf-8", errors="replace", newline="") as fh:
                allow_large_fields()
                reader = csv.DictReader(fh)
                columns = reader.fieldnames or []
                if "step" not in columns and EPOCH_KEY not in columns:
                    continue
                for row in reader:
                    step = _step(row.get("step")) if "step" in columns else _step(row.get(EPOCH_KEY))
                    for key, raw in row.items():
                        if key is None or key == "step" or raw is None or raw == "":
                            continue
                        v = _numeric_string(raw) if isinstance(raw, str) else None
                        if v is not None:
                            points.append((key, step, v, None, "csv"))
        except (OSError, csv.Error):
            continue
    return points


def read_tensorboard_metrics(run_dir: Path) -> list[Point]:
    """Scalar points from TensorBoard event files anywhere under ``run_dir``."""
    files = sorted(run_dir.glob(TB_GLOB))
    if not files:
        return []
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    points: list[Point] = []
    for directory in sorted({f.parent for f in files}):
        acc = EventAccumulator(str(directory), size_guidance=TB_SIZE_GUIDANCE)
        acc.Reload()
        points.extend(accumulator_points(acc))
    return points


TB_SIZE_GUIDANCE = {"scalars": 0, "tensors": 0}
"""EventAccumulator keeps every scalar and tensor event (0 = no sampling; its default keeps 10,000)."""


def accumulator_points(acc: Any, source: str = "tensorboard") -> list[Point]:
    """The scalar points of a loaded TensorBoard ``EventAccumulator``: ``add_scalar`` values and the
    one-number tensors newer writers log scalars as (TF 2 ``tf.summary.scalar``)."""
    points: list[Point] = []
    tags = acc.Tags()
    for tag in tags.get("scalars", []):
        points.extend((tag, e.step, float(e.value), e.wall_time, source) for e in acc.Scalars(tag))
    for tag in tags.get("tensors", []):
        for e in acc.Tensors(tag):
            from tensorboard.util import tensor_util

            arr = tensor_util.make_ndarray(e.tensor_proto)
            if arr.size == 1 and arr.dtype.kind in "fiu":
                points.append((tag, e.step, float(arr.reshape(())), e.wall_time, source))
    return points


@dataclass(frozen=True)
class Ingested:
    """Everything read from a run directory; ``skipped`` counts what was left out, by reason."""

    points: list[Point]
    config: dict[str, Any]
    summary: dict[str, float]
    by_source: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)

    def skipped_note(self) -> str | None:
        """The skipped items in words (stored with the run), or ``None`` when nothing was skipped."""
        if not self.skipped:
            return None
        parts = ", ".join(f"{n} {why}" for why, n in sorted(self.skipped.items()))
        return f"trialwise skipped what it could not store ({parts}); every other value was kept"


MAX_KEY_CHARS = 300
"""Longest metric, summary or config name: the store's ``key`` columns are ``VARCHAR(300)``
(:mod:`trialwise.store._schema`)."""


def key_problem(key: object) -> str | None:
    """Why ``key`` cannot be a stored name (``None`` when it can): not text, not encodable as UTF-8
    (a lone surrogate such as ``"\\ud800"`` from a JSON escape), a NUL (PostgreSQL text refuses it),
    or longer than :data:`MAX_KEY_CHARS`."""
    if not isinstance(key, str):
        return "names that are not text"
    if len(key) > MAX_KEY_CHARS:
        return f"names longer than {MAX_KEY_CHARS} characters"
    if "\x00" in key:
        return "names containing a NUL character"
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        return "names that are not valid Unicode (lone surrogates)"
    return None


def _storable_time(value: object) -> float | None:
    """A point's wall time: a finite number, else ``None`` (the point is kept without it)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        t = float(value)
    except OverflowError:  # an integer beyond float range
        return None
    return t if math.isfinite(t) else None


def storable_points(points: list[Point], skipped: Counter[str]) -> list[Point]:
    """``points`` the store can hold: a valid name, a step within BIGINT, a float value; a time that
    is not a finite number is dropped (the point is kept). Everything else is counted in ``skipped``."""
    verdicts: dict[object, str | None] = {}
    out: list[Point] = []
    for point in points:
        key, step, value, t, src = point
        why = verdicts[key] if key in verdicts else verdicts.setdefault(key, key_problem(key))
        if why is None and step is not None and not (isinstance(step, int) and -MAX_STEP <= step <= MAX_STEP):
            why = "points with a step outside the 64-bit integer range"
        if why is None and not isinstance(value, float):
            why = "values that are not numbers"
        if why is not None:
            skipped[f"metric {why}"] += 1
            continue
        out.append(point if t is None or isinstance(t, float) and math.isfinite(t) else (key, step, value, _storable_time(t), src))
    return out


def _read_object(path: Path, skipped: Counter[str]) -> dict[str, Any]:
    """The JSON object in ``path`` (``{}`` when absent); anything else is counted and ignored."""
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        skipped[f"{path.name} (not a JSON object)"] += 1
        return {}
    return data


def _summary_values(values: dict[str, Any], where: str, skipped: Counter[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in values.items():
        why = key_problem(key)
        number = None if why else _number(value)
        if number is None:
            skipped[f"summary {why}" if why else f"summary values that are not numbers ({where})"] += 1
            continue
        out[key] = number
    return out


def _read_summary(path: Path, skipped: Counter[str]) -> dict[str, float]:
    """``tw.summary`` values: numbers (``null`` is NaN); any other value is counted and left out."""
    return _summary_values(_read_object(path, skipped), path.name, skipped)


def _read_config(path: Path, skipped: Counter[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in _read_object(path, skipped).items():
        why = key_problem(key)
        if why:
            skipped[f"config {why}"] += 1
        else:
            out[key] = value
    return out


def _source(read: Callable[[Path], list[Point]], run_dir: Path, name: str, skipped: Counter[str]) -> list[Point]:
    """One source's points; a source whose reader fails (a corrupt event file) is counted, and the
    other sources are kept."""
    try:
        return read(run_dir)
    except Exception as exc:  # noqa: BLE001 - one unreadable source must not lose the others
        skipped[f"{name} source (unreadable: {type(exc).__name__})"] += 1
        return []


def one_source_per_series(sources: dict[str, list[Point]]) -> dict[str, list[Point]]:
    """Each series from the first source of :data:`SOURCE_PRIORITY` that holds it; placeholder
    series (:data:`PLACEHOLDERS`) dropped."""
    taken: set[str] = set()
    out: dict[str, list[Point]] = {}
    for name in SOURCE_PRIORITY:
        pts = sources.get(name, [])
        keys = {p[0] for p in pts} - taken
        kept = [p for p in pts if p[0] in keys]
        for key, placeholder in PLACEHOLDERS.items():
            if key in keys and all(p[2] == placeholder for p in kept if p[0] == key):
                kept = [p for p in kept if p[0] != key]
        taken |= keys
        out[name] = kept
    return out


def ingest_run_dir(run_dir: Path) -> Ingested:
    """Read all metric sources, the recorded config and the explicit summary of a run.

    Never raises on what the files hold: an item the store cannot hold (a bad name, a step beyond
    64 bits, a non-numeric summary value, a line nested too deeply to parse, a corrupt source) is
    left out and counted in :attr:`Ingested.skipped`; every other value is kept."""
    skipped: Counter[str] = Counter()
    sources = one_source_per_series({
        name: storable_points(_source(read, run_dir, name, skipped), skipped)
        for name, read in (
            ("api", lambda d: read_api_metrics(d, skipped)),
            ("stdout", read_stdout_metrics),
            ("tensorboard", read_tensorboard_metrics),
            ("csv", read_csv_metrics),
            ("text", read_text_metrics),
        )
    })
    points = [p for pts in sources.values() for p in pts]
    summary = _summary_values(read_stdout_summary(run_dir), "stdout summary records", skipped)
    summary.update(_read_summary(run_dir / F.SUMMARY_FILE, skipped))  # tw.summary wins
    config = _read_config(run_dir / F.CONFIG_FILE, skipped)
    return Ingested(points, config, summary, {k: len(v) for k, v in sources.items()}, dict(skipped))


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
