"""Engine creation and migrations, for SQLite and PostgreSQL.

SQLite is the default: WAL lets readers run beside the writer, ``BEGIN IMMEDIATE``
serialises writers up front (instead of failing with "database is locked" when two
transactions both try to upgrade a read lock), and a busy timeout makes them queue.

PostgreSQL (``postgresql+psycopg://…``, psycopg 3, ``pip install 'pr-coach[postgres]'``) is
for several web processes and workers: each process keeps a small pool of connections, row
locks (``SELECT … FOR UPDATE``) and unique keys keep concurrent writes exact, and a database
that goes away for a while makes requests fail with one clear log line, then the pool
reconnects by itself when it is back.
"""

from __future__ import annotations

import importlib.util
import logging
import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    URL,
    CursorResult,
    Engine,
    Result,
    Update,
    create_engine,
    delete,
    event,
    insert,
    make_url,
)
from sqlalchemy.engine.interfaces import ExceptionContext
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from sqlalchemy.orm import Session, sessionmaker

from bot.errors import ConfigError
from bot.storage.models import ProcessedDelivery

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# One pool per process. A web process serves gunicorn's 8 threads (each records a request in
# one write); an answering process runs 16 answerers: 8 connections stay open, 8 more open in
# a burst.
# Every store method is one short transaction (GitHub is never called inside one), so a
# connection is held for milliseconds. Each process needs up to POOL_SIZE + MAX_OVERFLOW
# connections: keep (web processes + answering processes + workers) x 16 under the server's
# max_connections, or
# size the pool in DATABASE_URL (``?pool_size=2&max_overflow=3``).
POOL_SIZE = 8
MAX_OVERFLOW = 8
POOL_TIMEOUT = 10  # seconds a request waits for a free connection before failing
POOL_RECYCLE = 30 * 60  # seconds; proxies and firewalls drop idle connections
CONNECT_TIMEOUT = 5  # seconds; an unreachable server fails fast instead of hanging a thread
OUTAGE_LOG_EVERY = 30.0  # seconds between two "database unreachable" lines
POOL_OPTIONS = ("pool_size", "max_overflow", "pool_timeout")
BUSY_TIMEOUT_MS = 30_000  # SQLite: how long a writer queues behind another by default
# Execution option (seconds): how long this transaction may wait for the write lock.
WAIT_OPTION = "prcoach_lock_wait"


def database_url(url: str) -> URL:
    """``url`` with the driver PR Coach uses: ``postgres://`` and ``postgresql://`` (as
    Heroku, Scalingo and others hand them out) mean PostgreSQL through psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername == "postgresql+psycopg" and importlib.util.find_spec("psycopg") is None:
        raise ConfigError(
            "DATABASE_URL",
            "DATABASE_URL points at PostgreSQL but psycopg is not installed: "
            "pip install 'pr-coach[postgres]' (or pip install 'psycopg[binary]').",
        )
    return parsed


def is_postgresql(url: str | URL) -> bool:
    return make_url(url).get_backend_name() in ("postgres", "postgresql")


def _pool_options(url: URL) -> tuple[URL, dict[str, int]]:
    """``?pool_size=…&max_overflow=…&pool_timeout=…`` in DATABASE_URL size the pool (small
    hosted plans allow only 20 connections or so); they are PR Coach's, not the driver's."""
    found: dict[str, int] = {}
    for name in POOL_OPTIONS:
        if name not in url.query:
            continue
        value = url.query[name]
        text = value[-1] if isinstance(value, tuple) else value
        if not text.isdigit() or (name != "max_overflow" and int(text) == 0):
            raise ConfigError(
                "DATABASE_URL",
                f"DATABASE_URL has {name}={text!r}: a whole number"
                f"{'' if name == 'max_overflow' else ' above 0'} is expected.",
            )
        found[name] = int(text)
    return url.difference_update_query(POOL_OPTIONS), found


def create_database_engine(url: str, **options: Any) -> Engine:
    parsed, pool = _pool_options(database_url(url))
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, connect_args={"timeout": 30}, **options)
        _tune_sqlite(engine)
        return engine
    settings: dict[str, Any] = {
        "pool_size": POOL_SIZE,
        "max_overflow": MAX_OVERFLOW,
        "pool_timeout": POOL_TIMEOUT,
        "pool_recycle": POOL_RECYCLE,
        # A connection the server closed (restart, failover) is replaced before use.
        "pool_pre_ping": True,
        **pool,
    }
    if parsed.get_backend_name() == "postgresql":
        defaults = {"connect_timeout": CONNECT_TIMEOUT, "application_name": "prcoach"}
        # The URL's own ?connect_timeout=… or ?application_name=… win.
        settings["connect_args"] = {k: v for k, v in defaults.items() if k not in parsed.query}
    engine = create_engine(parsed, **{**settings, **options})
    _report_outages(engine)
    return engine


# Tries at switching a new SQLite file to WAL while other processes open it (0.1 s apart).
WAL_TRIES = 100


def _switch_to_wal(cursor: Any) -> None:
    """Processes starting together (web, worker, answerers) all switch a new file to WAL;
    SQLite answers "locked" at once to all but one, without its busy timeout: try again."""
    for attempt in range(WAL_TRIES):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or attempt == WAL_TRIES - 1:
                raise
            time.sleep(0.1)


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if engine.url.database not in (None, "", ":memory:"):
            _switch_to_wal(cursor)
            # In WAL mode NORMAL never corrupts the file; it only skips an fsync per commit.
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Deleted rows are overwritten with zeros, not left readable in free pages.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # How long to queue behind another writer: 30 s, or less for a caller that must
        # answer fast (Slack's acknowledgement, the health check) — see ``WAIT_OPTION``.
        wait = connection.get_execution_options().get(WAIT_OPTION, BUSY_TIMEOUT_MS / 1000)
        connection.exec_driver_sql(f"PRAGMA busy_timeout={int(wait * 1000)}")
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class _Outage:
    """Whether the server is unreachable, to log it once in a while and its return once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.since: float | None = None
        self.last_logged = 0.0


def _report_outages(engine: Engine) -> None:
    where = engine.url.render_as_string(hide_password=True)
    outage = _Outage()

    @event.listens_for(engine, "handle_error")
    def _on_error(context: ExceptionContext) -> None:
        # A failed connection attempt (context.connection is None) or a dropped connection.
        if context.is_pre_ping or not (context.is_disconnect or context.connection is None):
            return
        cause = str(context.original_exception).strip().splitlines()
        now = time.monotonic()
        with outage.lock:
            first = outage.since is None
            if first:
                outage.since = now
            elif now - outage.last_logged < OUTAGE_LOG_EVERY:
                return
            outage.last_logged = now
        log.error(
            "the database is unreachable (%s: %s)%s: requests fail until it answers again; "
            "no restart is needed, connections are retried on each request",
            where,
            cause[0] if cause else type(context.original_exception).__name__,
            "" if first else f", for {now - (outage.since or now):.0f}s",
        )

    @event.listens_for(engine, "connect")
    def _on_connect(_dbapi_connection: Any, _record: Any) -> None:
        with outage.lock:
            since, outage.since = outage.since, None
        if since is not None:
            log.warning(
                "the database answers again (%s) after %.0fs", where, time.monotonic() - since
            )


def scrub_deleted(sessions: sessionmaker[Session]) -> None:
    """After erasing a person: on SQLite, copy the write-ahead log into the database and
    empty it (``wal_checkpoint(TRUNCATE)``), so the erased rows' old pages do not stay
    readable in the ``-wal`` file; ``secure_delete`` already zeroed them in the database
    file. PostgreSQL reclaims dead rows itself (autovacuum); nothing to do here."""
    engine = sessions.kw.get("bind")
    if not isinstance(engine, Engine) or engine.dialect.name != "sqlite":
        return
    # Outside any transaction (SQLAlchemy would BEGIN first): the raw connection.
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        for _attempt in range(40):
            busy = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if busy is None or not busy[0]:
                return
            time.sleep(0.05)  # a reader is in the middle of a transaction: very soon done
    finally:
        connection.close()
    log.warning("the database's write-ahead log could not be emptied after an erasure")


def can_write(engine: Engine, seconds: float) -> bool:
    """Whether a write commits now, waiting ``seconds`` at most for a lock: a locked,
    read-only, full or unreachable database is False (for ``/healthz``). The write is one
    small row (``processed_deliveries``, key ``healthz``), rewritten each time."""
    now = datetime.now(UTC)
    try:
        with engine.connect() as connection:
            connection = connection.execution_options(**{WAIT_OPTION: seconds})
            with connection.begin():
                if engine.dialect.name == "postgresql":
                    connection.exec_driver_sql(f"SET LOCAL lock_timeout = {int(seconds * 1000)}")
                    connection.exec_driver_sql(
                        f"SET LOCAL statement_timeout = {int(seconds * 1000)}"
                    )
                health = ProcessedDelivery.key == HEALTH_KEY
                connection.execute(delete(ProcessedDelivery).where(health))
                connection.execute(insert(ProcessedDelivery).values(key=HEALTH_KEY, created_at=now))
        return True
    except (DBAPIError, SQLAlchemyTimeoutError) as error:
        log.warning("health check: the database cannot be written (%s)", first_line(error))
        return False


HEALTH_KEY = "healthz"


def first_line(error: BaseException) -> str:
    origin = getattr(error, "orig", None) or error
    lines = str(origin).strip().splitlines()
    return lines[0][:200] if lines else type(origin).__name__


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE touched (``Session.execute`` types its result loosely)."""
    return int(cast(CursorResult[Any], result).rowcount or 0)


def claim(sessions: sessionmaker[Session], statement: Update) -> bool:
    """The one compare-and-set: an UPDATE whose WHERE holds what the caller saw (a due time,
    an empty slot) changes one row for exactly one of the processes racing for it."""
    with sessions() as session, session.begin():
        done = session.execute(statement.execution_options(synchronize_session=False))
        return rowcount(done) == 1


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser interpolation would choke on a '%' in a password.
    rendered = database_url(url).render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config


def migrate(url: str) -> None:
    """Create or upgrade the schema to the newest migration.

    Several processes may start at once (web and worker, two web dynos): on PostgreSQL the
    migration environment holds an advisory lock, so one migrates and the others then find
    the schema current; on SQLite ``BEGIN IMMEDIATE`` does the same.
    """
    # Alembic's INFO lines ("setup plugin…", "Context impl…", "Running upgrade…") are start-up
    # chatter: they are kept aside and summed up in one line; DEBUG shows them as they come.
    chatty = logging.getLogger("alembic")
    kept = _Kept()
    quiet = not log.isEnabledFor(logging.DEBUG)
    saved = chatty.propagate, chatty.level
    if quiet:
        chatty.propagate = False
        chatty.setLevel(logging.INFO)
        chatty.addHandler(kept)
    try:
        command.upgrade(alembic_config(url), "head")
    finally:
        if quiet:
            chatty.removeHandler(kept)
            chatty.propagate, chatty.level = saved
    for record in kept.records:
        if record.levelno >= logging.WARNING:
            log.log(record.levelno, "alembic: %s", record.getMessage())
    applied = [
        r.getMessage().rsplit("-> ", 1)[-1].split(",")[0].strip()
        for r in kept.records
        if r.getMessage().startswith("Running upgrade")
    ]
    if applied:
        log.info("database schema upgraded (%d migrations, now at %s)", len(applied), applied[-1])
    else:
        log.debug("database schema is up to date")


class _Kept(logging.Handler):
    """Keeps the records it is handed (Alembic's, during a migration)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
