"""Keep what a run wrote into its working directory: checkpoints, ``lightning_logs/``, ``output_dir``.

Each run has its own worktree of the commit (so relative outputs of parallel seeds never collide).
Before the worktree is removed, every file that is not part of the commit, and matches the
``[worktree] keep`` globs but not ``discard``, is moved to ``<run dir>/outputs/`` (same path
relative to the worktree), smallest first until ``max_keep_mb`` is reached.  ``outputs.json`` in
the run directory lists what was kept and what was not, and why.
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trialwise.provenance import git

OUTPUTS_DIR = "outputs"
"""Sub-directory of a run directory holding the files the run wrote into its worktree."""

MANIFEST_FILE = "outputs.json"
"""What was kept (and what was not) of a run's outputs, in its run directory."""

BYTES_PER_MB = 1024 * 1024


def _matches(rel: str, patterns: Sequence[str]) -> bool:
    """``fnmatch`` against the relative path (``*`` crosses ``/``), and against each leading
    directory so that ``__pycache__/**``-style patterns also match nested files."""
    parts = rel.split("/")
    for pattern in patterns:
        if fnmatch.fnmatchcase(rel, pattern) or fnmatch.fnmatchcase(parts[-1], pattern):
            return True
        prefix = pattern[:-3] if pattern.endswith("/**") else None
        if prefix and any(fnmatch.fnmatchcase(p, prefix) for p in parts[:-1]):
            return True
    return False


@dataclass(frozen=True)
class KeptOutputs:
    """The outputs of one run: ``kept`` and ``dropped`` are ``(relative path, bytes[, reason])``."""

    kept: list[tuple[str, int]] = field(default_factory=list)
    dropped: list[tuple[str, int, str]] = field(default_factory=list)

    @property
    def kept_bytes(self) -> int:
        return sum(size for _, size in self.kept)

    def to_dict(self) -> dict[str, Any]:
        return {"kept": [list(k) for k in self.kept], "dropped": [list(d) for d in self.dropped],
                "kept_bytes": self.kept_bytes}


def untracked_files(worktree: Path, skip: Sequence[str] = ()) -> list[str]:
    """Files under ``worktree`` that are not part of its commit (relative, ``/``-separated).

    Symbolic links (the linked data paths) are never followed or listed; ``skip`` names top-level
    entries to leave out."""
    tracked = set(git(worktree, "ls-files", "-z").split("\0"))
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(worktree, followlinks=False):
        rel_dir = os.path.relpath(dirpath, worktree)
        if rel_dir == ".":
            dirnames[:] = [d for d in dirnames if d != ".git" and d not in skip]
            filenames = [f for f in filenames if f != ".git" and f not in skip]
        dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
        for name in filenames:
            full = os.path.join(dirpath, name)
            if os.path.islink(full):
                continue
            rel = name if rel_dir == "." else f"{rel_dir.replace(os.sep, '/')}/{name}"
            if rel not in tracked:
                found.append(rel)
    return sorted(found)


def keep_outputs(worktree: Path, run_dir: Path, keep: Sequence[str], discard: Sequence[str],
                 max_mb: float, skip: Sequence[str] = ()) -> KeptOutputs:
    """Move the run's outputs out of ``worktree`` into ``run_dir/outputs`` and write the manifest."""
    sizes: list[tuple[str, int]] = []
    dropped: list[tuple[str, int, str]] = []
    for rel in untracked_files(worktree, skip):
        try:
            size = (worktree / rel).stat().st_size
        except OSError:
            continue
        if _matches(rel, discard) or not _matches(rel, keep):
            dropped.append((rel, size, "not matched by [worktree] keep" if not _matches(rel, discard)
                            else "matched by [worktree] discard"))
        else:
            sizes.append((rel, size))
    budget = max_mb * BYTES_PER_MB
    kept: list[tuple[str, int]] = []
    for rel, size in sorted(sizes, key=lambda rs: (rs[1], rs[0])):
        if size > budget:
            dropped.append((rel, size, f"over the size cap ([worktree] max_keep_mb = {max_mb:g})"))
            continue
        dst = run_dir / OUTPUTS_DIR / rel
        try:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(worktree / rel), str(dst))
        except OSError as exc:
            dropped.append((rel, size, f"could not be moved: {exc.strerror or exc}"))
            continue
        budget -= size
        kept.append((rel, size))
    result = KeptOutputs(sorted(kept), sorted(dropped))
    if kept or dropped:
        (run_dir / MANIFEST_FILE).write_text(json.dumps(result.to_dict(), indent=1), encoding="utf-8")
    return result


def read_manifest(run_dir: Path) -> KeptOutputs:
    """The kept outputs of a finished run (empty when it wrote none)."""
    try:
        data = json.loads((run_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
        return KeptOutputs([tuple(k) for k in data.get("kept", [])], [tuple(d) for d in data.get("dropped", [])])
    except (OSError, ValueError, TypeError, AttributeError):
        return KeptOutputs()


def prune_stale_worktrees(root: Path) -> list[Path]:
    """Remove the worktrees a killed runner left behind, first keeping the outputs of the run each
    belonged to in its run directory (so a later recovery ingests its TensorBoard/CSV logs)."""
    from trialwise.provenance import remove_worktree, stale_worktrees
    from trialwise.settings._model import DEFAULT_DISCARD, DEFAULT_KEEP, DEFAULT_MAX_KEEP_MB

    removed = []
    for path, info in stale_worktrees(root):
        run_dir = info.get("run_dir")
        if isinstance(run_dir, str) and Path(run_dir).is_dir():
            try:
                keep_outputs(path, Path(run_dir), info.get("keep") or DEFAULT_KEEP, info.get("discard") or DEFAULT_DISCARD,
                             float(info.get("max_keep_mb") or DEFAULT_MAX_KEEP_MB), skip=info.get("links") or ())
            except Exception:  # noqa: BLE001 - a broken worktree is removed all the same
                pass
        remove_worktree(Path(root), path)
        removed.append(path)
    return removed
