"""`trialwise check-invasive` (seed 001 #8) and `trialwise fidelity` (seed 001 #5) on real runs."""

from __future__ import annotations

import json

import pytest

from tests.ablate_cli.conftest import branch, change
from tests.conftest import Repo


def test_dry_run_catches_a_learning_rate_changed_for_both_backbones(repo: Repo) -> None:
    branch(repo, "feat/lr-both", {"hparams.json": {"lr": 0.2}})  # meant for x, alters y too (seed 001 #8)
    branch(repo, "feat/lr-x", {"hparams.json": {"lr": 0.1, "lr_x": 0.2}})  # scoped to x
    out = repo.tw_json("check-invasive", "--base", "main", "--change", "feat/lr-both", "--target-mode", "x",
                       check=False)
    assert out["verdict"] == "invasive" and out["exit_code"] == 1
    [invaded] = out["report"]["invaded"]
    assert invaded["mode"] == "y"
    assert invaded["diffs"] == [{"key": "lr", "kind": "changed", "old": 0.1, "new": 0.2}]
    assert out["report"]["target_diffs"][0]["key"] == "lr"
    runs = repo.store().runs()
    assert len(runs) == 4 and all(r.status == "completed" and r.summary == {} for r in runs)  # config only

    ok = repo.tw("check-invasive", "--base", "main", "--change", "feat/lr-x", "--target-mode", "x")
    text = " ".join(ok.stdout.split())
    assert ok.returncode == 0 and "non-invasive: no mode other than 'x' changes its resolved config" in text
    assert "│ x │ target │ lr │ 0.1 │ 0.2 │" in text and "│ y │ unchanged │" in text
    assert len(repo.store().runs()) == 6  # main's dry runs were reused

    bad = repo.tw("check-invasive", "--change", "feat/lr-x", "--target-mode", "z", check=False)
    assert bad.returncode == 2 and "unknown mode 'z' for --target-mode (known: x, y)" in " ".join(bad.stderr.split())


def test_run_catches_a_code_only_regression_of_another_mode(repo: Repo) -> None:
    # same resolved config for every mode, but the code change hurts backbone y: only --run sees it
    change(repo, "y-bug", -0.05, modes=["y"])
    change(repo, "x-only", +0.05, modes=["x"])
    out = repo.tw_json("check-invasive", "--change", "feat/y-bug", "--target-mode", "x", "--run", check=False)
    assert out["report"]["invaded"] == [] and out["report"]["unchanged_modes"] == ["x", "y"]  # the dry run saw nothing
    assert out["exit_code"] == 1 and out["verdict"] == "invasive" and out["regressed"] == ["y"]
    [decision] = out["decisions"]["decisions"]
    assert decision["label"] == "y" and decision["verdict"] == "regression"
    assert decision["baseline"]["seeds"] == [0, 1, 2]

    clean = repo.tw_json("check-invasive", "--change", "feat/x-only", "--target-mode", "x", "--run")
    assert clean["exit_code"] == 0 and clean["decisions"]["decisions"][0]["verdict"] == "no detectable difference"
    # one seed of the change cannot decide: exit 2, like the gate
    change(repo, "z", 0.0)
    few = repo.tw("check-invasive", "--change", "feat/z", "--target-mode", "x", "--run", "--seeds", "1", check=False)
    assert few.returncode == 2 and "cannot decide" in few.stdout and "at least 2" in few.stdout


FULL = {"c1": 0.030, "c2": 0.020, "c3": -0.012, "c4": -0.024}
FAST = {"c1": 0.030, "c2": -0.020, "c3": 0.012, "c4": -0.024}
"""Known effects of four changes in the full and the fast cycle: the fast cycle flips c2 and c3 (and
with them the sign of all four together: +0.014 in full, -0.002 in fast)."""


def test_fidelity_over_fast_and_full_ablations_with_known_agreement(repo: Repo) -> None:
    from scipy import stats

    proc = repo.tw("fidelity", check=False)
    assert proc.returncode == 2 and "no change is in the store with both profiles" in " ".join(proc.stderr.split())
    for name in FULL:
        change(repo, name, FULL[name], fast=FAST[name])
    refs = [f"feat/{n}" for n in FULL]
    fast = repo.tw_json("ablate", "--base", "main", *refs, "--design", "oat", "--profile", "fast", "--seeds", "2")
    assert fast["design"]["kind"] == "one at a time + all" and len(fast["cells"]) == 6
    assert any("cannot separate: every interaction" in n for n in fast["notes"])
    repo.tw("ablate", "--base", "main", *refs, "--design", "oat", "--profile", "full", "--seeds", "2")

    out = repo.tw_json("fidelity")
    report = out["report"]
    bundle = next(c["commit"] for c in fast["cells"] if len(c["subset"]) == 4)
    names = {f"feat/{n}": n for n in FULL} | {bundle[:8]: "all"}
    expected_full = FULL | {"all": sum(FULL.values())}
    expected_fast = FAST | {"all": sum(FAST.values())}
    got = {names[p["name"]]: p for p in report["pairs"]}
    assert set(got) == set(expected_full) and report["n_pairs"] == 5
    for n, p in got.items():
        assert p["full_effect"] == pytest.approx(expected_full[n], abs=1e-9)
        assert p["fast_effect"] == pytest.approx(expected_fast[n], abs=1e-9)
    assert sorted(names[n] for n in report["disagreeing"]) == ["all", "c2", "c3"]
    assert report["sign_agreement"] == pytest.approx(2 / 5)
    order = sorted(expected_full)
    tau = stats.kendalltau([expected_fast[n] for n in order], [expected_full[n] for n in order]).statistic
    assert report["kendall_tau"] == pytest.approx(tau)
    assert any("agree in sign for only 40%" in w for w in report["warnings"])
    assert report["median_speedup"] > 1  # the full profile trains 10 epochs, the fast one 1
    assert all(e["baseline_commit"] == repo.git("rev-parse", "main").strip() for e in out["entries"])
    text = repo.tw("fidelity").stdout
    assert "Kendall tau" in text and "over 5 change(s)" in text and "warning" in text
    assert json.dumps(out)  # plain JSON
