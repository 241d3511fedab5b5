"""Resolve what a user names on the command line (experiment id, name, tag, git ref, run id), and
which of an experiment's runs count (:func:`select_counted`: one rule for every command).

Which runs count
----------------
An experiment is one commit, command and launch; its runs are seeds, and a seed may have run more
than once (``--rerun``, a new environment, a crash then a retry, a baseline re-run). Summaries must
not average two runs of one seed as if they were two replicates (seed 001, pattern #1: replicates are
*independent* seeds), nor mix environments (pattern #9: external factors). So, for one experiment:

1. Its **environment** is the ``env_hash`` of its newest completed run (newest by start time); when
   no run completed, of its newest finished run.
2. **Per seed**, among its finished runs in that environment, the newest *completed* run counts;
   a seed with no completed run there is represented by its newest finished run (a failure: it counts
   as a failed seed, never as a number).
3. Everything else is **history**: older re-runs of a seed, runs in another environment, runs still
   ``running``. ``show`` lists it; no summary, test or export aggregates it by default.

``ls``, ``show``, ``export``, ``compare`` (and what builds on its arms: ``gate``, ``ablate``,
``diagnose``, ``report``) all select through :func:`select_counted`, a pure function of the runs, so
a caller that already holds runs of many experiments (one query) pays nothing more.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trialwise._exceptions import GitError, UsageError
from trialwise.store._records import Experiment, Run
from trialwise.store._store import Store

if TYPE_CHECKING:
    from trialwise.store._columns import PointColumns


FINISHED_OK = "completed"
RUNNING = "running"


@dataclass(frozen=True)
class RunSelection:
    """The runs of one experiment split by :func:`select_counted`.

    ``runs``: one run per seed (seed order) in the experiment's ``environment``; ``history``: every
    other run, newest first.
    """

    runs: tuple[Run, ...]
    history: tuple[Run, ...]
    environment: str | None

    @property
    def completed(self) -> list[Run]:
        """The counted runs that completed (the ones with a value)."""
        return [r for r in self.runs if r.status == FINISHED_OK]

    @property
    def running(self) -> list[Run]:
        """Runs still going (live: their points so far are in the store); never counted yet."""
        return [r for r in self.history if r.status == RUNNING]

    @property
    def counted_ids(self) -> frozenset[str]:
        return frozenset(r.id for r in self.runs)

    def why_history(self, run: Run) -> str:
        """Why ``run`` is not counted, in words (for ``show`` and ``export``)."""
        if run.id in self.counted_ids:
            return ""
        if run.status == RUNNING:
            return "still running"
        if run.env_hash != self.environment:
            return f"another environment ({run.env_hash or 'unknown'}; the experiment's is {self.environment or 'unknown'})"
        counted = next((r for r in self.runs if r.seed == run.seed), None)
        if counted is not None and counted.status == FINISHED_OK and run.status != FINISHED_OK:
            return f"seed {run.seed} completed in run {counted.id}"
        return f"an older run of seed {run.seed} (run {counted.id if counted else '?'} is newer)"

    def to_dict(self) -> dict[str, Any]:
        return {"environment": self.environment, "counted": [r.id for r in self.runs],
                "history": [{"run": r.id, "seed": r.seed, "status": r.status, "why": self.why_history(r)}
                            for r in self.history]}


def _newest_first(runs: Iterable[Run]) -> list[Run]:
    return sorted(runs, key=lambda r: (r.started_at or 0.0, r.ended_at or 0.0, r.id), reverse=True)


def select_counted(runs: Sequence[Run]) -> RunSelection:
    """Split one experiment's ``runs`` into the runs that count and history (see the module docstring).

    Pure: no store access, so ``ls`` can fetch the runs of every experiment in one query and call
    this per experiment.
    """
    ordered = _newest_first(runs)
    finished = [r for r in ordered if r.status != RUNNING]
    anchor = next((r for r in finished if r.status == FINISHED_OK), finished[0] if finished else None)
    env = anchor.env_hash if anchor is not None else None
    chosen: dict[int, Run] = {}
    for run in finished:
        if run.env_hash != env:
            continue
        have = chosen.get(run.seed)
        if have is None or (have.status != FINISHED_OK and run.status == FINISHED_OK):
            chosen[run.seed] = run
    counted = tuple(chosen[s] for s in sorted(chosen))
    ids = {r.id for r in counted}
    return RunSelection(counted, tuple(r for r in ordered if r.id not in ids), env)


def counted_runs(store: Store, exp: Experiment) -> RunSelection:
    """:func:`select_counted` over the stored runs of ``exp`` (one query)."""
    return select_counted(store.runs(exp.id))


def metrics_frame(store: Store, selection: RunSelection, *, include_history: bool = False,
                  keys: list[str] | None = None) -> Any:
    """The metric points of a selection in long format (``run_id, seed, status, counted, key, step,
    value, time``): the counted runs, and with ``include_history`` the others too, marked
    ``counted = False`` so two runs of one seed are never mixed silently."""
    columns, per_run = _selected_points(store, selection, include_history, keys)
    return columns.frame(per_run)


def metrics_table(store: Store, selection: RunSelection, *, include_history: bool = False,
                  keys: list[str] | None = None) -> Any:
    """:func:`metrics_frame` as an Arrow table (exports: text dictionary-encoded, exact steps)."""
    columns, per_run = _selected_points(store, selection, include_history, keys)
    return columns.table(per_run)


def _selected_points(store: Store, selection: RunSelection, include_history: bool,
                     keys: list[str] | None) -> tuple[PointColumns, dict[str, list[Any]]]:
    runs = list(selection.runs) + (list(selection.history) if include_history else [])
    runs = list({r.id: r for r in runs}.values())
    counted = selection.counted_ids
    per_run = {"seed": [r.seed for r in runs], "status": [r.status for r in runs],
               "counted": [r.id in counted for r in runs]}
    return store.metric_columns([r.id for r in runs], keys), per_run


PRIMARY_KINDS = ("run", "baseline")
"""Experiments a git ref stands for: what ``trialwise run`` and ``baseline`` ran, not sweep trials,
ablation cells, dry runs or imports of the same commit."""


def _preferred(found: list[Experiment]) -> list[Experiment]:
    """The experiments of one commit a git ref should name, oldest first: plain runs (no ``--set``,
    no extra environment) of a primary kind, else any of a primary kind, else all."""
    primary = [e for e in found if e.kind in PRIMARY_KINDS]
    plain = [e for e in primary if not any(e.launch.get(k) for k in ("overrides", "extra_env"))]
    return plain or primary or found


def select_experiment(store: Store, root: Path, token: str, *, profile: str | None = None,
                      mode: str | None = None, kinds: tuple[str, ...] | None = None) -> Experiment:
    """The experiment ``token`` names: an id prefix, a name, a tag, or a git ref (the newest
    experiment of that commit matching ``profile``/``mode``, preferring plain runs: see
    :func:`_preferred`)."""
    found = store.find_experiments(token)
    by_ref = False
    if not found:
        from trialwise.provenance import resolve_ref

        try:
            sha = resolve_ref(root, token).sha
        except GitError:
            raise UsageError(
                f"'{token}' is neither an experiment (id, name, tag) nor a git ref; `trialwise ls` lists experiments"
            ) from None
        found = store.experiments(commit=sha)
        by_ref = True
        if not found:
            raise UsageError(f"no experiment ran commit {sha[:8]} ('{token}') yet: `trialwise run --ref {token}` first")
    if profile is not None:
        found = [e for e in found if e.profile == profile]
    if mode is not None:
        found = [e for e in found if e.mode == mode]
    if kinds is not None:
        found = [e for e in found if e.kind in kinds]
    if not found:
        raise UsageError(f"no experiment '{token}' with profile={profile} mode={mode}")
    return (_preferred(found) if by_ref else found)[-1]


def select_target(store: Store, root: Path, token: str) -> tuple[Experiment, RunSelection]:
    """What ``token`` names: an experiment and its :func:`select_counted` selection, or a single run
    (by run id prefix) as a selection of that run alone."""
    try:
        exp = select_experiment(store, root, token)
    except UsageError:
        run = store.run(token)
        return store.experiment(run.experiment_id), RunSelection((run,), (), run.env_hash)
    return exp, counted_runs(store, exp)


def select_runs(store: Store, root: Path, token: str) -> tuple[Experiment, list[Run]]:
    """A single run (by run id prefix) or the runs that count of an experiment (:func:`select_counted`)."""
    exp, selection = select_target(store, root, token)
    return exp, list(selection.runs)
