"""The tables. Times are stored as naive UTC and handed back timezone-aware."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """SQLite forgets time zones; store UTC without one and give it back."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: use datetime.now(UTC)")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, bool: Boolean}  # noqa: RUF012


class LearnerRow(Base):
    __tablename__ = "learners"
    __table_args__ = (UniqueConstraint("team_id", "slack_user_id", name="uq_learner_slack"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    slack_user_id: Mapped[str] = mapped_column(String(32))
    github_login: Mapped[str | None] = mapped_column(String(39), index=True)
    # GitHub's numeric id of the linked account: it survives renames, and one account is
    # linked to one learner at most (NULLs, the unlinked, do not collide).
    github_user_id: Mapped[int | None] = mapped_column(BigInteger, index=True, unique=True)
    # The learner proved on GitHub (device flow) that the account is theirs.
    verified: Mapped[bool] = mapped_column(default=False, server_default=false())
    language: Mapped[str] = mapped_column(String(2))
    tool: Mapped[str] = mapped_column(String(8), default="web")
    current_step: Mapped[str] = mapped_column(String(64))
    facts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    dm_channel: Mapped[str | None] = mapped_column(String(32))
    cohort: Mapped[str | None] = mapped_column(String(80), index=True)
    last_diagnosis: Mapped[str | None] = mapped_column(String(64))
    # Slack's display name, kept for the staff's CSV (one users.info call at enrollment).
    name: Mapped[str | None] = mapped_column(String(200))
    # The learner asked not to be reminded (/prcoach pause).
    paused: Mapped[bool] = mapped_column(default=False, server_default=false())
    nudged_at: Mapped[datetime | None]
    # Identity erased (retention, end of cohort): the row only still counts in statistics.
    erased_at: Mapped[datetime | None]
    # Background checks: when to look next, and the ETag of the last look (a 304 is free).
    watch_at: Mapped[datetime | None] = mapped_column(index=True)
    watch_etag: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    step_started_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    # Optimistic lock: two processes updating one learner cannot silently lose a write.
    version: Mapped[int] = mapped_column(Integer, default=1)

    events: Mapped[list[StepEventRow]] = relationship(
        back_populates="learner", order_by="StepEventRow.id", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class StepEventRow(Base):
    """One check of one step: the history staff reports and stuck detection read."""

    __tablename__ = "step_events"
    __table_args__ = (Index("ix_step_events_learner_time", "learner_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"))
    step_id: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    diagnosis: Mapped[str | None] = mapped_column(String(64))
    facts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    source: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    learner: Mapped[LearnerRow] = relationship(back_populates="events")


class ProcessedDelivery(Base):
    """Keys of Slack events and GitHub deliveries already handled, so retries act once."""

    __tablename__ = "processed_deliveries"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class OutboxMessage(Base):
    """A message Slack did not accept (down, rate-limited): retried by the worker."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    learner_id: Mapped[int | None] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    blocks: Mapped[list[Any]] = mapped_column(JSON, default=list)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(200))
    next_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeviceFlowRow(Base):
    """A sign-in on GitHub waiting for the learner's approval (device flow): one per learner.

    The device code lets the bot ask GitHub whether the learner approved; the row is deleted
    when the sign-in ends (linked, expired, cancelled). No token is ever stored.
    """

    __tablename__ = "device_flows"

    learner_id: Mapped[int] = mapped_column(
        ForeignKey("learners.id", ondelete="CASCADE"), primary_key=True
    )
    device_code: Mapped[str] = mapped_column(String(200))
    user_code: Mapped[str] = mapped_column(String(32))
    poll_interval: Mapped[int] = mapped_column(Integer)  # seconds, as GitHub asks
    expires_at: Mapped[datetime]
    next_poll_at: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PullFollowRow(Base):
    """The learner's pull request after it was opened: its review state, as last seen.

    One row per learner (their latest pull request). ``revision`` makes each update a
    compare-and-set, so a webhook and the background checks never announce the same news
    twice.
    """

    __tablename__ = "pull_follows"

    learner_id: Mapped[int] = mapped_column(
        ForeignKey("learners.id", ondelete="CASCADE"), primary_key=True
    )
    number: Mapped[int] = mapped_column(Integer)
    url: Mapped[str] = mapped_column(String(300))
    # waiting, changes_requested, approved, merged, closed (bot/course/review.py)
    state: Mapped[str] = mapped_column(String(24))
    since: Mapped[datetime] = mapped_column(default=utcnow)
    head_sha: Mapped[str | None] = mapped_column(String(64))
    last_review_id: Mapped[int] = mapped_column(BigInteger, default=0)
    conflicts: Mapped[bool] = mapped_column(default=False, server_default=false())
    reviewer: Mapped[str | None] = mapped_column(String(39))
    next_look_at: Mapped[datetime | None] = mapped_column(index=True)
    etag: Mapped[str | None] = mapped_column(String(200))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class StepFeelingRow(Base):
    """How a step felt to the learner (easy, ok, hard), and an optional sentence."""

    __tablename__ = "step_feelings"
    __table_args__ = (UniqueConstraint("learner_id", "step_id", name="uq_feeling_step"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    learner_id: Mapped[int] = mapped_column(
        ForeignKey("learners.id", ondelete="CASCADE"), index=True
    )
    step_id: Mapped[str] = mapped_column(String(64))
    feeling: Mapped[str] = mapped_column(String(8))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class WaitingRequest(Base):
    """A Slack request (a click, a command, a DM) or a GitHub delivery acknowledged at once and
    waiting for its answer: the web process records it, a pool of answerers takes it.

    Kept in the database rather than in the web process's memory so that a restart (SIGTERM,
    ``kill -9``, a deploy) loses nothing, and so that the same request asked again while it
    waits is answered once (``waiting_key``). Deleted once answered: rows live seconds.
    """

    __tablename__ = "waiting_requests"
    # Never reuse a number (SQLite would, after a delete): an answerer that finishes deletes
    # by number, and forget-me may have deleted its request and a new one taken the number.
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # command, action, message, home, delivery
    # Who asked (Slack ids), so that forget-me erases their waiting requests too.
    team_id: Mapped[str] = mapped_column(String(32), default="")
    slack_user_id: Mapped[str] = mapped_column(String(32), default="", index=True)
    body: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # A digest of who asked what, while nobody has taken the request yet: the same request
    # again joins it instead of queuing twice. NULL once taken (a new click then queues).
    waiting_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The person was told "busy, I'll look in a minute" when it was recorded.
    busy: Mapped[bool] = mapped_column(default=False, server_default=false())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # When it may be taken: at once, or when a taker's lease ends (it stopped mid-way).
    available_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
