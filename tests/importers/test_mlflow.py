"""``trialwise import mlflow``: a SQLite tracking store written by MLflow itself (a script run from the
repository, so MLflow records its git commit), imported into a fresh store and compared via the CLI."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Repo, activated_env
from tests.importers.conftest import GROUPS, SEEDS, accuracy, assert_progression, compare_groups, counts, import_json

pytest.importorskip("mlflow")

STEPS = 4

LOG_RUNS = """
import json, sys
import mlflow
from mlflow.tracking import MlflowClient

db, plan = sys.argv[1], json.loads(sys.argv[2])
mlflow.set_tracking_uri("sqlite:///" + db)
mlflow.set_experiment("digits")
for run in plan["runs"]:
    with mlflow.start_run(run_name=run["name"]):
        mlflow.log_params(run["params"])
        mlflow.set_tag("variant", run["variant"])
        for step, value in enumerate(run["val_acc"]):
            mlflow.log_metric("val_acc", value, step=step)
            mlflow.log_metric("train_loss", 1.0 / (step + 1), step=step)
        if run.get("fail"):
            mlflow.end_run(status="FAILED")
# a run still going: not imported until it ends
client = MlflowClient()
client.create_run(mlflow.get_experiment_by_name("digits").experiment_id, run_name="still-running")
"""


def write_mlflow_store(repo: Repo, db: Path) -> str:
    runs = [{"name": f"lr{lr}-seed{seed}", "params": {"lr": lr, "seed": seed, "batch_size": 32},
             "variant": "fast" if lr == 0.1 else "slow",
             "val_acc": [accuracy(lr, seed, s, STEPS) for s in range(STEPS)]} for lr in GROUPS for seed in SEEDS]
    runs.append({"name": "lr0.1-seed3", "params": {"lr": 0.1, "seed": 3, "batch_size": 32}, "variant": "fast",
                 "val_acc": [0.1], "fail": True})
    script = repo.write("log_runs.py", LOG_RUNS)
    commit = repo.commit("the training script")  # MLflow records the commit of the script it runs
    subprocess.run([sys.executable, str(script), str(db), json.dumps({"runs": runs})], cwd=repo.path, check=True,
                   capture_output=True, text=True, env=activated_env(), timeout=600)
    return commit


def test_mlflow_runs_with_their_commit_compare_and_a_second_import_adds_nothing(repo: Repo, tmp_path: Path) -> None:
    db = tmp_path / "mlflow.db"
    commit = write_mlflow_store(repo, db)
    uri = f"sqlite:///{db}"
    report = import_json(repo, "mlflow", "--tracking-uri", uri, "--experiment", "digits", "--group-by", "lr")
    assert report["added"] == 7  # 2 groups × 3 seeds and the failed seed; not the running one
    assert any("still-running" in n for n in report["notes"])
    groups = {g["name"]: g for g in report["experiments"]}
    short = commit[:8]
    assert sorted(groups) == [f"digits@{short}[lr=0.01]", f"digits@{short}[lr=0.1]"]
    assert groups[f"digits@{short}[lr=0.1]"]["seeds"] == [0, 1, 2, 3]
    assert {r["status"] for r in groups[f"digits@{short}[lr=0.1]"]["runs"]} == {"completed", "failed"}
    assert all(g["commit"] == commit for g in groups.values())

    store = repo.store()
    try:
        exp = store.find_experiments(f"digits@{short}[lr=0.01]")[0]
        assert exp.commit_sha == commit and exp.kind == "imported"
        run = next(r for r in store.runs(exp.id) if r.seed == 1)
        assert store.params(run.id) == {"lr": 0.01, "seed": 1, "batch_size": 32}
        series = store.series(run.id)
        assert series["val_acc"] == (list(range(STEPS)), [accuracy(0.01, 1, s, STEPS) for s in range(STEPS)])
        assert run.started_at and run.ended_at and run.started_at <= run.ended_at
    finally:
        store.close()

    decision = compare_groups(repo, report)
    assert_progression(decision, provenance_known=True)  # MLflow recorded the commit
    base = decision["decisions"][0]["comparison"]["arm_a"]
    assert base["n_failed"] == 1

    by_tag = import_json(repo, "mlflow", "--tracking-uri", uri, "--experiment", "digits", "--group-by", "tag:variant")
    assert by_tag["added"] == 0 and by_tag["present"] == 7  # stored once, whatever the grouping asked now
    assert all(g["elsewhere"] for g in by_tag["experiments"])
    before = counts(repo)
    again = import_json(repo, "mlflow", "--tracking-uri", uri, "--experiment", "digits", "--group-by", "lr")
    assert again["added"] == 0 and again["present"] == 7
    assert counts(repo) == before

    proc = repo.tw("import", "mlflow", "--tracking-uri", uri, "--experiment", "mnist", check=False)
    assert proc.returncode == 2 and "no MLflow experiment named 'mnist'" in proc.stderr and "digits" in proc.stderr
    assert counts(repo) == before


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_mlflow_store_that_is_missing_or_does_not_answer_is_an_error(repo: Repo, tmp_path: Path) -> None:
    proc = repo.tw("import", "mlflow", "--tracking-uri", f"sqlite:///{tmp_path / 'none.db'}", "--experiment", "x",
                   check=False)
    assert proc.returncode == 2 and "no MLflow tracking database at" in proc.stderr
    assert not (tmp_path / "none.db").exists()  # MLflow was never asked to open (and create) it
    url = f"http://127.0.0.1:{_free_port()}"
    proc = repo.tw("import", "mlflow", "--tracking-uri", url, "--experiment", "digits", "--json", check=False)
    assert proc.returncode == 2, proc.stdout
    message = json.loads(proc.stdout)["message"]
    assert url in message and ("does not answer" in message or "could not be read" in message)
    assert counts(repo)["runs"] == 0
