"""Metric points as packed chunks (a run's key from one source per chunk) instead of a row per point.

Loading one experiment's curves read a row per point (a run id, a key and an index entry each,
≈ 93 bytes on SQLite, a Python tuple each to read); a chunk stores 16–24 bytes a point and is read as
a buffer (issue 16; the encoding is ``trialwise/store/_points.py``). Every stored point is moved, in
its order, run by run; then the old table is dropped.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from trialwise.store._points import STEP_NONE, pack, unpack

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def _chunks_table() -> sa.Table:
    return op.create_table(
        "metric_chunks",
        sa.Column("id", BIGINT, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(16), sa.ForeignKey("runs.id"), nullable=False),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("source", sa.String(16)),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("steps", sa.LargeBinary, nullable=False),
        sa.Column("vals", sa.LargeBinary, nullable=False),
        sa.Column("times", sa.LargeBinary, nullable=False),
    )


def _points_table() -> sa.Table:
    return op.create_table(
        "metrics",
        sa.Column("id", BIGINT, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(16), sa.ForeignKey("runs.id"), nullable=False),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("step", sa.BigInteger().with_variant(sa.Integer, "sqlite")),
        sa.Column("value", sa.Float),
        sa.Column("time", sa.Float),
        sa.Column("source", sa.String(16)),
    )


def upgrade() -> None:
    bind = op.get_bind()
    chunks = _chunks_table()
    op.create_index("ix_metric_chunks_run_key", "metric_chunks", ["run_id", "key", "id"])
    old = sa.Table("metrics", sa.MetaData(), autoload_with=bind)
    run_ids = bind.execute(sa.select(old.c.run_id).distinct()).scalars().all()
    for run_id in run_ids:
        rows = bind.execute(sa.select(old.c.key, old.c.step, old.c.value, old.c.time, old.c.source)
                            .where(old.c.run_id == run_id).order_by(old.c.id)).all()
        packed = pack((k, s, v, t, src or "") for k, s, v, t, src in rows)
        bind.execute(sa.insert(chunks), [{"run_id": run_id, "key": c.key, "source": c.source or None, "n": c.n,
                                          "steps": c.steps, "vals": c.values, "times": c.times} for c in packed])
    op.drop_index("ix_metrics_run_key", table_name="metrics")
    op.drop_table("metrics")


def downgrade() -> None:
    bind = op.get_bind()
    points = _points_table()
    op.create_index("ix_metrics_run_key", "metrics", ["run_id", "key", "step"])
    chunks = sa.Table("metric_chunks", sa.MetaData(), autoload_with=bind)
    for run_id, key, source, n, steps, vals, times in bind.execute(sa.select(
            chunks.c.run_id, chunks.c.key, chunks.c.source, chunks.c.n, chunks.c.steps, chunks.c.vals, chunks.c.times)
            .order_by(chunks.c.id)).all():
        series = unpack([(n, steps, vals, times)])
        bind.execute(sa.insert(points), [
            {"run_id": run_id, "key": key, "source": source, "step": None if s == STEP_NONE else s,
             "value": None if v != v else v, "time": None if t != t else t}
            for s, v, t in zip(series.steps, series.values, series.times)])
    op.drop_index("ix_metric_chunks_run_key", table_name="metric_chunks")
    op.drop_table("metric_chunks")
