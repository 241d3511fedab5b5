"""Gather the two arms of a decision from the store, and refuse or warn before any statistic.

The refusals make the antipatterns impossible: different metric versions (pattern #10), dirty
runs, different profiles or modes, a single seed (pattern #1); the warnings catch a stale baseline
(pattern #9): its commit is no longer the tip of its branch, it is older than
``baseline.max_age_days``, or its environment differs from the candidate's.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trialwise.provenance import changed_metric_files, diff_fingerprints, ref_tip
from trialwise.store._records import Experiment, Run, has_commit
from trialwise.store._select import counted_runs
from trialwise.store._store import Store

MIN_SEEDS_FOR_VERDICT = 2
"""Fewer seeds per arm cannot estimate variance: no verdict (pattern #1)."""

SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True)
class Arm:
    """One side of a comparison: an experiment and its per-seed summary values."""

    experiment: Experiment
    runs: list[Run]
    metric: str

    @property
    def values(self) -> list[float]:
        """Per-seed values; failed, crashed, killed or timed-out seeds are NaN (counted as failed)."""
        return [r.summary.get(self.metric, math.nan) if r.status == "completed" else math.nan for r in self.runs]

    @property
    def seeds(self) -> list[int]:
        return [r.seed for r in self.runs]

    @property
    def label(self) -> str:
        return self.experiment.name

    def to_dict(self) -> dict[str, Any]:
        return {"experiment": self.experiment.id, "name": self.experiment.name, "seeds": self.seeds,
                "values": self.values, "commit": self.experiment.commit_sha}


@dataclass(frozen=True)
class Checks:
    """What stands in the way of a verdict (``refusals``) or qualifies it (``warnings``)."""

    refusals: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    env_diff: list[tuple[str, Any, Any]] = field(default_factory=list)
    changed_files: list[str] = field(default_factory=list)
    stale: bool = False
    launch_diff: list[tuple[str, Any, Any]] = field(default_factory=list)
    """How the arms were launched differently: command, args, params, profile, env, config."""

    def to_dict(self) -> dict[str, Any]:
        return {"refusals": self.refusals, "warnings": self.warnings, "stale": self.stale,
                "env_diff": [list(d) for d in self.env_diff], "changed_metric_files": self.changed_files,
                "launch_diff": [list(d) for d in self.launch_diff]}


LAUNCH_ITEMS = (
    ("command", lambda e: " ".join(e.launch.get("base_command") or e.command)),
    ("args (profile, mode, --set)", lambda e: " ".join(e.command[len(e.launch.get("base_command") or []):])),
    ("params", lambda e: ", ".join(f"{k}={v}" for k, v in sorted((e.launch.get("set") or {}).items()))),
    ("profile", lambda e: e.profile or ""),
    ("mode", lambda e: e.mode or ""),
    ("env", lambda e: ", ".join(f"{k}={v}" for k, v in sorted((e.launch.get("env") or {}).items()))),
    ("seed mapping", lambda e: e.launch.get("seed_param") or ""),
    ("config", lambda e: e.launch.get("config_source") or ""),
)
"""What :func:`launch_diff` compares between two experiments, and how each is read off one."""


def launch_diff(base: Experiment, cand: Experiment) -> list[tuple[str, Any, Any]]:
    """``(item, base, candidate)`` for every launch item the two experiments differ in (issue 11 §1:
    shown next to the verdict, so a comparison says what it compared)."""
    out = []
    for name, read in LAUNCH_ITEMS:
        a, b = read(base), read(cand)
        if a != b:
            out.append((name, a, b))
    return out


def identical_seed_refusal(store: Store, arm: Arm) -> str | None:
    """A refusal when seeds of ``arm`` produced identical curves: a spread of zero is not a variance."""
    from trialwise.runner._capture import seeds_alike

    same = seeds_alike(store, arm.runs, arm.metric)
    return same.describe(arm.label) + "; then run the seeds again (--rerun)" if same.found else None


def load_arm(store: Store, exp: Experiment, metric: str) -> Arm:
    """The runs of ``exp`` that count (one per seed: :func:`~trialwise.store._select.select_counted`)
    as an arm."""
    return Arm(exp, list(counted_runs(store, exp).runs), metric)


def _most_common(values: Any) -> Any:
    counts: dict[Any, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return max(counts, key=counts.__getitem__) if counts else None


def check_arms(store: Store, root: Path, base: Arm, cand: Arm, *, max_age_days: float, paired: bool = False) -> Checks:
    """Refusals and warnings for comparing ``cand`` against the baseline ``base``."""
    refusals: list[str] = []
    warnings: list[str] = []
    changed: list[str] = []
    for arm in (base, cand):
        dirty = [r.id for r in arm.runs if r.dirty] or ([arm.experiment.id] if arm.experiment.dirty else [])
        if dirty:
            refusals.append(
                f"{arm.label} ran uncommitted changes (--allow-dirty): dirty runs decide nothing; "
                "commit the change and run it again"
            )
        n_ok = sum(math.isfinite(v) for v in arm.values)
        if n_ok < MIN_SEEDS_FOR_VERDICT:
            refusals.append(
                f"{arm.label} has {n_ok} completed seed(s) with a value of the metric; at least "
                f"{MIN_SEEDS_FOR_VERDICT} per arm are needed to estimate the variance (pattern #1): "
                + ("import more seeds of it (runs that differ only in their seed)" if _imported(arm.experiment)
                   else f"`trialwise run --ref {arm.experiment.commit_sha[:8]} --seeds 5`")
            )
        same = identical_seed_refusal(store, arm)
        if same:
            refusals.append(same)
    for arm in (base, cand):
        unknown = provenance_unknown(arm.experiment)
        if unknown:
            warnings.append(unknown)
    for what in ("profile", "mode"):
        a, b = getattr(base.experiment, what), getattr(cand.experiment, what)
        if a != b:
            refusals.append(f"the arms ran different {what}s ({a or 'none'} vs {b or 'none'}): compare like with like")
    versions = {arm.label: {r.metric_version for r in arm.runs} for arm in (base, cand)}
    all_versions = set().union(*versions.values())
    if len(all_versions) > 1:
        files_a = _metric_files(base)
        files_b = _metric_files(cand)
        changed = changed_metric_files(files_a, files_b)
        what = ", ".join(changed) if changed else "the metric definition (name, direction or summary)"
        mixed = [arm for arm in (base, cand) if len(versions[arm.label]) > 1]
        if mixed:
            todo = "; ".join(
                f"{arm.label} mixes metric versions within its own seeds (" + ", ".join(
                    f"seeds {','.join(str(r.seed) for r in arm.runs if r.metric_version == v)} under {v}"
                    for v in sorted(versions[arm.label], key=str)) + "): re-run all its seeds under the current "
                f"metric (`trialwise run --ref {arm.experiment.commit_sha[:8]} --seed-list "
                f"{','.join(str(s) for s in arm.seeds)}`)" for arm in mixed)
        else:
            committed = [f for f in changed if _in_commit(root, base.experiment.commit_sha, f)
                         or _in_commit(root, cand.experiment.commit_sha, f)]
            ref = base.experiment.branch or base.experiment.commit_sha[:8]
            if committed:
                todo = (f"re-run the baseline under the new metric. {', '.join(committed)} "
                        f"{'is' if len(committed) == 1 else 'are'} committed, so re-running {ref} as it is measures "
                        f"the old metric again: put the metric change on a baseline commit of its own ({ref} plus "
                        "only that change), run it, and compare against that")
            else:
                todo = f"re-run the baseline under the new metric (`trialwise baseline --ref {ref}`)"
        refusals.append(
            f"the metric changed between the arms (metric versions {', '.join(sorted(map(str, all_versions)))}): "
            f"{what} differ. Old numbers are not comparable (pattern #10): {todo}"
        )
    if paired and sorted(base.seeds) != sorted(cand.seeds):
        refusals.append("--paired needs the same seeds in both arms; run the missing seeds first")
    # staleness of the baseline (pattern #9)
    exp = base.experiment
    moving = _moving_ref(exp)
    if moving:
        tip = ref_tip(root, moving)
        if tip is not None and tip != exp.commit_sha:
            warnings.append(
                f"stale baseline: {exp.name} ran commit {exp.commit_sha[:8]}, but {moving} is now at "
                f"{tip[:8]}; re-run it: `trialwise baseline --ref {moving}`"
            )
    ended = [r.ended_at for r in base.runs if r.ended_at]
    if ended:
        age_days = (time.time() - max(ended)) / SECONDS_PER_DAY
        if age_days > max_age_days:
            warnings.append(
                f"stale baseline: its newest run is {age_days:.1f} days old (baseline.max_age_days = "
                f"{max_age_days:g}); external factors may have moved it: `trialwise baseline --if-stale`"
            )
    diff: list[tuple[str, Any, Any]] = []
    env_a, env_b = _most_common(r.env_hash for r in base.runs), _most_common(r.env_hash for r in cand.runs)
    if env_a and env_b and env_a != env_b:
        fa, fb = store.environment(env_a), store.environment(env_b)
        if fa and fb:
            diff = [d for d in diff_fingerprints(fa, fb) if d[0] not in ("host", "user")]
    for attr in ("host", "user"):
        a = sorted({str(getattr(r, attr)) for r in base.runs})
        b = sorted({str(getattr(r, attr)) for r in cand.runs})
        if a != b:
            diff.append((attr, ",".join(a), ",".join(b)))
    if diff:
        shown = "; ".join(f"{k}: {a} → {b}" for k, a, b in diff[:12])
        more = f" (+{len(diff) - 12} more)" if len(diff) > 12 else ""
        warnings.append(f"the arms ran in different environments (pattern #9, external factors): {shown}{more}")
    return Checks(refusals, warnings, diff, changed, stale=any(w.startswith("stale") for w in warnings),
                  launch_diff=launch_diff(base.experiment, cand.experiment))


def _imported(exp: Experiment) -> bool:
    """Whether ``exp`` was imported from another tool (``trialwise import``) rather than run here."""
    return isinstance(exp.launch, dict) and bool(exp.launch.get("imported"))


def provenance_unknown(exp: Experiment) -> str | None:
    """A warning when no git commit is known for ``exp`` (runs imported from a tool that recorded
    none): its code cannot be checked out, re-run or diffed (pattern #4: a result must be repeatable)."""
    if has_commit(exp):
        return None
    source = exp.launch["imported"].get("provenance") if _imported(exp) else None
    how = f"its runs were {source} with no git commit recorded" if source else "no git commit is recorded for it"
    return (f"provenance is unknown for {exp.name}: {how}, so the code that produced them cannot be checked "
            "out, re-run or diffed; the comparison rests on the numbers alone")


def _in_commit(root: Path, sha: str, path: str) -> bool:
    """Whether ``path`` is a file committed in ``sha`` (rather than git-ignored data linked in)."""
    import subprocess

    return subprocess.run(["git", "cat-file", "-e", f"{sha}:{path}"], cwd=root, capture_output=True,
                          check=False).returncode == 0


def _moving_ref(exp: Experiment) -> str | None:
    """The branch (or other named ref: a remote branch such as ``origin/main``, a tag) the experiment
    was run from, whose tip can move on; ``None`` for ``HEAD`` on a detached checkout or a commit id."""
    if exp.branch:
        return exp.branch
    ref = (exp.ref or "").strip()
    if not ref or ref == "HEAD" or exp.commit_sha.startswith(ref.lower()):
        return None
    return ref


def _metric_files(arm: Arm) -> dict[str, str]:
    files: dict[str, str] = {}
    for r in arm.runs:
        files.update(r.metric_files or {})
    return files


def finite(values: Sequence[float]) -> list[float]:
    return [v for v in values if math.isfinite(v)]
