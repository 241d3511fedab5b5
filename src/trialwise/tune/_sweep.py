"""Run a sweep: Optuna proposes configurations, the trialwise runner runs ``seeds`` seeds of each.

Every trial is an ordinary trialwise experiment (``kind = "sweep"``) of one commit: its parameters
reach the script through ``[params]`` (``LaunchSpec.overrides``), its seeds run through the backend
and are reused when they already completed under the same conditions.  The trial's value is the
seed mean of the objective; the seed values and their std are kept in the trial's user attributes.

Resuming: ``--trials`` is the study's budget.  Trials that completed, were pruned or failed count
against it; a re-run of the same command runs only the rest.  A trial cut short by Ctrl-C is marked
failed and ``interrupted`` and its parameters are queued again, so the next invocation re-runs that
configuration, whose completed seeds the runner then reuses.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from trialwise._exceptions import DataError, TrialwiseError, UsageError
from trialwise.metrics._common import Record
from trialwise.runner import Backend, ExperimentResult, LaunchSpec, make_backend, prepare, run_experiment

from trialwise.settings import Config
from trialwise.store._records import Run
from trialwise.store._store import Store
from trialwise.tune._intermediate import PruningBackend
from trialwise.tune._objective import Objective, aggregate
from trialwise.tune._priors import DEFAULT_CLIPPED
from trialwise.tune._study import (
    META_ATTR,
    PRUNER_STARTUP_TRIALS,
    StudyMeta,
    TrialRecord,
    make_pruner,
    make_sampler,
    open_storage,
    optuna_storage_url,
    study_name,
    trial_records,
)
from trialwise.tune._space import DEFAULT_GRID_POINTS, Space
from trialwise.tune._suggest import default_trial

__all__ = [
    "DEFAULT_SWEEP_SEEDS", "SWEEP_KIND", "LrOnTrain", "SweepInterrupted", "SweepObserver", "SweepOutcome",
    "SweepSpec", "load_study", "lr_stage_trials", "run_lr_on_train", "run_sweep", "seed_values", "trial_label",
]

SWEEP_KIND = "sweep"
"""Experiment kind of sweep trials (``trialwise ls`` shows it)."""

DEFAULT_SWEEP_SEEDS = 2
"""Seeds per trial by default: the fewest that give a seed std (seed 001 pattern #1: one run decides
nothing); the winner is re-checked with more seeds afterwards."""

Launch = Callable[[LaunchSpec, Backend], ExperimentResult]
"""Runs one experiment through a backend (the CLI adds its live display)."""


def trial_label(study: str, number: int, recheck: bool = False) -> str:
    """The readable start of a trial's experiment name: ``<study>#<trial>`` (``-recheck`` for its
    fresh seeds), so the trials of a sweep and their re-checks are told apart in ``ls`` and in progress
    lines (a trial's commit is the study's, and its parameters follow in the name)."""
    return f"{study}#{number}" + ("-recheck" if recheck else "")


class SweepInterrupted(TrialwiseError):
    """The user interrupted the sweep (Ctrl-C); the study can be resumed."""


class _TrialFailed(Exception):
    """No seed of the trial gave a value; Optuna records the trial as failed and goes on."""


class SweepObserver:
    """Progress of a sweep; the CLI prints it. Methods may be no-ops."""

    def trial_started(self, number: int, params: dict[str, Any]) -> None:
        """Trial ``number`` starts with ``params``."""

    def trial_finished(self, record: TrialRecord) -> None:
        """A trial of this invocation ended."""


@dataclass(frozen=True)
class SweepSpec:
    """What ``trialwise sweep`` was asked to do for one study."""

    root: Path
    config: Config
    space: Space
    trials: int
    seeds: int = DEFAULT_SWEEP_SEEDS
    objective: Objective | None = None
    sampler: str = "tpe"
    sampler_seed: int | None = None
    startup_trials: int | None = None
    pruner: str = "median"
    pruner_startup: int = PRUNER_STARTUP_TRIALS
    profile: str | None = None
    mode: str | None = None
    command: tuple[str, ...] = ()
    ref: str = "HEAD"
    study: str | None = None
    storage: str | None = None
    default_first: bool = True
    grid_points: int = DEFAULT_GRID_POINTS
    jobs: int | None = None
    timeout: float | None = None
    stage: str = "search"

    def resolved_objective(self) -> Objective:
        m = self.config.metric
        return self.objective or Objective(m.name, m.direction, "summary")


@dataclass(frozen=True)
class SweepOutcome(Record):
    """One study after this invocation."""

    study: str
    storage: str | None
    meta: StudyMeta
    budget: int
    ran: tuple[int, ...]
    interrupted: bool
    counts: dict[str, int] = field(default_factory=dict)


def seed_values(store: Store, runs: Sequence[Run], objective: Objective) -> list[float]:
    """Per-seed objective values of ``runs`` (in seed order); NaN for seeds that did not complete."""
    out = []
    for r in sorted(runs, key=lambda r: r.seed):
        if r.status != "completed":
            out.append(float("nan"))
            continue
        series = None
        if objective.kind != "summary":
            series = store.series(r.id).get(objective.metric, ([], []))[1]
        out.append(objective.seed_value(r.summary, series))
    return out


def _sorted(values: dict[str, Any]) -> dict[str, Any]:
    """Overrides in name order: the store keeps a launch's overrides sorted, so a trial's experiment is
    the one :func:`~trialwise.runner.spec_for_experiment` rebuilds for the re-check (same argv order)."""
    return dict(sorted(values.items()))


def _commit(spec: SweepSpec) -> str:
    """The commit every trial runs: ``ref`` resolved once (a dirty tree is refused, like ``run``)."""
    fixed = dict(spec.space.fixed)
    prep = prepare(LaunchSpec(root=spec.root, config=spec.config, command=spec.command, ref=spec.ref,
                              profile=spec.profile, mode=spec.mode, overrides=_sorted(fixed)))
    return prep.experiment.commit_sha


def _meta(spec: SweepSpec, commit: str) -> StudyMeta:
    return StudyMeta(commit=commit, space=tuple(spec.space.specs()), fixed=dict(spec.space.fixed),
                     objective=spec.resolved_objective(), seeds=spec.seeds, profile=spec.profile, mode=spec.mode,
                     command=tuple(spec.command), stage=spec.stage)


def _quiet_optuna() -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # trialwise reports failed and pruned trials itself
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def load_study(name: str, storage_url: str | None) -> tuple[Any, StudyMeta]:
    """An existing study and its :class:`StudyMeta`."""
    import optuna

    _quiet_optuna()
    storage = open_storage(storage_url)
    try:
        study = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        known = [s.study_name for s in optuna.get_all_study_summaries(storage)]
        raise UsageError(f"no study '{name}' in {storage_url or 'memory'}; known: {', '.join(known) or 'none'} "
                         "(`trialwise sweep ls` lists them)") from None
    raw = study.user_attrs.get(META_ATTR)
    if raw is None:
        raise UsageError(f"study '{name}' was not created by trialwise sweep (no '{META_ATTR}' attribute)")
    return study, StudyMeta.from_dict(raw)


def _open(spec: SweepSpec, meta: StudyMeta, storage_url: str | None) -> tuple[Any, str]:
    import optuna

    _quiet_optuna()
    name = spec.study or study_name(meta)
    study = optuna.create_study(storage=open_storage(storage_url), study_name=name, load_if_exists=True,
                                direction=meta.objective.optuna_direction, sampler=optuna.samplers.RandomSampler())
    raw = study.user_attrs.get(META_ATTR)
    if raw is None:
        study.set_user_attr(META_ATTR, meta.to_dict())
    else:
        diff = StudyMeta.from_dict(raw).mismatch(meta)
        if diff:
            raise UsageError(f"study '{name}' searches something else: " + "; ".join(diff)
                             + ". Continue it with the same arguments, or start another with a new --study")
    return study, name


def _count(study: Any) -> tuple[int, dict[str, int]]:
    records = trial_records(study.get_trials(deepcopy=False))
    counts: dict[str, int] = {}
    for r in records:
        key = r.outcome or r.state
        counts[key] = counts.get(key, 0) + 1
    return sum(r.counted for r in records), counts


def run_sweep(spec: SweepSpec, store: Store, *, launch: Launch | None = None,
              observer: SweepObserver | None = None) -> SweepOutcome:
    """Run (or resume) one study until ``spec.trials`` trials count against its budget.

    Parameters
    ----------
    spec : SweepSpec
    store : Store
        The trialwise store; Optuna's storage is derived from its URL unless ``spec.storage``.
    launch : callable, optional
        ``launch(launch_spec, backend) -> ExperimentResult``; default: :func:`run_experiment` quietly.
    observer : SweepObserver, optional

    Returns
    -------
    SweepOutcome
        ``interrupted`` when the user pressed Ctrl-C (the interrupted trial's parameters are queued
        again for the next invocation).

    References
    ----------
    .. [1] T. Akiba et al., "Optuna: A next-generation hyperparameter optimization framework", KDD 2019.
    """
    import optuna

    if spec.trials < 1 or spec.seeds < 1:
        raise UsageError(f"--trials and --seeds must be at least 1, got {spec.trials} and {spec.seeds}")
    if not spec.space.params:
        raise UsageError("nothing to search: give at least one --param NAME=KIND:LOW..HIGH "
                         "(`trialwise sweep suggest` proposes a space)")
    observer = observer or SweepObserver()
    launch = launch or (lambda ls, backend: run_experiment(ls, store, backend))
    # refuse a bad --sampler/--pruner before a study exists: it would be created with its first trial queued
    make_sampler(spec.sampler, spec.space, grid_points=spec.grid_points)
    pruner = make_pruner(spec.pruner, spec.pruner_startup)
    commit = _commit(spec)
    meta = _meta(spec, commit)
    objective = meta.objective
    storage_url = spec.storage or optuna_storage_url(store.url)
    study, name = _open(spec, meta, storage_url)
    counted, _ = _count(study)
    n_existing = len(study.get_trials(deepcopy=False))
    if n_existing == 0 and spec.default_first and spec.sampler != "grid":
        first, notes = default_trial(spec.space)
        clipped = [f"{k}'s {v}" for k, v in notes.items() if DEFAULT_CLIPPED in v]
        study.enqueue_trial(first, user_attrs={"note": "first trial: " + ", ".join(f"{k} {v}" for k, v in notes.items()),
                                               "clipped": clipped},
                            skip_if_exists=True)  # a second worker starting at once must not queue it again
    study.sampler = make_sampler(spec.sampler, spec.space,
                                 seed=None if spec.sampler_seed is None else spec.sampler_seed + n_existing,
                                 startup_trials=spec.startup_trials, grid_points=spec.grid_points)
    study.pruner = pruner
    budget = spec.trials
    if spec.sampler == "grid":  # an exhausted grid would repeat its points: the grid is the budget
        budget = min(budget, math.prod(len(v) for v in spec.space.grid(spec.grid_points).values()))
    current: dict[str, Any] = {}
    ran: list[int] = []

    def objective_fn(trial: Any) -> float:
        current["trial"] = trial
        ran.append(trial.number)
        try:
            return _evaluate(trial)
        except KeyboardInterrupt:
            trial.set_user_attr("outcome", "interrupted")
            raise

    def _evaluate(trial: Any) -> float:
        params = spec.space.suggest(trial)
        observer.trial_started(trial.number, params)
        ls = LaunchSpec(root=spec.root, config=spec.config, command=spec.command, ref=commit, profile=spec.profile,
                        mode=spec.mode, overrides=_sorted({**dict(spec.space.fixed), **params}), n_seeds=spec.seeds,
                        timeout=spec.timeout, kind=SWEEP_KIND, label=trial_label(name, trial.number))
        inner = make_backend(spec.config, spec.jobs)

        def reporter(step: int, value: float) -> bool:
            trial.report(value, step)
            return bool(trial.should_prune())

        backend: Backend = inner if spec.pruner == "none" else PruningBackend(inner, objective.metric, reporter)
        result = launch(ls, backend)
        values = seed_values(store, result.runs, objective)
        agg = aggregate(values)
        attrs = {"experiment_id": result.experiment.id, "seed_values": list(values), "seed_std": agg.std,
                 "n_seeds": agg.n, "n_completed": agg.n_ok, "reused": len(result.reused)}
        for k, v in attrs.items():
            trial.set_user_attr(k, v)
        if result.interrupted:
            trial.set_user_attr("outcome", "interrupted")
            raise SweepInterrupted(f"trial {trial.number} interrupted")
        pruned_at = getattr(backend, "pruned_at", None)
        if pruned_at is not None:
            for r in result.runs:
                if r.status == "killed":
                    store.update_run(r.id, error=f"pruned by trialwise sweep at step {pruned_at} "
                                                 f"(study {name}, trial {trial.number})")
            trial.set_user_attr("outcome", "pruned")
            trial.set_user_attr("pruned_step", pruned_at)
            raise optuna.TrialPruned(f"pruned at step {pruned_at}")
        if agg.n_ok == 0:
            errors = [r.error.strip().splitlines()[-1] for r in result.runs if r.error and r.error.strip()]
            note = f"no seed gave {objective.metric}" + (f": {errors[0]}" if errors else "")
            trial.set_user_attr("outcome", "failed")
            trial.set_user_attr("note", note)
            raise _TrialFailed(note)
        trial.set_user_attr("outcome", "completed")
        return agg.mean

    def after_trial(study_: Any, frozen: Any) -> None:
        observer.trial_finished(trial_records([frozen])[0])
        if _count(study_)[0] >= budget:
            study_.stop()

    interrupted = False
    if counted < budget:
        try:
            study.optimize(objective_fn, n_trials=budget - counted, callbacks=[after_trial], catch=(_TrialFailed,),
                           gc_after_trial=False)
        except (SweepInterrupted, KeyboardInterrupt):
            interrupted = True
            trial = current.get("trial")
            frozen = next((t for t in study.get_trials(deepcopy=False) if trial and t.number == trial.number), None)
            unfinished = (optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.FAIL)
            if frozen is not None and frozen.state in unfinished and frozen.user_attrs.get("outcome") != "failed":
                if frozen.state == optuna.trial.TrialState.RUNNING:
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
                if frozen.params:
                    study.enqueue_trial(dict(frozen.params), user_attrs={"retry_of": frozen.number})
    _, counts = _count(study)
    return SweepOutcome(name, storage_url, meta, budget, tuple(ran), interrupted, counts)


LR_STAGE_FRACTION = 0.25
"""Share of ``--trials`` spent on the learning-rate stage by default (trialwise's choice: one of the
twelve rows of seed 004's table, but the most sensitive one, searched alone in one dimension)."""

LR_STAGE_MIN_TRIALS = 6
"""Fewest learning-rate trials by default: enough points on a log axis to see both walls of the U."""


def lr_stage_trials(trials: int) -> int:
    """Default budget of the learning-rate stage for a sweep of ``trials`` trials."""
    return max(LR_STAGE_MIN_TRIALS, math.ceil(LR_STAGE_FRACTION * trials))


@dataclass(frozen=True)
class LrOnTrain:
    """Tune the learning rate on the training loss first (seed 003), then the rest on validation.

    Stage 1 searches only ``param`` (the other parameters at their first-trial values) and minimises
    ``metric`` read as ``kind`` (mean or last value of the logged series); stage 2 fixes the best
    learning rate and searches the other parameters on the config's decision metric.
    """

    param: str
    metric: str = "train_loss"
    kind: str = "series-mean"
    trials: int = 8


def run_lr_on_train(spec: SweepSpec, lr: LrOnTrain, store: Store, *, launch: Launch | None = None,
                    observer: SweepObserver | None = None) -> tuple[SweepOutcome, SweepOutcome | None]:
    """Stage 1 (learning rate on the training loss) then stage 2 (the rest on validation).

    Returns the two outcomes; the second is ``None`` when stage 1 was interrupted or there is nothing
    else to search.

    References
    ----------
    .. [1] Seed 003 (Deep Learning Book ch. 11 notes): "Learning rate can be tuned on the training set;
       all the others on the validation set."
    """
    lr_spec = spec.space.get(lr.param)
    if lr_spec.kind == "choice":
        raise UsageError(f"--lr-on-train needs a numeric range for '{lr.param}', got {lr_spec.spec()}")
    others = Space(tuple(p for p in spec.space.params if p.name != lr.param), spec.space.fixed)
    first, _ = default_trial(others)
    stage1 = replace(
        spec, space=Space((lr_spec,), tuple(sorted({**dict(spec.space.fixed), **first}.items()))),
        trials=lr.trials, objective=Objective(lr.metric, "min", lr.kind), stage="lr-on-train",
        study=f"{spec.study}.lr" if spec.study else None,
    )
    out1 = run_sweep(stage1, store, launch=launch, observer=observer)
    if out1.interrupted or not others.params:
        return out1, None
    study, _ = load_study(out1.study, out1.storage)
    done = [t for t in trial_records(study.get_trials(deepcopy=False)) if t.state == "complete" and t.value is not None]
    if not done:
        raise DataError(f"no learning-rate trial of study '{out1.study}' completed with a finite {lr.metric}; "
                        "check that the script logs it with tw.log and that the range is sensible")
    best = min(done, key=lambda t: t.value)  # type: ignore[arg-type, return-value]
    stage2 = replace(spec, space=others.without((), {lr.param: best.params[lr.param]}))
    return out1, run_sweep(stage2, store, launch=launch, observer=observer)
