"""Public-style training scripts, unchanged, through the real CLI with the real frameworks.

``scripts/`` holds a ``LightningCLI`` script with Lightning's default logger, a Hugging Face
``Trainer`` script (a tiny BERT from a config, no hub) with default logging, and a plain argparse
PyTorch script with ``--seed`` default 1.  None of them knows trialwise; ``trialwise init`` writes
the configuration.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import pytest

from tests.conftest import make_repo

pytestmark = pytest.mark.slow
SCRIPTS = Path(__file__).parent / "scripts"


def _repo(tmp_path: Path, script: str):
    repo = make_repo(tmp_path / "r", "", {"train.py": (SCRIPTS / script).read_text()})
    (repo.path / "trialwise.toml").unlink()
    repo.commit("only the script")
    return repo


def _init(repo, *extra: str) -> dict:
    repo.tw("init", "--force", *extra)
    repo.commit("trialwise init")
    return tomllib.loads((repo.path / "trialwise.toml").read_text())


def _finals(show: dict, metric: str) -> list[float]:
    return [r["summary"].get(metric, math.nan) for r in show["runs"]]


LIGHTNING_ARGS = ("--trainer.max_epochs 3 --trainer.enable_progress_bar false --trainer.log_every_n_steps 5 "
                  "--trainer.enable_model_summary false")


def test_lightning_cli_default_logger_seeds_through_seed_everything(tmp_path):
    repo = _repo(tmp_path, "lightning_cli.py")
    repo.tw("init", "--force")
    config = tomllib.loads((repo.path / "trialwise.toml").read_text())
    assert config["command"] == "python train.py fit"
    assert config["params"]["seed"] == "--seed_everything {value}" and config["metric"]["name"] == "val_acc"
    text = (repo.path / "trialwise.toml").read_text().replace('"python train.py fit"', f'"python train.py fit {LIGHTNING_ARGS}"')
    repo.write("trialwise.toml", text)
    repo.commit("init")
    res = repo.tw_json("run", "--seeds", "2", "--jobs", "2")
    assert not res["warnings"], res["warnings"]
    finals = _finals(res, "val_acc")
    assert all(0.1 < v <= 1 for v in finals) and finals[0] != finals[1]  # captured, and the seeds vary
    show = repo.tw_json("show", res["experiment"]["id"])
    for run in res["runs"]:
        series = show["series"][run["id"]]
        assert series["val_acc"] == {"source": "tensorboard", "points": 3}
        assert "hp_metric" not in series
        kept = [p for p, _ in show["outputs"][run["id"]]["kept"]]
        assert any(p.startswith("lightning_logs/version_0/checkpoints/") for p in kept)  # own dir: version_0 each
    repo.git("checkout", "--quiet", "-b", "feat/lr")
    repo.write("trialwise.toml", text.replace("fit --trainer", "fit --model.lr 0.3 --trainer"))
    repo.commit("higher lr")
    repo.git("checkout", "--quiet", "main")
    repo.tw("run", "--ref", "feat/lr", "--seeds", "2", "--jobs", "2")
    decision = repo.tw_json("compare", "main", "feat/lr", check=False)["decisions"][0]
    assert decision["verdict"] in ("progression", "regression", "no detectable difference"), decision["sentence"]
    assert decision["checks"]["launch_diff"][0][0] == "command"
    diagnosis = repo.tw("diagnose", "main")
    assert "val_acc" in diagnosis.stdout or "diagnos" in diagnosis.stdout.lower()


HF_ARGS = ("--num_train_epochs 2 --eval_strategy epoch --logging_steps 5 --per_device_train_batch_size 64 "
           "--learning_rate 2e-3 --save_strategy no")


def test_hf_trainer_default_logging_is_captured(tmp_path):
    repo = _repo(tmp_path, "hf_trainer.py")
    repo.tw("init", "--force")
    config = tomllib.loads((repo.path / "trialwise.toml").read_text())
    assert config["params"]["seed"] == "--seed {value}" and config["metric"]["name"] == "eval_accuracy"
    assert "$TRIALWISE_RUN_DIR" in config["command"]
    text = (repo.path / "trialwise.toml").read_text().replace("hf_output\"", f"hf_output {HF_ARGS}\"")
    repo.write("trialwise.toml", text)
    repo.commit("init")
    res = repo.tw_json("run", "--seeds", "2", "--jobs", "2")
    assert not res["warnings"], res["warnings"]
    finals = _finals(res, "eval_accuracy")
    assert all(0 < v <= 1 for v in finals)
    store = repo.store()
    losses = [store.series(r["id"])["loss"][1] for r in res["runs"]]
    assert losses[0] != losses[1]  # the seeds vary (a tiny model may end at the same accuracy)
    show = repo.tw_json("show", res["experiment"]["id"])
    series = show["series"][res["runs"][0]["id"]]
    assert series["eval_accuracy"]["source"] == "stdout" and series["eval_accuracy"]["points"] >= 2
    assert series["loss"]["points"] >= 4


def test_argparse_seed_default_identical_then_varying_with_inits_config(tmp_path):
    repo = make_repo(tmp_path / "r", 'command = "python train.py --epochs 3"\nseeds = 3\n',
                     {"train.py": (SCRIPTS / "mlp_argparse.py").read_text()})
    first = repo.tw("run", "--jobs", "2")
    assert "identical" in first.stderr and "[params] seed" in first.stderr
    refused = repo.tw("compare", "HEAD", "HEAD", check=False)
    assert refused.returncode == 2
    config = _init(repo, "--command", "python train.py --epochs 3")
    assert config["params"]["seed"] == "--seed {value}"
    second = repo.tw("run", "--jobs", "2")
    assert "identical" not in second.stderr
    finals = _finals(repo.tw_json("show", "HEAD"), "val_acc")
    assert len(set(finals)) == 3 and all(0.3 < v <= 1 for v in finals)


def test_pytorch_mnist_example_prints_text_only_and_is_captured(tmp_path):
    repo = _repo(tmp_path, "mnist_example.py")
    repo.tw("init", "--force")
    config = tomllib.loads((repo.path / "trialwise.toml").read_text())
    assert config["params"]["seed"] == "--seed {value}" and config["metric"]["name"] == "test_accuracy"
    text = (repo.path / "trialwise.toml").read_text().replace('"python train.py"', '"python train.py --epochs 3 --save-model"')
    repo.write("trialwise.toml", text)
    repo.commit("init")
    res = repo.tw_json("run", "--seeds", "2", "--jobs", "2")
    assert not res["warnings"], res["warnings"]
    finals = _finals(res, "test_accuracy")
    assert all(0.5 < v <= 1 for v in finals)
    show = repo.tw_json("show", res["experiment"]["id"])
    series = show["series"][res["runs"][0]["id"]]
    assert series["test_accuracy"] == {"source": "text", "points": 3}
    assert series["loss"]["points"] >= 6 and series["test_average_loss"]["points"] == 3
    store = repo.store()
    losses = [store.series(r["id"])["loss"][1] for r in res["runs"]]
    assert losses[0] != losses[1]
    kept = [p for p, _ in show["outputs"][res["runs"][0]["id"]]["kept"]]
    assert "mnist_cnn.pt" in kept
