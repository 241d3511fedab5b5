"""Shared CLI plumbing: locating the repository, opening the store, printing people/JSON output."""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from trialwise._exceptions import TrialwiseError
from trialwise._jsonable import jsonable
from trialwise._exit_codes import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_NEGATIVE, EXIT_OK  # noqa: F401 (the CLI's codes)

NON_TERMINAL_WIDTH = 100_000
"""Width of output that is not a terminal (a pipe, a file, a CI log) when ``COLUMNS`` is not set: wide
enough that Rich never wraps or cuts a cell, so ids, names and verdicts stay whole (issue 11 §8;
Rich's fallback is 80 columns). Tables are only as wide as their content."""

RULE_WIDTH = 80
"""Width of a horizontal rule off a terminal (a rule spans the console's width)."""


def make_console(stderr: bool = False) -> Console:
    """A console on stdout (or stderr): the terminal's width on a terminal, ``COLUMNS`` when set,
    else :data:`NON_TERMINAL_WIDTH`. No emoji codes: ``:fire:`` in a name is printed as written."""
    probe = Console(stderr=stderr)
    wide = not probe.is_terminal and not os.environ.get("COLUMNS", "").strip().isdigit()
    return Console(stderr=stderr, width=NON_TERMINAL_WIDTH if wide else None, emoji=False)


console = make_console()
err_console = make_console(stderr=True)


def esc(text: object) -> str:
    """``text`` made safe to put into a Rich markup string: printed literally, never parsed as markup.

    Every piece of user text (experiment names, ``--set`` values, tags, metric and series names, class
    labels, CSV cells, paths, error messages) goes through this before it reaches Rich — a ``[/]`` in a
    name would raise a MarkupError, a ``[diagnose.series]`` in a message would vanish as a style tag.
    """
    from rich.markup import escape

    return escape(str(text))


def new_table(title: str | None = None, **kw: Any) -> Table:
    """A Rich table whose title is plain text; off a terminal the title is not wrapped at the table's
    width (a long experiment name stays on one line)."""
    text = None
    if title:
        wrap = {} if console.is_terminal else {"no_wrap": True, "overflow": "ignore"}
        text = Text(title, style="table.title", **wrap)  # type: ignore[arg-type]
    return Table(title=text, **kw)


def rule(title: str) -> None:
    """A horizontal rule with a title, at most the terminal's width (:data:`RULE_WIDTH` off a terminal)."""
    from rich.rule import Rule

    console.print(Rule(Text(title)), width=console.width if console.is_terminal else min(console.width, RULE_WIDTH))


JsonOpt = typer.Option(False, "--json", help="Print machine-readable JSON instead of tables.")
ProfileOpt = typer.Option(None, help="Profile from trialwise.toml's \\[profiles.*] (e.g. fast).")
ModeOpt = typer.Option(None, help="Mode from trialwise.toml's \\[modes.*].")

F = TypeVar("F", bound=Callable[..., Any])




def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(jsonable(obj), indent=2, default=str) + "\n")


def handle_errors(fn: F) -> F:
    """Turn :class:`TrialwiseError` into a readable message (its text printed literally) and exit code 2,
    Ctrl-C into exit 130 (with older typer versions click exits 1, the code of a negative verdict)."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except TrialwiseError as exc:
            if kwargs.get("as_json"):
                print_json({"error": type(exc).__name__, "message": str(exc)})
            else:
                err_console.print(f"[bold red]error:[/] {esc(exc)}", highlight=False)
            raise typer.Exit(EXIT_ERROR) from None
        except KeyboardInterrupt:
            err_console.print("interrupted", highlight=False)
            raise typer.Exit(EXIT_INTERRUPTED) from None

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
