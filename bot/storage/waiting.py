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
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, delete, func, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from sqlalchemy.orm import Session, sessionmaker

from bot.course.ports import Recorded, Taken
from bot.errors import StorageUnavailable
from bot.storage.database import WAIT_OPTION, first_line, rowcount
from bot.storage.models import ProcessedDelivery, WaitingRequest, utcnow

# How long a taker may hold a request before another may take it again (it stopped, or
# hangs): longer than a check's worst case (GitHub's timeout, a few requests, Slack's).
LEASE = timedelta(minutes=2)
log = logging.getLogger(__name__)


# Seconds a recording may wait for the database's write lock before Slack's acknowledgement
# (3 s in all); then the request is held in memory, at most HELD_LIMIT of them.
ACK_WAIT = 1.0
HELD_LIMIT = 1000
FLUSH_WAIT = 5.0
FLUSH_PAUSE = 0.5


@dataclass(frozen=True)
class _Request:
    kind: str
    body: dict[str, Any]
    team_id: str
    user_id: str
    key: str | None
    busy_after: int | None
    once: str | None
    now: datetime


class SqlWaitingRequests:
    def __init__(
        self, sessions: sessionmaker[Session], clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._sessions = sessions
        self._engine: Engine = sessions.kw["bind"]
        self._held: deque[_Request] = deque()
        self._held_lock = threading.Lock()
        self._flusher: threading.Thread | None = None
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
        once: str | None = None,
    ) -> Recorded:
        """Keep a request until it is answered. With ``key``, a request with the same key
        still waiting is updated (its newest body: the newest ``response_url``) instead.
        ``busy_after``: when more requests than that wait, the new one is marked busy (the
        caller says so to the person). ``once``: a key seen before (a replayed request's
        ``trigger_id``) records nothing.

        The database gets ``ACK_WAIT`` seconds (this runs before Slack's acknowledgement):
        when it refuses writes (locked, away), the request is held in this process's memory
        — at most ``HELD_LIMIT`` of them, then ``StorageUnavailable`` — and recorded as soon
        as the database takes writes again."""
        now = self._clock()
        # A digest: the key may hold what a person wrote, the column only a fingerprint.
        key = hashlib.sha256(key.encode()).hexdigest() if key is not None else None
        request = _Request(kind, dict(body), team_id, user_id, key, busy_after, once, now)
        try:
            return self._write(request, ACK_WAIT)
        except (DBAPIError, SQLAlchemyTimeoutError) as error:
            return self._hold(request, first_line(error))

    def _write(self, request: _Request, wait: float) -> Recorded:
        # SQLAlchemy Core on one connection, not the ORM: this runs in the request thread,
        # before the acknowledgement, where every CPU millisecond counts.
        table = cast(Table, WaitingRequest.__table__)
        for _ in range(2):
            try:
                with self._engine.connect() as plain:
                    connection = plain.execution_options(**{WAIT_OPTION: wait})
                    with connection.begin():
                        if self._engine.dialect.name == "postgresql":
                            connection.exec_driver_sql(
                                f"SET LOCAL lock_timeout = {int(wait * 1000)}"
                            )
                        return self._insert(connection, table, request)
            except IntegrityError:
                if request.once is not None and not self._unseen(request.once):
                    return Recorded(True, 0)  # a replay: acted on once already
                continue  # the same request was recorded meanwhile: join it
        return Recorded(True, 0)

    def _insert(self, connection: Connection, table: Table, request: _Request) -> Recorded:
        if request.once is not None:
            # Fails (IntegrityError) for a key seen before: the whole recording is undone.
            connection.execute(
                insert(ProcessedDelivery).values(key=request.once[:128], created_at=request.now)
            )
        if request.key is not None:
            joined = connection.execute(
                update(table).where(table.c.waiting_key == request.key).values(body=request.body)
            )
            if joined.rowcount == 1:
                return Recorded(True, 0)
        waiting = 0
        if request.busy_after is not None:
            waiting = (
                connection.scalar(
                    select(func.count())
                    .select_from(table)
                    .where(table.c.available_at <= request.now)
                )
                or 0
            )
        connection.execute(
            insert(table).values(
                kind=request.kind,
                team_id=request.team_id[:32],
                slack_user_id=request.user_id[:32],
                body=request.body,
                waiting_key=request.key,
                busy=request.busy_after is not None and waiting >= request.busy_after,
                attempts=0,
                available_at=request.now,
                created_at=request.now,
            )
        )
        return Recorded(False, waiting)

    def _unseen(self, once: str) -> bool:
        with self._engine.connect() as connection:
            found = connection.scalar(
                select(func.count())
                .select_from(ProcessedDelivery)
                .where(ProcessedDelivery.key == once[:128])
            )
            return not found

    def _hold(self, request: _Request, cause: str) -> Recorded:
        with self._held_lock:
            if len(self._held) >= HELD_LIMIT:
                raise StorageUnavailable(cause)
            self._held.append(request)
            if self._flusher is None or not self._flusher.is_alive():
                self._flusher = threading.Thread(
                    target=self._flush, name="waiting-requests-flush", daemon=True
                )
                self._flusher.start()
        log.warning("the database refuses writes (%s): a request is held until it answers", cause)
        return Recorded(False, 0)

    def _flush(self) -> None:
        """Record the held requests once the database takes writes again."""
        while True:
            with self._held_lock:
                if not self._held:
                    self._flusher = None
                    return
                request = self._held[0]
            try:
                self._write(request, FLUSH_WAIT)
            except (DBAPIError, SQLAlchemyTimeoutError):
                time.sleep(FLUSH_PAUSE)
                continue
            with self._held_lock:
                self._held.popleft()

    @property
    def held(self) -> int:
        """Requests acknowledged but not yet in the database (it refused writes)."""
        with self._held_lock:
            return len(self._held)

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
