"""diagnose, doctor, biasvar, datasize: parse, call :mod:`trialwise.diagnose`, print."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from trialwise.cli._common import JsonOpt, console, context, esc, fmt, new_table, print_json
from trialwise.cli._core import launcher
from trialwise.cli.report import ReportOpt, with_report, write_for

SEVERITY_STYLE = {"critical": "bold red", "high": "red", "warning": "yellow", "info": "cyan"}
VERDICT_STYLE = {"confirmed": "bold green", "rejected": "bold red", "not confirmed": "bold yellow",
                 "inconclusive": "bold magenta"}
MAX_CAUSES_SHOWN = 3
"""Ranked causes printed per finding (all are in ``--json``)."""


def _percent(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


# -- diagnose --------------------------------------------------------------------------------------

def render_diagnosis(sd: Any) -> None:
    d = sd.diagnosis
    what = f"run {sd.run_ids[0][:8]} of {sd.experiment}" if sd.single_run else sd.experiment
    console.print(f"[bold]diagnose {esc(what)}[/] — {d.n_runs} run(s), seeds {', '.join(map(str, sd.seeds))}", highlight=False)
    if d.healthy:
        console.print(f"[bold green]nothing found:[/] no known failure mode in {d.n_runs} run(s) "
                      f"({len(d.checked)} detectors looked)", highlight=False)
    for i, f in enumerate(d.findings, 1):
        style = SEVERITY_STYLE.get(f.severity, "bold")
        console.print(f"\n[{style}]{i}. {esc(f.severity.upper())} {esc(f.code)}[/] — {esc(f.verdict)}"
                      + (f" [dim](usually caused by {esc(f.explained_by)}, above)[/]" if f.explained_by else ""),
                      highlight=False)
        for line in f.evidence:
            console.print(f"   {line}", highlight=False, markup=False)
        if f.rule:
            console.print(f"   [dim]rule: {esc(f.rule)}[/]", highlight=False)
        for rank, c in enumerate(f.causes[:MAX_CAUSES_SHOWN], 1):
            confirm = f" [dim](doctor --confirm: {esc(c.confirm.describe())})[/]" if c.confirm else ""
            console.print(f"   cause {rank}: {esc(c.cause)}{confirm}", highlight=False)
        if len(f.causes) > MAX_CAUSES_SHOWN:
            console.print(f"   [dim]... {len(f.causes) - MAX_CAUSES_SHOWN} more cause(s) in --json[/]")
        console.print(f"   [bold]next:[/] {esc(f.next_diagnostic)}", highlight=False)
        for line in f.would_decide:
            console.print(f"   [bold]would decide:[/] {esc(line)}", highlight=False)
    if d.not_checked:
        not_checked = ', '.join(f'{k} ({v})' for k, v in sorted(d.not_checked.items()))
        console.print(f"\n[dim]not checked: {esc(not_checked)}[/]", highlight=False)
    for note in d.notes:
        console.print(f"[dim]note: {esc(note)}[/]", highlight=False)


NumClassesOpt = typer.Option(None, "--num-classes", min=2,
                             help="Number of classes, for chance level 1/C and ln C (default: n_classes from "
                                  "tw.config, the run's data files or the loss at step 0).")


def diagnose_cmd(
    target: str = typer.Argument(..., help="Run id, or experiment (id, name, tag, git ref): every seed."),
    chance: float = typer.Option(None, help="Chance accuracy (default 1 / n_classes from tw.config)."),
    num_classes: int = NumClassesOpt,
    report: Path = ReportOpt,
    ignore: list[str] = typer.Option([], "--ignore", help="Leave out series whose names start with this "
                                     "(repeatable; 'probe/': what the script's own series alone say)."),
    as_json: bool = JsonOpt,
) -> None:
    """Name training failure modes from the stored curves and probes, by severity, with causes."""
    from trialwise.diagnose import diagnose_stored

    ctx = context()
    sd = diagnose_stored(ctx.store, ctx.root, target, ctx.config, chance=chance, ignore=tuple(ignore),
                         n_classes=num_classes)
    if as_json:
        written = write_for(ctx, report, [ctx.store.experiment(sd.experiment_id)], True, diagnoses=[sd], decisions=[])
        print_json(with_report(sd, written))
    else:
        render_diagnosis(sd)
        write_for(ctx, report, [ctx.store.experiment(sd.experiment_id)], False, diagnoses=[sd], decisions=[])


# -- doctor ----------------------------------------------------------------------------------------

def doctor_cmd(
    target: str = typer.Argument(..., help="Run id or experiment whose findings to confirm."),
    confirm: bool = typer.Option(False, "--confirm", help="Run the confirmatory experiments (else: print the plan)."),
    seeds: int = typer.Option(None, "--seeds", "-n", help="Seeds per arm (default: as many as the original, >= 2)."),
    profile: str = typer.Option(None, help="Profile for both arms (e.g. fast; default: the original's)."),
    findings: int = typer.Option(2, help="Root findings whose causes are tested."),
    causes: int = typer.Option(2, help="Causes tested per finding."),
    chance: float = typer.Option(None, help="Chance accuracy (default 1 / n_classes)."),
    num_classes: int = NumClassesOpt,
    alpha: float = typer.Option(0.05, help="Significance level of each comparison."),
    jobs: int = typer.Option(None, help="Parallel runs."),
    as_json: bool = JsonOpt,
) -> None:
    """Turn the catalog's diagnostics into experiments: run each suspected cause's fix with seeds."""
    from trialwise.diagnose import run_confirmations

    ctx = context()
    report = run_confirmations(ctx.store, ctx.root, target, ctx.config, launch=launcher(ctx, jobs, as_json),
                               seeds=seeds, profile=profile, findings=findings, causes=causes, confirm=confirm,
                               chance=chance, alpha=alpha, n_classes=num_classes)
    if as_json:
        print_json(report)
        return
    render_diagnosis(report.diagnosed)
    if report.plan:
        table = new_table("confirmatory experiments" + ("" if confirm else " (plan: pass --confirm to run)"),
                      title_justify="left")
        for col in ("finding", "cause", "change", "current", "read from", "new", "runnable"):
            table.add_column(col)
        for h in report.plan:
            table.add_row(esc(h.code), esc(h.cause_id), esc(h.change), esc(fmt(h.current)), esc(h.source or "—"),
                          esc(fmt(h.value)), "yes" if h.runnable else f"no: {esc(h.reason)}")
        console.print(table)
    if report.baseline:
        console.print(f"baseline arm: {esc(report.baseline)}", highlight=False)
    for c in report.results:
        console.print(f"[{VERDICT_STYLE.get(c.verdict, 'bold')}]{esc(c.verdict)}[/] "
                      + esc(f"{c.hypothesis.cause_id} ({c.hypothesis.code}): {c.sentence}"), highlight=False)
    console.print(f"[bold]{esc(report.summary)}[/]", highlight=False)
    for note in report.notes:
        console.print(f"[dim]{esc(note)}[/]", highlight=False)


# -- biasvar ---------------------------------------------------------------------------------------

def render_biasvar(r: Any, title: str) -> None:
    table = new_table(title, title_justify="left")
    for col in ("component", "error", "± se", "counts"):
        table.add_column(col)
    rows = [("goal (irreducible)", r.goal), ("train", r.train), ("validation", r.val)]
    if r.test_val is not None:
        rows.append(("test-val", r.test_val))
    if r.test is not None:
        rows.append(("test", r.test))
    errors = new_table("errors", title_justify="left")
    errors.add_column("split")
    errors.add_column("error")
    for name, v in rows:
        errors.add_row(esc(name), _percent(v))
    console.print(errors)
    for c in r.components:
        table.add_row(esc(c.name), _percent(c.value), _percent(c.se) if c.se is not None else "—",
                      "[bold]yes[/]" if c.significant else "no")
    console.print(table)
    console.print(f"[bold]diagnosis:[/] {esc(r.diagnosis)}", highlight=False)
    for i, s in enumerate(r.plan, 1):
        mark = "[bold red]→[/]" if s.applies else "[dim]·[/]"
        console.print(f"{mark} {i}. {esc(s.title)}: {esc(s.reason)}", highlight=False)
        if s.applies:
            for rem in s.remedies:
                console.print(f"      - {rem}", highlight=False, markup=False)


def biasvar_cmd(
    goal: float = typer.Option(None, help="Goal (irreducible) error in % (default: 1 - metric.goal)."),
    train: float = typer.Option(None, help="Training error in %."),
    val: float = typer.Option(None, help="Validation error in %."),
    test: float = typer.Option(None, help="Test error in %."),
    test_val: float = typer.Option(None, help="Error in % on a held-out split drawn like the test data."),
    run: str = typer.Option(None, "--run", help="Take the errors from this run/experiment's logged accuracies."),
    as_json: bool = JsonOpt,
) -> None:
    """Seed 004's bias-variance decomposition and the ordered plan (underfitting first)."""
    from trialwise._exceptions import UsageError
    from trialwise.diagnose import biasvar, biasvar_stored

    explicit = {"train": train, "val": val, "test": test, "test_val": test_val}
    g = None if goal is None else goal / 100.0
    if run is not None:
        given = [f"--{k.replace('_', '-')}" for k, v in explicit.items() if v is not None]
        if given:
            raise UsageError(f"biasvar takes either --run or the errors, not both (got --run and {', '.join(given)})")
        ctx = context()
        stored = biasvar_stored(ctx.store, ctx.root, run, ctx.config, goal=g)
        if as_json:
            print_json(stored)
        else:
            render_biasvar(stored.report, f"bias-variance of {stored.experiment} ({len(stored.seeds)} seed(s))")
        return
    if train is None or val is None:
        raise UsageError("biasvar needs --train and --val (errors in %, e.g. --goal 1 --train 20 --val 27 --test 28) "
                         "or --run RUN")
    if g is None:
        from trialwise.diagnose._orchestrate import goal_error

        g = goal_error(context().config)
    pct = {k: (None if v is None else v / 100.0) for k, v in explicit.items()}
    report = biasvar(g, pct["train"], pct["val"], pct["test"], test_val=pct["test_val"])
    if as_json:
        print_json(report)
    else:
        render_biasvar(report, "bias-variance decomposition (seed 004)")


# -- datasize --------------------------------------------------------------------------------------

def _render_pac(bounds: list[Any]) -> None:
    for b in bounds:
        console.print(f"PAC bound: m >= [bold]{b.m}[/] examples for error {b.epsilon:g} with probability "
                      f"{1 - b.delta:g} ({esc(b.formula)})", highlight=False)
    for cav in dict.fromkeys(c for b in bounds for c in b.caveats):
        console.print(f"   [dim]caveat: {esc(cav)}[/]", highlight=False)


def datasize_cmd(
    fractions: str = typer.Option("0.1,0.25,0.5,1", help="Data fractions to run (data_fraction via [params])."),
    seeds: int = typer.Option(None, "--seeds", "-n", help="Seeds per fraction (default: config seeds, >= 2)."),
    goal: float = typer.Option(None, help="Goal on metric.name (e.g. 0.99 accuracy; default metric.goal)."),
    ref: str = typer.Option("HEAD", help="Ref to run."),
    profile: str = typer.Option(None, help="Profile (e.g. fast)."),
    n_full: int = typer.Option(None, help="Training-set size at fraction 1 (when the script does not report n_train)."),
    no_run: bool = typer.Option(False, "--no-run", help="Only the calculators: run no learning curve."),
    n_classes: int = typer.Option(None, help="Classes, for seed 000's 1000-per-class rule."),
    dof: int = typer.Option(None, help="Degrees of freedom (trainable parameters), for the 10x rule."),
    pac_epsilon: float = typer.Option(0.05, help="PAC: error epsilon."),
    pac_delta: float = typer.Option(0.05, help="PAC: failure probability delta."),
    pac_hypotheses: float = typer.Option(None, help="PAC, finite class: |H|."),
    pac_ln_hypotheses: float = typer.Option(None, help="PAC, finite class: ln |H| (for huge classes)."),
    pac_vc: float = typer.Option(None, help="PAC: VC dimension."),
    jobs: int = typer.Option(None, help="Parallel runs."),
    as_json: bool = JsonOpt,
) -> None:
    """Is there enough data?  A learning curve over data fractions, extrapolated to the goal; rules of thumb and PAC bounds."""
    from trialwise._exceptions import UsageError
    from trialwise.diagnose import data_heuristics, pac_finite, pac_vc as pac_vc_bound, run_datasize

    try:
        fr = [float(x) for x in fractions.split(",") if x.strip()]
    except ValueError:
        raise UsageError(f"--fractions takes comma-separated numbers in (0, 1], e.g. 0.1,0.25,0.5,1; got '{fractions}'") from None
    bounds = []
    if pac_hypotheses is not None or pac_ln_hypotheses is not None:
        bounds.append(pac_finite(pac_epsilon, pac_delta, n_hypotheses=pac_hypotheses, ln_hypotheses=pac_ln_hypotheses))
    if pac_vc is not None:
        bounds.append(pac_vc_bound(pac_epsilon, pac_delta, pac_vc))
    report = None
    heur = None
    if no_run:
        heur = data_heuristics(n_classes=n_classes, degrees_of_freedom=dof)
    else:
        ctx = context()
        report = run_datasize(ctx.store, ctx.root, ctx.config, launch=launcher(ctx, jobs, as_json), fractions=fr,
                              seeds=seeds, ref=ref, profile=profile, goal=goal, n_full=n_full, n_classes=n_classes,
                              degrees_of_freedom=dof)
        heur = report.heuristics
    if as_json:
        print_json({"learning_curve": report, "heuristics": heur, "pac": bounds})
        return
    if report is not None:
        _render_curve(report)
    _render_heuristics(heur)
    _render_pac(bounds)


def _render_curve(r: Any) -> None:
    table = new_table(f"learning curve: {r.metric} at each data fraction", title_justify="left")
    for col in ("fraction", "n", "seeds", "mean error", "errors"):
        table.add_column(col)
    by: dict[float, list[Any]] = {}
    for p in r.points:
        by.setdefault(p.fraction, []).append(p)
    for f, pts in sorted(by.items()):
        errs = [p.error for p in pts]
        table.add_row(f"{f:g}", fmt(pts[0].n), str(len(pts)), fmt(sum(errs) / len(errs)), ", ".join(fmt(e) for e in errs))
    console.print(table)
    if r.fit is not None:
        f = r.fit
        console.print(esc(f"fit: error ≈ {fmt(f.a)}·n^{fmt(f.b, 3)} + {fmt(f.c)} (Hestness et al. 2017); "
                          f"{100 * f.confidence:.0f}% bootstrap over {f.resampling} ({f.n_boot} resamples): "
                          f"b in [{fmt(f.b_interval[0], 3)}, {fmt(f.b_interval[1], 3)}], "
                          f"floor c in [{fmt(f.c_interval[0])}, {fmt(f.c_interval[1])}]"), highlight=False)
    if r.estimate is not None:
        e = r.estimate
        console.print(f"[bold]goal error {fmt(r.goal_error)}:[/] {esc(e.verdict)} (n in {esc(r.size_unit)})", highlight=False)
        for cav in e.caveats:
            console.print(f"   [dim]caveat: {esc(cav)}[/]", highlight=False)
    for note in r.notes:
        console.print(f"[dim]note: {esc(note)}[/]", highlight=False)


def _render_heuristics(h: Any) -> None:
    if h.per_class_rule is not None:
        ok = h.enough.get("per_class")
        console.print(f"rule of thumb: 1000 examples per class → {esc(h.per_class_rule)}"
                      + ("" if ok is None else f" (you have {h.n_examples}: {'enough' if ok else 'fewer'})"),
                      highlight=False)
    if h.dof_rule is not None:
        ok = h.enough.get("dof")
        console.print(f"rule of thumb: 10x the degrees of freedom → {esc(h.dof_rule)}"
                      + ("" if ok is None else f" (you have {h.n_examples}: {'enough' if ok else 'fewer'})"),
                      highlight=False)
    for note in h.notes:
        console.print(f"   [dim]{esc(note)}[/]", highlight=False)


def register(command: Any, app: Any) -> None:
    """Register diagnose, doctor, biasvar and datasize."""
    command("diagnose", diagnose_cmd)
    command("doctor", doctor_cmd)
    command("biasvar", biasvar_cmd)
    command("datasize", datasize_cmd)
