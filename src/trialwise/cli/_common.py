"""Shared CLI plumbing: locating the repository, opening the store, printing people/JSON output."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console

from trialwise._exceptions import TrialwiseError

console = Console()
err_console = Console(stderr=True)

EXIT_ERROR = 2
"""Exit code for an error trialwise explains (bad input, refused action)."""

JsonOpt = typer.Option(False, "--json", help="Print machine-readable JSON instead of tables.")
ProfileOpt = typer.Option(None, help="Profile from trialwise.toml's \\[profiles.*] (e.g. fast).")
ModeOpt = typer.Option(None, help="Mode from trialwise.toml's \\[modes.*].")

F = TypeVar("F", bound=Callable[..., Any])


def _clean(obj: Any) -> Any:
    """JSON-safe: NaN/inf become null, dataclasses/records their dicts."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if hasattr(obj, "to_dict"):
        return _clean(obj.to_dict())
    return obj


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(_clean(obj), indent=2, default=str) + "\n")


def handle_errors(fn: F) -> F:
    """Turn :class:`TrialwiseError` into a readable message and exit code 2."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except TrialwiseError as exc:
            if kwargs.get("as_json"):
                print_json({"error": type(exc).__name__, "message": str(exc)})
            else:
                err_console.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True)
            raise typer.Exit(EXIT_ERROR) from None

    return wrapper  # type: ignore[return-value]


@dataclass
class Context:
    """The repository, its config and its store."""

    root: Path
    config: Any
    _store: Any = None

    @property
    def store(self) -> Any:
        if self._store is None:
            from trialwise.store import connect, resolve_store_url

            self._store = connect(resolve_store_url(self.root, self.config.store))
        return self._store


def context(path: str | Path = ".") -> Context:
    from trialwise.settings import load_config
    from trialwise.provenance import repo_root

    root = repo_root(path)
    return Context(root, load_config(root))


def fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return f"{value:.{digits}g}" if abs(value) < 1e-3 or abs(value) >= 1e4 else f"{value:.{digits}f}"
    return str(value)
