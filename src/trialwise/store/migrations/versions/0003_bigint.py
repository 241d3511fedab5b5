"""64-bit metric steps, metric ids and seeds on PostgreSQL (SQLite's INTEGER is 64-bit already).

PostgreSQL's ``INTEGER`` is 32-bit: a step counted in tokens (> 2**31), a seed up to 2**32 - 1 or a
store past 2**31 metric points would not fit. SQLite stores are left as they are.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.alter_column("metrics", "step", type_=sa.BigInteger, existing_type=sa.Integer)
    op.alter_column("metrics", "id", type_=sa.BigInteger, existing_type=sa.Integer, existing_nullable=False)
    sequence = bind.execute(sa.text("SELECT pg_get_serial_sequence('metrics', 'id')")).scalar()
    if sequence:
        op.execute(f"ALTER SEQUENCE {sequence} AS bigint")
    op.alter_column("runs", "seed", type_=sa.BigInteger, existing_type=sa.Integer, existing_nullable=False)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.alter_column("runs", "seed", type_=sa.Integer, existing_type=sa.BigInteger, existing_nullable=False)
    sequence = bind.execute(sa.text("SELECT pg_get_serial_sequence('metrics', 'id')")).scalar()
    if sequence:
        op.execute(f"ALTER SEQUENCE {sequence} AS integer")
    op.alter_column("metrics", "id", type_=sa.Integer, existing_type=sa.BigInteger, existing_nullable=False)
    op.alter_column("metrics", "step", type_=sa.Integer, existing_type=sa.BigInteger)
