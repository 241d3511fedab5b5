"""Provenance: exact commits and worktrees, environment fingerprints, metric versions."""

from trialwise.provenance._environment import (
    diff_fingerprints,
    environment_fingerprint,
    fingerprint_hash,
    interpreter_of,
)
from trialwise.provenance._git import (
    CommitInfo,
    DirtyState,
    Worktree,
    dirty_patch,
    dirty_state,
    git,
    ignored_top_level,
    remove_worktree,
    stale_worktrees,
    ref_tip,
    repo_root,
    resolve_ref,
    check_tag_name,
    tag_commit,
)
from trialwise.provenance._metric_version import MetricVersion, changed_metric_files, metric_version

__all__ = [
    "CommitInfo", "DirtyState", "MetricVersion", "Worktree", "changed_metric_files",
    "diff_fingerprints", "dirty_patch", "dirty_state", "environment_fingerprint",
    "fingerprint_hash", "git", "ignored_top_level", "interpreter_of", "metric_version", "remove_worktree", "stale_worktrees", "ref_tip", "repo_root",
    "check_tag_name", "resolve_ref", "tag_commit",
]
