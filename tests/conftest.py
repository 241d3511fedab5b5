"""Shared fixtures: real git repositories in temp dirs and the real ``trialwise`` CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

GIT_ENV = {
    "GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.com",
}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True,
                          env={**os.environ, **GIT_ENV}).stdout


def activated_env() -> dict[str, str]:
    """The environment of a user whose virtualenv is activated: ``python`` in a command is this one."""
    return {**os.environ, "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])}


class Repo:
    """A real git repository with helpers to write, commit and run trialwise in it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, rel: str, text: str) -> Path:
        p = self.path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text), encoding="utf-8")
        return p

    def commit(self, message: str = "change") -> str:
        git(self.path, "add", "-A")
        git(self.path, "commit", "--quiet", "-m", message)
        return git(self.path, "rev-parse", "HEAD").strip()

    def git(self, *args: str) -> str:
        return git(self.path, *args)

    def tw(self, *args: str, check: bool = True, timeout: float = 300,
           env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([sys.executable, "-m", "trialwise", *args], cwd=self.path, capture_output=True,
                              text=True, timeout=timeout, env={**activated_env(), "COLUMNS": "200", **(env or {})})
        if check and proc.returncode != 0:
            raise AssertionError(f"trialwise {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
        return proc

    def tw_json(self, *args: str, check: bool = True, env: dict[str, str] | None = None) -> object:
        args_list = list(args)
        at = args_list.index("--") if "--" in args_list else len(args_list)
        proc = self.tw(*args_list[:at], "--json", *args_list[at:], check=check, env=env)
        return json.loads(proc.stdout)

    def store(self):  # noqa: ANN201
        import trialwise

        return trialwise.open_store(self.path)


def make_repo(path: Path, config: str, files: dict[str, str]) -> Repo:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "--quiet", "--initial-branch", "main")
    repo = Repo(path)
    repo.write("trialwise.toml", config)
    repo.write(".gitignore", ".trialwise/\n__pycache__/\n")
    for rel, text in files.items():
        repo.write(rel, text)
    repo.commit("initial")
    return repo


@pytest.fixture
def python() -> str:
    return sys.executable
