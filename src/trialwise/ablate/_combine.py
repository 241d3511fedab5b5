"""Build the commit of every combination of change branches (seed 001 #3 and #6), reproducibly.

Each change lives on its own branch (#6); a combination is the base with some of those branches
merged in, in the order the changes were given. Merges happen in a temporary detached worktree, so
the user's checkout is never touched, with a fixed identity and dates derived from the parents, so
the same base and branch tips always give the same commit sha (results stored by sha can be reused
by later invocations and on other machines). Every commit is kept reachable under
``refs/trialwise/ablate/<hash>``.

Decisions:

- The empty subset is the base commit itself.
- A change branch that already contains the base (it was branched from it, or rebased onto it) is
  *fast-forwarded* when it is merged first: its singleton is exactly the branch tip, the commit the
  developer may already have run. Every later merge is ``--no-ff``. A branch that does not contain
  the base (the base moved on) is merged with ``--no-ff`` from the start.
- Merging is in the order of ``change_refs``, whatever the order inside a subset, so a set of
  changes has one commit; the commit of a subset's prefix is the commit of that smaller subset.
- A branch already contained in the base, or stacked on another change branch, is refused:
  its effect cannot be separated.

References
----------
D. Khizbullin, "Ten Patterns and Antipatterns of Deep Learning Experimentation", Towards AI, 2023,
#3, #4 and #6 (seed 001); git-merge(1), git-worktree(1).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import uuid
from collections.abc import Hashable, Iterable, Sequence
from pathlib import Path

from trialwise._exceptions import GitError, UsageError
from trialwise.provenance._git import GIT_IDENTITY_ENV, WORKTREES_DIR, git, repo_root, resolve_ref

__all__ = ["REFS_PREFIX", "build_combinations", "combination_ref"]

REFS_PREFIX = "refs/trialwise/ablate/"
"""Namespace of the refs that keep combination commits reachable (not branches, not tags)."""

REF_HASH_CHARS = 24
"""Hex digits of SHA-256 in a combination ref name: 96 bits, no collision in any one repository."""

_REF_SCHEME = "trialwise-ablate-v1"
"""Salt of the ref hash; bump it when the way commits are built changes, so old refs are not reused."""

MERGE_TIMEZONE = "+0000"
"""Timezone of combination commits. Their author and committer date is the later committer date of
the two parents, so it depends only on the inputs (no wall clock) and sorts sensibly in ``git log``."""

_MERGE_CONFIG = ("-c", "commit.gpgsign=false", "-c", "rerere.enabled=false", "-c", "merge.log=false",
                 "-c", f"core.hooksPath={os.devnull}")
"""User settings that would make merges differ between machines (signing, recorded resolutions,
shortlogs in messages, hooks) are switched off for combination merges."""


def combination_ref(base_sha: str, change_shas: Sequence[str]) -> str:
    """The ref that keeps the commit of ``base_sha`` + ``change_shas`` (merged in this order) reachable."""
    text = "\n".join([_REF_SCHEME, base_sha, *change_shas])
    return REFS_PREFIX + hashlib.sha256(text.encode()).hexdigest()[:REF_HASH_CHARS]


def _is_ancestor(root: Path, a: str, b: str) -> bool:
    return subprocess.run(["git", "merge-base", "--is-ancestor", a, b], cwd=root, capture_output=True,
                          check=False).returncode == 0


def _existing(root: Path, ref: str) -> str | None:
    out = git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False).strip()
    return out or None


def _normalize(subset: object, names: Sequence[str]) -> tuple[Hashable, tuple[int, ...]]:
    """(dict key, indices of the changes in merge order) for a subset given as a 0/1 row or names."""
    items = tuple(subset) if isinstance(subset, (list, tuple, set, frozenset)) else None
    if items is None:
        raise UsageError(f"Each subset passed to build_combinations() must be a tuple of change refs or a 0/1 row. "
                         f"Got {subset!r} instead.")
    key: Hashable = (tuple(items) if isinstance(subset, list)
                     else frozenset(items) if isinstance(subset, set) else subset)  # type: ignore[assignment]
    if items and all(isinstance(x, int) and not isinstance(x, bool) for x in items):
        if len(items) != len(names) or any(x not in (0, 1) for x in items):
            raise UsageError(f"A 0/1 subset row passed to build_combinations() must have {len(names)} entries of 0 "
                             f"or 1 (one per change ref: {', '.join(names)}). Got {subset!r} instead.")
        return key, tuple(i for i, x in enumerate(items) if x)
    unknown = [x for x in items if x not in names]
    if unknown:
        raise UsageError(f"Subset {subset!r} passed to build_combinations() names {', '.join(map(repr, unknown))}, "
                         f"which is not among the change refs {', '.join(names)}.")
    return key, tuple(sorted({names.index(x) for x in items}))


def build_combinations(repo_path: str | Path, base_ref: str, change_refs: Sequence[str],
                       subsets: Iterable[object], worktrees_dir: str | Path | None = None,
                       reuse: bool = True) -> dict[Hashable, str]:
    """The commit sha of every subset of change branches merged onto the base.

    Parameters
    ----------
    repo_path : path
        Any path inside the repository.
    base_ref : str
        The base (branch, tag or sha), e.g. ``"main"``.
    change_refs : sequence of str
        One ref per change (usually its branch); merges follow this order.
    subsets : iterable
        Each a 0/1 row (one entry per change ref, e.g. a row of a design) or a collection of change
        refs; the empty subset is the base.
    worktrees_dir : path, optional
        Where the temporary worktree goes (default ``<repo>/.trialwise/worktrees``).
    reuse : bool
        Reuse a commit already recorded under its ref (same base and tips) instead of merging again.

    Returns
    -------
    dict
        Subset (as given; lists become tuples, sets frozensets) -> commit sha.

    Raises
    ------
    GitError
        A merge conflicts (the message names the branches and files; no worktree or merge state is
        left behind), or a ref does not resolve.
    UsageError
        A subset is malformed, a change ref repeats, or a change branch is already in the base or
        stacked on another change branch.
    """
    root = repo_root(repo_path)
    names = [str(r) for r in change_refs]
    if len(set(names)) != len(names):
        raise UsageError(f"The 'change_refs' parameter of build_combinations() repeats a ref: {names}.")
    base = resolve_ref(root, base_ref).sha
    tips = [resolve_ref(root, r).sha for r in names]
    _check_independent(root, base_ref, base, names, tips)
    wanted = [_normalize(s, names) for s in subsets]

    built: dict[tuple[int, ...], str] = {(): base}
    tree = _Scratch(root, Path(worktrees_dir) if worktrees_dir else root / WORKTREES_DIR)
    try:
        for _, indices in sorted(wanted, key=lambda kv: len(kv[1])):
            for n in range(1, len(indices) + 1):
                prefix = indices[:n]
                if prefix in built:
                    continue
                built[prefix] = _step(root, tree, base, names, tips, built[prefix[:-1]], prefix, reuse)
    finally:
        tree.close()
    return {key: built[indices] for key, indices in wanted}


def _check_independent(root: Path, base_ref: str, base: str, names: list[str], tips: list[str]) -> None:
    for name, tip in zip(names, tips):
        if _is_ancestor(root, tip, base):
            raise UsageError(f"Change '{name}' is already contained in the base '{base_ref}': there is nothing to "
                             "ablate. Name a branch with commits the base does not have.")
    for i, (a, ta) in enumerate(zip(names, tips)):
        for b, tb in list(zip(names, tips))[i + 1:]:
            if ta == tb or _is_ancestor(root, ta, tb) or _is_ancestor(root, tb, ta):
                inner, outer = (a, b) if _is_ancestor(root, ta, tb) else (b, a)
                raise UsageError(f"Change '{outer}' contains change '{inner}' (stacked branches): their effects cannot "
                                 f"be separated. Rebase '{outer}' onto the base so it holds only its own change.")


def _step(root: Path, tree: _Scratch, base: str, names: list[str], tips: list[str], head: str,
          prefix: tuple[int, ...], reuse: bool) -> str:
    """Commit of ``prefix``: the change ``prefix[-1]`` merged onto ``head`` (the commit of ``prefix[:-1]``)."""
    ref = combination_ref(base, [tips[i] for i in prefix])
    if reuse and (sha := _existing(root, ref)):
        return sha
    idx = prefix[-1]
    tip = tips[idx]
    if head == base and _is_ancestor(root, base, tip):
        sha = tip  # fast-forward: the singleton is the branch tip itself
    else:
        sha = tree.merge(head, tip, merged=[names[i] for i in prefix[:-1]], branch=names[idx])
    git(root, "update-ref", ref, sha)
    return sha


class _Scratch:
    """One temporary detached worktree, created on first use and always removed on close."""

    def __init__(self, root: Path, parent: Path) -> None:
        self.root = root
        self.path = parent / f"ablate-{uuid.uuid4().hex[:12]}"
        self.created = False

    def _checkout(self, sha: str) -> None:
        if not self.created:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            git(self.root, "worktree", "add", "--detach", "--force", str(self.path), sha)
            self.created = True
        else:
            git(self.path, "checkout", "--quiet", "--detach", "--force", sha)

    def merge(self, head: str, tip: str, merged: list[str], branch: str) -> str:
        self._checkout(head)
        when = max(int(git(self.root, "show", "-s", "--format=%ct", c).strip()) for c in (head, tip))
        date = f"{when} {MERGE_TIMEZONE}"
        env = {**GIT_IDENTITY_ENV, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
        message = f"trialwise ablate: merge {tip[:12]} onto {head[:12]}\n\nonto: {head}\nmerge: {tip}\n"
        proc = subprocess.run(["git", *_MERGE_CONFIG, "merge", "--no-ff", "--no-edit", "--no-verify", "--no-log",
                               "--no-stat", "--no-squash", "--no-verify-signatures", "-m", message, tip],
                              cwd=self.path, capture_output=True, text=True, env={**os.environ, **env}, check=False)
        unmerged = git(self.path, "diff", "--name-only", "--diff-filter=U", check=False)
        conflicted = [p for p in unmerged.splitlines() if p]
        head_now = git(self.path, "rev-parse", "HEAD").strip()
        if conflicted or head_now == head:
            git(self.path, "merge", "--abort", check=False)
            onto = "the base" + (f" + {', '.join(merged)}" if merged else "")
            if conflicted:
                raise GitError(f"Merging '{branch}' onto {onto} conflicts in: {', '.join(conflicted)}. The changes "
                               f"{', '.join([*merged, branch])} touch the same lines, so this combination cannot be "
                               "built automatically: rebase one branch onto the other and resolve, or leave this "
                               "combination out of the design.")
            raise GitError(f"Merging '{branch}' onto {onto} did not create a commit: "
                           f"{(proc.stderr or proc.stdout).strip() or 'no output from git'}")
        return head_now

    def close(self) -> None:
        if not self.created:
            return
        git(self.root, "worktree", "remove", "--force", str(self.path), check=False)
        if self.path.exists():
            shutil.rmtree(self.path, ignore_errors=True)
        git(self.root, "worktree", "prune", check=False)
