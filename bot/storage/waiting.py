"""Requests acknowledged and waiting for their answer, in the database (SQLite or PostgreSQL).

The web process only records (one short write transaction) and acknowledges; answerers —
a bounded pool in another process — take requests one at a time with a compare-and-set on
``available_at``, answer, and delete them. A taker that stops mid-way (SIGTERM, a crash)
leaves its request to be taken again when its lease ends; a clean stop hands it back at once.
Nothing is kept in a web process's memory, so nothing piles up there and a restart loses
nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.course.ports import Recorded, Taken
from bot.storage.database import claim, rowcount
from bot.storage.models import WaitingRequest, utcnow

# How long a taker may hold a request before another may take it again (it stopped, or
# hangs): longer than a check's worst case (GitHub's timeout, a few requests, Slack's).
LEASE = timedelta(minutes=2)


class SqlWaitingRequests:
    def __init__(
        self, sessions: sessionmaker[Session], clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._sessions = sessions
        self._clock = clock

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    def record(
        self,
        kind: str,
        body: Mapping[str, Any],
        *,
        team_id: str = "",
        user_id: str = "",
        key: str | None = None,
        busy_after: int | None = None,
    ) -> Recorded:
        """Keep a request until it is answered. With ``key``, a request with the same key
        still waiting is updated (its newest body: the newest ``response_url``) instead.
        ``busy_after``: when more requests than that wait, the new one is marked busy (the
        caller says so to the person)."""
        now = self._clock()
        # A digest: the key may hold what a person wrote, the column only a fingerprint.
        key = hashlib.sha256(key.encode()).hexdigest() if key is not None else None
        for _ in range(2):
            try:
                with self._transaction() as session:
                    if key is not None:
                        joined = session.execute(
                            update(WaitingRequest)
                            .where(WaitingRequest.waiting_key == key)
                            .values(body=dict(body))
                            .execution_options(synchronize_session=False)
                        )
                        if rowcount(joined) == 1:
                            return Recorded(True, 0)
                    waiting = 0
                    if busy_after is not None:
                        waiting = (
                            session.scalar(
                                select(func.count(WaitingRequest.id)).where(
                                    WaitingRequest.available_at <= now
                                )
                            )
                            or 0
                        )
                    session.add(
                        WaitingRequest(
                            kind=kind,
                            team_id=team_id[:32],
                            slack_user_id=user_id[:32],
                            body=dict(body),
                            waiting_key=key,
                            busy=busy_after is not None and waiting >= busy_after,
                            attempts=0,
                            available_at=now,
                            created_at=now,
                        )
                    )
                    return Recorded(False, waiting)
            except IntegrityError:
                continue  # the same request was recorded meanwhile: join it
        return Recorded(True, 0)

    def take(self, limit: int) -> list[Taken]:
        """Up to ``limit`` requests, oldest first, each for this taker only (compare-and-set)."""
        now = self._clock()
        with self._transaction() as session:
            due = session.execute(
                select(WaitingRequest.id, WaitingRequest.available_at)
                .where(WaitingRequest.available_at <= now)
                .order_by(WaitingRequest.id)
                .limit(limit)
            ).all()
        taken: list[Taken] = []
        for request_id, seen in due:
            won = claim(
                self._sessions,
                update(WaitingRequest)
                .where(WaitingRequest.id == request_id, WaitingRequest.available_at == seen)
                .values(
                    available_at=now + LEASE,
                    waiting_key=None,  # taken: the same request again queues anew
                    attempts=WaitingRequest.attempts + 1,
                ),
            )
            if not won:
                continue  # another taker was first
            with self._transaction() as session:
                row = session.get(WaitingRequest, request_id)
                if row is None:
                    continue  # erased meanwhile (forget-me)
                taken.append(
                    Taken(row.id, row.kind, dict(row.body), row.busy, row.attempts, row.created_at)
                )
        return taken

    def answered(self, request_id: int) -> None:
        with self._transaction() as session:
            session.execute(delete(WaitingRequest).where(WaitingRequest.id == request_id))

    def retry_at(self, request_id: int, moment: datetime) -> None:
        """Take it again at ``moment`` (it failed, or its taker stops: hand it back)."""
        with self._transaction() as session:
            session.execute(
                update(WaitingRequest)
                .where(WaitingRequest.id == request_id)
                .values(available_at=moment)
                .execution_options(synchronize_session=False)
            )

    def waiting(self) -> int:
        """Requests recorded and not answered yet (taken or not)."""
        with self._transaction() as session:
            return session.scalar(select(func.count(WaitingRequest.id))) or 0

    def forget_person(self, team_id: str, user_id: str) -> int:
        """Erase a person's waiting requests (forget-me)."""
        with self._transaction() as session:
            result = session.execute(
                delete(WaitingRequest).where(
                    WaitingRequest.team_id == team_id, WaitingRequest.slack_user_id == user_id
                )
            )
            return rowcount(result)
