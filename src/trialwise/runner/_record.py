"""Turn a finished run directory into store rows; shared by the runner, standalone runs and
recovery of runs whose supervisor died."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable
from pathlib import Path

from trialwise._exceptions import StoreError
from trialwise.api import _files as F
from trialwise.provenance._git import pid_alive
from trialwise.settings import MetricConfig
from trialwise.runner._ingest import Ingested, ingest_run_dir, summarize
from trialwise.runner._live import LiveRun, finalize
from trialwise.store._store import Store

MISSING_PATH_RE = re.compile(r"(?:No such file or directory|FileNotFoundError)[^'\"]*['\"]([^'\"]+)['\"]")
"""Finds the path in Python's and the C library's "file not found" messages."""

STDERR_TAIL_BYTES = 4000
"""How much of stderr is kept in the run's ``error`` field."""


def read_tail(path: Path, n: int = STDERR_TAIL_BYTES) -> str:
    try:
        data = path.read_bytes()
    except OSError:
        return ""
    return data[-n:].decode("utf-8", errors="replace")


def record_run(store: Store, run_id: str, run_dir: Path, metric: MetricConfig, *, status: str,
               exit_code: int | None, ended_at: float | None = None, error: str | None = None,
               close: bool = True, live: LiveRun | None = None) -> dict[str, float]:
    """Ingest ``run_dir`` into the store and close the run with ``status`` (never over a terminal
    status another process wrote first; with ``close=False`` the caller has closed it); returns its
    summary.  With ``live``, the points stored while the run went are completed, never duplicated.

    Whatever the run's files hold, the run gets its terminal status: an item that cannot be stored
    is skipped and named in the run's ``error`` field (:meth:`Ingested.skipped_note`), a step that
    fails (parameters, predictions) is named there too, and every other value is kept."""
    notes: list[str] = []
    try:
        data = ingest_run_dir(run_dir)
        read = True
    except Exception as exc:  # noqa: BLE001 - the run's status must be recorded whatever its files hold
        data = Ingested([], {}, {})
        read = False
        notes.append(f"trialwise could not read this run's metrics ({type(exc).__name__}: {exc}); its files are in {run_dir}")
    if data.skipped_note():
        notes.append(f"{data.skipped_note()} (files in {run_dir})")

    def attempt(what: str, action: Callable[[], object]) -> None:
        try:
            action()
        except StoreError:
            raise  # the store itself is failing: nothing more can be recorded now
        except Exception as exc:  # noqa: BLE001 - one part that cannot be stored must not lose the rest
            notes.append(f"trialwise could not store {what} ({type(exc).__name__}: {exc})")

    if read:  # an unreadable run keeps whatever was stored of it live
        def metrics() -> None:
            extra_notes, kept = finalize(store, run_id, data.points, live)
            store.compact_metrics(run_id)  # the chunks stored live, one per key and poll, become one per key
            notes.extend(extra_notes)
            data.points.extend(kept)  # points kept from live ingestion count in the summary

        attempt("the metrics", metrics)
    if data.config:
        attempt("the config", lambda: store.set_params(run_id, data.config))
    summary = summarize(data.points, data.summary, metric.name, metric.summary, metric.direction)

    def predictions() -> None:
        if (run_dir / F.PREDICTIONS_DIR).is_dir():  # trialwise.errors loads numpy and more: only when needed
            from trialwise.errors._store import register_predictions

            register_predictions(store, run_id, run_dir)

    attempt("the predictions", predictions)
    attempt("the summary", lambda: store.set_summary(run_id, summary))
    tail = read_tail(run_dir / F.STDERR_FILE) if status != "completed" else ""
    error = "\n".join(part for part in (error, *notes, tail) if part) or None
    if close:
        store.set_terminal_status(run_id, status, exit_code=exit_code, ended_at=ended_at or time.time(), error=error)
    elif error:
        store.update_run(run_id, error=error)
    return summary


def missing_ignored_path_hint(stderr: str, worktree: Path, workdir: str, root: Path, linked: list[str]) -> str | None:
    """If the script failed on a path that exists in the main checkout but not in the worktree
    (datasets are usually git-ignored, so not part of the commit), say how to link it."""
    cwd = worktree / workdir
    for match in MISSING_PATH_RE.finditer(stderr):
        raw = Path(match.group(1))
        try:
            in_tree = (raw if raw.is_absolute() else (cwd / raw)).resolve().relative_to(worktree.resolve())
        except ValueError:
            continue
        if not in_tree.parts or not (root / in_tree).exists():
            continue
        top = in_tree.parts[0]
        if top not in linked:
            return (
                f"the script needs '{match.group(1)}', which exists in your checkout but not in the "
                f"run's worktree (git-ignored files are not part of the commit). Add it to "
                f'trialwise.toml: [worktree] link = ["{top}"], or commit it.'
            )
    return None




STALE_RUN_ERROR = "its process ended without reporting (runner or script killed)"


def recover_stale_runs(store: Store, metric: MetricConfig) -> list[str]:
    """Runs still ``running`` on this host whose process is gone: ingest them and mark ``crashed``."""
    host = socket.gethostname()
    recovered = []
    for run in store.runs(status="running"):
        if run.host != host or run.pid is None or pid_alive(run.pid) or not run.run_dir:
            continue
        # claim it first: of several commands recovering at once (or a runner closing it late), one wins
        if not store.set_terminal_status(run.id, "crashed", ended_at=time.time(), error=STALE_RUN_ERROR):
            continue
        record_run(store, run.id, Path(run.run_dir), metric, status="crashed", exit_code=None, close=False,
                   error=STALE_RUN_ERROR)
        recovered.append(run.id)
    return recovered
