"""``trialwise report EXP [EXP ...] [-o FILE]``, and the ``--report FILE`` of other commands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from trialwise.cli._common import JsonOpt, console, context, esc, print_json

DEFAULT_REPORT = "report.html"

ReportOpt = typer.Option(None, "--report", help="Also write a self-contained HTML report (curves, verdicts, "
                                                 "provenance, diagnosis) to this file.")


def report_cmd(
    experiments: list[str] = typer.Argument(..., help="Experiments (id, name, tag or git ref); the first is the "
                                                      "baseline, each other is compared with it."),
    output: Path = typer.Option(Path(DEFAULT_REPORT), "--output", "-o", help="The HTML file to write."),
    include_running: bool = typer.Option(False, help="Also draw the points so far of seeds still running."),
    as_json: bool = JsonOpt,
) -> None:
    """Write one self-contained HTML report (works offline): learning curves with seed bands, verdicts,
    provenance and environment diff, diagnosis findings with their evidence."""
    from trialwise.report import write_report
    from trialwise.store._select import select_experiment

    ctx = context()
    exps = [select_experiment(ctx.store, ctx.root, token) for token in experiments]
    written = write_report(ctx.store, ctx.root, ctx.config, exps, output, include_running=include_running)
    print_written(written, as_json)


def print_written(written: Any, as_json: bool) -> None:
    """``{"path", "experiments", "bytes"}`` with ``--json``, else one line with the path."""
    if as_json:
        print_json(written)
    else:  # paths and names are user text: escaped, never read as markup
        console.print(f"report: [bold]{esc(written.path)}[/] ({written.bytes / 1e6:.1f} MB; "
                      f"{esc(', '.join(written.experiments))})", highlight=False)


def register(command: Any) -> None:
    command("report", report_cmd)


def write_for(ctx: Any, path: Path | None, experiments: list[Any], as_json: bool, **kwargs: Any) -> Any:
    """The ``--report FILE`` of a command: write the report of ``experiments`` (first = baseline)
    with what the command computed (``kwargs`` go to :func:`trialwise.report.collect`), print its
    path unless ``as_json``, and return the :class:`~trialwise.report.ReportFile` (``None`` without a path)."""
    if path is None:
        return None
    from trialwise.report import write_report

    written = write_report(ctx.store, ctx.root, ctx.config, experiments, path, **kwargs)
    if not as_json:
        print_written(written, False)
    return written


def with_report(obj: Any, written: Any) -> Any:
    """``obj``'s JSON with the written report under ``"report"`` (``obj`` itself when none was written)."""
    if written is None:
        return obj
    data = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
    return {**data, "report": written.to_dict()}
