"""What the dashboard shows, as JSON-ready dicts read from the store (the pages and ``/api`` share it)."""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from trialwise._exceptions import UsageError
from trialwise._jsonable import jsonable
from trialwise.stats._bands import seed_band
from trialwise.store._records import Experiment
from trialwise.store._select import counted_runs
from trialwise.store._store import Store

ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
"""An experiment or run id as the store makes them: anything else in a path is refused (400),
so no request text ever reaches a file path or a query unchecked."""

FILTERS = ("ref", "tag", "profile", "mode", "status", "kind")
"""Experiment-list filters (query parameters of ``/`` and ``/api/experiments``)."""

SORTS = ("created", "name", "mean", "runs")


def valid_id(value: str) -> bool:
    return bool(ID_RE.match(value))


def _mean_std(values: list[float]) -> tuple[float | None, float | None]:
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return None, None
    return statistics.fmean(finite), (statistics.stdev(finite) if len(finite) > 1 else None)


def experiment_row(store: Store, exp: Experiment) -> dict[str, Any]:
    """One row of the experiments list: counts by status (running seeds included), metric mean ± std."""
    sel = counted_runs(store, exp)
    metric = exp.metric_name or "val_acc"
    counts: dict[str, int] = {}
    for r in [*sel.runs, *sel.running]:
        counts[r.status] = counts.get(r.status, 0) + 1
    mean, std = _mean_std([r.summary.get(metric, math.nan) for r in sel.runs if r.status == "completed"])
    return {"id": exp.id, "name": exp.name, "kind": exp.kind, "ref": exp.ref, "branch": exp.branch, "tag": exp.tag,
            "profile": exp.profile, "mode": exp.mode, "commit": exp.commit_sha, "dirty": exp.dirty,
            "created_at": exp.created_at, "metric": metric, "direction": exp.metric_direction,
            "runs": len(sel.runs), "status": counts, "mean": mean, "std": std, "running": bool(sel.running)}


def list_experiments(store: Store, filters: Mapping[str, str | None], sort: str = "created",
                     descending: bool = True) -> list[dict[str, Any]]:
    """Experiments matching ``filters`` (ref or branch, tag, profile, mode, a run status, kind)."""
    rows = []
    for exp in store.experiments():
        row = experiment_row(store, exp)
        f = {k: v for k, v in filters.items() if v}
        if "ref" in f and f["ref"] not in (exp.ref, exp.branch):
            continue
        if any(k in f and f[k] != row[k] for k in ("tag", "profile", "mode", "kind")):
            continue
        if "status" in f and f["status"] not in row["status"]:
            continue
        rows.append(row)
    key = {"created": lambda r: r["created_at"], "name": lambda r: r["name"],
           "mean": lambda r: (r["mean"] is not None, r["mean"] or 0.0), "runs": lambda r: r["runs"]}[
        sort if sort in SORTS else "created"]
    return sorted(rows, key=key, reverse=descending)


def experiment_detail(store: Store, exp_id: str) -> dict[str, Any] | None:
    """An experiment, its runs (counted, running, history) and provenance; ``None`` if unknown."""
    try:
        exp = store.experiment(exp_id)
    except UsageError:  # an unknown id is a 404
        return None
    sel = counted_runs(store, exp)
    envs = {r.env_hash: store.environment(r.env_hash) for r in sel.runs if r.env_hash}
    env_summary = {h: {k: fp.get(k) for k in ("python", "torch", "gpus", "host", "platform")} for h, fp in envs.items() if fp}

    def run_row(r: Any, counted: bool) -> dict[str, Any]:
        return {"id": r.id, "seed": r.seed, "status": r.status, "counted": counted,
                "value": r.summary.get(exp.metric_name or "val_acc"), "duration": r.duration, "error": r.error}

    return {"experiment": experiment_row(store, exp), "command": exp.command, "launch": exp.launch,
            "runs": [run_row(r, True) for r in sel.runs] + [run_row(r, False) for r in sel.history],
            "environments": env_summary,
            "metric_versions": sorted({r.metric_version or "" for r in sel.runs})}


def curves(store: Store, exp_id: str) -> dict[str, Any] | None:
    """Every metric of an experiment over its counted and running seeds: a band per metric."""
    try:
        exp = store.experiment(exp_id)
    except UsageError:
        return None
    sel = counted_runs(store, exp)
    runs = [*sel.runs, *sel.running]
    by_key: dict[str, dict[int, tuple[list[int | None], list[float]]]] = {}
    stored = store.series_by_run([r.id for r in runs])
    for r in runs:
        for key, (steps, values) in stored.get(r.id, {}).items():
            by_key.setdefault(key, {})[r.seed] = (steps, values)
    metric = exp.metric_name or "val_acc"
    order = sorted(by_key, key=lambda k: (k != metric, k))
    return {"experiment": exp.id, "name": exp.name, "metric": metric, "running": bool(sel.running),
            "points": sum(len(v[1]) for s in by_key.values() for v in s.values()),
            "curves": {k: seed_band(by_key[k]).to_dict() for k in order}}


def comparison(store: Store, root: Path, base_id: str, cand_id: str) -> dict[str, Any] | None:
    """The verdict of ``cand`` against ``base`` (trialwise.decide) and both experiments' curves."""
    from trialwise.decide import decide

    try:
        base, cand = store.experiment(base_id), store.experiment(cand_id)
    except UsageError:
        return None
    decision = decide(store, root, base, cand)
    return {"decision": jsonable(decision.to_dict()), "base": curves(store, base.id), "candidate": curves(store, cand.id)}
