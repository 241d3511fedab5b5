"""Shared fixtures: real git repositories in temp dirs and the real ``trialwise`` CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

GIT_ENV = {
    "GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.com",
}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True,
                          env={**os.environ, **GIT_ENV}).stdout


POLL_S = 0.1
"""How often tests poll for something they wait for (never a blind sleep)."""


def wait_for(predicate, what: str, limit: float = 120.0):  # noqa: ANN001, ANN201
    """Poll ``predicate`` until it returns something truthy (returned), or fail after ``limit`` s."""
    import time

    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(POLL_S)
    raise AssertionError(f"timed out waiting for {what}")


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


@pytest.fixture(autouse=True, scope="session")
def _session_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> None:
    """trialwise's on-disk cache (sequential designs, environment fingerprints) lives in this
    session's temp dir, inherited by every ``trialwise`` subprocess, never in the user's cache."""
    from trialwise._cache import CACHE_ENV

    os.environ[CACHE_ENV] = str(tmp_path_factory.mktemp("trialwise-cache"))


@pytest.fixture
def python() -> str:
    return sys.executable


# -- PostgreSQL: one throw-away server per session, one database per test (tests/_postgres.py) ---------------
@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Any]:
    """A real PostgreSQL server for the session; a missing one fails under CI and skips elsewhere."""
    from tests import _postgres

    missing = _postgres.why_unavailable()
    if missing:
        if _postgres.required():
            pytest.fail(f"PostgreSQL is required here ({_postgres.REQUIRE_ENV} or CI is set): {missing}")
        pytest.skip(missing)
    server = _postgres.start_server()
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server) -> Iterator[str]:  # noqa: ANN001
    """The store URL of a fresh, empty database of its own on the session's PostgreSQL server."""
    name = postgres_server.create_database()
    yield postgres_server.url(name)
    postgres_server.drop_database(name)


STORE_BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
"""The databases every store contract test runs on (Optuna's pattern: one test case, each storage)."""


@pytest.fixture(params=STORE_BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty store's URL: a SQLite file, then a database on the real PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("postgres_url")


CHROMIUM = "/usr/bin/chromium"
"""Debian's chromium (``.ci/run`` installs it), driven by Playwright without its own browser download."""


@pytest.fixture(scope="session")
def browser():  # noqa: ANN201
    """One headless Chromium per test session (one Playwright per process: a second sync API
    instance inside the first one's event loop is refused)."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"], headless=True)
        yield b
        b.close()
