"""The Hugging Face ``TrialwiseCallback`` in a real ``Trainer`` training of a tiny BERT built from a
config (no hub download), under the real ``trialwise run --seeds 2``, then ``diagnose`` on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import make_repo

pytest.importorskip("transformers")
pytestmark = pytest.mark.slow
SCRIPTS = Path(__file__).parent / "scripts"

CONFIG = """
command = "python train.py"
[metric]
name = "eval_accuracy"
"""


def test_trainer_callback_under_trialwise_run_two_seeds_then_diagnose(tmp_path):
    repo = make_repo(tmp_path / "r", CONFIG, {"train.py": (SCRIPTS / "hf_digits.py").read_text()})
    res = repo.tw_json("run", "--seeds", "2", "--jobs", "2")
    assert [r["status"] for r in res["runs"]] == ["completed", "completed"], res["runs"]
    assert not res["warnings"], res["warnings"]
    show = repo.tw_json("show", res["experiment"]["id"])
    store = repo.store()
    for run in show["runs"]:
        seed = run["seed"]
        assert run["summary"]["init_seed"] == seed  # seeded by transformers.set_seed before the model was built
        params = store.params(run["id"])
        assert params["seed"] == seed  # TrainingArguments.seed (default 42) replaced by the run's seed
        assert params["learning_rate"] == 5e-3 and params["model.num_hidden_layers"] == 2
        series = show["series"][run["id"]]
        for name in ("loss", "grad_norm", "learning_rate", "eval_loss", "eval_accuracy", "probe/grad_norm_max"):
            assert series[name]["source"] == "api", (name, series.get(name))
        assert series["eval_accuracy"]["points"] == 3 and series["loss"]["points"] == 10
        # the end-of-training figures are the summary, not one-point api series (the Trainer also prints them)
        assert series.get("train_runtime", {}).get("source") != "api" and series.get("train_loss", {}).get("source") != "api"
        assert run["summary"]["train_runtime"] > 0 and run["summary"]["train_loss"] > 0
        assert 0 < run["summary"]["eval_accuracy"] <= 1
    loss_steps, _ = store.series(show["runs"][0]["id"])["loss"]
    assert loss_steps == list(range(3, 31, 3))  # state.global_step: logging_steps=3 over 30 steps
    eval_steps, _ = store.series(show["runs"][0]["id"])["eval_accuracy"]
    assert eval_steps == [10, 20, 30]
    probe_steps, _ = store.series(show["runs"][0]["id"])["probe/grad_norm_max"]
    assert probe_steps[:3] == [0, 3, 6]
    first = [store.series(r["id"])["loss"][1][0] for r in show["runs"]]
    assert first[0] != first[1]  # the seeds differ

    d = repo.tw_json("diagnose", res["experiment"]["id"])["diagnosis"]
    assert {k: d["roles"][k] for k in ("train_loss", "val_loss", "val_acc", "lr", "grad_norm", "epoch")} == {
        "train_loss": "loss", "val_loss": "eval_loss", "val_acc": "eval_accuracy", "lr": "learning_rate",
        "grad_norm": "grad_norm", "epoch": "epoch"}
    assert "exploding-gradients" in d["checked"] and "vanishing-gradients" in d["checked"]  # grad_norm and probes
