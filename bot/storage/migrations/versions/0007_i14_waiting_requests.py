"""requests acknowledged and waiting for their answer (checks off the request threads)

Revision ID: 0007_i14
Revises: 0007_i16
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_i14"
down_revision = "0007_i16"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "waiting_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("slack_user_id", sa.String(length=32), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("waiting_key", sa.String(length=64), nullable=True),
        sa.Column("busy", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("available_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("waiting_key"),
        # Numbers never reused (see bot/storage/models.py).
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("waiting_requests") as batch_op:
        batch_op.create_index("ix_waiting_requests_available_at", ["available_at"], unique=False)
        batch_op.create_index("ix_waiting_requests_slack_user_id", ["slack_user_id"], unique=False)


def downgrade() -> None:
    op.drop_table("waiting_requests")
