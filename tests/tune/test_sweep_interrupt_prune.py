"""Interrupting a sweep with SIGINT and resuming it; pruning bad trials from ``tw.log`` intermediate
values; tuning the learning rate on the training loss first (seed 003). Real CLI, real runs."""

from __future__ import annotations

import json
import math
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.tune.helpers import lr_distance, study, synthetic_repo

SAFETY_TIMEOUT_S = 120
"""Upper bound on waiting for the background sweep (a hang fails the test instead of blocking it)."""


def _default_sigint() -> None:
    """Ctrl-C reaches the sweep even when pytest itself runs with SIGINT ignored (a background job)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _running_with_output(db: Path) -> bool:
    """Two trials completed and a seed of the next one is running and has logged (SIGINT lands in it)."""
    try:
        con = sqlite3.connect(db, timeout=5)
        done = con.execute("select count(*) from runs where status = 'completed'").fetchone()[0]
        dirs = [r[0] for r in con.execute("select run_dir from runs where status = 'running' and run_dir is not null")]
        con.close()
    except sqlite3.Error:
        return False
    return done >= 4 and any((Path(d) / "metrics.jsonl").exists() for d in dirs)


def test_sigint_then_resume_repeats_no_finished_trial_or_seed(tmp_path: Path) -> None:
    repo = synthetic_repo(tmp_path / "repo")
    args = ["sweep", "--param", "lr=log:1e-5..1e-1", "--param", "width=int:32..512", "--set", "sleep=0.2",
            "--trials", "5", "--seeds", "2", "--sampler", "random", "--sampler-seed", "1", "--pruner", "none",
            "--top-k", "0", "--json"]
    proc = subprocess.Popen([sys.executable, "-m", "trialwise", *args], cwd=repo.path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=_default_sigint)
    deadline = time.monotonic() + SAFETY_TIMEOUT_S
    while not _running_with_output(repo.path / ".trialwise" / "store.db"):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=SAFETY_TIMEOUT_S)
    stopped_at = time.time()
    assert proc.returncode == 130, err
    first = json.loads(out)
    assert first["interrupted"] and "run the same command to resume" in first["message"]
    name, storage = first["outcome"]["study"], first["outcome"]["storage"]
    trials = study(storage, name).trials
    cut = [t for t in trials if t.state.name == "FAIL"]
    assert len(cut) == 1 and cut[0].user_attrs["outcome"] == "interrupted"
    queued = [t for t in trials if t.state.name == "WAITING"]
    assert len(queued) == 1 and queued[0].user_attrs["retry_of"] == cut[0].number
    done_before = [t for t in trials if t.state.name == "COMPLETE"]
    assert len(done_before) == 2
    store = repo.store()
    assert {r.status for r in store.runs(cut[0].user_attrs["experiment_id"])} <= {"killed", "completed"}

    second = repo.tw_json(*args[:-1])
    trials = study(storage, name).trials
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    assert len(complete) == 5 and second["counts"] == {"completed": 5, "interrupted": 1}
    assert second["outcome"]["ran"][0] == cut[0].number + 1  # the queued retry runs first
    retry = trials[cut[0].number + 1]
    assert retry.params == cut[0].params and retry.user_attrs["experiment_id"] == cut[0].user_attrs["experiment_id"]
    assert [(t.number, t.params) for t in complete[:2]] == [(t.number, t.params) for t in done_before]
    completed: dict[tuple[str, int], int] = {}
    for r in store.runs():
        if r.status == "completed":
            completed[(r.experiment_id, r.seed)] = completed.get((r.experiment_id, r.seed), 0) + 1
    assert set(completed.values()) == {1} and len(completed) == 10  # 5 configurations x 2 seeds, none twice
    for t in done_before:
        assert all(r.ended_at < stopped_at for r in store.runs(t.user_attrs["experiment_id"]))


def test_bad_trials_are_pruned_from_intermediate_values(tmp_path: Path) -> None:
    repo = synthetic_repo(tmp_path / "repo")
    out = repo.tw_json("sweep", "--param", "lr=log:1e-5..1e-1", "--set", "sleep=0.25", "--trials", "5",
                       "--seeds", "2", "--sampler", "random", "--sampler-seed", "1", "--pruner", "median",
                       "--prune-startup", "1", "--top-k", "0")
    trials = study(out["storage"], out["study"]).trials
    pruned = [t for t in trials if t.state.name == "PRUNED"]
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    assert len(pruned) >= 2 and len(complete) >= 2, [(t.state.name, t.params) for t in trials]
    assert out["counts"]["pruned"] == len(pruned)
    # the pruned configurations are the ones far from the optimum
    assert min(lr_distance(t.params["lr"]) for t in pruned) > max(lr_distance(t.params["lr"]) for t in complete)
    store = repo.store()
    for t in pruned:
        steps = sorted(t.intermediate_values)
        assert steps and steps[-1] == t.user_attrs["pruned_step"]
        assert set(steps) <= {0, 1, 2, 3, 4, 6}  # the report grid
        runs = store.runs(t.user_attrs["experiment_id"])
        assert [r.status for r in runs] == ["killed", "killed"]
        assert all("pruned by trialwise sweep" in r.error for r in runs)
        # the reported value is the seed mean of val_acc at that step
        step = steps[0]
        per_seed = [v for r in runs for (s, v) in zip(*store.series(r.id)["val_acc"]) if s == step]
        assert t.intermediate_values[step] == pytest.approx(statistics.fmean(per_seed))
    for t in complete:
        assert t.user_attrs["n_completed"] == 2 and t.intermediate_values


def test_learning_rate_on_the_training_loss_then_the_rest_on_validation(tmp_path: Path) -> None:
    repo = synthetic_repo(tmp_path / "repo")
    out = repo.tw_json("sweep", "--param", "lr=log:1e-4..1", "--param", "width=int:32..512", "--lr-on-train",
                       "--lr-trials", "5", "--trials", "3", "--seeds", "2", "--sampler", "random", "--sampler-seed", "2",
                       "--pruner", "none", "--top-k", "0")
    lr_stage = out["lr_stage"]
    assert lr_stage["meta"]["objective"] == {"metric": "train_loss", "direction": "min", "kind": "series-mean"}
    assert lr_stage["meta"]["space"] == ["lr=log:0.0001..1.0"] and lr_stage["meta"]["fixed"] == {"width": 272}
    assert lr_stage["study"].endswith("-lr") and lr_stage["counts"] == {"completed": 5}
    store = repo.store()
    lr_trials = study(lr_stage["storage"], lr_stage["study"]).trials
    for t in lr_trials:  # the objective: mean over seeds of the mean of each seed's train_loss series
        runs = store.runs(t.user_attrs["experiment_id"])
        assert t.value == pytest.approx(statistics.fmean(statistics.fmean(store.series(r.id)["train_loss"][1]) for r in runs))
    best = min(lr_trials, key=lambda t: t.value)
    assert out["meta"]["fixed"] == {"lr": best.params["lr"]}  # stage 2 keeps the best learning rate
    assert out["meta"]["space"] == ["width=int:32..512"] and out["meta"]["objective"]["metric"] == "val_acc"
    assert out["counts"] == {"completed": 3}
    # on the training loss the best learning rate is the higher one the synthetic script rewards there
    assert math.log10(best.params["lr"]) > -2.5 - 0.5


def test_two_workers_share_one_study_without_repeating_trials(tmp_path: Path) -> None:
    """Two `trialwise sweep` processes on one study name split the trials (Optuna RDB storage)."""
    repo = synthetic_repo(tmp_path / "repo")
    args = [sys.executable, "-m", "trialwise", "sweep", "--study", "par", "--param", "lr=log:1e-5..1e-1",
            "--param", "width=int:32..512", "--set", "sleep=0.3", "--trials", "6", "--seeds", "1",
            "--sampler", "random", "--pruner", "none", "--top-k", "0", "--jobs", "1", "--json"]
    workers = [subprocess.Popen(args, cwd=repo.path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(2)]
    outs = [w.communicate(timeout=SAFETY_TIMEOUT_S) for w in workers]
    for w, (out, err) in zip(workers, outs):
        assert w.returncode == 0, err
    ran = [set(json.loads(out)["outcome"]["ran"]) for out, _ in outs]
    assert ran[0] and ran[1] and not ran[0] & ran[1]  # both worked, on different trials
    storage = json.loads(outs[0][0])["outcome"]["storage"]
    complete = [t for t in study(storage, "par").trials if t.state.name == "COMPLETE"]
    assert 6 <= len(complete) <= 7  # a worker may start one trial past the budget while the other finishes
    configs = [tuple(sorted(t.params.items())) for t in complete]
    assert len(set(configs)) == len(configs)  # no configuration ran twice
    store = repo.store()
    completed = [(r.experiment_id, r.seed) for r in store.runs() if r.status == "completed"]
    assert len(completed) == len(set(completed)) == len(complete)
