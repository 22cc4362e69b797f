"""A learner's sentence about a step is stored as its column can hold it, on both databases."""

from __future__ import annotations

from bot.storage.database import create_database_engine, migrate, session_factory
from bot.storage.store import SqlLearnerStore


def test_a_sentence_with_a_nul_byte_is_kept_without_it(each_database_url: str) -> None:
    migrate(each_database_url)
    engine = create_database_engine(each_database_url)
    try:
        store = SqlLearnerStore(session_factory(engine))
        learner = store.enroll("T1", "UFEEL01", "fr", "fork")
        store.record_feeling(learner.id, "fork", "hard", "trop\x00 dur\x07 !")
        assert store.feelings(learner.id) == {"fork": ("hard", "trop dur !")}
    finally:
        engine.dispose()
