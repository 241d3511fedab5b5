"""Intermediate values while a trial's seeds run, for Optuna's pruners.

Design (issue 7):

- A :class:`PruningBackend` wraps the real backend for one trial.  It sees the trial's tasks (the
  seeds the runner did not reuse), and on every :meth:`~trialwise.runner.Observer.tick` it reads the
  lines each seed appended to its run directory's ``metrics.jsonl`` since the last tick (what
  ``tw.log`` writes; a line still being written is kept for the next tick).
- :class:`IntermediateValues` turns the seeds' points of one metric into one value per *report
  step*: the mean across seeds of each seed's latest value at or before that step.  Report steps are
  a fixed geometric grid (0, 1, 2, 3, 4, 6, 8, 12, 16, 23, 32, ...), the same for every trial whatever
  its logging cadence, so a pruner always compares trials at the same step, and a run logging every
  step costs only a logarithmic number of storage writes.  A step is reported once every seed still
  running has logged past it (seeds that ended are left out), so the mean never changes after it is
  reported.
- When the reporter answers "prune" (Optuna's ``trial.should_prune()``), the backend is stopped: the
  seeds are killed (``killed`` in the store) and the trial becomes ``PRUNED``.

With fewer parallel jobs than seeds, the seeds not yet started hold reports back until they catch
up, so pruning then acts later; seeds reused from the store do not take part.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from trialwise.api import _files as F
from trialwise.runner._backend import Backend, Observer, Task, TaskResult

__all__ = ["REPORT_GRID_RATIO", "IntermediateValues", "MetricsTail", "PruningBackend", "report_steps"]

REPORT_GRID_RATIO = math.sqrt(2.0)
"""Ratio between consecutive report steps (above the first few integers): two reports per doubling
of training length, the resolution of Successive Halving's rungs at reduction factor 2 (Jamieson &
Talwalkar, "Non-stochastic best arm identification and hyperparameter optimization", AISTATS 2016)."""


def report_steps() -> Iterator[int]:
    """The report grid: 0, then ``ceil(ratio^k)`` without repeats (1, 2, 3, 4, 6, 8, 12, 16, 23, ...)."""
    yield 0
    last, k = 0, 0
    while True:
        step = math.ceil(REPORT_GRID_RATIO ** k - 1e-9)
        k += 1
        if step > last:
            last = step
            yield step


def _value(raw: object) -> float | None:
    if raw is None:
        return math.nan
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        return None
    return float(raw)


class MetricsTail:
    """Reads, each call, the complete lines a run appended to its ``metrics.jsonl`` since the last call."""

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / F.METRICS_FILE
        self.offset = 0
        self.partial = b""

    def read(self, key: str) -> list[tuple[int, float]]:
        """New ``(step, value)`` points of ``key`` (``null`` is NaN; lines without steps skipped)."""
        try:
            with self.path.open("rb") as fh:
                fh.seek(self.offset)
                chunk = fh.read()
        except OSError:
            return []
        self.offset += len(chunk)
        lines = (self.partial + chunk).split(b"\n")
        self.partial = lines.pop()
        points: list[tuple[int, float]] = []
        for line in lines:
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if not isinstance(obj, dict):
                continue
            for step, row in zip(obj.get("s", ()), obj.get("m", ())):
                if isinstance(step, int) and isinstance(row, dict) and key in row:
                    v = _value(row[key])
                    if v is not None:
                        points.append((step, v))
        return points


class IntermediateValues:
    """The seed mean of one metric on the report grid, released step by step (pure logic)."""

    def __init__(self, run_ids: Sequence[str]) -> None:
        self.points: dict[str, dict[int, float]] = {r: {} for r in run_ids}
        self.ended: set[str] = set()
        self._grid = report_steps()
        self._next = next(self._grid)

    def add(self, run_id: str, points: Sequence[tuple[int, float]]) -> None:
        self.points.setdefault(run_id, {}).update(points)

    def end(self, run_id: str) -> None:
        """The run ended: later steps no longer wait for it."""
        self.ended.add(run_id)

    def _latest_at(self, run_id: str, step: int) -> float | None:
        steps = [s for s in self.points[run_id] if s <= step]
        return self.points[run_id][max(steps)] if steps else None

    def ready(self) -> list[tuple[int, float]]:
        """Report steps whose value is now final: ``[(step, seed mean)]`` in order, each only once."""
        out: list[tuple[int, float]] = []
        while self.points:
            last = {r: max(p) if p else -1 for r, p in self.points.items()}
            if max(last.values()) < self._next:
                break  # nobody has reached this step yet
            if any(last[r] < self._next and r not in self.ended for r in self.points):
                break  # a running seed has not logged this far yet
            values = [v for v in (self._latest_at(r, self._next) for r in self.points) if v is not None]
            if values:
                out.append((self._next, sum(values) / len(values)))
            self._next = next(self._grid)
        return out


Reporter = Callable[[int, float], bool]
"""``reporter(step, value)`` records an intermediate value and answers whether to prune."""


class PruningBackend(Backend):
    """A backend that reports a trial's intermediate values and stops its seeds when told to prune.

    Parameters
    ----------
    inner : Backend
        The backend that runs the processes (e.g. :class:`~trialwise.runner.LocalBackend`).
    metric : str
        The ``tw.log`` key whose values are reported.
    reporter : callable
        ``reporter(step, value) -> bool``; ``True`` prunes.
    """

    def __init__(self, inner: Backend, metric: str, reporter: Reporter) -> None:
        self.inner = inner
        self.metric = metric
        self.reporter = reporter
        self.interrupted = False
        self.pruned_at: int | None = None
        self.reported: list[tuple[int, float]] = []
        self._tails: dict[str, MetricsTail] = {}
        self._values = IntermediateValues([])

    def stop(self) -> None:
        self.inner.stop()

    def run(self, tasks: Sequence[Task], observer: Observer) -> list[TaskResult]:
        self.pruned_at = None
        self._tails = {t.run_id: MetricsTail(t.run_dir) for t in tasks}
        self._values = IntermediateValues(list(self._tails))
        results = self.inner.run(tasks, _Forward(observer, self))
        self.interrupted = self.inner.interrupted
        return results

    def check(self, ended: str | None = None) -> None:
        """Read new points, report the steps now final, stop the seeds if the reporter says prune."""
        for run_id, tail in self._tails.items():
            self._values.add(run_id, tail.read(self.metric))
        if ended is not None:
            self._values.end(ended)
        if self.pruned_at is not None:
            return
        for step, value in self._values.ready():
            self.reported.append((step, value))
            if self.reporter(step, value):
                self.pruned_at = step
                self.inner.stop()
                return


class _Forward(Observer):
    """Passes events to the caller's observer and lets the pruning backend check on each."""

    def __init__(self, inner: Observer, backend: PruningBackend) -> None:
        self.inner = inner
        self.backend = backend

    def started(self, task: Task, pid: int | None) -> None:
        self.inner.started(task, pid)

    def finished(self, task: Task, result: TaskResult) -> None:
        self.backend.check(ended=task.run_id)
        self.inner.finished(task, result)

    def tick(self) -> None:
        self.backend.check()
        self.inner.tick()
