"""The ``trialwise`` command line: a thin layer that parses, calls the library and prints."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import typer

from trialwise._version import __version__
from trialwise.cli import _core
from trialwise.cli._common import handle_errors

_app = typer.Typer(
    name="trialwise", no_args_is_help=True, add_completion=False,
    help="Rigorous deep-learning experiments: seeds from exact commits, statistics that decide.",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"trialwise {__version__}")
        raise typer.Exit()


@_app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
    backend: str = typer.Option(None, help="local | ray: the backend of every command that launches runs."),
    address: str = typer.Option(None, help="The Ray cluster (auto, HOST:PORT, ray://HOST:PORT)."),
) -> None:
    """trialwise."""
    import os

    from trialwise.api import _files as F

    if backend:
        if backend not in ("local", "ray"):
            raise typer.BadParameter("--backend must be local or ray")
        os.environ[F.ENV_BACKEND] = backend
    if address:
        os.environ[F.ENV_RAY_ADDRESS] = address


def command(name: str, fn: object, **kw: object) -> None:
    _app.command(name, **kw)(handle_errors(fn))  # type: ignore[arg-type]


command("init", _core.init_cmd)
command("run", _core.run_cmd, context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
command("ls", _core.ls_cmd)
command("show", _core.show_cmd)
command("export", _core.export_cmd)
command("resume", _core.resume_cmd)


CORE_COMMANDS = frozenset(c.name for c in _app.registered_commands)
"""The commands registered above, with no other capability's module needed to run them."""

ROOT_VALUE_OPTIONS = ("--backend", "--address")
"""Options of the root callback that take a value (the value is not the command's name)."""

_optional_registered = False


def _register_optional() -> None:
    """Commands of other capabilities register themselves here (import is cheap: no heavy deps);
    once per process."""
    global _optional_registered
    if _optional_registered:
        return
    _optional_registered = True
    from trialwise.cli import ablate, checks, decide, demo, diagnose, errors, imports, report, store, tune, ui

    demo.register(command)
    decide.register(command, _app)
    ablate.register(command, _app)
    diagnose.register(command, _app)
    checks.register(command, _app)
    errors.register(command, _app)
    tune.register(command, _app)
    store.register(command, _app)
    ui.register(command, _app)
    imports.register(command, _app)
    report.register(command)


def invoked_command(args: Sequence[str]) -> str | None:
    """The command name in the arguments after ``trialwise`` (``None`` when there is none: ``--help``,
    ``--version``), skipping the root options and their values."""
    it = iter(args)
    for arg in it:
        if arg in ROOT_VALUE_OPTIONS:
            next(it, None)
        elif not arg.startswith("-"):
            return arg
    return None


def __getattr__(name: str) -> Any:
    """``app``: the whole command line, every capability's commands registered (what tests and
    other callers that import it get); :func:`main` registers them only when they can be needed."""
    if name == "app":
        _register_optional()
        globals()["app"] = _app
        return _app
    raise AttributeError(f"module 'trialwise.cli.app' has no attribute {name!r}")


def main() -> None:
    # a core command (ls, show, run...) runs without importing the other capabilities' modules or
    # building their commands: typer makes every registered command's parameters on each start,
    # which costs a core command more than its own work
    if invoked_command(sys.argv[1:]) not in CORE_COMMANDS:
        _register_optional()
    _app()
