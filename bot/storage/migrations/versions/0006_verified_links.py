"""linked GitHub accounts by id (one learner each), proven or not; sign-ins waiting on GitHub

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("learners") as batch_op:
        batch_op.add_column(sa.Column("github_user_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column("verified", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    _copy_ids_from_facts()
    with op.batch_alter_table("learners") as batch_op:
        batch_op.create_index("ix_learners_github_user_id", ["github_user_id"], unique=True)
    op.create_table(
        "device_flows",
        sa.Column("learner_id", sa.Integer(), nullable=False),
        sa.Column("device_code", sa.String(length=200), nullable=False),
        sa.Column("user_code", sa.String(length=32), nullable=False),
        sa.Column("poll_interval", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("next_poll_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["learner_id"], ["learners.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("learner_id"),
    )
    with op.batch_alter_table("device_flows") as batch_op:
        batch_op.create_index("ix_device_flows_next_poll_at", ["next_poll_at"], unique=False)


def _copy_ids_from_facts() -> None:
    """Linked learners already have their account's id among their facts (the link check
    found it): copy it to the column. Links made before are unverified. Should two learners
    hold one account already, the first keeps the id; the other stays linked by login only."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT id, facts FROM learners "
            "WHERE github_login IS NOT NULL AND erased_at IS NULL ORDER BY id"
        )
    ).all()
    seen: set[int] = set()
    for learner_id, facts in rows:
        user_id = _facts(facts).get("github_user_id")
        if isinstance(user_id, int) and not isinstance(user_id, bool) and user_id not in seen:
            seen.add(user_id)
            bind.execute(
                sa.text("UPDATE learners SET github_user_id = :u WHERE id = :i"),
                {"u": user_id, "i": learner_id},
            )


def _facts(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value  # PostgreSQL's JSON comes back decoded
    try:
        decoded = json.loads(value or "{}")
    except (TypeError, ValueError):
        return {}
    return decoded if isinstance(decoded, dict) else {}


def downgrade() -> None:
    op.drop_table("device_flows")
    with op.batch_alter_table("learners") as batch_op:
        batch_op.drop_index("ix_learners_github_user_id")
        batch_op.drop_column("verified")
        batch_op.drop_column("github_user_id")
