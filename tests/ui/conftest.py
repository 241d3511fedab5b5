"""One store filled by real runs of the digits example, one dashboard server and one headless
Chromium (Debian's, driven by Playwright) per test session."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import activated_env, make_repo, wait_for

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "digits"

SLOW = """
import json, os, time
from pathlib import Path
stop = Path(os.environ["STOP_FILE"])
for step in range(600):
    print(json.dumps({"step": step, "val_acc": step / 600}), flush=True)
    if stop.exists():
        break
    time.sleep(0.1)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]




def start_server(repo_path: Path, *extra: str, port: int | None = None) -> tuple[subprocess.Popen, str]:
    import httpx

    port = port or free_port()
    proc = subprocess.Popen([sys.executable, "-m", "trialwise", "ui", "--port", str(port), *extra], cwd=repo_path,
                            env=activated_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"

    def up():
        if proc.poll() is not None:
            raise AssertionError(f"the dashboard exited: {proc.stderr.read()}")
        try:
            return httpx.get(base + "/api/openapi.json", timeout=2).status_code in (200, 401)
        except httpx.HTTPError:
            return False

    wait_for(up, "the dashboard to answer")
    return proc, base


@pytest.fixture(scope="session")
def ui_repo(tmp_path_factory):
    """Two experiments of the digits example (a baseline and a learning-rate change), 2 seeds each,
    plus one with markup in its parameter value and metric name."""
    root = tmp_path_factory.mktemp("ui") / "repo"
    repo = make_repo(root, (EXAMPLE / "trialwise.toml").read_text(), {"train.py": (EXAMPLE / "train.py").read_text(),
                                                                      "slow.py": SLOW})
    repo.tw("run", "--seeds", "2", "--profile", "fast", "--jobs", "2")
    repo.git("checkout", "--quiet", "-b", "feat/higher-lr")
    text = (root / "train.py").read_text()
    import re

    repo.write("train.py", re.sub(r"LEARNING_RATE = [0-9.e-]+", "LEARNING_RATE = 0.3", text, count=1))
    repo.commit("higher lr")
    repo.git("checkout", "--quiet", "main")
    repo.tw("run", "--ref", "feat/higher-lr", "--seeds", "2", "--profile", "fast", "--jobs", "2")
    return repo


@pytest.fixture(scope="session")
def server(ui_repo):
    proc, base = start_server(ui_repo.path)
    yield base
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture
def page(browser, tmp_path):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    pg = context.new_page()
    dialogs: list[str] = []
    pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.dialogs, pg.js_errors, pg.shots = dialogs, errors, tmp_path  # type: ignore[attr-defined]
    yield pg
    context.close()
