"""Arguments and look-ups a hostile user types (issue 17, item 10): real CLI, real git repository."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.conftest import Repo, make_repo

PY = sys.executable
TRAIN = 'import trialwise as tw\ntw.init()\ntw.log({"val_acc": 0.5}, step=0)\n'


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return make_repo(tmp_path / "repo", f'command = "{PY} train.py"\nseeds = 1\n', {"train.py": TRAIN})


@pytest.mark.parametrize("tag", ["--force", "-f", "a b", "x..y", "v1^", "v:1"])
def test_a_tag_that_is_not_a_tag_name_is_refused_before_anything_runs(repo: Repo, tag: str) -> None:
    proc = repo.tw("run", f"--tag={tag}", check=False)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "is not a valid git tag name" in proc.stdout + proc.stderr
    assert repo.git("tag", "-l") == ""
    assert repo.store().runs() == [] and not any(e.tag for e in repo.store().experiments())


def test_tag_force_as_separate_argument_injects_nothing(repo: Repo) -> None:
    proc = repo.tw("run", "--tag", "--force", check=False)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert repo.git("tag", "-l") == ""


def test_the_tag_is_stored_only_after_git_made_it(repo: Repo) -> None:
    repo.git("tag", "v1")  # v1 on the first commit
    repo.write("train.py", TRAIN + "# changed\n")
    repo.commit("second")
    proc = repo.tw("run", "--tag", "v1", check=False)
    assert proc.returncode == 2 and "already exists on another commit" in proc.stdout + proc.stderr
    assert not any(e.tag for e in repo.store().experiments())
    out = repo.tw_json("run", "--tag", "v2")
    assert out["experiment"]["tag"] == "v2" and repo.git("rev-parse", "v2").strip() == out["experiment"]["commit_sha"]
    assert [e.tag for e in repo.store().experiments()] == ["v2"]


@pytest.mark.parametrize(("item", "why"), [("a b=1", "contains ' '"), ("--lr=1", "starts with '-'"),
                                           ("=1", "is empty"), ("it's=1", "contains \"'\"")])
def test_set_names_that_would_split_the_command_are_refused(repo: Repo, item: str, why: str) -> None:
    proc = repo.tw("run", "--set", item, check=False)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert why in proc.stdout + proc.stderr and "Traceback" not in proc.stderr
    assert repo.store().runs() == []


def test_like_wildcards_do_not_match_every_experiment(repo: Repo) -> None:
    repo.tw("run")
    for token in ("%", "_" * 12):
        proc = repo.tw("show", token, check=False)
        assert proc.returncode == 2, proc.stdout + proc.stderr


@pytest.mark.parametrize(("args", "why"), [(["--seeds", "1000000000000"], "more than the 10,000"),
                                           (["--seed-list", "1,99999999999999999999"], "non-negative integers below 2**63")])
def test_absurd_seed_requests_are_refused(repo: Repo, args: list[str], why: str) -> None:
    proc = repo.tw("run", *args, check=False)
    assert proc.returncode == 2 and why in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    assert repo.store().runs() == []
