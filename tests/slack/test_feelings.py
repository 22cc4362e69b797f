"""How each step felt: one click after a step, an optional sentence, shown to staff per step,
and erased with the rest (forget-me, retention). Over HTTP with the real bot."""

from __future__ import annotations

import csv
import io
import itertools
import json
from datetime import UTC, datetime, timedelta

from bot.course.checks import CheckResult
from bot.course.course import load_course
from bot.course.staff import StaffDesk
from bot.storage.database import create_database_engine, migrate, session_factory
from bot.storage.store import SqlLearnerStore
from tests.rig.bot_process import STAFF_USER
from tests.rig.conversation import Conversation, buttons
from tests.rig.fake_github import FakeGitHub
from tests.rig.fake_slack import FakeSlack
from tests.rig.slack_sender import SlackSender
from tests.slack.test_staff import csv_upload

_people = itertools.count(1)


def linked(slack: SlackSender, fake_slack: FakeSlack, fake_github: FakeGitHub, locale: str):
    user = f"UFEEL{next(_people):04d}"
    fake_slack.add_user(user, name="x", real_name="Zoé Feeling", locale=locale)
    login = f"feel-{user.lower()}"
    fake_github.world.add_user(login)
    learner = Conversation(slack, fake_slack, user)
    done = learner.links(login)
    return learner, login, done


def test_a_step_done_asks_how_it_felt_and_staff_see_it(
    slack: SlackSender, fake_slack: FakeSlack, fake_github: FakeGitHub
) -> None:
    learner, login, done = linked(slack, fake_slack, fake_github, "fr-FR")
    assert "Comment s'est passée cette étape ?" in done.text
    assert buttons(done)[:3] == ["Facile", "Ça va", "Difficile"]

    thanks = learner.clicks("prcoach_feeling_hard", on=done)
    assert "_Difficile_" in thanks.text and "Relier votre compte GitHub" in thanks.text
    assert any(b.get("type") == "input" for b in thanks.blocks)  # the optional sentence
    noted = learner.enters("prcoach_feeling_comment", "Je ne trouvais pas mon identifiant")
    assert "Merci, votre phrase" in noted.text

    staff = Conversation(slack, fake_slack, STAFF_USER)
    report = staff.types("report")
    steps = next(
        b["text"]["text"] for b in report.blocks if "Comment s'est passée chaque étape" in str(b)
    )
    assert "1. Relier votre compte GitHub : difficile pour 100 % (sur 1 avis)" in steps
    staff.types("report csv")
    upload = csv_upload(fake_slack)
    rows = list(csv.DictReader(io.StringIO(upload.content.decode("utf-8-sig"))))
    mine = next(row for row in rows if row["github_login"] == login)
    assert mine["feeling_link"] == "hard"
    assert "pr_state" in mine and mine["pr_state"] == ""


def test_a_second_click_replaces_the_first_and_skipping_is_fine(
    slack: SlackSender, fake_slack: FakeSlack, fake_github: FakeGitHub
) -> None:
    learner, _, done = linked(slack, fake_slack, fake_github, "en-US")
    assert buttons(done)[:3] == ["Easy", "OK", "Hard"]
    learner.clicks("prcoach_feeling_hard", on=done)
    again = learner.clicks("prcoach_feeling_easy", on=done)
    assert "_Easy_" in again.text
    gone = learner.clicks("prcoach_feeling_ok", on=done, value=json.dumps(["no-such-step", "ok"]))
    assert "isn't part of the course" in gone.text


def store_with_feelings(url: str) -> tuple[SqlLearnerStore, int, int]:
    migrate(url)
    store = SqlLearnerStore(session_factory(create_database_engine(url)))
    ids = []
    for user in ("UOLD", "UNEW"):
        learner = store.enroll("T1", user, "en", "link")
        found = CheckResult.done_with(
            {"github_login": f"gh-{user}", "github_user_id": len(ids) + 1}
        )
        store.record_check(learner.id, "link", found, "test", "fork")
        store.record_feeling(learner.id, "link", "hard", "My secret sentence")
        ids.append(learner.id)
    return store, ids[0], ids[1]


def test_forget_me_erases_feelings_and_retention_keeps_only_the_bare_answer(
    database_url: str,
) -> None:
    store, old, new = store_with_feelings(database_url)
    assert store.export(old)["step_feelings"][0]["comment"] == "My secret sentence"
    store.forget(new)
    assert store.feelings(new) == {}
    desk = StaffDesk(
        load_course(),
        store,
        stuck_after=timedelta(days=3),
        nudge_after=timedelta(days=2),
        timezone="Europe/Paris",
        retention=timedelta(days=1),
    )
    assert desk.apply_retention(datetime.now(UTC) + timedelta(days=2)) == 1
    assert store.feelings(old) == {"link": ("hard", None)}  # the sentence is gone
    report = desk.report()
    assert report.insights[0].answers == 1 and report.insights[0].hard == 1
