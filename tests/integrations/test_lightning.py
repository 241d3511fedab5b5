"""Lightning's ``TrialwiseLogger`` and ``TrialwiseCallback`` in real trainings: under the real
``trialwise run --seeds 2`` (then ``compare`` and ``diagnose``), run directly (a standalone run, a
caught failure), from ``LightningCLI``'s command line, and with the ``pytorch_lightning`` package."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import activated_env, make_repo

pytest.importorskip("lightning")
pytestmark = pytest.mark.slow
SCRIPTS = Path(__file__).parent / "scripts"

CONFIG = """
command = "python train.py --lr 0.1"
[metric]
name = "val/acc"
"""


def _repo(tmp_path: Path, config: str = CONFIG, script: str = "lightning_digits.py"):
    return make_repo(tmp_path / "r", config, {"train.py": (SCRIPTS / script).read_text()})


def test_logger_under_trialwise_run_two_seeds_then_compare_and_diagnose(tmp_path):
    repo = _repo(tmp_path)
    res = repo.tw_json("run", "--seeds", "2", "--jobs", "2")
    assert [r["status"] for r in res["runs"]] == ["completed", "completed"], res["runs"]
    show = repo.tw_json("show", res["experiment"]["id"])
    by_seed = {r["seed"]: r for r in show["runs"]}
    assert sorted(by_seed) == [0, 1]
    for seed, run in by_seed.items():
        assert run["summary"]["init_seed"] == seed  # seeded through Lightning before the model was built
        series = show["series"][run["id"]]
        for name in ("train_loss_step", "train_loss_epoch", "val/acc", "val/loss", "probe/grad_norm_ratio"):
            assert series[name]["source"] == "api", (name, series.get(name))
        assert series["val/acc"]["points"] == 3 and series["train_loss_step"]["points"] >= 8
        assert 0.5 < run["summary"]["val/acc"] <= 1
        assert run["summary"]["logger_status"] == 1.0
    finals = [r["summary"]["val/acc"] for r in show["runs"]]
    assert finals[0] != finals[1]
    store = repo.store()
    run_id = show["runs"][0]["id"]
    params = store.params(run_id)
    assert params["lr"] == 0.1 and params["hidden"] == 32 and params["optimizer.name"] == "sgd"
    points = store.series(run_id)
    steps, _ = points["train_loss_step"]
    assert steps == sorted(steps) and steps[0] < 10 and steps[-1] >= 60  # the global step, 22 batches an epoch
    probe_steps, _ = points["probe/grad_norm_ratio"]
    assert probe_steps[:3] == [0, 5, 10]  # every 5 batches, at the global step
    run_dir = Path(store.run(run_id).run_dir)
    assert (run_dir / "predictions").is_dir() and list((run_dir / "predictions").iterdir())
    assert list(run_dir.glob("trialwise/*/checkpoints/*.ckpt"))  # Lightning's checkpoint beside the logs

    repo.git("checkout", "--quiet", "-b", "feat/lr")
    repo.write("trialwise.toml", CONFIG.replace("--lr 0.1", "--lr 0.5"))
    repo.commit("higher lr")
    repo.tw("run", "--seeds", "2", "--jobs", "2")
    repo.git("checkout", "--quiet", "main")
    decision = repo.tw_json("compare", "main", "feat/lr", check=False)["decisions"][0]
    assert decision["metric"] == "val/acc"
    assert decision["verdict"] in ("progression", "regression", "no detectable difference"), decision["sentence"]
    assert decision["baseline"]["seeds"] == [0, 1] and decision["candidate"]["seeds"] == [0, 1]
    assert sorted(decision["baseline"]["values"]) == sorted(finals)
    assert decision["checks"]["launch_diff"] == [["command", "python train.py --lr 0.1", "python train.py --lr 0.5"]]

    d = repo.tw_json("diagnose", "main")["diagnosis"]
    assert d["roles"]["train_loss"] == "train_loss_step"
    assert d["roles"]["train_loss_epoch"] == "train_loss_epoch"
    assert d["roles"]["val_acc"] == "val/acc" and d["roles"]["val_loss"] == "val/loss"
    assert d["roles"]["grad_norm_ratio"] == "probe/grad_norm_ratio" and d["roles"]["epoch"] == "epoch"
    assert "dead-units" in d["checked"] and "overfitting" in d["checked"]


def test_run_directly_records_a_standalone_run_and_a_caught_failure_ends_failed(tmp_path):
    repo = _repo(tmp_path)
    env = activated_env()
    for var in ("TRIALWISE_RUN_DIR", "TRIALWISE_RUN_ID", "TRIALWISE_SEED", "TRIALWISE_STORE"):
        env.pop(var, None)
    ok = subprocess.run([sys.executable, "train.py", "--epochs", "1"], cwd=repo.path, env=env,
                        capture_output=True, text=True, timeout=600)
    assert ok.returncode == 0, ok.stderr
    caught = subprocess.run([sys.executable, "train.py", "--epochs", "1", "--fail-at", "3", "--catch"],
                            cwd=repo.path, env=env, capture_output=True, text=True, timeout=600)
    assert caught.returncode == 0, caught.stderr  # the script swallowed the error
    store = repo.store()
    runs = sorted(store.runs(), key=lambda r: r.started_at)
    assert [r.status for r in runs] == ["completed", "failed"]
    assert store.series(runs[0].id)["val/acc"][1]  # ingested when the script exited
    assert store.params(runs[0].id)["lr"] == 0.1
    assert Path(runs[0].run_dir, "trialwise", runs[0].id, "checkpoints").is_dir()
    steps, _ = store.series(runs[1].id)["probe/grad_norm_ratio"]
    assert steps == [0]  # the failure came at step 3, before the second probe


def test_lightning_cli_takes_the_logger_from_the_command_line(tmp_path):
    config = """
command = "python train.py fit --trainer.logger=trialwise.integrations.lightning.TrialwiseLogger --trainer.max_epochs 2 --trainer.log_every_n_steps 5 --trainer.enable_progress_bar false --trainer.enable_model_summary false"
[metric]
name = "val_acc"
"""
    repo = _repo(tmp_path, config, "lightning_cli.py")
    res = repo.tw_json("run", "--seeds", "2", "--jobs", "2")
    assert [r["status"] for r in res["runs"]] == ["completed", "completed"], res["runs"]
    assert not res["warnings"], res["warnings"]  # the seeds varied: the CLI's own seeding took TRIALWISE_SEED
    show = repo.tw_json("show", res["experiment"]["id"])
    store = repo.store()
    for run in show["runs"]:
        assert show["series"][run["id"]]["val_acc"] == {"source": "api", "points": 2}
        run_dir = Path(store.run(run["id"]).run_dir)
        saved = (run_dir / "config.yaml").read_text()  # LightningCLI's SaveConfigCallback: into save_dir
        assert f"seed_everything: {run['seed']}" in saved
        assert store.params(run["id"])["lr"] == 0.1


def test_pytorch_lightning_package_writes_the_files_the_runner_ingests(tmp_path):
    pytest.importorskip("pytorch_lightning")
    from trialwise.runner._ingest import ingest_run_dir

    run_dir = tmp_path / "run"
    env = {**activated_env(), "TRIALWISE_RUN_DIR": str(run_dir), "TRIALWISE_RUN_ID": "pl-run", "TRIALWISE_SEED": "7"}
    proc = subprocess.run([sys.executable, str(SCRIPTS / "lightning_digits.py"), "--pkg", "pytorch_lightning",
                           "--epochs", "1"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[0]) == {"init_seed": 7}
    data = ingest_run_dir(run_dir)
    keys = {p[0] for p in data.points if p[4] == "api"}
    assert {"train_loss_step", "train_loss_epoch", "val/acc", "probe/grad_norm_max"} <= keys
    assert data.config["lr"] == 0.1 and data.config["optimizer.momentum"] == 0.0
    assert os.path.isdir(run_dir / "trialwise" / "pl-run" / "checkpoints")


def test_each_package_gets_its_own_real_subclasses_importable_by_name():
    import pickle

    import lightning.pytorch as lpt

    from trialwise.integrations import lightning as twl

    logger, callback = twl.TrialwiseLogger(save_dir="/tmp/x"), twl.TrialwiseCallback(every=3)
    assert isinstance(logger, lpt.loggers.Logger) and isinstance(callback, lpt.Callback)
    assert f"{type(logger).__module__}.{type(logger).__qualname__}" == "trialwise.integrations.lightning.TrialwiseLogger"
    copy = pickle.loads(pickle.dumps(logger))  # spawned DDP workers receive the trainer pickled
    assert copy.name == "trialwise" and copy.save_dir == "/tmp/x" and copy.status is None
    assert pickle.loads(pickle.dumps(callback)).every == 3
    pl = pytest.importorskip("pytorch_lightning")
    from trialwise.integrations import pytorch_lightning as twpl

    assert issubclass(twpl.TrialwiseLogger, pl.loggers.Logger) and not issubclass(twpl.TrialwiseLogger, lpt.loggers.Logger)
    assert issubclass(twpl.TrialwiseCallback, pl.Callback)
