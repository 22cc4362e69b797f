"""Linked accounts in the database: the id column (one learner per account), the verified flag,
pending sign-ins, and what migration 0006, export and erasure do with them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import Engine, text

from bot.course.checks import CheckResult
from bot.course.verification import DeviceCode
from bot.errors import AccountTaken
from bot.storage.database import alembic_config, create_database_engine, migrate, session_factory
from bot.storage.store import SqlLearnerStore

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_database_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def store(database_url: str, engine: Engine) -> SqlLearnerStore:
    migrate(database_url)
    return SqlLearnerStore(session_factory(engine))


def linked(store: SqlLearnerStore, user: str, login: str, user_id: int, **kw: bool) -> int:
    learner = store.enroll("T1", user, "en", "link")
    result = CheckResult.done_with({"github_login": login, "github_user_id": user_id})
    store.record_check(learner.id, "link", result, "test", "fork", **kw)
    return learner.id


def test_migration_0006_copies_ids_from_facts_first_one_wins(
    database_url: str, engine: Engine
) -> None:
    command.upgrade(alembic_config(database_url), "0005")
    rows = [
        (1, "UA", "ada", {"github_login": "ada", "github_user_id": 1001}),
        (2, "UB", "ada", {"github_login": "ada", "github_user_id": 1001}),  # same account
        (3, "UC", "grace", {"github_login": "grace", "github_user_id": 1002}),
        (4, "UD", None, {}),
    ]
    with engine.begin() as connection:
        for learner_id, user, login, facts in rows:
            connection.execute(
                text(
                    "INSERT INTO learners (id, team_id, slack_user_id, github_login, language, "
                    "tool, current_step, facts, paused, created_at, step_started_at, "
                    "last_activity_at, version) VALUES (:id, 'T1', :u, :l, 'en', 'web', 'fork', "
                    ":f, false, :t, :t, :t, 1)"
                ),
                {
                    "id": learner_id,
                    "u": user,
                    "l": login,
                    "f": json.dumps(facts),
                    "t": NOW.replace(tzinfo=None),
                },
            )
    migrate(database_url)
    with engine.connect() as connection:
        found = connection.execute(
            text("SELECT id, github_user_id, verified FROM learners ORDER BY id")
        ).all()
    assert [(i, u, bool(v)) for i, u, v in found] == [
        (1, 1001, False),
        (2, None, False),
        (3, 1002, False),
        (4, None, False),
    ]


def test_one_github_account_one_learner(store: SqlLearnerStore) -> None:
    ada = linked(store, "UA", "ada", 1001, verified=True)
    assert store.get(ada).verified and store.get(ada).github_user_id == 1001
    grace = store.enroll("T1", "UG", "en", "link")
    assert store.holder_of(1001, grace.id) is not None
    assert store.holder_of(1001, ada) is None
    with pytest.raises(AccountTaken):
        store.record_check(
            grace.id,
            "link",
            CheckResult.done_with({"github_login": "ada", "github_user_id": 1001}),
            "test",
            "fork",
        )
    after = store.get(grace.id)
    assert (after.github_login, after.current_step, store.history(grace.id)) == (None, "link", [])
    [found] = store.find_by_user_id(1001)
    assert found.id == ada


def test_a_relink_by_typing_the_same_account_keeps_it_proven(store: SqlLearnerStore) -> None:
    ada = linked(store, "UA", "ada", 1001, verified=True)
    result = CheckResult.done_with({"github_login": "Ada", "github_user_id": 1001})
    store.record_check(ada, "link", result, "test", "fork")  # verified not given: unchanged
    assert store.get(ada).verified and store.get(ada).github_login == "Ada"


def test_pending_flows_are_claimed_once_and_end_with_their_code(store: SqlLearnerStore) -> None:
    ada = store.enroll("T1", "UA", "en", "link").id
    flow = store.start_flow(ada, DeviceCode("dc-1", "ABCD-EFGH", 900, 5), NOW)
    assert (flow.next_poll_at, flow.expires_at) == (
        NOW + timedelta(seconds=5),
        NOW + timedelta(seconds=900),
    )
    assert store.pending_flows(due_before=NOW) == []
    assert [f.learner_id for f in store.pending_flows(due_before=NOW + timedelta(seconds=6))] == [
        ada
    ]
    later = NOW + timedelta(seconds=10)
    assert store.claim_flow(ada, flow.next_poll_at, later)
    assert not store.claim_flow(ada, flow.next_poll_at, later)
    # A newer code replaces the old one; the old one's end leaves the new one alone.
    store.start_flow(ada, DeviceCode("dc-2", "IJKL-MNOP", 900, 5), NOW)
    store.reschedule_flow(ada, "dc-1", 30, NOW + timedelta(hours=1))
    store.end_flow(ada, "dc-1")
    current = store.pending_flow(ada)
    assert current is not None and (current.device_code, current.interval) == ("dc-2", 5)
    store.end_flow(ada)
    assert store.pending_flow(ada) is None


def test_export_erasure_and_forgetting_cover_accounts_and_sign_ins(
    store: SqlLearnerStore, engine: Engine
) -> None:
    ada = linked(store, "UA", "ada", 1001, verified=True)
    store.start_flow(ada, DeviceCode("secret-device-code", "ABCD-EFGH", 900, 5), NOW)
    data = store.export(ada)
    assert data["learner"]["github_user_id"] == 1001 and data["learner"]["verified"] is True
    [flow] = data["device_flows"]
    assert flow["user_code"] == "ABCD-EFGH" and "device_code" not in flow
    assert "secret-device-code" not in json.dumps(data)

    assert store.erase_identities(inactive_before=datetime.now(UTC) + timedelta(days=1)) == 1
    erased = store.get(ada)
    assert (erased.github_user_id, erased.verified, store.pending_flow(ada)) == (None, False, None)

    grace = linked(store, "UG", "ada", 1001)  # the account is free again
    store.start_flow(grace, DeviceCode("dc", "QRST-VWXZ", 900, 5), NOW)
    store.forget(grace)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM device_flows")).scalar() == 0


def test_unlink_and_rename_are_history_lines(store: SqlLearnerStore) -> None:
    ada = linked(store, "UA", "ada", 1001, verified=True)
    store.rename_account(ada, "ada-l", {"github_login": "ada-l"}, "link", "test")
    renamed = store.history(ada)[-1]
    assert renamed.outcome == "renamed"
    assert (renamed.facts["previous_login"], renamed.facts["github_login"]) == ("ada", "ada-l")
    learner = store.unlink(ada, "link", "test")
    assert (learner.github_login, learner.github_user_id, learner.verified) == (None, None, False)
    unlinked = store.history(ada)[-1]
    assert (unlinked.outcome, unlinked.facts["github_login"], unlinked.facts["verified"]) == (
        "unlinked",
        "ada-l",
        True,
    )
