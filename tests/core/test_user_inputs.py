"""What real users feed trialwise: odd stdout lines, values with spaces, file names with spaces,
bad seed lists, quoted commands, scripts in a subfolder. Real git repositories, real subprocesses."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from tests.conftest import Repo, make_repo

PY = sys.executable

ODD_STDOUT = """
import json, os, sys
print("argv=" + json.dumps(sys.argv[1:]))
print('{"event": "start", "step": NaN}')            # JSON (Python's NaN extension) with a NaN step
print('{"step": Infinity, "warmup": 1}')             # an infinite step
print('{"step": 100000000000000000000000, "big": 2}')  # a step beyond the store's integer range
print('{"step": 1, "huge": 1' + '0' * 400 + '}')    # an integer beyond float range
print("{not json at all}")
print(json.dumps({"step": 2, "val_acc": 0.5 + int(os.environ["TRIALWISE_SEED"]) / 100}))
"""

CONFIG = f"""
command = "{PY} train.py"
workdir = "sub"
seeds = 2
[metric]
name = "val_acc"
"""


def _repo(tmp_path: Path) -> Repo:
    return make_repo(tmp_path / "repo", CONFIG, {"sub/train.py": ODD_STDOUT})


def test_stdout_json_with_nan_inf_or_huge_steps_never_breaks_ingestion(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    out = repo.tw_json("run")
    assert [r["status"] for r in out["runs"]] == ["completed", "completed"]
    assert sorted(r["summary"]["val_acc"] for r in out["runs"]) == [0.5, 0.51]
    frame = repo.store().metrics_df()
    assert set(frame.key) >= {"val_acc", "warmup", "big", "huge"}
    assert math.isinf(frame[frame.key == "huge"].value.iloc[0])
    assert (frame[frame.key == "val_acc"].step == 2).all()
    # the store stays readable for every command
    repo.tw("ls")
    repo.tw("show", out["experiment"]["id"])


def test_set_value_with_spaces_stays_one_argument_and_show_quotes_it(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    out = repo.tw_json("run", "--seeds", "1", "--set", "name=big model", "--set", "note=it's")
    argv = out["runs"][0]["command"]
    assert argv[-4:] == ["--name", "big model", "--note", "it's"]
    stdout = Path(out["runs"][0]["run_dir"], "stdout.log").read_text()
    assert 'argv=["--name", "big model", "--note", "it\'s"]' in stdout
    shown = repo.tw("show", out["experiment"]["id"]).stdout
    assert "--name 'big model'" in shown


def test_allow_dirty_with_an_untracked_file_whose_name_has_spaces(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    repo.write("sub/my notes.txt", "scratch\n")
    refused = repo.tw("run", "--seeds", "1", check=False)
    assert refused.returncode == 2 and "my notes.txt" in refused.stderr
    out = repo.tw_json("run", "--seeds", "1", "--allow-dirty")
    assert out["experiment"]["dirty"] and out["runs"][0]["status"] == "completed"
    patch = next((repo.path / ".trialwise" / "patches").glob("*.patch")).read_text()
    assert "my notes.txt" in patch and "+scratch" in patch
    assert repo.git("status", "--porcelain") == "?? \"sub/my notes.txt\"\n"  # the index is left as it was


def test_bad_seed_arguments_are_clear_errors(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    for args, needle in ((["--seed-list", "0,x"], "--seed-list expects"), (["--seed-list", "1,1"], "given twice"),
                         (["--seed-list", "-1"], "non-negative"), (["--seeds", "0"], "at least 1")):
        proc = repo.tw("run", *args, check=False)
        assert proc.returncode == 2, (args, proc.stderr)
        assert needle in proc.stderr and "Traceback" not in proc.stderr, (args, proc.stderr)
    assert repo.tw_json("ls") == []


def test_init_with_a_quoted_command_writes_a_valid_config(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", "", {"train.py": "print('hi')\n"})
    (repo.path / "trialwise.toml").unlink()
    repo.commit("no config")
    command = 'python train.py --name "my run" --path C:\\data'
    out = repo.tw_json("init", "--command", command)
    assert out["config"].endswith("trialwise.toml")
    from trialwise.settings import load_config

    assert load_config(repo.path).command == command
    assert json.loads(repo.tw("ls", "--json").stdout) == []
