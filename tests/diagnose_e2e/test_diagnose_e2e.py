"""diagnose, doctor, biasvar and datasize end to end: real tiny PyTorch trainings (``buggy_train.py``)
run by the real CLI from a commit of a temporary git repository.

One module-scoped repository runs every bug once (2 seeds each); the tests then read the store
through ``trialwise diagnose --json`` and friends.  Nothing is mocked: the curves and probes are what
``tw.log`` and ``tw.watch`` recorded.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Repo, make_repo

pytest.importorskip("torch")
pytest.importorskip("sklearn")

PY = sys.executable
TRAINER = Path(__file__).with_name("buggy_train.py")
SEEDS = 2

CONFIG = f"""
command = "{PY} buggy_train.py"
seeds = {SEEDS}
jobs = 2

[metric]
name = "val_acc"

[profiles.fast]
args = ["--epochs", "3"]
"""

CASES: dict[str, tuple[dict[str, Any], str | None, str | None]] = {
    # name: (--set overrides, the code that must come first, its first cause)
    "healthy": ({}, None, None),
    "lr_high": ({"lr": 1.0}, "dead-units", "lr-too-high"),          # SGD lr 1.0: the ReLUs die, accuracy at chance
    "lr_low": ({"lr": 0.0001}, "chance-level", "lr-too-low"),
    "random_labels": ({"random_labels": 1}, "chance-level", None),   # too few epochs to memorise: at chance
    "sorted": ({"sorted": 1}, "catastrophic-forgetting", "sequential-data"),
    "leak": ({"leak": 1}, "data-leakage", "answer-encoded"),
    "dead_relu": ({"dead_relu": 1}, "dead-units", "bad-init"),
    "vanishing": ({"deep_sigmoid": 1}, "vanishing-gradients", "saturating-activations"),
    "exploding": ({"accumulate_grads": 1}, "exploding-gradients", None),
    "adam_lr_high": ({"opt": "adam", "lr": 1.0}, "dead-units", "lr-too-high"),  # the first steps kill the ReLUs
    "overfit": ({"data_fraction": 0.05, "epochs": 40}, "overfitting", "too-little-data"),  # ~70 examples memorised
}


def _sets(overrides: dict[str, Any]) -> list[str]:
    return [a for k, v in overrides.items() for a in ("--set", f"{k}={v}")]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> tuple[Repo, dict[str, str]]:
    repo = make_repo(tmp_path_factory.mktemp("diag") / "repo", CONFIG,
                     {"buggy_train.py": TRAINER.read_text(encoding="utf-8")})
    exps = {}
    for name, (overrides, _, _) in CASES.items():
        out = repo.tw_json("run", *_sets(overrides))
        assert all(r["status"] == "completed" for r in out["runs"]), (name, out["runs"])
        exps[name] = out["experiment"]["id"]
    return repo, exps


def _diagnose(repo: Repo, exp: str) -> dict[str, Any]:
    out = repo.tw_json("diagnose", exp)
    assert out["seeds"] == list(range(SEEDS))
    return out["diagnosis"]


def test_an_early_loss_spike_blames_the_learning_rate_not_the_initialisation(lab):
    repo, exps = lab
    d = _diagnose(repo, exps["adam_lr_high"])
    by_code = {f["code"]: f for f in d["findings"]}
    assert by_code["chance-level"]["causes"][0]["id"] == "lr-too-high"
    assert "initial-loss" not in by_code  # the loss before the first update was ln C


def test_healthy_training_raises_no_finding(lab):
    repo, exps = lab
    d = _diagnose(repo, exps["healthy"])
    assert d["findings"] == [], [f["code"] for f in d["findings"]]
    assert "exploding-gradients" in d["checked"] and "dead-units" in d["checked"]  # the probes were there
    text = repo.tw("diagnose", exps["healthy"]).stdout
    assert "nothing found" in text


@pytest.mark.parametrize("case", [c for c, (_, code, _) in CASES.items() if code is not None])
def test_each_bug_is_named_first(lab, case):
    repo, exps = lab
    _, code, cause = CASES[case]
    d = _diagnose(repo, exps[case])
    codes = [f["code"] for f in d["findings"]]
    assert codes and codes[0] == code, codes
    top = d["findings"][0]
    assert top["explained_by"] is None
    assert 1 <= len(top["seeds_affected"]) <= SEEDS and top["n_seeds"] == SEEDS
    assert top["evidence"][0].startswith(f"seen in {len(top['seeds_affected'])} of {SEEDS} seeds")
    if cause is not None:
        assert top["causes"][0]["id"] == cause, [c["id"] for c in top["causes"]]


def test_human_output_lists_findings_by_severity_with_causes(lab):
    repo, exps = lab
    text = repo.tw("diagnose", exps["vanishing"]).stdout
    assert "vanishing-gradients" in text and "seen in" in text and "cause 1:" in text and "next:" in text
    assert text.index("vanishing-gradients") < text.index("chance-level")


def test_a_single_run_can_be_diagnosed(lab):
    repo, exps = lab
    run_id = repo.tw_json("show", exps["sorted"])["runs"][0]["id"]
    d = repo.tw_json("diagnose", run_id)
    assert d["single_run"] and d["run_ids"] == [run_id]
    assert d["diagnosis"]["findings"][0]["code"] == "catastrophic-forgetting"


def test_unknown_target_is_a_clear_error(lab):
    repo, _ = lab
    proc = repo.tw("diagnose", "no-such-thing", check=False)
    assert proc.returncode == 2
    assert "no-such-thing" in proc.stderr and "trialwise ls" in proc.stderr


def test_doctor_plans_then_confirms_the_learning_rate(lab):
    repo, exps = lab
    plan = repo.tw_json("doctor", exps["lr_high"], "--findings", "1", "--causes", "1")
    assert plan["results"] == []
    assert [(h["cause_id"], h["param"], h["value"], h["runnable"]) for h in plan["plan"]] == \
        [("lr-too-high", "lr", 0.1, True)]
    out = repo.tw_json("doctor", exps["lr_high"], "--confirm", "--findings", "1", "--causes", "1")
    assert out["baseline_id"] == exps["lr_high"]            # same seeds, same profile: reused, not re-run
    (res,) = out["results"]
    assert res["verdict"] == "confirmed", res["sentence"]
    assert res["decision"]["verdict"] == "progression"
    assert res["symptom_seeds"] == [0, SEEDS]               # the dead units are gone with lr / 10
    assert "the data confirmed" in out["summary"] and "lr x 0.1" in out["summary"]
    text = repo.tw("doctor", exps["lr_high"], "--confirm", "--findings", "1", "--causes", "1").stdout  # all reused
    assert "confirmed lr-too-high" in text and "the data confirmed" in text


def test_biasvar_from_numbers_and_from_a_run(lab):
    repo, exps = lab
    r = repo.tw_json("biasvar", "--goal", "1", "--train", "20", "--val", "27", "--test", "28")
    comps = {c["name"]: round(c["value"], 4) for c in r["components"]}
    assert comps == {"irreducible": 0.01, "bias": 0.19, "variance": 0.07, "val_overfitting": 0.01}
    assert [s["key"] for s in r["plan"] if s["applies"]] == ["underfitting", "overfitting"]
    stored = repo.tw_json("biasvar", "--run", exps["healthy"], "--goal", "1")
    store = repo.store()
    runs = store.runs(exps["healthy"])
    val_err = sorted(1 - store.series(run.id)["val_acc"][1][-1] for run in runs)
    assert sorted(stored["errors"]["val"]) == pytest.approx(val_err)
    rep = stored["report"]
    assert rep["goal"] == pytest.approx(0.01)
    assert rep["val"] == pytest.approx(sum(val_err) / len(val_err))
    assert rep["plan"][0]["key"] == "underfitting"
    text = repo.tw("biasvar", "--run", exps["healthy"], "--goal", "1").stdout
    assert "bias-variance of" in text and "Address underfitting" in text
    proc = repo.tw("biasvar", "--run", exps["healthy"], "--train", "3", check=False)
    assert proc.returncode == 2 and "either --run or the errors" in proc.stderr
    proc = repo.tw("biasvar", "--run", exps["healthy"], check=False)      # no --goal, no metric.goal
    assert proc.returncode == 2 and "metric.goal" in proc.stderr


def test_datasize_fits_a_learning_curve_over_fractions(lab):
    repo, _ = lab
    out = repo.tw_json("datasize", "--fractions", "0.1,0.3,1", "--profile", "fast", "--goal", "0.99",
                       "--pac-vc", "3", "--pac-epsilon", "0.1")
    lc = out["learning_curve"]
    assert lc["size_unit"] == "examples"
    by_fraction: dict[float, list[dict[str, Any]]] = {}
    for p in lc["points"]:
        by_fraction.setdefault(p["fraction"], []).append(p)
    assert sorted(by_fraction) == [0.1, 0.3, 1.0] and all(len(v) == SEEDS for v in by_fraction.values())
    assert by_fraction[1.0][0]["n"] == 1397                  # reported by the script with tw.config(n_train=...)
    mean = {f: sum(p["error"] for p in v) / len(v) for f, v in by_fraction.items()}
    assert mean[0.1] > mean[1.0]                             # more data, less error
    fit = lc["fit"]
    assert fit["resampling"] == "seeds" and fit["b"] < 0
    assert lc["estimate"]["goal"] == pytest.approx(0.01) and lc["estimate"]["caveats"]
    assert out["heuristics"]["per_class_rule"] == 10_000
    assert out["pac"][0]["m"] == 1899
    text = repo.tw("datasize", "--fractions", "0.1,0.3,1", "--profile", "fast", "--goal", "0.99").stdout  # reused
    assert "learning curve" in text and "fit: error" in text and "goal error" in text
    proc = repo.tw("datasize", "--fractions", "0.5,1", check=False)
    assert proc.returncode == 2 and "at least 3" in proc.stderr


NAMES_SCRIPT = """
import json, math
for step in range(60):
    loss = 2.3 * 0.97 ** step if step < 40 else float("nan")
    print(json.dumps({"step": step, "objective": loss}))
"""


def test_series_mapping_from_config(tmp_path):
    config = f'command = "{PY} names.py"\nseeds = 2\n[metric]\nname = "objective"\ndirection = "min"\n'
    plain = make_repo(tmp_path / "plain", config, {"names.py": NAMES_SCRIPT})
    exp = plain.tw_json("run")["experiment"]["id"]
    assert plain.tw_json("diagnose", exp)["diagnosis"]["findings"] == []     # 'objective' is no known name
    mapped = make_repo(tmp_path / "mapped", config + '[diagnose.series]\ntrain_loss = "objective"\n',
                       {"names.py": NAMES_SCRIPT})
    exp = mapped.tw_json("run")["experiment"]["id"]
    d = mapped.tw_json("diagnose", exp)["diagnosis"]
    assert d["roles"]["train_loss"] == "objective"
    assert d["findings"][0]["code"] == "loss-divergence"
    assert "non-finite" in d["findings"][0]["evidence"][1]
    shutil.rmtree(tmp_path / "plain" / ".trialwise", ignore_errors=True)


def test_the_number_of_classes_given_on_the_command_line_sets_the_chance_level(lab):
    """The notes tell the user to pass --num-classes when nothing states C: diagnose takes it."""
    import json

    repo, exps = lab
    default = json.dumps(_diagnose(repo, exps["lr_low"]))
    given = json.dumps(repo.tw_json("diagnose", exps["lr_low"], "--num-classes", "9")["diagnosis"])
    assert "chance is 0.100" in default and "chance is 0.111" in given
    refused = repo.tw("diagnose", exps["lr_low"], "--num-classes", "1", check=False)
    assert refused.returncode == 2 and "num-classes" in refused.stdout + refused.stderr
