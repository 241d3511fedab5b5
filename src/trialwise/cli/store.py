"""``trialwise store migrate SRC DST``: copy a store into another (a SQLite history into a team's PostgreSQL).

The copy is :func:`trialwise.store._copy.copy_store`; this module parses, opens and prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from trialwise.cli._common import JsonOpt, console, handle_errors, print_json

store_app = typer.Typer(help="The store itself: copy one into another (SQLite into a team's PostgreSQL).",
                        no_args_is_help=True)


def store_url(where: str, *, must_exist: bool) -> str:
    """A store URL from ``where``: a SQLAlchemy URL as given, or the path of a SQLite file."""
    from trialwise._exceptions import UsageError

    if "://" in where:
        from trialwise.store._store import _sqlite_file

        db = _sqlite_file(where)
    else:
        db = Path(where).expanduser().resolve()
        where = f"sqlite:///{db}"
    if must_exist and db is not None and not db.is_file():
        raise UsageError(f"no store at {db}: give the SQLite file to copy (a repository keeps it in "
                         ".trialwise/store.db, or where `store` in its trialwise.toml says)")
    return where


def migrate_cmd(
    src: str = typer.Argument(..., help="Store to copy from: a SQLite file (.trialwise/store.db) or a URL."),
    dst: str = typer.Argument(..., help="Store to copy into, e.g. postgresql+psycopg://user@host/db "
                                        "(password from PGPASSWORD or ~/.pgpass)."),
    as_json: bool = JsonOpt,
) -> None:
    """Copy every experiment, run, metric, summary, param, environment and artifact that DST lacks.

    Idempotent: what DST already has is skipped, so running it again adds nothing, and an
    interrupted copy resumes (each run is copied whole in one transaction).
    """
    from trialwise.store import connect
    from trialwise.store._copy import copy_store

    source = connect(store_url(src, must_exist=True))
    try:
        destination = connect(store_url(dst, must_exist=False))
        try:
            report = copy_store(source, destination)
        finally:
            destination.close()
    finally:
        source.close()
    if as_json:
        print_json(report)
    else:
        _print_report(report)


def _print_report(report: Any) -> None:
    say = {"highlight": False, "markup": False}
    console.print(f"{report.source} → {report.destination}", **say)
    table = Table()
    for col in ("table", "in source", "copied", "already there"):
        table.add_column(col, justify="left" if col == "table" else "right")
    for t in report.tables:
        table.add_row(t.table, str(t.source), str(t.copied), str(t.present))
    console.print(table)
    console.print(f"{report.copied} rows copied" if report.copied else "nothing to copy: the destination has it all",
                  **say)
    if report.differing_runs:
        console.print(f"{len(report.differing_runs)} run(s) differ from the destination's copy and were left as it "
                      f"has them: {', '.join(report.differing_runs)}", **say)
    if report.artifact_paths:
        console.print(f"{report.artifact_paths} artifact(s) point at files on this machine (patches, predictions): "
                      "the rows were copied, the files were not", **say)
    hidden = " (its password in ~/.pgpass or PGPASSWORD, not in the file)" if "***" in report.destination else ""
    console.print(f'to record there from now on: store = "{report.destination}" in trialwise.toml{hidden}', **say)


def register(command: Any, app: Any) -> None:
    store_app.command("migrate")(handle_errors(migrate_cmd))
    app.add_typer(store_app, name="store")
