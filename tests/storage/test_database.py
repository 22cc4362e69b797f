"""DATABASE_URL as hosting platforms hand it out, and the pool each process keeps."""

from __future__ import annotations

import importlib.util

import pytest
from sqlalchemy import make_url

from bot.errors import ConfigError
from bot.storage import database
from bot.storage.database import (
    MAX_OVERFLOW,
    POOL_SIZE,
    POOL_TIMEOUT,
    alembic_config,
    create_database_engine,
    database_url,
    is_postgresql,
)


@pytest.mark.parametrize(
    "given",
    [
        "postgres://prcoach:secret@db.example.org:5432/prcoach",  # Heroku, Scalingo
        "postgresql://prcoach:secret@db.example.org:5432/prcoach",
        "postgresql+psycopg://prcoach:secret@db.example.org:5432/prcoach",
    ],
)
def test_postgresql_urls_use_psycopg_3(given: str) -> None:
    url = database_url(given)
    assert url.drivername == "postgresql+psycopg"
    assert (url.username, url.password, url.host, url.port, url.database) == (
        "prcoach",
        "secret",
        "db.example.org",
        5432,
        "prcoach",
    )
    assert is_postgresql(given)


def test_sqlite_urls_are_left_alone() -> None:
    assert str(database_url("sqlite:///prcoach.db")) == "sqlite:///prcoach.db"
    assert not is_postgresql("sqlite:///prcoach.db")


def test_postgresql_without_psycopg_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        database.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "psycopg" else real(name, *a),
    )
    with pytest.raises(ConfigError) as raised:
        create_database_engine("postgresql://u@localhost/prcoach")
    assert raised.value.variable == "DATABASE_URL"
    assert "pr-coach[postgres]" in str(raised.value)


def test_each_process_keeps_a_bounded_pool_and_checks_connections_before_use() -> None:
    engine = create_database_engine("postgresql+psycopg://u:pw@127.0.0.1:1/prcoach")
    try:
        pool = engine.pool
        assert pool.size() == POOL_SIZE  # type: ignore[attr-defined]
        assert pool._max_overflow == MAX_OVERFLOW  # type: ignore[attr-defined]
        assert pool._timeout == POOL_TIMEOUT  # type: ignore[attr-defined]
        assert pool._pre_ping
    finally:
        engine.dispose()


def test_a_percent_sign_in_the_password_reaches_alembic_intact() -> None:
    url = "postgresql+psycopg://prcoach:50%25off@db.example.org/prcoach"
    rendered = alembic_config(url).get_main_option("sqlalchemy.url")
    assert rendered is not None
    assert make_url(rendered).password == "50%off"


def test_the_pool_can_be_sized_in_the_url_for_small_hosted_plans() -> None:
    url = "postgres://u:pw@127.0.0.1:1/prcoach?pool_size=2&max_overflow=3&sslmode=require"
    engine = create_database_engine(url)
    try:
        assert engine.pool.size() == 2  # type: ignore[attr-defined]
        assert engine.pool._max_overflow == 3  # type: ignore[attr-defined]
        # PR Coach's own options are not handed to the driver; the driver's ones are.
        assert dict(engine.url.query) == {"sslmode": "require"}
    finally:
        engine.dispose()


@pytest.mark.parametrize("query", ["pool_size=0", "pool_size=many", "max_overflow=-1"])
def test_a_malformed_pool_size_is_named(query: str) -> None:
    with pytest.raises(ConfigError) as raised:
        create_database_engine(f"postgresql://u@127.0.0.1/prcoach?{query}")
    assert query.split("=")[0] in str(raised.value)
