"""After the search: best trials, the winner re-check, importances and slices of one study."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trialwise._exceptions import DataError
from trialwise.metrics._common import Record
from trialwise.runner import make_backend, spec_for_experiment

from trialwise.settings import Config
from trialwise.store._store import Store
from trialwise.tune._importance import DEFAULT_BOOTSTRAP, ImportanceResult, bootstrap_importance
from trialwise.tune._objective import Objective
from trialwise.tune._recheck import DEFAULT_RECHECK_SEEDS, DEFAULT_TOP_K, Recheck, recheck, top_configurations
from trialwise.tune._slices import SliceData, save_slices, slice_data
from trialwise.tune._study import StudyMeta, TrialRecord, trial_records
from trialwise.tune._sweep import Launch, SweepInterrupted, SweepOutcome, seed_values, trial_label

__all__ = ["BEST_SHOWN", "FreshRunner", "SweepReport", "analyze_study", "fresh_runner"]

BEST_SHOWN = 10
"""Best trials listed in a report."""

FreshRunner = Callable[[TrialRecord, list[int]], list[float]]
"""``run(trial, seeds)`` runs ``seeds`` more seeds of a trial's configuration, returns their values."""


@dataclass(frozen=True)
class SweepReport(Record):
    """Everything ``trialwise sweep`` reports about one study."""

    study: str
    storage: str | None
    meta: StudyMeta
    counts: dict[str, int]
    best: tuple[TrialRecord, ...]
    recheck: Recheck | None
    importance: ImportanceResult | None
    slices: tuple[SliceData, ...]
    plot: str | None
    outcome: SweepOutcome | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    lr_stage: SweepReport | None = None


def fresh_runner(store: Store, root: Path, config: Config, objective: Objective, *, launch: Launch | None = None,
                 jobs: int | None = None, timeout: float | None = None, study: str | None = None) -> FreshRunner:
    """Runs more seeds of a trial's experiment through the runner (same commit, command, parameters).

    With ``study``, each re-check is labelled ``<study>#<trial>-recheck`` (:func:`trial_label`), so
    the progress of the re-checked configurations reads apart."""
    from trialwise.runner import run_experiment

    go = launch or (lambda ls, backend: run_experiment(ls, store, backend))

    def run(trial: TrialRecord, seeds: list[int]) -> list[float]:
        if trial.experiment_id is None:
            raise DataError(f"trial {trial.number} has no experiment recorded; it cannot be re-run")
        exp = store.experiment(trial.experiment_id)
        label = trial_label(study, trial.number, recheck=True) if study else None
        result = go(spec_for_experiment(exp, root, config, seeds=seeds, timeout=timeout, label=label),
                    make_backend(config, jobs))
        if result.interrupted:
            raise SweepInterrupted(f"re-check of trial {trial.number} interrupted")
        return seed_values(store, [r for r in result.runs if r.seed in set(seeds)], objective)

    return run


def _best(records: Sequence[TrialRecord], direction: str, n: int) -> tuple[TrialRecord, ...]:
    done = [r for r in records if r.state == "complete" and r.value is not None and not math.isnan(r.value)]
    sign = 1.0 if direction == "max" else -1.0
    return tuple(sorted(done, key=lambda r: -sign * r.value)[:n])  # type: ignore[operator]


def analyze_study(study: Any, meta: StudyMeta, name: str, storage: str | None, *, run_fresh: FreshRunner | None = None,
                  top_k: int = DEFAULT_TOP_K, recheck_seeds: int = DEFAULT_RECHECK_SEEDS, alpha: float = 0.05,
                  evaluator: str = "fanova", n_bootstrap: int = DEFAULT_BOOTSTRAP, seed: int = 0,
                  plot_path: Path | None = None, outcome: SweepOutcome | None = None) -> SweepReport:
    """Best trials, the re-check of the top ``top_k`` on ``recheck_seeds`` fresh seeds (when
    ``run_fresh`` is given and ``top_k > 0``), bootstrap importances and slices (PNG at ``plot_path``).
    """
    records = trial_records(study.get_trials(deepcopy=False))
    objective = meta.objective
    counts: dict[str, int] = {}
    for r in records:
        counts[r.outcome or r.state] = counts.get(r.outcome or r.state, 0) + 1
    notes: list[str] = []
    best = _best(records, objective.direction, BEST_SHOWN)
    done = [r for r in records if r.state == "complete" and r.value is not None and math.isfinite(r.value)]
    space = meta.parsed_space
    partial = [r for r in done if r.n_failed]
    if partial:
        shown = ", ".join(f"{r.number} ({r.n_completed} of {r.n_seeds} seeds)" for r in partial[:10])
        notes.append(f"trial(s) {shown}{' ...' if len(partial) > 10 else ''} had failed seeds: their mean rests on "
                     f"the seeds that completed, so they are not re-checked as winners; `trialwise show "
                     f"{partial[0].experiment_id or 'EXPERIMENT'}` says why trial {partial[0].number}'s seed failed")
    for r in records:
        if r.clipped:
            notes.append(f"trial {r.number} started from the seed-004 defaults, but " + " and ".join(r.clipped)
                         + ": the search stays inside the range you gave; widen it to try the default itself")
    rc = None
    top = top_configurations(records, top_k, objective.direction) if top_k > 0 else []
    if run_fresh is not None and top_k > 0 and recheck_seeds > 0 and done and not top:
        notes.append("no trial completed every seed: nothing to re-check")
    if run_fresh is not None and recheck_seeds > 0 and top:
        fresh_seeds = list(range(meta.seeds, meta.seeds + recheck_seeds))
        fresh = {t.number: run_fresh(t, fresh_seeds) for t in top}
        rc = recheck(top, fresh, metric=objective.metric, direction=objective.direction, fresh_seeds=fresh_seeds,
                     alpha=alpha)
    imp = None
    if len(space.params) >= 2:
        try:
            imp = bootstrap_importance([r.params for r in done], [r.value for r in done], space,  # type: ignore[misc]
                                       direction=objective.direction, evaluator=evaluator, n_bootstrap=n_bootstrap,
                                       seed=seed)
        except DataError as exc:
            notes.append(f"importance: {exc}")
    slices = slice_data([r.params for r in done], [r.value for r in done], [r.number for r in done], space,  # type: ignore[misc]
                        direction=objective.direction)
    plot = None
    if plot_path is not None and done:
        plot = str(save_slices(slices, plot_path, metric=objective.describe(),
                               importance={p.name: p.importance for p in imp.params} if imp else None,
                               title=f"{name}: {len(done)} completed trials"))
    matters = {p.name for p in imp.params if p.matters} if imp else {s.name for s in slices}
    for s in slices:
        if s.shape in ("low", "high", "monotone") and s.name in matters:
            notes.append(f"{s.name}: {s.note}")
    return SweepReport(name, storage, meta, counts, best, rc, imp, slices, plot, outcome, tuple(notes))
