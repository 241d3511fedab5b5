"""Re-run the baseline (pattern #9) and read its history for external factors.

Every re-run is its own experiment (kind ``baseline``, a ``batch`` stamp), so the history keeps
each distribution; the same commit giving a different distribution (Welch, two-sided) is flagged
as an external factor, with the environment difference that may explain it.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trialwise.decide._arms import SECONDS_PER_DAY, load_arm
from trialwise.provenance import diff_fingerprints, environment_fingerprint, interpreter_of, resolve_ref
from trialwise.store._records import Experiment
from trialwise.store._store import Store

BASELINE_KIND = "baseline"


def baseline_experiments(store: Store, ref: str, profile: str | None = None, mode: str | None = None) -> list[Experiment]:
    """Baseline re-runs of ``ref`` (oldest first) with this profile and mode."""
    return [e for e in store.experiments(kind=BASELINE_KIND)
            if (e.branch == ref or e.ref == ref) and e.profile == profile and e.mode == mode]


def staleness(store: Store, root: Path, ref: str, profile: str | None, mode: str | None, max_age_days: float) -> list[str]:
    """Why the newest baseline of ``ref`` is stale (empty when it is fresh)."""
    found = baseline_experiments(store, ref, profile, mode)
    if not found:
        return [f"no baseline of {ref} has run yet"]
    latest = found[-1]
    reasons = []
    tip = resolve_ref(root, ref).sha
    if latest.commit_sha != tip:
        reasons.append(f"{ref} moved from {latest.commit_sha[:8]} to {tip[:8]}")
    runs = [r for r in store.runs(latest.id) if r.status == "completed"]
    if not runs:
        reasons.append("the newest baseline has no completed run")
        return reasons
    age = (time.time() - max(r.ended_at or 0 for r in runs)) / SECONDS_PER_DAY
    if age > max_age_days:
        reasons.append(f"it is {age:.1f} days old (max {max_age_days:g})")
    here = environment_fingerprint(interpreter_of(latest.command, root))["hash"]
    if all(r.env_hash != here for r in runs):
        reasons.append("this machine's environment differs from the one it ran in")
    return reasons


@dataclass(frozen=True)
class HistoryEntry:
    """One baseline re-run."""

    experiment: str
    commit: str
    created_at: float
    env_hash: str | None
    hosts: list[str]
    n: int
    mean: float
    std: float
    external_factor: bool = False
    p_value: float | None = None
    env_diff: list[tuple[str, Any, Any]] = field(default_factory=list)
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["env_diff"] = [list(x) for x in self.env_diff]
        return d


def history(store: Store, ref: str, metric: str, direction: str, *, profile: str | None = None,
            mode: str | None = None, alpha: float = 0.05) -> list[HistoryEntry]:
    """The baseline metric over time; a re-run that differs significantly from the previous re-run of
    the same commit (other commits may have run in between) is flagged as an external factor."""
    from trialwise.stats import compare

    entries: list[HistoryEntry] = []
    last_of_commit: dict[str, tuple[Experiment, list[float], str | None]] = {}
    for exp in baseline_experiments(store, ref, profile, mode):
        arm = load_arm(store, exp, metric)
        vals = [v for v in arm.values if math.isfinite(v)]
        env = statistics.mode([r.env_hash for r in arm.runs]) if arm.runs else None
        entry = HistoryEntry(
            exp.id, exp.commit_sha, exp.created_at, env, sorted({str(r.host) for r in arm.runs}), len(vals),
            statistics.fmean(vals) if vals else math.nan, statistics.stdev(vals) if len(vals) > 1 else math.nan,
        )
        prev = last_of_commit.get(exp.commit_sha)  # the previous re-run of this commit, even with others between
        if prev is not None:
            res = compare(prev[1], vals, direction=direction, alternative="two-sided", alpha=alpha, metric=metric)
            if math.isfinite(res.p_value) and res.p_value < alpha:
                diff: list[tuple[str, Any, Any]] = []
                if prev[2] and env and prev[2] != env:
                    fa, fb = store.environment(prev[2]), store.environment(env)
                    if fa and fb:
                        diff = diff_fingerprints(fa, fb)
                note = ("same commit, different result: an external factor moved the baseline "
                        f"(p = {res.p_value:.3g}); " + ("; ".join(f"{k}: {a} → {b}" for k, a, b in diff[:8])
                                                      if diff else "no environment difference recorded: check the data, the launch, the hardware"))
                entry = HistoryEntry(**{**entry.__dict__, "external_factor": True, "p_value": res.p_value,
                                        "env_diff": diff, "note": note})
        entries.append(entry)
        last_of_commit[exp.commit_sha] = (exp, vals, env)
    return entries
