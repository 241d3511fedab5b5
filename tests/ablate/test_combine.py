"""Combination commits in a real temporary git repository: reproducible shas, refs, clean conflicts."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import Repo, git, make_repo
from trialwise import GitError, UsageError
from trialwise.ablate import build_combinations, combination_ref, full_factorial, one_at_a_time_plus_all

FILES = {"a.txt": "a = 1\n", "b.txt": "b = 1\n", "c.txt": "c = 1\n"}


def branch(repo: Repo, name: str, start: str, edits: dict[str, str]) -> str:
    repo.git("branch", name, start)
    repo.git("switch", "--quiet", name)
    for rel, text in edits.items():
        repo.write(rel, text)
    sha = repo.commit(f"change on {name}")
    repo.git("switch", "--quiet", "main")
    return sha


DATES = {"main": "1577836800 +0000", "feat/a": "1580515200 +0000", "feat/b": "1583020800 +0000",
         "feat/c": "1585699200 +0000"}
"""Fixed, distinct commit dates (2020-01-01 .. 2020-04-01) so a combination's date can be checked."""


def dated(monkeypatch: pytest.MonkeyPatch, when: str) -> None:
    monkeypatch.setenv("GIT_AUTHOR_DATE", when)
    monkeypatch.setenv("GIT_COMMITTER_DATE", when)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    dated(monkeypatch, DATES["main"])
    r = make_repo(tmp_path / "repo", "", FILES)
    r.root_sha = r.git("rev-parse", "HEAD").strip()  # type: ignore[attr-defined]
    for name, edits in (("feat/a", {"a.txt": "a = 2\n"}), ("feat/b", {"b.txt": "b = 2\n"}),
                        ("feat/c", {"a.txt": "a = 3\n"})):  # feat/c edits feat/a's line: they conflict
        dated(monkeypatch, DATES[name])
        branch(r, name, "main", edits)
    monkeypatch.delenv("GIT_AUTHOR_DATE")
    monkeypatch.delenv("GIT_COMMITTER_DATE")  # combinations must fix their dates themselves
    return r


def worktrees(repo: Repo) -> list[str]:
    return [line for line in repo.git("worktree", "list", "--porcelain").splitlines() if line.startswith("worktree ")]


def show(repo: Repo, sha: str, rel: str) -> str:
    return repo.git("show", f"{sha}:{rel}")


def test_full_factorial_combinations_build_and_are_reproducible(repo: Repo, tmp_path: Path) -> None:
    rows = full_factorial(2).rows
    head_before = repo.git("rev-parse", "HEAD")
    shas = build_combinations(repo.path, "main", ["feat/a", "feat/b"], rows)
    tip_a, tip_b = (repo.git("rev-parse", r).strip() for r in ("feat/a", "feat/b"))
    assert shas[(0, 0)] == repo.root_sha  # type: ignore[attr-defined]
    assert shas[(1, 0)] == tip_a  # the branch contains the base: fast-forward to its tip
    assert shas[(0, 1)] == tip_b
    both = shas[(1, 1)]
    assert repo.git("show", "-s", "--format=%P", both).split() == [tip_a, tip_b]
    assert show(repo, both, "a.txt") == "a = 2\n" and show(repo, both, "b.txt") == "b = 2\n"
    assert repo.git("show", "-s", "--format=%an <%ae>", both).strip() == "trialwise <trialwise@localhost>"
    # dated by its parents (the later committer date), not by the clock
    assert repo.git("show", "-s", "--format=%at %ct", both).split() == [DATES["feat/b"].split()[0]] * 2
    # kept reachable under refs/trialwise/ablate/<hash>
    refs = repo.git("for-each-ref", "--format=%(refname) %(objectname)", "refs/trialwise/ablate/").split("\n")
    assert f"{combination_ref(repo.root_sha, [tip_a, tip_b])} {both}" in refs  # type: ignore[attr-defined]
    # the user's checkout is untouched and no worktree is left
    assert repo.git("rev-parse", "HEAD") == head_before
    assert repo.git("status", "--porcelain") == ""
    assert len(worktrees(repo)) == 1
    # same inputs, same shas: reused from the refs, rebuilt from scratch, and in another clone
    assert build_combinations(repo.path, "main", ["feat/a", "feat/b"], rows) == shas
    for ref in repo.git("for-each-ref", "--format=%(refname)", "refs/trialwise/").split():
        repo.git("update-ref", "-d", ref)
    assert build_combinations(repo.path, "main", ["feat/a", "feat/b"], rows, reuse=False) == shas
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", "--no-local", str(repo.path), str(clone)], check=True)
    again = build_combinations(clone, "origin/main", ["origin/feat/a", "origin/feat/b"], rows,
                               worktrees_dir=tmp_path / "wt")
    assert again == shas
    assert not any((tmp_path / "wt").iterdir())


def test_subsets_by_name_follow_the_change_order(repo: Repo) -> None:
    shas = build_combinations(repo.path, "main", ["feat/a", "feat/b"], [("feat/b", "feat/a"), ["feat/a"], ()])
    rows = build_combinations(repo.path, "main", ["feat/a", "feat/b"], [(1, 1)])
    assert shas[("feat/b", "feat/a")] == rows[(1, 1)]
    assert shas[("feat/a",)] == repo.git("rev-parse", "feat/a").strip()
    assert shas[()] == repo.git("rev-parse", "main").strip()


def test_singleton_is_a_merge_when_the_base_moved(repo: Repo) -> None:
    repo.write("c.txt", "c = 2\n")
    base = repo.commit("base moves on")
    shas = build_combinations(repo.path, "main", ["feat/a", "feat/b"], one_at_a_time_plus_all(2).rows)
    single = shas[(1, 0)]
    assert repo.git("show", "-s", "--format=%P", single).split() == [base, repo.git("rev-parse", "feat/a").strip()]
    assert show(repo, single, "c.txt") == "c = 2\n" and show(repo, single, "a.txt") == "a = 2\n"
    # the prefix of a bigger subset is the smaller subset's commit
    assert repo.git("show", "-s", "--format=%P", shas[(1, 1)]).split()[0] == single


def test_conflict_names_branches_and_files_and_leaves_nothing_behind(repo: Repo) -> None:
    with pytest.raises(GitError) as info:
        build_combinations(repo.path, "main", ["feat/a", "feat/c"], [(1, 0), (1, 1)])
    msg = str(info.value)
    assert "feat/c" in msg and "feat/a" in msg and "a.txt" in msg and "conflicts" in msg
    assert len(worktrees(repo)) == 1
    wt_dir = repo.path / ".trialwise" / "worktrees"
    assert not wt_dir.exists() or not any(wt_dir.iterdir())
    assert not (repo.path / ".git" / "MERGE_HEAD").exists()
    assert not (repo.path / ".git" / "worktrees").exists() or not any((repo.path / ".git" / "worktrees").iterdir())
    assert repo.git("status", "--porcelain") == ""
    # the non-conflicting pair still builds afterwards
    assert len(build_combinations(repo.path, "main", ["feat/a", "feat/b"], [(1, 1)])) == 1


def test_refuses_stacked_or_already_merged_branches_and_bad_subsets(repo: Repo) -> None:
    branch(repo, "feat/a2", "feat/a", {"c.txt": "c = 9\n"})
    with pytest.raises(UsageError, match="'feat/a2' contains change 'feat/a'"):
        build_combinations(repo.path, "main", ["feat/a", "feat/a2"], [(1, 1)])
    repo.git("merge", "--quiet", "--no-edit", "feat/b")
    with pytest.raises(UsageError, match="already contained in the base"):
        build_combinations(repo.path, "main", ["feat/a", "feat/b"], [(1, 1)])
    with pytest.raises(UsageError, match="not among the change refs"):
        build_combinations(repo.path, "main", ["feat/a"], [("feat/x",)])
    with pytest.raises(UsageError, match="0/1"):
        build_combinations(repo.path, "main", ["feat/a"], [(1, 1)])
    with pytest.raises(GitError, match="unknown git ref"):
        build_combinations(repo.path, "main", ["feat/nope"], [(1,)])
    git(repo.path, "status")  # still a healthy repository
