"""``trialwise import wandb``: offline run directories written by ``wandb`` itself (WANDB_MODE=offline,
no network), and a CSV export of the runs table, imported into a fresh store and compared via the CLI."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Repo, activated_env
from tests.importers.conftest import GROUPS, SEEDS, accuracy, assert_progression, compare_groups, counts, import_json

pytest.importorskip("wandb")

STEPS = 4

LOG_RUNS = """
import json, sys
import wandb

for run in json.loads(sys.argv[1]):
    r = wandb.init(project="digits", config=run["config"], group=run["group"], name=run["name"], tags=["sweep"])
    for step, value in enumerate(run["val_acc"]):
        r.log({"val_acc": value, "train/loss": 1.0 / (step + 1)}, step=step)
    r.summary["best_val_acc"] = max(run["val_acc"])
    r.finish(exit_code=run.get("exit_code", 0))
"""


def write_offline_runs(repo: Repo, wandb_dir: Path) -> str:
    """The runs (2 groups × 3 seeds, and a failed seed 3 of lr=0.1) logged offline from the repository
    (W&B records its commit); returns the commit."""
    runs = [{"name": f"lr{lr}-seed{seed}", "group": f"lr{lr}", "config": {"lr": lr, "seed": seed, "model": {"depth": 2}},
             "val_acc": [accuracy(lr, seed, s, STEPS) for s in range(STEPS)]} for lr in GROUPS for seed in SEEDS]
    runs.append({"name": "lr0.1-seed3", "group": "lr0.1", "config": {"lr": 0.1, "seed": 3, "model": {"depth": 2}},
                 "val_acc": [0.1], "exit_code": 1})
    script = repo.write("log_runs.py", LOG_RUNS)
    commit = repo.commit("the training script")
    wandb_dir.mkdir(parents=True, exist_ok=True)
    env = {**activated_env(), "WANDB_MODE": "offline", "WANDB_DIR": str(wandb_dir), "WANDB_SILENT": "true",
           "WANDB_CONSOLE": "off"}
    subprocess.run([sys.executable, str(script), json.dumps(runs)], cwd=repo.path, check=True, capture_output=True,
                   text=True, env=env, timeout=600)
    return commit


@pytest.fixture
def offline(repo: Repo, tmp_path: Path) -> tuple[Path, str]:
    base = tmp_path / "wb"
    commit = write_offline_runs(repo, base)
    return base / "wandb", commit


def test_offline_runs_compare_with_their_commit_and_a_second_import_adds_nothing(repo: Repo,
                                                                                  offline: tuple[Path, str]) -> None:
    wandb_dir, commit = offline
    assert len(list(wandb_dir.glob("offline-run-*"))) == 7
    report = import_json(repo, "wandb", str(wandb_dir), "--group-by", "lr")
    assert report["added"] == 7
    short = commit[:8]
    groups = {g["name"]: g for g in report["experiments"]}
    assert sorted(groups) == [f"digits@{short}[lr=0.01]", f"digits@{short}[lr=0.1]"]
    assert groups[f"digits@{short}[lr=0.1]"]["seeds"] == [0, 1, 2, 3]
    assert {r["status"] for r in groups[f"digits@{short}[lr=0.1]"]["runs"]} == {"completed", "failed"}

    store = repo.store()
    try:
        exp = store.find_experiments(f"digits@{short}[lr=0.01]")[0]
        assert exp.commit_sha == commit
        run = next(r for r in store.runs(exp.id) if r.seed == 2)
        assert store.params(run.id) == {"lr": 0.01, "seed": 2, "model.depth": 2}
        steps, values = store.series(run.id)["val_acc"]
        assert steps == list(range(STEPS)) and values == [accuracy(0.01, 2, s, STEPS) for s in range(STEPS)]
        assert run.summary["best_val_acc"] == max(values) and run.host
        assert all(p[4] is not None for p in store.metrics([run.id]))  # wall times of the history rows
    finally:
        store.close()

    decision = compare_groups(repo, report)
    assert_progression(decision, provenance_known=True)
    assert decision["decisions"][0]["comparison"]["arm_a"]["n_failed"] == 1

    by_group = import_json(repo, "wandb", str(wandb_dir), "--group-by", "tag:group")  # W&B's own group
    assert by_group["added"] == 0 and by_group["present"] == 7
    before = counts(repo)
    assert import_json(repo, "wandb", str(wandb_dir), "--group-by", "lr")["added"] == 0
    assert counts(repo) == before


def _log(wandb_dir: Path, name: str) -> Path:
    """The run log of the run named ``name`` (its id is in the file's name: ``run-<id>.wandb``)."""
    from trialwise.importers import read_wandb

    run = next(r for r in read_wandb(wandb_dir).runs if r.name == name)
    (log,) = wandb_dir.glob(f"offline-run-*/run-{run.source_id.split('/')[-1]}.wandb")
    return log


def test_a_corrupt_run_log_is_an_error_and_nothing_is_stored(repo: Repo, offline: tuple[Path, str]) -> None:
    wandb_dir, _ = offline
    victim = _log(wandb_dir, "lr0.01-seed1")
    data = bytearray(victim.read_bytes())
    at = 7  # after W&B's header: records of (CRC-32, length, type) then the data, as LevelDB's log
    for _ in range(3):
        at += 7 + struct.unpack_from("<IHB", data, at)[1]
    data[at + 7 + 1] ^= 0xFF  # a byte inside the 4th record: its checksum no longer matches
    victim.write_bytes(bytes(data))
    proc = repo.tw("import", "wandb", str(wandb_dir), "--group-by", "lr", check=False)
    assert proc.returncode == 2, proc.stdout
    assert "corrupt W&B run log" in proc.stderr and victim.name in proc.stderr
    assert counts(repo)["runs"] == 0


def test_a_log_cut_short_is_read_up_to_the_cut_and_the_run_did_not_finish(repo: Repo,
                                                                           offline: tuple[Path, str]) -> None:
    wandb_dir, _ = offline
    victim = _log(wandb_dir, "lr0.01-seed0")
    victim.write_bytes(victim.read_bytes()[:-3])  # the last record (the exit) cut short
    report = import_json(repo, "wandb", str(wandb_dir), "--group-by", "lr")
    assert report["added"] == 7
    assert any("cut short" in n and victim.name in n for n in report["notes"])
    cut = next(r for g in report["experiments"] for r in g["runs"] if r["name"] == "lr0.01-seed0")
    assert cut["status"] == "crashed"


EXPORT = """Name,State,Notes,User,Tags,Created,Runtime,Sweep,lr,seed,optimizer,val_acc,train/loss
{rows}"""


def test_a_csv_export_of_the_runs_table(repo: Repo) -> None:
    rows = [f"lr{lr}-s{seed},finished,,me,sweep,2024-03-0{seed + 1}T10:00:00,{60 + seed},,{lr},{seed},adam,"
            f"{accuracy(lr, seed, 3, 4)!r},0.25" for lr in GROUPS for seed in SEEDS]
    rows.append("lr0.1-s9,running,,me,,2024-03-09T10:00:00,5,,0.1,9,adam,0.3,0.9")
    (repo.path / "export.csv").write_text(EXPORT.format(rows="\n".join(rows)) + "\n", encoding="utf-8")
    report = import_json(repo, "wandb", "export.csv", "--group-by", "lr")
    assert report["added"] == 6 and any("still running" in n for n in report["notes"])
    assert_progression(compare_groups(repo, report), provenance_known=False)
    store = repo.store()
    try:
        run = store.runs(store.find_experiments("export[lr=0.1]")[0].id)[0]
        assert store.params(run.id) == {"lr": 0.1, "seed": 0, "optimizer": "adam"}  # text columns are config too
        assert run.summary == {"val_acc": accuracy(0.1, 0, 3, 4), "train/loss": 0.25}
        assert run.ended_at - run.started_at == 60
    finally:
        store.close()
    (repo.path / "bad.csv").write_text("Name,State,lr\nr1,finished\n", encoding="utf-8")
    proc = repo.tw("import", "wandb", "bad.csv", check=False)
    assert proc.returncode == 2 and "bad.csv:2: 2 fields, but the header has 3" in proc.stderr


def test_a_directory_without_runs_is_an_error(repo: Repo, tmp_path: Path) -> None:
    proc = repo.tw("import", "wandb", str(tmp_path / "none"), check=False)
    assert proc.returncode == 2 and "no W&B run directory or CSV export at" in proc.stderr
    (tmp_path / "empty" / "wandb").mkdir(parents=True)
    proc = repo.tw("import", "wandb", str(tmp_path / "empty"), check=False)
    assert proc.returncode == 2 and "no W&B run directories under" in proc.stderr
