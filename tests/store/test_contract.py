"""The store's contract: one test case, run on SQLite and on a real PostgreSQL server (``store_url``).

Optuna's pattern for its storages: every behaviour a caller relies on is asserted once, against
each database trialwise supports, so a PostgreSQL team store answers exactly what a SQLite one does.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace

import pytest
from sqlalchemy import column as sa_column
from sqlalchemy import inspect, text
from sqlalchemy import table as sa_table

from tests.robust._store_helpers import experiment, store_with_experiment
from trialwise._exceptions import StoreError, UsageError
from trialwise.store import TERMINAL_STATUSES, connect
from trialwise.store import _schema as S


def test_a_store_is_created_from_empty_by_the_migrations(store_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from alembic.config import Config
    from trialwise.store._store import MIGRATIONS

    store = connect(store_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == head
        tables = set(inspect(conn).get_table_names())
    assert tables == set(S.metadata.tables) | {"alembic_version"}
    with store.engine.connect() as conn:  # the migrations create what _schema declares: tables, columns, types
        assert compare_metadata(MigrationContext.configure(conn), S.metadata) == []
    store.close()
    again = connect(store_url)  # reopening a current store migrates nothing and keeps the data
    assert again.experiments() == []
    again.close()


def test_a_store_of_the_first_schema_is_upgraded_with_its_data(store_url: str) -> None:
    from sqlalchemy import create_engine

    from alembic import command
    from alembic.config import Config
    from trialwise.store._store import MIGRATIONS

    engine = create_engine(store_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")  # a store written by trialwise before 64-bit steps
        conn.execute(S.experiments.insert().values(experiment("e1").to_dict() | {"command": "[]", "launch": "{}"}))
        conn.execute(S.runs.insert().values(id="r1", experiment_id="e1", seed=0, status="completed", dirty=False))
        # the row-per-point table of revisions 0001-0003 (revision 0004 moved points into chunks)
        rows = sa_table("metrics", *(sa_column(c) for c in ("run_id", "key", "step", "value", "time", "source")))
        conn.execute(rows.insert(), [
            {"run_id": "r1", "key": "loss", "step": 3, "value": 0.4, "time": 10.0, "source": "api"},
            {"run_id": "r1", "key": "loss", "step": 1, "value": 0.5, "time": None, "source": "api"},
            {"run_id": "r1", "key": "loss", "step": None, "value": None, "time": None, "source": "stdout"},
            {"run_id": "r1", "key": "acc", "step": 1, "value": float("inf"), "time": 11.0, "source": None},
        ])
        if conn.dialect.name == "postgresql":  # the next metric id beyond 32 bits
            conn.execute(text("SELECT setval(pg_get_serial_sequence('metrics', 'id'), 2147483647)"))
    engine.dispose()
    store = connect(store_url)
    got = store.metrics(["r1"])  # every point kept through 0003 (64-bit) and 0004 (chunks), in step order
    assert [p[:3] + (p[4],) for p in got] == [("r1", "acc", 1, 11.0), ("r1", "loss", None, None),
                                             ("r1", "loss", 1, None), ("r1", "loss", 3, 10.0)]
    assert got[0][3] == float("inf") and math.isnan(got[1][3]) and [p[3] for p in got[2:]] == [0.5, 0.4]
    counts = store.series_counts(["r1"])["r1"]
    assert counts["acc"] == ("", 1) and counts["loss"] in {("api", 2), ("stdout", 1)}
    store.add_metrics("r1", [("loss", 2**40, 0.25, None, "api")])
    assert store.series("r1")["loss"][0] == [None, 1, 3, 2**40]
    assert store.run("r1").status == "completed"


def test_a_store_from_a_newer_trialwise_is_a_clear_error(store_url: str) -> None:
    connect(store_url).close()
    from sqlalchemy import create_engine

    engine = create_engine(store_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(StoreError, match="schema revision 9999, newer than this trialwise knows"):
        connect(store_url)


def test_experiments(store_url: str) -> None:
    store = connect(store_url)
    first = experiment("abc123", created_at=1.0)
    assert store.upsert_experiment(first) == first
    assert store.upsert_experiment(replace(first, name="other", tag="v1")).name == "abc123"  # stored one wins
    assert store.experiment("abc123").tag == "v1"  # ...but a tag is recorded once
    store.set_experiment_tag("abc123", "v2")
    store.upsert_experiment(experiment("abd999", kind="sweep", commit_sha="c" * 40, created_at=2.0,
                                       command=["python", "train.py", "--lr", "0.1"], launch={"set": {"lr": 0.1}}))
    got = store.experiment("abd999")
    assert (got.command, got.launch, got.dirty) == (["python", "train.py", "--lr", "0.1"], {"set": {"lr": 0.1}}, False)
    assert [e.id for e in store.experiments()] == ["abc123", "abd999"]  # by creation time
    assert [e.id for e in store.experiments(kind="sweep")] == ["abd999"]
    assert [e.id for e in store.experiments(commit="c" * 40)] == ["abd999"]
    assert [e.id for e in store.find_experiments("ab")] == ["abc123", "abd999"]
    assert [e.id for e in store.find_experiments("v2")] == ["abc123"]
    assert store.find_experiments("a%") == [] and store.find_experiments("_bc") == []
    with pytest.raises(UsageError, match="no experiment with id 'nope'"):
        store.experiment("nope")


def test_runs_and_their_values(store_url: str) -> None:
    store, _ = store_with_experiment(store_url)
    run_id = store.create_run(experiment_id="e1", seed=3, host="h", user="u", pid=7, command=["python", "t.py"],
                              metric_files={"m.csv": "ab"}, env_hash="env", metric_version="mv", started_at=10.0)
    other = store.create_run(experiment_id="e1", seed=1, dirty=True)
    store.update_run(run_id, run_dir="/runs/x", ended_at=12.5)
    run = store.run(run_id[:6])
    assert (run.seed, run.status, run.host, run.user, run.pid, run.command, run.metric_files, run.dirty) == (
        3, "running", "h", "u", 7, ["python", "t.py"], {"m.csv": "ab"}, False)
    assert (run.run_dir, run.duration) == ("/runs/x", 2.5)
    assert [r.seed for r in store.runs("e1")] == [1, 3]  # by seed
    assert [r.id for r in store.runs(status="running")] == [other, run_id]
    assert store.run(other).dirty is True
    with pytest.raises(UsageError, match="no run with id 'zz'"):
        store.run("zz")


def test_claims_and_terminal_status(store_url: str) -> None:
    store, _ = store_with_experiment(store_url)
    claim = store.claim_run("e1", 0, metric_version="mv", env_hash="env", host="h")
    assert claim.created and store.run(claim.run_id).host == "h"
    assert store.claim_run("e1", 0, metric_version="mv", env_hash="env").outcome == "running"
    assert store.find_reusable("e1", 0, "mv", "env") is None
    assert store.set_terminal_status(claim.run_id, "completed", exit_code=0, ended_at=3.0)
    for status in TERMINAL_STATUSES:
        assert not store.set_terminal_status(claim.run_id, status, exit_code=9)
    assert store.find_reusable("e1", 0, "mv", "env").id == claim.run_id
    reused = store.claim_run("e1", 0, metric_version="mv", env_hash="env")
    assert (reused.outcome, reused.run_id, reused.run.exit_code) == ("reused", claim.run_id, 0)
    assert store.claim_run("e1", 0, metric_version="mv", env_hash="env", reuse=False).created


def test_metrics_add_replace_series(store_url: str) -> None:
    store, _ = store_with_experiment(store_url)
    a, b = store.create_run(experiment_id="e1", seed=0), store.create_run(experiment_id="e1", seed=1)
    key = "val/" + "k" * 290  # a long key (300 characters: the schema's limit) on both databases
    assert store.add_metrics(a, [("loss", 1, 0.5, 1.0, "api"), ("loss", 0, 1.0, 0.5, "api"),
                                 ("acc", 0, math.nan, None, "api"), (key, 2, math.inf, None, "api")]) == 4
    assert store.add_metrics(a, [("lr", None, 0.1, None, "stdout")]) == 1
    assert store.replace_metrics(b, "csv", [("loss", s, 2.0, None, "csv") for s in range(7000)]) == 7000
    assert store.replace_metrics(b, "csv", [("loss", s, 3.0, None, "csv") for s in range(3)]) == 3  # replaced
    points = store.metrics([a])
    assert [(p[1], p[2], p[3]) for p in points if p[1] == "loss"] == [("loss", 0, 1.0), ("loss", 1, 0.5)]
    assert [p[3] for p in points if p[1] == key] == [math.inf]
    assert math.isnan(next(p[3] for p in points if p[1] == "acc"))
    assert [p[0] for p in store.metrics([a, b], keys=["loss"])] == sorted([a, a, b, b, b])  # by run id
    series = store.series(a)
    assert series["loss"] == ([0, 1], [1.0, 0.5]) and series["lr"] == ([None], [0.1])
    assert store.series_counts([a, b]) == {a: {"loss": ("api", 2), "acc": ("api", 1), key: ("api", 1),
                                               "lr": ("stdout", 1)}, b: {"loss": ("csv", 3)}}
    assert store.series(b)["loss"] == ([0, 1, 2], [3.0, 3.0, 3.0])


def test_64_bit_steps_and_seeds_and_null_steps_first(store_url: str) -> None:
    store, _ = store_with_experiment(store_url)
    run_id = store.create_run(experiment_id="e1", seed=2**32 - 1)  # numpy's largest seed
    big = 2**62  # a step counted in tokens
    store.add_metrics(run_id, [("loss", big, 1.0, None, "api"), ("loss", -3, 2.0, None, "api"),
                               ("loss", None, 3.0, None, "api")])
    assert store.run(run_id).seed == 2**32 - 1
    assert store.series(run_id)["loss"] == ([None, -3, big], [3.0, 2.0, 1.0])


def test_summaries_params_environments_artifacts(store_url: str) -> None:
    store, _ = store_with_experiment(store_url)
    run_id = store.create_run(experiment_id="e1", seed=0)
    store.set_summary(run_id, {"loss": 0.25, "acc": math.nan})
    store.set_summary(run_id, {"loss": 0.125})  # one key replaced, the other kept
    summary = store.run(run_id).summary
    assert summary["loss"] == 0.125 and math.isnan(summary["acc"])
    store.set_params(run_id, {"lr": 0.1, "layers": [64, 64], "name": "ü"})
    store.set_params(run_id, {"lr": 0.2})
    assert store.params(run_id) == {"lr": 0.2, "layers": [64, 64], "name": "ü"}
    fingerprint = {"hash": "f" * 16, "python": "3.11", "packages": {"torch": "2.13.0"}}
    assert store.put_environment(fingerprint) == "f" * 16
    assert store.put_environment(fingerprint) == "f" * 16  # once
    assert store.environment("f" * 16) == fingerprint and store.environment("nope") is None
    store.add_artifact("dirty.patch", "patch", "/p/dirty.patch", experiment_id="e1")
    store.add_artifact("preds", "predictions", "/p/preds.csv", run_id=run_id)
    assert [a["name"] for a in store.artifacts(experiment_id="e1")] == ["dirty.patch"]
    assert [(a["kind"], a["path"]) for a in store.artifacts(run_id=run_id)] == [("predictions", "/p/preds.csv")]
    assert len(store.artifacts()) == 2


def test_pandas_views(store_url: str) -> None:
    store, _ = store_with_experiment(store_url)
    run_id = store.create_run(experiment_id="e1", seed=4)
    store.add_metrics(run_id, [("loss", s, 1.0 / (s + 1), None, "api") for s in range(5)])
    store.set_summary(run_id, {"loss": 0.2})
    assert store.experiments_df()["id"].tolist() == ["e1"]
    assert store.runs_df("e1")["summary.loss"].tolist() == [0.2]
    frame = store.metrics_df("e1")
    assert frame["seed"].tolist() == [4] * 5 and frame["step"].tolist() == list(range(5))


def test_timestamps_keep_their_precision(store_url: str) -> None:
    store, _ = store_with_experiment(store_url)
    now = time.time()
    run_id = store.create_run(experiment_id="e1", seed=0, started_at=now)
    assert store.run(run_id).started_at == now  # a double on both (not a REAL of 4 bytes)
