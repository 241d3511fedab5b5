"""trialwise resume: only the seeds that did not complete run again, with their own seeds, never
a completed one twice; also after the runner was killed mid-experiment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.capture.test_crash import _wait_for
from tests.conftest import activated_env, make_repo

pytestmark = pytest.mark.slow

FLAKY = """
import json, os, sys, time
from pathlib import Path
seed = int(os.environ["TRIALWISE_SEED"])
if seed == 1 and not Path(os.environ["HEAL_FILE"]).exists():
    sys.exit("seed 1 fails until healed")
if seed == 2 and os.environ.get("HANG_SEED_2") == "1":
    print(json.dumps({"val_acc": 0.0}), flush=True)
    time.sleep(600)
print(json.dumps({"val_acc": 0.5 + seed / 100}))
"""


def test_resume_reruns_only_what_did_not_complete(tmp_path):
    heal = tmp_path / "healed"
    repo = make_repo(tmp_path / "r", 'command = "python train.py"\nseeds = 3\n', {"train.py": FLAKY})
    env = {"HEAL_FILE": str(heal)}
    first = repo.tw_json("run", env=env)
    assert sorted((r["seed"], r["status"]) for r in first["runs"]) == [(0, "completed"), (1, "failed"), (2, "completed")]
    heal.write_text("ok")
    resumed = repo.tw_json("resume", "HEAD", env=env)
    assert resumed["resumed"] == [1] and [r["seed"] for r in resumed["runs"]] == [1]
    shown = repo.tw_json("show", "HEAD")
    assert sorted((r["seed"], r["status"]) for r in shown["runs"]) == [(0, "completed"), (1, "completed"), (2, "completed")]
    assert repo.tw_json("resume", "HEAD", env=env)["resumed"] == []
    assert len([r for r in repo.store().runs() if r.status == "completed"]) == 3  # none twice


def test_resume_after_the_runner_was_killed(tmp_path):
    heal = tmp_path / "healed"
    heal.write_text("ok")
    repo = make_repo(tmp_path / "r", 'command = "python train.py"\nseeds = 3\n', {"train.py": FLAKY})
    env = {**activated_env(), "HEAL_FILE": str(heal), "HANG_SEED_2": "1"}
    driver = subprocess.Popen([sys.executable, "-m", "trialwise", "run", "--jobs", "3"], cwd=repo.path, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def two_done_one_hanging():
        runs = repo.store().runs() if (repo.path / ".trialwise" / "store.db").exists() else []
        return len([r for r in runs if r.status == "completed"]) == 2 and runs

    runs = _wait_for(two_done_one_hanging, "seeds 0 and 1 to complete while seed 2 hangs")
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    hanging = next(r for r in runs if r.seed == 2)
    os.killpg(repo.store().run(hanging.id).pid, signal.SIGKILL)
    _wait_for(lambda: subprocess.run(["ps", "-p", str(repo.store().run(hanging.id).pid)], capture_output=True).returncode != 0,
              "the script to end")
    resumed = repo.tw_json("resume", "HEAD", env={"HEAL_FILE": str(heal), "HANG_SEED_2": "0"})
    assert resumed["resumed"] == [2]
    final = repo.store().runs()
    assert sorted(r.seed for r in final if r.status == "completed") == [0, 1, 2]
    assert [r.status for r in final if r.id == hanging.id] == ["crashed"]
