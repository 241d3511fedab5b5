"""Core commands: init, run, ls, show, export."""

from __future__ import annotations

import math
import shlex
import statistics
from pathlib import Path
from typing import Any

import typer

from trialwise.cli._common import (
    EXIT_INTERRUPTED, JsonOpt, ModeOpt, ProfileOpt, console, context, err_console, esc, fmt, new_table, print_json,
)

STATUS_STYLE = {"completed": "green", "failed": "red", "crashed": "red", "killed": "yellow", "timeout": "yellow", "running": "cyan"}

INIT_TEMPLATE = '''# trialwise configuration (see README): every key is validated.
command = {command}          # default training command (override: trialwise run -- CMD)
seeds = 3                      # seeds per experiment: one run decides nothing (pattern #1)

[metric]
name = {metric}               # the metric every decision uses
direction = "{direction}"              # max | min
summary = "last"               # last | best | summary (value given to tw.summary)
version_files = []             # globs of validation data / evaluation code (pattern #10)

[params]
template = "--{{name}} {{value}}"  # how --set lr=1e-3 reaches the script
{seed_line}

[profiles.fast]                # pattern #5: 2-10x faster, still reflects changes
args = []

[profiles.full]
args = []
'''


INIT_MAX_FILE_BYTES = 1_000_000
"""Python files larger than this are not read by ``init``'s detection (generated code, data)."""


def _project_sources(root: Path) -> dict[str, str]:
    from trialwise.provenance import git

    out: dict[str, str] = {}
    for rel in git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "*.py").split("\0"):
        path = root / rel
        if rel and path.is_file() and path.stat().st_size <= INIT_MAX_FILE_BYTES:
            out[rel] = path.read_text(encoding="utf-8", errors="replace")
    return out


def init_cmd(
    command: str = typer.Option(None, help="Default training command (default: detected from the sources)."),
    force: bool = typer.Option(False, help="Overwrite an existing trialwise.toml."),
    as_json: bool = JsonOpt,
) -> None:
    """Write trialwise.toml (command, seed mapping and metric detected from the sources),
    git-ignore .trialwise/ and check the repository."""
    from trialwise._exceptions import UsageError
    from trialwise.settings import CONFIG_FILE, load_config
    from trialwise.settings._detect import detect_project
    from trialwise.provenance import dirty_state, repo_root

    root = repo_root(".")
    path = root / CONFIG_FILE
    if path.exists() and not force:
        raise UsageError(f"{path} exists; pass --force to overwrite it")
    import json

    found = detect_project(_project_sources(root))
    seed_line = (f"seed = {json.dumps(found.seed_param)}   # how each run's seed reaches the script"
                 if found.seed_param else "# seed = \"--seed {value}\"   # map the seed when the script takes one")
    # a JSON string is a valid TOML basic string: quotes and backslashes in the command are escaped
    path.write_text(INIT_TEMPLATE.format(command=json.dumps(command or found.command), metric=json.dumps(found.metric),
                                         direction=found.direction, seed_line=seed_line), encoding="utf-8")
    load_config(root)
    gitignore = root / ".gitignore"
    lines = gitignore.read_text(encoding="utf-8").splitlines() if gitignore.exists() else []
    if ".trialwise/" not in lines:
        gitignore.write_text("\n".join([*lines, ".trialwise/"]) + "\n", encoding="utf-8")
    state = dirty_state(root)
    result = {"config": str(path), "root": str(root), "dirty": list(state.modified + state.untracked),
              "detected": found.to_dict()}
    if as_json:
        print_json(result)
        return
    console.print(f"wrote [bold]{esc(str(path))}[/] and git-ignored .trialwise/")
    console.print(f"  command: {esc(command or found.command)}\n  metric: {esc(found.metric)} ({found.direction})"
                  f"\n  seed: {esc(found.seed_param or 'not mapped')}", highlight=False)
    for note in found.notes:
        console.print(f"  [dim]{esc(note)}[/]")
    if not state.clean:
        console.print("[yellow]the working tree is dirty:[/] commit trialwise.toml and .gitignore before `trialwise run`.")


def run_cmd(
    command: list[str] = typer.Argument(None, help="Training command after '--' (default: config `command`)."),
    seeds: int = typer.Option(None, "--seeds", "-n", help="Number of seeds (0..N-1)."),
    seed_list: str = typer.Option(None, help="Explicit seeds, e.g. 3,7,11."),
    ref: str = typer.Option("HEAD", help="Branch, tag or commit to run (without checking it out)."),
    profile: str = ProfileOpt,
    mode: str = ModeOpt,
    set_: list[str] = typer.Option(None, "--set", help="Hyperparameter override NAME=VALUE (repeatable)."),
    jobs: int = typer.Option(None, help="Parallel runs (default: config, else GPUs, else cores)."),
    timeout: float = typer.Option(None, help="Per-run timeout in seconds."),
    allow_dirty: bool = typer.Option(False, help="Run uncommitted changes; records the patch, marks runs dirty."),
    rerun: bool = typer.Option(False, help="Re-run seeds even if identical completed runs exist."),
    tag: str = typer.Option(None, help="Also tag the commit with this name."),
    backend: str = typer.Option(None, help="local | ray (default: config `backend`)."),
    address: str = typer.Option(None, help="Ray cluster: auto, HOST:PORT or ray://HOST:PORT (default: [ray] address)."),
    as_json: bool = JsonOpt,
) -> None:
    """Run N seeds of an experiment from an exact commit, each in its own worktree."""
    from trialwise.runner import LaunchSpec, make_backend, parse_overrides

    from trialwise.runner._experiment import parse_seed_list

    ctx = context()
    spec = LaunchSpec(
        root=ctx.root, config=ctx.config, command=command or (), ref=ref, profile=profile, mode=mode,
        overrides=parse_overrides(set_ or []), n_seeds=seeds,
        seeds=parse_seed_list(seed_list) if seed_list else None,
        allow_dirty=allow_dirty, rerun=rerun, tag=tag, timeout=timeout,
    )
    result = execute(ctx, spec, make_backend(ctx.config, jobs, backend, address), quiet=as_json, notes=False)
    if as_json:
        print_json(result)
    else:
        render_experiment(ctx, result.experiment, result.runs, reused=result.reused)
        print_run_notes(result)
    if result.interrupted:
        raise typer.Exit(EXIT_INTERRUPTED)


def resume_cmd(
    experiment: str = typer.Argument(..., help="Experiment id, name, tag or git ref."),
    jobs: int = typer.Option(None, help="Parallel runs (default: config, else GPUs, else cores)."),
    as_json: bool = JsonOpt,
) -> None:
    """Run again only the seeds of an experiment that did not complete (failed, crashed, killed,
    timed out, or left running by a runner that was killed), each with its original seed."""
    from trialwise.runner import make_backend, recover_stale_runs, spec_for_experiment

    from trialwise.runner._outputs import prune_stale_worktrees
    from trialwise.store._select import counted_runs, select_experiment

    ctx = context()
    prune_stale_worktrees(ctx.root)
    recover_stale_runs(ctx.store, ctx.config.metric)
    exp = select_experiment(ctx.store, ctx.root, experiment)
    seeds = sorted({r.seed for r in ctx.store.runs(exp.id)})
    done = {r.seed for r in counted_runs(ctx.store, exp).completed}
    missing = [s for s in seeds if s not in done]
    if not missing:
        if as_json:
            print_json({"experiment": exp.to_dict(), "resumed": [], "runs": []})
        else:
            console.print(f"nothing to resume: all {len(seeds)} seed(s) of {esc(exp.name)} completed", highlight=False)
        return
    spec = spec_for_experiment(exp, ctx.root, ctx.config, seeds=missing)
    result = execute(ctx, spec, make_backend(ctx.config, jobs), quiet=as_json, notes=False)
    if as_json:
        print_json({**result.to_dict(), "resumed": missing})
    else:
        console.print(f"resumed seed(s) {', '.join(map(str, missing))} of {esc(exp.name)}", highlight=False)
        render_experiment(ctx, exp, list(counted_runs(ctx.store, exp).runs))
        print_run_notes(result)
    if result.interrupted:
        raise typer.Exit(EXIT_INTERRUPTED)


def print_run_notes(result: Any) -> None:
    """The warnings and hints of an experiment's run, after its table (user text escaped)."""
    for warning in result.warnings:
        err_console.print(f"[bold yellow]warning:[/] {esc(warning)}")
    for hint in result.hints:
        err_console.print(f"[yellow]hint:[/] {esc(hint)}")


def execute(ctx: Any, spec: Any, backend: Any, quiet: bool = False, notes: bool = True) -> Any:
    """Run an experiment with the live display (none when ``quiet``); then its warnings and hints
    unless ``notes`` is false (``run`` prints them after its table)."""
    from trialwise.runner import Observer, prepare, run_experiment

    if quiet:
        return run_experiment(spec, ctx.store, backend, Observer())
    from trialwise.cli._progress import PlainProgress, RichProgress

    prep = prepare(spec)
    progress = (RichProgress(len(prep.seeds), prep.experiment.name, prep.config.metric.name, console)
                if console.is_terminal else PlainProgress(len(prep.seeds), prep.experiment.name, console,
                                                         prep.config.metric.name))
    with progress:
        result = run_experiment(spec, ctx.store, backend, progress, prepared=prep)
    if notes:
        print_run_notes(result)
    return result


def launcher(ctx: Any, jobs: int | None, quiet: bool) -> Any:
    """``launch(spec)`` for library code that runs experiments: the live display (none when
    ``quiet``) on the local backend; Ctrl-C exits 130 once the runs are marked ``killed``."""
    from trialwise.runner import make_backend


    def launch(spec: Any) -> Any:
        res = execute(ctx, spec, make_backend(ctx.config, jobs), quiet=quiet)
        if res.interrupted:
            raise typer.Exit(EXIT_INTERRUPTED)
        return res

    return launch


def _metric_values(runs: list[Any], metric: str) -> list[float]:
    return [r.summary.get(metric, math.nan) for r in runs if r.status == "completed"]


def mean_std(values: list[float]) -> tuple[float, float]:
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return math.nan, math.nan
    return statistics.fmean(finite), statistics.stdev(finite) if len(finite) > 1 else math.nan


def live_values(store: Any, running: list[Any], metric: str) -> dict[str, str]:
    """For each running run, its latest stored value of ``metric`` and step (live ingestion)."""
    out = {}
    for r in running:
        steps, values = store.series(r.id).get(metric, ([], []))
        out[r.id] = f"{fmt(values[-1])} @ step {steps[-1]} (live)" if values else "no point yet"
    return out


def render_experiment(ctx: Any, exp: Any, runs: list[Any], reused: list[str] | None = None,
                      live: dict[str, str] | None = None) -> None:
    metric = exp.metric_name or ctx.config.metric.name
    table = new_table(f"{exp.name}  ({exp.id})", title_justify="left")
    for col in ("seed", "run", "status", metric, "duration", "note"):
        table.add_column(esc(col))
    for r in sorted(runs, key=lambda r: r.seed):
        style = STATUS_STYLE.get(r.status, "")
        note = "reused" if reused and r.id in reused else ((r.error or "").strip().splitlines() or [""])[-1][:60]
        value = (live or {}).get(r.id) or fmt(r.summary.get(metric))
        table.add_row(str(r.seed), r.id, f"[{style}]{esc(r.status)}[/]", esc(value),
                      f"{r.duration:.1f}s" if r.duration else "—", esc(note))
    console.print(table)
    mean, std = mean_std(_metric_values(runs, metric))
    done = sum(r.status == "completed" for r in runs)
    console.print(f"{esc(metric)}: [bold]{fmt(mean)} ± {fmt(std)}[/] (mean ± std over {done} completed of {len(runs)} runs)")


def ls_cmd(as_json: bool = JsonOpt, all_: bool = typer.Option(False, "--all", help="Include standalone runs.")) -> None:
    """List experiments with their runs' status and metric (mean ± std)."""
    from trialwise.runner import recover_stale_runs

    from trialwise.store._select import select_counted

    from trialwise.runner._outputs import prune_stale_worktrees

    ctx = context()
    prune_stale_worktrees(ctx.root)  # first: a killed run's outputs (its TensorBoard logs) reach its run dir
    recover_stale_runs(ctx.store, ctx.config.metric)
    rows = []
    by_experiment: dict[str, list[Any]] = {}
    for run in ctx.store.runs():  # every run in two statements, however many experiments there are
        by_experiment.setdefault(run.experiment_id, []).append(run)
    for exp in ctx.store.experiments():
        if exp.kind == "standalone" and not all_:
            continue
        selection = select_counted(by_experiment.get(exp.id, []))  # one run per seed: older re-runs are history
        runs = list(selection.runs)
        metric = exp.metric_name or ctx.config.metric.name
        mean, std = mean_std(_metric_values(runs, metric))
        counts: dict[str, int] = {}
        for r in runs + selection.running:  # running seeds are shown, not counted in the metric
            counts[r.status] = counts.get(r.status, 0) + 1
        history = len(selection.history) - len(selection.running)
        rows.append({"experiment": exp, "runs": len(runs), "history": history, "status": counts,
                     "metric": metric, "mean": mean, "std": std})
    if as_json:
        print_json([{**r, "experiment": r["experiment"].to_dict()} for r in rows])
        return
    table = new_table("experiments")
    for col in ("id", "name", "kind", "commit", "runs", "status", "metric", "mean ± std"):
        table.add_column(col)
    for r in rows:
        e = r["experiment"]
        status = " ".join(f"[{STATUS_STYLE.get(k, '')}]{v} {esc(k)}[/]" for k, v in sorted(r["status"].items()))
        table.add_row(esc(e.id), esc(e.name), esc(e.kind), e.commit_sha[:8] + (" dirty" if e.dirty else ""),
                      str(r["runs"]) + (f" (+{r['history']} history)" if r["history"] else ""),
                      status, esc(r["metric"]), f"{fmt(r['mean'])} ± {fmt(r['std'])}")
    console.print(table)


def show_cmd(experiment: str = typer.Argument(..., help="Experiment id, name, tag or git ref; or a run id."),
             as_json: bool = JsonOpt) -> None:
    """Per-seed final metrics, mean ± std, and provenance of an experiment."""
    from trialwise.store._select import select_target

    ctx = context()
    exp, selection = select_target(ctx.store, ctx.root, experiment)
    runs = list(selection.runs)
    envs = {r.env_hash: ctx.store.environment(r.env_hash) for r in runs if r.env_hash}
    from trialwise.runner._capture import run_outputs

    captured = ctx.store.series_counts([r.id for r in runs + selection.running])
    outputs = {r.id: run_outputs(r) for r in runs}
    if as_json:
        print_json({"experiment": exp.to_dict(), "runs": [r.to_dict() for r in runs],
                    "history": [{**r.to_dict(), "why": selection.why_history(r)} for r in selection.history],
                    "environments": envs, "params": {r.id: ctx.store.params(r.id) for r in runs},
                    "artifacts": ctx.store.artifacts(experiment_id=exp.id),
                    "series": {rid: {k: {"source": src, "points": n} for k, (src, n) in c.items()}
                               for rid, c in captured.items()},
                    "outputs": outputs, "running": [r.to_dict() for r in selection.running]})
        return
    render_experiment(ctx, exp, runs + selection.running, live=live_values(ctx.store, selection.running,
                                                                          exp.metric_name or ctx.config.metric.name))
    render_capture(runs + selection.running, captured, outputs)
    if len(selection.history) > len(selection.running):
        hist = new_table("history (not counted: one run per seed, in the experiment's environment)",
                     title_justify="left")
        for col in ("seed", "run", "status", exp.metric_name or ctx.config.metric.name, "why not counted"):
            hist.add_column(esc(col))
        for r in selection.history:
            if r.status == "running":
                continue
            hist.add_row(str(r.seed), r.id, esc(r.status), fmt(r.summary.get(exp.metric_name or ctx.config.metric.name)),
                         esc(selection.why_history(r)))
        console.print(hist)
    prov = new_table("provenance", show_header=False, title_justify="left")
    prov.add_column("key")
    prov.add_column("value")
    prov.add_row("commit", exp.commit_sha + (" [red](dirty: patch recorded)[/]" if exp.dirty else ""))
    imported = exp.launch.get("imported") if isinstance(exp.launch, dict) else None
    if imported:
        prov.add_row("imported", esc(imported.get("provenance", "")))
    prov.add_row("ref / branch", esc(f"{exp.ref} / {exp.branch or '—'}"))
    prov.add_row("command", esc(shlex.join(exp.command)))
    prov.add_row("profile / mode", esc(f"{exp.profile or '—'} / {exp.mode or '—'}"))
    prov.add_row("metric", esc(f"{exp.metric_name} ({exp.metric_direction}); version(s) "
                               + ", ".join(sorted({r.metric_version or '—' for r in runs}))))
    for h, fp in envs.items():
        if fp:
            prov.add_row(f"environment {esc(h)}", esc(f"python {fp.get('python')}, torch {fp.get('torch') or '—'}, "
                         f"GPUs {fp.get('gpus') or 'none'}, host {fp.get('host')}, user {fp.get('user')}"))
    if runs:
        params = ctx.store.params(runs[0].id)
        if params:
            prov.add_row("config (seed %d)" % runs[0].seed, esc(", ".join(f"{k}={v}" for k, v in sorted(params.items()))))
    console.print(prov)


OUTPUT_FILES_SHOWN = 12
"""Kept output files listed per run by ``show`` (the rest are counted)."""


def render_capture(runs: list[Any], captured: dict[str, dict[str, tuple[str, int]]],
                   outputs: dict[str, dict[str, Any]]) -> None:
    """What was captured of each run (series, source, points) and which outputs were kept."""
    ordered = sorted(runs, key=lambda r: r.seed)
    keys = sorted({k for c in captured.values() for k in c})
    if keys:
        table = new_table("captured series (points per seed)", title_justify="left")
        table.add_column("series")
        table.add_column("source")
        for r in ordered:
            table.add_column(f"seed {r.seed}", justify="right")
        for key in keys:
            sources = sorted({captured[r.id][key][0] for r in ordered if key in captured[r.id]})
            table.add_row(esc(key), esc(", ".join(sources)),
                          *(str(captured[r.id].get(key, ("", 0))[1]) for r in ordered))
        console.print(table)
    for r in ordered:
        out = outputs.get(r.id) or {}
        kept = out.get("kept") or []
        if not kept and not out.get("dropped"):
            continue
        size = sum(n for _, n in kept) / 1024 / 1024
        files = ", ".join(esc(p) for p, _ in kept[:OUTPUT_FILES_SHOWN])
        more = f" and {len(kept) - OUTPUT_FILES_SHOWN} more" if len(kept) > OUTPUT_FILES_SHOWN else ""
        dropped = f"; {len(out['dropped'])} not kept (see outputs.json)" if out.get("dropped") else ""
        console.print(f"seed {r.seed} outputs ({len(kept)} files, {size:.1f} MB) in {esc(str(out['dir']))}: "
                      f"{files}{more}{dropped}", highlight=False)


EXPORTS_DIR = Path(".trialwise") / "exports"
"""Where ``export`` writes by default, relative to the repository root: git-ignored with the store, so
an export never dirties the tree (a file in the tree makes the next ``run`` refuse, pattern #4)."""

STDOUT_PATH = Path("-")
"""``--out -``: write the data to stdout."""


def export_cmd(
    experiment: str = typer.Argument(..., help="Experiment id, name, tag or git ref."),
    format_: str = typer.Option("csv", "--format", help="csv | json | parquet"),
    out: Path = typer.Option(None, "--out", "-o", help="Output file, or - for stdout "
                                                       "(default: .trialwise/exports/<experiment id>.<format>)."),
    all_runs: bool = typer.Option(False, "--all-runs", help="Also export history (older re-runs of a seed, "
                                                            "other environments), marked counted=false."),
    as_json: bool = JsonOpt,
) -> None:
    """Export an experiment's metric points (seed, run id, status, counted) as CSV, JSON or Parquet.

    Only the runs that count (one per seed, as `ls`, `show` and `compare` use) unless --all-runs.
    Written under .trialwise/exports/ (git-ignored) unless --out says where; --out - prints them."""
    import sys

    from trialwise._exceptions import UsageError
    from trialwise.store._export import EXPORT_FORMATS, write_points
    from trialwise.store._select import counted_runs, metrics_table, select_experiment

    if format_ not in EXPORT_FORMATS:
        raise UsageError(f"--format must be {', '.join(EXPORT_FORMATS)}, got '{format_}'")
    to_stdout = out == STDOUT_PATH
    if to_stdout and as_json:
        raise UsageError("--out - prints the data on stdout, where --json would print the summary too; "
                         "drop --json, or give --out a file")
    ctx = context()
    exp = select_experiment(ctx.store, ctx.root, experiment)
    table = metrics_table(ctx.store, counted_runs(ctx.store, exp), include_history=all_runs)
    if out is None:
        out = ctx.root / EXPORTS_DIR / f"{exp.id}.{format_}"
        out.parent.mkdir(parents=True, exist_ok=True)
    write_points(table, format_, sys.stdout.buffer if to_stdout else out)
    where = "stdout" if to_stdout else str(out.resolve())
    rows = table.num_rows
    result = {"experiment": exp.id, "rows": rows, "path": where}
    if as_json:
        print_json(result)
    else:
        (err_console if to_stdout else console).print(
            f"wrote {rows} metric points of {esc(exp.name)} to [bold]{esc(where)}[/]")
    if not to_stdout and _in_tree_not_ignored(ctx.root, out):
        err_console.print(f"[yellow]hint:[/] {esc(out)} is inside the repository and not git-ignored: `trialwise run` "
                          "refuses the dirty tree until it is moved, committed or ignored")


def _in_tree_not_ignored(root: Path, path: Path) -> bool:
    """Whether ``path`` lies in the repository ``root`` and git does not ignore it (it makes the tree dirty)."""
    import subprocess

    resolved = path.resolve()
    if not resolved.is_relative_to(root.resolve()):
        return False
    return subprocess.run(["git", "check-ignore", "-q", str(resolved)], cwd=root, capture_output=True).returncode != 0
