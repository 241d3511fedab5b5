"""The execution backend interface: the local process pool now, a Ray cluster later.

A backend receives fully resolved :class:`Task` objects (argv, cwd, env, run directory) and
reports a :class:`TaskResult` for each; provenance, reuse and ingestion stay in the runner.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Task:
    """One process to run."""

    run_id: str
    seed: int
    argv: list[str]
    cwd: Path
    env: dict[str, str]
    run_dir: Path
    timeout: float | None = None
    gpus: int = 0
    threads: int | None = None
    """CPU threads for the run (``[resources] threads``); ``None``: the backend shares the cores."""


@dataclass(frozen=True)
class TaskResult:
    """How a task ended: ``status`` is one of ``completed failed crashed killed timeout``."""

    run_id: str
    status: str
    exit_code: int | None
    started_at: float | None
    ended_at: float
    error: str | None = None
    pid: int | None = None
    devices: list[str] = field(default_factory=list)


class Observer:
    """Receives progress events; the CLI's Rich display implements it. Methods may be no-ops."""

    def started(self, task: Task, pid: int | None) -> None:
        """``task`` started as process ``pid``."""

    def finished(self, task: Task, result: TaskResult) -> None:
        """``task`` ended."""

    def reused(self, seed: int, run_id: str) -> None:
        """``seed`` is not run: the completed run ``run_id`` is reused."""

    def progress(self, run_id: str, latest: dict[str, tuple[int | None, float]]) -> None:
        """New points of a running run reached the store: ``latest`` maps each series to its last
        ``(step, value)``."""

    def note(self, text: str) -> None:
        """Something the user should read before the runs end (a seed not reused, and why)."""

    def tick(self) -> None:
        """Called about every :data:`~trialwise.runner._local.POLL_INTERVAL_S` while tasks run."""


class Backend(ABC):
    """Runs tasks; must survive a failing task and stop cleanly on :meth:`stop`."""

    interrupted: bool = False
    """Set by :meth:`run` when the user interrupted it (Ctrl-C); the results then say ``killed``."""

    @abstractmethod
    def run(self, tasks: Sequence[Task], observer: Observer) -> list[TaskResult]:
        """Run all ``tasks`` (in parallel where possible) and return their results in order.

        A ``KeyboardInterrupt`` stops every task, sets :attr:`interrupted` and still returns."""

    @abstractmethod
    def stop(self) -> None:
        """Stop every running task (its runs become ``killed``) and start no new one."""
