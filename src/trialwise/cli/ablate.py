"""ablate, check-invasive, fidelity: parse, call :mod:`trialwise.ablate`, print (seed 001 #3, #5, #8)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from trialwise.cli._common import JsonOpt, console, context, esc, new_table, print_json
from trialwise.cli._core import launcher
from trialwise.cli.report import ReportOpt, with_report, write_for

VERDICT_STYLE = {"progression": "green", "likely progression": "green", "regression": "red",
                 "likely regression": "red", "synergy": "green", "antagonism": "red", "base": "dim"}
"""Colours of seed 001's words for an effect (anything else is printed plain)."""

CHECK_STYLE = {"non-invasive": "bold green", "invasive": "bold red", "cannot decide": "bold magenta"}


def _styled(verdict: str) -> str:
    style = VERDICT_STYLE.get(verdict)
    return f"[{style}]{esc(verdict)}[/]" if style else esc(verdict)


def ablate_cmd(
    changes: list[str] = typer.Argument(..., help="Change branches (one per change), merged in this order."),
    base: str = typer.Option(None, "--base", help="Base ref (default: config baseline.ref)."),
    seeds: int = typer.Option(None, "--seeds", "-n", help="Seeds per combination (default: config seeds)."),
    profile: str = typer.Option(None, help="Profile (e.g. fast; then --profile full for the top candidates)."),
    mode: str = typer.Option(None, help="Mode (a modes section of trialwise.toml)."),
    design: str = typer.Option("auto", help="auto | full | oat (one at a time + all) | fractional."),
    max_cells: int = typer.Option(None, help="Most cells --design auto may propose for more than 4 changes (default 32)."),
    alpha: float = typer.Option(0.05, help="1 - confidence level of the intervals."),
    jobs: int = typer.Option(None, help="Parallel runs."),
    report: Path = ReportOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Run every combination of the changes on the base; flag regression shadowing; recommend what to merge."""
    from trialwise.ablate import run_ablation
    from trialwise.ablate._design import DEFAULT_MAX_CELLS

    ctx = context()
    result = run_ablation(ctx.store, ctx.root, ctx.config, base or ctx.config.baseline.ref, changes,
                          execute=launcher(ctx, jobs, as_json), seeds=seeds, profile=profile, mode=mode,
                          design=design, alpha=alpha, max_cells=max_cells or DEFAULT_MAX_CELLS)
    if not as_json:
        _render_ablation(result)
    cells = [ctx.store.experiment(c.experiment_id) for c in result.cells]
    written = write_for(ctx, report, cells, as_json, ablation=result, decisions=[],
                        title=f"trialwise ablation: {', '.join(result.changes)} on {result.base_ref}")
    if as_json:
        print_json(with_report(result, written))


def _render_ablation(r: Any) -> None:
    from trialwise.ablate._common import fmt

    a = r.analysis
    d = a.decimals
    level = f"{1 - a.alpha:.0%}"
    console.print(f"[bold]{esc(r.design.name)}[/]: " + esc(f"{len(r.cells)} cells of {', '.join(r.changes)} on "
                  f"{r.base_ref} ({r.base_commit[:8]}); {r.metric} ({r.direction}), positive effect = better"),
                  highlight=False)
    for note in r.notes:
        console.print(f"[dim]{esc(note)}[/]", highlight=False)
    table = new_table("combinations", title_justify="left")
    for col in ("cell", "commit", "n", f"mean ({level} CI)", "vs base", f"{level} CI", "verdict", "reused"):
        table.add_column(col)
    for c, cell in zip(r.cells, a.cells):
        s, v = c.summary, cell.vs_base
        table.add_row(esc(c.label), c.commit[:8], f"{s.n}" + (f" ({s.n_failed} failed)" if s.n_failed else ""),
                      f"{fmt(s.mean, d)} ({fmt(s.ci_low, d)} – {fmt(s.ci_high, d)})",
                      fmt(v.estimate, d, sign=True) if v else "—",
                      f"{fmt(v.ci_low, d, sign=True)} – {fmt(v.ci_high, d, sign=True)}" if v else "—",
                      _styled(c.verdict), f"{c.reused}/{len(c.seeds)}")
    console.print(table)
    effects = new_table(f"effects (seed-to-seed sd {fmt(a.pooled_std, d)}, {a.df_error} df)", title_justify="left")
    for col in ("effect", "kind", "estimate", f"{level} CI", "p", "P(worse)", "verdict"):
        effects.add_column(col)
    from trialwise.ablate._factorial import _verdict

    for e in (*a.effects, *a.simple_effects):
        kind = "alone vs base" if e.kind == "simple" else e.kind
        alias = f" (= {', '.join(e.aliases)})" if e.aliases else ""
        effects.add_row(esc(e.label + alias), esc(kind), fmt(e.estimate, d, sign=True),
                        f"{fmt(e.ci_low, d, sign=True)} – {fmt(e.ci_high, d, sign=True)}", fmt(e.p_value, 3),
                        fmt(e.p_worse, 2), _styled(_verdict(e)))
    console.print(effects)
    style = "bold red" if r.shadowing.flags else "green"
    for line in r.shadowing.summary:
        console.print(f"[{style}]shadowing:[/] {esc(line)}", highlight=False)
    for i, line in enumerate(r.subset.summary):
        console.print(f"[bold]{'recommendation:' if i == 0 else '               '}[/] {esc(line)}", highlight=False)
    for w in r.warnings:
        console.print(f"[yellow]warning:[/] {esc(w)}", highlight=False)


def check_invasive_cmd(
    change: str = typer.Option(..., "--change", help="The change branch."),
    target_mode: str = typer.Option(..., "--target-mode", help="The mode the change is meant for."),
    base: str = typer.Option(None, "--base", help="Base ref (default: config baseline.ref)."),
    profile: str = typer.Option(None, help="Profile for the dry runs and --run."),
    run: bool = typer.Option(False, "--run", help="Also run every other mode of base and change and compare (Holm)."),
    seeds: int = typer.Option(None, "--seeds", "-n", help="Seeds per arm with --run (default: config seeds)."),
    alpha: float = typer.Option(0.05, help="Significance level with --run."),
    jobs: int = typer.Option(None, help="Parallel runs."),
    as_json: bool = JsonOpt,
) -> None:
    """Does a change for one mode alter other modes? Exit 0 non-invasive, 1 invasive, 2 cannot decide."""
    from trialwise.ablate import check_invasive

    ctx = context()
    result = check_invasive(ctx.store, ctx.root, ctx.config, base or ctx.config.baseline.ref, change, target_mode,
                            execute=launcher(ctx, jobs, as_json), profile=profile, run=run, seeds=seeds, alpha=alpha)
    if as_json:
        print_json(result)
    else:
        _render_invasive(result)
    raise typer.Exit(result.exit_code)


def _render_invasive(r: Any) -> None:
    from trialwise.ablate._invasive import _text
    from trialwise.cli.decide import render_decision

    table = new_table(f"resolved config (dry run): {r.base_ref} → {r.change_ref}", title_justify="left")
    for col in ("mode", "status", "key", r.base_ref, r.change_ref):
        table.add_column(esc(col))
    for diff in r.report.target_diffs:
        table.add_row(esc(r.target_mode), "target", esc(diff.key), esc(_text(diff.old)), esc(_text(diff.new)))
    for m in r.report.invaded:
        for diff in m.diffs or ():
            table.add_row(f"[red]{esc(m.mode)}[/]", f"[red]{esc(m.status)}[/]", esc(diff.key), esc(_text(diff.old)),
                          esc(_text(diff.new)))
    for m in r.report.unchanged_modes:
        table.add_row(esc(m), "target" if m == r.target_mode else "unchanged", "—", "", "")
    console.print(table)
    if r.decisions is not None:
        for d in r.decisions.decisions:
            render_decision(d)
        for note in r.decisions.notes:
            console.print(f"[dim]{esc(note)}[/]")
    console.print(f"[{CHECK_STYLE[r.verdict]}]{esc(r.verdict)}[/]: {esc(r.reason)}", highlight=False)


def fidelity_cmd(
    fast: str = typer.Option("fast", help="Profile of the fast training cycle."),
    full: str = typer.Option("full", help="Profile of the full training cycle."),
    against: str = typer.Option(None, help="Each change's baseline is its merge-base with this ref "
                                           "(default: config baseline.ref)."),
    as_json: bool = JsonOpt,
) -> None:
    """Does the fast profile reflect the full one? Speed-up, sign agreement and Kendall τ over stored pairs."""
    from trialwise.ablate import store_fidelity
    from trialwise.ablate._common import decimals_for, fmt

    ctx = context()
    result = store_fidelity(ctx.store, ctx.root, ctx.config, fast=fast, full=full, against=against)
    if as_json:
        print_json(result)
        return
    rep = result.report
    d = decimals_for(min((abs(p.full_effect) for p in rep.pairs if p.full_effect), default=0.0))
    table = new_table(f"fidelity of '{fast}' against '{full}' ({result.metric}, positive = better)",
                  title_justify="left")
    for col in ("change", "baseline", f"{fast} effect", f"{full} effect", "same sign", f"{fast} s", f"{full} s",
                "speed-up"):
        table.add_column(esc(col))
    for p, e in zip(rep.pairs, result.entries):
        table.add_row(esc(p.name), e.baseline_commit[:8], fmt(p.fast_effect, d, sign=True), fmt(p.full_effect, d, sign=True),
                      "yes" if p.agrees else "[red]no[/]", f"{p.fast_seconds:.2f}", f"{p.full_seconds:.2f}",
                      f"{p.speedup:.1f}×")
    console.print(table)
    for line in rep.summary:
        style = "yellow" if line.startswith("warning") else "dim" if line.startswith("note") else "bold"
        console.print(f"[{style}]{esc(line)}[/]", highlight=False)
    for s in result.skipped:
        console.print(f"[dim]skipped {esc(s)}[/]", highlight=False)


def register(command: Any, app: Any) -> None:
    """Register ``ablate``, ``check-invasive`` and ``fidelity``."""
    command("ablate", ablate_cmd)
    command("check-invasive", check_invasive_cmd)
    command("fidelity", fidelity_cmd)
