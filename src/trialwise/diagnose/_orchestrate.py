"""Diagnosis of stored experiments: the store and the runner around the pure diagnose layer.

- :func:`diagnose_stored`: the logged series of a run, or of every seed of an experiment, through
  :func:`~trialwise.diagnose.diagnose` (roles from names, ``[diagnose.series]`` from the config).
- :func:`plan_confirmations` / :func:`run_confirmations` (``trialwise doctor``): the catalog's
  confirmatory experiments for the top suspected causes, run with seeds through ``[params]``
  overrides and judged against the original with the comparison engine (:func:`trialwise.decide.decide`).
- :func:`biasvar_stored`: seed 004's decomposition from the accuracies a run logged.
- :func:`run_datasize`: the experiment at data fractions, a learning-curve fit with a bootstrap over
  seeds, and the extrapolation to the goal (Hestness et al. 2017; Mahmood et al. 2022).

Running seeds is the caller's: every function that runs takes ``launch(spec) -> ExperimentResult``
(the CLI passes one with its progress display), as :func:`trialwise.decide.run_until_decided` does.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from trialwise._exceptions import ConfigError, DataError, UsageError
from trialwise.diagnose._biasvar import BiasVarianceReport, biasvar
from trialwise.diagnose._catalog import Catalog, load_catalog
from trialwise.diagnose._context import RunContext
from trialwise.diagnose._datasize import (
    DataHeuristics,
    PowerLawFit,
    SizeEstimate,
    data_heuristics,
    extrapolate_size,
    fit_learning_curve,
)
from trialwise.diagnose._diagnose import Diagnosis, diagnose
from trialwise.diagnose._params import COMMAND_LINE, ParamLookup, command_line_params, find_param, is_number
from trialwise.diagnose._roles import recognize_roles
from trialwise.diagnose._runfiles import RunFiles, read_run_files
from trialwise.diagnose._series import RunSeries
from trialwise.metrics._common import Record

__all__ = [
    "CONFIRMED", "DEFAULT_CAUSES", "DEFAULT_FINDINGS", "INCONCLUSIVE", "NOT_CONFIRMED", "REJECTED",
    "Confirmation", "DataSizePoint", "DataSizeReport", "DoctorReport", "Hypothesis", "Launch", "StoredBiasVar",
    "StoredDiagnosis", "biasvar_stored", "diagnose_stored", "load_series", "plan_confirmations",
    "run_confirmations", "run_datasize",
]

Launch = Callable[[Any], Any]
"""``launch(LaunchSpec) -> ExperimentResult``: runs (or reuses) the seeds of one experiment."""

SERIES_SECTION = "series"
"""``[diagnose.series]``: explicit role -> series name mapping (``train_loss = "my_loss"``)."""

DEFAULT_FINDINGS = 2
"""``doctor`` tests the causes of this many root findings (findings no other finding explains)."""

DEFAULT_CAUSES = 2
"""... and, per finding, this many of its ranked causes that have a confirmatory experiment."""

CONFIRMED = "confirmed"
"""The change improved the metric significantly (a progression in :func:`trialwise.decide.decide`)."""

REJECTED = "rejected"
"""The change made the metric significantly worse."""

NOT_CONFIRMED = "not confirmed"
"""No detectable difference at this number of seeds (the smallest detectable effect is reported)."""

INCONCLUSIVE = "inconclusive"
"""No verdict: too few completed seeds, a refusal of the comparison engine, or the runs failed."""

N_TRAIN_KEYS = ("n_train", "train_size", "n_examples", "num_train", "num_train_examples", "train_examples")
"""Config keys (``tw.config``) a script may use to report its training-set size; ``datasize`` uses it
as n (else the fraction times ``--n-full``, else the fraction itself)."""

N_PARAMS_KEYS = ("n_params", "num_params", "num_parameters", "parameters", "n_parameters")
"""Config keys a script may use to report its number of trainable parameters (seed 000's 10x rule)."""

DATA_FRACTION = "data_fraction"
"""The parameter ``datasize`` passes through ``[params]`` (the catalog's canonical name)."""


# -- loading -------------------------------------------------------------------------------------------

def _series_mapping(config: Any) -> dict[str, str]:
    """``[diagnose.series]`` as role -> name; any other ``[diagnose.*]`` table is refused."""
    tables = dict(getattr(config, "diagnose", {}) or {})
    unknown = sorted(set(tables) - {SERIES_SECTION})
    if unknown:
        raise ConfigError(f"trialwise.toml: unknown table(s) {', '.join(f'[diagnose.{u}]' for u in unknown)}; "
                          f"the only one is [diagnose.{SERIES_SECTION}] (role = \"series name\")")
    mapping = tables.get(SERIES_SECTION, {})
    bad = {k: v for k, v in mapping.items() if not isinstance(v, str)}
    if bad:
        raise ConfigError(f"trialwise.toml: [diagnose.{SERIES_SECTION}] maps roles to series names (strings); got "
                          f"{bad}. Write e.g. train_loss = \"my_loss\".")
    return {str(k): str(v) for k, v in mapping.items()}


def _run_config(run: Any, tw_config: Mapping[str, Any], files: RunFiles,
                launch: Mapping[str, Any] | None) -> tuple[dict[str, Any], dict[str, str]]:
    """The hyperparameters a run states, with where each came from: its command line (``--num-classes
    10`` as ``num_classes``), the framework's configuration files, ``--set`` values, ``tw.config`` (each
    later one wins)."""
    config: dict[str, Any] = {}
    sources: dict[str, str] = {}
    layers: list[tuple[Mapping[str, Any], str]] = [
        ({k.replace("-", "_"): v for k, v in command_line_params(list(run.command or ())).items()}, COMMAND_LINE),
        (files.config, ""),
        (dict((launch or {}).get("set") or {}), "--set"),
        (tw_config, "tw.config"),
    ]
    for values, where in layers:
        for k, v in values.items():
            config[k] = v
            sources[k] = where or files.sources.get(k, "run files")
    return config, sources


def load_series(store: Any, runs: Sequence[Any], ignore: Sequence[str] = (), *,
                launch: Mapping[str, Any] | None = None) -> list[RunSeries]:
    """One :class:`RunSeries` per stored run: its metric series, seed, status, its stated
    hyperparameters (:func:`_run_config`) and the evidence files in its run directory (its data
    arrays, the framework's configuration: :func:`~trialwise.diagnose._runfiles.read_run_files`).

    A series stored without steps (``NULL``) is placed by its logging order; series whose name
    starts with one of ``ignore`` are left out.
    """
    out = []
    for run in runs:
        series = {k: (np.arange(len(values), dtype=float) if any(s is None for s in steps)
                      else np.asarray(steps, dtype=float), values)
                  for k, (steps, values) in store.series(run.id).items() if not k.startswith(tuple(ignore))}
        files = read_run_files(getattr(run, "run_dir", None))
        config, sources = _run_config(run, store.params(run.id), files, launch)
        out.append(RunSeries(series, seed=run.seed, status=run.status, config=config, run_id=run.id,
                             data=files.data, sources=sources, notes=files.notes))
    return out


@dataclass(frozen=True)
class StoredDiagnosis(Record):
    """A :class:`Diagnosis` of stored runs, with what was diagnosed."""

    target: str
    experiment_id: str
    experiment: str
    run_ids: tuple[str, ...]
    seeds: tuple[int, ...]
    diagnosis: Diagnosis
    chance: float | None
    goal: float | None
    metric: str
    single_run: bool = False


def _select(store: Any, root: Path, token: str) -> tuple[Any, list[Any], bool]:
    """``(experiment, runs, single_run)``: an experiment's newest run per seed, or one run by id."""
    from trialwise.store._select import select_experiment

    try:
        exp = select_experiment(store, root, token)
    except UsageError as exc:
        try:
            run = store.run(token)
        except UsageError:
            raise UsageError(f"'{token}' names neither an experiment nor a run: {exc}") from None
        return store.experiment(run.experiment_id), [run], True
    from trialwise.decide import load_arm

    runs = load_arm(store, exp, exp.metric_name or "").runs  # the newest finished run per seed
    if not runs:
        raise UsageError(f"experiment {exp.name} ({exp.id}) has no finished run yet; wait for it or "
                         f"`trialwise run` it first")
    return exp, runs, False


def diagnose_stored(store: Any, root: Path, token: str, config: Any, *, chance: float | None = None,
                    catalog: Catalog | None = None, ignore: Sequence[str] = (),
                    n_classes: int | None = None) -> StoredDiagnosis:
    """Diagnose the stored series of run ``token`` or of every seed of experiment ``token``.

    Roles are recognised from the series names; ``[diagnose.series]`` maps them explicitly.  The
    goal is ``metric.goal`` on ``metric.name``; the number of classes comes from each run's
    ``tw.config`` (``n_classes``) unless ``n_classes`` or ``chance`` is given.  Series whose names start with one of
    ``ignore`` (``"probe/"``: what the script's own series alone say) are left out.
    """
    exp, runs, single = _select(store, root, token)
    series = load_series(store, runs, ignore, launch=exp.launch)
    if not any(r.series for r in series):
        raise DataError(f"{exp.name}: none of its {len(runs)} run(s) logged a metric series; trialwise reads JSON "
                        f"lines on stdout, tw.log and TensorBoard files (see `trialwise show {exp.id}`)")
    metric = config.metric.name
    d = diagnose(series, n_classes=n_classes, chance=chance, goal=config.metric.goal, metric=metric if config.metric.goal is not None else None,
                 directions={metric: config.metric.direction}, mapping=_series_mapping(config), catalog=catalog)
    return StoredDiagnosis(token, exp.id, exp.name, tuple(r.id for r in runs), tuple(r.seed for r in runs), d,
                           chance, config.metric.goal, metric, single)


# -- doctor: confirmatory experiments ------------------------------------------------------------------

@dataclass(frozen=True)
class Hypothesis(Record):
    """One cause of one finding and the experiment that would confirm it (``param`` -> ``value``)."""

    code: str
    cause_id: str
    cause: str
    diagnostic: str
    change: str
    param: str
    value: Any
    current: Any
    runnable: bool
    reason: str = ""
    source: str = ""
    """Where ``current`` was read (:data:`~trialwise.diagnose._params.SOURCES`), ``""`` when unknown."""
    catalog_param: str = ""
    """The catalog's name of the parameter (``lr``); ``param`` is the script's (``learning_rate``)."""


def _unreachable(found: ParamLookup, config: Any) -> str:
    """Why an override of ``found`` would not reach the script (``""`` when it would).

    A value read from the command line is overridden by appending ``--name value`` (the last
    occurrence wins); with ``[params] via = "env"`` the override is an environment variable instead,
    and the command line keeps the old value unless ``[params].map`` names the parameter.
    """
    if found.source == COMMAND_LINE and config.params.via == "env" and found.name not in config.params.map:
        return (f"'{found.name}' comes from the command line, but [params] via = \"env\" passes overrides as "
                f"environment variables: add {found.name} = \"--{found.name} {{value}}\" to [params.map]")
    return ""


@dataclass(frozen=True)
class Confirmation(Record):
    """What running one hypothesis showed."""

    hypothesis: Hypothesis
    experiment_id: str | None
    experiment: str | None
    verdict: str
    sentence: str
    decision: Any = None
    symptom_seeds: tuple[int, int] | None = None

    @property
    def confirmed(self) -> bool:
        return self.verdict == CONFIRMED


@dataclass(frozen=True)
class DoctorReport(Record):
    """The diagnosis, the plan and (with ``--confirm``) each hypothesis' outcome."""

    diagnosed: StoredDiagnosis
    plan: tuple[Hypothesis, ...]
    baseline_id: str | None = None
    baseline: str | None = None
    results: tuple[Confirmation, ...] = ()
    summary: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def confirmed(self) -> tuple[Confirmation, ...]:
        return tuple(c for c in self.results if c.confirmed)


def _lookup(param: str, exp: Any, configs: Sequence[Mapping[str, Any]], config: Any) -> ParamLookup:
    """What the experiment ran ``param`` with: its ``set`` values, its command line, ``tw.config``."""
    launch = exp.launch or {}
    return find_param(param, set_values=launch.get("set") or {}, argv=list(exp.command or ()), configs=configs,
                      mapped=list(config.params.map))


def _changed(current: Any, factor: float) -> Any:
    value = current * factor
    if isinstance(current, int) and not isinstance(current, bool):
        return max(1, int(round(value)))
    return float(f"{value:.6g}")


def plan_confirmations(diagnosed: StoredDiagnosis, exp: Any, configs: Sequence[Mapping[str, Any]], config: Any, *,
                       findings: int = DEFAULT_FINDINGS, causes: int = DEFAULT_CAUSES,
                       catalog: Catalog | None = None) -> tuple[Hypothesis, ...]:
    """The catalog's confirmatory experiments for the top suspected causes.

    Root findings (those no other finding explains) are taken in report order; for each, its ranked
    causes that carry a ``confirm`` entry.  A parameter is *runnable* when the script is known to take
    it: the experiment set it (``--set``, a profile's ``set``), passed it on its command line
    (``--lr 0.01``, ``--learning_rate=0.01``), the script reported it with ``tw.config``, or
    ``[params].map`` names it (:func:`~trialwise.diagnose._params.find_param`, which also matches the
    catalog's ``lr`` to the script's ``learning_rate``); a change by a factor also needs its value.
    The hypothesis names the script's parameter, so its override reaches the script.
    """
    if findings < 1 or causes < 1:
        raise UsageError(f"doctor needs at least one finding and one cause to test; got findings={findings}, "
                         f"causes={causes}")
    catalog = catalog or load_catalog()
    plan: list[Hypothesis] = []
    seen: set[tuple[str, str]] = set()
    roots = [f for f in diagnosed.diagnosis.findings if f.explained_by is None][:findings]
    for f in roots:
        taken = 0
        for cause in f.causes:
            if cause.confirm is None or taken >= causes:
                continue
            found = _lookup(cause.confirm.param, exp, configs, config)
            c = replace(cause.confirm, param=found.name) if found.name else cause.confirm
            current, value, runnable, reason = found.value, None, True, _unreachable(found, config)
            if found.ambiguous:
                runnable = False
                reason = (f"'{c.param}' could be any of {', '.join(found.candidates)} ({found.source}); name the "
                          f"one to change in [params].map")
            elif c.factor is not None:
                if not found.known or not is_number(current):
                    runnable = False
                    reason = (f"the current value of '{c.param}' is unknown: pass it on the command line "
                              f"(--{c.param} VALUE), --set it, or report it with tw.config so trialwise can multiply "
                              f"it by {c.factor:g}")
                else:
                    value = _changed(current, c.factor)
            else:
                value = c.value
                if found.name is None:
                    runnable = False
                    reason = (f"neither the command line, --set, tw.config nor [params].map names '{c.param}', so "
                              f"trialwise cannot tell whether the script takes it; add it to [params].map")
                elif found.known and current == value:
                    runnable, reason = False, f"the experiment already ran with {c.param} = {current!r}"
            runnable = runnable and not reason
            key = (c.param, repr(value))
            if key in seen:
                continue
            seen.add(key)
            taken += 1
            plan.append(Hypothesis(f.code, cause.id, cause.cause, cause.diagnostic, c.describe(), c.param, value,
                                   current, runnable, reason, found.source, cause.confirm.param))
    return tuple(plan)


def _judge(decision: Any, gone: tuple[int, int] | None, code: str, h: Hypothesis) -> tuple[str, str]:
    from trialwise.decide import INSUFFICIENT, NO_DIFFERENCE, PROGRESSION, REFUSED, REGRESSION

    symptom = ""
    if gone is not None:
        k, n = gone
        symptom = f"; {code} is still seen in {k} of {n} seeds" if k else f"; {code} is gone in all {n} seeds"
    verdict = {PROGRESSION: CONFIRMED, REGRESSION: REJECTED, NO_DIFFERENCE: NOT_CONFIRMED,
               INSUFFICIENT: INCONCLUSIVE, REFUSED: INCONCLUSIVE}.get(decision.verdict, INCONCLUSIVE)
    lead = {CONFIRMED: f"{h.change} improved {decision.metric}",
            REJECTED: f"{h.change} made {decision.metric} worse",
            NOT_CONFIRMED: f"{h.change} made no detectable difference to {decision.metric}",
            INCONCLUSIVE: f"{h.change}: no verdict"}[verdict]
    return verdict, f"{lead} ({decision.sentence}){symptom}"


def run_confirmations(store: Any, root: Path, token: str, config: Any, *, launch: Launch, seeds: int | None = None,
                      profile: str | None = None, findings: int = DEFAULT_FINDINGS, causes: int = DEFAULT_CAUSES,
                      confirm: bool = True, chance: float | None = None, alpha: float = 0.05,
                      catalog: Catalog | None = None, n_classes: int | None = None) -> DoctorReport:
    """Diagnose ``token``, plan the confirmatory experiments and (``confirm``) run and judge them.

    The original configuration is re-run (or reused) with the same ``profile`` and seeds so both arms
    of each comparison differ only in the one parameter; each arm gets ``seeds`` seeds (default: as
    many as the original, at least :data:`trialwise.decide.MIN_SEEDS_FOR_VERDICT`).  A hypothesis is
    confirmed when the change is a significant progression on ``metric.name`` (two-sided test at
    ``alpha``); the report also says whether the finding itself went away.
    """
    from trialwise.decide import MIN_SEEDS_FOR_VERDICT, decide
    from trialwise.runner import spec_for_experiment

    diagnosed = diagnose_stored(store, root, token, config, chance=chance, catalog=catalog, n_classes=n_classes)
    exp, runs, _single = _select(store, root, token)
    configs = [store.params(r.id) for r in runs]
    plan = plan_confirmations(diagnosed, exp, configs, config, findings=findings, causes=causes, catalog=catalog)
    notes: list[str] = []
    if diagnosed.diagnosis.healthy:
        return DoctorReport(diagnosed, plan, summary="nothing to confirm: the diagnosis found no failure mode")
    if not plan:
        return DoctorReport(diagnosed, plan, summary="no confirmatory experiment: the top findings' causes have none "
                                                     "in the catalog")
    if not confirm:
        return DoctorReport(diagnosed, plan, summary=f"{sum(h.runnable for h in plan)} confirmatory experiment(s) "
                                                     f"planned; pass --confirm to run them")
    if seeds is not None and seeds < MIN_SEEDS_FOR_VERDICT:
        raise UsageError(f"--seeds must be at least {MIN_SEEDS_FOR_VERDICT}: a comparison needs a variance per arm "
                         f"(pattern #1); got {seeds}")
    n = seeds or max(MIN_SEEDS_FOR_VERDICT, len(runs))
    seed_list = list(range(n))
    prof = profile if profile is not None else exp.profile
    overrides = dict((exp.launch or {}).get("overrides") or {})
    base = launch(spec_for_experiment(exp, root, config, profile=prof, seeds=seed_list)).experiment
    results: list[Confirmation] = []
    for h in plan:
        if not h.runnable:
            results.append(Confirmation(h, None, None, INCONCLUSIVE, f"{h.change}: not run: {h.reason}"))
            continue
        res = launch(spec_for_experiment(exp, root, config, profile=prof, seeds=seed_list,
                                         overrides={**overrides, h.param: h.value}))
        cand = res.experiment
        decision = decide(store, root, base, cand, metric=config.metric.name, direction=config.metric.direction,
                          alpha=alpha, max_age_days=config.baseline.max_age_days)
        gone = _symptom(store, root, cand.id, config, h.code, chance, n_classes)
        verdict, sentence = _judge(decision, gone, h.code, h)
        results.append(Confirmation(h, cand.id, cand.name, verdict, sentence, decision, gone))
    confirmed = [c for c in results if c.confirmed]
    if confirmed:
        summary = "the data confirmed: " + "; ".join(
            f"{c.hypothesis.cause} ({c.hypothesis.change}, for {c.hypothesis.code})" for c in confirmed)
    else:
        summary = "no hypothesis was confirmed at this number of seeds"
        notes.append("add seeds (--seeds) or test further causes (--causes, --findings)")
    return DoctorReport(diagnosed, plan, base.id, base.name, tuple(results), summary, tuple(notes))


def _symptom(store: Any, root: Path, exp_id: str, config: Any, code: str, chance: float | None,
             n_classes: int | None) -> tuple[int, int] | None:
    """``(seeds still showing code, seeds)`` in the confirmatory experiment (``None`` when it cannot tell)."""
    try:
        d = diagnose_stored(store, root, exp_id, config, chance=chance, n_classes=n_classes).diagnosis
    except (DataError, UsageError):
        return None
    f = d.get(code)
    return (f.n_affected if f is not None else 0, d.n_runs)


# -- bias-variance from a run --------------------------------------------------------------------------

@dataclass(frozen=True)
class StoredBiasVar(Record):
    """Seed 004's decomposition from stored runs: the per-seed errors and the report."""

    target: str
    experiment: str
    seeds: tuple[int, ...]
    errors: dict[str, tuple[float, ...]]
    series: dict[str, str]
    report: BiasVarianceReport


def _last(ctx: RunContext, role: str) -> float | None:
    c = ctx.curve(role)
    if c is None and role == "train_acc":
        step = ctx.curve("train_acc_step")
        c = step.smooth() if step is not None else None
    if c is None or not c.finite().n:
        return None
    return float(c.finite().values[-1])


def goal_error(config: Any, goal: float | None = None) -> float:
    """The goal as an error rate: ``goal`` if given, else ``metric.goal`` (``1 - goal`` for a maximised metric)."""
    if goal is not None:
        return goal
    g = config.metric.goal
    if g is None:
        raise UsageError("no goal: pass --goal (error rate) or set metric.goal in trialwise.toml (seed 003: decide "
                         "a desired level of performance first)")
    return 1.0 - g if config.metric.direction == "max" else g


def biasvar_stored(store: Any, root: Path, token: str, config: Any, *, goal: float | None = None,
                   catalog: Catalog | None = None) -> StoredBiasVar:
    """Seed 004's decomposition from the last training, validation and (if logged) test accuracy of
    every seed of ``token``; the goal (an error rate) defaults to ``metric.goal``."""
    exp, runs, _ = _select(store, root, token)
    g = goal_error(config, goal)
    mapping = _series_mapping(config)
    errors: dict[str, list[float]] = {"train": [], "val": [], "test": []}
    names: dict[str, str] = {}
    seeds: list[int] = []
    for rs in load_series(store, [r for r in runs if r.status == "completed"]):
        roles = recognize_roles(rs.series, mapping, lengths={k: len(v) for k, (_, v) in rs.series.items()})
        ctx = RunContext(rs, roles)
        vals = {split: _last(ctx, f"{split}_acc") for split in errors}
        if vals["train"] is None or vals["val"] is None:
            continue
        seeds.append(int(rs.seed or 0))
        for split, v in vals.items():
            if v is not None:
                errors[split].append(1.0 - v)
                names.setdefault(split, roles.get(f"{split}_acc") or roles.get("train_acc_step", ""))
    if not seeds:
        raise DataError(f"{exp.name}: no completed run logged both a training and a validation accuracy "
                        f"(train_acc / val_acc, or map them in [diagnose.series]); pass the errors instead: "
                        f"trialwise biasvar --goal G --train T --val V")
    test = errors["test"] if len(errors["test"]) == len(seeds) else None
    report = biasvar(g, errors["train"], errors["val"], test, catalog=catalog)
    return StoredBiasVar(token, exp.name, tuple(seeds), {k: tuple(v) for k, v in errors.items() if v}, names, report)


# -- datasize: learning curve over data fractions --------------------------------------------------------

@dataclass(frozen=True)
class DataSizePoint(Record):
    """One seed at one data fraction."""

    fraction: float
    n: float
    seed: int
    value: float
    error: float
    experiment: str


@dataclass(frozen=True)
class DataSizeReport(Record):
    """The measured learning curve, its fit, the size needed for the goal and seed 000's heuristics."""

    metric: str
    direction: str
    size_unit: str
    points: tuple[DataSizePoint, ...]
    fit: PowerLawFit | None
    estimate: SizeEstimate | None
    goal_error: float | None
    heuristics: DataHeuristics
    notes: tuple[str, ...] = ()


def _error_of(value: float, direction: str, metric: str) -> float:
    if direction == "max":
        if not 0.0 <= value <= 1.0:
            raise DataError(f"datasize fits an error rate: {metric} = {value:g} is not an accuracy-like value in "
                            f"[0, 1] (error = 1 - {metric}); use a metric in [0, 1] or one that is minimised")
        return 1.0 - value
    if value < 0:
        raise DataError(f"datasize fits a non-negative error: {metric} = {value:g} is negative")
    return value


def _first_int(configs: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> int | None:
    for c in configs:
        for k in keys:
            v = c.get(k)
            if isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > 0:
                return int(v)
    return None


def run_datasize(store: Any, root: Path, config: Any, *, launch: Launch, fractions: Sequence[float],
                 seeds: int | None = None, ref: str = "HEAD", profile: str | None = None, goal: float | None = None,
                 n_full: int | None = None, n_classes: int | None = None, degrees_of_freedom: int | None = None,
                 n_boot: int = 400) -> DataSizeReport:
    """Run the experiment at each data fraction (``data_fraction`` through ``[params]``), fit
    ``error ≈ a·n^b + c`` with a bootstrap over seeds and extrapolate the size that reaches ``goal``
    (in units of ``metric.name``; default ``metric.goal``).

    n is the training-set size the script reported (``tw.config(n_train=...)``), else the fraction
    times ``n_full``, else the fraction itself (the answer is then a multiple of today's data).
    ``n_classes`` and ``degrees_of_freedom`` (seed 000's rules of thumb) default to what the script
    reported with ``tw.config`` (``n_classes``, ``n_params``).
    """
    from trialwise.decide import MIN_SEEDS_FOR_VERDICT
    from trialwise.runner import LaunchSpec

    fr = sorted({float(f) for f in fractions})
    if len(fr) < 3 or any(not 0 < f <= 1 for f in fr):
        raise UsageError(f"--fractions needs at least 3 distinct values in (0, 1]; got {list(fractions)} "
                         f"(e.g. 0.1,0.25,0.5,1)")
    n_seeds = seeds or config.seeds
    if n_seeds < MIN_SEEDS_FOR_VERDICT:
        raise UsageError(f"--seeds must be at least {MIN_SEEDS_FOR_VERDICT}: the bootstrap resamples seeds; got "
                         f"{n_seeds}")
    metric, direction = config.metric.name, config.metric.direction
    points: list[DataSizePoint] = []
    configs: list[dict[str, Any]] = []
    notes: list[str] = []
    unit = "examples"
    for f in fr:
        res = launch(LaunchSpec(root=root, config=config, ref=ref, profile=profile, overrides={DATA_FRACTION: f},
                                seeds=list(range(n_seeds))))
        for run in res.runs:
            if run.status != "completed" or not math.isfinite(run.summary.get(metric, math.nan)):
                notes.append(f"{res.experiment.name} seed {run.seed}: {run.status}, no {metric}; left out")
                continue
            cfg = store.params(run.id)
            configs.append(cfg)
            n = _first_int([cfg], N_TRAIN_KEYS)
            if n is None:
                n, unit = (f * n_full, "examples") if n_full else (f, "fraction of the full data")
            value = run.summary[metric]
            points.append(DataSizePoint(f, float(n), run.seed, value, _error_of(value, direction, metric),
                                        res.experiment.name))
    if unit != "examples":
        notes.append("the script did not report its training-set size (tw.config(n_train=...)) and --n-full was not "
                     "given: sizes are fractions of today's data")
    fit = estimate = None
    g_err: float | None = None
    try:
        fit = fit_learning_curve([p.n for p in points], [p.error for p in points], [p.seed for p in points],
                                 n_boot=n_boot)
    except (UsageError, DataError, RuntimeError, ValueError) as exc:
        notes.append(f"no learning-curve fit: {exc}")
    g = goal if goal is not None else config.metric.goal
    if g is not None:
        g_err = _error_of(float(g), direction, metric)
        if fit is not None:
            estimate = extrapolate_size(fit, g_err)
    else:
        notes.append("no goal (--goal or metric.goal): the fit is not extrapolated")
    n_max = max((p.n for p in points), default=None) if unit == "examples" else None
    heur = data_heuristics(n_classes=n_classes or _first_int(configs, ("n_classes", "num_classes")),
                           degrees_of_freedom=degrees_of_freedom or _first_int(configs, N_PARAMS_KEYS),
                           n_examples=int(n_max) if n_max else None)
    return DataSizeReport(metric, direction, unit, tuple(points), fit, estimate, g_err, heur, tuple(notes))
