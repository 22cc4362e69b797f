"""The Alembic migrations build exactly the models' schema, and the store stays consistent
when several requests record checks for one learner at once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from bot.course.checks import CheckResult
from bot.storage.database import alembic_config, create_database_engine, migrate, session_factory
from bot.storage.models import Base
from bot.storage.store import SqlLearnerStore

THREADS = 8


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'prcoach.db'}"


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
