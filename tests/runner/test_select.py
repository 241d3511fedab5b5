"""Which runs count: one rule (store/_select.py) for ls, show, export and compare."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.conftest import Repo, make_repo
from trialwise.store._records import Run
from trialwise.store._select import select_counted

PY = sys.executable


def _run(rid: str, seed: int, status: str = "completed", started: float = 0.0, env: str | None = "e1",
         value: float = 0.5) -> Run:
    return Run(id=rid, experiment_id="x", seed=seed, status=status, exit_code=0, started_at=started,
               ended_at=started + 1, host="h", user="u", pid=None, run_dir=None, command=[], env_hash=env,
               metric_version="m", metric_files={}, dirty=False, error=None, reused_from=None,
               summary={"val_acc": value})


def test_newest_completed_run_per_seed_counts_older_reruns_are_history() -> None:
    runs = [_run("a0", 0, started=1), _run("a1", 1, started=1), _run("b0", 0, started=5), _run("b1", 1, started=5)]
    sel = select_counted(runs)
    assert [r.id for r in sel.runs] == ["b0", "b1"]
    assert {r.id for r in sel.history} == {"a0", "a1"}
    assert "older run of seed 0" in sel.why_history(runs[0])


def test_a_failed_retry_does_not_hide_a_completed_run_but_a_never_completed_seed_counts_as_failed() -> None:
    runs = [_run("a0", 0, started=1), _run("b0", 0, "crashed", started=5), _run("c1", 1, "failed", started=2),
            _run("d1", 1, "failed", started=6), _run("r2", 2, "running", started=7)]
    sel = select_counted(runs)
    assert [(r.id, r.status) for r in sel.runs] == [("a0", "completed"), ("d1", "failed")]
    assert [r.id for r in sel.completed] == ["a0"]
    assert sel.why_history(runs[1]) == "seed 0 completed in run a0"
    assert sel.why_history(runs[4]) == "still running"


def test_runs_of_another_environment_are_history() -> None:
    runs = [_run("old0", 0, started=1, env="e1"), _run("old1", 1, started=1, env="e1"),
            _run("old2", 2, started=1, env="e1"), _run("new0", 0, started=9, env="e2")]
    sel = select_counted(runs)
    assert sel.environment == "e2" and [r.id for r in sel.runs] == ["new0"]
    assert "another environment" in sel.why_history(runs[1])


def test_environment_of_an_experiment_whose_runs_all_failed_is_its_newest() -> None:
    sel = select_counted([_run("a", 0, "failed", started=1, env="e1"), _run("b", 0, "failed", started=3, env="e2")])
    assert sel.environment == "e2" and [r.id for r in sel.runs] == ["b"]
    assert select_counted([]).runs == () and select_counted([]).environment is None


TRAIN = """
import json, os
seed = int(os.environ["TRIALWISE_SEED"])
print(json.dumps({"val_acc": 0.5 + seed / 100 + float(os.environ.get("BUMP", "0"))}))
"""


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return make_repo(tmp_path / "repo", f'command = "{PY} train.py"\nseeds = 3\n', {"train.py": TRAIN})


def test_ls_show_export_and_compare_use_the_same_runs_after_a_rerun(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    first = repo.tw_json("run", "--jobs", "3")
    monkeypatch.setenv("BUMP", "0.2")
    second = repo.tw_json("run", "--jobs", "3", "--rerun")
    exp = second["experiment"]["id"]
    assert first["experiment"]["id"] == exp
    newest = sorted(r["summary"]["val_acc"] for r in second["runs"])
    assert newest == pytest.approx([0.7, 0.71, 0.72])
    (row,) = [r for r in repo.tw_json("ls") if r["experiment"]["id"] == exp]
    assert row["runs"] == 3 and row["history"] == 3
    assert row["mean"] == pytest.approx(0.71)  # not the mean of 6 runs of 3 seeds (0.61)
    shown = repo.tw_json("show", exp)
    assert sorted(r["id"] for r in shown["runs"]) == sorted(r["id"] for r in second["runs"])
    assert {h["id"] for h in shown["history"]} == {r["id"] for r in first["runs"]}
    assert all("older run" in h["why"] for h in shown["history"])
    out = repo.path.parent / "points.csv"
    repo.tw("export", exp, "--out", str(out))
    import pandas as pd

    frame = pd.read_csv(out)
    assert set(frame.run_id) == {r["id"] for r in second["runs"]} and frame.counted.all()
    assert not frame.duplicated(["seed", "key", "step"]).any()
    repo.tw("export", exp, "--out", str(out), "--all-runs")
    frame = pd.read_csv(out)
    assert len(set(frame.run_id)) == 6 and (~frame.counted).sum() == 3
    # compare of the experiment with itself sees the same 3 seeds per arm
    cmp = repo.tw_json("compare", exp, exp, check=False)
    arm = cmp["decisions"][0]["baseline"]
    assert sorted(arm["values"]) == pytest.approx(newest)
