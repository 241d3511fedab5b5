"""Git edge cases of real projects: submodules in the run's worktree, 30,000 untracked files."""

from __future__ import annotations

import pytest

from tests.conftest import git, make_repo

pytestmark = pytest.mark.slow


def test_submodules_are_checked_out_in_each_runs_worktree(tmp_path):
    lib = make_repo(tmp_path / "lib", "", {"helper.py": "VALUE = 0.75\n"})
    repo = make_repo(tmp_path / "r", 'command = "python train.py"\nseeds = 2\n',
                     {"train.py": "import json, sys\nsys.path.insert(0, 'vendor')\nfrom helper import VALUE\n"
                                  "print(json.dumps({'val_acc': VALUE}))\n"})
    git(repo.path, "-c", "protocol.file.allow=always", "submodule", "add", str(lib.path), "vendor")
    repo.commit("vendor the helper")
    res = repo.tw_json("run")
    assert [r["status"] for r in res["runs"]] == ["completed", "completed"]
    assert [r["summary"]["val_acc"] for r in res["runs"]] == [0.75, 0.75]


def test_thirty_thousand_untracked_files_refused_briefly_and_allowed_dirty(tmp_path):
    repo = make_repo(tmp_path / "r", 'command = "python train.py"\nseeds = 1\n',
                     {"train.py": "import json\nprint(json.dumps({'val_acc': 1.0}))\n"})
    junk = repo.path / "junk"
    junk.mkdir()
    for i in range(30_000):
        (junk / f"f{i}.txt").write_text("x")
    refused = repo.tw("run", check=False)
    assert refused.returncode == 2
    assert refused.stderr.count("untracked:") <= 20 and "and 29980 more" in refused.stderr
    res = repo.tw_json("run", "--allow-dirty")
    assert res["runs"][0]["status"] == "completed" and res["experiment"]["dirty"]


def test_a_worktree_leaves_no_record_in_git_whether_removed_or_deleted_under_it(tmp_path):
    import shutil

    from trialwise.provenance import resolve_ref
    from trialwise.provenance._git import Worktree

    repo = make_repo(tmp_path / "r", 'command = "python train.py"\n', {"train.py": "print(1)\n"})
    sha = resolve_ref(repo.path, "HEAD").sha
    with Worktree(repo.path, sha) as wt:  # removed by `git worktree remove` alone
        assert len(repo.git("worktree", "list").splitlines()) == 2
    assert not wt.path.exists() and len(repo.git("worktree", "list").splitlines()) == 1
    with Worktree(repo.path, sha) as wt:  # its directory deleted by someone else: the record is pruned
        shutil.rmtree(wt.path)
    assert len(repo.git("worktree", "list").splitlines()) == 1
    assert not wt.owner_file.exists()
