"""The store: SQLAlchemy Core over SQLite (default) or PostgreSQL, with Alembic migrations."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from trialwise.store._records import RUN_STATUSES, TERMINAL_STATUSES, Experiment, Run

if TYPE_CHECKING:
    from trialwise.store._store import Store

STORE_ENV = "TRIALWISE_STORE"
"""Environment variable with the store URL (set by the runner for its children)."""


def resolve_store_url(root: str | Path, url: str) -> str:
    """Make a relative SQLite path absolute under the repository ``root``."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        rel = url[len("sqlite:///"):]
        if rel and rel != ":memory:" and not os.path.isabs(rel):
            return "sqlite:///" + str((Path(root) / rel).resolve())
    return url


def connect(url: str) -> Store:
    """Open the store at ``url`` (migrating it to the newest schema)."""
    from trialwise.store._store import Store

    return Store(url)


def open_store(path: str | Path = ".", url: str | None = None) -> Store:
    """Open the store of the repository containing ``path`` (or ``url``), for notebooks.

    The returned store has ``experiments_df()``, ``runs_df(exp)`` and ``metrics_df(exp)`` that give
    pandas DataFrames.
    """
    if url is None:
        url = os.environ.get(STORE_ENV)
    if url is None:
        from trialwise._exceptions import GitError
        from trialwise.provenance import repo_root
        from trialwise.settings import load_config

        try:
            root = repo_root(path)
        except GitError:
            root = Path(path).resolve()
        url = resolve_store_url(root, load_config(root).store)
    return connect(url)


__all__ = ["RUN_STATUSES", "STORE_ENV", "TERMINAL_STATUSES", "Experiment", "Run", "connect", "open_store", "resolve_store_url"]
