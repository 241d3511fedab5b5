"""Real scripts through the real CLI: the ref's own trialwise.toml, a worktree per run with its
outputs kept, ``$VARS``, the no-metric and identical-seed warnings, reuse reasons, thread shares."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import make_repo

pytestmark = pytest.mark.slow

LR_SCRIPT = """
import argparse, json, os, random
p = argparse.ArgumentParser()
p.add_argument("--lr", type=float, default=0.1)
p.add_argument("--seed", type=int, default=1)
a = p.parse_args()
random.seed(a.seed)
for step in range(3):
    print(json.dumps({"step": step, "loss": 1.0 / (step + 1) + random.random() * 0.01,
                      "val_acc": a.lr + random.gauss(0, 0.005)}))
"""

CONFIG = """
command = "python train.py --lr 0.1"
seeds = 3
[metric]
name = "val_acc"
[params]
seed = "--seed {value}"
"""


def test_a_branch_that_changes_only_trialwise_toml_is_compared_with_its_own(tmp_path):
    repo = make_repo(tmp_path / "r", CONFIG, {"train.py": LR_SCRIPT})
    repo.git("checkout", "--quiet", "-b", "feat/lr")
    repo.write("trialwise.toml", CONFIG.replace("--lr 0.1", "--lr 0.5"))
    repo.commit("lr 0.5")
    repo.git("checkout", "--quiet", "main")
    assert "differs" not in repo.tw("run", "--jobs", "3").stdout
    run = repo.tw("run", "--ref", "feat/lr", "--jobs", "3")
    assert "differs from the checkout" in run.stdout + run.stderr
    out = repo.tw_json("compare", "main", "feat/lr")
    decision = out["decisions"][0] if "decisions" in out else out
    assert decision["verdict"] == "progression"
    assert decision["checks"]["launch_diff"] == [["command", "python train.py --lr 0.1", "python train.py --lr 0.5"]]
    assert "launched differently: command: python train.py --lr 0.1 → python train.py --lr 0.5" in \
        repo.tw("compare", "main", "feat/lr").stdout
    show = repo.tw_json("show", "feat/lr")
    assert "--lr" in show["experiment"]["command"] and "0.5" in show["experiment"]["command"]
    assert show["experiment"]["launch"]["config_source"] == "commit"
    vals = [r["summary"]["val_acc"] for r in show["runs"]]
    assert all(v > 0.4 for v in vals)


EXCLUSIVE = """
import json, os, time
with open("out/result.txt", "x") as fh:   # exclusive create: fails if a sibling seed made it
    fh.write(os.environ["TRIALWISE_SEED"])
time.sleep(0.3)
with open(os.environ["TRIALWISE_RUN_DIR"] + "/../" + os.environ["TRIALWISE_RUN_ID"] + ".marker", "w") as fh:
    fh.write("x")
print(json.dumps({"val_acc": 0.5 + int(os.environ["TRIALWISE_SEED"]) / 100}))
"""


def test_parallel_seeds_writing_the_same_relative_path_all_complete_and_keep_their_files(tmp_path):
    repo = make_repo(tmp_path / "r", 'command = "python train.py"\nseeds = 3\n',
                     {"train.py": EXCLUSIVE, "out/.gitkeep": ""})
    res = repo.tw_json("run", "--jobs", "3")
    assert [r["status"] for r in res["runs"]] == ["completed"] * 3
    for r in res["runs"]:
        kept = Path(r["run_dir"]) / "outputs" / "out" / "result.txt"
        assert kept.read_text() == str(r["seed"])
    assert not list((repo.path / ".trialwise" / "worktrees").glob("*"))  # every worktree removed
    assert repo.git("worktree", "list").count("\n") == 1
    shown = repo.tw_json("show", res["experiment"]["id"])
    assert all(o["kept"] == [["out/result.txt", 1]] for o in shown["outputs"].values())
    human = repo.tw("show", res["experiment"]["id"]).stdout
    assert "out/result.txt" in human and "val_acc" in human


def test_run_dir_variable_in_the_command_and_text_only_script_warning(tmp_path):
    script = """
import sys
open(sys.argv[1], "w").write("hello")
print("epoch 1: accuracy 0.93 (loss 0.2)")
print("done")
"""
    repo = make_repo(tmp_path / "r", 'command = "python train.py $TRIALWISE_RUN_DIR/note.txt"\nseeds = 2\n',
                     {"train.py": script})
    proc = repo.tw("run")
    assert "warning:" in proc.stderr and "'val_acc' was not captured" in proc.stderr
    assert "2 stdout line(s)" in proc.stderr and "0 metric record(s)" in proc.stderr
    res = repo.tw_json("run")  # reused: the warning is in the JSON too
    assert any("not captured" in w for w in res["warnings"])
    for r in res["runs"]:
        assert (Path(r["run_dir"]) / "note.txt").read_text() == "hello"


def test_metric_under_another_name_is_suggested(tmp_path):
    script = 'import json\nfor s in range(3):\n    print(json.dumps({"step": s, "eval_accuracy": 0.5 + s / 10, "loss": 1 - s / 10}))\n'
    repo = make_repo(tmp_path / "r", 'command = "python train.py"\nseeds = 2\n', {"train.py": script})
    proc = repo.tw("run")
    assert 'set [metric] name = "eval_accuracy"' in proc.stderr
    assert "eval_accuracy (3 points)" in proc.stderr


def test_identical_seeds_warned_then_varying_with_the_seed_mapping(tmp_path):
    repo = make_repo(tmp_path / "r", CONFIG.replace('[params]\nseed = "--seed {value}"\n', ""),
                     {"train.py": LR_SCRIPT})
    proc = repo.tw("run")
    assert "identical" in proc.stderr and "[params] seed" in proc.stderr
    refused = repo.tw("compare", "main", "main", check=False)
    assert refused.returncode == 2 and "identical" in refused.stdout
    repo.write("trialwise.toml", CONFIG)
    repo.commit("map the seed")
    proc = repo.tw("run")
    assert "identical" not in proc.stderr
    vals = {r["summary"]["val_acc"] for r in repo.tw_json("show", "HEAD")["runs"]}
    assert len(vals) == 3


def test_threads_are_shared_among_parallel_runs_unless_set(tmp_path):
    script = 'import json, os\nprint(json.dumps({"val_acc": 1, "threads": int(os.environ.get("OMP_NUM_THREADS", "0"))}))\n'
    repo = make_repo(tmp_path / "r", 'command = "python train.py"\nseeds = 2\n', {"train.py": script})
    res = repo.tw_json("run", "--jobs", "2")
    share = max(1, (os.cpu_count() or 1) // 2)
    assert [r["summary"]["threads"] for r in res["runs"]] == [share, share]
    repo.write("trialwise.toml", 'command = "python train.py"\nseeds = 2\n[resources]\nthreads = 3\n')
    repo.commit("threads")
    res = repo.tw_json("run", "--jobs", "1")
    assert [r["summary"]["threads"] for r in res["runs"]] == [3, 3]


def test_reuse_says_why_a_seed_runs_again(tmp_path):
    site = tmp_path / "site"
    (site / "fakepkg-1.0.dist-info").mkdir(parents=True)
    (site / "fakepkg-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: fakepkg\nVersion: 1.0\n")
    repo = make_repo(tmp_path / "r", CONFIG, {"train.py": LR_SCRIPT})
    import trialwise  # the trialwise under test stays importable next to the fake package

    env = {"PYTHONPATH": os.pathsep.join([str(site), str(Path(trialwise.__file__).parents[1])])}
    first = repo.tw("run", "--seeds", "2", env=env)
    again = repo.tw("run", "--seeds", "2", env=env)
    assert "reused" in again.stdout and "runs again" not in again.stdout
    (site / "fakepkg-1.0.dist-info").rename(site / "fakepkg-1.1.dist-info")
    (site / "fakepkg-1.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: fakepkg\nVersion: 1.1\n")
    third = repo.tw("run", "--seeds", "2", env=env)
    assert "seed 0 runs again: environment: package fakepkg 1.0 → 1.1" in third.stdout, third.stdout
    ls = repo.tw_json("ls", env=env)
    assert ls[0]["runs"] == 2 and ls[0]["history"] == 2
    assert first.returncode == 0
