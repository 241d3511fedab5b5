"""``trialwise sweep``: hyperparameter search over seeds; ``sweep suggest``, ``sweep report``, ``sweep ls``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from trialwise.cli._common import (
    EXIT_INTERRUPTED, JsonOpt, ModeOpt, ProfileOpt, console, context, err_console, esc, fmt, handle_errors, new_table, print_json, rule,
)
from trialwise.cli.report import ReportOpt, with_report, write_for

SWEEPS_DIR = Path(".trialwise") / "sweeps"
"""Where slice plots of a study are written (``<study>/slices.png``)."""

sweep_app = typer.Typer(
    help="Hyperparameter search that respects seeds: Optuna samplers, the runner's seeds, pruning, a winner "
         "re-checked on fresh seeds, importances next to the prior table.",
    invoke_without_command=True, no_args_is_help=False,
)

VERDICT_STYLE = {True: "green", False: "yellow", None: "bold"}


def _short(params: dict[str, Any]) -> str:
    return " ".join(f"{k}={fmt(v) if isinstance(v, float) else v}" for k, v in params.items())


class _Printer:
    """Prints one line per trial, with a spinner while a trial runs."""

    def __init__(self, metric: str) -> None:
        self.metric = metric
        self.status: Any = None

    def stop(self) -> None:
        if self.status is not None:
            self.status.stop()
            self.status = None

    def trial_started(self, number: int, params: dict[str, Any]) -> None:
        self.stop()
        self.status = console.status(esc(f"trial {number}: {_short(params)}"))
        self.status.start()

    def trial_finished(self, r: Any) -> None:
        self.stop()
        if r.outcome == "completed":
            seeds = f"{r.n_completed} of {r.n_seeds} seeds, [red]{r.n_failed} failed[/]" if r.n_failed else (
                f"{r.n_completed} seeds")
            what = f"[bold]{fmt(r.value)}[/] ± {fmt(r.seed_std)} ({seeds}" + (
                f", {r.reused} reused)" if r.reused else ")")
        elif r.outcome == "pruned":
            what = f"[yellow]pruned at step {r.pruned_step}[/]"
        else:
            what = f"[red]{esc(r.outcome or r.state)}[/] {esc(r.note)}"
        console.print(f"trial {r.number:>3}  {esc(_short(r.params))}  →  {esc(self.metric)} {what}", highlight=False)
        for clipped in r.clipped:  # a seed-004 default outside the range (user text: no markup)
            console.print(f"  note: {clipped}", highlight=False, markup=False)


def _render_trials(report: Any) -> None:
    meta = report.meta
    names = [*meta.parsed_space.names]
    table = new_table(f"study {report.study}: best trials ({meta.objective.describe()}, "
                        f"mean ± std over {meta.seeds} seed(s))", title_justify="left")
    for col in ("trial", *names, "mean ± std", "seeds"):
        table.add_column(esc(col))
    for r in report.best:
        table.add_row(str(r.number), *[esc(fmt(r.params.get(n))) for n in names], f"{fmt(r.value)} ± {fmt(r.seed_std)}",
                      f"{r.n_completed} of {r.n_seeds} ([red]{r.n_failed} failed[/])" if r.n_failed else str(r.n_completed))
    console.print(table)
    console.print("trials: " + esc(", ".join(f"{v} {k}" for k, v in sorted(report.counts.items()))), highlight=False)


def _render_recheck(rc: Any, names: list[str]) -> None:
    table = new_table(f"winner re-check on fresh seeds {list(rc.fresh_seeds)} (Welch, Holm at alpha {rc.alpha:g})",
                  title_justify="left")
    for col in ("trial", *names, "search mean", "fresh mean ± std", "p (Holm)", "vs winner"):
        table.add_column(esc(col))
    for e in rc.entries:
        if e.trial == rc.winner.trial:
            vs = "[bold]winner[/]"
        else:
            vs = f"[{VERDICT_STYLE[e.distinguishable]}]{'worse' if e.distinguishable else 'indistinguishable'}[/]"
        table.add_row(str(e.trial), *[esc(fmt(e.params.get(n))) for n in names], fmt(e.search_mean),
                      f"{fmt(e.fresh_mean)} ± {fmt(e.fresh_std)}", fmt(e.p_adjusted, 3), vs)
    console.print(table)
    console.print(esc(rc.sentence), highlight=False)


def _render_importance(imp: Any) -> None:
    table = new_table(f"parameter importance ({imp.evaluator}, {imp.confidence:.0%} bootstrap interval over "
                        f"{imp.n_bootstrap} resamples of {imp.n_trials} trials)", title_justify="left")
    for col in ("rank", "parameter", "importance", "interval", "beats noise", "matters", "prior (seed 004)", "reading"):
        table.add_column(col)
    for p in imp.params:
        table.add_row(str(p.rank), esc(p.name), fmt(p.importance, 3), f"{fmt(p.ci_low, 3)} – {fmt(p.ci_high, 3)}",
                      f"{p.above_noise:.0%}", "[green]yes[/]" if p.matters else "no",
                      esc(f"{p.prior}" + (f" ({p.prior_row})" if p.prior_row else "")), esc(p.reading))
    n = imp.noise
    table.add_row("", "(noise)", fmt(n[0], 3), f"{fmt(n[1], 3)} – {fmt(n[2], 3)}", "", "", "reference", "a random parameter")
    console.print(table)
    console.print(esc(imp.sentence), highlight=False)


def render_report(report: Any) -> None:
    if report.lr_stage is not None:
        lr = report.lr_stage
        rule(f"stage 1: learning rate on the training loss ({lr.meta.objective.describe()})")
        _render_trials(lr)
        for s in lr.slices:
            console.print(esc(f"slice {s.name}: {s.note}"), highlight=False)
        rule("stage 2: the other parameters on validation")
    _render_trials(report)
    if report.meta.fixed:
        console.print("fixed: " + esc(_short(report.meta.fixed)), highlight=False)
    names = report.meta.parsed_space.names
    if report.recheck is not None:
        _render_recheck(report.recheck, names)
    if report.importance is not None:
        _render_importance(report.importance)
    for s in report.slices:
        console.print(esc(f"slice {s.name}: {s.note}"), highlight=False)
    if report.plot:
        console.print(f"slice plots: [bold]{esc(report.plot)}[/]")
    for note in report.notes:
        console.print(f"[yellow]note:[/] {esc(note)}", highlight=False)
    console.print("[dim]" + esc(f"resume or extend: run the same command again (a larger --trials adds trials); "
                                f"study {report.study} in {report.storage or 'memory'}") + "[/]", highlight=False)


def _analyze(ctx: Any, outcome: Any, *, top_k: int, recheck_seeds: int, alpha: float, importance: str,
             bootstrap: int, jobs: int | None, timeout: float | None, quiet: bool, recheck: bool = True) -> Any:
    from trialwise.cli._core import execute
    from trialwise.tune import analyze_study, fresh_runner, load_study

    study, meta = load_study(outcome.study, outcome.storage)
    runner = fresh_runner(ctx.store, ctx.root, ctx.config, meta.objective, jobs=jobs, timeout=timeout,
                          launch=lambda ls, backend: execute(ctx, ls, backend, quiet=quiet),
                          study=outcome.study) if recheck else None
    if recheck and not quiet and top_k > 0 and recheck_seeds > 0:
        console.print(f"re-checking the top {top_k} configuration(s) on {recheck_seeds} fresh seed(s)...")
    plot = ctx.root / SWEEPS_DIR / outcome.study / "slices.png"
    return analyze_study(study, meta, outcome.study, outcome.storage, run_fresh=runner, top_k=top_k,
                         recheck_seeds=recheck_seeds, alpha=alpha, evaluator=importance, n_bootstrap=bootstrap,
                         plot_path=plot, outcome=outcome if hasattr(outcome, "ran") else None)


def _lr_param(space: Any, given: str | None) -> str:
    from trialwise._exceptions import UsageError
    from trialwise.tune import match_prior

    if given:
        space.get(given)
        return given
    for p in space.params:
        prior = match_prior(p.name)
        if prior is not None and prior.row.key == "learning_rate":
            return p.name
    raise UsageError("--lr-on-train: no searched parameter looks like a learning rate "
                     f"({', '.join(space.names)}); name it with --lr-param")


@sweep_app.callback()
def sweep_cmd(
    typer_ctx: typer.Context,
    param: list[str] = typer.Option(None, "--param", "-p", help="Searched parameter NAME=KIND:LOW..HIGH (log, float, "
                                    "int, logint) or NAME=choice:A,B (repeatable)."),
    set_: list[str] = typer.Option(None, "--set", help="Fixed parameter NAME=VALUE for every trial (repeatable)."),
    sampler: str = typer.Option("tpe", help="tpe | random | grid | qmc | gp | cmaes (Optuna samplers)."),
    trials: int = typer.Option(40, help="Trial budget of the study; re-running with a larger one extends it."),
    seeds: int = typer.Option(2, "--seeds", "-n", help="Seeds per trial; the objective is their mean."),
    profile: str = ProfileOpt,
    mode: str = ModeOpt,
    ref: str = typer.Option("HEAD", help="Commit every trial runs."),
    study: str = typer.Option(None, help="Study name (default: derived from the commit and the search)."),
    storage: str = typer.Option(None, help="Optuna storage URL (default: next to the trialwise store)."),
    sampler_seed: int = typer.Option(None, help="Seed of the sampler (offset by the trials already in the study)."),
    startup_trials: int = typer.Option(None, help="Random trials before TPE/GP model (Optuna default 10)."),
    pruner: str = typer.Option("median", help="median | halving | hyperband | none (on tw.log intermediate values)."),
    prune_startup: int = typer.Option(5, help="Trials that finish before the median rule prunes."),
    grid_points: int = typer.Option(5, help="Grid values per numeric parameter with --sampler grid."),
    default_first: bool = typer.Option(True, "--default-first/--no-default-first",
                                       help="Start with the seed-004 defaults (Adam 3e-4, ReLU, He init, no regularization)."),
    top_k: int = typer.Option(3, help="Configurations re-checked on fresh seeds (0: no re-check)."),
    recheck_seeds: int = typer.Option(5, help="Fresh seeds per re-checked configuration."),
    alpha: float = typer.Option(0.05, help="Family-wise level of the re-check comparisons (Holm)."),
    importance: str = typer.Option("fanova", help="fanova | ped-anova | mdi."),
    bootstrap: int = typer.Option(100, help="Bootstrap resamples of the importances."),
    lr_on_train: bool = typer.Option(False, help="Tune the learning rate on the training loss first (seed 003), "
                                     "then the rest on validation."),
    lr_param: str = typer.Option(None, help="The learning-rate parameter (default: found by name)."),
    train_metric: str = typer.Option("train_loss", help="Training-loss key logged with tw.log (--lr-on-train)."),
    lr_objective: str = typer.Option("mean", help="mean | final of the training-loss series (--lr-on-train)."),
    lr_trials: int = typer.Option(None, help="Trials of the learning-rate stage (default: a quarter, at least 6)."),
    jobs: int = typer.Option(None, help="Parallel runs per trial (default: config, else GPUs, else cores)."),
    timeout: float = typer.Option(None, help="Per-run timeout in seconds."),
    as_json: bool = JsonOpt,
) -> None:
    """Search hyperparameters: every trial runs --seeds seeds through the runner; resumable."""
    if typer_ctx.invoked_subcommand is not None:
        return
    handle_errors(_sweep)(**{k: v for k, v in locals().items() if k != "typer_ctx"})


def _sweep(param: list[str] | None, set_: list[str] | None, sampler: str, trials: int, seeds: int, profile: str | None,
           mode: str | None, ref: str, study: str | None, storage: str | None, sampler_seed: int | None,
           startup_trials: int | None, pruner: str, prune_startup: int, grid_points: int, default_first: bool,
           top_k: int, recheck_seeds: int, alpha: float, importance: str, bootstrap: int, lr_on_train: bool,
           lr_param: str | None, train_metric: str, lr_objective: str, lr_trials: int | None, jobs: int | None,
           timeout: float | None, as_json: bool) -> None:
    from dataclasses import replace

    from trialwise._exceptions import UsageError
    from trialwise.runner import parse_overrides, recover_stale_runs
    from trialwise.tune import (
        LrOnTrain, SweepInterrupted, SweepObserver, SweepSpec, parse_space, run_lr_on_train, run_sweep,
    )
    from trialwise.tune._sweep import lr_stage_trials

    if not param:
        raise UsageError("no --param given: name what to search, e.g. --param lr=log:1e-5..1e-1 "
                         "(`trialwise sweep suggest` proposes a space from the prior table)")
    if lr_objective not in ("mean", "final"):
        raise UsageError(f"--lr-objective must be mean or final, got '{lr_objective}'")
    ctx = context()
    recover_stale_runs(ctx.store, ctx.config.metric)
    spec = SweepSpec(
        root=ctx.root, config=ctx.config, space=parse_space(param, parse_overrides(set_ or [])), trials=trials,
        seeds=seeds, sampler=sampler, sampler_seed=sampler_seed, startup_trials=startup_trials, pruner=pruner,
        pruner_startup=prune_startup, profile=profile, mode=mode, ref=ref, study=study, storage=storage,
        default_first=default_first, grid_points=grid_points, jobs=jobs, timeout=timeout,
    )
    printer = _Printer(ctx.config.metric.name)
    observer = SweepObserver() if as_json else printer
    options = dict(top_k=top_k, recheck_seeds=recheck_seeds, alpha=alpha, importance=importance, bootstrap=bootstrap,
                   jobs=jobs, timeout=timeout, quiet=as_json)
    report = None
    try:
        if lr_on_train:
            lr = LrOnTrain(_lr_param(spec.space, lr_param), train_metric, f"series-{lr_objective}",
                           lr_trials or lr_stage_trials(trials))
            if not as_json:
                console.print(esc(f"stage 1: {lr.param} on {train_metric} ({lr_objective} of the series), "
                                  f"{lr.trials} trials"), highlight=False)
            printer.metric = train_metric
            first, second = run_lr_on_train(spec, lr, ctx.store, observer=observer)
            printer.metric = ctx.config.metric.name
            outcomes = [first] if second is None else [first, second]
        else:
            outcomes = [run_sweep(spec, ctx.store, observer=observer)]
        stopped = next((o for o in outcomes if o.interrupted), None)
        if stopped is None:
            try:
                if lr_on_train:
                    lr_report = _analyze(ctx, outcomes[0], **{**options, "recheck": len(outcomes) == 1})
                    report = lr_report if len(outcomes) == 1 else replace(_analyze(ctx, outcomes[1], **options),
                                                                          lr_stage=lr_report)
                else:
                    report = _analyze(ctx, outcomes[0], **options)
            except SweepInterrupted:
                stopped = outcomes[-1]
    finally:
        printer.stop()
    if report is None:
        msg = (f"interrupted: study {stopped.study} keeps its finished trials and queues the interrupted one again; "
               "run the same command to resume")
        if as_json:
            print_json({"interrupted": True, "outcome": stopped, "message": msg})
        else:
            err_console.print(f"[yellow]{esc(msg)}[/]", highlight=False)
        raise typer.Exit(EXIT_INTERRUPTED)
    if as_json:
        print_json(report)
    else:
        render_report(report)


@sweep_app.command("report")
def report_cmd(
    study: str = typer.Option(..., help="Study name (`trialwise sweep ls` lists them)."),
    storage: str = typer.Option(None, help="Optuna storage URL (default: next to the trialwise store)."),
    recheck: bool = typer.Option(False, help="Also re-check the top configurations on fresh seeds (runs them)."),
    top_k: int = typer.Option(3, help="Configurations re-checked."),
    recheck_seeds: int = typer.Option(5, help="Fresh seeds per re-checked configuration."),
    alpha: float = typer.Option(0.05, help="Family-wise level of the re-check (Holm)."),
    importance: str = typer.Option("fanova", help="fanova | ped-anova | mdi."),
    bootstrap: int = typer.Option(100, help="Bootstrap resamples of the importances."),
    jobs: int = typer.Option(None, help="Parallel runs of the re-check."),
    html: Path = ReportOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Best trials, importances and slices of a stored study (and its winner re-check with --recheck)."""
    handle_errors(_report)(study=study, storage=storage, recheck=recheck, top_k=top_k, recheck_seeds=recheck_seeds,
                           alpha=alpha, importance=importance, bootstrap=bootstrap, jobs=jobs, html=html,
                           as_json=as_json)


def _report(study: str, storage: str | None, recheck: bool, top_k: int, recheck_seeds: int, alpha: float,
            importance: str, bootstrap: int, jobs: int | None, html: Path | None, as_json: bool) -> None:
    from types import SimpleNamespace

    from trialwise.tune import optuna_storage_url

    ctx = context()
    url = storage or optuna_storage_url(ctx.store.url)
    report = _analyze(ctx, SimpleNamespace(study=study, storage=url), top_k=top_k, recheck_seeds=recheck_seeds,
                      alpha=alpha, importance=importance, bootstrap=bootstrap, jobs=jobs, timeout=None,
                      quiet=as_json, recheck=recheck)
    if not as_json:
        render_report(report)
    from trialwise.report._collect import sweep_experiments

    written = write_for(ctx, html, sweep_experiments(ctx.store, report), as_json, sweep=report, decisions=[],
                        title=f"trialwise sweep: {study}")
    if as_json:
        print_json(with_report(report, written))


@sweep_app.command("ls")
def ls_cmd(storage: str = typer.Option(None, help="Optuna storage URL (default: next to the trialwise store)."),
           as_json: bool = JsonOpt) -> None:
    """List the studies: trials by state and best value."""
    handle_errors(_ls)(storage=storage, as_json=as_json)


def _ls(storage: str | None, as_json: bool) -> None:
    import optuna

    from trialwise.tune import optuna_storage_url
    from trialwise.tune._study import META_ATTR, open_storage

    ctx = context()
    url = storage or optuna_storage_url(ctx.store.url)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rows = []
    for s in optuna.get_all_study_summaries(open_storage(url), include_best_trial=True):
        meta = s.user_attrs.get(META_ATTR) or {}
        rows.append({"study": s.study_name, "trials": s.n_trials, "direction": s.direction.name.lower(),
                     "best": s.best_trial.value if s.best_trial else None,
                     "best_params": s.best_trial.params if s.best_trial else None,
                     "commit": meta.get("commit"), "space": meta.get("space"), "seeds": meta.get("seeds"),
                     "metric": (meta.get("objective") or {}).get("metric")})
    if as_json:
        print_json(rows)
        return
    table = new_table(f"studies in {url or 'memory'}", title_justify="left")
    for col in ("study", "commit", "metric", "trials", "best", "space"):
        table.add_column(col)
    for r in rows:
        table.add_row(esc(r["study"]), esc((r["commit"] or "")[:8]), esc(r["metric"]), str(r["trials"]), fmt(r["best"]),
                      esc(" ".join(r["space"] or [])))
    console.print(table)


@sweep_app.command("suggest")
def suggest_cmd(
    name: list[str] = typer.Option(None, "--name", help="A parameter the script takes (repeatable), besides those "
                                   "found in trialwise.toml and the last run's tw.config."),
    seeds: int = typer.Option(2, "--seeds", "-n", help="--seeds of the suggested command."),
    profile: str = typer.Option(None, help="--profile of the suggested command."),
    as_json: bool = JsonOpt,
) -> None:
    """Propose a search space and order from the prior table (seed 004), the seed-004 defaults first."""
    handle_errors(_suggest)(name=name, seeds=seeds, profile=profile, as_json=as_json)


def _found_names(ctx: Any, extra: list[str]) -> dict[str, tuple[str, Any]]:
    """The script's parameters: --name, [params.map], profile/mode ``set``, the newest run's tw.config."""
    names: dict[str, tuple[str, Any]] = {}

    def add(name: str, source: str, value: Any) -> None:
        if name == "seed" or name == ctx.config.params.seed:
            return
        src, cur = names.get(name, (source, None))
        names[name] = (src, cur if cur is not None else value)

    for n in extra:
        add(n, "--name", None)
    for n in ctx.config.params.map:
        add(n, "[params.map]", None)
    for kind, table in (("profiles", ctx.config.profiles), ("modes", ctx.config.modes)):
        for section, body in table.items():
            for n, v in body.set.items():
                add(n, f"[{kind}.{section}].set", v)
    for exp in reversed(ctx.store.experiments()):
        runs = [r for r in ctx.store.runs(exp.id) if r.status == "completed"]
        if runs:
            for n, v in ctx.store.params(runs[-1].id).items():
                if isinstance(v, (int, float, str, bool)):
                    add(n, f"tw.config of run {runs[-1].id}", v)
            break
    return names


def _suggest(name: list[str] | None, seeds: int, profile: str | None, as_json: bool) -> None:
    from trialwise.tune import suggest_space

    ctx = context()
    result = suggest_space(_found_names(ctx, list(name or [])), seeds=seeds,
                           extra_args=["--profile", profile] if profile else [])
    if as_json:
        print_json(result)
        return
    table = new_table("suggested search (seed 004 sensitivity; seed 003: learning rate first, log scale)",
                  title_justify="left")
    for col in ("#", "parameter", "found in", "current", "prior", "search", "range", "first trial", "why"):
        table.add_column(col)
    for i, p in enumerate(result.params, 1):
        table.add_row(str(i), esc(p.name), esc(p.source), esc(fmt(p.current)),
                      esc(f"{p.sensitivity}" + (f" ({p.prior})" if p.prior else "")),
                      "[green]yes[/]" if p.search else "fixed", esc(p.spec or "—"),
                      esc(f"{fmt(p.default)} ({p.default_note})") if p.default_note else "—", esc(p.reason))
    console.print(table)
    for note in result.notes:
        console.print(f"[yellow]note:[/] {esc(note)}", highlight=False)
    console.print("first trial: " + esc(_short(result.first_trial)), highlight=False)
    console.print(f"[bold]{esc(result.command)}[/]", highlight=False, soft_wrap=True)


def register(command: Any, app: Any) -> None:
    app.add_typer(sweep_app, name="sweep")


__all__ = ["register", "render_report", "sweep_app"]
