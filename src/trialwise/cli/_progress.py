"""Progress of an experiment's runs: a Rich live display on a terminal (done/failed counts, ETA, each
run's last metric), one plain line per finished run elsewhere (CI logs, pipes)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rich.console import Group
from rich.live import Live
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from trialwise.api import _files as F
from trialwise.runner import Observer, Task, TaskResult
from trialwise.runner._ingest import tail_last_json

LIVE_METRICS_SHOWN = 3
"""Metric values shown per running run."""


class RichProgress(Observer):
    """An observer that renders a progress bar and a table of running seeds."""

    def __init__(self, total: int, title: str, metric: str, console: Any) -> None:
        self.total = total
        self.metric = metric
        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[failed]} failed"), TimeElapsedColumn(), TimeRemainingColumn(),
        )
        self.task_id = self.progress.add_task(title, total=total, failed=0)
        self.running: dict[str, tuple[Task, float]] = {}
        self.failed = 0
        self.live = Live(self._render(), console=console, refresh_per_second=4, transient=False)

    def __enter__(self) -> RichProgress:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.live.update(self._render())
        self.live.__exit__(*exc)

    def _render(self) -> Group:
        table = Table(box=None, show_header=bool(self.running), pad_edge=False)
        table.add_column("seed")
        table.add_column("run")
        table.add_column("elapsed")
        table.add_column("last logged")
        for task, start in list(self.running.values()):
            last = tail_last_json(Path(task.run_dir) / F.METRICS_FILE) or tail_last_json(Path(task.run_dir) / F.STDOUT_FILE) or {}
            keys = ([self.metric] if self.metric in last else []) + [k for k in last if k != self.metric]
            shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, (int, float)) else f"{k}={v}" for k, v in
                              ((k, last[k]) for k in keys[:LIVE_METRICS_SHOWN]))
            table.add_row(str(task.seed), task.run_id, f"{time.time() - start:.0f}s", shown)
        return Group(self.progress, table)

    def started(self, task: Task, pid: int | None) -> None:
        self.running[task.run_id] = (task, time.time())

    def finished(self, task: Task, result: TaskResult) -> None:
        self.running.pop(task.run_id, None)
        if result.status != "completed":
            self.failed += 1
        self.progress.update(self.task_id, advance=1, failed=self.failed)
        self.live.update(self._render())

    def reused(self, seed: int, run_id: str) -> None:
        self.progress.update(self.task_id, advance=1)
        self.live.update(self._render())

    def tick(self) -> None:
        self.live.update(self._render())

    def note(self, text: str) -> None:
        self.live.console.print(f"[yellow]note:[/] {escape(text)}")


class PlainProgress(Observer):
    """One line per run that ends (or is reused), for output that is not a terminal."""

    def __init__(self, total: int, title: str, console: Any) -> None:
        self.total, self.title, self.console = total, title, console
        self.done = 0
        self.failed = 0
        self.starts: dict[str, float] = {}

    def __enter__(self) -> PlainProgress:
        self.console.print(f"{self.title}: {self.total} seed(s)", highlight=False)
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def started(self, task: Task, pid: int | None) -> None:
        self.starts[task.run_id] = time.time()

    def finished(self, task: Task, result: TaskResult) -> None:
        self.done += 1
        self.failed += result.status != "completed"
        took = time.time() - self.starts.pop(task.run_id, time.time())
        self.console.print(f"  seed {task.seed} ({task.run_id}): {result.status} in {took:.1f}s "
                           f"[{self.done}/{self.total}, {self.failed} failed]", highlight=False)

    def reused(self, seed: int, run_id: str) -> None:
        self.done += 1
        self.console.print(f"  seed {seed}: reused {run_id} [{self.done}/{self.total}]", highlight=False, markup=False)

    def note(self, text: str) -> None:
        self.console.print(f"  note: {text}", highlight=False, markup=False)
