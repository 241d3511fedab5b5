"""compare, baseline (and baseline history), gate."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer

from trialwise.cli._common import EXIT_ERROR, EXIT_INTERRUPTED, JsonOpt, console, context, esc, fmt, new_table, print_json
from trialwise.cli._core import launcher
from trialwise.cli.report import ReportOpt, with_report, write_for

VERDICT_STYLE = {"progression": "bold green", "regression": "bold red", "no detectable difference": "bold yellow",
                 "insufficient data": "bold magenta", "refused": "bold red"}

baseline_app = typer.Typer(help="Re-run the baseline when stale; `baseline history` shows it over time.",
                           invoke_without_command=True, no_args_is_help=False)


def _experiment_for(ctx: Any, token: str, profile: str | None, mode: str | None, create: bool) -> Any:
    """The stored experiment ``token`` names; with ``create``, a ref never run becomes a new one."""
    from trialwise._exceptions import UsageError
    from trialwise.runner import LaunchSpec, prepare
    from trialwise.store._select import select_experiment

    try:
        return select_experiment(ctx.store, ctx.root, token, profile=profile, mode=mode)
    except UsageError:
        if not create:
            raise
        return prepare(LaunchSpec(root=ctx.root, config=ctx.config, ref=token, profile=profile, mode=mode)).experiment


def _runner(ctx: Any, jobs: int | None, quiet: bool) -> Any:
    """``run_seeds(exp, seeds)``: run the missing ``seeds`` of a stored experiment."""
    from trialwise.runner import spec_for_experiment

    launch = launcher(ctx, jobs, quiet)

    def run_seeds(exp: Any, seeds: list[int]) -> None:
        launch(spec_for_experiment(exp, ctx.root, ctx.config, seeds=seeds))

    return run_seeds


def render_decision(d: Any) -> None:
    c = d.comparison
    title = f"{d.label + ': ' if d.label else ''}{d.metric} ({d.direction}) — {d.base.label} → {d.cand.label}"
    if c is not None:
        table = new_table(title, title_justify="left")
        for col in ("arm", "n", "failed", "mean", "std", "95% CI"):
            table.add_column(col)
        for arm in (c.arm_a, c.arm_b):
            table.add_row(esc(arm.label), str(arm.n), str(arm.n_failed), fmt(arm.mean), fmt(arm.std),
                          f"{fmt(arm.ci_low)} – {fmt(arm.ci_high)}")
        console.print(table)
        p = d.p_adjusted if d.p_adjusted is not None else c.p_value
        console.print(
            f"difference {fmt(c.diff)} (95% bootstrap CI {fmt(c.diff_ci_low)} to {fmt(c.diff_ci_high)}), "
            f"Hedges' g {fmt(c.hedges_g, 3)}, P(B better) {fmt(c.p_improvement, 3)}, {esc(c.test)} p = {fmt(p, 3)}"
            + (" (Holm)" if d.p_adjusted is not None else "")
        )
        console.print(f"smallest detectable effect at this n (80% power): {fmt(c.mde)}; "
                      f"seeds per arm to detect the observed difference: {c.seeds_needed or '—'}")
    else:
        console.print(f"[bold]{esc(title)}[/]")
    if d.checks.launch_diff:
        console.print("launched differently: " + "; ".join(
            f"{esc(k)}: {esc(str(a) or '—')} → {esc(str(b) or '—')}" for k, a, b in d.checks.launch_diff),
            highlight=False)
    for w in d.checks.warnings:
        console.print(f"[yellow]warning:[/] {esc(w)}", highlight=False)
    for r in d.checks.refusals:
        console.print(f"[red]refused:[/] {esc(r)}", highlight=False)
    if d.verdict == "refused" and d.checks.refusals:  # the reasons are listed just above
        n = len(d.checks.refusals)
        console.print(f"[{VERDICT_STYLE['refused']}]refused[/]: no verdict ({'the reason' if n == 1 else f'{n} reasons'} "
                      "above)", highlight=False)
    else:
        console.print(f"[{VERDICT_STYLE.get(d.verdict, 'bold')}]{esc(d.verdict)}[/]: {esc(d.sentence)}", highlight=False)


def compare_cmd(
    baseline: str = typer.Argument(..., help="Baseline: experiment id/name/tag or git ref."),
    candidate: str = typer.Argument(..., help="Candidate: experiment id/name/tag or git ref."),
    metric: list[str] = typer.Option(None, "--metric", help="Metric(s) to decide on (default: config), NAME or NAME:max|min. Several: Holm."),
    alternative: str = typer.Option("two-sided", help="two-sided | greater (B better) | less (B worse)."),
    alpha: float = typer.Option(0.05, help="Significance level."),
    test: str = typer.Option("welch", help="welch | student | paired | mannwhitney."),
    paired: bool = typer.Option(False, help="Seeds pair across arms (paired t-test)."),
    profile: str = typer.Option(None, help="Only experiments of this profile."),
    mode: str = typer.Option(None, help="Only experiments of this mode."),
    all_modes: bool = typer.Option(False, help="Decide over every configured mode (Holm-corrected)."),
    strict: bool = typer.Option(False, help="Warnings (stale baseline, environment differences) refuse too."),
    until_decided: bool = typer.Option(False, help="Add seeds in rounds until a sequential test decides."),
    max_seeds: int = typer.Option(20, help="Most seeds per arm with --until-decided."),
    min_seeds: int = typer.Option(3, help="Seeds per arm at the first look with --until-decided."),
    effect_size: float = typer.Option(1.0, help="Cohen's d the sequential design is powered for (80%)."),
    round_size: int = typer.Option(1, help="Seeds added per arm between looks with --until-decided: 1 spends the "
                                           "fewest seeds, more run in parallel (see benchmarks/results/sequential.md)."),
    jobs: int = typer.Option(None, help="Parallel runs when seeds are added."),
    report: Path = ReportOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Decide whether the candidate is a progression, a regression, or indistinguishable."""
    from trialwise.decide import decide, holm_adjust, run_until_decided

    ctx = context()
    if paired:
        test = "paired"
    # without --metric, each experiment's own (from its commit's trialwise.toml) decides
    specs = [_metric_spec(token, ctx.config.metric) for token in metric] if metric else [(None, None)]
    modes = sorted(ctx.config.modes) if all_modes else [mode]
    if until_decided:
        from trialwise.stats import sequential_design

        design = sequential_design(alpha=alpha, effect_size=effect_size, alternative=alternative,
                                   min_seeds=min_seeds, max_seeds=max_seeds, round_size=round_size)
        outcomes = {}
        for m in modes:
            a = _experiment_for(ctx, baseline, profile, m, create=True)
            b = _experiment_for(ctx, candidate, profile, m, create=True)
            outcomes[m] = run_until_decided(ctx.store, ctx.root, a, b, metric=specs[0][0] or b.metric_name,
                                            direction=specs[0][1] or b.metric_direction, design=design,
                                            run_seeds=_runner(ctx, jobs, as_json), max_age_days=ctx.config.baseline.max_age_days)
            if not as_json:
                o = outcomes[m]
                console.print(f"sequential test{esc(f' [{m}]') if m else ''}: stopped at {o.seeds_per_arm} seeds per "
                              f"arm after {len(o.looks)} look(s): [bold]{esc(o.decision)}[/]", highlight=False)
    decisions = []
    for m in modes:
        a = _experiment_for(ctx, baseline, profile, m, create=False)
        b = _experiment_for(ctx, candidate, profile, m, create=False)
        for name, direction_m in specs:
            decisions.append(decide(ctx.store, ctx.root, a, b, metric=name, direction=direction_m, alternative=alternative,
                                    alpha=alpha, test=test, max_age_days=ctx.config.baseline.max_age_days, strict=strict,
                                    label=" / ".join(x for x in (m, name if len(specs) > 1 else None) if x)))
    result = holm_adjust(decisions, alpha)
    arms = [e for d in result.decisions for e in (d.base.experiment, d.cand.experiment)]
    written = write_for(ctx, report, arms, as_json, decisions=result.decisions, decision_notes=result.notes)
    if as_json:
        out = with_report(result.to_dict(), written)
        if until_decided:
            out["sequential"] = {str(k): v.to_dict() for k, v in outcomes.items()}
        print_json(out)
    else:
        for d in result.decisions:
            render_decision(d)
        for note in result.notes:
            console.print(f"[dim]{esc(note)}[/]")
    if result.undecided is not None:  # refused or insufficient data: no verdict, as `gate` exits
        raise typer.Exit(EXIT_ERROR)


MIN_METRIC_WORDS = ("loss", "error", "err", "perplexity", "wer", "cer", "mse", "mae")
"""A secondary metric whose name contains one of these is minimised unless ``NAME:max`` says otherwise."""


def _metric_spec(token: str, metric: Any) -> tuple[str, str]:
    """``(name, direction)`` of a ``--metric`` value: ``NAME``, ``NAME:max`` or ``NAME:min``."""
    name, _, suffix = token.rpartition(":")
    if suffix in ("max", "min") and name:
        return name, suffix
    if token == metric.name:
        return token, metric.direction
    lowered = token.lower()
    return token, "min" if any(k in lowered for k in MIN_METRIC_WORDS) else "max"


@baseline_app.callback()
def baseline_cmd(
    typer_ctx: typer.Context,
    ref: str = typer.Option(None, help="Baseline ref (default: config baseline.ref)."),
    seeds: int = typer.Option(None, "--seeds", "-n", help="Seeds (default: config seeds)."),
    profile: str = typer.Option(None, help="Profile."),
    mode: str = typer.Option(None, help="Mode."),
    all_modes: bool = typer.Option(False, help="Every configured mode."),
    if_stale: bool = typer.Option(False, help="Only re-run when the newest baseline is stale."),
    jobs: int = typer.Option(None, help="Parallel runs."),
    as_json: bool = JsonOpt,
) -> None:
    """Re-run the baseline from its ref's tip with the same seeds (pattern #9)."""
    if typer_ctx.invoked_subcommand is not None:
        return
    from trialwise.cli._common import handle_errors

    handle_errors(_baseline)(ref=ref, seeds=seeds, profile=profile, mode=mode, all_modes=all_modes,
                             if_stale=if_stale, jobs=jobs, as_json=as_json)


def _baseline(ref: str | None, seeds: int | None, profile: str | None, mode: str | None, all_modes: bool,
              if_stale: bool, jobs: int | None, as_json: bool) -> None:
    import time

    from trialwise.cli._core import execute, render_experiment
    from trialwise.decide import BASELINE_KIND, staleness
    from trialwise.runner import LaunchSpec, make_backend


    ctx = context()
    ref = ref or ctx.config.baseline.ref
    out = []
    for m in (sorted(ctx.config.modes) if all_modes else [mode]):
        reasons = staleness(ctx.store, ctx.root, ref, profile, m, ctx.config.baseline.max_age_days)
        if if_stale and not reasons:
            out.append({"mode": m, "stale": False, "reasons": [], "ran": None})
            if not as_json:
                console.print(esc(f"baseline {ref}{f' [{m}]' if m else ''} is fresh: nothing to run"), highlight=False)
            continue
        if not as_json and reasons:
            console.print(esc(f"baseline {ref}{f' [{m}]' if m else ''} is stale: " + "; ".join(reasons)), highlight=False)
        spec = LaunchSpec(root=ctx.root, config=ctx.config, ref=ref, profile=profile, mode=m, n_seeds=seeds,
                          kind=BASELINE_KIND, rerun=True, batch=f"{time.time():.6f}")
        res = execute(ctx, spec, make_backend(ctx.config, jobs), quiet=as_json)
        out.append({"mode": m, "stale": bool(reasons), "reasons": reasons, "ran": res.to_dict()})
        if not as_json:
            render_experiment(ctx, res.experiment, res.runs)
        if res.interrupted:
            raise typer.Exit(EXIT_INTERRUPTED)
    if as_json:
        print_json(out)


@baseline_app.command("history")
def history_cmd(
    ref: str = typer.Option(None, help="Baseline ref (default: config baseline.ref)."),
    profile: str = typer.Option(None, help="Profile."),
    mode: str = typer.Option(None, help="Mode."),
    alpha: float = typer.Option(0.05, help="Significance level for external-factor flags."),
    as_json: bool = JsonOpt,
) -> None:
    """The baseline metric over time per commit and environment; flags external factors."""
    from trialwise.cli._common import handle_errors

    handle_errors(_history)(ref=ref, profile=profile, mode=mode, alpha=alpha, as_json=as_json)


def _history(ref: str | None, profile: str | None, mode: str | None, alpha: float, as_json: bool) -> None:
    import datetime as dt

    from trialwise.decide import history

    ctx = context()
    ref = ref or ctx.config.baseline.ref
    entries = history(ctx.store, ref, ctx.config.metric.name, ctx.config.metric.direction, profile=profile, mode=mode, alpha=alpha)
    if as_json:
        print_json(entries)
        return
    table = new_table(f"baseline history of {ref}: {ctx.config.metric.name}", title_justify="left")
    for col in ("when", "commit", "environment", "hosts", "n", "mean ± std", "note"):
        table.add_column(col)
    for e in entries:
        when = dt.datetime.fromtimestamp(e.created_at).strftime("%Y-%m-%d %H:%M")
        style = "red" if e.external_factor else ""
        table.add_row(when, e.commit[:8], esc(e.env_hash or "—"), esc(",".join(e.hosts)), str(e.n),
                      f"{fmt(e.mean)} ± {fmt(e.std)}", f"[{style}]{esc(e.note)}[/]" if e.note else "")
    console.print(table)


def gate_cmd(
    against: str = typer.Option(None, "--against", help="Baseline ref (default: config baseline.ref)."),
    require: str = typer.Option("non-regression", help="progression | non-regression."),
    all_modes: bool = typer.Option(False, help="Decide over every configured mode (Holm-corrected)."),
    profile: str = typer.Option(None, help="Profile to run (e.g. fast)."),
    seeds: int = typer.Option(None, "--seeds", "-n", help="Seeds per arm (default: config)."),
    alpha: float = typer.Option(0.05, help="Significance level."),
    strict: bool = typer.Option(False, help="Environment differences refuse too."),
    markdown: Path = typer.Option(None, help="Write the Markdown summary here (default: $GITHUB_STEP_SUMMARY if set)."),
    jobs: int = typer.Option(None, help="Parallel runs."),
    as_json: bool = JsonOpt,
) -> None:
    """CI merge gate: run or reuse fresh results for HEAD and the baseline, decide, exit 0/1/2."""
    from trialwise._exceptions import TrialwiseError, UsageError
    from trialwise.cli._core import execute
    from trialwise.decide import EXIT_UNDECIDED, REQUIREMENTS, GateResult, decide, holm_adjust, judge, markdown_summary
    from trialwise.decide._arms import SECONDS_PER_DAY
    from trialwise.runner import LaunchSpec, make_backend


    if require not in REQUIREMENTS:
        raise UsageError(f"--require must be one of {', '.join(REQUIREMENTS)}, got '{require}'")
    ctx = context()
    against = against or ctx.config.baseline.ref
    import time

    decisions = []
    try:
        for m in (sorted(ctx.config.modes) if all_modes else [None]):
            exps = []
            for ref in (against, "HEAD"):
                spec = LaunchSpec(root=ctx.root, config=ctx.config, ref=ref, profile=profile, mode=m, n_seeds=seeds)
                res = execute(ctx, spec, make_backend(ctx.config, jobs), quiet=as_json)
                old = [r for r in res.runs if r.id in res.reused and (time.time() - (r.ended_at or 0)) / SECONDS_PER_DAY > ctx.config.baseline.max_age_days]
                if old:  # reused results past baseline.max_age_days are not fresh: run again
                    res = execute(ctx, LaunchSpec(**{**spec.__dict__, "rerun": True}), make_backend(ctx.config, jobs), quiet=as_json)
                if res.interrupted:
                    raise typer.Exit(EXIT_INTERRUPTED)
                exps.append(res.experiment)
            decisions.append(decide(ctx.store, ctx.root, exps[0], exps[1], alpha=alpha,
                                    max_age_days=ctx.config.baseline.max_age_days, strict=strict, label=m or ""))
    except TrialwiseError as exc:
        message = f"cannot decide: {exc}"
        if as_json:
            print_json({"exit_code": EXIT_UNDECIDED, "reason": message})
        else:
            console.print(f"[red]{esc(message)}[/]", highlight=False)
        raise typer.Exit(EXIT_UNDECIDED) from None
    result = holm_adjust(decisions, alpha)
    code, reason = judge(result, require)
    md = markdown_summary(result, require, code, reason)
    target = markdown or (Path(os.environ["GITHUB_STEP_SUMMARY"]) if os.environ.get("GITHUB_STEP_SUMMARY") else None)
    if target is not None:
        with open(target, "a", encoding="utf-8") as fh:
            fh.write(md)
    gate = GateResult(result, require, code, reason, md)
    if as_json:
        print_json(gate)
    else:
        for d in result.decisions:
            render_decision(d)
        console.print(f"[bold]gate:[/] {esc(reason)}", highlight=False)
    raise typer.Exit(code)


def register(command: Any, app: Any) -> None:
    command("compare", compare_cmd)
    command("gate", gate_cmd)
    app.add_typer(baseline_app, name="baseline")
