"""``trialwise demo``: the embedded end-to-end example on scikit-learn's digits.

It copies ``examples/digits`` into a fresh temporary git repository with two commits (a baseline
on ``main`` and a learning-rate change on ``feat/higher-lr``), runs several seeds of each from
their exact commits in parallel, and prints both experiments side by side with the verdict.
"""

from __future__ import annotations

import math
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import typer

from trialwise.cli._common import EXIT_INTERRUPTED, JsonOpt, console, esc, fmt, new_table, print_json

DEMO_DIR = Path(__file__).resolve().parent.parent / "demo" / "digits"
BASE_BRANCH = "main"
CHANGE_BRANCH = "feat/higher-lr"
CHANGE_ARGS = "--lr 0.1"
"""The demo's change: the learning rate raised from 0.03 to 0.1, committed on its own branch (pattern #6)
in trialwise.toml's command. Not in train.py: that file holds the validation split, so it is the
metric's version file (``metric.version_files``), and a change to it is a new metric that ``compare``
refuses to compare across (pattern #10) — the demo's verdict is the one ``compare`` gives."""

DEMO_REPORT = "trialwise-demo-report.html"
"""The report ``trialwise demo`` writes by default, in the directory it runs in."""


def make_demo_repo(path: Path) -> Path:
    """Create the demo repository at ``path`` (baseline on main, the change on its branch)."""
    from trialwise.provenance import git
    from trialwise.provenance._git import GIT_IDENTITY_ENV

    path.mkdir(parents=True, exist_ok=True)
    shutil.copy(DEMO_DIR / "train.py", path / "train.py")
    toml = (DEMO_DIR / "trialwise.toml").read_text(encoding="utf-8")
    command = f'command = "{sys.executable} train.py"'
    toml = toml.replace('command = "python train.py"', command)
    (path / "trialwise.toml").write_text(toml, encoding="utf-8")
    (path / ".gitignore").write_text(".trialwise/\n__pycache__/\n", encoding="utf-8")
    git(path, "init", "--quiet", "--initial-branch", BASE_BRANCH)
    git(path, "add", "-A")
    git(path, "commit", "--quiet", "-m", "baseline: small CNN on digits", env=GIT_IDENTITY_ENV)
    git(path, "checkout", "--quiet", "-b", CHANGE_BRANCH)
    (path / "trialwise.toml").write_text(toml.replace(command, command[:-1] + f' {CHANGE_ARGS}"'), encoding="utf-8")
    git(path, "commit", "--quiet", "-am", "raise the learning rate to 0.1", env=GIT_IDENTITY_ENV)
    git(path, "checkout", "--quiet", BASE_BRANCH)
    return path


def demo_cmd(
    seeds: int = typer.Option(4, "--seeds", "-n", help="Seeds per experiment."),
    jobs: int = typer.Option(None, help="Parallel runs (default: CPU cores)."),
    profile: str = typer.Option("fast", help="Profile of the demo config (fast | full)."),
    keep: Path = typer.Option(None, help="Create the demo repository here and keep it."),
    report: Path = typer.Option(Path(DEMO_REPORT), "--report", help="Where to write the HTML report of both "
                                                                     "experiments (curves, verdict, provenance)."),
    no_report: bool = typer.Option(False, "--no-report", help="Write no HTML report."),
    as_json: bool = JsonOpt,
) -> None:
    """Run the embedded end-to-end example: baseline vs a change, several seeds each, a verdict, a report."""
    from trialwise.cli._common import context
    from trialwise.cli._core import execute, mean_std
    from trialwise.runner import LaunchSpec, LocalBackend

    target = report.expanduser().resolve()  # relative to where the command runs, not to the demo repository
    tmp = None
    if keep is None:
        tmp = tempfile.TemporaryDirectory(prefix="trialwise-demo-")
        repo = Path(tmp.name) / "digits"
    else:
        repo = keep.resolve()
    try:
        make_demo_repo(repo)
        ctx = context(repo)
        if not as_json:
            console.print("[bold]trialwise demo[/] " + esc(f"in {repo}: {BASE_BRANCH} vs {CHANGE_BRANCH}, {seeds} seeds "
                                                           f"each, profile {profile}"))
        results = {}
        for ref in (BASE_BRANCH, CHANGE_BRANCH):
            spec = LaunchSpec(root=ctx.root, config=ctx.config, ref=ref, profile=profile, n_seeds=seeds)
            results[ref] = execute(ctx, spec, LocalBackend(jobs), quiet=as_json)
            if results[ref].interrupted:
                raise typer.Exit(EXIT_INTERRUPTED)
        metric = ctx.config.metric.name
        values = {ref: [r.summary.get(metric, math.nan) if r.status == "completed" else math.nan for r in res.runs]
                  for ref, res in results.items()}
        verdict = _verdict(values[BASE_BRANCH], values[CHANGE_BRANCH], ctx.config.metric)
        out: dict[str, Any] = {
            "repo": str(repo), "metric": metric,
            "experiments": {ref: {"id": res.experiment.id, "values": values[ref]} for ref, res in results.items()},
            "verdict": verdict,
        }
        from trialwise.report import write_report

        written = None if no_report else write_report(ctx.store, ctx.root, ctx.config,
                                                      [res.experiment for res in results.values()], target,
                                                      title=f"trialwise demo: {BASE_BRANCH} vs {CHANGE_BRANCH}")
        if as_json:
            print_json({**out, "report": written.to_dict() if written else None})
            return
        table = new_table(f"{metric} per seed")
        table.add_column("seed")
        for ref in results:
            table.add_column(esc(ref))
        for i in range(seeds):
            table.add_row(str(i), *(fmt(values[ref][i]) if i < len(values[ref]) else "—" for ref in results))
        table.add_row("mean ± std", *(f"{fmt(mean_std(v)[0])} ± {fmt(mean_std(v)[1])}" for v in values.values()), style="bold")
        console.print(table)
        if verdict:
            console.print(f"[bold]verdict:[/] {esc(verdict['sentence'])}")
        if written is not None:
            from trialwise.cli.report import print_written

            print_written(written, False)
    finally:
        if tmp is not None:
            tmp.cleanup()


def _verdict(a: list[float], b: list[float], metric: Any) -> dict[str, Any]:
    """The statistical verdict of the change against the baseline (Welch test, oriented by direction)."""
    from trialwise.stats import compare

    result = compare(a, b, direction=metric.direction, metric=metric.name, label_a=BASE_BRANCH, label_b=CHANGE_BRANCH)
    return result.to_dict()


def register(command: Any) -> None:
    command("demo", demo_cmd)
