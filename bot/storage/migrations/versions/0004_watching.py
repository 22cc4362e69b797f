"""when the background checks look at a learner next, and the ETag of their last look

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("learners") as batch_op:
        batch_op.add_column(sa.Column("watch_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("watch_etag", sa.String(length=200), nullable=True))
        batch_op.create_index("ix_learners_watch_at", ["watch_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("learners") as batch_op:
        batch_op.drop_index("ix_learners_watch_at")
        batch_op.drop_column("watch_etag")
        batch_op.drop_column("watch_at")
