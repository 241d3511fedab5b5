"""The core: runs from exact commits, provenance, metrics from every source, failure statuses."""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import Repo, make_repo

PY = sys.executable

TRAIN = """
import json, os, sys, time
import trialwise as tw

VALUE = 0.5  # edited by tests
tw.init()
seed = tw.seed_everything()
tw.config({"value": VALUE, "seed": seed})
for step in range(5):
    tw.log({"train_loss": 1.0 / (step + 1), "seed_seen": seed}, step=step * 10)
print(json.dumps({"step": 3, "stdout_metric": 7.5}))
print("an ordinary log line")
print(json.dumps({"epoch": 1, "other": float("nan")}))
time.sleep(float(os.environ.get("SLEEP", "0")))
tw.log({"val_acc": VALUE + seed / 1000}, step=50)
"""

CONFIG = f"""
command = "{PY} train.py"
seeds = 3
[metric]
name = "val_acc"
version_files = ["val/*.txt"]
"""


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return make_repo(tmp_path / "repo", CONFIG, {"train.py": TRAIN, "val/data.txt": "v1\n"})


def test_seeds_run_in_parallel_and_all_metric_sources_arrive(repo: Repo) -> None:
    out = repo.tw_json("run", "--seeds", "3", "--jobs", "3")
    runs = out["runs"]
    assert sorted(r["seed"] for r in runs) == [0, 1, 2]
    assert all(r["status"] == "completed" for r in runs)
    # each run saw its own seed, and the summary took the last val_acc
    store = repo.store()
    for r in runs:
        assert r["summary"]["seed_seen"] == r["seed"]
        assert r["summary"]["val_acc"] == pytest.approx(0.5 + r["seed"] / 1000)
        assert store.params(r["id"]) == {"value": 0.5, "seed": r["seed"]}
    frame = store.metrics_df(out["experiment"]["id"])
    loss = frame[(frame.key == "train_loss") & (frame.seed == 1)].sort_values("step")
    assert loss.step.tolist() == [0, 10, 20, 30, 40]
    assert loss.value.tolist() == pytest.approx([1, 1 / 2, 1 / 3, 1 / 4, 1 / 5])
    stdout_pts = frame[frame.key == "stdout_metric"]
    assert stdout_pts.step.tolist() == [3, 3, 3] and stdout_pts.value.tolist() == [7.5] * 3
    other = frame[frame.key == "other"]
    # a step-less record after a stepped one sits at that record's step (issue 15 item 8), not at its epoch
    assert len(other) == 3 and other.value.isna().all() and other.step.tolist() == [3, 3, 3]
    assert "an ordinary log line" not in set(frame.key)


def test_runs_overlap_in_time_with_jobs(repo: Repo) -> None:
    os.environ["SLEEP"] = "1.5"
    try:
        out = repo.tw_json("run", "--seeds", "2", "--jobs", "2")
    finally:
        del os.environ["SLEEP"]
    a, b = out["runs"]
    assert a["started_at"] < b["ended_at"] and b["started_at"] < a["ended_at"], "seeds did not run in parallel"


def test_provenance_recorded(repo: Repo) -> None:
    sha = repo.git("rev-parse", "HEAD").strip()
    out = repo.tw_json("run", "--seeds", "1")
    exp, run = out["experiment"], out["runs"][0]
    assert exp["commit_sha"] == sha and exp["branch"] == "main" and not exp["dirty"]
    assert run["command"][:2] == [PY, "train.py"]
    assert run["metric_files"] == {"val/data.txt": run["metric_files"]["val/data.txt"]}
    env = repo.store().environment(run["env_hash"])
    assert env["python"] and env["packages"]["pydantic"] and env["host"] and env["user"]
    shown = repo.tw_json("show", exp["id"])
    assert shown["experiment"]["id"] == exp["id"] and shown["runs"][0]["id"] == run["id"]


def test_metric_version_changes_with_validation_files(repo: Repo) -> None:
    v1 = repo.tw_json("run", "--seeds", "1")["runs"][0]["metric_version"]
    repo.write("val/data.txt", "v2 cleaned\n")
    repo.commit("clean the validation data")
    v2 = repo.tw_json("run", "--seeds", "1")["runs"][0]["metric_version"]
    repo.write("train.py", TRAIN.replace("VALUE = 0.5", "VALUE = 0.6"))
    repo.commit("unrelated change")
    v3 = repo.tw_json("run", "--seeds", "1")["runs"][0]["metric_version"]
    assert v1 != v2 and v2 == v3


def test_dirty_tree_refused_with_file_list(repo: Repo) -> None:
    repo.write("train.py", TRAIN.replace("VALUE = 0.5", "VALUE = 0.9"))
    repo.write("notes.txt", "scratch")
    proc = repo.tw("run", "--seeds", "1", check=False)
    assert proc.returncode == 2
    assert "dirty" in proc.stderr and "train.py" in proc.stderr and "notes.txt" in proc.stderr
    assert "--allow-dirty" in proc.stderr
    assert repo.store().runs() == []


def test_allow_dirty_records_patch_and_runs_the_working_copy(repo: Repo) -> None:
    repo.write("train.py", TRAIN.replace("VALUE = 0.5", "VALUE = 0.9"))
    out = repo.tw_json("run", "--seeds", "1", "--allow-dirty")
    assert out["experiment"]["dirty"] and all(r["dirty"] for r in out["runs"])
    assert out["runs"][0]["summary"]["val_acc"] == pytest.approx(0.9)
    arts = repo.store().artifacts(experiment_id=out["experiment"]["id"])
    patch = Path(arts[0]["path"]).read_text()
    assert "-VALUE = 0.5" in patch and "+VALUE = 0.9" in patch


def test_ref_runs_that_commits_code_not_the_working_tree(repo: Repo) -> None:
    repo.git("checkout", "--quiet", "-b", "feat/x")
    repo.write("train.py", TRAIN.replace("VALUE = 0.5", "VALUE = 0.7"))
    feat = repo.commit("feat")
    repo.git("checkout", "--quiet", "main")
    repo.write("train.py", TRAIN.replace("VALUE = 0.5", "VALUE = 0.1"))  # dirty, other code
    out = repo.tw_json("run", "--ref", "feat/x", "--seeds", "1", "--tag", "exp-feat")
    assert out["experiment"]["commit_sha"] == feat
    assert out["runs"][0]["summary"]["val_acc"] == pytest.approx(0.7)
    assert repo.git("rev-parse", "exp-feat").strip() == feat
    assert "worktrees" not in repo.git("worktree", "list") or len(repo.git("worktree", "list").splitlines()) == 1


def test_completed_seeds_are_reused_not_rerun(repo: Repo) -> None:
    first = repo.tw_json("run", "--seeds", "2")
    second = repo.tw_json("run", "--seeds", "3")
    assert sorted(second["reused"]) == sorted(r["id"] for r in first["runs"])
    assert len(second["runs"]) == 3
    third = repo.tw_json("run", "--seeds", "2", "--rerun")
    assert third["reused"] == [] and not {r["id"] for r in third["runs"]} & {r["id"] for r in first["runs"]}
    # not a terminal (a CI log): one plain line per seed, reused ones included, no live display
    log = repo.tw("run", "--seeds", "4").stdout
    assert "4 seed(s)" in log and "[4/4, 0 failed]" in log and log.count(": reused ") == 3
    assert not re.search(r"━+ \d+/\d+", log)  # no progress bar


def test_set_overrides_reach_the_script_and_make_a_new_experiment(repo: Repo) -> None:
    repo.write("train.py", TRAIN.replace('VALUE = 0.5  # edited by tests',
                                         'import argparse\np = argparse.ArgumentParser(); p.add_argument("--value", type=float, default=0.5)\nVALUE = p.parse_args().value'))
    repo.commit("value flag")
    base = repo.tw_json("run", "--seeds", "1")
    changed = repo.tw_json("run", "--seeds", "1", "--set", "value=0.25")
    assert changed["experiment"]["id"] != base["experiment"]["id"]
    assert changed["runs"][0]["summary"]["val_acc"] == pytest.approx(0.25)
    assert "--value" in changed["runs"][0]["command"]


def test_invalid_config_names_the_key(repo: Repo) -> None:
    repo.write("trialwise.toml", CONFIG.replace('name = "val_acc"', 'name = "val_acc"\ndirection = "upwards"'))
    repo.commit("bad config")
    proc = repo.tw("run", check=False)
    assert proc.returncode == 2
    assert "metric.direction" in proc.stderr and "trialwise.toml:6" in proc.stderr


def test_missing_command_is_failed_with_error_captured(repo: Repo) -> None:
    out = repo.tw_json("run", "--seeds", "1", "--", "no-such-command-xyz", "--flag")
    run = out["runs"][0]
    assert run["status"] == "failed" and "no-such-command-xyz" in run["error"]


def test_timeout_marks_run(repo: Repo) -> None:
    out = repo.tw_json("run", "--seeds", "1", "--timeout", "1", "--", PY, "-c", "import time; time.sleep(60)")
    assert out["runs"][0]["status"] == "timeout"


def test_kill_minus_9_crashes_one_seed_keeps_points_others_complete(repo: Repo) -> None:
    repo.write("train.py", """
        import os, signal, time
        import trialwise as tw
        tw.init()
        seed = tw.seed_everything()
        for step in range(3):
            tw.log({"train_loss": 1.0 + step}, step=step)
        time.sleep(1.5)  # the background flush writes the points
        if seed == 1:
            os.kill(os.getpid(), signal.SIGKILL)
        tw.log({"val_acc": 0.8}, step=10)
    """)
    repo.commit("crashy")
    out = repo.tw_json("run", "--seeds", "3", "--jobs", "3")
    by_seed = {r["seed"]: r for r in out["runs"]}
    assert by_seed[1]["status"] == "crashed" and "SIGKILL" in by_seed[1]["error"]
    assert by_seed[0]["status"] == by_seed[2]["status"] == "completed"
    frame = repo.store().metrics_df(out["experiment"]["id"])
    crashed = frame[(frame.seed == 1) & (frame.key == "train_loss")]
    assert crashed.step.tolist() == [0, 1, 2]


def _descendants(pid: int, marker: str = "sleeper-marker") -> list[int]:
    out = subprocess.run(["ps", "-eww", "-o", "pid=,args="], capture_output=True, text=True).stdout
    return [int(line.split()[0]) for line in out.splitlines() if marker in line]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_stops_every_child_and_marks_runs_killed(repo: Repo, sig: signal.Signals) -> None:
    """Ctrl-C, and SIGTERM as CI sends when a job is cancelled: no child survives, runs are
    ``killed`` and the worktree is removed."""
    repo.write("train.py", """
        import subprocess, sys, time
        import trialwise as tw
        tw.init()
        tw.log({"train_loss": 1.0}, step=0)
        # a grandchild too, as data loaders have
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "sleeper-marker", "MARK"])
        time.sleep(120)  # sleeper-marker
    """.replace("MARK", sig.name))
    repo.commit("long")
    mine = f"sleeper-marker {sig.name}"  # this case's grandchildren only, never another case's
    proc = subprocess.Popen([PY, "-m", "trialwise", "run", "--seeds", "2", "--jobs", "2", "--json"], cwd=repo.path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and len(_descendants(proc.pid, mine)) < 2:
            time.sleep(0.2)
        assert len(_descendants(proc.pid, mine)) >= 2, "children never started"
        time.sleep(1.0)
        proc.send_signal(sig)
        try:
            stdout, stderr = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            _out, err = proc.communicate()
            pytest.fail(f"trialwise run did not stop within 60 s of {sig.name}; its stderr:\n{err[-4000:]}")
    finally:
        if proc.poll() is None:
            proc.kill()
        for pid in _descendants(proc.pid, mine) if proc.returncode != 130 else []:
            os.kill(pid, signal.SIGKILL)
    assert proc.returncode == 130, stderr
    time.sleep(0.5)
    assert _descendants(proc.pid, mine) == [], "child processes survived Ctrl-C"
    assert list((repo.path / ".trialwise" / "worktrees").iterdir()) == []
    assert len(repo.git("worktree", "list").splitlines()) == 1
    runs = json.loads(stdout)["runs"]
    assert [r["status"] for r in runs] == ["killed", "killed"]
    frame = repo.store().metrics_df()
    assert (frame.key == "train_loss").sum() == 2


def test_tensorboard_event_files_are_ingested(repo: Repo) -> None:
    pytest.importorskip("torch")
    repo.write("train.py", """
        import os
        from torch.utils.tensorboard import SummaryWriter
        w = SummaryWriter(os.path.join(os.environ["TRIALWISE_RUN_DIR"], "tb"))
        for step in range(4):
            w.add_scalar("train/loss", 2.0 - step * 0.5, step * 5)
        w.add_scalar("val_acc", 0.75, 20)
        w.close()
    """)
    repo.commit("tb")
    out = repo.tw_json("run", "--seeds", "1")
    assert out["runs"][0]["summary"]["val_acc"] == pytest.approx(0.75)
    frame = repo.store().metrics_df(out["experiment"]["id"])
    loss = frame[frame.key == "train/loss"].sort_values("step")
    assert loss.step.tolist() == [0, 5, 10, 15] and loss.value.tolist() == pytest.approx([2, 1.5, 1, 0.5])


def test_ignored_data_is_linked_and_missing_data_gets_a_hint(repo: Repo) -> None:
    repo.write(".gitignore", ".trialwise/\n__pycache__/\ndata/\ncache/\n")
    repo.write("data/train.csv", "1,2,3\n")
    repo.write("train.py", """
        import trialwise as tw
        tw.init()
        tw.log({"val_acc": len(open("data/train.csv").read())}, step=0)
    """)
    repo.commit("reads data")
    out = repo.tw_json("run", "--seeds", "1")
    assert out["runs"][0]["status"] == "completed" and out["runs"][0]["summary"]["val_acc"] == 6
    # an explicit link list that forgets data/: the failure says what to add
    repo.write("trialwise.toml", CONFIG + '\n[worktree]\nlink = ["cache"]\n')
    repo.commit("explicit links")
    out = repo.tw_json("run", "--seeds", "1")
    assert out["runs"][0]["status"] == "failed"
    assert any('link = ["data"]' in h for h in out["hints"])


def test_export_formats_and_dataframes(repo: Repo, tmp_path: Path) -> None:
    exp = repo.tw_json("run", "--seeds", "2")["experiment"]["id"]
    for fmt in ("csv", "json", "parquet"):
        target = tmp_path / f"out.{fmt}"
        res = repo.tw_json("export", exp, "--format", fmt, "--out", str(target))
        assert target.exists() and res["rows"] > 0
    import pandas as pd

    frame = pd.read_parquet(tmp_path / "out.parquet")
    assert set(frame.columns) >= {"run_id", "seed", "key", "step", "value"}
    store = repo.store()
    assert len(store.runs_df()) == 2 and "summary.val_acc" in store.runs_df().columns
    assert len(store.experiments_df()) == 1


def test_ls_and_show_rich_output(repo: Repo) -> None:
    repo.tw("run", "--seeds", "2")
    ls = repo.tw("ls").stdout
    assert "main@" in ls and "2 completed" in ls
    shown = repo.tw("show", "main").stdout
    assert "provenance" in shown and "mean ± std" in shown


def test_standalone_script_records_a_run(repo: Repo) -> None:
    proc = subprocess.run([PY, "train.py"], cwd=repo.path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    runs = repo.store().runs()
    assert len(runs) == 1 and runs[0].status == "completed"
    assert runs[0].summary["val_acc"] == pytest.approx(0.5)
    assert math.isfinite(runs[0].summary["train_loss"])
