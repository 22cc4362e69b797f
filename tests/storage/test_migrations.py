"""The Alembic migrations build exactly the models' schema, on SQLite and on PostgreSQL (with
TEST_DATABASE_URL), and the store stays consistent when several requests record checks for one
learner at once."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from bot.course.checks import CheckResult
from bot.storage.database import alembic_config, create_database_engine, migrate, session_factory
from bot.storage.models import Base
from bot.storage.store import SqlLearnerStore

THREADS = 8
MIGRATING_PROCESSES = 3


@pytest.fixture
def url(each_database_url: str) -> str:
    """A new, empty database: SQLite, and PostgreSQL too when TEST_DATABASE_URL is set."""
    return each_database_url


@pytest.fixture
def engine(url: str) -> Iterator[Engine]:
    engine = create_database_engine(url)
    yield engine
    engine.dispose()


def head(url: str) -> str:
    revision = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    assert revision is not None
    return revision


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def test_an_empty_database_upgraded_to_head_matches_the_models(url: str, engine: Engine) -> None:
    assert inspect(engine).get_table_names() == []
    migrate(url)
    assert current_revision(engine) == head(url)
    with engine.connect() as connection:
        # What ``alembic check`` and autogenerate compare: tables, columns, types,
        # nullability, indexes and constraints.
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    schema = inspect(engine)
    tables = set(schema.get_table_names()) - {"alembic_version"}
    assert tables == set(Base.metadata.tables)
    for name, table in Base.metadata.tables.items():
        columns = {c["name"]: c["nullable"] for c in schema.get_columns(name)}
        assert columns == {c.name: c.nullable for c in table.columns}, name


def test_migrating_twice_is_harmless(url: str, engine: Engine) -> None:
    migrate(url)
    store = SqlLearnerStore(session_factory(engine))
    learner = store.enroll("T0001", "UADA", "fr", "link")
    store.note(learner.id, "link", "welcomed", "test")
    learner = store.get(learner.id)

    migrate(url)

    assert current_revision(engine) == head(url)
    assert store.get(learner.id) == learner
    assert [e.outcome for e in store.history(learner.id)] == ["welcomed"]
    with engine.connect() as connection:
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    assert versions == [(head(url),)]


def test_concurrent_checks_of_one_learner_lose_nothing_and_advance_once(
    url: str, engine: Engine
) -> None:
    migrate(url)
    store = SqlLearnerStore(session_factory(engine))
    learner = store.enroll("T0001", "UADA", "en", "fork")
    start = threading.Barrier(THREADS)
    returned = []
    failures: list[BaseException] = []

    def check(n: int) -> None:
        result = CheckResult.done_with({"fork": "Ada-L/practice", "attempt": n})
        start.wait(timeout=30)
        try:
            returned.append(store.record_check(learner.id, "fork", result, f"thread{n}", "branch"))
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=check, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert len(returned) == THREADS

    history = store.history(learner.id)
    assert sorted(e.source for e in history) == sorted(f"thread{n}" for n in range(THREADS))
    assert {(e.step_id, e.outcome) for e in history} == {("fork", "done")}
    final = store.get(learner.id)
    assert final.current_step == "branch" and final.finished_at is None
    # Only the first recorded check moved the learner: every later one saw them at the
    # branch step already and left the move's time alone.
    assert final.step_started_at == history[0].created_at
    assert {learner.step_started_at for learner in returned} == {history[0].created_at}


def test_processes_starting_together_migrate_once(url: str, engine: Engine) -> None:
    """Web and worker processes all run the migrations at start, at the same moment."""
    # Each process imports everything, says so, and migrates when told: all at once.
    child = (
        "import sys\n"
        "from bot.storage.database import migrate\n"
        "print('ready', flush=True)\n"
        "sys.stdin.readline()\n"
        "migrate(sys.argv[1])\n"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", child, url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(MIGRATING_PROCESSES)
    ]
    for process in processes:
        assert process.stdout is not None
        assert process.stdout.readline() == b"ready\n"
    for process in processes:
        assert process.stdin is not None
        process.stdin.write(b"go\n")
        process.stdin.flush()
    outputs = [p.communicate(timeout=120)[0].decode(errors="replace") for p in processes]
    assert [p.returncode for p in processes] == [0] * MIGRATING_PROCESSES, outputs
    assert current_revision(engine) == head(url)
    with engine.connect() as connection:
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    assert versions == [(head(url),)]


def test_open_pull_requests_of_active_learners_are_followed_after_the_upgrade(
    url: str, engine: Engine
) -> None:
    command.upgrade(alembic_config(url), "0006")
    now = datetime.now(UTC).replace(tzinfo=None)
    facts = '{"pr_number": 7, "pr_url": "https://github.com/eig/practice/pull/7"}'
    with engine.begin() as connection:
        for user, active in (("UACTIVE", now), ("UOLD", now - timedelta(days=90))):
            connection.execute(
                text(
                    "INSERT INTO learners (team_id, slack_user_id, language, tool, current_step,"
                    " facts, verified, paused, created_at, step_started_at, last_activity_at,"
                    " version) VALUES ('T', :user, 'en', 'web', 'pull_request', :facts, false,"
                    " false, :at, :at, :at, 1)"
                ),
                {"user": user, "facts": facts, "at": active},
            )
    migrate(url)
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT l.slack_user_id, f.number, f.state FROM pull_follows f"
                " JOIN learners l ON l.id = f.learner_id"
            )
        ).all()
    assert [tuple(row) for row in rows] == [("UACTIVE", 7, "waiting")]
