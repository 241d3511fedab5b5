"""Live ingestion: a running run's metrics reach the store within seconds, each point once.

Every :data:`LIVE_INTERVAL_S` the runner reads what each running run appended since the last read
(byte offsets into ``metrics.jsonl`` and ``stdout.log``, TensorBoard's resumable event loader per
event file, rows past the last one read in each ``metrics.csv``) and appends the new points to the
store.  TensorBoard and CSV logs are looked for in the run's worktree too, where frameworks write
them while the run goes.

When the run ends, :func:`finalize` compares the complete read of the run (the one ingestion at the
end alone would store) with what was stored live, source by source: when the live points are all in
it (the usual case) only the missing ones are added; otherwise (a series now taken from another
source, a placeholder dropped, steps re-assigned once fractional epochs appeared) the source is
replaced in one transaction.  Either way the stored content equals the complete read, and no point
is ever stored twice.  A runner killed mid-run leaves the live points in the store; the run's later
recovery replaces each source with the complete read of its files.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from trialwise._csvfields import allow_large_fields
from trialwise.api import _files as F
from trialwise.runner._ingest import (
    CSV_NAME,
    SOURCE_PRIORITY,
    Point,
    StdoutRecords,
    _numeric_string,
    _step,
    api_line_points,
    parse_stdout_line,
    storable_points,
)
from trialwise.runner._text import TextRecords
from trialwise.store._store import Store

LIVE_INTERVAL_S = 2.0
"""How often running runs are read into the store (issue 12: "within a few seconds")."""

LIVE_INTERVAL_ENV = "TRIALWISE_LIVE_INTERVAL"
"""Overrides :data:`LIVE_INTERVAL_S` (seconds); ``0`` turns live ingestion off (the end reads all)."""


def live_interval() -> float:
    """The live-ingestion interval in seconds (0: off)."""
    import os

    try:
        return max(0.0, float(os.environ.get(LIVE_INTERVAL_ENV, LIVE_INTERVAL_S)))
    except ValueError:
        return LIVE_INTERVAL_S

MAX_READ_BYTES = 64 * 1024 * 1024
"""Most bytes read from one file per pass, so one huge burst never stalls the runner's loop."""


class _Tail:
    """Complete lines appended to a file since the last read (a partial last line waits)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def lines(self) -> list[str]:
        try:
            with self.path.open("rb") as fh:
                fh.seek(self.offset)
                chunk = fh.read(MAX_READ_BYTES)
        except OSError:
            return []
        end = chunk.rfind(b"\n")
        if end < 0:
            return []
        self.offset += end + 1
        return chunk[: end + 1].decode("utf-8", errors="replace").split("\n")[:-1]


def _tb_points(path: Path, loader: Any) -> list[Point]:
    from tensorboard.util import tensor_util

    points: list[Point] = []
    try:
        for event in loader.Load():
            if not event.HasField("summary"):
                continue
            for value in event.summary.value:
                if value.HasField("simple_value"):
                    points.append((value.tag, int(event.step), float(value.simple_value), event.wall_time, "tensorboard"))
                elif value.HasField("tensor"):
                    try:
                        arr = tensor_util.make_ndarray(value.tensor)
                    except (ValueError, TypeError):
                        continue
                    if arr.size == 1 and arr.dtype.kind in "fiu":
                        points.append((value.tag, int(event.step), float(arr.reshape(())), event.wall_time, "tensorboard"))
    except Exception:  # noqa: BLE001 - a file being written may end mid-record; read it next time
        pass
    return points


class LiveRun:
    """The incremental reader of one running run (``run_dir`` and, while it runs, its worktree)."""

    def __init__(self, run_id: str, run_dir: Path, workdirs: Sequence[Path] = ()) -> None:
        self.run_id = run_id
        self.run_dir = run_dir
        self.workdirs = list(workdirs)
        self.api = _Tail(run_dir / F.METRICS_FILE)
        self.stdout = _Tail(run_dir / F.STDOUT_FILE)
        self.records = StdoutRecords()
        self.text = TextRecords()
        self.tb: dict[Path, Any] = {}
        self.csv_rows: dict[Path, tuple[list[str], int]] = {}
        self.stored: Counter[tuple[Any, ...]] = Counter()
        self.latest: dict[str, tuple[int | None, float]] = {}

    def _roots(self) -> list[Path]:
        return [self.run_dir, *self.workdirs]

    def _read_csv(self, path: Path) -> list[Point]:
        import csv

        header, done = self.csv_rows.get(path, ([], 0))
        points: list[Point] = []
        try:
            with path.open(encoding="utf-8", errors="replace", newline="") as fh:
                allow_large_fields()
                rows = list(csv.reader(fh))
        except (OSError, csv.Error):
            return points
        if not rows:
            return points
        if rows[0] != header:  # a new column: the logger rewrote the file; read it whole again
            header, done = rows[0], 0
        if "step" not in header and "epoch" not in header:
            return points
        complete = rows[1:] if rows[-1] and len(rows[-1]) == len(header) else rows[1:-1]
        for row in complete[done:]:
            record = dict(zip(header, row))
            step = _step(record.get("step")) if "step" in header else _step(record.get("epoch"))
            for key, raw in record.items():
                if key == "step" or raw == "":
                    continue
                v = _numeric_string(raw)
                if v is not None:
                    points.append((key, step, v, None, "csv"))
        self.csv_rows[path] = (header, len(complete))
        return points

    def poll(self) -> list[Point]:
        """Points appended since the last poll."""
        points: list[Point] = []
        for line in self.api.lines():
            api_line_points(line, points)
        for line in self.stdout.lines():
            obj = parse_stdout_line(line)
            if obj is not None:
                self.records.add(obj, points)
            else:
                self.text.add(line.rsplit("\r", 1)[-1], points)
        events, csvs = _log_files(self._roots())
        for path in events:
            if path not in self.tb:
                from tensorboard.backend.event_processing.event_file_loader import LegacyEventFileLoader

                self.tb[path] = LegacyEventFileLoader(str(path))
            points += _tb_points(path, self.tb[path])
        for path in csvs:
            points += self._read_csv(path)
        # what the store cannot hold (a lone-surrogate name, a step beyond 64 bits) is left out here
        # as in the final read, which counts it in the run's note
        points = storable_points(points, Counter())
        for key, step, value, _t, _src in points:
            self.latest[key] = (step, value)
        return points

    def ingest(self, store: Store) -> int:
        """Read and store the new points; returns how many."""
        points = self.poll()
        if points:
            store.add_metrics(self.run_id, points)
            self.stored.update(_norm(p) for p in points)
        return len(points)


TB_PREFIX = "events.out.tfevents."


def _log_files(roots: Sequence[Path]) -> tuple[list[Path], list[Path]]:
    """TensorBoard event files and ``metrics.csv`` files under ``roots``, in one walk each that
    follows no symbolic link (linked datasets) and skips ``.git``."""
    import os

    events: list[Path] = []
    csvs: list[Path] = []
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            dirnames[:] = [d for d in dirnames if d != ".git"]
            for name in filenames:
                if name.startswith(TB_PREFIX):
                    events.append(Path(dirpath) / name)
                elif name == CSV_NAME:
                    csvs.append(Path(dirpath) / name)
    return sorted(events), sorted(csvs)


def _norm(p: Point) -> tuple[Any, ...]:
    """A point as a hashable key that equals itself when its value is NaN (NaN != NaN)."""
    key, step, value, t, src = p
    return (key, step, None if math.isnan(value) else value, t, src)


def finalize(store: Store, run_id: str, points: Iterable[Point], live: LiveRun | None) -> tuple[list[str], list[Point]]:
    """Make the stored points of ``run_id`` equal ``points`` (the complete read), adding only what
    live ingestion did not store when its points are all part of it, else replacing the source.

    Without ``live`` (a run recovered by a later command), each source found in the files is
    replaced by what they hold and a source with no file left keeps its stored points: a recovery
    never loses a point that was ingested live.  Likewise with ``live``, a source whose files are
    gone by the end (a script that deleted its ``metrics.jsonl`` or TensorBoard logs) keeps what was
    stored live.  Returns notes for the run (what was kept that way) and the points so kept (they
    count in the run's summary as if they had been read)."""
    notes: list[str] = []
    kept: list[Point] = []
    by_source: dict[str, list[Point]] = {s: [] for s in SOURCE_PRIORITY}
    for p in points:
        by_source.setdefault(p[4], []).append(p)
    stored = live.stored if live is not None else None
    for source, final in by_source.items():
        if stored is None:
            # no record of what is stored (a recovery): a source read from files replaces what is
            # stored of it; a source with no file left (a lost worktree's logs) keeps what is stored
            if final:
                store.replace_metrics(run_id, source, final)
            continue
        have = Counter({k: n for k, n in stored.items() if k[4] == source})
        if not have:
            if final:
                store.add_metrics(run_id, final)
            continue
        if not final:
            notes.append(f"the {source} files of this run were gone when it ended; the {sum(have.values())} "
                         "points read from them while it ran are kept")
            kept += [(k, st, math.nan if v is None else v, t, src) for (k, st, v, t, src), n in have.items()
                     for _ in range(n)]
            continue
        want = Counter(_norm(p) for p in final)
        if have - want:  # something stored live is not in the complete read
            store.replace_metrics(run_id, source, final)
            continue
        missing = []
        for p in final:
            k = _norm(p)
            if have[k] > 0:
                have[k] -= 1
            else:
                missing.append(p)
        if missing:
            store.add_metrics(run_id, missing)
    return notes, kept

