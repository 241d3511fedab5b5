"""Initial schema: experiments, runs, params, metrics, summaries, environments, artifacts.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("commit_sha", sa.String(64), nullable=False),
        sa.Column("ref", sa.String(200)),
        sa.Column("branch", sa.String(200)),
        sa.Column("command", sa.Text, nullable=False),
        sa.Column("launch", sa.Text, nullable=False),
        sa.Column("profile", sa.String(64)),
        sa.Column("mode", sa.String(64)),
        sa.Column("metric_name", sa.String(200)),
        sa.Column("metric_direction", sa.String(8)),
        sa.Column("dirty", sa.Boolean, nullable=False),
        sa.Column("tag", sa.String(200)),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("experiment_id", sa.String(16), sa.ForeignKey("experiments.id"), nullable=False),
        sa.Column("seed", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("exit_code", sa.Integer),
        sa.Column("started_at", sa.Float),
        sa.Column("ended_at", sa.Float),
        sa.Column("host", sa.String(200)),
        sa.Column("user", sa.String(200)),
        sa.Column("pid", sa.Integer),
        sa.Column("run_dir", sa.Text),
        sa.Column("command", sa.Text),
        sa.Column("env_hash", sa.String(32)),
        sa.Column("metric_version", sa.String(32)),
        sa.Column("metric_files", sa.Text),
        sa.Column("dirty", sa.Boolean, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("reused_from", sa.String(16)),
    )
    op.create_index("ix_runs_experiment", "runs", ["experiment_id", "seed"])
    op.create_table(
        "params",
        sa.Column("run_id", sa.String(16), sa.ForeignKey("runs.id"), primary_key=True),
        sa.Column("key", sa.String(300), primary_key=True),
        sa.Column("value", sa.Text),
    )
    op.create_table(
        "metrics",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(16), sa.ForeignKey("runs.id"), nullable=False),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("step", sa.Integer),
        sa.Column("value", sa.Float),
        sa.Column("time", sa.Float),
        sa.Column("source", sa.String(16)),
    )
    op.create_index("ix_metrics_run_key", "metrics", ["run_id", "key", "step"])
    op.create_table(
        "summaries",
        sa.Column("run_id", sa.String(16), sa.ForeignKey("runs.id"), primary_key=True),
        sa.Column("key", sa.String(300), primary_key=True),
        sa.Column("value", sa.Float),
    )
    op.create_table(
        "environments",
        sa.Column("hash", sa.String(32), primary_key=True),
        sa.Column("data", sa.Text, nullable=False),
    )
    op.create_table(
        "artifacts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("experiment_id", sa.String(16), sa.ForeignKey("experiments.id")),
        sa.Column("run_id", sa.String(16), sa.ForeignKey("runs.id")),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for name in ("artifacts", "environments", "summaries", "metrics", "params", "runs", "experiments"):
        op.drop_table(name)
