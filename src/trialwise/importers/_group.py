"""Imported runs → experiments: group them by a user-given key, read each run's seed (pure).

trialwise decides between *experiments*: one configuration, several seeds (pattern #1). Other tools
store flat lists of runs, so :func:`plan_import` groups them: runs with the same values of the
``--group-by`` keys (params, or ``tag:NAME``; by default every param but the seed) and the same
recorded git commit are one experiment, and the seed of each run is read from a param
(``--seed-param``). Runs of different commits are never one experiment: their code differed.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from trialwise._exceptions import DataError, UsageError
from trialwise.importers._model import ImportedRun, SourceRead, shown
from trialwise.runner._ingest import summarize
from trialwise.settings import MetricConfig
from trialwise.store._records import COMMIT_ID, TERMINAL_STATUSES, UNKNOWN_COMMIT, Experiment
from trialwise.store._store import FinishedRun

IMPORTED_KIND = "imported"
"""Experiment kind of runs imported from another tool (``trialwise import``)."""

TAG_PREFIX = "tag:"
"""A ``--group-by`` key naming one of the source's tags rather than a param (``tag:variant``)."""

RUN_ID_CHARS = 12
"""Length of stored run and experiment ids (the store's ids are 12 hex digits)."""

MISSING_SHOWN = 5
"""Runs named in the error about runs without a seed (the rest are counted)."""


@dataclass(frozen=True)
class ImportOptions:
    """How runs become experiments: see the module docstring.

    ``number_seeds`` numbers the runs of each group that have no seed param (0, 1, ... in the order
    they started) instead of refusing them; ``name`` starts each experiment's name instead of the
    source's own (project, experiment, folder); ``metric`` is the decision metric the runs are
    summarised on (its ``summary`` rule: last or best value)."""

    metric: MetricConfig
    group_by: tuple[str, ...] = ()
    seed_param: str = "seed"
    number_seeds: bool = False
    name: str | None = None


@dataclass(frozen=True)
class PlannedGroup:
    """One experiment to store and its runs (``sources[i]`` is what ``runs[i]`` was read from)."""

    experiment: Experiment
    runs: tuple[FinishedRun, ...]
    sources: tuple[ImportedRun, ...]

    @property
    def seeds(self) -> list[int]:
        return sorted(r.values["seed"] for r in self.runs)


@dataclass(frozen=True)
class ImportPlan:
    """Everything an import will store, decided before anything is written."""

    read: SourceRead
    options: ImportOptions
    group_by: tuple[str, ...]
    groups: tuple[PlannedGroup, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)


def stable_id(*parts: str) -> str:
    """A store id derived from ``parts`` (the same parts give the same id on every import)."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:RUN_ID_CHARS]


def provenance(read: SourceRead) -> str:
    """``imported from <source> <where>``: shown by ``show`` and in compare's warnings."""
    return f"imported from {read.source} {read.where}"


def group_keys(runs: Sequence[ImportedRun], options: ImportOptions) -> tuple[str, ...]:
    """The keys runs are grouped by: ``--group-by`` as given, else every param but the seed."""
    if options.group_by:
        if options.seed_param in options.group_by:
            raise UsageError(f"--group-by {options.seed_param}: the seed param cannot group runs (runs that "
                             "differ only in their seed are one experiment); group by the hyperparameters")
        for key in options.group_by:
            if not any(key_value(r, key) is not None for r in runs):
                tag = key.startswith(TAG_PREFIX)
                have = sorted({k for r in runs for k in (r.tags if tag else r.params)})
                raise UsageError(f"--group-by {key}: no run has {'that tag' if tag else 'that param'} (they have "
                                 f"{', '.join((TAG_PREFIX + k) if tag else k for k in have) or 'none'})")
        return tuple(options.group_by)
    return tuple(sorted({k for r in runs for k in r.params} - {options.seed_param}))


def key_value(run: ImportedRun, key: str) -> Any:
    """The value of one grouping key for ``run`` (``None`` when it has none)."""
    if key.startswith(TAG_PREFIX):
        return run.tags.get(key[len(TAG_PREFIX):])
    return run.params.get(key)


def _commit(run: ImportedRun) -> str | None:
    sha = (run.commit or "").strip().lower()
    return sha if COMMIT_ID.fullmatch(sha) else None


def _seed(run: ImportedRun, param: str) -> int | None:
    if param not in run.params:
        return None
    raw = run.params[param]
    value = raw
    if isinstance(raw, str):
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value != int(value):
        raise DataError(f"run {run.name} ({run.source_id}): its seed param '{param}' is {raw!r}, not an integer; "
                        "pass --seed-param with the param that holds the seed")
    return int(value)


def _name(prefix: str, keys: Sequence[str], values: Sequence[Any], commit: str | None) -> str:
    name = prefix + (f"@{commit[:8]}" if commit else "")
    if keys:
        name += "[" + ",".join(f"{k}={'null' if v is None else shown(v)}" for k, v in zip(keys, values)) + "]"
    return name


def plan_import(read: SourceRead, options: ImportOptions, *, now: float = 0.0) -> ImportPlan:
    """Group ``read``'s runs into experiments and turn each into the rows to store (no I/O).

    ``now`` is the creation time of an experiment none of whose runs recorded when it started.

    Raises
    ------
    UsageError
        Runs without the seed param (unless ``number_seeds``), the seed param used to group.
    DataError
        A seed that is not an integer.
    """
    keys = group_keys(read.runs, options)
    groups: dict[tuple[Any, ...], list[ImportedRun]] = {}
    for run in read.runs:
        if run.status not in TERMINAL_STATUSES:
            raise ValueError(f"an importer gave run {run.source_id} the status {run.status!r}")
        ident = tuple(json.dumps(key_value(run, k), sort_keys=True, default=str) for k in keys) + (_commit(run),)
        groups.setdefault(ident, []).append(run)
    seeds: dict[str, int | None] = {r.source_id: _seed(r, options.seed_param) for r in read.runs}
    missing = [r for r in read.runs if seeds[r.source_id] is None]
    if missing and not options.number_seeds:
        named = ", ".join(r.name for r in missing[:MISSING_SHOWN])
        more = f" and {len(missing) - MISSING_SHOWN} more" if len(missing) > MISSING_SHOWN else ""
        have = sorted({k for r in missing for k in r.params})
        raise UsageError(
            f"{len(missing)} run(s) have no seed param '{options.seed_param}': {named}{more}. Pass --seed-param "
            f"with the param that holds the seed (they have: {', '.join(have) or 'no params'}), or --number-seeds "
            "to number the runs of each experiment 0, 1, ... in the order they started (when the seed was not recorded)")
    notes = list(read.notes)
    planned = []
    prefix = options.name or read.prefix
    for ident, runs in groups.items():
        runs.sort(key=lambda r: (r.started_at if r.started_at is not None else math.inf, r.source_id))
        commit = ident[-1]
        values = [key_value(runs[0], k) for k in keys]
        exp = _experiment(read, options, keys, values, commit, runs, prefix, now)
        group_seeds = _group_seeds(runs, seeds, options, exp.name, notes)
        rows = tuple(_finished(run, exp.id, group_seeds[run.source_id], options.metric) for run in runs)
        planned.append(PlannedGroup(exp, rows, tuple(runs)))
    planned.sort(key=lambda g: g.experiment.name)
    return ImportPlan(read, options, keys, tuple(planned), tuple(notes))


def _group_seeds(runs: list[ImportedRun], seeds: dict[str, int | None], options: ImportOptions, name: str,
                 notes: list[str]) -> dict[str, int]:
    """Each run's seed; with ``number_seeds``, runs without one get the smallest unused numbers."""
    out = {r.source_id: s for r in runs if (s := seeds[r.source_id]) is not None}
    taken = set(out.values())
    numbered = 0
    next_free = 0
    for run in runs:
        if run.source_id in out:
            continue
        while next_free in taken:
            next_free += 1
        out[run.source_id] = next_free
        taken.add(next_free)
        numbered += 1
    if numbered:
        notes.append(f"{name}: {numbered} run(s) without a seed param '{options.seed_param}' numbered in the order they "
                     "started (the source did not record their seed)")
    counts: dict[int, int] = {}
    for s in out.values():
        counts[s] = counts.get(s, 0) + 1
    for s, n in sorted(counts.items()):
        if n > 1:
            notes.append(f"{name}: seed {s} has {n} runs; they are re-runs of one seed, not replicates, so only the "
                         "newest completed one counts (the others are history)")
    return out


def _experiment(read: SourceRead, options: ImportOptions, keys: Sequence[str], values: Sequence[Any],
                commit: str | None, runs: Sequence[ImportedRun], prefix: str, now: float) -> Experiment:
    group = [[k, v] for k, v in zip(keys, values)]
    exp_id = stable_id(IMPORTED_KIND, read.source, read.where, json.dumps(group, sort_keys=True, default=str),
                       commit or UNKNOWN_COMMIT)
    started = [r.started_at for r in runs if r.started_at is not None]
    launch = {
        "imported": {"source": read.source, "where": read.where, "provenance": provenance(read)},
        "set": {k: v for k, v in zip(keys, values)}, "group_by": list(keys), "seed_param": options.seed_param,
        "metric": options.metric.model_dump(),
    }
    return Experiment(
        id=exp_id, name=_name(prefix, keys, values, commit), kind=IMPORTED_KIND, commit_sha=commit or UNKNOWN_COMMIT,
        ref=None, branch=None, command=["trialwise", "import", read.source, read.where], launch=launch,
        profile=None, mode=None, metric_name=options.metric.name, metric_direction=options.metric.direction,
        dirty=False, tag=None, created_at=min(started) if started else now,
    )


def _finished(run: ImportedRun, exp_id: str, seed: int, metric: MetricConfig) -> FinishedRun:
    points = list(run.points)
    summary = summarize(points, dict(run.summary), metric.name, metric.summary, metric.direction)
    values = {
        "id": stable_id(run.source, run.source_id), "experiment_id": exp_id, "seed": seed, "status": run.status,
        "exit_code": run.exit_code, "started_at": run.started_at, "ended_at": run.ended_at, "host": run.host,
        "user": run.user, "command": [], "env_hash": None, "metric_version": None, "metric_files": {},
        "dirty": False, "error": run.error,
    }
    return FinishedRun(values, dict(run.params), summary, points)
