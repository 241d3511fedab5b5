"""The store's one-transaction write of finished runs, and compare's warning for an arm without a commit."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from tests.conftest import Repo
from trialwise.decide._arms import check_arms, load_arm
from trialwise.store import connect
from trialwise.store._records import UNKNOWN_COMMIT, Experiment
from trialwise.store._store import FinishedRun


def experiment(exp_id: str, commit: str, launch: dict | None = None) -> Experiment:
    return Experiment(id=exp_id, name=f"exp-{exp_id}", kind="imported", commit_sha=commit, ref=None, branch=None,
                      command=[], launch=launch or {}, profile=None, mode=None, metric_name="val_acc",
                      metric_direction="max", dirty=False, tag=None, created_at=1.0)


def finished(run_id: str, exp_id: str, seed: int, value: float) -> FinishedRun:
    return FinishedRun({"id": run_id, "experiment_id": exp_id, "seed": seed, "status": "completed",
                        "started_at": 10.0 + seed, "ended_at": 20.0 + seed},
                       {"lr": 0.1, "seed": seed}, {"val_acc": value},
                       [("val_acc", 0, value / 2, 10.0, "csv"), ("val_acc", 1, value, 11.0, "csv")])


def test_add_finished_runs_stores_each_run_once_and_all_or_nothing(store_url: str) -> None:
    store = connect(store_url)
    try:
        exp = experiment("e1", UNKNOWN_COMMIT)
        assert store.add_finished_runs([exp], [finished("r1", "e1", 0, 0.8), finished("r2", "e1", 1, 0.81)]) == ["r1", "r2"]
        assert store.add_finished_runs([exp], [finished("r1", "e1", 0, 0.5), finished("r3", "e1", 2, 0.79)]) == ["r3"]
        runs = {r.id: r for r in store.runs("e1")}
        assert sorted(runs) == ["r1", "r2", "r3"]
        assert runs["r1"].summary == {"val_acc": 0.8}  # the stored run was left whole, not overwritten
        assert store.params("r3") == {"lr": 0.1, "seed": 2}
        assert len(store.metrics(["r1", "r2", "r3"])) == 6
        # a run of an experiment that does not exist fails (foreign key) after a valid one: neither is stored
        with pytest.raises(IntegrityError):
            store.add_finished_runs([experiment("e2", UNKNOWN_COMMIT)],
                                    [finished("r4", "e2", 0, 0.7), finished("r5", "missing", 0, 0.7)])
        assert [e.id for e in store.experiments()] == ["e1"]
        assert store.runs_by_id(["r4", "r5", "r1"])[0].id == "r1" and len(store.runs_by_id(["r4", "r5"])) == 0
    finally:
        store.close()


def test_compare_warns_that_provenance_is_unknown_for_an_arm_without_a_commit(tmp_path: Path, repo: Repo) -> None:
    store = connect(f"sqlite:///{tmp_path / 'store.db'}")
    sha = repo.git("rev-parse", "HEAD").strip()
    source = {"imported": {"provenance": "imported from csv /data/runs.csv"}}
    store.add_finished_runs([experiment("known", sha), experiment("unknown", UNKNOWN_COMMIT, source)],
                            [finished(f"{e}{s}", e, s, 0.8 + 0.01 * s) for e in ("known", "unknown") for s in range(3)])
    known, unknown = (load_arm(store, store.experiment(e), "val_acc") for e in ("known", "unknown"))
    checks = check_arms(store, repo.path, known, unknown, max_age_days=math.inf)
    warned = [w for w in checks.warnings if w.startswith("provenance is unknown")]
    assert warned == ["provenance is unknown for exp-unknown: its runs were imported from csv /data/runs.csv with no "
                      "git commit recorded, so the code that produced them cannot be checked out, re-run or diffed; "
                      "the comparison rests on the numbers alone"]
    assert not checks.refusals
    both_known = check_arms(store, repo.path, known, known, max_age_days=math.inf)
    assert not [w for w in both_known.warnings if w.startswith("provenance")]
    store.close()
