"""pull requests followed through review, and how each step felt to the learner

Revision ID: 0007_i16
Revises: 0006
Create Date: 2026-12-05
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0007_i16"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pull_follows",
        sa.Column("learner_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=300), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("since", sa.DateTime(), nullable=False),
        sa.Column("head_sha", sa.String(length=64), nullable=True),
        sa.Column("last_review_id", sa.BigInteger(), nullable=False),
        sa.Column("conflicts", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("reviewer", sa.String(length=39), nullable=True),
        sa.Column("next_look_at", sa.DateTime(), nullable=True),
        sa.Column("etag", sa.String(length=200), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["learner_id"], ["learners.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("learner_id"),
    )
    with op.batch_alter_table("pull_follows") as batch_op:
        batch_op.create_index("ix_pull_follows_next_look_at", ["next_look_at"], unique=False)
    op.create_table(
        "step_feelings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("learner_id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.String(length=64), nullable=False),
        sa.Column("feeling", sa.String(length=8), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["learner_id"], ["learners.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("learner_id", "step_id", name="uq_feeling_step"),
    )
    with op.batch_alter_table("step_feelings") as batch_op:
        batch_op.create_index("ix_step_feelings_learner_id", ["learner_id"], unique=False)
    _follow_open_pull_requests()


def _follow_open_pull_requests() -> None:
    """Pull requests opened before this version are followed too (looked at soon), for
    learners active in the last 30 days: an old cohort is not told old news."""
    learners = sa.table(
        "learners",
        sa.column("id", sa.Integer()),
        sa.column("facts", sa.JSON()),
        sa.column("erased_at", sa.DateTime()),
        sa.column("last_activity_at", sa.DateTime()),
    )
    follows = sa.table(
        "pull_follows",
        *(
            sa.column(name, kind)
            for name, kind in (
                ("learner_id", sa.Integer()),
                ("number", sa.Integer()),
                ("url", sa.String()),
                ("state", sa.String()),
                ("since", sa.DateTime()),
                ("last_review_id", sa.BigInteger()),
                ("conflicts", sa.Boolean()),
                ("next_look_at", sa.DateTime()),
                ("revision", sa.Integer()),
                ("updated_at", sa.DateTime()),
            )
        ),
    )
    bind = op.get_bind()
    now = datetime.now(UTC).replace(tzinfo=None)  # stored as naive UTC
    rows = []
    for learner_id, facts in bind.execute(
        sa.select(learners.c.id, learners.c.facts).where(
            learners.c.erased_at.is_(None),
            learners.c.last_activity_at >= now - timedelta(days=30),
        )
    ):
        number = (facts or {}).get("pr_number") if isinstance(facts, dict) else None
        if isinstance(number, int):
            rows.append(
                {
                    "learner_id": learner_id,
                    "number": number,
                    "url": str(facts.get("pr_url") or "")[:300],
                    "state": "waiting",
                    "since": now,
                    "last_review_id": 0,
                    "conflicts": False,
                    "next_look_at": now,
                    "revision": 1,
                    "updated_at": now,
                }
            )
    if rows:
        op.bulk_insert(follows, rows)


def downgrade() -> None:
    op.drop_table("step_feelings")
    op.drop_table("pull_follows")
