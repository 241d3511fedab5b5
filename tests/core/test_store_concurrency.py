"""Parallel writers on one store (SQLite and a real PostgreSQL server): never "database is locked", never a lost point."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import make_repo
from tests.robust._store_helpers import store_with_experiment

PY = sys.executable

WRITER = """
import sys
from trialwise.store import connect
store = connect(sys.argv[1])
exp_id = sys.argv[2]
for i in range(40):
    run_id = store.create_run(experiment_id=exp_id, seed=int(sys.argv[3]) * 1000 + i)
    store.add_metrics(run_id, [("loss", s, 1.0 / (s + 1), None, "api") for s in range(250)])
    store.set_summary(run_id, {"loss": 0.1})
    store.update_run(run_id, status="completed")
"""


def test_many_processes_write_at_once(tmp_path: Path, store_url: str) -> None:
    store, url = store_with_experiment(store_url)
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    procs = [subprocess.Popen([PY, str(script), url, "e1", str(i)], stderr=subprocess.PIPE, text=True) for i in range(6)]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), errors
    runs = store.runs("e1")
    assert len(runs) == 6 * 40 and all(r.status == "completed" for r in runs)
    assert len(store.metrics([r.id for r in runs])) == 6 * 40 * 250


def test_two_runners_at_once_in_one_repo(tmp_path: Path, store_url: str) -> None:
    train = """
import trialwise as tw
tw.init()
for step in range(3000):
    tw.log({"train_loss": 1.0 / (step + 1)}, step=step)
tw.log({"val_acc": 0.5}, step=3000)
"""
    store_line = "" if store_url.startswith("sqlite") else f'store = "{store_url}"\n'  # else the default
    repo = make_repo(tmp_path / "r", f'command = "{PY} train.py"\n{store_line}', {"train.py": train})
    procs = [subprocess.Popen([PY, "-m", "trialwise", "run", "--seeds", "3", "--jobs", "3", "--seed-list", seeds, "--json"],
                              cwd=repo.path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for seeds in ("0,1,2", "3,4,5")]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    store = repo.store()
    runs = store.runs()
    assert len(runs) == 6 and all(r.status == "completed" for r in runs)
    frame = store.metrics_df(keys=["train_loss"])
    assert frame.groupby("run_id").size().tolist() == [3000] * 6
