"""kill -9 of the runner: the next command leaves no run ``running``, no worktree behind, keeps
the points the run had logged, and a re-run stores no duplicates."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import activated_env, make_repo, wait_for

pytestmark = pytest.mark.slow

SCRIPT = """
import json, os, sys, time
for step in range(3):
    print(json.dumps({"step": step, "val_acc": 0.1 * step}), flush=True)
if os.environ.get("HANG") == "1":
    time.sleep(600)
"""

_wait_for = wait_for


def test_runner_killed_then_next_command_recovers_and_cleans(tmp_path):
    repo = make_repo(tmp_path / "r", 'command = "python train.py"\nseeds = 1\n', {"train.py": SCRIPT})
    env = {**activated_env(), "HANG": "1"}
    driver = subprocess.Popen([sys.executable, "-m", "trialwise", "run"], cwd=repo.path, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    runs = repo.path / ".trialwise" / "runs"

    def logged():
        files = list(runs.glob("*/stdout.log")) if runs.exists() else []
        return files and files[0].read_text().count("\n") >= 3 and files[0]

    stdout = _wait_for(logged, "the script's three lines")
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    store = repo.store()
    (run,) = store.runs()
    assert run.status == "running"
    os.killpg(run.pid, signal.SIGKILL)  # the orphaned script (its own session)
    _wait_for(lambda: subprocess.run(["ps", "-p", str(run.pid)], capture_output=True).returncode != 0, "the script to end")
    assert list((repo.path / ".trialwise" / "worktrees").glob("*-*"))  # left behind by the kill
    ls = repo.tw_json("ls")
    assert ls[0]["status"] == {"crashed": 1}
    assert not [p for p in (repo.path / ".trialwise" / "worktrees").iterdir()]
    assert repo.git("worktree", "list").count("\n") == 1
    (crashed,) = repo.store().runs()
    assert crashed.status == "crashed" and crashed.summary["val_acc"] == pytest.approx(0.2)
    assert stdout.parent.name == crashed.id
    again = repo.tw_json("run")
    assert [r["status"] for r in again["runs"]] == ["completed"]
    out = tmp_path / "points.json"
    repo.tw("export", again["experiment"]["id"], "--format", "json", "--out", str(out), "--all-runs")
    rows = json.loads(out.read_text())
    keys = [(r["run_id"], r["key"], r["step"]) for r in rows]
    assert len(keys) == len(set(keys)) == 6  # 3 points of the crashed run, 3 of the re-run, none twice


BIG = """
import json, sys
out = sys.stdout
for step in range(200_000):
    out.write('{"step": %d, "loss": %f}\\n' % (step, 1.0 / (step + 1)))
"""


def test_sigterm_while_a_run_is_saved_waits_until_it_is_whole(tmp_path):
    repo = make_repo(tmp_path / "r", 'command = "python train.py"\nseeds = 1\n', {"train.py": BIG})
    env = {**activated_env(), "TRIALWISE_LIVE_INTERVAL": "0"}
    driver = subprocess.Popen([sys.executable, "-m", "trialwise", "run"], cwd=repo.path, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def saving():  # the script is done and the runner holds the run while it saves it
        runs = repo.store().runs() if (repo.path / ".trialwise" / "store.db").exists() else []
        if not runs or not runs[0].run_dir:
            return None
        out = Path(runs[0].run_dir) / "stdout.log"  # written: the script ran (before it, the pid is the runner's too)
        return out.exists() and out.stat().st_size > 0 and runs[0].pid == driver.pid and runs[0]

    run = _wait_for(saving, "the runner to start saving the run")
    driver.send_signal(signal.SIGTERM)
    assert driver.wait(timeout=300) == 130
    saved = repo.store().run(run.id)
    assert saved.status == "completed"
    assert len(repo.store().metrics([run.id])) == 200_000
    assert repo.git("worktree", "list").count("\n") == 1
