"""Progress of an experiment's runs: a Rich live display on a terminal (done/failed counts, ETA, each
run's last metric), one plain line per finished run elsewhere (CI logs, pipes)."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Group
from rich.table import Table

from trialwise.cli._common import esc
from trialwise.runner import Observer, Task, TaskResult

LIVE_METRICS_SHOWN = 3
"""Metric values shown per running run."""

PLAIN_PROGRESS_S = 30.0
"""Seconds between two plain progress lines of one running run (CI logs stay readable)."""


def latest_text(latest: dict[str, tuple[int | None, float]], metric: str) -> str:
    """``val_acc 0.912 @ step 120, loss 0.31`` from the latest stored points of a run."""
    keys = ([metric] if metric in latest else []) + sorted(k for k in latest if k != metric)
    parts = []
    for k in keys[:LIVE_METRICS_SHOWN]:
        step, value = latest[k]
        parts.append(f"{k} {value:.4g}" + (f" @ step {step}" if k == keys[0] and step is not None else ""))
    return ", ".join(parts)


class RichProgress(Observer):
    """An observer that renders a progress bar and a table of running seeds."""

    def __init__(self, total: int, title: str, metric: str, console: Any) -> None:
        # imported here: off a terminal (CI, a pipe) the plain observer is used and they are not needed
        from rich.live import Live
        from rich.progress import (
            BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn,
        )

        self.total = total
        self.metric = metric
        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[failed]} failed"), TimeElapsedColumn(), TimeRemainingColumn(),
        )
        self.task_id = self.progress.add_task(esc(title), total=total, failed=0)  # the description is markup
        self.running: dict[str, tuple[Task, float]] = {}
        self.latest: dict[str, dict[str, tuple[int | None, float]]] = {}
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
            shown = latest_text(self.latest.get(task.run_id, {}), self.metric)
            table.add_row(str(task.seed), task.run_id, f"{time.time() - start:.0f}s", esc(shown))
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
        self.live.console.print(f"[yellow]note:[/] {esc(text)}")

    def progress(self, run_id: str, latest: dict[str, tuple[int | None, float]]) -> None:
        self.latest[run_id] = latest


class PlainProgress(Observer):
    """One line per run that ends (or is reused), for output that is not a terminal."""

    def __init__(self, total: int, title: str, console: Any, metric: str = "") -> None:
        self.total, self.title, self.console, self.metric = total, title, console, metric
        self.done = 0
        self.failed = 0
        self.starts: dict[str, float] = {}
        self.seeds: dict[str, int] = {}
        self.printed: dict[str, float] = {}

    def __enter__(self) -> PlainProgress:
        self.console.print(f"{self.title}: {self.total} seed(s)", highlight=False, markup=False)
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def started(self, task: Task, pid: int | None) -> None:
        self.starts[task.run_id] = time.time()
        self.seeds[task.run_id] = task.seed
        self.printed[task.run_id] = time.monotonic()

    def progress(self, run_id: str, latest: dict[str, tuple[int | None, float]]) -> None:
        if time.monotonic() - self.printed.get(run_id, 0.0) < PLAIN_PROGRESS_S or run_id not in self.starts:
            return
        self.printed[run_id] = time.monotonic()
        self.console.print(f"  seed {self.seeds.get(run_id, '?')} ({run_id}): {latest_text(latest, self.metric)}",
                           highlight=False, markup=False)

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
