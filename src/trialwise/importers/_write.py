"""Store an :class:`~trialwise.importers._group.ImportPlan`: once, whole, in one transaction.

Every run's id derives from the source's own id of it, so a run imported before is found stored and
left as it is (importing twice adds nothing). The new runs and their experiments are written by
:meth:`~trialwise.store._store.Store.add_finished_runs` in one transaction: an import that fails
leaves the store as it was. Everything was read and checked before (the importers read the whole
source, :func:`~trialwise.importers._group.plan_import` groups it), so nothing fails half-way for
a reason of the input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trialwise.importers._group import ImportPlan, PlannedGroup, provenance
from trialwise.store._records import has_commit
from trialwise.store._store import Store


@dataclass(frozen=True)
class GroupReport:
    """One experiment of an import: its runs added now and already stored.

    ``elsewhere`` maps runs stored before under another experiment (an earlier import grouped them
    differently) to that experiment's id: they stay where they are."""

    experiment_id: str
    name: str
    commit: str | None
    seeds: tuple[int, ...]
    added: int
    present: int
    elsewhere: dict[str, str]
    runs: tuple[dict[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        return {"experiment": self.experiment_id, "name": self.name, "commit": self.commit, "seeds": list(self.seeds),
                "added": self.added, "present": self.present, "elsewhere": self.elsewhere, "runs": list(self.runs)}


@dataclass(frozen=True)
class ImportReport:
    """What an import stored, per experiment, and what the reading noticed."""

    source: str
    where: str
    provenance: str
    group_by: tuple[str, ...]
    seed_param: str
    metric: str
    groups: tuple[GroupReport, ...]
    notes: tuple[str, ...]

    @property
    def added(self) -> int:
        return sum(g.added for g in self.groups)

    @property
    def present(self) -> int:
        return sum(g.present for g in self.groups)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "where": self.where, "provenance": self.provenance,
                "group_by": list(self.group_by), "seed_param": self.seed_param, "metric": self.metric,
                "added": self.added, "present": self.present, "experiments": [g.to_dict() for g in self.groups],
                "notes": list(self.notes)}


def write_import(store: Store, plan: ImportPlan) -> ImportReport:
    """Store the runs of ``plan`` not stored yet, with their experiments, in one transaction."""
    wanted = [r.values["id"] for g in plan.groups for r in g.runs]
    stored = {r.id: r for r in store.runs_by_id(wanted)}
    experiments = []
    new_runs = []
    for group in plan.groups:
        fresh = [r for r in group.runs if r.values["id"] not in stored]
        if fresh:  # an experiment is only created with runs in it
            experiments.append(group.experiment)
            new_runs.extend(fresh)
    added = set(store.add_finished_runs(experiments, new_runs)) if new_runs else set()
    groups = tuple(_report(group, stored, added) for group in plan.groups)
    return ImportReport(plan.read.source, plan.read.where, provenance(plan.read), plan.group_by,
                        plan.options.seed_param, plan.options.metric.name, groups, plan.notes)


def _report(group: PlannedGroup, stored: dict[str, Any], added: set[str]) -> GroupReport:
    exp = group.experiment
    runs = []
    elsewhere = {}
    for row, src in zip(group.runs, group.sources):
        rid = row.values["id"]
        before = stored.get(rid)
        if before is not None and before.experiment_id != exp.id:
            elsewhere[rid] = before.experiment_id
        runs.append({"run": rid, "seed": row.values["seed"], "status": row.values["status"], "source_id": src.source_id,
                     "name": src.name, "points": len(row.points), "added": rid in added,
                     "value": row.summary.get(exp.metric_name or "")})
    return GroupReport(exp.id, exp.name, exp.commit_sha if has_commit(exp) else None, tuple(group.seeds),
                       sum(r["added"] for r in runs), sum(not r["added"] for r in runs), elsewhere, tuple(runs))
