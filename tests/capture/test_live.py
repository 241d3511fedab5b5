"""Live ingestion: points reach the store while the run goes, the end adds only what is missing,
the final content equals ingestion at the end alone, and kill -9 of the runner loses nothing."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.capture.test_crash import _wait_for
from tests.conftest import activated_env, make_repo
from trialwise.runner._ingest import ingest_run_dir
from trialwise.runner._live import LiveRun, finalize

pytestmark = pytest.mark.slow

SCRIPT = """
import json, os, sys, time
from pathlib import Path
from torch.utils.tensorboard import SummaryWriter
writer = SummaryWriter("tb")                      # relative: inside the run's worktree
go = Path(os.environ["GO_FILE"])
for step in range(5):
    print(json.dumps({"step": step, "loss": 1 / (step + 1)}), flush=True)
    writer.add_scalar("val_acc", 0.5 + step / 20, step)
    writer.flush()
while not go.exists():
    time.sleep(0.05)
for step in range(5, 8):
    print({"epoch": step / 2, "loss": 1 / (step + 1)}, flush=True)   # fractional epochs: steps re-assigned
    writer.add_scalar("val_acc", 0.5 + step / 20, step)
writer.close()
print("final {'val_acc': 0.9}")
"""


def _stored(store, run_id):
    return Counter((k, s, None if math.isnan(v) else v) for _r, k, s, v, _t in store.metrics([run_id]))


def _full_read(run_dir: Path):
    return Counter((k, s, None if math.isnan(v) else v) for k, s, v, _t, _src in ingest_run_dir(run_dir).points)


def _start(repo, go: Path):
    env = {**activated_env(), "GO_FILE": str(go)}
    return subprocess.Popen([sys.executable, "-m", "trialwise", "run", "--seeds", "1"], cwd=repo.path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_points_are_stored_while_the_run_goes_and_the_end_adds_only_what_is_missing(tmp_path):
    repo = make_repo(tmp_path / "r", 'command = "python train.py"\n', {"train.py": SCRIPT})
    go = tmp_path / "go"
    driver = _start(repo, go)
    try:
        def live_points():
            runs = repo.store().runs()
            if not runs:
                return None
            got = _stored(repo.store(), runs[0].id)
            return runs[0] if sum(n for (k, _s, _v), n in got.items() if k in ("loss", "val_acc")) >= 10 else None

        run = _wait_for(live_points, "10 live points (5 stdout, 5 TensorBoard from the worktree)")
        assert repo.store().run(run.id).status == "running"
        ls = repo.tw_json("ls")
        assert ls[0]["status"] == {"running": 1}
        go.write_text("go")
        assert driver.wait(timeout=120) == 0
    finally:
        if driver.poll() is None:
            driver.kill()
    store = repo.store()
    done = store.run(run.id)
    assert done.status == "completed"
    stored = _stored(store, run.id)
    assert stored == _full_read(Path(done.run_dir))  # what ingestion at the end alone stores
    assert max(stored.values()) == 1  # no point twice
    assert done.summary["val_acc"] == pytest.approx(0.85)


def test_finalize_keeps_the_live_rows_and_replaces_a_source_that_changed(tmp_path):
    from trialwise.store import connect

    store = connect(f"sqlite:///{tmp_path / 's.db'}")
    from trialwise.store._records import Experiment

    store.upsert_experiment(Experiment(id="e", name="e", kind="run", commit_sha="0" * 40, ref="HEAD", branch=None,
                                       command=[], launch={}, profile=None, mode=None, metric_name="val_acc",
                                       metric_direction="max", dirty=False, tag=None, created_at=0.0))
    run_id = store.create_run(experiment_id="e", seed=0, status="running")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "stdout.log").write_text('{"step": 0, "loss": 1.0}\n{"step": 1, "loss": 0.5}\n')
    live = LiveRun(run_id, run_dir)
    assert live.ingest(store) == 2
    ids_before = {r for r in _row_ids(store, run_id)}
    with (run_dir / "stdout.log").open("a") as fh:
        fh.write('{"step": 2, "loss": 0.25}')  # no newline yet: not read live
    assert live.ingest(store) == 0
    finalize(store, run_id, ingest_run_dir(run_dir).points, live)
    ids_after = set(_row_ids(store, run_id))
    # the live chunk stayed as stored; one point was added
    assert ids_before <= ids_after and len(store.metrics([run_id])) == 3
    # a source whose steps changed after the fact is replaced, still without duplicates
    live2 = LiveRun(run_id, run_dir)
    live2.stored.update({("loss", 99, 1.0, None, "stdout"): 1})
    finalize(store, run_id, ingest_run_dir(run_dir).points, live2)
    assert sorted(s for _r, _k, s, _v, _t in store.metrics([run_id])) == [0, 1, 2]


def _row_ids(store, run_id):
    from sqlalchemy import select

    from trialwise.store import _schema as S

    with store.engine.connect() as conn:
        return [r.id for r in conn.execute(select(S.metric_chunks.c.id).where(S.metric_chunks.c.run_id == run_id))]


def test_kill_9_of_the_runner_loses_no_ingested_point(tmp_path):
    repo = make_repo(tmp_path / "r", 'command = "python train.py"\n', {"train.py": SCRIPT})
    driver = _start(repo, tmp_path / "never")

    def live_points():
        runs = repo.store().runs()
        return runs and sum(_stored(repo.store(), runs[0].id).values()) >= 10 and runs[0]

    run = _wait_for(live_points, "live points")
    seen = _stored(repo.store(), run.id)
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    pid = repo.store().run(run.id).pid
    os.killpg(pid, signal.SIGKILL)
    _wait_for(lambda: subprocess.run(["ps", "-p", str(pid)], capture_output=True).returncode != 0, "the script to end")
    assert repo.tw_json("ls")[0]["status"] == {"crashed": 1}
    after = _stored(repo.store(), run.id)
    assert not (seen - after)  # every point ingested live is still there
    assert max(after.values()) == 1


DELETES = """
import json, os, time
from pathlib import Path
import trialwise as tw
tw.init()
for step in range(5):
    tw.log({"val_acc": 0.1 * step}, step=step)
    time.sleep(0.3)
tw.finish()                                       # flush metrics.jsonl
time.sleep(3)                                     # live ingestion reads the flushed file
os.remove(Path(os.environ["TRIALWISE_RUN_DIR"]) / "metrics.jsonl")
"""


def test_a_metrics_file_deleted_mid_run_keeps_the_points_read_live_and_says_so(tmp_path):
    repo = make_repo(tmp_path / "r", 'command = "python train.py"\n', {"train.py": DELETES})
    res = repo.tw_json("run", "--seeds", "1", env={"TRIALWISE_LIVE_INTERVAL": "0.5"})
    (run,) = res["runs"]
    assert run["status"] == "completed"
    assert "were gone when it ended" in (run["error"] or "")
    assert run["summary"]["val_acc"] == pytest.approx(0.4)
    assert len(repo.store().metrics([run["id"]])) == 5
