"""Shared by the store tests: an experiment to hang runs on, and a start line for racing processes."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from trialwise.store import connect
from trialwise.store._records import Experiment
from trialwise.store._store import Store


def experiment(exp_id: str = "e1", **values: Any) -> Experiment:
    """An experiment record with plain defaults (``values`` override them)."""
    fields: dict[str, Any] = dict(
        id=exp_id, name=exp_id, kind="run", commit_sha="x" * 40, ref=None, branch=None, command=[], launch={},
        profile=None, mode=None, metric_name="loss", metric_direction="min", dirty=False, tag=None,
        created_at=time.time())
    return Experiment(**{**fields, **values})


def store_with_experiment(where: str | Path, exp_id: str = "e1") -> tuple[Store, str]:
    """A store (a SQLite file path or any store URL) holding experiment ``exp_id``, and its URL."""
    url = where if isinstance(where, str) else f"sqlite:///{where}"
    store = connect(url)
    store.upsert_experiment(experiment(exp_id))
    return store, url


START_LINE = """
import os, sys, time
def wait_for_start(flag):
    # the racing processes spin on a file the test creates once every one of them is ready
    open(flag + "." + str(os.getpid()), "w").close()
    while not os.path.exists(flag):
        time.sleep(0.001)
"""


def release(procs_ready_dir: Path, flag: Path, n: int, procs: list) -> None:  # noqa: ANN001
    """Wait until ``n`` processes announced themselves next to ``flag``, then let them all go."""
    while len(list(procs_ready_dir.glob(flag.name + ".*"))) < n:
        if any(p.poll() is not None for p in procs):
            break
        time.sleep(0.01)
    flag.write_text("go")
