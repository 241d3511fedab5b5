"""``trialwise checks pairs|leakage``: the data sanity checks of :mod:`trialwise.checks` on files.

Exit 0 when the check passes, 1 when it finds a problem, 2 on bad input, so a data pipeline's CI
can run them. The model checks (overfit one batch, lr range test, ...) need a model and stay Python.
"""

from __future__ import annotations

from typing import Any

import typer

from trialwise.cli._common import EXIT_NEGATIVE, JsonOpt, console, esc, fmt, handle_errors, new_table, print_json

checks_app = typer.Typer(help="Data sanity checks on files: pairs (glob order, seed 004), leakage (seed 002).",
                         no_args_is_help=True)


def _verdict(result: Any, as_json: bool) -> None:
    if as_json:
        print_json(result)
    else:
        style = "bold green" if result.passed else "bold red"
        console.print(f"[{style}]{'passed' if result.passed else 'problem'}:[/] {esc(result.message)}", highlight=False)
    if not result.passed:
        raise typer.Exit(EXIT_NEGATIVE)


def pairs_cmd(
    inputs: str = typer.Argument(..., help="Glob of the inputs, quoted (e.g. 'data/images/*.png')."),
    labels: str = typer.Argument(..., help="Glob of the labels, quoted (e.g. 'data/masks/*.png')."),
    as_json: bool = JsonOpt,
) -> None:
    """Do the two listings, in the order glob.glob returns them here, pair the same examples?"""
    from trialwise.checks._files import check_pairs_glob

    result = check_pairs_glob(inputs, labels)
    if not as_json and result.mismatches:
        table = new_table(f"{result.n_mismatches} mismatching position(s), first {len(result.mismatches)}",
                      title_justify="left")
        for col in ("#", "input", "label"):
            table.add_column(col)
        for m in result.mismatches:
            table.add_row(str(m.index), esc(m.input), esc(m.label))
        console.print(table)
    _verdict(result, as_json)


def leakage_cmd(
    train: str = typer.Argument(..., help="Training split: .csv, .tsv, .parquet, .npy or .npz."),
    val: str = typer.Argument(..., help="Validation split, same format and columns."),
    label: str = typer.Option(None, help="Label column (tables) or array name (.npz; default y/labels)."),
    features: str = typer.Option(None, help="Features array name in .npz files (default X/features)."),
    as_json: bool = JsonOpt,
) -> None:
    """Validation rows copied from training (exact and near), and columns that alone predict the label."""
    from trialwise.checks._files import find_leakage_files

    result = find_leakage_files(train, val, label=label, features=features)
    if not as_json and result.top_columns:
        table = new_table(f"best single columns ({result.task}; chance {fmt(result.top_columns[0].chance, 3)})",
                      title_justify="left")
        for col in ("column", "score alone", "leaks"):
            table.add_column(col)
        leaky = {c.column for c in result.leaky_columns}
        for c in result.top_columns:
            table.add_row(esc(c.name), fmt(c.score, 3), "[bold red]yes[/]" if c.column in leaky else "no")
        console.print(table)
    _verdict(result, as_json)


def register(command: Any, app: Any) -> None:
    checks_app.command("pairs")(handle_errors(pairs_cmd))
    checks_app.command("leakage")(handle_errors(leakage_cmd))
    app.add_typer(checks_app, name="checks")
