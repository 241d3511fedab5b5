"""The store under concurrency and restricted access (issue 17, items 2 and 7).

Real SQLite files and a real PostgreSQL server (``store_url``: each test that is not about SQLite's
locks or file permissions runs on both), real processes racing on them: counted points, never "0 lost, 0 duplicated"
by luck of timing alone (every racer waits at a start line, then they all go).
"""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.robust._store_helpers import START_LINE, release, store_with_experiment
from trialwise._exceptions import StoreError
from trialwise.store import TERMINAL_STATUSES, connect
from trialwise.store import _store as store_module

PY = sys.executable


def _race(tmp_path: Path, body: str, args: list[list[str]]) -> list[str]:
    """Start one process per ``args`` running ``body`` after the start line; their stdouts."""
    script = tmp_path / "racer.py"
    script.write_text(START_LINE + body)
    flag = tmp_path / "go"
    procs = [subprocess.Popen([PY, str(script), str(flag), *a], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for a in args]
    release(tmp_path, flag, len(procs), procs)
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outs]
    return [o[0] for o in outs]


REPLACER = """
from trialwise.store import connect
store = connect(sys.argv[2])
run_ids = sys.argv[3].split(",")
n = int(sys.argv[4])
wait_for_start(sys.argv[1])
for round_ in range(2):
    for run_id in run_ids:
        for source in ("api", "stdout"):
            store.replace_metrics(run_id, source, [("loss", s, 1.0 / (s + 1), None, source) for s in range(n)])
"""


def test_concurrent_replacements_never_duplicate_points(tmp_path: Path, store_url: str) -> None:
    store, url = store_with_experiment(store_url)
    runs = [store.create_run(experiment_id="e1", seed=s) for s in range(2)]
    n = 6_000  # two insert chunks: an unguarded delete+insert interleaves between them
    _race(tmp_path, REPLACER, [[url, ",".join(runs), str(n)] for _ in range(4)])
    points = store.metrics(runs)
    per_run = Counter(p[0] for p in points)
    assert per_run == {r: 2 * n for r in runs}
    assert all(c == 2 for c in Counter((p[0], p[2]) for p in points).values())  # one point per source and step


def test_a_reader_sees_old_or_new_points_never_none(tmp_path: Path, store_url: str) -> None:
    """Delete and insert are one transaction: a reader between them would see a run without points."""
    store, url = store_with_experiment(store_url)
    run_id = store.create_run(experiment_id="e1", seed=0)
    store.replace_metrics(run_id, "api", [("loss", s, 1.0, None, "api") for s in range(8000)])
    reader = connect(url)
    script = tmp_path / "replacer.py"
    script.write_text(START_LINE + REPLACER)
    (tmp_path / "go").write_text("go")  # no start line to wait for
    writer = subprocess.Popen([PY, str(script), str(tmp_path / "go"), url, run_id, "8000"],
                              stderr=subprocess.PIPE, text=True)
    seen = set()
    while writer.poll() is None:
        seen.add(len(reader.metrics([run_id])))
    assert writer.returncode == 0, writer.stderr.read() if writer.stderr else ""
    # api: always 8000; stdout: 0 before its first replacement, then 8000
    assert seen <= {8000, 16000}, seen


CLAIMER = """
from trialwise.store import connect
store = connect(sys.argv[2])
wait_for_start(sys.argv[1])
for seed in range(8):
    claim = store.claim_run("e1", seed, metric_version="mv", env_hash="env", pid=os.getpid())
    print(seed, claim.outcome, claim.run_id)
"""


def test_identical_launches_at_once_claim_each_seed_once(tmp_path: Path, store_url: str) -> None:
    store, url = store_with_experiment(store_url)
    outs = _race(tmp_path, CLAIMER, [[url] for _ in range(4)])
    claims = [line.split() for out in outs for line in out.splitlines()]
    created = [c for c in claims if c[1] == "created"]
    assert sorted(int(c[0]) for c in created) == list(range(8))
    assert all(c[1] == "running" for c in claims if c not in created)
    by_seed = {int(c[0]): c[2] for c in created}
    assert all(c[2] == by_seed[int(c[0])] for c in claims)  # the losers were told the winner's run
    runs = store.runs("e1")
    assert sorted(r.seed for r in runs) == list(range(8))


def test_claim_reuses_a_completed_run_and_creates_after_a_terminal_one(store_url: str) -> None:
    store, _url = store_with_experiment(store_url)
    first = store.claim_run("e1", 0, metric_version="mv", env_hash="env")
    assert first.created
    assert store.claim_run("e1", 0, metric_version="mv", env_hash="env").outcome == "running"
    assert store.claim_run("e1", 0, metric_version="mv", env_hash="other").created  # another environment
    store.set_terminal_status(first.run_id, "completed", exit_code=0)
    again = store.claim_run("e1", 0, metric_version="mv", env_hash="env")
    assert (again.outcome, again.run_id, again.run.status) == ("reused", first.run_id, "completed")
    assert store.claim_run("e1", 0, metric_version="mv", env_hash="env", reuse=False).created  # --rerun


def test_a_terminal_status_is_never_overwritten(store_url: str) -> None:
    store, _url = store_with_experiment(store_url)
    run_id = store.create_run(experiment_id="e1", seed=0)
    assert store.set_terminal_status(run_id, "completed", exit_code=0)
    for status in TERMINAL_STATUSES:
        assert not store.set_terminal_status(run_id, status, exit_code=9, error="late")
    run = store.run(run_id)
    assert (run.status, run.exit_code, run.error) == ("completed", 0, None)
    with pytest.raises(ValueError, match="not a terminal status"):
        store.set_terminal_status(run_id, "running")


CLOSER = """
from trialwise.store import connect
store = connect(sys.argv[2])
status = sys.argv[3]
run_ids = [r.id for r in store.runs("e1")]
wait_for_start(sys.argv[1])
for run_id in run_ids:
    if store.set_terminal_status(run_id, status):
        print(run_id)
"""


def test_racing_closers_one_wins_per_run(tmp_path: Path, store_url: str) -> None:
    store, url = store_with_experiment(store_url)
    runs = [store.create_run(experiment_id="e1", seed=s) for s in range(30)]
    statuses = ["completed", "crashed", "killed", "failed"]
    outs = _race(tmp_path, CLOSER, [[url, s] for s in statuses])
    winners = {run_id: status for status, out in zip(statuses, outs) for run_id in out.split()}
    assert sorted(winners) == sorted(runs)  # exactly one winner each (a dict would hide two)
    assert sum(len(out.split()) for out in outs) == len(runs)
    assert {r.id: r.status for r in store.runs("e1")} == winners


def test_reads_do_not_take_the_write_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A writer holds the lock; with no busy wait at all, every read still answers at once."""
    store, url = store_with_experiment(tmp_path / "store.db")
    run_id = store.create_run(experiment_id="e1", seed=0)
    store.add_metrics(run_id, [("loss", 0, 1.0, None, "api")])
    monkeypatch.setattr(store_module, "SQLITE_BUSY_TIMEOUT_MS", 0)
    reader = connect(url)
    holder = sqlite3.connect(tmp_path / "store.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("UPDATE runs SET status = 'crashed'")  # not committed: readers see the snapshot
    try:
        assert [r.status for r in reader.runs("e1")] == ["running"]
        assert len(reader.metrics([run_id])) == 1
        assert reader.experiment("e1").name == "e1"
        assert reader.find_experiments("e1") and reader.run(run_id).id == run_id
        with pytest.raises(StoreError, match="locked"):
            reader.create_run(experiment_id="e1", seed=1)  # writes still wait (here: not at all)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_like_wildcards_in_look_ups_are_literal(store_url: str) -> None:
    store, _url = store_with_experiment(store_url)
    run_id = store.create_run(experiment_id="e1", seed=0)
    assert store.find_experiments("%") == [] and store.find_experiments("_1") == []
    assert [e.id for e in store.find_experiments("e")] == ["e1"]
    with pytest.raises(Exception, match="no run with id '%'"):
        store.run("%")
    with pytest.raises(Exception, match="no run with id '___'"):
        store.run("_" * 3)
    assert store.run(run_id[:4]).id == run_id


@contextmanager
def _without_write_permission(directory: Path) -> Iterator[None]:
    """``directory`` and its files read-only for this process (as root: while acting as nobody)."""
    files = list(directory.iterdir())
    for f in files:
        f.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    directory.chmod(0o555)
    as_root = os.geteuid() == 0
    try:
        if as_root:
            os.seteuid(65534)
        yield
    finally:
        if as_root:
            os.seteuid(0)
        directory.chmod(0o755)
        for f in files:
            f.chmod(0o644)


@pytest.mark.parametrize("leave_wal", [False, True])
def test_a_read_only_store_can_be_read(leave_wal: bool) -> None:
    directory = Path(tempfile.mkdtemp())  # not under tmp_path: its parents are private to the test user
    directory.chmod(0o755)
    store, url = store_with_experiment(directory / "store.db")
    run_id = store.create_run(experiment_id="e1", seed=0)
    store.add_metrics(run_id, [("loss", s, 1.0, None, "api") for s in range(10)])
    keep_open = connect(url) if leave_wal else None  # an open connection keeps -wal and -shm
    if keep_open is not None:
        keep_open.runs()
    else:
        store.close()
    connect(url).close()  # imports done before the permissions change
    with _without_write_permission(directory):
        ro = connect(url)
        assert ro.read_only
        assert [r.id for r in ro.runs("e1")] == [run_id]
        assert len(ro.metrics([run_id])) == 10
        assert ro.series_counts([run_id]) == {run_id: {"loss": ("api", 10)}}
        with pytest.raises(StoreError, match="read-only"):
            ro.create_run(experiment_id="e1", seed=1)
        ro.close()
    if keep_open is not None:
        keep_open.close()


def test_a_store_under_an_unwritable_path_is_a_clear_error() -> None:
    directory = Path(tempfile.mkdtemp())
    directory.chmod(0o755)
    connect(f"sqlite:///{directory}/warm.db").close()
    with _without_write_permission(directory), pytest.raises(StoreError, match="cannot create the store's directory"):
        connect(f"sqlite:///{directory}/sub/store.db")
    with _without_write_permission(directory), pytest.raises(StoreError, match="its directory is not writable"):
        connect(f"sqlite:///{directory}/store.db")
