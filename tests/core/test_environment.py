"""The environment fingerprint describes the interpreter the training command runs under (pattern #9)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import make_repo
from trialwise.provenance import environment_fingerprint, interpreter_of

TRAIN = 'import json, sys\nprint(json.dumps({"step": 1, "val_acc": 0.5}))\n'


@pytest.fixture(scope="module")
def bare_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second Python environment with no packages at all (no pip, no numpy, no trialwise)."""
    path = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    return path


def test_interpreter_of_python_paths_console_scripts_and_others(tmp_path: Path, bare_venv: Path) -> None:
    py = str(bare_venv / "bin" / "python")
    assert interpreter_of([py, "train.py"]) == py
    assert interpreter_of(["venv/bin/python", "train.py"], cwd=bare_venv.parent) == py
    script = tmp_path / "torchrun"
    script.write_text(f"#!{py}\nimport sys\n")
    assert interpreter_of([str(script), "--nproc_per_node", "2", "train.py"]) == py
    env_script = tmp_path / "launch"
    env_script.write_text("#!/usr/bin/env -S python3 -u\n")
    assert interpreter_of([str(env_script)]) is not None
    shell = tmp_path / "run.sh"
    shell.write_text("#!/bin/bash\npython train.py\n")
    assert interpreter_of([str(shell)]) is None
    assert interpreter_of(["no-such-program-here"]) is None and interpreter_of([]) is None


def test_fingerprint_is_the_training_interpreters_not_trialwises(bare_venv: Path) -> None:
    own = environment_fingerprint()
    other = environment_fingerprint(str(bare_venv / "bin" / "python"))
    assert "numpy" in own["packages"] and "numpy" not in other["packages"]
    assert other["executable_prefix"] == str(bare_venv) and "fingerprint_note" not in other
    assert other["hash"] != own["hash"]
    broken = environment_fingerprint(str(bare_venv / "bin" / "no-python"))
    assert broken["fingerprint_note"].startswith("the training command's interpreter")


def test_runs_record_the_commands_environment(tmp_path: Path, bare_venv: Path) -> None:
    py = bare_venv / "bin" / "python"
    repo = make_repo(tmp_path / "repo", f'command = "{py} train.py"\n[metric]\nname = "val_acc"\n', {"train.py": TRAIN})
    store = repo.store()
    first = repo.tw_json("run", "--seeds", "1")["runs"][0]
    env = store.environment(first["env_hash"])
    assert env["executable_prefix"] == str(bare_venv) and "numpy" not in env["packages"]
    again = repo.tw_json("run", "--seeds", "1", "--", sys.executable, "train.py")["runs"][0]
    assert again["status"] == "completed" and again["env_hash"] != first["env_hash"]
    assert store.environment(again["env_hash"])["executable_prefix"] == sys.prefix
