"""compare / baseline / gate on real runs in a temp git repository.

The training script's metric is a known effect (from a committed file) plus seeded noise, so each
verdict is known in advance.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import Repo

PY = sys.executable

TRAIN = """
import os, random
import trialwise as tw
tw.init()
seed = int(os.environ["TRIALWISE_SEED"])  # not tw.seed_everything(): importing torch costs seconds per run
effect = float(open("effect.txt").read())
extra = float(open("data/shift.txt").read()) if os.path.exists("data/shift.txt") else 0.0
noise = random.Random(seed * 7919 + 1).gauss(0, 0.01)
tw.log({"val_acc": 0.80 + effect + extra + noise, "val_loss": 0.5 - effect + noise}, step=1)
"""


def config(max_age: float = 7.0) -> str:
    return f"""
command = "{PY} train.py"
seeds = 5
[metric]
name = "val_acc"
version_files = ["val.txt"]
[baseline]
ref = "main"
max_age_days = {max_age}
"""


def branch(repo: Repo, name: str, effect: float, base: str = "main") -> None:
    repo.git("checkout", "--quiet", "-b", name, base)
    repo.write("effect.txt", str(effect))
    repo.commit(f"effect {effect}")
    repo.git("checkout", "--quiet", "main")


def test_compare_progression_regression_and_min_orientation(repo: Repo) -> None:
    branch(repo, "feat/good", 0.03)
    branch(repo, "feat/bad", -0.03)
    for ref in ("main", "feat/good", "feat/bad"):
        repo.tw("run", "--ref", ref)
    good = repo.tw_json("compare", "main", "feat/good")
    assert good["verdict"] == "progression", good
    bad = repo.tw_json("compare", "main", "feat/bad")
    assert bad["verdict"] == "regression"
    # val_loss falls when the effect is positive: minimised, so still a progression
    loss = repo.tw_json("compare", "main", "feat/good", "--metric", "val_loss", "--metric", "val_acc")
    assert [d["verdict"] for d in loss["decisions"]] == ["progression", "progression"]
    assert loss["correction"] == "holm"
    # an explicit direction wins over the name: val_loss:max reads the same drop as a regression
    flipped = repo.tw_json("compare", "main", "feat/good", "--metric", "val_loss:max")
    assert flipped["decisions"][0]["direction"] == "max" and flipped["verdict"] == "regression"
    one_sided = repo.tw_json("compare", "main", "feat/bad", "--alternative", "greater")
    assert one_sided["verdict"] == "no detectable difference"
    text = repo.tw("compare", "main", "feat/good").stdout
    assert "progression" in text and "Hedges" in text


def test_metric_version_change_refuses_naming_the_file(repo: Repo) -> None:
    repo.tw("run", "--ref", "main")
    repo.git("checkout", "--quiet", "-b", "feat/clean-val")
    repo.write("val.txt", "v2 cleaned")
    repo.write("effect.txt", "0.05")
    repo.commit("clean validation set")
    repo.git("checkout", "--quiet", "main")
    repo.tw("run", "--ref", "feat/clean-val")
    proc = repo.tw("compare", "main", "feat/clean-val", check=False)
    assert proc.returncode == 2
    assert "val.txt" in proc.stdout and "re-run the baseline" in proc.stdout
    out = repo.tw_json("compare", "main", "feat/clean-val", check=False)
    assert out["verdict"] == "refused" and out["decisions"][0]["checks"]["changed_metric_files"] == ["val.txt"]


def test_single_seed_and_dirty_runs_refuse(repo: Repo) -> None:
    branch(repo, "feat/good", 0.03)
    repo.tw("run", "--ref", "main", "--seeds", "1")
    repo.tw("run", "--ref", "feat/good")
    out = repo.tw_json("compare", "main", "feat/good", check=False)
    assert out["verdict"] == "refused"
    assert "at least 2" in out["decisions"][0]["sentence"]
    repo.write("effect.txt", "0.2")
    repo.tw("run", "--allow-dirty")
    dirty_exp = repo.tw_json("ls")[-1]["experiment"]["id"]
    out = repo.tw_json("compare", "feat/good", dirty_exp, check=False)
    assert out["verdict"] == "refused" and "uncommitted" in out["decisions"][0]["sentence"]


def test_stale_baseline_and_environment_difference_warn(repo: Repo, tmp_path: Path) -> None:
    branch(repo, "feat/good", 0.03)
    repo.tw("run", "--ref", "main")
    base_exp = repo.tw_json("ls")[0]["experiment"]["id"]
    # main moves on: the stored baseline is stale
    repo.write("README", "docs")
    repo.commit("docs on main")
    # the candidate runs in another environment: one more installed distribution
    extra = tmp_path / "site"
    info = extra / "fakeplugin-1.2.3.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fakeplugin\nVersion: 1.2.3\n")
    env = {**os.environ, "PYTHONPATH": str(extra)}
    subprocess.run([PY, "-m", "trialwise", "run", "--ref", "feat/good"], cwd=repo.path, env=env, check=True, capture_output=True)
    out = repo.tw_json("compare", base_exp, "feat/good")
    checks = out["decisions"][0]["checks"]
    assert any("stale baseline" in w and "main is now at" in w for w in checks["warnings"])
    assert ["package fakeplugin", None, "1.2.3"] in checks["env_diff"]
    assert out["verdict"] == "progression"
    strict = repo.tw_json("compare", base_exp, "feat/good", "--strict", check=False)
    assert strict["verdict"] == "refused"


def test_baseline_if_stale_and_history_flags_external_factor(repo: Repo) -> None:
    first = repo.tw_json("baseline")
    assert first[0]["stale"] and first[0]["ran"]["runs"]
    fresh = repo.tw_json("baseline", "--if-stale")
    assert fresh[0]["stale"] is False and fresh[0]["ran"] is None
    # an external factor: the git-ignored data changes, the commit does not
    repo.write("data/shift.txt", "0.05")
    again = repo.tw_json("baseline")
    assert again[0]["ran"]["experiment"]["commit_sha"] == first[0]["ran"]["experiment"]["commit_sha"]
    hist = repo.tw_json("baseline", "history")
    assert len(hist) == 2 and not hist[0]["external_factor"] and hist[1]["external_factor"]
    assert "external factor" in hist[1]["note"]
    repo.write("effect.txt", "0.01")
    repo.commit("main moves")
    moved = repo.tw_json("baseline", "--if-stale")
    assert moved[0]["stale"] and any("moved" in r for r in moved[0]["reasons"])


def test_gate_exit_codes(repo: Repo, tmp_path: Path) -> None:
    md = tmp_path / "summary.md"
    # 0: a progression, required non-regression
    repo.git("checkout", "--quiet", "-b", "feat/good")
    repo.write("effect.txt", "0.03")
    repo.commit("good")
    ok = repo.tw("gate", "--against", "main", "--markdown", str(md), check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "trialwise gate: passed" in md.read_text()
    # 1: a regression
    repo.git("checkout", "--quiet", "-b", "feat/bad", "main")
    repo.write("effect.txt", "-0.03")
    repo.commit("bad")
    bad = repo.tw("gate", "--against", "main", "--json", check=False)
    assert bad.returncode == 1 and json.loads(bad.stdout)["verdict"] == "regression"
    # 1: no progression when one is required
    repo.git("checkout", "--quiet", "-b", "feat/same", "main")
    repo.write("other.txt", "no effect")
    repo.commit("neutral")
    same = repo.tw("gate", "--against", "main", "--require", "progression", check=False)
    assert same.returncode == 1
    # 2: the metric version changed
    repo.git("checkout", "--quiet", "-b", "feat/newval", "main")
    repo.write("val.txt", "v2")
    repo.commit("new validation data")
    undecided = repo.tw("gate", "--against", "main", check=False)
    assert undecided.returncode == 2 and "metric changed" in undecided.stdout
    # 2: a dirty working tree cannot be gated
    repo.write("effect.txt", "0.5")
    dirty = repo.tw("gate", "--against", "main", check=False)
    assert dirty.returncode == 2 and "dirty" in dirty.stdout
