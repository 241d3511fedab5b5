"""Ablations, invasive-change checks and fast-cycle fidelity on real runs (seed 001 #3, #5, #6, #8).

The glue between the pure layer of this package (designs, factorial analysis, config diffs,
fidelity) and the runner, the store and the decision engine (:mod:`trialwise.decide`): it builds
combination commits, runs (or reuses) their seeds, collects per-seed values, applies the same
refusals as ``trialwise compare``, and returns records the CLI only prints.

Every run goes through an *executor* (``LaunchSpec -> ExperimentResult``); the CLI passes one that
shows a live display, :func:`local_executor` runs quietly on this machine. The runner reuses a seed
already completed for the same commit, command, launch config, profile, mode, metric version and
environment, so a repeated ablation costs nothing.

References
----------
D. Khizbullin, "Ten Patterns and Antipatterns of Deep Learning Experimentation", Towards AI, 2023,
#3, #5, #6 and #8 (seed 001). G. E. P. Box, J. S. Hunter, W. G. Hunter, *Statistics for
Experimenters*, 2nd ed., 2005, ch. 5-6 (factorial and fractional factorial designs).
S. Holm, Scandinavian Journal of Statistics 6(2), 1979 (several modes decided together).
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trialwise._exceptions import DataError, GitError, RefusedComparison, UsageError
from trialwise.ablate._combine import build_combinations
from trialwise.ablate._common import check_alpha, subset_label
from trialwise.ablate._design import (
    DEFAULT_MAX_CELLS,
    FRACTIONS,
    FULL,
    FULL_UP_TO,
    Design,
    DesignRecommendation,
    fractional_factorial,
    full_factorial,
    one_at_a_time_plus_all,
    recommend_design,
)
from trialwise.ablate._factorial import (
    FactorialAnalysis,
    ShadowingReport,
    SubsetRecommendation,
    _verdict,
    analyze_factorial,
    detect_shadowing,
    recommend_subset,
)
from trialwise.ablate._fidelity import FidelityPair, FidelityReport, fidelity
from trialwise.ablate._invasive import InvasiveReport, invasive_report
from trialwise.api._files import ENV_DRY_RUN
from trialwise.decide import (
    EXIT_FAIL,
    EXIT_PASS,
    EXIT_UNDECIDED,
    MIN_SEEDS_FOR_VERDICT,
    REGRESSION,
    Arm,
    DecisionSet,
    check_arms,
    decide,
    holm_adjust,
    load_arm,
)
from trialwise.metrics._common import Record
from trialwise.provenance import git, resolve_ref
from trialwise.runner import ExperimentResult, LaunchSpec, make_backend, run_experiment

from trialwise.settings import Config
from trialwise.stats._compare import ArmSummary, _arm
from trialwise.store._records import Experiment
from trialwise.store._store import Store

__all__ = [
    "ABLATION_KIND", "AblationCell", "AblationResult", "DESIGN_CHOICES", "DRY_RUN_KIND", "Executor",
    "FIDELITY_FAST", "FIDELITY_FULL", "FidelityEntry", "InvasiveCheck", "NON_INVASIVE", "INVASIVE", "UNDECIDED",
    "StoreFidelity", "check_invasive", "choose_design", "local_executor", "run_ablation", "store_fidelity",
]

Executor = Callable[[LaunchSpec], ExperimentResult]
"""Runs (or reuses) the seeds of one experiment; raises (e.g. ``KeyboardInterrupt``) when interrupted."""

ABLATION_KIND = "ablation"
"""``Experiment.kind`` of a combination's runs (the kind is not part of the experiment id, so a
combination that was already run with ``trialwise run`` is reused)."""

DRY_RUN_KIND = "dry-run"
"""``Experiment.kind`` of the ``TRIALWISE_DRY_RUN=1`` runs of ``check-invasive``: they record the
resolved config and exit, so they never count as results (fidelity skips them)."""

DRY_RUN_SEED = 0
"""The one seed a dry run uses: the resolved config must not depend on the seed."""

DESIGN_CHOICES = ("auto", "full", "oat", "fractional")
"""``auto``: :func:`~trialwise.ablate.recommend_design` (full factorial up to
:data:`~trialwise.ablate._design.FULL_UP_TO` changes, a cheaper design beyond); ``full``: every
combination (Box, Hunter & Hunter 2005 ch. 5); ``oat``: each change alone plus all together
(seed 001 #3 literally); ``fractional``: a regular 2^(k-p) fraction of resolution V, else IV
(Montgomery 2013 Table 8.14)."""

FIDELITY_FAST = "fast"
FIDELITY_FULL = "full"
"""Default profile names of the fast and the full training cycle (seed 001 #5; ``trialwise init``
writes ``[profiles.fast]`` and ``[profiles.full]``)."""

NON_INVASIVE = "non-invasive"
INVASIVE = "invasive"
UNDECIDED = "cannot decide"
"""Verdicts of :func:`check_invasive`, with exit codes 0, 1 and 2 (the gate's convention)."""


def local_executor(store: Store, jobs: int | None = None) -> Executor:
    """An executor that runs seeds on this machine, ``jobs`` at a time, without a display."""

    def execute(spec: LaunchSpec) -> ExperimentResult:
        result = run_experiment(spec, store, make_backend(spec.config, jobs))
        if result.interrupted:
            raise KeyboardInterrupt
        return result

    return execute


# ------------------------------------------------------------------------------------------------ ablate


@dataclass(frozen=True)
class AblationCell(Record):
    """One combination as it ran: its commit, experiment, reuse, and mean with its t-interval."""

    subset: tuple[str, ...]
    label: str
    row: tuple[int, ...]
    commit: str
    experiment_id: str
    experiment_name: str
    seeds: tuple[int, ...]
    reused: int
    summary: ArmSummary
    verdict: str
    """The cell's difference from the base in seed 001's words (``"base"`` for the base cell)."""


@dataclass(frozen=True)
class AblationResult(Record):
    """Everything ``trialwise ablate`` found: cells, effects, shadowing, the subset to merge."""

    base_ref: str
    base_commit: str
    changes: tuple[str, ...]
    metric: str
    direction: str
    profile: str | None
    mode: str | None
    design: Design
    recommendation: DesignRecommendation
    cells: tuple[AblationCell, ...]
    analysis: FactorialAnalysis
    shadowing: ShadowingReport
    subset: SubsetRecommendation
    warnings: tuple[str, ...]
    notes: tuple[str, ...]


def choose_design(k: int, design: str = "auto", max_cells: int = DEFAULT_MAX_CELLS) -> tuple[Design, DesignRecommendation, tuple[str, ...]]:
    """The design to run for ``k`` changes, the recommendation, and notes on what it cannot estimate.

    For ``k`` above :data:`~trialwise.ablate._design.FULL_UP_TO` the notes name the cheaper design
    (seed 001 #3 asks for each change separately; a fractional factorial keeps main effects clear
    of two-factor interactions, Montgomery 2013 §8.3) and, for whatever was chosen, what it aliases.
    """
    if design not in DESIGN_CHOICES:
        raise UsageError(f"--design must be one of {', '.join(DESIGN_CHOICES)}; got '{design}'.")
    rec = recommend_design(k, max_cells)
    if design == "auto":
        chosen = rec.design
    elif design == "full":
        chosen = full_factorial(k)
    elif design == "oat":
        chosen = one_at_a_time_plus_all(k)
    else:
        ks = sorted({e.k for e in FRACTIONS})
        if not ks[0] <= k <= ks[-1]:
            raise UsageError(f"--design fractional needs {ks[0]} to {ks[-1]} changes (got {k}); with fewer, the "
                             f"full factorial ({2**k} cells) is already small: use --design full.")
        try:
            chosen = fractional_factorial(k, resolution=5)
        except UsageError:
            chosen = fractional_factorial(k, resolution=4)
    notes = []
    if k > FULL_UP_TO and chosen.kind == FULL:
        notes.append(f"{k} changes: the full factorial runs {chosen.n_cells} cells; the cheaper "
                     f"{rec.design.name} runs {rec.design.n_cells} (--design auto) but cannot separate: "
                     + "; ".join(rec.design.aliased) + ".")
    elif k > FULL_UP_TO:
        notes.append(f"{k} changes: running {chosen.name} ({chosen.n_cells} cells) instead of the full factorial "
                     f"({2**k} cells).")
    notes += [f"{chosen.name} cannot separate: {a}" for a in chosen.aliased if not a.startswith("nothing")]
    return chosen, rec, tuple(notes)


def _cell_ref(sha: str, row: tuple[int, ...], base_ref: str, names: Sequence[str], tips: Sequence[str]) -> str:
    """A readable ref for a cell's commit: the base ref, a change branch (fast-forward), else a short sha."""
    if not any(row):
        return base_ref
    if sum(row) == 1:
        i = row.index(1)
        if tips[i] == sha:
            return names[i]
    return sha[:12]


def _arm_summary(arm: Arm, confidence: float) -> ArmSummary:
    import numpy as np

    values = np.asarray(arm.values, dtype=float)
    finite = values[np.isfinite(values)]
    return _arm(arm.label, finite, int(values.size - finite.size), confidence)


def run_ablation(store: Store, root: Path, config: Config, base_ref: str, change_refs: Sequence[str], *,
                 execute: Executor, seeds: int | None = None, profile: str | None = None, mode: str | None = None,
                 design: str = "auto", alpha: float = 0.05, max_cells: int = DEFAULT_MAX_CELLS) -> AblationResult:
    """Build every combination the design asks for, run its seeds, and analyse (seed 001 #3).

    Parameters
    ----------
    store, root, config
        The repository's store, root and ``trialwise.toml``.
    base_ref : str
        The base (e.g. ``"main"``).
    change_refs : sequence of str
        One branch per change (seed 001 #6), merged in this order.
    execute : Executor
        Runs one experiment (:func:`local_executor`, or the CLI's with a live display).
    seeds, profile, mode
        As for ``trialwise run`` (default seeds: ``config.seeds``).
    design : {"auto", "full", "oat", "fractional"}
        See :data:`DESIGN_CHOICES`.
    alpha : float
        1 - confidence level of every interval.

    Raises
    ------
    GitError
        A ref does not resolve, or a merge conflicts (names the branches and files).
    RefusedComparison
        The cells cannot be compared: different metric versions (pattern #10), fewer than two
        completed seeds in a cell (pattern #1).
    """
    alpha = check_alpha(alpha, "run_ablation()")
    names = [str(r) for r in change_refs]
    if not names:
        raise UsageError("ablate needs at least one change branch after the options, e.g. "
                         "`trialwise ablate --base main feat/a feat/b`.")
    if base_ref in names:
        raise UsageError(f"'{base_ref}' is both the base and a change; name the base with --base and the change "
                         "branches as arguments.")
    chosen, rec, notes = choose_design(len(names), design, max_cells)
    base_sha = resolve_ref(root, base_ref).sha
    tips = [resolve_ref(root, n).sha for n in names]
    # validate profile, mode and command before merging anything; the base's own trialwise.toml
    # names the metric
    from trialwise.runner import prepare

    base_prep = prepare(LaunchSpec(root=root, config=config, ref=base_ref, profile=profile, mode=mode, n_seeds=seeds))
    metric, direction = base_prep.config.metric.name, base_prep.config.metric.direction
    shas = build_combinations(root, base_ref, names, chosen.rows)

    arms: dict[tuple[int, ...], tuple[Arm, ExperimentResult]] = {}
    for row in chosen.rows:
        spec = LaunchSpec(root=root, config=config, ref=_cell_ref(shas[row], row, base_ref, names, tips),
                          profile=profile, mode=mode, n_seeds=seeds, kind=ABLATION_KIND)
        res = execute(spec)
        arms[row] = (Arm(res.experiment, sorted(res.runs, key=lambda r: r.seed), metric), res)

    base_arm = arms[chosen.rows[0]][0]
    refusals: list[str] = []
    warnings: list[str] = []
    for row in chosen.rows[1:]:  # the base is checked against every other cell
        label = subset_label(tuple(n for n, b in zip(names, row) if b))
        checks = check_arms(store, root, base_arm, arms[row][0], max_age_days=config.baseline.max_age_days)
        refusals += [f"{label}: {r}" for r in checks.refusals]
        warnings += [w for w in checks.warnings if w not in warnings]
    if refusals:
        unique = list(dict.fromkeys(refusals))
        raise RefusedComparison("the ablation cannot be analysed: " + " | ".join(unique), unique)

    analysis = analyze_factorial(chosen, {row: arms[row][0].values for row in chosen.rows}, names, direction, alpha)
    cells = []
    for row, cell in zip(chosen.rows, analysis.cells):
        arm, res = arms[row]
        cells.append(AblationCell(cell.subset, cell.label, row, shas[row], arm.experiment.id, arm.experiment.name,
                                  tuple(arm.seeds), len(res.reused), _arm_summary(arm, 1 - alpha),
                                  _verdict(cell.vs_base) if cell.vs_base is not None else "base"))
    return AblationResult(base_ref, base_sha, tuple(names), metric, direction, profile, mode, chosen, rec,
                          tuple(cells), analysis, detect_shadowing(analysis), recommend_subset(analysis),
                          tuple(warnings), notes)


# --------------------------------------------------------------------------------------- check-invasive


@dataclass(frozen=True)
class InvasiveCheck(Record):
    """Whether a change meant for one mode alters or regresses the others (seed 001 #8).

    ``report`` is the dry-run comparison of resolved configs; ``decisions`` (with ``--run``) the
    Holm-corrected comparisons of every non-target mode, base against change. ``exit_code``
    follows the gate: 0 non-invasive, 1 invasive, 2 cannot decide.
    """

    base_ref: str
    change_ref: str
    target_mode: str
    profile: str | None
    modes: tuple[str, ...]
    base_configs: Mapping[str, Mapping[str, Any]]
    change_configs: Mapping[str, Mapping[str, Any]]
    report: InvasiveReport
    decisions: DecisionSet | None
    regressed: tuple[str, ...]
    verdict: str
    exit_code: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["decisions"] = self.decisions.to_dict() if self.decisions is not None else None
        return out


def _dry_config(root: Path, config: Config, store: Store, execute: Executor, ref: str, mode: str,
                profile: str | None) -> dict[str, Any]:
    """The config ``tw.config`` resolved for ``mode`` at ``ref``, from a ``TRIALWISE_DRY_RUN=1`` run."""
    spec = LaunchSpec(root=root, config=config, ref=ref, profile=profile, mode=mode, seeds=[DRY_RUN_SEED],
                      kind=DRY_RUN_KIND, extra_env={ENV_DRY_RUN: "1"})
    res = execute(spec)
    run = next(iter(res.runs), None)
    if run is None or run.status != "completed":
        status = run.status if run else "did not run"
        tail = ((run.error or "").strip().splitlines() or [""])[-1] if run else ""
        where = f" (.trialwise/runs/{run.id}/stderr.log)" if run else ""
        raise UsageError(f"the dry run of mode '{mode}' at '{ref}' {status}{': ' + tail if tail else ''}{where}. "
                         f"Fix the script so that `{ENV_DRY_RUN}=1` reaches tw.config(...) and exits cleanly.")
    params = store.params(run.id)
    if not params:
        raise UsageError(f"mode '{mode}' at '{ref}' reported no configuration under {ENV_DRY_RUN}=1: the script must "
                         "call tw.config({...}) with its resolved hyperparameters (see the README's in-script API) "
                         "so check-invasive can compare the modes.")
    return params


def check_invasive(store: Store, root: Path, config: Config, base_ref: str, change_ref: str, target_mode: str, *,
                   execute: Executor, profile: str | None = None, run: bool = False, seeds: int | None = None,
                   alpha: float = 0.05) -> InvasiveCheck:
    """Dry-run every mode of base and change and diff their resolved configs; with ``run``, also
    run every non-target mode of both and decide (Holm-corrected): non-invasive only when no other
    mode's config differs and none regresses (seed 001 #8)."""
    alpha = check_alpha(alpha, "check_invasive()")
    modes = tuple(sorted(config.modes))
    if not modes:
        raise UsageError("check-invasive compares modes, and trialwise.toml defines none: add a [modes.NAME] "
                         "section per mode of operation (e.g. [modes.backbone_x] args = [\"--backbone\", \"x\"]).")
    if target_mode not in modes:
        raise UsageError(f"unknown mode '{target_mode}' for --target-mode (known: {', '.join(modes)}); define "
                         f"[modes.{target_mode}] in trialwise.toml or pick one of those.")
    for ref in (base_ref, change_ref):
        resolve_ref(root, ref)
    base_cfg = {m: _dry_config(root, config, store, execute, base_ref, m, profile) for m in modes}
    change_cfg = {m: _dry_config(root, config, store, execute, change_ref, m, profile) for m in modes}
    report = invasive_report(base_cfg, change_cfg, target_mode)

    decisions: DecisionSet | None = None
    regressed: tuple[str, ...] = ()
    undecided: list[str] = []
    if run:
        made = []
        for m in (x for x in modes if x != target_mode):
            exps = [execute(LaunchSpec(root=root, config=config, ref=ref, profile=profile, mode=m,
                                       n_seeds=seeds)).experiment for ref in (base_ref, change_ref)]
            made.append(decide(store, root, exps[0], exps[1], alpha=alpha,
                               max_age_days=config.baseline.max_age_days, label=m))
        decisions = holm_adjust(made, alpha)
        regressed = tuple(d.label for d in decisions.decisions if d.verdict == REGRESSION)
        undecided = [f"{d.label}: {d.sentence}" for d in decisions.decisions if not d.decided]

    altered = [m.mode for m in report.invaded]
    if altered or regressed:
        parts = []
        if altered:
            parts.append(f"it alters the resolved config of mode(s) {', '.join(altered)}")
        if regressed:
            parts.append(f"mode(s) {', '.join(regressed)} regress")
        verdict, code = INVASIVE, EXIT_FAIL
        reason = (f"{' and '.join(parts)}, although the change targets '{target_mode}' (seed 001 #8). "
                  "Scope the change to the target mode, then re-run its experiment before merging.")
    elif undecided:
        verdict, code = UNDECIDED, EXIT_UNDECIDED
        reason = "whether other modes regress: " + " | ".join(undecided)
    else:
        verdict, code = NON_INVASIVE, EXIT_PASS
        reason = (f"no mode other than '{target_mode}' changes its resolved config"
                  + (" and none regresses" if run else
                     " (code-only effects are not covered by the dry run: add --run to measure the other modes)")
                  + ".")
    return InvasiveCheck(base_ref, change_ref, target_mode, profile, modes, base_cfg, change_cfg, report,
                         decisions, regressed, verdict, code, reason)


# --------------------------------------------------------------------------------------------- fidelity


@dataclass(frozen=True)
class FidelityEntry(Record):
    """Where one fidelity pair comes from: the change's and its baseline's experiments per profile."""

    name: str
    commit: str
    baseline_commit: str
    mode: str | None
    fast_experiments: tuple[str, str]
    full_experiments: tuple[str, str]
    n_fast: tuple[int, int]
    n_full: tuple[int, int]
    """Seeds (change, baseline) in each profile."""


@dataclass(frozen=True)
class StoreFidelity(Record):
    """The fidelity of the fast cycle over every change stored in both profiles (seed 001 #5)."""

    against: str
    fast_profile: str
    full_profile: str
    metric: str
    direction: str
    entries: tuple[FidelityEntry, ...]
    skipped: tuple[str, ...]
    report: FidelityReport


def _group_key(exp: Experiment) -> str:
    """What makes two experiments the same change in another profile: everything but the profile."""
    launch = exp.launch or {}
    return json.dumps({"commit": exp.commit_sha, "mode": exp.mode, "command": launch.get("base_command"),
                       "overrides": launch.get("overrides", {}), "extra_env": launch.get("extra_env", {})},
                      sort_keys=True, default=str)


def _is_result(exp: Experiment) -> bool:
    return exp.kind != DRY_RUN_KIND and not exp.dirty and ENV_DRY_RUN not in (exp.launch or {}).get("extra_env", {})


def _best_arm(store: Store, exps: Sequence[Experiment], metric: str) -> Arm | None:
    """The newest experiment with at least :data:`MIN_SEEDS_FOR_VERDICT` completed values."""
    for exp in reversed(exps):
        arm = load_arm(store, exp, metric)
        if sum(math.isfinite(v) for v in arm.values) >= MIN_SEEDS_FOR_VERDICT:
            return arm
    return None


def _finite_mean(arm: Arm) -> float:
    return statistics.fmean(v for v in arm.values if math.isfinite(v))


def _median_seconds(arms: Sequence[Arm]) -> float:
    durations = [r.duration for a in arms for r in a.runs if r.status == "completed" and r.duration]
    return float(statistics.median(durations)) if durations else math.nan


def _versions(arm: Arm) -> set[str | None]:
    return {r.metric_version for r in arm.runs if r.status == "completed"}


def store_fidelity(store: Store, root: Path, config: Config, *, fast: str = FIDELITY_FAST,
                   full: str = FIDELITY_FULL, against: str | None = None) -> StoreFidelity:
    """Fidelity of profile ``fast`` against ``full`` over every change stored in both.

    A *change* is a commit with experiments in both profiles (same mode, command and overrides);
    its *baseline* is its merge-base with ``against`` (default ``baseline.ref``), which must be in
    the store in both profiles too. Its effect in each profile is the oriented difference of means
    (positive = better), the wall time the median run duration of both experiments.

    Raises
    ------
    DataError
        No change has both profiles and a baseline with both profiles.
    """
    for name in (fast, full):
        if name not in config.profiles:
            known = ", ".join(sorted(config.profiles)) or "none configured"
            raise UsageError(f"unknown profile '{name}' (known: {known}); define [profiles.{name}] in trialwise.toml "
                             "or pass --fast/--full.")
    against = against or config.baseline.ref
    against_sha = resolve_ref(root, against).sha
    metric, sign = config.metric.name, (1.0 if config.metric.direction == "max" else -1.0)
    groups: dict[str, dict[str, list[Experiment]]] = {}
    for exp in store.experiments():
        if exp.profile in (fast, full) and _is_result(exp) and (exp.metric_name or metric) == metric:
            groups.setdefault(_group_key(exp), {}).setdefault(exp.profile, []).append(exp)

    pairs, entries, skipped = [], [], []
    for key, by_profile in groups.items():
        info = json.loads(key)
        commit = info["commit"]
        if set(by_profile) != {fast, full}:
            continue
        try:
            base_commit = git(root, "merge-base", commit, against_sha).strip()
        except GitError:
            skipped.append(f"{commit[:8]}: no common ancestor with '{against}'")
            continue
        if base_commit == commit:
            continue  # a commit of the baseline ref itself: a baseline, not a change
        sample = by_profile[full][-1]
        label = (sample.branch or commit[:8]) + (f" [{sample.mode}]" if sample.mode else "")
        base_group = groups.get(json.dumps({**info, "commit": base_commit}, sort_keys=True, default=str), {})
        if set(base_group) != {fast, full}:
            skipped.append(f"{label}: its baseline {base_commit[:8]} (merge-base with '{against}') is not in the store "
                           f"with both profiles: `trialwise run --ref {base_commit[:8]} --profile {fast}` and "
                           f"`--profile {full}`")
            continue
        arms = {p: (_best_arm(store, by_profile[p], metric), _best_arm(store, base_group[p], metric)) for p in (fast, full)}
        if any(a is None for pair in arms.values() for a in pair):
            skipped.append(f"{label}: fewer than {MIN_SEEDS_FOR_VERDICT} completed seeds in one of the four experiments")
            continue
        if any(_versions(c) != _versions(b) for c, b in arms.values()):  # type: ignore[arg-type]
            skipped.append(f"{label}: the metric version differs from its baseline's (pattern #10)")
            continue
        (cf, bf), (cu, bu) = arms[fast], arms[full]
        pairs.append(FidelityPair(label, sign * (_finite_mean(cf) - _finite_mean(bf)),  # type: ignore[arg-type]
                                  sign * (_finite_mean(cu) - _finite_mean(bu)),  # type: ignore[arg-type]
                                  _median_seconds([cf, bf]), _median_seconds([cu, bu])))  # type: ignore[list-item]
        entries.append(FidelityEntry(label, commit, base_commit, info["mode"],
                                     (cf.experiment.id, bf.experiment.id), (cu.experiment.id, bu.experiment.id),  # type: ignore[union-attr]
                                     (len(cf.values), len(bf.values)), (len(cu.values), len(bu.values))))  # type: ignore[union-attr]
    if not pairs:
        raise DataError(f"no change is in the store with both profiles '{fast}' and '{full}' and a baseline (its "
                        f"merge-base with '{against}') run in both: run the same changes in both cycles, e.g. "
                        f"`trialwise ablate --base {against} feat/a feat/b --profile {fast}` then `--profile {full}`."
                        + (f" Skipped: {'; '.join(skipped)}" if skipped else ""))
    return StoreFidelity(against, fast, full, metric, config.metric.direction, tuple(entries), tuple(skipped),
                         fidelity(pairs))
