"""What a command loads at start-up (issue 16): a core command (ls, show, run...) neither imports
the other capabilities' CLI modules nor the launch machinery it does not use, and pydantic does
not scan every installed distribution for plugins; the whole command line stays available."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import make_repo
from trialwise.cli.app import CORE_COMMANDS, invoked_command

REPORT = """
import atexit, json, os, runpy, sys
def report():
    import pydantic.plugin._loader as loader
    sys.stderr.write("\\nMODULES " + json.dumps({"modules": sorted(sys.modules), "plugins_scanned": loader._plugins is not None,
                                              "env": os.environ.get("PYDANTIC_DISABLE_PLUGINS")}) + "\\n")
atexit.register(report)
sys.argv = ["trialwise", *sys.argv[1:]]
runpy.run_module("trialwise", run_name="__main__")
"""


def _run(cwd: Path, *args: str, env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess[str], dict]:
    """``python -m trialwise ARGS`` in ``cwd``, and what the process had loaded when it exited."""
    import trialwise

    full = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    full.update(env or {}, PYTHONPATH=str(Path(trialwise.__file__).parents[1]))
    proc = subprocess.run([sys.executable, "-c", REPORT, *args], cwd=cwd, env=full, capture_output=True, text=True)
    line = next(l for l in proc.stderr.splitlines() if l.startswith("MODULES "))
    return proc, json.loads(line.removeprefix("MODULES "))


@pytest.mark.parametrize(("args", "command"), [
    (["ls"], "ls"), (["ls", "--json"], "ls"), (["--backend", "local", "run", "--", "python", "x.py"], "run"),
    (["--backend=ray", "show", "e1"], "show"), (["--address", "ls", "compare", "a", "b"], "compare"),
    (["--help"], None), (["--version"], None), ([], None), (["-h"], None),
])
def test_the_invoked_command_is_found_after_the_root_options(args: list[str], command: str | None) -> None:
    assert invoked_command(args) == command


def test_core_commands_are_the_ones_registered_without_the_other_capabilities() -> None:
    assert CORE_COMMANDS == {"init", "run", "ls", "show", "export", "resume"}


def test_ls_and_show_load_neither_other_commands_nor_the_launcher_nor_pydantic_plugins(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", f'command = "{sys.executable} train.py"\nseeds = 2\n[metric]\nname = "val_acc"\n',
                     {"train.py": 'print(\'{"val_acc": 0.5}\')\n'})
    proc, _ = _run(repo.path, "run", "--json")
    assert proc.returncode == 0, proc.stderr
    exp_id = json.loads(proc.stdout)["experiment"]["id"]
    for args in (["ls", "--json"], ["show", exp_id, "--json"]):
        proc, loaded = _run(repo.path, *args)
        assert proc.returncode == 0, proc.stderr
        modules = set(loaded["modules"])
        assert not modules & {"trialwise.cli.decide", "trialwise.cli.tune", "trialwise.cli.report",
                              "trialwise.runner._experiment", "trialwise.runner._local", "trialwise.runner._ray",
                              "rich.progress", "scipy", "pandas"}, args
        assert not loaded["plugins_scanned"] and loaded["env"] is None  # and the variable is not left set
    assert [r["experiment"]["id"] for r in json.loads(_run(repo.path, "ls", "--json")[0].stdout)] == [exp_id]
    assert len(json.loads(_run(repo.path, "show", exp_id, "--json")[0].stdout)["runs"]) == 2


def test_other_commands_and_help_still_register_everything(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", '[metric]\nname = "val_acc"\n', {"train.py": "pass\n"})
    proc, loaded = _run(repo.path, "--help")
    assert proc.returncode == 0 and "compare" in proc.stdout and "ls" in proc.stdout
    assert "trialwise.cli.decide" in loaded["modules"]
    proc, _ = _run(repo.path, "lss")
    assert proc.returncode == 2 and "Did you mean 'ls'" in proc.stderr
    from trialwise.cli.app import app

    names = {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}
    assert {"compare", "gate", "ls", "show", "report"} <= names


def test_a_users_pydantic_plugin_setting_is_left_as_it_was(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", '[metric]\nname = "val_acc"\n', {"train.py": "pass\n"})
    _, loaded = _run(repo.path, "ls", "--json", env={"PYDANTIC_DISABLE_PLUGINS": "someplugin"})
    assert loaded["env"] == "someplugin"
