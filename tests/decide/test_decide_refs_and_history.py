"""Stale baselines named by remote branches, refusal advice for a committed metric change, the baseline
history across commits, and the gate's Markdown, on real runs in a temp git repository."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Repo
from tests.decide.test_decide_real_runs import branch


def test_a_moved_remote_tracking_branch_makes_the_baseline_stale(repo: Repo) -> None:
    # CI gates against origin/main: a remote-tracking ref, not a local branch
    repo.git("update-ref", "refs/remotes/origin/main", "HEAD")
    branch(repo, "feat/good", 0.03)
    base = repo.tw_json("run", "--ref", "origin/main", "--seeds", "3")["experiment"]
    assert base["branch"] is None and base["ref"] == "origin/main"
    repo.tw("run", "--ref", "feat/good", "--seeds", "3")
    fresh = repo.tw_json("compare", base["id"], "feat/good")
    assert not fresh["decisions"][0]["checks"]["stale"]
    repo.write("README", "docs")
    moved = repo.commit("main moves on")
    repo.git("update-ref", "refs/remotes/origin/main", moved)
    out = repo.tw_json("compare", base["id"], "feat/good")
    warnings = out["decisions"][0]["checks"]["warnings"]
    assert any("stale baseline" in w and f"origin/main is now at {moved[:8]}" in w for w in warnings), warnings
    assert repo.tw_json("compare", base["id"], "feat/good", "--strict", check=False)["verdict"] == "refused"


def test_committed_metric_change_says_rerunning_the_old_commit_does_not_help(repo: Repo) -> None:
    repo.tw("run", "--ref", "main", "--seeds", "3")
    repo.git("checkout", "--quiet", "-b", "feat/clean-val")
    repo.write("val.txt", "v2 cleaned")
    repo.commit("clean validation set")
    repo.git("checkout", "--quiet", "main")
    repo.tw("run", "--ref", "feat/clean-val", "--seeds", "3")
    proc = repo.tw("compare", "main", "feat/clean-val", check=False)
    text = " ".join(proc.stdout.split())
    assert proc.returncode == 2
    assert "val.txt is committed" in text and "baseline commit of its own" in text
    # the refusal is listed once, then the verdict line points at it
    assert text.count("Old numbers are not comparable") == 1 and "refused: no verdict (the reason above)" in text


def test_history_flags_an_external_factor_with_other_commits_in_between(repo: Repo) -> None:
    first = repo.tw_json("baseline", "--seeds", "3")[0]["ran"]["experiment"]
    # main moves, its baseline re-runs, then main goes back to the first commit's content
    repo.write("effect.txt", "0.01")
    repo.commit("main moves")
    repo.tw("baseline", "--seeds", "3")
    repo.git("reset", "--quiet", "--hard", first["commit_sha"])
    # an external factor: the git-ignored data changes, the commit does not
    repo.write("data/shift.txt", "0.05")
    repo.tw("baseline", "--seeds", "3")
    hist = repo.tw_json("baseline", "history")
    assert [h["commit"] for h in hist][::2] == [first["commit_sha"]] * 2
    assert [h["external_factor"] for h in hist] == [False, False, True], hist
    assert "external factor" in hist[2]["note"]


def test_gate_markdown_names_the_arms_and_the_direction(repo: Repo, tmp_path: Path) -> None:
    md = tmp_path / "summary.md"
    repo.git("checkout", "--quiet", "-b", "feat/good")
    repo.write("effect.txt", "0.03")
    repo.commit("good")
    proc = repo.tw("gate", "--against", "main", "--seeds", "3", "--markdown", str(md), check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = md.read_text()
    row = next(line for line in text.splitlines() if line.startswith("| ✅"))
    assert "val_acc (higher is better)" in row and "`main@" in row and "`feat/good@" in row and "(n=3)" in row


def test_a_git_ref_names_its_plain_run_not_a_later_override_or_sweep_trial(repo: Repo) -> None:
    branch(repo, "feat/good", 0.03)
    plain = repo.tw_json("run", "--seeds", "3")["experiment"]["id"]
    repo.tw("run", "--ref", "feat/good", "--seeds", "3")
    repo.tw("run", "--seeds", "2", "--set", "lr=0.5")  # newer, but a --set variant of main
    out = repo.tw_json("compare", "main", "feat/good")
    assert out["decisions"][0]["baseline"]["experiment"] == plain, out["decisions"][0]["baseline"]
