"""Table definitions (SQLAlchemy Core).  Migrations in ``migrations/`` must mirror this module."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

BIGINT = BigInteger().with_variant(Integer, "sqlite")
"""A 64-bit integer: ``BIGINT`` on PostgreSQL, whose ``INTEGER`` is 32-bit (steps counted in tokens,
seeds up to 2**32 - 1 overflow it); ``INTEGER`` on SQLite, which is 64-bit already and is the only
type that makes a primary key the rowid (https://www.sqlite.org/lang_createtable.html#rowid)."""

experiments = Table(
    "experiments",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(32), nullable=False, default="run"),
    Column("commit_sha", String(64), nullable=False),
    Column("ref", String(200)),
    Column("branch", String(200)),
    Column("command", Text, nullable=False),  # JSON list
    Column("launch", Text, nullable=False),  # JSON: profile, mode, set, env, workdir
    Column("profile", String(64)),
    Column("mode", String(64)),
    Column("metric_name", String(200)),
    Column("metric_direction", String(8)),
    Column("dirty", Boolean, nullable=False, default=False),
    Column("tag", String(200)),
    Column("created_at", Float, nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("experiment_id", String(16), ForeignKey("experiments.id"), nullable=False),
    Column("seed", BIGINT, nullable=False),
    Column("status", String(16), nullable=False),
    Column("exit_code", Integer),
    Column("started_at", Float),
    Column("ended_at", Float),
    Column("host", String(200)),
    Column("user", String(200)),
    Column("pid", Integer),
    Column("run_dir", Text),
    Column("command", Text),  # JSON list, as launched
    Column("env_hash", String(32)),
    Column("metric_version", String(32)),
    Column("metric_files", Text),  # JSON {path: hash}
    Column("dirty", Boolean, nullable=False, default=False),
    Column("error", Text),
    Column("reused_from", String(16)),
    Index("ix_runs_experiment", "experiment_id", "seed"),
    Index("ix_runs_status", "status"),  # recover_stale_runs: the runs still running (migration 0002)
)

params = Table(
    "params",
    metadata,
    Column("run_id", String(16), ForeignKey("runs.id"), primary_key=True),
    Column("key", String(300), primary_key=True),
    Column("value", Text),  # JSON
)

metric_chunks = Table(
    "metric_chunks",
    metadata,
    Column("id", BIGINT, primary_key=True, autoincrement=True),
    Column("run_id", String(16), ForeignKey("runs.id"), nullable=False),
    Column("key", String(300), nullable=False),
    Column("source", String(16)),  # api | stdout | tensorboard | csv | text | mlflow | wandb (imports)
    Column("n", Integer, nullable=False),  # points in the chunk
    # packed little-endian arrays (store/_points.py): int64 steps, float64 values and times
    Column("steps", LargeBinary, nullable=False),
    Column("vals", LargeBinary, nullable=False),
    Column("times", LargeBinary, nullable=False),  # empty: no point of the chunk has a time
    Index("ix_metric_chunks_run_key", "run_id", "key", "id"),
)
"""Metric points, a chunk per run, key and source (migration 0004 replaced a row per point)."""

summaries = Table(
    "summaries",
    metadata,
    Column("run_id", String(16), ForeignKey("runs.id"), primary_key=True),
    Column("key", String(300), primary_key=True),
    Column("value", Float),
)

environments = Table(
    "environments",
    metadata,
    Column("hash", String(32), primary_key=True),
    Column("data", Text, nullable=False),  # JSON fingerprint
)

artifacts = Table(
    "artifacts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("experiment_id", String(16), ForeignKey("experiments.id")),
    Column("run_id", String(16), ForeignKey("runs.id")),
    Column("name", String(300), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("path", Text, nullable=False),
)
