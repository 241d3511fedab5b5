"""What every importer reads a source into: plain records, before any grouping or storing."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from trialwise.runner._ingest import Point

SOURCES = ("tensorboard", "mlflow", "wandb", "csv")
"""The tools runs are imported from; each is also the ``source`` of the metric points it gives."""


@dataclass(frozen=True)
class ImportedRun:
    """One run as another tool recorded it.

    ``source_id`` is the source's own identity of the run (an MLflow run id, a TensorBoard run
    directory, a W&B run id, a CSV file and run name): the stored run's id is derived from it, so
    importing the same run twice finds it stored. ``status`` is one of trialwise's terminal statuses;
    ``summary`` holds only values the source recorded as final (W&B's summary): the last value of
    every series is added when the run is stored. ``commit`` is the git commit the source recorded,
    if any; ``tags`` are the source's labels (``--group-by tag:NAME`` reads them)."""

    source: str
    source_id: str
    name: str
    params: dict[str, Any]
    points: tuple[Point, ...]
    status: str = "completed"
    started_at: float | None = None
    ended_at: float | None = None
    tags: dict[str, str] = field(default_factory=dict)
    summary: dict[str, float] = field(default_factory=dict)
    commit: str | None = None
    host: str | None = None
    user: str | None = None
    exit_code: int | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "source_id": self.source_id, "name": self.name, "params": self.params,
                "tags": self.tags, "status": self.status, "points": len(self.points), "commit": self.commit}


@dataclass(frozen=True)
class SourceRead:
    """Everything read from one place: its runs, and notes about what was read as it was or skipped.

    ``where`` names the place for people and for the provenance (``imported from <source> <where>``);
    ``prefix`` starts the name of each experiment made from it (a project, an experiment, a folder)."""

    source: str
    where: str
    prefix: str
    runs: tuple[ImportedRun, ...]
    notes: tuple[str, ...] = ()


def parse_value(value: Any) -> Any:
    """A param as the source gave it, with numbers and booleans recovered from text (MLflow, CSV and
    HParams store every param as a string): ``"0.01"`` → 0.01, ``"3"`` → 3, ``"true"`` → True."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            continue
    return value


def number(value: Any) -> float | None:
    """A metric value: a number (``bool`` as 0/1) or numeric text such as ``'nan'``; else ``None``."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def shown(value: Any) -> str:
    """A param value as it appears in an experiment's name: text as it is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)
