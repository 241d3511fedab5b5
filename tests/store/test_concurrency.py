"""Sixteen writer processes at full speed on one new store, SQLite and PostgreSQL: every point counted.

The writers (forked processes, each opening its own connections) wait at a barrier, then all open the empty store at once (one migrates it, the
others wait and find it current), record the same experiment and environment, claim the same
seed (one creates the run, the others are told it is running) and log their own run's points in
small transactions with no pause, as live ingestion does. Nothing may be lost, nothing stored
twice, and no process may fail (a "database is locked" or a unique-key error exits non-zero).
"""

from __future__ import annotations

import math
import multiprocessing
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

from tests.robust._store_helpers import experiment
from trialwise.store import connect
from trialwise.store import _schema as S

WRITERS = 16
POINTS = 2_000
BATCH = 20
"""Points per transaction: a live ingestion flushes what it read since the last flush."""

def _writer(url: str, me: int, start: Any, results: Any) -> None:
    """One writer process: waits at ``start`` with the others, then records as fast as it can."""
    try:
        start.wait()
        store = connect(url)
        store.upsert_experiment(experiment("e1", created_at=1.0))
        env = store.put_environment({"hash": "env1", "python": "3"})
        shared = store.claim_run("e1", 0, metric_version="mv", env_hash=env).run_id
        mine = store.create_run(experiment_id="e1", seed=100 + me, env_hash=env)
        for first in range(0, POINTS, BATCH):
            store.add_metrics(mine, [("loss", s, me + 1.0 / (s + 1), float(s), "api")
                                     for s in range(first, first + BATCH)])
        store.set_summary(shared, {"last_writer": float(me)})
        store.set_params(shared, {"writer": me})
        store.set_summary(mine, {"loss": me + 1.0 / POINTS})
        assert store.set_terminal_status(mine, "completed", exit_code=0)
        results.put((shared, mine))
    except BaseException:
        results.put(("error", traceback.format_exc()))
        raise


def _warm_imports(tmp_path: Path) -> None:
    """Import everything a writer needs before forking: 16 interpreters importing SQLAlchemy, Alembic
    and psycopg at once would spend the test's time on imports, not on the store."""
    import sqlalchemy.dialects.postgresql.psycopg  # noqa: F401

    connect(f"sqlite:///{tmp_path / 'warm.db'}").close()  # Alembic, migrations, the SQLite dialect


def test_sixteen_writers_at_full_speed_lose_nothing(tmp_path: Path, store_url: str) -> None:
    _warm_imports(tmp_path)
    ctx = multiprocessing.get_context("fork")  # real processes, each with its own connections
    start, results = ctx.Barrier(WRITERS), ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(store_url, i, start, results)) for i in range(WRITERS)]
    for p in procs:
        p.start()
    outs = [results.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    errors = [out[1] for out in outs if out[0] == "error"]
    assert not errors and [p.exitcode for p in procs] == [0] * WRITERS, errors
    shared_ids, mine = zip(*outs)
    assert len(set(shared_ids)) == 1  # one run for seed 0, every writer told the same one

    store = connect(store_url)
    assert [e.id for e in store.experiments()] == ["e1"]
    with store.engine.connect() as conn:
        assert conn.execute(S.environments.select()).all() == [("env1", '{"hash": "env1", "python": "3"}')]
    runs = {r.id: r for r in store.runs("e1")}
    assert sorted(runs) == sorted({*shared_ids, *mine}) and len(runs) == WRITERS + 1
    assert sorted(runs[m].seed for m in mine) == [100 + i for i in range(WRITERS)]
    assert all(runs[m].status == "completed" for m in mine)
    points = store.metrics(list(mine))
    assert len(points) == WRITERS * POINTS
    assert set(Counter((run_id, step) for run_id, _k, step, _v, _t in points).values()) == {1}  # no duplicate
    for run_id, _key, step, value, t in points:
        me = runs[run_id].seed - 100
        assert (value, t) == (me + 1.0 / (step + 1), float(step))  # each writer's own points, intact
    assert 0 <= runs[shared_ids[0]].summary["last_writer"] < WRITERS  # one value: the last upsert's
    assert 0 <= store.params(shared_ids[0])["writer"] < WRITERS
    assert all(math.isclose(runs[m].summary["loss"], runs[m].seed - 100 + 1.0 / POINTS) for m in mine)
