"""``trialwise import tensorboard|mlflow|wandb|csv ...``: runs recorded by other tools, into the store.

Reading is :mod:`trialwise.importers`; this module parses, calls it and prints.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable
from typing import Any

import typer

from trialwise.cli._common import JsonOpt, console, context, esc, fmt, handle_errors, new_table, print_json

import_app = typer.Typer(help="Import runs you already have (TensorBoard, MLflow, W&B, CSV) to decide on them.",
                         no_args_is_help=True)

GroupByOpt = typer.Option(None, "--group-by", help="Param (or tag:NAME) whose values make an experiment; repeat for "
                                                   "several. Default: every param except the seed.")
SeedParamOpt = typer.Option("seed", "--seed-param", help="The param that holds each run's seed.")
NumberSeedsOpt = typer.Option(False, "--number-seeds", help="Runs without the seed param get seeds 0, 1, ... in the "
                                                            "order they started (instead of an error).")
NameOpt = typer.Option(None, "--name", help="Start of each experiment's name (default: the source's project, "
                                            "experiment, folder or file name).")
MetricOpt = typer.Option(None, "--metric", help="Decision metric NAME[:max|min] the runs are summarised on "
                                                "(default: trialwise.toml's).")


def _run_import(read: Callable[[], Any], group_by: list[str] | None, seed_param: str, number_seeds: bool,
                name: str | None, metric: str | None, as_json: bool) -> None:
    """Read a source whole, group it, store what is new, print what was done."""
    from trialwise.cli.decide import _metric_spec
    from trialwise.importers import ImportOptions, plan_import, write_import

    ctx = context()
    cfg_metric = ctx.config.metric
    if metric:
        m_name, m_dir = _metric_spec(metric, cfg_metric)
        cfg_metric = cfg_metric.model_copy(update={"name": m_name, "direction": m_dir})
    options = ImportOptions(metric=cfg_metric, group_by=tuple(group_by or ()), seed_param=seed_param,
                            number_seeds=number_seeds, name=name)
    plan = plan_import(read(), options, now=time.time())
    report = write_import(ctx.store, plan)
    if as_json:
        print_json(report)
    else:
        render_report(report)


def render_report(report: Any) -> None:
    """The experiments an import made (or found), their seeds, and how to compare them."""
    say = {"highlight": False, "markup": False}
    console.print(f"{report.provenance}: {report.added} run(s) added, {report.present} already in the store", **say)
    table = new_table(f"experiments (grouped by {', '.join(report.group_by) or 'nothing: one experiment'}; "
                      f"seed from '{report.seed_param}')", title_justify="left")
    for col in ("experiment", "id", "commit", "seeds", "added", "already there", report.metric):
        table.add_column(esc(col))
    for g in report.groups:
        values = [r["value"] for r in g.runs if r["status"] == "completed" and r["value"] is not None]
        mean = sum(values) / len(values) if values else None
        failed = sum(r["status"] != "completed" for r in g.runs)
        table.add_row(esc(g.name), esc(g.experiment_id), g.commit[:8] if g.commit else "unknown",
                      esc(",".join(map(str, g.seeds))) + (f" ({failed} did not complete)" if failed else ""), str(g.added),
                      str(g.present), fmt(mean))
    console.print(table)
    for g in report.groups:
        if g.elsewhere:
            console.print(f"{g.name}: {len(g.elsewhere)} run(s) were imported before into experiment(s) "
                          f"{', '.join(sorted(set(g.elsewhere.values())))} (grouped differently then) and stay there",
                          **say)
    for note in report.notes:
        console.print(f"note: {note}", **say)
    if not any(g.commit for g in report.groups):
        console.print("no git commit was recorded: compare will warn that the provenance is unknown", **say)
    if len(report.groups) >= 2:
        a, b = report.groups[0].name, report.groups[1].name
        console.print(f"compare two: trialwise compare {shlex.quote(a)} {shlex.quote(b)}", **say)


def csv_cmd(
    file: str = typer.Argument(..., help="Long-format CSV: run,step,key,value[,time] plus param columns."),
    group_by: list[str] = GroupByOpt, seed_param: str = SeedParamOpt, number_seeds: bool = NumberSeedsOpt,
    name: str = NameOpt, metric: str = MetricOpt, as_json: bool = JsonOpt,
) -> None:
    """Import the runs of a long-format CSV file (one row per metric point)."""
    from trialwise.importers import read_csv

    _run_import(lambda: read_csv(file), group_by, seed_param, number_seeds, name, metric, as_json)


def tensorboard_cmd(
    logdir: str = typer.Argument(..., help="TensorBoard logdir: each directory with event files is a run."),
    group_by: list[str] = GroupByOpt, seed_param: str = SeedParamOpt, number_seeds: bool = NumberSeedsOpt,
    name: str = NameOpt, metric: str = MetricOpt, as_json: bool = JsonOpt,
) -> None:
    """Import the runs of a TensorBoard logdir: scalars with steps and wall times, hparams (HParams plugin)."""
    from trialwise.importers import read_tensorboard

    _run_import(lambda: read_tensorboard(logdir), group_by, seed_param, number_seeds, name, metric, as_json)


def mlflow_cmd(
    tracking_uri: str = typer.Option(..., "--tracking-uri", envvar="MLFLOW_TRACKING_URI",
                                     help="Where MLflow logged the runs: sqlite:///mlflow.db, a mlruns directory, "
                                          "http://host:5000 (default: $MLFLOW_TRACKING_URI)."),
    experiment: str = typer.Option(..., "--experiment", help="MLflow experiment name (or id)."),
    group_by: list[str] = GroupByOpt, seed_param: str = SeedParamOpt, number_seeds: bool = NumberSeedsOpt,
    name: str = NameOpt, metric: str = MetricOpt, as_json: bool = JsonOpt,
) -> None:
    """Import the finished runs of an MLflow experiment: params, metric histories, tags, status, git commit."""
    from trialwise.importers import read_mlflow

    _run_import(lambda: read_mlflow(tracking_uri, experiment), group_by, seed_param, number_seeds, name, metric,
                as_json)


def wandb_cmd(
    path: str = typer.Argument(..., help="A wandb/ directory (its offline-run-* runs), one run directory, or a CSV "
                                         "export of W&B's runs table."),
    group_by: list[str] = GroupByOpt, seed_param: str = SeedParamOpt, number_seeds: bool = NumberSeedsOpt,
    name: str = NameOpt, metric: str = MetricOpt, as_json: bool = JsonOpt,
) -> None:
    """Import W&B runs: offline run directories (config, history, summary, exit code, git commit) or a CSV
    export of the runs table (the --group-by and --seed-param columns are config, other numbers summary)."""
    from trialwise.importers import read_wandb

    columns = [k for k in (group_by or ()) if not k.startswith("tag:")] + [seed_param]
    _run_import(lambda: read_wandb(path, params=columns), group_by, seed_param, number_seeds, name, metric, as_json)


def register(command: Any, app: Any) -> None:
    import_app.command("csv")(handle_errors(csv_cmd))
    import_app.command("tensorboard")(handle_errors(tensorboard_cmd))
    import_app.command("mlflow")(handle_errors(mlflow_cmd))
    import_app.command("wandb")(handle_errors(wandb_cmd))
    app.add_typer(import_app, name="import")
