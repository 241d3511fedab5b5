"""Resolve what a user names on the command line (experiment id, name, tag, git ref, run id)."""

from __future__ import annotations

from pathlib import Path

from trialwise._exceptions import GitError, UsageError
from trialwise.store._records import Experiment, Run
from trialwise.store._store import Store


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


def select_runs(store: Store, root: Path, token: str) -> tuple[Experiment, list[Run]]:
    """A single run (by run id prefix) or all runs of an experiment."""
    try:
        exp = select_experiment(store, root, token)
        return exp, store.runs(exp.id)
    except UsageError:
        run = store.run(token)
        return store.experiment(run.experiment_id), [run]
