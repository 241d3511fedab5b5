"""``trialwise import mlflow --tracking-uri URI --experiment NAME``: the runs of an MLflow experiment.

Read through MLflow's own client (``MlflowClient``): each active run's params, tags, status, start
and end, the git commit MLflow recorded (the ``mlflow.source.git.commit`` tag), and the whole
history of every metric (``get_metric_history``: every step with its timestamp). Runs still
running (or scheduled) are skipped with a note: import them once they end.

The tracking store is only read. A SQLite database or a ``file:`` store that does not exist is an
error (MLflow's client would create an empty one); an HTTP server that does not answer is an error
after :data:`HTTP_RETRIES` retries instead of MLflow's default of minutes of back-off.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from trialwise._exceptions import UsageError
from trialwise.importers._model import ImportedRun, SourceRead, parse_value
from trialwise.runner._ingest import Point
from trialwise.store._store import display_url

SOURCE = "mlflow"

COMMIT_TAG = "mlflow.source.git.commit"
"""The tag MLflow records a run's git commit in (``mlflow.utils.mlflow_tags.MLFLOW_GIT_COMMIT``)."""

STATUSES = {"FINISHED": "completed", "FAILED": "failed", "KILLED": "killed"}
"""MLflow run statuses (``mlflow.entities.RunStatus``) that end a run → trialwise statuses;
``RUNNING`` and ``SCHEDULED`` runs have not ended and are not imported."""

PAGE_SIZE = 1000
"""Runs fetched per ``search_runs`` call (MLflow's largest page for most stores is 50,000)."""

HTTP_RETRIES = 2
HTTP_BACKOFF = 1
HTTP_TIMEOUT_S = 30
"""Retries, back-off factor and timeout of the import's HTTP requests unless the user set MLflow's own
``MLFLOW_HTTP_REQUEST_MAX_RETRIES`` / ``_BACKOFF_FACTOR`` / ``_TIMEOUT`` (MLflow's defaults, 7 retries
with a factor of 2, keep a command waiting for minutes on a server that is down)."""

MS = 1000.0
"""MLflow times are milliseconds since the epoch; trialwise's are seconds."""

HOSTED = ("databricks", "databricks-uc", "uc")
"""Tracking URIs that name a hosted service rather than a path (``mlflow.set_tracking_uri("databricks")``)."""


@contextmanager
def _http_defaults() -> Iterator[None]:
    """MLflow's HTTP settings for the import, unless the user set them; restored afterwards."""
    wanted = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": HTTP_RETRIES, "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": HTTP_BACKOFF,
              "MLFLOW_HTTP_REQUEST_TIMEOUT": HTTP_TIMEOUT_S}
    added = [k for k in wanted if k not in os.environ]
    for k in added:
        os.environ[k] = str(wanted[k])
    try:
        yield
    finally:
        for k in added:
            os.environ.pop(k, None)


def normalize_uri(uri: str) -> str:
    """``uri`` with a relative SQLite or file path made absolute (the same store, however it is named)
    and checked to exist: MLflow would create an empty store at a mistyped path."""
    parsed = urlparse(uri)
    if uri.split(":", 1)[0] in HOSTED:
        return uri
    if uri.startswith("sqlite:///"):
        raw = uri[len("sqlite:///"):].split("?", 1)[0]
        path = Path(raw).expanduser()
        if not path.is_file():
            raise UsageError(f"no MLflow tracking database at {path} (from --tracking-uri {uri}); give the "
                             "sqlite:///PATH your runs were logged to (mlflow.set_tracking_uri)")
        return "sqlite:///" + str(path.resolve()) + (uri[len("sqlite:///") + len(raw):])
    if parsed.scheme in ("", "file"):
        path = Path(parsed.path if parsed.scheme == "file" else uri).expanduser()
        if not path.is_dir():
            raise UsageError(f"no MLflow file store at {path} (from --tracking-uri {uri}); give the mlruns "
                             "directory your runs were logged to")
        return path.resolve().as_uri()
    return uri


def read_mlflow(tracking_uri: str, experiment: str) -> SourceRead:
    """Every run of the MLflow experiment named ``experiment`` (or with that id) at ``tracking_uri``.

    Raises
    ------
    UsageError
        MLflow is not installed, the store does not exist or does not answer, no such experiment.
    """
    try:
        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient
    except ModuleNotFoundError:
        raise UsageError("importing from MLflow needs the mlflow package: pip install mlflow") from None
    uri = normalize_uri(tracking_uri)
    shown = display_url(uri)
    with _http_defaults():
        try:
            client = MlflowClient(tracking_uri=uri)
            exp = _experiment(client, experiment, shown)
            runs, notes = _runs(client, exp.experiment_id)
        except MlflowException as exc:
            raise UsageError(f"the MLflow tracking store at {shown} could not be read: {_first_line(exc)}. Check "
                             "--tracking-uri (and that the server is up: mlflow server ...)") from None
        except OSError as exc:  # requests' ConnectionError is an OSError
            raise UsageError(f"the MLflow tracking server at {shown} does not answer ({type(exc).__name__}: "
                             f"{_first_line(exc)}); check --tracking-uri and that the server is up") from None
    return SourceRead(SOURCE, f"{shown} experiment {exp.name}", exp.name, tuple(runs), tuple(notes))


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "message", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _experiment(client: Any, token: str, shown: str) -> Any:
    exp = client.get_experiment_by_name(token)
    if exp is None and token.isdigit():
        try:
            exp = client.get_experiment(token)
        except Exception:  # noqa: BLE001 - MLflow raises its own error for an unknown id: same message below
            exp = None
    if exp is None:
        names = sorted(e.name for e in client.search_experiments())
        raise UsageError(f"no MLflow experiment named {token!r} at {shown}; it has: {', '.join(names) or 'none'}")
    return exp


def _runs(client: Any, experiment_id: str) -> tuple[list[ImportedRun], list[str]]:
    runs: list[ImportedRun] = []
    unfinished: list[str] = []
    token = None
    while True:
        page = client.search_runs([experiment_id], max_results=PAGE_SIZE, page_token=token,
                                  order_by=["attributes.start_time ASC"])
        for run in page:
            info = run.info
            status = STATUSES.get(info.status)
            if status is None:
                unfinished.append(info.run_name or info.run_id)
                continue
            runs.append(_run(client, run, status))
        token = page.token
        if not token:
            break
    notes = [f"{len(unfinished)} run(s) not finished (running or scheduled) were not imported: "
             f"{', '.join(unfinished)}; import again once they end"] if unfinished else []
    return runs, notes


def _run(client: Any, run: Any, status: str) -> ImportedRun:
    info, data = run.info, run.data
    points: list[Point] = []
    for key in sorted(data.metrics):
        for m in client.get_metric_history(info.run_id, key):
            points.append((key, int(m.step), float(m.value), m.timestamp / MS, SOURCE))
    tags = {k: str(v) for k, v in data.tags.items()}
    if info.run_name:
        tags.setdefault("run_name", info.run_name)
    return ImportedRun(
        SOURCE, info.run_id, info.run_name or info.run_id, {k: parse_value(v) for k, v in data.params.items()},
        tuple(points), status=status, started_at=info.start_time / MS if info.start_time else None,
        ended_at=info.end_time / MS if info.end_time else None, tags=tags, commit=tags.get(COMMIT_TAG),
        user=info.user_id or None,
    )
