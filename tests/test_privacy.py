"""Personal data: documented field by field, visible, erasable, expiring."""

from __future__ import annotations

import itertools
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from bot.course.checks import CheckResult
from bot.course.course import load_course
from bot.course.staff import StaffDesk
from bot.storage.database import create_database_engine, migrate, session_factory
from bot.storage.models import Base
from bot.storage.store import SqlLearnerStore
from tests.rig.bot_process import STAFF_CHANNEL, STAFF_USER, BotProcess
from tests.rig.conversation import Conversation
from tests.rig.fake_github import FakeGitHub
from tests.rig.fake_slack import FakeSlack, dm_channel_id
from tests.rig.slack_sender import SlackSender
from tests.slack.test_staff import csv_upload

_private_people = itertools.count(1)
PRIVACY = Path(__file__).resolve().parents[1] / "PRIVACY.md"


def test_privacy_md_lists_every_stored_field_and_nothing_else(database_url: str) -> None:
    documented = set(re.findall(r"^\| `(\w+\.\w+)` \|", PRIVACY.read_text(), re.MULTILINE))
    url = database_url  # SQLite, or PostgreSQL with TEST_DATABASE_URL
    migrate(url)
    engine = create_engine(url)
    inspector = inspect(engine)
    stored = {
        f"{table}.{column['name']}"
        for table in inspector.get_table_names()
        for column in inspector.get_columns(table)
    }
    engine.dispose()
    assert documented == stored
    assert {t.name for t in Base.metadata.sorted_tables} <= {f.split(".")[0] for f in stored}


def every_value_in_the_database(url: str) -> str:
    """All the text of every row of every table, to search for a person's traces."""
    engine = create_engine(url)
    chunks = []
    with engine.connect() as connection:
        for table in inspect(engine).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                chunks.append(json.dumps([str(v) for v in row], ensure_ascii=False))
    engine.dispose()
    return "\n".join(chunks)


@pytest.fixture
def ada(slack: SlackSender, fake_slack: FakeSlack, fake_github: FakeGitHub) -> Conversation:
    user = f"UPRIV{next(_private_people):04d}"
    fake_slack.add_user(user, name="ada", real_name=f"Adélaïde Privée {user}", locale="fr-FR")
    fake_github.world.add_user(f"ada-private-{user.lower()}")
    conversation = Conversation(slack, fake_slack, user)
    conversation.says("bonjour")
    conversation.links(f"ada-private-{user.lower()}")
    return conversation


def test_the_welcome_tells_what_is_kept_and_privacy_repeats_it(
    slack: SlackSender, fake_slack: FakeSlack, user_id: str
) -> None:
    welcome = Conversation(slack, fake_slack, user_id).says("hello")
    assert "*Your data.*" in welcome.text and "365 days" in welcome.text
    again = Conversation(slack, fake_slack, user_id).types("privacy")
    assert "/prcoach forget-me" in again.text


def test_my_data_is_every_row_about_the_learner(
    ada: Conversation, fake_slack: FakeSlack, bot: BotProcess
) -> None:
    answer = ada.types("my-data")
    assert "JSON" in answer.text
    upload = csv_upload(fake_slack, suffix=".json")
    assert dm_channel_id(ada.user_id) in (upload.channel, *(upload.channels or []))
    data = json.loads(upload.content)
    engine = create_engine(bot.env["DATABASE_URL"])
    with engine.connect() as connection:
        learner = (
            connection.execute(
                text("SELECT * FROM learners WHERE slack_user_id = :u"), {"u": ada.user_id}
            )
            .mappings()
            .one()
        )
        events = (
            connection.execute(
                text("SELECT id FROM step_events WHERE learner_id = :i ORDER BY id"),
                {"i": learner["id"]},
            )
            .scalars()
            .all()
        )
    engine.dispose()
    assert data["learner"]["slack_user_id"] == ada.user_id
    assert data["learner"]["name"] == f"Adélaïde Privée {ada.user_id}"
    assert set(data["learner"]) == set(learner.keys())
    assert [e["id"] for e in data["step_events"]] == list(events)


def test_forget_me_erases_every_trace_and_tells_staff_without_a_name(
    ada: Conversation, fake_slack: FakeSlack, bot: BotProcess
) -> None:
    login = f"ada-private-{ada.user_id.lower()}"
    question = ada.types("forget-me")
    assert "C'est définitif" in question.text
    assert ada.user_id in every_value_in_the_database(bot.env["DATABASE_URL"])
    mark = len(fake_slack.calls)
    done = ada.clicks("prcoach_confirm", on=question)
    assert "ne conserve plus rien" in done.text
    note = fake_slack.wait_for_message(lambda m: m.channel == STAFF_CHANNEL, after=mark)
    assert "quitté le parcours" in note.text or "left the course" in note.text
    assert ada.user_id not in note.text and "Adélaïde" not in note.text
    everything = every_value_in_the_database(bot.env["DATABASE_URL"])
    for trace in (ada.user_id, f"Privée {ada.user_id}", login, dm_channel_id(ada.user_id)):
        assert trace not in everything
    report = Conversation(ada.slack, fake_slack, STAFF_USER).types("report")
    assert ada.user_id not in json.dumps(report.blocks)
    # Coming back starts afresh.
    assert "Étape 1 sur 5" in ada.says("bonjour").text


def test_purge_cohort_asks_with_the_count_then_keeps_only_anonymous_counts(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotProcess
) -> None:
    staff = Conversation(slack, fake_slack, STAFF_USER)
    people = [f"UPURGE{n:03d}" for n in range(3)]
    for person in people:
        fake_slack.add_user(person, real_name=f"Personne {person}", locale="fr-FR")
    staff.types("invite " + " ".join(f"<@{p}>" for p in people) + " promo-purge")
    before = staff.types("report cohort promo-purge")
    assert "3 personnes" in before.text
    question = staff.types("purge-cohort promo-purge")
    assert "3 personnes" in question.text
    done = staff.clicks("prcoach_confirm", on=question)
    assert "3" in done.text
    after = staff.types("report cohort promo-purge")
    assert "3 personnes" in after.text  # still counted…
    blocks = json.dumps(after.blocks, ensure_ascii=False)
    for person in people:  # …but nobody is named
        assert person not in blocks
    everything = every_value_in_the_database(bot.env["DATABASE_URL"])
    assert not any(f"Personne {p}" in everything for p in people)


def test_non_staff_cannot_purge(slack: SlackSender, fake_slack: FakeSlack, user_id: str) -> None:
    answer = Conversation(slack, fake_slack, user_id).types("purge-cohort anything")
    assert "for the programme's staff" in answer.text


def test_retention_erases_exactly_the_learners_past_the_limit(database_url: str) -> None:
    url = database_url
    migrate(url)
    engine = create_database_engine(url)
    store = SqlLearnerStore(session_factory(engine))
    course = load_course()
    now = datetime(2027, 6, 1, 12, tzinfo=UTC)
    ages = {"old": 400, "just_past": 366, "just_inside": 364, "active": 1}
    ids = {}
    for key, days in ages.items():
        learner = store.enroll("T", f"U{key}", "fr", "link", name=f"Name {key}", cohort="p")
        store.record_check(
            learner.id, "link", CheckResult.done_with({"github_login": f"gh-{key}"}), "t", "fork"
        )
        ids[key] = learner.id
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE learners SET last_activity_at = :t WHERE id = :i"),
                {"t": (now - timedelta(days=days)).replace(tzinfo=None), "i": learner.id},
            )
    desk = StaffDesk(
        course,
        store,
        stuck_after=timedelta(days=3),
        nudge_after=timedelta(days=2),
        timezone="Europe/Paris",
        retention=timedelta(days=365),
        clock=lambda: now,
    )
    assert desk.apply_retention() == 2
    assert desk.apply_retention() == 0  # idempotent
    for key, learner_id in ids.items():
        learner = store.get(learner_id)
        erased = ages[key] > 365
        assert (learner.erased_at is not None) is erased
        assert (learner.github_login is None) is erased
        assert (learner.name is None) is erased
    report = desk.report("p")
    engine.dispose()
    assert report.total == 4 and len(report.lines) == 2
    assert report.funnel[1].reached == 4  # everybody still counts as past the link step
