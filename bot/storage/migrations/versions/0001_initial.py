"""learners, step events, processed deliveries

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-29 10:16:46.148340
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "learners",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("slack_user_id", sa.String(length=32), nullable=False),
        sa.Column("github_login", sa.String(length=39), nullable=True),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("tool", sa.String(length=8), nullable=False),
        sa.Column("current_step", sa.String(length=64), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("dm_channel", sa.String(length=32), nullable=True),
        sa.Column("cohort", sa.String(length=80), nullable=True),
        sa.Column("last_diagnosis", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("step_started_at", sa.DateTime(), nullable=False),
        sa.Column("last_activity_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team_id", "slack_user_id", name="uq_learner_slack"),
    )
    with op.batch_alter_table("learners", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_learners_cohort"), ["cohort"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_learners_github_login"), ["github_login"], unique=False
        )

    op.create_table(
        "processed_deliveries",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("processed_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_processed_deliveries_created_at"), ["created_at"], unique=False
        )

    op.create_table(
        "step_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("learner_id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("diagnosis", sa.String(length=64), nullable=True),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["learner_id"], ["learners.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("step_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_step_events_learner_time", ["learner_id", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("step_events", schema=None) as batch_op:
        batch_op.drop_index("ix_step_events_learner_time")

    op.drop_table("step_events")
    with op.batch_alter_table("processed_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_processed_deliveries_created_at"))

    op.drop_table("processed_deliveries")
    with op.batch_alter_table("learners", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_learners_github_login"))
        batch_op.drop_index(batch_op.f("ix_learners_cohort"))

    op.drop_table("learners")
