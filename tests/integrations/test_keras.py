"""The Keras 3 ``TrialwiseCallback`` in a real ``model.fit`` on digits (PyTorch backend) under the real
``trialwise run --seeds 2``, then ``diagnose`` on it.  Skipped where Keras is not installed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import make_repo

os.environ.setdefault("KERAS_BACKEND", "torch")
pytest.importorskip("keras", minversion="3")
pytestmark = pytest.mark.slow
SCRIPTS = Path(__file__).parent / "scripts"

CONFIG = """
command = "python train.py"
[metric]
name = "val_accuracy"
"""


def test_keras_callback_under_trialwise_run_two_seeds_then_diagnose(tmp_path):
    repo = make_repo(tmp_path / "r", CONFIG, {"train.py": (SCRIPTS / "keras_digits.py").read_text()})
    res = repo.tw_json("run", "--seeds", "2", "--jobs", "2", env={"KERAS_BACKEND": "torch"})
    assert [r["status"] for r in res["runs"]] == ["completed", "completed"], res["runs"]
    assert not res["warnings"], res["warnings"]
    show = repo.tw_json("show", res["experiment"]["id"])
    store = repo.store()
    for run in show["runs"]:
        assert run["summary"]["init_seed"] == run["seed"]  # keras.utils.set_random_seed before the model
        series = show["series"][run["id"]]
        for name in ("batch/loss", "batch/accuracy", "loss", "accuracy", "val_loss", "val_accuracy", "epoch"):
            assert series[name]["source"] == "api", (name, series.get(name))
        assert series["val_accuracy"]["points"] == 3
        assert 0.5 < run["summary"]["val_accuracy"] <= 1
        params = store.params(run["id"])
        assert params["optimizer.learning_rate"] == pytest.approx(0.1) and params["fit.epochs"] == 3
        assert params["model.name"] and isinstance(params["model.layers"], list)
    points = store.series(show["runs"][0]["id"])
    assert points["val_accuracy"][0] == [22, 44, 66]  # the global batch count: 22 batches an epoch
    assert points["batch/loss"][0][:3] == [5, 10, 15]  # every 5 batches
    assert points["epoch"][1] == [0, 1, 2]
    losses = [store.series(r["id"])["batch/loss"][1] for r in show["runs"]]
    assert losses[0] != losses[1]  # the seeds vary (two seeds may still end at the same accuracy on 397 examples)

    d = repo.tw_json("diagnose", res["experiment"]["id"])["diagnosis"]
    assert {k: d["roles"].get(k) for k in ("train_loss", "train_acc_step", "train_acc", "val_loss", "val_acc")} == {
        "train_loss": "batch/loss", "train_acc_step": "batch/accuracy", "train_acc": "accuracy",
        "val_loss": "val_loss", "val_acc": "val_accuracy"}
    assert "overfitting" in d["checked"] and "loss-oscillation" in d["checked"]
