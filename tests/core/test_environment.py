"""The environment fingerprint describes the interpreter the training command runs under (pattern #9)."""

from __future__ import annotations

import os
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


def test_a_sibling_name_of_one_interpreter_is_one_environment(bare_venv: Path) -> None:
    from trialwise.provenance._environment import _foreign_fingerprint, same_interpreter

    names = [bare_venv / "bin" / n for n in ("python", "python3") if (bare_venv / "bin" / n).exists()]
    assert len(names) == 2 and names[0].resolve() == names[1].resolve()
    assert same_interpreter(str(names[0]), str(names[1]))  # one venv's python and python3
    # another venv of the same base interpreter is another environment, though the file is the same
    assert not same_interpreter(str(names[0]), sys.executable)
    assert not same_interpreter(str(names[0]), str(bare_venv / "bin" / "no-python"))
    siblings = [p for p in Path(sys.executable).parent.iterdir()
                if p.name.startswith("python") and p != Path(sys.executable) and p.resolve() == Path(sys.executable).resolve()]
    if not siblings:
        pytest.skip(f"{sys.executable} has no other name in its directory")
    before = _foreign_fingerprint.cache_info().misses
    assert environment_fingerprint(str(siblings[0])) is environment_fingerprint()  # no subprocess to ask it
    assert _foreign_fingerprint.cache_info().misses == before


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


PACKAGES_OF = ("import json; from trialwise.provenance._environment import _own_fingerprint; "
               "print(json.dumps(_own_fingerprint()['packages']))")


def _cache_entries(cache: Path) -> list[Path]:
    from trialwise.provenance._environment import PACKAGES_CACHE

    return sorted((cache / PACKAGES_CACHE).glob("*.json"))


def test_package_list_is_cached_until_the_environment_changes(tmp_path: Path) -> None:
    import json

    import trialwise
    from trialwise._cache import CACHE_ENV

    site, cache = tmp_path / "site", tmp_path / "cache"
    info = site / "fakepkg-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fakepkg\nVersion: 1.0\n")
    env = {**os.environ, CACHE_ENV: str(cache),
           "PYTHONPATH": os.pathsep.join([str(site), str(Path(trialwise.__file__).parents[1])])}

    def packages() -> dict[str, str]:
        out = subprocess.run([sys.executable, "-c", PACKAGES_OF], env=env, cwd=tmp_path, check=True,
                             capture_output=True, text=True).stdout
        return json.loads(out)

    assert packages()["fakepkg"] == "1.0"
    [entry] = _cache_entries(cache)
    # a hit really is read from the file: a marker planted in it comes back while nothing changed
    stored = json.loads(entry.read_text())
    stored["value"]["packages"]["planted-marker"] = "9"
    entry.write_text(json.dumps(stored))
    assert packages()["planted-marker"] == "9"
    # a renamed *.dist-info (an upgrade) is noticed
    info = info.rename(site / "fakepkg-1.1.dist-info")
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fakepkg\nVersion: 1.1\n")
    now = packages()
    assert now["fakepkg"] == "1.1" and "planted-marker" not in now
    # so are a METADATA edited in place, a new distribution and a removed one
    with (info / "METADATA").open("r+") as fh:
        fh.seek(0)
        fh.write("Metadata-Version: 2.1\nName: fakepkg\nVersion: 1.2\n")
    assert packages()["fakepkg"] == "1.2"
    (site / "other-3.0.dist-info").mkdir()
    (site / "other-3.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: other\nVersion: 3.0\n")
    assert packages()["other"] == "3.0"
    for f in info.iterdir():
        f.unlink()
    info.rmdir()
    assert "fakepkg" not in packages()
    assert len(_cache_entries(cache)) == 1  # one entry per interpreter and sys.path, overwritten
    # a corrupt entry is recomputed
    entry.write_text("{not json")
    assert packages()["other"] == "3.0" and json.loads(entry.read_text())["value"]["packages"]["other"] == "3.0"


def test_training_interpreters_package_list_is_cached_too(tmp_path: Path, bare_venv: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from trialwise._cache import CACHE_ENV
    from trialwise.provenance._environment import _foreign_fingerprint

    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    py = str(bare_venv / "bin" / "python")
    _foreign_fingerprint.cache_clear()
    first = environment_fingerprint(py)
    [entry] = _cache_entries(tmp_path)
    assert json.loads(entry.read_text())["key"]["executable"] == py
    _foreign_fingerprint.cache_clear()
    assert environment_fingerprint(py) == first


FINGERPRINT_OF = ("import json; from trialwise.provenance._environment import _own_fingerprint; "
                  "print(json.dumps(_own_fingerprint()))")


def test_a_cached_fingerprint_equals_a_fresh_one_and_an_install_changes_it(tmp_path: Path) -> None:
    """The fingerprint through a cache hit is the one computed from every distribution's metadata
    (the real environment's packages), and a distribution appearing on the interpreter's path (a
    fake ``*.dist-info`` in a site directory on ``sys.path``, nothing installed) changes its hash."""
    import json

    from trialwise._cache import CACHE_ENV
    from trialwise.provenance._environment import PACKAGES_CACHE

    site = tmp_path / "site-packages"
    site.mkdir()

    def fingerprint(cache: Path) -> dict:
        path = os.pathsep.join(p for p in [str(site), os.environ.get("PYTHONPATH", "")] if p)
        env = {**os.environ, CACHE_ENV: str(cache), "PYTHONPATH": path}
        out = subprocess.run([sys.executable, "-c", FINGERPRINT_OF], env=env, cwd=tmp_path, check=True,
                             capture_output=True, text=True).stdout
        return json.loads(out)

    cache = tmp_path / "cache"
    fresh = fingerprint(cache)  # a miss: computed and stored
    assert len(list((cache / PACKAGES_CACHE).glob("*.json"))) == 1
    cached = fingerprint(cache)  # a hit
    assert cached == fresh and fresh == fingerprint(tmp_path / "another-empty-cache")
    assert fresh["packages"]["numpy"] and "fakepkg" not in fresh["packages"]
    info = site / "fakepkg-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fakepkg\nVersion: 1.0\n")
    installed = fingerprint(cache)
    assert installed["packages"]["fakepkg"] == "1.0" and installed["hash"] != fresh["hash"]
    assert installed == fingerprint(cache) == fingerprint(tmp_path / "a-third-empty-cache")
