"""The queries the domain needs (:class:`bot.course.ports.LearnerStore`), over SQLAlchemy."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, Update, cast, delete, func, literal, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from bot.course.checks import MOVED_BACK, CheckResult, Outcome
from bot.course.learner import Learner, StepEvent, Tool
from bot.course.ports import PendingMessage
from bot.course.verification import DeviceCode, PendingFlow
from bot.errors import AccountTaken, StorageUnavailable
from bot.storage.cleaning import fit
from bot.storage.database import (
    WAIT_OPTION,
    can_write,
    claim,
    first_line,
    rowcount,
    scrub_deleted,
)
from bot.storage.models import (
    DeviceFlowRow,
    LearnerRow,
    OutboxMessage,
    ProcessedDelivery,
    StepEventRow,
    WaitingRequest,
    utcnow,
)
from bot.storage.review_store import ReviewQueries

RETRY_FIRST = timedelta(minutes=1)


def cast_length(column_type: object) -> int:
    """A String column's length, as its model declares it."""
    assert isinstance(column_type, String) and column_type.length is not None
    return column_type.length


NAME_LENGTH = cast_length(LearnerRow.__table__.c.name.type)
COHORT_LENGTH = cast_length(LearnerRow.__table__.c.cohort.type)


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


# What staff reports and the CSV read of each learner (see bot/course/reports.py).
_REPORT_COLUMNS = (
    "id",
    "team_id",
    "slack_user_id",
    "language",
    "current_step",
    "created_at",
    "step_started_at",
    "last_activity_at",
    "github_login",
    "github_user_id",
    "verified",
    "cohort",
    "finished_at",
    "last_diagnosis",
    "name",
    "paused",
    "erased_at",
)


def _learner(row: LearnerRow) -> Learner:
    return Learner(
        id=row.id,
        team_id=row.team_id,
        slack_user_id=row.slack_user_id,
        language=row.language,
        current_step=row.current_step,
        created_at=row.created_at,
        step_started_at=row.step_started_at,
        last_activity_at=row.last_activity_at,
        tool=Tool(row.tool),
        github_login=row.github_login,
        github_user_id=row.github_user_id,
        verified=bool(row.verified),
        facts=dict(row.facts or {}),
        dm_channel=row.dm_channel,
        cohort=row.cohort,
        finished_at=row.finished_at,
        last_diagnosis=row.last_diagnosis,
        name=row.name,
        paused=bool(row.paused),
        nudged_at=row.nudged_at,
        erased_at=row.erased_at,
        watch_at=row.watch_at,
        watch_etag=row.watch_etag,
    )


def _flow(row: DeviceFlowRow) -> PendingFlow:
    return PendingFlow(
        learner_id=row.learner_id,
        device_code=row.device_code,
        user_code=row.user_code,
        interval=row.poll_interval,
        expires_at=row.expires_at,
        next_poll_at=row.next_poll_at,
        created_at=row.created_at,
    )


def _account(row: LearnerRow) -> dict[str, Any]:
    """Who was linked, for the history line that says it ended (relink, unlink)."""
    return {
        "github_login": row.github_login,
        "github_user_id": row.github_user_id,
        "verified": bool(row.verified),
    }


# Facts in the history that name a GitHub account (see bot/course: checks, linking).
_ACCOUNT_FACTS = ("github_login", "previous_login", "login", "new_login", "github_user_id")


def _identifiers(row: LearnerRow, session: Session) -> set[str]:
    """Every GitHub login (lower case) and account number ever linked to this learner."""
    found = {row.github_login, row.github_user_id}
    for facts in session.scalars(
        select(StepEventRow.facts).where(
            StepEventRow.learner_id == row.id,
            # A refused claim names someone else's account, not theirs.
            StepEventRow.outcome != "link_refused",
        )
    ):
        found |= {(facts or {}).get(key) for key in _ACCOUNT_FACTS}
    return {str(value).lower() for value in found if value not in (None, "")}


def _forget_mentions(session: Session, traces: set[str]) -> None:
    """Other learners' history lines naming one of these accounts (a refused or released
    claim) lose their facts: the line stays (it counts), the erased person's account goes."""
    if not traces:
        return
    history = session.execute(select(StepEventRow.id, StepEventRow.facts)).all()
    for event_id, facts in history:
        values = {str(v).lower() for k, v in (facts or {}).items() if k in _ACCOUNT_FACTS}
        if values & traces:
            session.execute(
                update(StepEventRow)
                .where(StepEventRow.id == event_id)
                .values(facts={})
                .execution_options(synchronize_session=False)
            )


class SqlLearnerStore(ReviewQueries):
    """Learners and their history. Every method is one short transaction."""

    def __init__(
        self, sessions: sessionmaker[Session], clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._sessions = sessions
        # Injectable so simulations (bench/) can run a cohort's day in seconds.
        self._clock = clock

    @contextmanager
    def _transaction(self, wait: float | None = None) -> Iterator[Session]:
        """One transaction; ``wait``: seconds it may queue for the write lock (SQLite).

        A database that cannot be used now (locked past the wait, read-only, full,
        unreachable) raises :class:`StorageUnavailable`, which callers turn into one true
        message; a constraint violation (IntegrityError) stays what it is.
        """
        try:
            with self._sessions() as session, session.begin():
                if wait is not None:
                    session.connection(execution_options={WAIT_OPTION: wait})
                yield session
        except (OperationalError, PoolTimeout) as error:
            raise StorageUnavailable(first_line(error)) from error

    def can_write(self, seconds: float = 0.8) -> bool:
        """True when a write commits now (for /healthz); never waits much longer."""
        bind = self._sessions.kw.get("bind")
        return bind is not None and can_write(bind, seconds)

    def _claim(self, statement: Update) -> bool:
        """Compare-and-set: ``statement`` (an UPDATE whose WHERE holds the value this process
        saw) changes one row for exactly one of the processes racing for it."""
        return claim(self._sessions, statement)

    def ping(self) -> bool:
        """True when the database answers (for /healthz)."""
        try:
            with self._sessions() as session:
                session.execute(text("SELECT 1"))
            return True
        except (DBAPIError, PoolTimeout):
            # Unreachable server, refused connection, or every pooled connection busy.
            return False

    def find(self, team_id: str, slack_user_id: str) -> Learner | None:
        with self._transaction() as session:
            row = session.scalar(
                select(LearnerRow).where(
                    LearnerRow.team_id == team_id, LearnerRow.slack_user_id == slack_user_id
                )
            )
            return _learner(row) if row else None

    def get(self, learner_id: int) -> Learner:
        with self._transaction() as session:
            return _learner(session.get_one(LearnerRow, learner_id))

    def find_id(self, learner_id: int) -> Learner | None:
        with self._transaction() as session:
            row = session.get(LearnerRow, learner_id)
            return _learner(row) if row else None

    def find_by_login(self, github_login: str) -> list[Learner]:
        # Equality, not LIKE: a login of ``%`` (from a webhook) must match nobody.
        with self._transaction() as session:
            rows = session.scalars(
                select(LearnerRow).where(
                    func.lower(LearnerRow.github_login) == github_login.lower()
                )
            )
            return [_learner(row) for row in rows]

    def find_by_user_id(self, github_user_id: int) -> list[Learner]:
        with self._transaction() as session:
            rows = session.scalars(
                select(LearnerRow).where(LearnerRow.github_user_id == github_user_id)
            )
            return [_learner(row) for row in rows]

    def holder_of(self, github_user_id: int, other_than: int) -> Learner | None:
        with self._transaction() as session:
            row = session.scalar(
                select(LearnerRow).where(
                    LearnerRow.github_user_id == github_user_id,
                    LearnerRow.id != other_than,
                    LearnerRow.erased_at.is_(None),
                )
            )
            return _learner(row) if row else None

    def enroll(
        self,
        team_id: str,
        slack_user_id: str,
        language: str,
        first_step: str,
        *,
        name: str | None = None,
        cohort: str | None = None,
    ) -> Learner:
        existing = self.find(team_id, slack_user_id)
        if existing:
            return existing
        try:
            with self._transaction() as session:
                now = self._clock()
                row = LearnerRow(
                    team_id=team_id,
                    slack_user_id=slack_user_id,
                    language=language,
                    current_step=first_step,
                    facts={},
                    name=fit(name, NAME_LENGTH),
                    cohort=fit(cohort, COHORT_LENGTH),
                    created_at=now,
                    step_started_at=now,
                    last_activity_at=now,
                )
                session.add(row)
                session.flush()
                return _learner(row)
        except IntegrityError:
            # Two first messages at once: the other request created the learner.
            found = self.find(team_id, slack_user_id)
            assert found is not None
            return found

    def update_profile(
        self,
        learner_id: int,
        *,
        language: str | None = None,
        tool: Tool | None = None,
        dm_channel: str | None = None,
    ) -> Learner:
        with self._transaction() as session:
            row = session.get_one(LearnerRow, learner_id, with_for_update=True)
            if language:
                row.language = language
            if tool:
                row.tool = tool.value
            if dm_channel:
                row.dm_channel = dm_channel
            return _learner(row)

    def record_check(
        self,
        learner_id: int,
        step_id: str,
        result: CheckResult,
        source: str,
        advance_to: str | None,
        *,
        verified: bool | None = None,
    ) -> Learner:
        now = self._clock()
        diagnosis = result.main_diagnosis
        user_id = result.learned.get("github_user_id")
        linking = result.outcome is not Outcome.UNAVAILABLE and isinstance(user_id, int)
        facts = {**result.learned, **(dict(diagnosis.facts) if diagnosis else {})}
        if verified is not None and linking:
            facts["verified"] = verified  # the history says how the account was linked
        try:
            with self._transaction() as session:
                row = session.get_one(LearnerRow, learner_id, with_for_update=True)
                session.add(
                    StepEventRow(
                        learner_id=learner_id,
                        step_id=step_id,
                        outcome=result.outcome.value,
                        diagnosis=diagnosis.code if diagnosis else None,
                        facts=facts,
                        source=source,
                        created_at=now,
                    )
                )
                row.last_activity_at = now
                if result.outcome is Outcome.UNAVAILABLE:
                    # GitHub did not answer: nothing is known about the learner's progress.
                    return _learner(row)
                row.last_diagnosis = diagnosis.code if diagnosis else None
                if "github_login" in result.learned:
                    row.github_login = result.learned["github_login"]
                if linking:
                    row.github_user_id = user_id
                    if verified is not None:
                        row.verified = verified
                if result.learned:
                    row.facts = {**(row.facts or {}), **result.learned}
                if result.done and isinstance(result.learned.get("pr_number"), int):
                    # An open pull request is followed through its review to the merge.
                    self.follow(
                        session,
                        learner_id,
                        result.learned["pr_number"],
                        str(result.learned.get("pr_url") or ""),
                    )
                if result.done and row.current_step == step_id and row.finished_at is None:
                    if advance_to is None:
                        row.finished_at = now
                    else:
                        row.current_step = advance_to
                        row.step_started_at = now
                        # A new step: the background checks look soon, from a clean slate.
                        row.watch_at = now
                        row.watch_etag = None
                session.flush()  # a second learner on one GitHub account fails here
                return _learner(row)
        except IntegrityError:
            if linking and isinstance(user_id, int):
                raise AccountTaken(user_id) from None
            raise

    def note(
        self,
        learner_id: int,
        step_id: str,
        kind: str,
        source: str,
        facts: Mapping[str, Any] | None = None,
    ) -> None:
        now = self._clock()
        with self._transaction() as session:
            row = session.get_one(LearnerRow, learner_id, with_for_update=True)
            row.last_activity_at = now
            session.add(
                StepEventRow(
                    learner_id=learner_id,
                    step_id=step_id,
                    outcome=kind,
                    facts=dict(facts or {}),
                    source=source,
                    created_at=now,
                )
            )

    def move_back(
        self,
        learner_id: int,
        from_step: str,
        to_step: str,
        result: CheckResult,
        source: str,
        forget: Iterable[str] = (),
    ) -> Learner:
        """The work of ``to_step`` vanished: record the check, and go back there (only from
        ``from_step``), forgetting the facts that went with it; the history says why."""
        now = self._clock()
        diagnosis = result.main_diagnosis
        code = diagnosis.code if diagnosis else None
        found = dict(diagnosis.facts) if diagnosis else {}
        with self._transaction() as session:
            row = session.get_one(LearnerRow, learner_id, with_for_update=True)
            session.add(
                StepEventRow(
                    learner_id=learner_id,
                    step_id=from_step,
                    outcome=result.outcome.value,
                    diagnosis=code,
                    facts=found,
                    source=source,
                    created_at=now,
                )
            )
            row.last_activity_at = now
            row.last_diagnosis = code
            if row.current_step != from_step or row.finished_at is not None:
                return _learner(row)  # moved meanwhile: the other answer stands
            dropped = set(forget)
            row.facts = {k: v for k, v in (row.facts or {}).items() if k not in dropped}
            row.current_step = to_step
            row.step_started_at = now
            row.watch_at = now
            row.watch_etag = None
            session.add(
                StepEventRow(
                    learner_id=learner_id,
                    step_id=to_step,
                    outcome=MOVED_BACK,
                    diagnosis=code,
                    facts={"from_step": from_step, **found},
                    source=source,
                    created_at=now,
                )
            )
            return _learner(row)

    def restart(
        self, learner_id: int, first_step: str, *, keep_login: bool, source: str = "learner"
    ) -> Learner:
        """Start over (history is kept). With ``keep_login`` the link step stays done."""
        return self._start_over(learner_id, first_step, "restart", keep_login, source)

    def unlink(self, learner_id: int, first_step: str, source: str) -> Learner:
        """No GitHub account any more: back to ``first_step``; the history says who it was."""
        return self._start_over(learner_id, first_step, "unlinked", False, source)

    def release_link(self, learner_id: int, first_step: str, source: str) -> Learner:
        """A typed, unproven link given up because its owner proved the account theirs: back
        to ``first_step``; the history says which account it was (issue 13)."""
        return self._start_over(learner_id, first_step, "link_released", False, source)

    def _start_over(
        self, learner_id: int, first_step: str, kind: str, keep_login: bool, source: str
    ) -> Learner:
        now = self._clock()
        with self._transaction() as session:
            row = session.get_one(LearnerRow, learner_id, with_for_update=True)
            # Dropping an account: the history keeps who was linked until now.
            dropped = _account(row) if row.github_login and not keep_login else {}
            login = row.github_login if keep_login else None
            row.facts = {"github_login": login} if login else {}
            row.github_login = login
            if not keep_login:
                row.github_user_id = None
                row.verified = False
            row.current_step = first_step
            row.step_started_at = now
            row.last_activity_at = now
            row.finished_at = None
            row.last_diagnosis = None
            session.add(
                StepEventRow(
                    learner_id=learner_id,
                    step_id=first_step,
                    outcome=kind,
                    facts=dropped,
                    source=source,
                    created_at=now,
                )
            )
            if kind in ("unlinked", "link_released"):
                session.execute(delete(DeviceFlowRow).where(DeviceFlowRow.learner_id == learner_id))
            return _learner(row)

    def mark_verified(
        self, learner_id: int, login: str, github_user_id: int, step_id: str, source: str
    ) -> Learner:
        """The linked account is proven the learner's, under ``login`` (its name today)."""
        now = self._clock()
        try:
            with self._transaction() as session:
                row = session.get_one(LearnerRow, learner_id, with_for_update=True)
                row.github_login = login
                row.github_user_id = github_user_id
                row.verified = True
                row.facts = {**(row.facts or {}), "github_login": login}
                row.last_activity_at = now
                session.add(
                    StepEventRow(
                        learner_id=learner_id,
                        step_id=step_id,
                        outcome="verified",
                        facts=_account(row),
                        source=source,
                        created_at=now,
                    )
                )
                session.flush()
                return _learner(row)
        except IntegrityError:
            raise AccountTaken(github_user_id) from None

    def rename_account(
        self, learner_id: int, login: str, facts: Mapping[str, Any], step_id: str, source: str
    ) -> Learner:
        """The linked account was renamed on GitHub: the new login, and facts that follow."""
        now = self._clock()
        with self._transaction() as session:
            row = session.get_one(LearnerRow, learner_id, with_for_update=True)
            renamed = {"previous_login": row.github_login, **_account(row), "github_login": login}
            row.github_login = login
            row.facts = dict(facts)
            row.watch_etag = None  # the old login's listing means nothing now
            session.add(
                StepEventRow(
                    learner_id=learner_id,
                    step_id=step_id,
                    outcome="renamed",
                    facts=renamed,
                    source=source,
                    created_at=now,
                )
            )
            return _learner(row)

    def history(self, learner_id: int) -> list[StepEvent]:
        with self._transaction() as session:
            rows = session.scalars(
                select(StepEventRow)
                .where(StepEventRow.learner_id == learner_id)
                .order_by(StepEventRow.id)
            )
            return [
                StepEvent(r.step_id, r.outcome, r.diagnosis, dict(r.facts), r.source, r.created_at)
                for r in rows
            ]

    # -- sign-ins waiting for the learner (device flow) ---------------------------------

    def start_flow(self, learner_id: int, code: DeviceCode, now: datetime) -> PendingFlow:
        with self._transaction() as session:
            session.execute(delete(DeviceFlowRow).where(DeviceFlowRow.learner_id == learner_id))
            row = DeviceFlowRow(
                learner_id=learner_id,
                device_code=code.device_code,
                user_code=code.user_code,
                poll_interval=code.interval,
                expires_at=now + timedelta(seconds=code.expires_in),
                next_poll_at=now + timedelta(seconds=code.interval),
                created_at=now,
            )
            session.add(row)
            session.flush()
            return _flow(row)

    def pending_flow(self, learner_id: int) -> PendingFlow | None:
        with self._transaction() as session:
            row = session.get(DeviceFlowRow, learner_id)
            return _flow(row) if row else None

    def pending_flows(
        self, due_before: datetime | None = None, limit: int = 200
    ) -> list[PendingFlow]:
        """Sign-ins waiting, oldest poll first; ``due_before``: only those whose next poll was
        due before then (nobody polls them any more: their process stopped)."""
        with self._transaction() as session:
            query = select(DeviceFlowRow).order_by(DeviceFlowRow.next_poll_at).limit(limit)
            if due_before is not None:
                query = query.where(DeviceFlowRow.next_poll_at <= due_before)
            return [_flow(row) for row in session.scalars(query)]

    def claim_flow(self, learner_id: int, seen: datetime, until: datetime) -> bool:
        return self._claim(
            update(DeviceFlowRow)
            .where(DeviceFlowRow.learner_id == learner_id, DeviceFlowRow.next_poll_at == seen)
            .values(next_poll_at=until)
        )

    def reschedule_flow(
        self, learner_id: int, device_code: str, interval: int, next_at: datetime
    ) -> None:
        with self._transaction() as session:
            session.execute(
                update(DeviceFlowRow)
                .where(
                    DeviceFlowRow.learner_id == learner_id,
                    DeviceFlowRow.device_code == device_code,
                )
                .values(poll_interval=interval, next_poll_at=next_at)
                .execution_options(synchronize_session=False)
            )

    def end_flow(self, learner_id: int, device_code: str | None = None) -> None:
        with self._transaction() as session:
            query = delete(DeviceFlowRow).where(DeviceFlowRow.learner_id == learner_id)
            if device_code is not None:
                query = query.where(DeviceFlowRow.device_code == device_code)
            session.execute(query)

    # -- staff -------------------------------------------------------------------------

    def snapshot(
        self, cohort: str | None = None
    ) -> tuple[list[Learner], dict[int, dict[str, datetime]]]:
        """Every learner (of ``cohort``) and when each did each step: two queries in all."""
        with self._transaction() as session:
            # Plain rows of only what reports show: no ORM objects, no JSON to decode.
            learners = select(*(getattr(LearnerRow, c) for c in _REPORT_COLUMNS)).order_by(
                LearnerRow.id
            )
            done = (
                select(
                    StepEventRow.learner_id,
                    StepEventRow.step_id,
                    func.max(StepEventRow.created_at),
                )
                .where(StepEventRow.outcome == Outcome.DONE.value)
                .group_by(StepEventRow.learner_id, StepEventRow.step_id)
            )
            if cohort is not None:
                learners = learners.where(LearnerRow.cohort == cohort)
                done = done.join(LearnerRow).where(LearnerRow.cohort == cohort)
            rows = [Learner(**row._asdict()) for row in session.execute(learners)]
            completions: dict[int, dict[str, datetime]] = {}
            for learner_id, step_id, when in session.execute(done):
                completions.setdefault(learner_id, {})[step_id] = when
            return rows, completions

    def cohorts(self) -> list[str]:
        with self._transaction() as session:
            return list(
                session.scalars(
                    select(LearnerRow.cohort).where(LearnerRow.cohort.is_not(None)).distinct()
                )
            )

    def set_cohort(self, learner_id: int, cohort: str | None) -> Learner:
        with self._transaction() as session:
            row = session.get_one(LearnerRow, learner_id, with_for_update=True)
            row.cohort = fit(cohort, COHORT_LENGTH)
            return _learner(row)

    def set_paused(self, learner_id: int, paused: bool) -> Learner:
        with self._transaction() as session:
            row = session.get_one(LearnerRow, learner_id, with_for_update=True)
            row.paused = paused
            return _learner(row)

    def idle_learners(self, idle_since: datetime) -> list[Learner]:
        """Active learners whose current step started before ``idle_since``."""
        with self._transaction() as session:
            rows = session.scalars(
                select(LearnerRow).where(
                    LearnerRow.finished_at.is_(None),
                    LearnerRow.paused.is_(False),
                    LearnerRow.step_started_at < idle_since,
                    LearnerRow.github_login.is_not(None) | LearnerRow.dm_channel.is_not(None),
                )
            )
            return [_learner(row) for row in rows]

    def claim_nudge(self, learner_id: int, now: datetime, not_since: datetime) -> bool:
        """Mark a nudge as sent, unless one was sent after ``not_since`` (compare-and-set).

        Two workers racing for the same learner: exactly one gets True.
        """
        return self._claim(
            update(LearnerRow)
            .where(
                LearnerRow.id == learner_id,
                (LearnerRow.nudged_at.is_(None)) | (LearnerRow.nudged_at < not_since),
            )
            .values(nudged_at=now, version=LearnerRow.version + 1)
        )

    # -- background checks -------------------------------------------------------------

    def due_to_watch(self, now: datetime, limit: int) -> list[Learner]:
        with self._transaction() as session:
            rows = session.scalars(
                select(LearnerRow)
                .where(
                    LearnerRow.watch_at <= now,
                    LearnerRow.finished_at.is_(None),
                    LearnerRow.paused.is_(False),
                    LearnerRow.erased_at.is_(None),
                    LearnerRow.github_login.is_not(None),
                )
                .order_by(LearnerRow.watch_at)
                .limit(limit)
            )
            return [_learner(row) for row in rows]

    def claim_watch(self, learner_id: int, seen: datetime, then: datetime | None) -> bool:
        """Take a due look for this worker, moving the next one to ``then`` (None: stop).

        A compare-and-set on ``watch_at``: of two workers, exactly one gets True.
        """
        return self._claim(
            update(LearnerRow)
            .where(LearnerRow.id == learner_id, LearnerRow.watch_at == seen)
            .values(watch_at=then)
        )

    def schedule_watch(self, learner_id: int, at: datetime | None, etag: str | None) -> None:
        with self._transaction() as session:
            session.execute(
                update(LearnerRow)
                .where(LearnerRow.id == learner_id)
                .values(watch_at=at, watch_etag=etag)
                .execution_options(synchronize_session=False)
            )

    # -- Slack messages to retry -------------------------------------------------------

    def enqueue_message(
        self,
        channel: str,
        text: str,
        blocks: list[Any],
        learner_id: int | None,
        error: str,
        *,
        retry_after: int = 0,
    ) -> None:
        wait = max(RETRY_FIRST, timedelta(seconds=retry_after))
        with self._transaction() as session:
            session.add(
                OutboxMessage(
                    learner_id=learner_id,
                    channel=channel,
                    text=text,
                    blocks=blocks,
                    attempts=1,
                    last_error=error[:200],
                    next_at=self._clock() + wait,
                    created_at=self._clock(),
                )
            )

    def due_messages(self, now: datetime, limit: int = 50) -> list[PendingMessage]:
        with self._transaction() as session:
            rows = session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.next_at <= now)
                .order_by(OutboxMessage.id)
                .limit(limit)
            )
            return [
                PendingMessage(
                    r.id, r.learner_id, r.channel, r.text, list(r.blocks), r.attempts, r.next_at
                )
                for r in rows
            ]

    def claim_message(self, message_id: int, seen: datetime, until: datetime) -> bool:
        """Compare-and-set on ``next_at``: one worker retries a message at a time."""
        return self._claim(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.next_at == seen)
            .values(next_at=until, attempts=OutboxMessage.attempts + 1)
        )

    def message_sent(self, message_id: int) -> None:
        with self._transaction() as session:
            session.execute(delete(OutboxMessage).where(OutboxMessage.id == message_id))

    def message_failed(self, message_id: int, error: str) -> None:
        with self._transaction() as session:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id)
                .values(last_error=error[:200])
                .execution_options(synchronize_session=False)
            )

    # -- personal data -----------------------------------------------------------------

    def export(self, learner_id: int) -> dict[str, Any]:
        """Every row stored about one learner, as plain JSON-ready data."""
        with self._transaction() as session:
            row = session.get_one(LearnerRow, learner_id)
            learner = {c.key: _plain(getattr(row, c.key)) for c in LearnerRow.__table__.columns}
            events = [
                {c.key: _plain(getattr(e, c.key)) for c in StepEventRow.__table__.columns}
                for e in row.events
            ]
            flow = session.get(DeviceFlowRow, learner_id)
            # The device code is the bot's key to GitHub's answer, not data about the learner.
            flows = (
                [
                    {
                        c.key: _plain(getattr(flow, c.key))
                        for c in DeviceFlowRow.__table__.columns
                        if c.key != "device_code"
                    }
                ]
                if flow
                else []
            )
            return {
                "learner": learner,
                "step_events": events,
                "device_flows": flows,
                **self._review_rows(session, learner_id),
            }

    def forget(self, learner_id: int) -> None:
        """Delete the learner, their whole history, their messages waiting to be sent, and
        what other learners' history says of their accounts; then make sure the deleted
        bytes are gone from the database files too (see :func:`scrub_deleted`)."""
        with self._transaction() as session:
            row = session.get(LearnerRow, learner_id)
            if row is None:
                return
            traces = _identifiers(row, session)
            session.execute(
                delete(WaitingRequest).where(
                    WaitingRequest.team_id == row.team_id,
                    WaitingRequest.slack_user_id == row.slack_user_id,
                )
            )
            session.execute(delete(DeviceFlowRow).where(DeviceFlowRow.learner_id == learner_id))
            self._forget_review_rows(session, [learner_id], keep_feelings=False)
            session.execute(delete(StepEventRow).where(StepEventRow.learner_id == learner_id))
            waiting = OutboxMessage.learner_id == learner_id
            if row.dm_channel:
                waiting = waiting | (OutboxMessage.channel == row.dm_channel)
            session.execute(delete(OutboxMessage).where(waiting))
            session.execute(delete(LearnerRow).where(LearnerRow.id == learner_id))
            _forget_mentions(session, traces)
        scrub_deleted(self._sessions)

    def erase_identities(
        self, *, inactive_before: datetime | None = None, cohort: str | None = None
    ) -> int:
        """Anonymise learners (identity gone, step counts kept); returns how many."""
        now = self._clock()
        with self._transaction() as session:
            query = select(LearnerRow.id).where(LearnerRow.erased_at.is_(None))
            if inactive_before is not None:
                query = query.where(LearnerRow.last_activity_at < inactive_before)
            if cohort is not None:
                query = query.where(LearnerRow.cohort == cohort)
            ids = list(session.scalars(query))
            if not ids:
                return 0
            traces: set[str] = set()
            for row in session.scalars(select(LearnerRow).where(LearnerRow.id.in_(ids))):
                traces |= _identifiers(row, session)
                if row.dm_channel:
                    session.execute(
                        delete(OutboxMessage).where(OutboxMessage.channel == row.dm_channel)
                    )
            session.execute(delete(OutboxMessage).where(OutboxMessage.learner_id.in_(ids)))
            session.execute(
                update(LearnerRow)
                .where(LearnerRow.id.in_(ids))
                .values(
                    team_id="",
                    slack_user_id=literal("erased-") + cast(LearnerRow.id, String(20)),
                    name=None,
                    github_login=None,
                    github_user_id=None,
                    verified=False,
                    facts={},
                    dm_channel=None,
                    last_diagnosis=None,
                    erased_at=now,
                    version=LearnerRow.version + 1,
                )
                .execution_options(synchronize_session=False)
            )
            session.execute(
                update(StepEventRow)
                .where(StepEventRow.learner_id.in_(ids))
                .values(facts={})
                .execution_options(synchronize_session=False)
            )
            session.execute(delete(DeviceFlowRow).where(DeviceFlowRow.learner_id.in_(ids)))
            self._forget_review_rows(session, ids, keep_feelings=True)
            session.flush()
            _forget_mentions(session, traces)
        scrub_deleted(self._sessions)
        return len(ids)

    def count_cohort(self, cohort: str) -> int:
        with self._transaction() as session:
            return (
                session.scalar(
                    select(func.count(LearnerRow.id)).where(
                        LearnerRow.cohort == cohort, LearnerRow.erased_at.is_(None)
                    )
                )
                or 0
            )

    def claim_delivery(self, key: str, wait: float | None = None) -> bool:
        """True the first time ``key`` is seen: the caller may act. False for a retry.

        ``wait``: seconds to queue for the write lock at most (before Slack's 3 s are up)."""
        try:
            with self._transaction(wait) as session:
                session.add(ProcessedDelivery(key=key))
            return True
        except IntegrityError:
            return False

    def forget_deliveries_before(self, moment: datetime) -> int:
        with self._transaction() as session:
            result = session.execute(
                delete(ProcessedDelivery).where(ProcessedDelivery.created_at < moment)
            )
            return rowcount(result)
