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
from typing import Any, cast

from sqlalchemy import Engine, Table, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.course.ports import Recorded, Taken
from bot.storage.database import rowcount
from bot.storage.models import WaitingRequest, utcnow

# How long a taker may hold a request before another may take it again (it stopped, or
# hangs): longer than a check's worst case (GitHub's timeout, a few requests, Slack's).
LEASE = timedelta(minutes=2)


class SqlWaitingRequests:
    def __init__(
        self, sessions: sessionmaker[Session], clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._sessions = sessions
        self._engine: Engine = sessions.kw["bind"]
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
        # SQLAlchemy Core on one connection, not the ORM: this runs in the request thread,
        # before the acknowledgement, where every CPU millisecond counts.
        table = cast(Table, WaitingRequest.__table__)
        for _ in range(2):
            try:
                with self._engine.begin() as connection:
                    if key is not None:
                        joined = connection.execute(
                            update(table).where(table.c.waiting_key == key).values(body=dict(body))
                        )
                        if joined.rowcount == 1:
                            return Recorded(True, 0)
                    waiting = 0
                    if busy_after is not None:
                        waiting = (
                            connection.scalar(
                                select(func.count())
                                .select_from(table)
                                .where(table.c.available_at <= now)
                            )
                            or 0
                        )
                    connection.execute(
                        insert(table).values(
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
            with self._transaction() as session:
                # Compare-and-set (see bot.storage.database.claim), and the row in the same
                # transaction: one round trip per request taken.
                won = session.execute(
                    update(WaitingRequest)
                    .where(WaitingRequest.id == request_id, WaitingRequest.available_at == seen)
                    .values(
                        available_at=now + LEASE,
                        waiting_key=None,  # taken: the same request again queues anew
                        attempts=WaitingRequest.attempts + 1,
                    )
                    .returning(
                        WaitingRequest.kind,
                        WaitingRequest.body,
                        WaitingRequest.busy,
                        WaitingRequest.attempts,
                        WaitingRequest.created_at,
                    )
                ).first()
            if won is None:
                continue  # another taker was first, or it was erased meanwhile (forget-me)
            taken.append(Taken(request_id, won.kind, dict(won.body), won.busy, *won[3:]))
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
