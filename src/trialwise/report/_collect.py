"""What a report shows, read from the store once: the I/O edge of :mod:`trialwise.report`.

:func:`collect` gathers, for the experiments given (the first is the baseline, each other a
candidate), the runs that count (:func:`~trialwise.store._select.select_counted`: one run per seed,
in the experiment's environment), every metric series of those runs, provenance and environments,
and computes what was not handed in: the verdict of each candidate against the baseline
(:func:`trialwise.decide.decide`) and the diagnosis of each experiment
(:func:`trialwise.diagnose.diagnose_stored`). A command that already computed a decision, a
diagnosis, an ablation or a sweep passes it, so the report shows exactly what the command printed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trialwise._exceptions import TrialwiseError
from trialwise.report._charts import colour
from trialwise.stats._bands import SeedCurve, seed_curve
from trialwise.store._records import Experiment, Run

__all__ = ["DiagnosisView", "EnvDiff", "ExperimentView", "ReportModel", "collect", "metric_order", "sweep_experiments"]

AUTO: Any = object()
"""``collect(sweep=AUTO)``: find the sweep the experiments belong to."""

SWEEP_CURVES = 4
"""Best trials of a sweep whose curves a report overlays (more would be a tangle of colours)."""

PROBE_PREFIX = "probe/"
"""Series written by ``tw.watch`` probes: drawn in their own, collapsed section."""


@dataclass(frozen=True)
class ExperimentView:
    """One experiment as the report shows it."""

    experiment: Experiment
    colour: str
    runs: tuple[Run, ...]
    """The runs that count, one per seed."""
    running: tuple[Run, ...]
    """Runs still going (not counted; their curves are drawn only with ``include_running``)."""
    n_history: int
    environment_hash: str | None
    environment: dict[str, Any] | None
    params: dict[str, Any]
    """``tw.config`` of the first counted run."""
    metric_versions: tuple[str, ...]
    curves: dict[str, tuple[SeedCurve, ...]]
    """Per metric key, one curve per seed."""

    @property
    def label(self) -> str:
        return self.experiment.name

    @property
    def metric(self) -> str | None:
        return self.experiment.metric_name


@dataclass(frozen=True)
class EnvDiff:
    """How the environment of ``other`` differs from the baseline's: ``(item, baseline, other)``."""

    base: str
    other: str
    items: tuple[tuple[str, Any, Any], ...]
    known: bool = True
    """False when one of the two environments was not recorded."""


@dataclass(frozen=True)
class DiagnosisView:
    """The diagnosis of one experiment, or why there is none."""

    experiment: str
    result: Any | None
    error: str = ""
    biasvar: Any | None = None
    """Seed 004's bias-variance decomposition (:func:`~trialwise.diagnose.biasvar_stored`) when the runs
    logged training and validation accuracies and a goal is known (``metric.goal``)."""
    biasvar_note: str = ""


@dataclass(frozen=True)
class ErrorView:
    """Error analysis of one experiment: the run analysed in detail (``error_report`` with the stable
    errors over its seeds, ``metrics_report``), and thumbnails of its worst mistakes' inputs."""

    experiment: str
    run_id: str
    seed: int
    split: str
    errors: Any
    metrics: Any
    thumbnails: dict[int, str] = field(default_factory=dict)
    """Mistake rank -> ``data:image/png`` URI."""
    note: str = ""


@dataclass(frozen=True)
class ReportModel:
    """Everything a report draws; :func:`trialwise.report._html.render_html` turns it into a page."""

    title: str
    generated_at: float
    experiments: tuple[ExperimentView, ...]
    env_diffs: tuple[EnvDiff, ...]
    decisions: tuple[Any, ...]
    decision_notes: tuple[str, ...]
    diagnoses: tuple[DiagnosisView, ...]
    ablation: Any | None = None
    sweep: Any | None = None
    errors: tuple[ErrorView, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    def metrics(self) -> list[str]:
        """Every metric key any experiment logged, in :func:`metric_order`."""
        keys = {k for e in self.experiments for k in e.curves}
        mains = [e.metric for e in self.experiments if e.metric]
        return metric_order(keys, mains)


def metric_order(keys: Sequence[str] | set[str], mains: Sequence[str] = ()) -> list[str]:
    """The experiments' own metrics first, then the other series by name, probes last."""
    first = [m for m in dict.fromkeys(mains) if m in keys]
    rest = sorted(k for k in keys if k not in first)
    return first + [k for k in rest if not k.startswith(PROBE_PREFIX)] + [k for k in rest if k.startswith(PROBE_PREFIX)]


def _curves(store: Any, runs: Sequence[Run]) -> dict[str, tuple[SeedCurve, ...]]:
    """Per metric key, one :class:`SeedCurve` per run (seed order), from one read of the store."""
    from itertools import groupby
    from operator import itemgetter

    by_run: dict[str, dict[str, SeedCurve]] = {r.id: {} for r in runs}
    run = {r.id: r for r in runs}
    # the store orders points by run, key, step: each (run, key) is one contiguous group
    for (run_id, key), group in groupby(store.metrics([r.id for r in runs]), key=itemgetter(0, 1)):
        rows = list(group)
        r = run[run_id]
        by_run[run_id][key] = seed_curve(r.seed, r.id, r.status, [p[2] for p in rows], [p[3] for p in rows])
    out: dict[str, list[SeedCurve]] = {}
    for r in sorted(runs, key=lambda r: r.seed):
        for key, curve in by_run[r.id].items():
            out.setdefault(key, []).append(curve)
    return {k: tuple(v) for k, v in out.items()}


def experiment_view(store: Any, exp: Experiment, index: int, *, include_running: bool = False) -> ExperimentView:
    """One experiment's counted runs, curves and provenance."""
    from trialwise.store._select import counted_runs

    sel = counted_runs(store, exp)
    runs = tuple(sel.runs)
    running = tuple(sel.running)
    counted_seeds = {r.seed for r in runs}
    # a seed running again while an older run of it counts is drawn once: from its counted run
    drawn = runs + (tuple(r for r in running if r.seed not in counted_seeds) if include_running else ())
    env = store.environment(sel.environment) if sel.environment else None
    params = store.params(runs[0].id) if runs else {}
    versions = tuple(sorted({r.metric_version for r in runs if r.metric_version}))
    return ExperimentView(exp, colour(index), runs, running, len(sel.history) - len(running), sel.environment, env,
                          params, versions, _curves(store, drawn))


def env_diffs(views: Sequence[ExperimentView]) -> tuple[EnvDiff, ...]:
    """Each other experiment's environment against the first one's (package by package)."""
    from trialwise.provenance import diff_fingerprints

    if len(views) < 2:
        return ()
    base = views[0]
    out = []
    for v in views[1:]:
        if base.environment is None or v.environment is None:
            out.append(EnvDiff(base.label, v.label, (), known=False))
        elif base.environment_hash == v.environment_hash:
            out.append(EnvDiff(base.label, v.label, ()))
        else:
            out.append(EnvDiff(base.label, v.label, tuple(diff_fingerprints(base.environment, v.environment))))
    return tuple(out)


def collect(store: Any, root: Path, config: Any, experiments: Sequence[Experiment], *, title: str | None = None,
            decisions: Sequence[Any] | None = None, decision_notes: Sequence[str] = (),
            diagnoses: Sequence[Any] | None = None, ablation: Any | None = None, sweep: Any | None = AUTO,
            errors: Sequence[ErrorView] | None = None, split: str = "val", include_running: bool = False,
            notes: Sequence[str] = ()) -> ReportModel:
    """The :class:`ReportModel` of ``experiments`` (first = baseline).

    ``decisions`` (:class:`~trialwise.decide.Decision`) and ``diagnoses``
    (:class:`~trialwise.diagnose.StoredDiagnosis`) are computed when not given: one decision per
    candidate on the experiments' own metric, one diagnosis per experiment; a decision or diagnosis
    that cannot be made is shown with its reason, it does not stop the report. ``errors``
    (:func:`error_views` on ``split``) are computed for the experiments whose runs logged predictions;
    ``sweep``, unless given (``None``: none), is the analysis of the study the experiments are trials
    of (:func:`sweep_of`).
    """
    exps = list({e.id: e for e in experiments}.values())  # the same experiment named twice is shown once
    views = tuple(experiment_view(store, e, i, include_running=include_running) for i, e in enumerate(exps))
    notes = list(notes)
    if decisions is None:
        decisions, why = _decisions(store, root, config, exps)
        notes += why
    if diagnoses is None:
        diagnoses = [_diagnosis(store, root, config, e) for e in exps]
    diag_views = tuple(d if isinstance(d, DiagnosisView) else with_biasvar(store, root, config, d) for d in diagnoses)
    if errors is None:
        errors = error_views(store, root, views, split)
    if sweep is AUTO:
        sweep, why = sweep_of(store, exps)
        notes += [why] if why else []
    names = ", ".join(e.name for e in exps)
    return ReportModel(title or f"trialwise report: {names}", time.time(), views, env_diffs(views), tuple(decisions),
                       tuple(decision_notes), diag_views, ablation, sweep, tuple(errors), tuple(notes))


def _decisions(store: Any, root: Path, config: Any, exps: Sequence[Experiment]) -> tuple[list[Any], list[str]]:
    """Each candidate against the first experiment; one that cannot be decided at all is a note."""
    from trialwise.decide import decide

    out, notes = [], []
    for cand in exps[1:]:
        try:
            out.append(decide(store, root, exps[0], cand, max_age_days=config.baseline.max_age_days))
        except TrialwiseError as exc:
            notes.append(f"no verdict for {cand.name} against {exps[0].name}: {exc}")
    return out, notes


def _diagnosis(store: Any, root: Path, config: Any, exp: Experiment) -> DiagnosisView:
    from trialwise.diagnose import diagnose_stored

    try:
        result, error = diagnose_stored(store, root, exp.id, config), ""
    except TrialwiseError as exc:
        result, error = None, str(exc)
    bv, note = _biasvar(store, root, config, exp)
    return DiagnosisView(exp.name, result, error, bv, note)


def _biasvar(store: Any, root: Path, config: Any, exp: Experiment) -> tuple[Any | None, str]:
    from trialwise.diagnose import biasvar_stored

    try:
        return biasvar_stored(store, root, exp.id, config), ""
    except TrialwiseError as exc:  # no accuracies logged, or no goal: say why, in one line
        return None, str(exc)


def with_biasvar(store: Any, root: Path, config: Any, diagnosis: Any) -> DiagnosisView:
    """A :class:`DiagnosisView` of an already computed diagnosis, with its experiment's bias-variance table."""
    bv, note = _biasvar(store, root, config, store.experiment(diagnosis.experiment_id))
    return DiagnosisView(diagnosis.experiment, diagnosis, "", bv, note)


def sweep_experiments(store: Any, sweep: Any, n: int = SWEEP_CURVES) -> list[Experiment]:
    """The experiments of a sweep's ``n`` best trials (best first; the learning-rate stage's are
    not included), for the report's curves."""
    ids = [t.experiment_id for t in sweep.best if t.experiment_id][:n]
    return [store.experiment(i) for i in dict.fromkeys(ids)]


def error_views(store: Any, root: Path, views: Sequence[ExperimentView], split: str = "val") -> tuple[ErrorView, ...]:
    """For each experiment with predictions on ``split``: its first completed seed analysed in detail
    (as ``trialwise errors`` and ``trialwise metrics`` do), the errors stable over its seeds, and
    thumbnails of the worst mistakes' inputs. Experiments without predictions are left out."""
    from trialwise.errors._store import run_splits

    out = []
    for v in views:
        done = [r for r in v.runs if r.status == "completed" and split in run_splits(store, r)]
        if done:
            out.append(_error_view(store, root, v.label, done, split))
    return tuple(out)


def _error_view(store: Any, root: Path, label: str, runs: Sequence[Run], split: str) -> ErrorView:
    from trialwise.errors._report import error_report, metrics_report
    from trialwise.errors._store import load_run_predictions
    from trialwise.report._thumbs import thumbnail

    preds = [load_run_predictions(store, r, split) for r in runs]
    first = preds[0]
    note = ""
    try:
        errs = error_report(first, seeds=preds if len(preds) >= 2 else [],
                            seed_numbers=[r.seed for r in runs] if len(preds) >= 2 else None)
    except TrialwiseError as exc:  # e.g. seeds scored on different examples
        errs, note = error_report(first), f"errors across seeds not compared: {exc}"
    mets = metrics_report(first)
    thumbs: dict[int, str] = {}
    if first.inputs is not None:
        index = {k: i for i, k in enumerate(first.ids.tolist())}
        for m in errs.worst:
            i = index.get(m.id)
            if i is not None:
                uri = thumbnail(first.inputs[i] if first.input_kind == "array" else str(first.inputs[i]), root)
                if uri:
                    thumbs[m.rank] = uri
    return ErrorView(label, runs[0].id, runs[0].seed, split, errs, mets, thumbs, note)


def study_of(exp: Experiment) -> str | None:
    """The study a sweep trial's experiment belongs to, read off its name ``<study>#<trial>@<commit>``
    (:func:`trialwise.tune._sweep.trial_label`); ``None`` for any other experiment."""
    from trialwise.tune._sweep import SWEEP_KIND

    if exp.kind != SWEEP_KIND:
        return None
    label = exp.name.rpartition("@")[0] or exp.name
    study, sep, trial = label.rpartition("#")
    return study if sep and study and trial.removesuffix("-recheck").isdigit() else None


def sweep_of(store: Any, exps: Sequence[Experiment]) -> tuple[Any | None, str]:
    """``(SweepReport, "")`` when every experiment is a trial of one study (its best trials, importances,
    slices; no re-check is run), else ``(None, why)`` — ``why`` is empty for experiments that are no
    sweep trials at all."""
    studies = {study_of(e) for e in exps}
    if not exps or studies == {None}:
        return None, ""
    if len(studies) != 1 or None in studies:
        return None, "sweep plots need experiments of one study: `trialwise sweep report --study NAME --report FILE`"
    (name,) = studies
    from trialwise.tune import analyze_study, load_study, optuna_storage_url

    try:
        url = optuna_storage_url(store.url)
        study, meta = load_study(name, url)
        return analyze_study(study, meta, name, url), ""
    except TrialwiseError as exc:
        return None, f"sweep {name}: {exc}"
