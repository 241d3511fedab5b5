"""errors (show, compare, sample, tags, import) and metrics: error analysis of logged predictions.

``trialwise errors RUN|EXP`` is ``trialwise errors show RUN|EXP``: a first argument that is not a
subcommand name is taken as the target of ``show``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from trialwise.cli._common import JsonOpt, console, context, esc, fmt, handle_errors, new_table, print_json

DEFAULT_SUBCOMMAND = "show"

MAX_MATRIX_CLASSES = 20
"""The confusion matrix is printed as a table up to this many classes (the PNG has no limit)."""


class _DefaultGroup(TyperGroup):
    """A group whose first argument, when not a subcommand, goes to ``show``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = [DEFAULT_SUBCOMMAND, *args]
        return super().parse_args(ctx, args)


errors_app = typer.Typer(
    cls=_DefaultGroup, no_args_is_help=True,
    help="Error analysis of logged predictions: `trialwise errors RUN|EXP` (confusion, most confused, worst "
         "mistakes, stable vs seed-noise errors), compare, sample (tag sheet), tags (ceilings), import.",
)

SplitOpt = typer.Option("val", "--split", help="Split the predictions were logged for.")
SeedOpt = typer.Option(None, "--seed", "--run-seed", help="Which seed of an experiment (default: the first completed).")


# -- resolving runs and their predictions -----------------------------------------------------------

def _latest_completed_by_seed(runs: list[Any]) -> list[Any]:
    """One run per seed (the newest completed), in seed order."""
    by_seed: dict[int, Any] = {}
    for r in sorted(runs, key=lambda r: (r.seed, r.started_at or 0)):
        if r.status == "completed":
            by_seed[r.seed] = r
    return [by_seed[s] for s in sorted(by_seed)]


def _one_run(ctx: Any, token: str, split: str, seed: int | None) -> tuple[Any, Any, Any, str | None]:
    """The experiment, the one run ``token`` (+ ``seed``) names, its predictions, and a note on the choice."""
    from trialwise._exceptions import UsageError
    from trialwise.errors._store import load_run_predictions, run_splits
    from trialwise.store._select import select_runs

    exp, runs = select_runs(ctx.store, ctx.root, token)
    note = None
    if seed is not None:
        chosen = [r for r in runs if r.seed == seed]
        if not chosen:
            raise UsageError(f"{exp.name} ({exp.id}) has no run with seed {seed}; its seeds are "
                             f"{sorted({r.seed for r in runs})}.")
        run = (_latest_completed_by_seed(chosen) or chosen)[-1]
    elif len(runs) == 1:
        run = runs[0]
    else:
        done = _latest_completed_by_seed(runs)
        if not done:
            raise UsageError(f"{exp.name} ({exp.id}) has no completed run (statuses: "
                             f"{sorted({r.status for r in runs})}); `trialwise show {exp.id}` says why.")
        with_preds = [r for r in done if split in run_splits(ctx.store, r)]
        run = (with_preds or done)[0]
        if len(done) > 1:
            which = "the first completed seed" + (" with predictions" if run is not done[0] else "")
            note = (f"{exp.name} has {len(done)} completed seeds; single-run results are from seed {run.seed} "
                    f"(run {run.id}), {which}; pass --seed N for another")
    return exp, run, load_run_predictions(ctx.store, run, split), note


def _all_seeds(ctx: Any, token: str, split: str) -> tuple[Any, list[tuple[Any, Any]]]:
    """Every seed's (run, predictions) of the experiment ``token`` names (or the one run it names)."""
    from trialwise._exceptions import UsageError
    from trialwise.errors._store import load_run_predictions, run_splits
    from trialwise.store._select import select_runs

    exp, runs = select_runs(ctx.store, ctx.root, token)
    done = _latest_completed_by_seed(runs) if len(runs) > 1 else runs
    have = [r for r in done if split in run_splits(ctx.store, r)]
    if not have:
        if done:
            load_run_predictions(ctx.store, done[0], split)  # raises with what to do
        raise UsageError(f"{exp.name} ({exp.id}) has no completed run with predictions on split {split!r}.")
    return exp, [(r, load_run_predictions(ctx.store, r, split)) for r in have]


def _who(exp: Any, run: Any) -> dict[str, Any]:
    return {"experiment": {"id": exp.id, "name": exp.name, "kind": exp.kind},
            "run": {"id": run.id, "seed": run.seed, "status": run.status}}


def _save_plots(plots: dict[str, Any], directory: Path | None) -> list[str]:
    if directory is None:
        return []
    from trialwise._exceptions import UsageError
    from trialwise.metrics import save_plot

    try:
        return [str(save_plot(data, Path(directory) / name)) for name, data in plots.items()]
    except OSError as exc:
        raise UsageError(f"--plots {directory}: cannot write there ({exc.strerror or exc}); "
                         "give a directory you can write to") from None


def _pct(x: float | None, rounding: str = "nearest") -> str:
    """A percentage with one decimal; 'down'/'up' for interval ends (as the sentences round them)."""
    if x is None or not math.isfinite(x):
        return "—"
    from trialwise.metrics._common import fmt_pct

    return fmt_pct(x, 1, rounding)


def _print_note(note: str | None) -> None:
    if note:
        console.print(f"[dim]note: {esc(note)}[/]", highlight=False)


# -- errors show ------------------------------------------------------------------------------------

def show_cmd(
    target: str = typer.Argument(..., help="Run id, or experiment (id, name, tag, git ref)."),
    split: str = SplitOpt,
    seed: int = SeedOpt,
    k: int = typer.Option(10, "--k", "-k", help="Worst mistakes (and stable errors) listed."),
    min_count: int = typer.Option(1, "--min-count", help="Smallest count of a confused pair."),
    plots: Path = typer.Option(None, "--plots", help="Write confusion_matrix.png into this folder."),
    as_json: bool = JsonOpt,
) -> None:
    """Confusion matrix, per-class P/R/F1, most confused pairs, worst mistakes; across seeds: stable vs noise."""
    from trialwise.errors._report import error_report

    ctx = context()
    exp, run, preds, note = _one_run(ctx, target, split, seed)
    _, seeds = _all_seeds(ctx, target, split)
    seeds = seeds if len(seeds) >= 2 else []
    report = error_report(preds, k=k, min_count=min_count, seeds=[p for _, p in seeds],
                          seed_numbers=[r.seed for r, _ in seeds])
    written = _save_plots(report.plots(f" — run {run.id}, {split}"), plots)
    if as_json:
        print_json({**_who(exp, run), "note": note, **report.to_dict(), "plots": written})
        return
    _print_note(note)
    _render_errors(exp, run, report, written)


def _render_errors(exp: Any, run: Any, rep: Any, written: list[str]) -> None:
    console.print(f"[bold]{esc(exp.name)}[/] run {run.id} (seed {run.seed}), split {esc(repr(rep.split))}: "
                  f"{rep.n_errors} errors in {rep.n} examples, error rate [bold]{_pct(rep.error_rate)}[/]",
                  highlight=False)
    names, m = rep.names, rep.confusion.matrix
    if len(names) <= MAX_MATRIX_CLASSES:
        table = new_table("confusion matrix (rows: true, columns: predicted)", title_justify="left")
        table.add_column("true \\ pred")
        for nm in names:
            table.add_column(esc(nm), justify="right")
        for i, nm in enumerate(names):
            cells = [f"[green]{m[i, j]}[/]" if i == j else (f"[red]{m[i, j]}[/]" if m[i, j] else "·")
                     for j in range(len(names))]
            table.add_row(esc(nm), *cells)
        console.print(table)
    pc = new_table("per class", title_justify="left")
    for col in ("class", "precision", "recall", "F1", "support"):
        pc.add_column(col, justify="left" if col == "class" else "right")
    r = rep.per_class
    for i, nm in enumerate(r.names):
        pc.add_row(esc(nm), _pct(r.precision[i]), _pct(r.recall[i]), _pct(r.fscore[i]), str(int(r.support[i])))
    for label, avg in (("macro avg", r.macro), ("weighted avg", r.weighted)):
        pc.add_row(f"[dim]{label}[/]", _pct(avg.precision), _pct(avg.recall), _pct(avg.fscore), str(int(r.support.sum())))
    console.print(pc)
    if rep.most_confused:
        mc = new_table("most confused (true → predicted)", title_justify="left")
        for col in ("true", "predicted", "count", "share of true class"):
            mc.add_column(col, justify="right" if col in ("count", "share of true class") else "left")
        for p in rep.most_confused[:10]:
            mc.add_row(esc(p.actual), esc(p.predicted), str(p.count), _pct(p.share))
        console.print(mc)
    for c in rep.collapse:
        console.print(f"[yellow]confused both ways:[/] {esc(repr(c.a))} ↔ {esc(repr(c.b))} ({_pct(c.share_a_as_b)} and "
                      f"{_pct(c.share_b_as_a)}); if people confuse them too, accept it or merge the labels",
                      highlight=False)
    if rep.worst:
        inputs = any(w.input for w in rep.worst)
        wm = new_table(f"worst mistakes (by {rep.worst_by})", title_justify="left")
        for col in ("#", "id", "true", "predicted", "loss", "confidence", "score of true", *(["input"] if inputs else [])):
            wm.add_column(col)
        for w in rep.worst:
            wm.add_row(str(w.rank), esc(w.id), esc(w.true), esc(w.predicted), fmt(w.loss), fmt(w.confidence),
                       fmt(w.score_true), *([esc(w.input or "")] if inputs else []))
        console.print(wm)
    if rep.seeds is not None:
        _render_seeds(rep.seeds)
    for path in written:
        console.print(f"wrote [bold]{esc(path)}[/]", highlight=False)


def _render_seeds(s: Any) -> None:
    console.print(f"[bold]across seeds {', '.join(map(str, s.seeds))}:[/] {esc(s.message)}", highlight=False)
    if s.pairs:
        t = new_table("confused pairs per seed", title_justify="left")
        for col in ("true", "predicted", *[f"seed {x}" for x in s.seeds], "total", ""):
            t.add_column(col)
        for p in s.pairs[:10]:
            t.add_row(esc(p.actual), esc(p.predicted), *map(str, p.counts), str(p.total),
                      "[green]stable[/]" if p.stable else "[dim]seed noise[/]")
        console.print(t)
    if s.stable_examples:
        inputs = any(e.input for e in s.stable_examples)
        t = new_table("stable errors (wrong in every seed)", title_justify="left")
        for col in ("id", "true", "predicted per seed", "mean loss", "mean confidence", *(["input"] if inputs else [])):
            t.add_column(col)
        for e in s.stable_examples:
            t.add_row(esc(e.id), esc(e.true), esc(", ".join(e.predicted)), fmt(e.mean_loss), fmt(e.mean_confidence),
                      *([esc(e.input or "")] if inputs else []))
        console.print(t)


# -- errors compare ---------------------------------------------------------------------------------

def compare_cmd(
    a: str = typer.Argument(..., help="Experiment A (id, name, tag, git ref) or a run id."),
    b: str = typer.Argument(..., help="Experiment B."),
    split: str = SplitOpt,
    method: str = typer.Option("welch", help="welch | permutation (per-class test across seeds)."),
    alpha: float = typer.Option(0.05, help="Family-wise error rate (Holm over classes)."),
    as_json: bool = JsonOpt,
) -> None:
    """Which classes and examples got better or worse from A to B, tested across seeds."""
    from trialwise.errors import compare_errors

    ctx = context()
    exp_a, side_a = _all_seeds(ctx, a, split)
    exp_b, side_b = _all_seeds(ctx, b, split)
    result = compare_errors([p for _, p in side_a], [p for _, p in side_b], method=method, alpha=alpha)
    who = {"a": {"id": exp_a.id, "name": exp_a.name, "seeds": [r.seed for r, _ in side_a]},
           "b": {"id": exp_b.id, "name": exp_b.name, "seeds": [r.seed for r, _ in side_b]}}
    if as_json:
        print_json({**who, "split": split, **result.to_dict()})
        return
    console.print(f"A [bold]{esc(exp_a.name)}[/] ({exp_a.id}, {len(side_a)} seeds) → B [bold]{esc(exp_b.name)}[/] "
                  f"({exp_b.id}, {len(side_b)} seeds), split {esc(repr(split))}", highlight=False)
    t = new_table("per-class recall", title_justify="left")
    for col in ("class", "support", "recall A", "recall B", "change", "p (Holm)", "verdict"):
        t.add_column(col)
    style = {"better": "green", "worse": "red"}
    for c in result.classes:
        t.add_row(esc(c.name), str(c.support), _pct(c.mean_a), _pct(c.mean_b), f"{100 * c.diff:+.1f} pts", fmt(c.p_holm, 3),
                  f"[{style.get(c.verdict, 'dim')}]{esc(c.verdict)}[/]")
    console.print(t)
    console.print(esc(result.message), highlight=False)
    for word, ids in (("fixed", result.fixed), ("broken", result.broken)):
        if ids:
            shown = ", ".join(map(str, ids[:20])) + (" ..." if len(ids) > 20 else "")
            console.print(f"{word} in every seed: {esc(shown)}", highlight=False)


# -- errors sample / tags ---------------------------------------------------------------------------

def sample_cmd(
    target: str = typer.Argument(..., help="Run id, or experiment (its first completed seed)."),
    n: int = typer.Option(100, "--n", "-n", help="Errors to sample (all when there are fewer)."),
    out: Path = typer.Option(Path("errors.csv"), "--out", "-o", help="CSV file to write."),
    stratify: str = typer.Option(None, "--stratify", help="'class': proportional over true classes."),
    tags: str = typer.Option("", "--tags", help="Tag columns to pre-create, comma-separated (e.g. dog,great_cats,blurry)."),
    seed: int = typer.Option(0, "--seed", help="Sampling seed: same seed, same sample."),
    run_seed: int = typer.Option(None, "--run-seed", help="Which seed of an experiment (default: the first completed)."),
    split: str = SplitOpt,
    overwrite: bool = typer.Option(False, help="Replace an existing sheet (it may hold your tags)."),
    as_json: bool = JsonOpt,
) -> None:
    """Write a reproducible random sample of mistakes as a spreadsheet with empty tag columns."""
    from trialwise.errors import sample_errors, write_error_sheet

    ctx = context()
    exp, run, preds, note = _one_run(ctx, target, split, run_seed)
    tag_names = [t.strip() for t in tags.split(",") if t.strip()]
    sheet = sample_errors(preds, n=n, seed=seed, stratify=stratify, tags=tag_names)
    path = write_error_sheet(out, sheet, overwrite=overwrite)
    next_cmd = f"trialwise errors tags {path} --run {run.id}" + (f" --split {split}" if split != "val" else "")
    result = {**_who(exp, run), "note": note, "path": str(path), "split": split, "sampled": len(sheet),
              "n_errors": preds.n_errors, "error_rate": preds.error_rate, "seed": seed, "stratify": stratify,
              "columns": list(sheet.columns), "next": next_cmd}
    if as_json:
        print_json(result)
        return
    _print_note(note)
    console.print(f"wrote [bold]{esc(path)}[/]: {len(sheet)} of {preds.n_errors} errors of run {run.id} "
                  f"(seed {run.seed}, split {esc(repr(split))}, error rate {_pct(preds.error_rate)}), sampling seed {seed}",
                  highlight=False)
    console.print("Open it in a spreadsheet, mark each row's tags with x or 1 (several per row are fine, new "
                  "tag columns too), write comments, save as CSV, then run:", highlight=False)
    console.print(f"  [bold]{esc(next_cmd)}[/]", highlight=False)


def tags_cmd(
    sheet: Path = typer.Argument(..., help="The tagged CSV from `errors sample`."),
    run: str = typer.Option(..., "--run", help="The run (or experiment) the sheet was sampled from."),
    seed: int = SeedOpt,
    split: str = SplitOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Per tag: count, share of sampled errors (Wilson 95% CI), and the ceiling on the error rate."""
    from trialwise.errors import read_tag_sheet, tag_report

    ctx = context()
    exp, r, preds, note = _one_run(ctx, run, split, seed)
    report = tag_report(read_tag_sheet(sheet, preds))
    if as_json:
        print_json({**_who(exp, r), "note": note, "sheet": str(sheet), "split": split, **report.to_dict()})
        return
    _print_note(note)
    kind = "all errors (exact shares)" if report.census else f"{report.n_sampled} sampled of {report.n_errors_total} errors"
    console.print(f"[bold]{esc(sheet)}[/]: {kind}; error rate {_pct(report.error_rate)} on run {r.id} (seed {r.seed})",
                  highlight=False)
    t = new_table("tags by ceiling (error rate if every error of the tag were fixed)", title_justify="left")
    for col in ("tag", "count", "share of errors (95% CI)", "ceiling", "ceiling 95% CI", "max gain"):
        t.add_column(col, justify="left" if col == "tag" else "right")
    for row in report.rows:
        ci = "" if report.census else f"{_pct(row.ceiling_low, 'down')} – {_pct(row.ceiling_high, 'up')}"
        t.add_row(esc(row.tag), str(row.count), esc(row.share), _pct(row.ceiling), ci, f"{100 * row.max_gain:.1f} pts")
    console.print(t)
    if len(report.tags) > 1:
        co = new_table("co-occurrence (rows with both tags)", title_justify="left")
        co.add_column("")
        for tag in report.tags:
            co.add_column(esc(tag), justify="right")
        for i, tag in enumerate(report.tags):
            co.add_row(esc(tag), *[str(int(v)) for v in report.cooccurrence[i]])
        console.print(co)
    for line in report.message.splitlines():
        console.print(esc(line), highlight=False)


# -- errors import ----------------------------------------------------------------------------------

def import_cmd(
    csv_file: Path = typer.Argument(..., help="CSV with id, y_true, y_pred and/or score / score_<class>, loss, input."),
    run: str = typer.Option(None, "--run", help="Attach to this existing run (default: create an imported run)."),
    name: str = typer.Option(None, "--name", help="Experiment name of a new import (default: the file name)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the imported run within its experiment."),
    split: str = SplitOpt,
    classes: str = typer.Option(None, "--classes", help="Class names, comma-separated (score column order)."),
    overwrite: bool = typer.Option(False, help="Replace predictions already stored for the run and split."),
    as_json: bool = JsonOpt,
) -> None:
    """Import predictions made elsewhere, so every `errors` and `metrics` command works on them."""
    from trialwise.errors._store import import_run_predictions

    ctx = context()
    target = ctx.store.run(run) if run else None
    result = import_run_predictions(ctx.store, ctx.root, csv_file, run=target, name=name, seed=seed, split=split,
                                    classes=[c.strip() for c in classes.split(",")] if classes else None,
                                    overwrite=overwrite)
    if as_json:
        print_json(result)
        return
    how = "created" if result.created else "attached to"
    console.print(f"{how} run [bold]{result.run.id}[/] (seed {result.run.seed}) of {esc(result.experiment.kind)} "
                  f"experiment [bold]{esc(result.experiment.name)}[/] ({result.experiment.id}): {result.predictions.n} "
                  f"predictions on split {esc(repr(split))}, error rate {_pct(result.predictions.error_rate)}",
                  highlight=False)
    console.print(esc(f"next: trialwise errors {result.experiment.name}   |   trialwise metrics {result.run.id}"),
                  highlight=False)


# -- metrics ----------------------------------------------------------------------------------------

def metrics_cmd(
    target: str = typer.Argument(..., help="Run id, or experiment (its first completed seed)."),
    split: str = SplitOpt,
    seed: int = SeedOpt,
    threshold: float = typer.Option(None, help="Score threshold: binary (default 0.5), or one-vs-rest for multi-class "
                                              "(default: the predicted labels)."),
    beta: float = typer.Option(1.0, help="F-beta: recall is beta times as important as precision."),
    target_precision: float = typer.Option(None, "--target-precision",
                                           help="Threshold with the most recall at this precision."),
    target_recall: float = typer.Option(None, "--target-recall",
                                        help="Threshold with the most precision at this recall."),
    target_accuracy: float = typer.Option(None, "--target-accuracy",
                                          help="Selective prediction: most coverage at this accuracy (SGR)."),
    delta: float = typer.Option(0.001, help="SGR: probability that the accuracy guarantee fails."),
    cost_matrix: Path = typer.Option(None, "--cost-matrix",
                                     help="CSV: header true\\predicted,<classes>; one row per true class."),
    plots: Path = typer.Option(None, "--plots", help="Write confusion matrix, PR curve and risk-coverage PNGs here."),
    as_json: bool = JsonOpt,
) -> None:
    """Precision/recall/F-beta, PR curve and AP, thresholds for targets, costs, coverage; rare-event warning first."""
    from trialwise.errors._report import metrics_report, read_cost_matrix

    ctx = context()
    exp, run, preds, note = _one_run(ctx, target, split, seed)
    cost = read_cost_matrix(cost_matrix, preds) if cost_matrix is not None else None
    report = metrics_report(preds, threshold=threshold, beta=beta, target_precision=target_precision,
                            target_recall=target_recall, target_accuracy=target_accuracy, delta=delta, cost=cost)
    written = _save_plots(report.plots(f" — run {run.id}, {split}"), plots)
    if as_json:
        print_json({**report.to_dict(), **_who(exp, run), "note": note, "plots": written})
        return
    _render_metrics(exp, run, report, note, written)


def _render_metrics(exp: Any, run: Any, rep: Any, note: str | None, written: list[str]) -> None:
    for w in rep.warnings:
        console.print(f"[bold yellow]warning:[/] {esc(w)}", highlight=False)
    _print_note(note)
    console.print(f"[bold]{esc(exp.name)}[/] run {run.id} (seed {run.seed}), split {esc(repr(rep.split))}: "
                  f"{rep.n} examples, {esc(rep.task)}; precision/recall from {esc(rep.based_on)}", highlight=False)
    has_target = any(c.target is not None for c in rep.classes)
    t = new_table("positive class" if rep.task == "binary" else "one-vs-rest per class", title_justify="left")
    cols = ["class", "support", "precision", "recall", f"F{rep.beta:g}", "avg precision"]
    if has_target:
        cols += ["target threshold", "precision there", "recall there"]
    for col in cols:
        t.add_column(col, justify="left" if col == "class" else "right")
    for c in rep.classes:
        row = [c.name, f"{c.support} ({_pct(c.prevalence)})", _pct(c.precision), _pct(c.recall), _pct(c.fscore),
               fmt(c.average_precision)]
        if has_target:
            tc = c.target
            row += (["—", "not reached", ""] if tc is None or not tc.achieved else
                    [f"{tc.threshold:.4g}", str(tc.precision), str(tc.recall) if tc.recall is not None else "—"])
        t.add_row(*map(esc, row))
    console.print(t)
    for line in rep.messages[len(rep.warnings):]:
        console.print(esc(line), highlight=False)
    if rep.cost is not None and rep.cost.top_cells:
        ct = new_table("where the cost comes from", title_justify="left")
        for col in ("true", "predicted", "count", "unit cost", "cost", "share"):
            ct.add_column(col)
        for cell in rep.cost.top_cells:
            ct.add_row(esc(cell.true), esc(cell.predicted), str(cell.count), f"{cell.unit_cost:g}", f"{cell.cost:g}", _pct(cell.share))
        console.print(ct)
    if rep.coverage:
        cv = new_table("risk-coverage (answer only the most confident)", title_justify="left")
        for col in ("coverage", "error on answered", "confidence >="):
            cv.add_column(col, justify="right")
        for p in rep.coverage:
            cv.add_row(_pct(p.coverage), _pct(p.risk), f"{p.threshold:.4g}")
        console.print(cv)
    for path in written:
        console.print(f"wrote [bold]{esc(path)}[/]", highlight=False)


def register(command: Any, app: Any) -> None:
    for name, fn in (("show", show_cmd), ("compare", compare_cmd), ("sample", sample_cmd), ("tags", tags_cmd),
                     ("import", import_cmd)):
        errors_app.command(name)(handle_errors(fn))
    app.add_typer(errors_app, name="errors")
    command("metrics", metrics_cmd)
