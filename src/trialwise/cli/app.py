"""The ``trialwise`` command line: a thin layer that parses, calls the library and prints."""

from __future__ import annotations

import typer

from trialwise._version import __version__
from trialwise.cli import _core
from trialwise.cli._common import handle_errors

app = typer.Typer(
    name="trialwise", no_args_is_help=True, add_completion=False,
    help="Rigorous deep-learning experiments: seeds from exact commits, statistics that decide.",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"trialwise {__version__}")
        raise typer.Exit()


@app.callback()
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
    app.command(name, **kw)(handle_errors(fn))  # type: ignore[arg-type]


command("init", _core.init_cmd)
command("run", _core.run_cmd, context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
command("ls", _core.ls_cmd)
command("show", _core.show_cmd)
command("export", _core.export_cmd)
command("resume", _core.resume_cmd)


def _register_optional() -> None:
    """Commands of other capabilities register themselves here (import is cheap: no heavy deps)."""
    from trialwise.cli import ablate, checks, decide, demo, diagnose, errors, imports, report, store, tune, ui

    demo.register(command)
    decide.register(command, app)
    ablate.register(command, app)
    diagnose.register(command, app)
    checks.register(command, app)
    errors.register(command, app)
    tune.register(command, app)
    store.register(command, app)
    ui.register(command, app)
    imports.register(command, app)
    report.register(command)


_register_optional()


def main() -> None:
    app()
