"""Which database the tests use: SQLite files by default, PostgreSQL with TEST_DATABASE_URL.

``TEST_DATABASE_URL=postgresql+psycopg://user@127.0.0.1:5432/dbname`` points the tests at a
real server (the user must be allowed to create schemas in that database). Every fresh
database a test asks for is then a new schema of that database, created empty and dropped
afterwards; connections find it through ``search_path`` (``?options=-csearch_path=…``), so
the bot, Alembic and the tests' own engines all see only that schema. Several pytest
processes (xdist workers, two developers) can share one server.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from bot.storage.database import database_url

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "").strip()
# Every database kind the storage tests are parametrized over in this run.
DATABASES = ("sqlite", "postgresql") if TEST_DATABASE_URL else ("sqlite",)


def describe() -> str:
    """For pytest's header: which database, without the password."""
    if not TEST_DATABASE_URL:
        return "databases: SQLite (set TEST_DATABASE_URL=postgresql+psycopg://… for PostgreSQL)"
    where = database_url(TEST_DATABASE_URL).render_as_string(hide_password=True)
    return f"databases: PostgreSQL at {where} (and SQLite for the storage tests)"


def _name(label: str) -> str:
    return re.sub(r"[^a-z0-9_]+", "_", label.lower()).strip("_")[:30] or "db"


@contextmanager
def postgresql_schema(label: str) -> Iterator[str]:
    """A URL of TEST_DATABASE_URL's server whose connections see only a new, empty schema."""
    if not TEST_DATABASE_URL:
        raise RuntimeError("TEST_DATABASE_URL is not set")
    base = database_url(TEST_DATABASE_URL)
    schema = f"prcoach_test_{_name(label)}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, poolclass=NullPool)
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    options = " ".join(filter(None, [base.query.get("options"), f"-csearch_path={schema}"]))
    url = base.update_query_dict({"options": options})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            # Whoever still holds a connection to the schema is done with it.
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def fresh_database(kind: str, folder: Path, label: str) -> Iterator[str]:
    """The URL of a new, empty database of ``kind`` (``sqlite`` or ``postgresql``)."""
    label = _name(label)
    if kind == "sqlite":
        yield f"sqlite:///{folder / f'{label}.db'}"
    elif kind == "postgresql":
        with postgresql_schema(label) as url:
            yield url
    else:
        raise ValueError(f"unknown database kind {kind!r}")


def default_kind() -> str:
    """The kind of the suite's own databases (the bot's, ``database_url``): PostgreSQL when
    TEST_DATABASE_URL is set, else SQLite."""
    return "postgresql" if TEST_DATABASE_URL else "sqlite"
