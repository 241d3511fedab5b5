"""`trialwise ablate` on real runs: regression shadowing (seed 001 #3), reuse, bad input, designs."""

from __future__ import annotations

import pytest

from tests.ablate_cli.conftest import TRAIN, branch, change
from tests.conftest import Repo


def test_ablate_flags_a_regression_shadowed_by_a_bigger_improvement(repo: Repo) -> None:
    change(repo, "a", -0.01)  # a slight regression
    change(repo, "b", +0.04)  # a larger improvement: A+B still looks like a progression
    out = repo.tw_json("ablate", "--base", "main", "feat/a", "feat/b")
    assert out["design"]["kind"] == "full factorial" and len(out["cells"]) == 4
    cells = {c["label"]: c for c in out["cells"]}
    bundle = out["analysis"]["cells"][3]
    assert bundle["subset"] == ["feat/a", "feat/b"] and bundle["vs_base"]["ci_low"] > 0  # the bundle improves
    assert cells["feat/a+feat/b"]["verdict"] == "progression"
    assert cells["feat/a"]["verdict"] in ("regression", "likely regression")
    assert [f["change"] for f in out["shadowing"]["flags"]] == ["feat/a"]
    assert out["subset"]["subset"] == ["feat/b"]
    assert [name for name, _ in out["subset"]["excluded"]] == ["feat/a"]
    main_a = next(e for e in out["analysis"]["effects"] if e["factors"] == ["feat/a"] and e["kind"] == "main")
    assert abs(main_a["estimate"] + 0.01) < 1e-9 and main_a["ci_high"] < 0  # effects with CIs
    interaction = next(e for e in out["analysis"]["effects"] if e["kind"] == "interaction")
    assert interaction["ci_low"] < 0 < interaction["ci_high"]  # the effects are additive
    # the singletons are the branch tips themselves; the bundle is a merge commit
    assert cells["feat/a"]["commit"] == repo.git("rev-parse", "feat/a").strip()
    assert cells["base"]["commit"] == repo.git("rev-parse", "main").strip()

    # a second ablation reuses every stored seed and prints the tables
    text = repo.tw("ablate", "--base", "main", "feat/a", "feat/b").stdout
    assert "regression shadowed by feat/a+feat/b" in text and "Merge: feat/b." in text
    assert text.count("3/3") >= 4  # reused column: 3 of 3 seeds reused per cell
    runs = repo.store().runs()
    assert len(runs) == 12  # 4 cells x 3 seeds, nothing re-run


def test_ablate_without_shadowing_recommends_both(repo: Repo) -> None:
    change(repo, "a", +0.02)
    change(repo, "b", +0.03)
    out = repo.tw_json("ablate", "--base", "main", "feat/a", "feat/b", "--seeds", "2")
    assert out["shadowing"]["flags"] == []
    assert out["subset"]["subset"] == ["feat/a", "feat/b"]


def test_recommendation_agrees_with_the_table_when_the_bundle_is_noisy(repo: Repo) -> None:
    """The issue's run: feat/a alone is a progression, feat/b adds seed-to-seed noise (and a little mean), so
    feat/a+feat/b has the best mean but an interval that crosses 0. The old rule compared the base with that
    noisy best, found them indistinguishable and printed "Merge: nothing" beside feat/a's progression."""
    change(repo, "a", +0.03)
    noisy = "noise = random.Random(seed * 7919 + 1).gauss(0, 0.005)"
    assert noisy in TRAIN
    branch(repo, "feat/b", {"train.py": TRAIN.replace(noisy, noisy + " + [0.10, -0.06, 0.02][seed % 3]")})
    out = repo.tw_json("ablate", "--base", "main", "feat/a", "feat/b")
    cells = {c["label"]: c for c in out["cells"]}
    assert cells["feat/a"]["verdict"] == "progression"
    assert cells["feat/a+feat/b"]["verdict"] != "progression"  # a higher mean, but the CI crosses 0
    rec = out["subset"]
    assert rec["subset"] == ["feat/a"] and rec["candidates"] == [["feat/a"]]
    assert rec["vs_base"]["ci_low"] > 0 and "CI against the base lies above 0" in rec["rule"]
    text = " ".join(repo.tw("ablate", "--base", "main", "feat/a", "feat/b").stdout.split())
    assert "Merge: feat/a." in text and "Rule: a change whose own effect" in text
    assert "Left out feat/b: no combination with it is above the base" in text


def test_merge_conflict_unknown_branch_and_unknown_mode_are_clear_errors(repo: Repo) -> None:
    change(repo, "a", -0.01)
    branch(repo, "feat/c", {"changes/a.json": {"effect": 0.05}})  # edits feat/a's file: they conflict
    proc = repo.tw("ablate", "--base", "main", "feat/a", "feat/c", check=False)
    assert proc.returncode == 2
    message = " ".join(proc.stderr.split())  # Rich wraps long lines
    assert "Merging 'feat/c' onto the base + feat/a conflicts in: changes/a.json" in message
    assert "rebase one branch onto the other" in message
    assert not repo.store().runs()  # nothing ran: the combinations are built first
    worktrees = [w for w in repo.git("worktree", "list").splitlines()]
    assert len(worktrees) == 1  # no scratch worktree left behind

    proc = repo.tw("ablate", "--base", "main", "feat/a", "feat/nope", check=False)
    assert proc.returncode == 2 and "unknown git ref 'feat/nope'" in proc.stderr
    out = repo.tw_json("ablate", "--base", "main", "feat/a", "--mode", "z", check=False)
    assert out["error"] == "UsageError" and "unknown mode 'z'" in out["message"] and "known: x, y" in out["message"]


def test_more_than_four_changes_get_a_cheaper_design_that_says_what_it_cannot_estimate() -> None:
    from trialwise import UsageError
    from trialwise.ablate import choose_design

    design, rec, notes = choose_design(6)
    assert design.kind == "fractional factorial" and design.n_cells < 2**6
    assert any("instead of the full factorial (64 cells)" in n for n in notes)
    assert any("cannot separate: a change's effect on its own at the base" in n for n in notes)
    full, _, notes = choose_design(6, "full")
    assert full.n_cells == 64 and any(f"the cheaper {rec.design.name}" in n for n in notes)
    assert choose_design(3)[0].n_cells == 8 and choose_design(3, "oat")[0].n_cells == 5
    with pytest.raises(UsageError, match="--design fractional needs 4 to 8 changes"):
        choose_design(2, "fractional")
    with pytest.raises(UsageError, match="--design must be one of auto, full, oat, fractional"):
        choose_design(2, "latin")
