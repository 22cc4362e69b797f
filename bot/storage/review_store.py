"""Storage of what happens after the pull request is open: its review state (followed by the
webhook and the background checks) and how each step felt to the learner.

A mixin of :class:`bot.storage.store.SqlLearnerStore`: same sessions, same clock.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from bot.course.feelings import COMMENT_LIMIT, FEELINGS
from bot.course.review import Followed, PullState
from bot.storage.cleaning import fit
from bot.storage.database import rowcount
from bot.storage.models import LearnerRow, PullFollowRow, StepEventRow, StepFeelingRow


def _followed(row: PullFollowRow) -> Followed:
    return Followed(
        number=row.number,
        url=row.url,
        state=PullState(row.state),
        since=row.since,
        head_sha=row.head_sha,
        last_review_id=int(row.last_review_id or 0),
        conflicts=bool(row.conflicts),
        reviewer=row.reviewer,
        revision=row.revision,
        next_look_at=row.next_look_at,
        etag=row.etag,
    )


class ReviewQueries:
    _transaction: Callable[[], AbstractContextManager[Session]]
    _clock: Callable[[], datetime]

    # -- the pull request, followed -------------------------------------------------------

    def followed(self, learner_id: int) -> Followed | None:
        with self._transaction() as session:
            row = session.get(PullFollowRow, learner_id)
            return _followed(row) if row else None

    def follow(self, session: Session, learner_id: int, number: int, url: str) -> None:
        """Start following the learner's pull request (inside a caller's transaction)."""
        now = self._clock()
        row = session.get(PullFollowRow, learner_id)
        if row is not None and row.number == number:
            return
        if row is None:
            row = PullFollowRow(learner_id=learner_id, revision=1, last_review_id=0)
            session.add(row)
        else:
            row.revision = (row.revision or 0) + 1
        row.number, row.url, row.state, row.since = number, url[:300], PullState.WAITING, now
        row.head_sha, row.last_review_id, row.conflicts, row.reviewer = None, 0, False, None
        row.next_look_at, row.etag, row.updated_at = now, None, now

    def start_following(self, learner_id: int, number: int, url: str) -> Followed:
        with self._transaction() as session:
            self.follow(session, learner_id, number, url)
            session.flush()
            return _followed(session.get_one(PullFollowRow, learner_id))

    def save_followed(
        self, learner_id: int, after: Followed, seen_revision: int, next_look: datetime | None
    ) -> bool:
        """Record ``after`` if nobody else did since ``seen_revision`` (compare-and-set):
        of a webhook and a background look seeing the same news, one tells it."""
        with self._transaction() as session:
            result = session.execute(
                update(PullFollowRow)
                .where(
                    PullFollowRow.learner_id == learner_id,
                    PullFollowRow.revision == seen_revision,
                )
                .values(
                    number=after.number,
                    url=after.url[:300],
                    state=after.state.value,
                    since=after.since,
                    head_sha=after.head_sha,
                    last_review_id=after.last_review_id,
                    conflicts=after.conflicts,
                    reviewer=(after.reviewer or "")[:39] or None,
                    next_look_at=next_look,
                    updated_at=self._clock(),
                    revision=PullFollowRow.revision + 1,
                )
                .execution_options(synchronize_session=False)
            )
            return bool(rowcount(result))

    def due_follows(self, now: datetime, limit: int) -> list[tuple[int, Followed]]:
        with self._transaction() as session:
            rows = session.scalars(
                select(PullFollowRow)
                .join(LearnerRow, LearnerRow.id == PullFollowRow.learner_id)
                .where(
                    PullFollowRow.next_look_at.is_not(None),
                    PullFollowRow.next_look_at <= now,
                    LearnerRow.erased_at.is_(None),
                )
                .order_by(PullFollowRow.next_look_at)
                .limit(limit)
            )
            return [(row.learner_id, _followed(row)) for row in rows]

    def claim_follow(self, learner_id: int, seen: datetime, until: datetime | None) -> bool:
        """Take the look due at ``seen``, moving the next one to ``until`` (compare-and-set)."""
        with self._transaction() as session:
            result = session.execute(
                update(PullFollowRow)
                .where(
                    PullFollowRow.learner_id == learner_id,
                    PullFollowRow.next_look_at == seen,
                )
                .values(next_look_at=until)
                .execution_options(synchronize_session=False)
            )
            return bool(rowcount(result))

    def schedule_follow(self, learner_id: int, at: datetime | None, etag: str | None) -> None:
        with self._transaction() as session:
            session.execute(
                update(PullFollowRow)
                .where(PullFollowRow.learner_id == learner_id)
                .values(next_look_at=at, etag=etag)
                .execution_options(synchronize_session=False)
            )

    def follows(self, cohort: str | None = None) -> dict[int, Followed]:
        """Every followed pull request (of ``cohort``), for the staff's views: one query."""
        with self._transaction() as session:
            query = select(PullFollowRow).join(
                LearnerRow, LearnerRow.id == PullFollowRow.learner_id
            )
            if cohort is not None:
                query = query.where(LearnerRow.cohort == cohort)
            return {row.learner_id: _followed(row) for row in session.scalars(query)}

    # -- how each step felt ---------------------------------------------------------------

    def record_feeling(
        self, learner_id: int, step_id: str, feeling: str | None, comment: str | None = None
    ) -> None:
        """The learner's answer for a step (a second click replaces the first; a sentence
        is added to the feeling already given)."""
        if feeling is not None and feeling not in FEELINGS:
            raise ValueError(f"unknown feeling {feeling!r}")
        now = self._clock()
        with self._transaction() as session:
            row = session.scalar(
                select(StepFeelingRow).where(
                    StepFeelingRow.learner_id == learner_id, StepFeelingRow.step_id == step_id
                )
            )
            if row is None:
                row = StepFeelingRow(
                    learner_id=learner_id,
                    step_id=step_id[:64],
                    feeling=feeling or "",
                    created_at=now,
                )
                session.add(row)
            if feeling is not None:
                row.feeling = feeling
            if comment is not None:
                row.comment = fit(comment, COMMENT_LIMIT)
            row.updated_at = now

    def feelings(self, learner_id: int) -> dict[str, tuple[str, str | None]]:
        with self._transaction() as session:
            rows = session.scalars(
                select(StepFeelingRow).where(StepFeelingRow.learner_id == learner_id)
            )
            return {row.step_id: (row.feeling, row.comment) for row in rows}

    def step_statistics(
        self, cohort: str | None = None
    ) -> tuple[dict[int, dict[str, str]], dict[str, dict[str, int]]]:
        """Each learner's feeling per step, and per step how often each diagnosis came up:
        two queries, whatever the cohort's size."""
        with self._transaction() as session:
            feelings = select(
                StepFeelingRow.learner_id, StepFeelingRow.step_id, StepFeelingRow.feeling
            ).where(StepFeelingRow.feeling != "")
            diagnoses = (
                select(StepEventRow.step_id, StepEventRow.diagnosis, func.count())
                .where(StepEventRow.diagnosis.is_not(None))
                .group_by(StepEventRow.step_id, StepEventRow.diagnosis)
            )
            if cohort is not None:
                feelings = feelings.join(
                    LearnerRow, LearnerRow.id == StepFeelingRow.learner_id
                ).where(LearnerRow.cohort == cohort)
                diagnoses = diagnoses.join(
                    LearnerRow, LearnerRow.id == StepEventRow.learner_id
                ).where(LearnerRow.cohort == cohort)
            felt: dict[int, dict[str, str]] = {}
            for learner_id, step_id, feeling in session.execute(feelings):
                felt.setdefault(learner_id, {})[step_id] = feeling
            found: dict[str, dict[str, int]] = {}
            for step_id, diagnosis, count in session.execute(diagnoses):
                found.setdefault(step_id, {})[str(diagnosis)] = int(count)
            return felt, found

    # -- personal data ----------------------------------------------------------------------

    @staticmethod
    def _review_rows(session: Session, learner_id: int) -> dict[str, list[dict[str, Any]]]:
        def plain(value: Any) -> Any:
            return value.isoformat() if isinstance(value, datetime) else value

        follow = session.get(PullFollowRow, learner_id)
        feelings = session.scalars(
            select(StepFeelingRow).where(StepFeelingRow.learner_id == learner_id)
        )
        return {
            "pull_follows": [
                {c.key: plain(getattr(follow, c.key)) for c in PullFollowRow.__table__.columns}
            ]
            if follow
            else [],
            "step_feelings": [
                {c.key: plain(getattr(f, c.key)) for c in StepFeelingRow.__table__.columns}
                for f in feelings
            ],
        }

    @staticmethod
    def _forget_review_rows(
        session: Session, learner_ids: list[int], *, keep_feelings: bool
    ) -> None:
        """Erase the pull request followed and the sentences; ``keep_feelings`` keeps the
        bare easy/OK/hard of anonymised learners, like their step counts."""
        session.execute(delete(PullFollowRow).where(PullFollowRow.learner_id.in_(learner_ids)))
        if keep_feelings:
            session.execute(
                update(StepFeelingRow)
                .where(StepFeelingRow.learner_id.in_(learner_ids))
                .values(comment=None)
                .execution_options(synchronize_session=False)
            )
        else:
            session.execute(
                delete(StepFeelingRow).where(StepFeelingRow.learner_id.in_(learner_ids))
            )
