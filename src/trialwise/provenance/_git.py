"""Git facts and worktrees: pattern #4 (strings attached) and #6 (a branch per change).

Every experiment runs from a detached worktree of an exact commit, so edits made while it runs
never leak into it, and the commit hash is stored with every run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trialwise._exceptions import GitError, UsageError

WORKTREES_DIR = Path(".trialwise") / "worktrees"
"""Where experiment worktrees live, relative to the repository root (git-ignored)."""

GIT_IDENTITY_ENV = {
    "GIT_AUTHOR_NAME": "trialwise",
    "GIT_AUTHOR_EMAIL": "trialwise@localhost",
    "GIT_COMMITTER_NAME": "trialwise",
    "GIT_COMMITTER_EMAIL": "trialwise@localhost",
}
"""Identity for commits and tags trialwise itself makes (CI machines often have none)."""


def git(cwd: str | Path, *args: str, check: bool = True, env: dict[str, str] | None = None,
        input: str | None = None) -> str:
    """Run ``git args`` in ``cwd`` (``input`` on stdin) and return stdout; raise :class:`GitError`
    with stderr on failure."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, env=full_env, check=False, input=input
    )
    if check and proc.returncode != 0:
        raise GitError(f"git {' '.join(args)} failed in {cwd}: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout


def _succeeds(cwd: str | Path, *args: str) -> bool:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False).returncode == 0


def repo_root(path: str | Path = ".") -> Path:
    """The top level of the git repository containing ``path``."""
    try:
        out = git(path, "rev-parse", "--show-toplevel")
    except (GitError, FileNotFoundError) as exc:
        raise GitError(
            f"{Path(path).resolve()} is not inside a git repository. trialwise runs experiments from "
            "exact commits (pattern #4): run `git init` and commit your code first."
        ) from exc
    return Path(out.strip())


DIRTY_LINES_SHOWN = 20
"""Dirty paths listed in a refusal (30,000 untracked files are counted, not printed)."""


@dataclass(frozen=True)
class DirtyState:
    """Files that make the working tree dirty."""

    modified: tuple[str, ...]
    untracked: tuple[str, ...]

    @property
    def clean(self) -> bool:
        return not (self.modified or self.untracked)

    def describe(self, limit: int = DIRTY_LINES_SHOWN) -> str:
        """The dirty paths, one per line, at most ``limit`` of them (the rest counted)."""
        lines = [f"  modified:  {p}" for p in self.modified]
        lines += [f"  untracked: {p}" for p in self.untracked]
        if len(lines) > limit:
            lines = lines[:limit] + [f"  ... and {len(lines) - limit} more (`git status` lists them all)"]
        return "\n".join(lines)



def dirty_state(root: str | Path) -> DirtyState:
    """Modified tracked files and untracked files git does not ignore."""
    # -z: paths verbatim (no quoting of spaces or non-ASCII), so they can be passed back to git
    entries = git(root, "status", "--porcelain=v1", "-z", "--untracked-files=all").split("\0")
    modified, untracked = [], []
    i = 0
    while i < len(entries):
        entry = entries[i]
        i += 1
        if len(entry) < 4:
            continue
        code, path = entry[:2], entry[3:]
        if code[0] in "RC":  # a rename or copy is followed by its source path
            i += 1
        (untracked if code == "??" else modified).append(path)
    return DirtyState(tuple(modified), tuple(untracked))


def dirty_patch(root: str | Path) -> str:
    """A patch of every uncommitted change, untracked files included (``git diff`` of HEAD vs tree)."""
    root = Path(root)
    untracked = dirty_state(root).untracked
    # paths on stdin, NUL-separated: 30,000 untracked files would exceed the argument limit (E2BIG)
    paths = "\0".join(untracked)
    if untracked:
        git(root, "add", "--intent-to-add", "--pathspec-from-file=-", "--pathspec-file-nul", input=paths)
    try:
        return git(root, "diff", "HEAD", "--binary")
    finally:
        if untracked:
            git(root, "reset", "--quiet", "--pathspec-from-file=-", "--pathspec-file-nul", input=paths, check=False)


@dataclass(frozen=True)
class CommitInfo:
    """A resolved ref."""

    sha: str
    ref: str
    branch: str | None
    committed_at: str


def resolve_ref(root: str | Path, ref: str = "HEAD") -> CommitInfo:
    """Resolve ``ref`` (branch, tag, sha, ``HEAD``) to a commit."""
    try:
        sha = git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip()
    except GitError:
        sha = ""
    if not sha:
        raise GitError(f"unknown git ref '{ref}': name a branch, tag or commit of this repository")
    branch = None
    if ref == "HEAD":
        b = git(root, "symbolic-ref", "--quiet", "--short", "HEAD", check=False).strip()
        branch = b or None
    elif _succeeds(root, "show-ref", "--verify", "--quiet", f"refs/heads/{ref}"):
        branch = ref
    when = git(root, "show", "-s", "--format=%cI", sha).strip()
    return CommitInfo(sha=sha, ref=ref, branch=branch, committed_at=when)


def ref_tip(root: str | Path, ref: str) -> str | None:
    """The commit ``ref`` points at now, or ``None`` if it no longer exists."""
    try:
        return resolve_ref(root, ref).sha
    except GitError:
        return None


def check_tag_name(root: str | Path, name: str) -> None:
    """Refuse a ``--tag`` that is not a git tag name (``git check-ref-format``) or that git would read
    as an option (``--force``): a :class:`UsageError` before anything is run or stored."""
    if not name or name.startswith("-") or not _succeeds(root, "check-ref-format", f"refs/tags/{name}"):
        raise UsageError(f"--tag '{name}' is not a valid git tag name (see `git check-ref-format`: no spaces, "
                         "'..', '~', '^', ':', '?', '*', '[', no leading '-'); choose another, e.g. --tag lr-sweep-1")


def tag_commit(root: str | Path, sha: str, name: str) -> None:
    """Create a lightweight tag ``name`` at ``sha`` (pattern #4's alternative to storing hashes).

    The name is checked first (:func:`check_tag_name`) and passed after ``--``, so it can never be an
    option of ``git tag``."""
    check_tag_name(root, name)
    existing = git(root, "rev-parse", "--verify", "--quiet", f"refs/tags/{name}", check=False).strip()
    if existing:
        if existing != sha and git(root, "rev-parse", "--verify", f"refs/tags/{name}^{{commit}}").strip() != sha:
            raise GitError(f"tag '{name}' already exists on another commit; choose another --tag")
        return
    git(root, "tag", "--", name, sha, env=GIT_IDENTITY_ENV)


def ignored_top_level(root: str | Path) -> list[str]:
    """Git-ignored top-level paths of the checkout (datasets, caches, virtual environments)."""
    out = git(root, "ls-files", "--others", "--ignored", "--exclude-standard", "--directory")
    tops = {p.rstrip("/").split("/")[0] for p in out.splitlines() if p.strip()}
    return sorted(tops)


class Worktree:
    """A detached worktree of one commit, with ignored data paths linked in; removed on exit."""

    def __init__(self, root: str | Path, sha: str, links: list[str] | None = None, keep: bool = False):
        self.root = Path(root)
        self.sha = sha
        self.links = links or []
        self.keep = keep
        self.path = self.root / WORKTREES_DIR / f"{sha[:12]}-{uuid.uuid4().hex[:8]}"
        self._closed = False
        self._info: dict[str, Any] = {}
        self.warnings: list[str] = []

    @property
    def owner_file(self) -> Path:
        """Beside the worktree (not in it, where it would count as an output): the pid using it."""
        return self.path.with_name(self.path.name + OWNER_SUFFIX)

    def assign(self, **info: Any) -> None:
        """Record who uses the worktree (beside the runner's pid; ``child``: the script's pid) and
        what a later command needs to salvage the outputs of a run whose runner was killed (its run
        directory, the keep rules).  Updates what was recorded before."""
        self._info.update(info)
        self.owner_file.write_text(json.dumps({"pid": os.getpid(), **self._info}), encoding="utf-8")

    def __enter__(self) -> Worktree:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.assign()
        git(self.root, "worktree", "add", "--detach", "--force", str(self.path), self.sha)
        if (self.path / ".gitmodules").exists():  # the commit's submodules, at the commits it pins
            # file-protocol URLs (a submodule beside the repository) are refused by git >= 2.38 by default
            out = subprocess.run(["git", "-c", "protocol.file.allow=always", "submodule", "update", "--init",
                                  "--recursive"], cwd=self.path,
                                 capture_output=True, text=True, check=False)
            if out.returncode != 0:
                self.warnings.append("the commit's submodules could not be checked out in the run's worktree "
                                     f"(git submodule update --init: {out.stderr.strip()[-300:]}); "
                                     "imports from them will fail")
        for rel in self.links:
            src = self.root / rel
            dst = self.path / rel
            if not src.exists() or dst.exists():
                continue
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.symlink_to(src.resolve(), target_is_directory=src.is_dir())
        return self

    def __exit__(self, *exc: object) -> None:
        if self.keep or self._closed:
            return
        self._closed = True
        remove_worktree(self.root, self.path)


OWNER_SUFFIX = ".owner"
"""File beside each worktree naming the process that uses it, so a later command can tell a
worktree left by a killed runner from one in use."""


def remove_worktree(root: Path, path: Path) -> None:
    """Remove a trialwise worktree, its owner file and git's record of it (``worktree remove``
    deletes the record with the directory; ``prune`` only when it could not)."""
    removed = _succeeds(root, "worktree", "remove", "--force", str(path))
    if path.exists():
        removed = False
        shutil.rmtree(path, ignore_errors=True)
    path.with_name(path.name + OWNER_SUFFIX).unlink(missing_ok=True)
    if not removed:
        git(root, "worktree", "prune", check=False)


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (one owned by another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stale_worktrees(root: str | Path) -> list[tuple[Path, dict[str, Any]]]:
    """The worktrees a killed runner left behind (their owner process is gone), with what their
    owner file recorded (see :meth:`Worktree.assign`)."""
    base = Path(root) / WORKTREES_DIR
    if not base.is_dir():
        return []
    found = []
    for entry in sorted(base.iterdir()):
        if not entry.is_dir():
            continue
        try:
            info = json.loads(entry.with_name(entry.name + OWNER_SUFFIX).read_text(encoding="utf-8"))
            info = info if isinstance(info, dict) else {"pid": int(info)}
        except (OSError, ValueError, TypeError):
            info = {}  # half-created, or from before owners were recorded: nobody uses it
        if any(isinstance(info.get(k), int) and pid_alive(info[k]) for k in ("pid", "child")):
            continue  # its runner, or the script the runner left running, still uses it
        found.append((entry, info))
    return found
