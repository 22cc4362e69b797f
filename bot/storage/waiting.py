"""Requests acknowledged and waiting for their answer, in the database (SQLite or PostgreSQL).

A web process appends each request to its journal (:mod:`bot.storage.journal`: one line on
the local disk, which waits for nobody) and acknowledges; the answering process moves the
journals' lines into the database in batches, one transaction each (``gather``). Answerers
— a bounded pool in another process — take requests one at a time with a compare-and-set on
``available_at``, answer, and delete them. A taker that stops mid-way (SIGTERM, a crash)
leaves its request to be taken again when its lease ends; a clean stop hands it back at
once. Nothing waits in a web process's memory, so nothing piles up there, and a restart
(even ``kill -9``) loses nothing.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from sqlalchemy.orm import Session, sessionmaker

from bot.course.ports import Recorded, Taken
from bot.errors import StorageUnavailable
from bot.storage.database import WAIT_OPTION, first_line, rowcount
from bot.storage.journal import JournalUnavailable, RequestJournal
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
# ``record_soon``: a web process seals its journal's open segment every SEAL_EVERY seconds
# (then the answering process moves it, BATCH lines per transaction) and counts the waiting
# requests every COUNT_EVERY; it moves segments itself only when nobody did for FALLBACK_AFTER.
SEAL_EVERY = 0.1
COUNT_EVERY = 1.0
COUNT_WAIT = 0.1
FALLBACK_AFTER = 5.0
BATCH = 200
# The database cannot take writes now: the lines wait in the journal and are tried again.
_AWAY = (OperationalError, InterfaceError, SQLAlchemyTimeoutError)


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
    busy: bool | None = None  # decided at the acknowledgement (record_soon); else counted


class SqlWaitingRequests:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Callable[[], datetime] = utcnow,
        journal: RequestJournal | None = None,
    ) -> None:
        self._sessions = sessions
        self._engine: Engine = sessions.kw["bind"]
        self._held: deque[_Request] = deque()
        self._held_lock = threading.Lock()
        self._flusher: threading.Thread | None = None
        self._clock = clock
        self._journal = journal
        self._keeper: threading.Thread | None = None
        self._keeper_pid = 0
        self._keeper_lock = threading.Lock()
        self._closing = threading.Event()
        self._waiting_seen = 0  # requests waiting and not taken, counted a moment ago

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
        request = _Request(kind, dict(body), team_id, user_id, _digest(key), busy_after, once, now)
        try:
            return self._write(request, ACK_WAIT)
        except (DBAPIError, SQLAlchemyTimeoutError) as error:
            return self._hold(request, first_line(error))

    def record_soon(
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
        """As ``record``, without waiting on the database: the request is a line in this
        process's journal, which the answering process moves into the database within
        moments (``gather``). Replays (``once``) and joins are settled then; busy is judged
        here, on the requests counted waiting a moment ago plus those kept and not seen
        moved yet. Without a journal, or when it refuses the line (full, disk), it is
        ``record``."""
        journal = self._journal
        if journal is None or self._closing.is_set():
            return self.record(
                kind, body, team_id=team_id, user_id=user_id, key=key,
                busy_after=busy_after, once=once,
            )  # fmt: skip
        # Busy counts requests, not clicks: the same request again before it reached the
        # database is joined there, as one already waiting.
        joined = key is not None and journal.holds(key)
        waiting = self._waiting_seen + journal.pending
        entry = {
            "kind": kind,
            "body": body,
            "team": team_id,
            "user": user_id,
            "key": key,  # its digest is what the database keeps
            "once": once,
            "busy": busy_after is not None and not joined and waiting >= busy_after,
            "at": time.time(),
        }
        try:
            journal.append(entry, key)
        except JournalUnavailable as trouble:
            log.warning("the request journal refuses lines (%s): recorded directly", trouble)
            return self.record(
                kind, body, team_id=team_id, user_id=user_id, key=key,
                busy_after=busy_after, once=once,
            )  # fmt: skip
        if self._keeper_pid != os.getpid():
            self.start_keeper()
        return Recorded(joined, waiting)

    def start_keeper(self) -> None:
        """Start this web process's journal keeper: a light thread that seals the open
        segment every ``SEAL_EVERY`` (so that the answering process can move it), and reads
        how many requests wait, for "busy". It moves segments itself only when nobody did
        for ``FALLBACK_AFTER`` (no answering process runs) — and, at start, those of a
        process that died. Idempotent."""
        if self._journal is None:
            return
        with self._keeper_lock:
            if self._keeper_pid == os.getpid() and self._keeper is not None:
                return
            self._closing.clear()
            self._keeper = threading.Thread(
                target=self._keep, name="request-journal-keeper", daemon=True
            )
            self._keeper_pid = os.getpid()
            self._keeper.start()
            atexit.register(self.close)

    def _keep(self) -> None:
        journal = self._journal
        assert journal is not None
        next_count = next_fallback = 0.0
        while not self._closing.wait(SEAL_EVERY):
            # Whatever goes wrong, the keeper goes on: while it is down nothing is sealed,
            # and the requests kept wait (never lost) until this process stops.
            try:
                journal.seal()
                now = time.monotonic()
                if now >= next_count:
                    next_count = now + COUNT_EVERY
                    with contextlib.suppress(DBAPIError, SQLAlchemyTimeoutError):
                        self._waiting_seen = self.due()
                if now >= next_fallback:
                    next_fallback = now + FALLBACK_AFTER
                    self.gather(older_than=FALLBACK_AFTER)
            except Exception:
                log.exception("the request journal's keeper failed a round")

    def gather(self, older_than: float = 0.0) -> int:
        """Move into the database the journal segments nobody holds (every web process's,
        on this machine) last written more than ``older_than`` seconds ago. The answering
        process calls it every moment; returns the requests moved."""
        if self._journal is None:
            return 0
        try:
            return self._journal.move_sealed(self._write_entries, BATCH, older_than)
        except (DBAPIError, SQLAlchemyTimeoutError, OSError) as error:
            message = first_line(error) if isinstance(error, DBAPIError) else str(error)
            log.warning("acknowledged requests wait in the journal (%s)", message)
            return 0

    def due(self) -> int:
        """Requests waiting and not taken (a read, which on SQLite still begins like a
        write: it waits for the lock only briefly, so the keeper goes on sealing)."""
        with self._engine.connect() as plain:
            connection = plain.execution_options(**{WAIT_OPTION: COUNT_WAIT})
            return (
                connection.scalar(
                    select(func.count())
                    .select_from(WaitingRequest)
                    .where(WaitingRequest.available_at <= self._clock())
                )
                or 0
            )

    def _write_entries(self, entries: list[dict[str, Any]]) -> None:
        """Journal lines into the database: one transaction for the batch; when one of them
        is refused (a replay another process recorded meanwhile, a value refused), one at a
        time."""
        try:
            self._write_batch(entries)
        except _AWAY:
            raise
        except DBAPIError as error:
            log.warning("a batch of requests is written one by one (%s)", first_line(error))
            for entry in entries:
                request = _Request(
                    str(entry["kind"]),
                    dict(entry["body"]),
                    str(entry.get("team", "")),
                    str(entry.get("user", "")),
                    _digest(entry.get("key")),
                    None,
                    entry.get("once"),
                    datetime.fromtimestamp(entry["at"], UTC),
                    bool(entry.get("busy")),
                )
                try:
                    self._write(request, FLUSH_WAIT)
                except _AWAY:
                    raise
                except DBAPIError as refused:
                    log.error("a request the database refuses is dropped (%s)", first_line(refused))

    def _write_batch(self, entries: list[dict[str, Any]]) -> None:
        """Replays refused, the same request asked twice joined (its newest body), the rest
        inserted — each an ``executemany`` of one cached statement, and little Python per
        line: this thread shares the GIL with the request threads and must not hold it
        long."""
        table = cast(Table, WaitingRequest.__table__)
        onces = {str(entry["once"])[:128] for entry in entries if entry.get("once")}
        with self._engine.connect() as plain:
            connection = plain.execution_options(**{WAIT_OPTION: FLUSH_WAIT})
            with connection.begin():
                if self._engine.dialect.name == "postgresql":
                    connection.exec_driver_sql(f"SET LOCAL lock_timeout = {int(FLUSH_WAIT * 1000)}")
                seen = set(
                    connection.scalars(
                        select(ProcessedDelivery.key).where(ProcessedDelivery.key.in_(onces))
                    )
                    if onces
                    else ()
                )
                onces_now: list[dict[str, Any]] = []
                newest: dict[str, dict[str, Any]] = {}  # by key: its first row, last body
                rows: list[dict[str, Any]] = []
                for entry in entries:
                    at = datetime.fromtimestamp(entry["at"], UTC)
                    once = entry.get("once")
                    if once:
                        once = str(once)[:128]
                        if once in seen:
                            continue  # a replay: acted on once already
                        seen.add(once)
                        onces_now.append({"key": once, "created_at": at})
                    key = _digest(entry.get("key"))
                    if key is not None and key in newest:
                        newest[key]["body"] = entry["body"]
                        continue
                    row = {
                        "kind": entry["kind"],
                        "team_id": str(entry.get("team", ""))[:32],
                        "slack_user_id": str(entry.get("user", ""))[:32],
                        "body": entry["body"],
                        "waiting_key": key,
                        "busy": bool(entry.get("busy")),
                        "attempts": 0,
                        "available_at": at,
                        "created_at": at,
                    }
                    rows.append(row)
                    if key is not None:
                        newest[key] = row
                if onces_now:
                    connection.execute(insert(ProcessedDelivery), onces_now)
                waiting_now = set(
                    connection.scalars(
                        select(table.c.waiting_key).where(table.c.waiting_key.in_(newest))
                    )
                    if newest
                    else ()
                )
                joins = [{"joined_key": key, "newest": newest[key]["body"]} for key in waiting_now]
                if joins:
                    connection.execute(
                        update(table)
                        .where(table.c.waiting_key == bindparam("joined_key"))
                        .values(body=bindparam("newest")),
                        joins,
                    )
                new = [row for row in rows if row["waiting_key"] not in waiting_now]
                if new:
                    connection.execute(insert(table), new)
                self._waiting_seen = (
                    connection.scalar(
                        select(func.count())
                        .select_from(table)
                        .where(table.c.available_at <= self._clock())
                    )
                    or 0
                )

    def close(self) -> None:
        """A clean stop: seal this process's journal and move it into the database now (a
        platform may not keep the disk for the next process); what the database does not
        take stays in the journal for the next one."""
        self._closing.set()
        keeper = self._keeper
        if keeper is not None and self._keeper_pid == os.getpid():
            keeper.join(SEAL_EVERY * 5)
        if self._journal is not None:
            self._journal.close()
            self.gather()

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
        if request.busy_after is not None and request.busy is None:
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
                busy=request.busy
                if request.busy is not None
                else request.busy_after is not None and waiting >= request.busy_after,
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


def _digest(key: str | None) -> str | None:
    # The key may hold what a person wrote; the column holds only a fingerprint.
    return hashlib.sha256(key.encode()).hexdigest() if key is not None else None
