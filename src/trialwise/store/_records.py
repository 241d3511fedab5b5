"""Domain records the store returns (frozen: a stored fact does not change under your hands)."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

RUN_STATUSES = ("running", "completed", "failed", "crashed", "killed", "timeout")
"""Run life cycle.  ``crashed``: the process died from a signal it did not expect (e.g. ``kill -9``,
OOM killer); ``killed``: trialwise stopped it (Ctrl-C); ``failed``: non-zero exit or not started."""

FINISHED_OK = "completed"

TERMINAL_STATUSES = RUN_STATUSES[1:]
"""Statuses a run ends with; :meth:`~trialwise.store._store.Store.set_terminal_status` never overwrites one."""


UNKNOWN_COMMIT = "unknown"
"""``commit_sha`` of an experiment whose code is not known: runs imported from a tool that recorded no
git commit (``trialwise import``). A word, not an id, so it never matches a git ref."""

COMMIT_ID = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")
"""A full git object id: SHA-1 (40 hex digits) or SHA-256 (64) (https://git-scm.com/docs/hash-function-transition)."""


def has_commit(exp: Experiment) -> bool:
    """Whether ``exp`` ran a known git commit (imports without one store :data:`UNKNOWN_COMMIT`;
    predictions imported by ``trialwise errors import`` store ``"imported"``)."""
    return COMMIT_ID.fullmatch(exp.commit_sha or "") is not None


@dataclass(frozen=True)
class Experiment:
    """A group of runs that share commit, command, launch config, profile and mode."""

    id: str
    name: str
    kind: str
    commit_sha: str
    ref: str | None
    branch: str | None
    command: list[str]
    launch: dict[str, Any]
    profile: str | None
    mode: str | None
    metric_name: str | None
    metric_direction: str | None
    dirty: bool
    tag: str | None
    created_at: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Run:
    """One seed of an experiment."""

    id: str
    experiment_id: str
    seed: int
    status: str
    exit_code: int | None
    started_at: float | None
    ended_at: float | None
    host: str | None
    user: str | None
    pid: int | None
    run_dir: str | None
    command: list[str]
    env_hash: str | None
    metric_version: str | None
    metric_files: dict[str, str]
    dirty: bool
    error: str | None
    reused_from: str | None
    summary: dict[str, float] = field(default_factory=dict)

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.started_at

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def loads(text: str | None, default: Any) -> Any:
    return default if text in (None, "") else json.loads(text)
