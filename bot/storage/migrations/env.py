"""Alembic environment: run migrations with the URL PR Coach was configured with."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from bot.storage.database import create_database_engine
from bot.storage.models import Base

config = context.config
target_metadata = Base.metadata
# Any fixed number: the PostgreSQL advisory lock that lets one process migrate at a time.
MIGRATION_LOCK = 0x70C0AC4


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_database_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            # render_as_batch lets later migrations alter columns on SQLite.
            render_as_batch=True,
            # The whole upgrade is one transaction, on SQLite too (Alembic would otherwise
            # commit after each migration there): web and worker processes starting together
            # migrate one at a time, and the later ones read the revision only once the
            # first has committed, so they find the schema current. SQLite's writers queue
            # at BEGIN IMMEDIATE; on PostgreSQL they queue at the advisory lock below.
            transactional_ddl=True,
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
                )
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
