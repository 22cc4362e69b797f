"""Staff see the whole cohort: reports, CSV, invitations, Home — and nobody else does."""

from __future__ import annotations

import csv
import io
import itertools
import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, text

from tests.rig.bot_process import STAFF_USER, BotProcess
from tests.rig.conversation import Conversation
from tests.rig.fake_github import FakeGitHub
from tests.rig.fake_slack import FakeSlack, Message, dm_channel_id
from tests.rig.slack_sender import SlackSender

_cohorts = itertools.count(1)
_people = itertools.count(1)


@pytest.fixture
def cohort() -> str:
    """A cohort name of this test only: the bot's database is shared by the session."""
    return f"promo-{next(_cohorts)}"


@pytest.fixture
def staff(slack: SlackSender, fake_slack: FakeSlack) -> Conversation:
    return Conversation(slack, fake_slack, STAFF_USER)


def new_person(fake: FakeSlack, real_name: str, locale: str = "fr-FR") -> str:
    uid = f"UST{next(_people):05d}"
    fake.add_user(uid, name=uid.lower(), real_name=real_name, locale=locale)
    return uid


def age(bot: BotProcess, user_id: str, days: int) -> None:
    """Pretend the learner has been on their current step for ``days`` more days."""
    engine = create_engine(bot.env["DATABASE_URL"])
    with engine.begin() as connection:
        rows = connection.execute(
            text("SELECT id, step_started_at FROM learners WHERE slack_user_id = :u"),
            {"u": user_id},
        ).all()
        for learner_id, started in rows:
            from datetime import datetime

            moment = datetime.fromisoformat(str(started)) - timedelta(days=days)
            connection.execute(
                text("UPDATE learners SET step_started_at = :m WHERE id = :i"),
                {"m": moment, "i": learner_id},
            )
    engine.dispose()


def dm_posts(fake: FakeSlack, user_id: str) -> list[Message]:
    return [
        m
        for m in fake.messages()
        if m.via == "chat.postMessage" and m.channel == dm_channel_id(user_id)
    ]


@pytest.fixture
def class_of_three(
    staff: Conversation,
    fake_slack: FakeSlack,
    fake_github: FakeGitHub,
    cohort: str,
    slack: SlackSender,
    bot: BotProcess,
) -> dict[str, str]:
    """Three learners invited in one cohort: one stuck at the fork, one further, one new."""
    names = {"helene": "Hélène Dupré", "zoe": "Zoé Martin", "noe": "Noé Lefèvre"}
    ids = {key: new_person(fake_slack, name) for key, name in names.items()}
    answer = staff.types(f"invite <@{ids['helene']}> <@{ids['zoe']}> <@{ids['noe']}> {cohort}")
    assert "3" in answer.text
    world = fake_github.world
    for key in ("helene", "zoe"):
        world.add_user(f"{key}-gh")
        Conversation(slack, fake_slack, ids[key]).links(f"{key}-gh")
    world.fork("eig/practice", owner="zoe-gh")
    Conversation(slack, fake_slack, ids["zoe"]).types("check")
    age(bot, ids["helene"], 5)
    return ids


def test_invited_people_get_a_welcome_dm_and_a_second_invite_changes_nothing(
    staff: Conversation, fake_slack: FakeSlack, cohort: str
) -> None:
    a, b = new_person(fake_slack, "Camille"), new_person(fake_slack, "Dominique", "en-US")
    answer = staff.types(f"invite <@{a}|camille> <@{b}> {cohort}")
    assert f"<@{a}>" in answer.text and f"<@{b}>" in answer.text
    welcome_fr = fake_slack.wait_for_message(lambda m: m.channel == dm_channel_id(a))
    welcome_en = fake_slack.wait_for_message(lambda m: m.channel == dm_channel_id(b))
    assert "Étape 1 sur 5" in welcome_fr.text
    assert "Step 1 of 5" in welcome_en.text
    again = staff.types(f"invite <@{a}> {cohort}")
    assert "Déjà en route" in again.text
    assert len(dm_posts(fake_slack, a)) == 1


def test_inviting_a_whole_channel(staff: Conversation, fake_slack: FakeSlack, cohort: str) -> None:
    members = [new_person(fake_slack, f"Personne {i}") for i in range(3)]
    fake_slack.add_user("UBOT0001", name="somebot", is_bot=True)
    fake_slack.add_channel("CPROMO001", name="promo", members=[*members, "UBOT0001"])
    answer = staff.types(f"invite <#CPROMO001|promo> {cohort}")
    for member in members:
        assert f"<@{member}>" in answer.text
        fake_slack.wait_for_message(lambda m, u=member: m.channel == dm_channel_id(u))
    assert "UBOT0001" not in answer.text


def test_inviting_two_hundred_people_answers_in_sections_slack_accepts(
    staff: Conversation, fake_slack: FakeSlack, cohort: str
) -> None:
    # One section used to list everyone: past about 190 mentions, over Slack's 3,000
    # characters, and Slack refused the whole answer (invalid_blocks).
    members = [new_person(fake_slack, f"Grande Promo {i}") for i in range(200)]
    fake_slack.add_channel("CPROMO200", name="promo-200", members=members)
    staff.timeout = 90.0
    answer = staff.types(f"invite <#CPROMO200|promo-200> {cohort}")
    texts = [b["text"]["text"] for b in answer.blocks if b.get("type") == "section"]
    assert len(texts) >= 2
    assert all(len(text) <= 3000 for text in texts)
    shown = "\n".join(texts)
    assert all(f"<@{member}>" in shown for member in members)
    assert "200" in texts[0]  # the count comes first, with the first mentions


def test_the_report_shows_the_funnel_and_who_needs_help_first(
    staff: Conversation, class_of_three: dict[str, str], cohort: str
) -> None:
    answer = staff.types(f"report cohort {cohort}")
    assert f"Bilan de la promotion : {cohort}" in answer.text
    assert "3 personnes" in answer.text and "1 bloquées" in answer.text
    blocks = json.dumps(answer.blocks, ensure_ascii=False)
    assert "1. Relier votre compte GitHub : 1 ici, 3 arrivées jusque-là" in blocks
    # The stuck learner comes first, with the flag and a link to their GitHub account.
    lines = [line for line in blocks.split("\\n") if "<@UST" in line]
    assert class_of_three["helene"] in lines[0] and "BLOQUÉ·E" in lines[0]
    assert "github.example.org/helene-gh" in lines[0]


def test_the_stuck_only_report(
    staff: Conversation, class_of_three: dict[str, str], cohort: str
) -> None:
    answer = staff.types(f"report stuck cohort {cohort}")
    blocks = json.dumps(answer.blocks, ensure_ascii=False)
    assert class_of_three["helene"] in blocks
    assert class_of_three["zoe"] not in blocks and class_of_three["noe"] not in blocks


def test_one_learners_history(staff: Conversation, class_of_three: dict[str, str]) -> None:
    zoe = class_of_three["zoe"]
    answer = staff.types(f"report <@{zoe}>")
    blocks = json.dumps(answer.blocks, ensure_ascii=False)
    assert f"Historique de <@{zoe}>" in blocks
    assert "Faire votre propre copie (fork) · done" in blocks
    assert "Relier votre compte GitHub · done" in blocks


def csv_upload(fake_slack: FakeSlack, timeout: float = 10.0, suffix: str = ".csv"):
    """The latest file uploaded whose name ends with ``suffix`` (learners' pictures may be
    uploaded around it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [u for u in fake_slack.uploads if u.filename.endswith(suffix)]
        if found:
            return found[-1]
        time.sleep(0.05)
    raise AssertionError(f"no {suffix} file uploaded")


def test_the_csv_arrives_in_the_staff_dm_and_reads_back_with_accents(
    staff: Conversation, fake_slack: FakeSlack, class_of_three: dict[str, str], cohort: str
) -> None:
    answer = staff.types(f"report csv cohort {cohort}")
    assert "CSV" in answer.text
    upload = csv_upload(fake_slack)
    assert dm_channel_id(STAFF_USER) in (upload.channel, *(upload.channels or []))
    content = upload.content
    assert content.startswith(b"\xef\xbb\xbf")  # a BOM: spreadsheets then read UTF-8
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    by_name = {row["name"]: row for row in rows}
    assert set(by_name) == {"Hélène Dupré", "Zoé Martin", "Noé Lefèvre"}
    assert by_name["Zoé Martin"]["current_step"] == "branch"
    assert by_name["Zoé Martin"]["done_fork"]
    assert by_name["Hélène Dupré"]["stuck"] == "yes"
    assert by_name["Noé Lefèvre"]["github_login"] == ""
    assert all(row["cohort"] == cohort for row in rows)


def test_staff_home_and_its_buttons(
    staff: Conversation, slack: SlackSender, fake_slack: FakeSlack, class_of_three: dict[str, str]
) -> None:
    slack.app_home_opened(STAFF_USER)
    published = fake_slack.wait_for(
        lambda c: c.method == "views.publish" and c.params.get("user_id") == STAFF_USER
    )
    view = json.dumps(published.params["view"], ensure_ascii=False)
    assert "Votre promotion" in view and "Bloqué·es" in view
    assert "prcoach_staff_nudge" in view and "prcoach_staff_csv" in view

    helene = class_of_three["helene"]
    mark = len(fake_slack.calls)
    slack.action("prcoach_staff_nudge", value=helene, user_id=STAFF_USER)
    reminder = fake_slack.wait_for_message(
        lambda m: m.channel == dm_channel_id(helene) and "rappel" in m.text.lower(), after=mark
    )
    assert "Vérifier" in json.dumps(reminder.blocks, ensure_ascii=False)


def test_a_workspace_admin_is_staff_too(slack: SlackSender, fake_slack: FakeSlack) -> None:
    admin = new_person(fake_slack, "Alex Admin", "en-US")
    fake_slack.add_user(admin, name="alex", real_name="Alex Admin", locale="en-US", is_admin=True)
    answer = Conversation(slack, fake_slack, admin).types("report stuck")
    assert "Cohort report" in answer.text


@pytest.mark.parametrize(
    "command",
    [
        "report",
        "report stuck",
        "report csv",
        "report <@USTAFF01>",
        "invite <@UEN99999> x",
        "nudge <@UEN99999>",
        "digest now",
    ],
)
def test_non_staff_are_refused_and_see_no_learner_data(
    slack: SlackSender, fake_slack: FakeSlack, class_of_three: dict[str, str], command: str
) -> None:
    outsider = new_person(fake_slack, "Curious Person", "en-US")
    mark = len(fake_slack.calls)
    answer = Conversation(slack, fake_slack, outsider).types(command)
    assert "for the programme's staff" in answer.text
    import time

    time.sleep(0.5)
    # Everything shown to the outsider: answers through the response_url, and anything
    # addressed to them (their DM, their Home).
    to_them = [
        call
        for call in fake_slack.calls[mark:]
        if call.method == "response_url"
        or outsider in json.dumps(call.params)
        or dm_channel_id(outsider) in json.dumps(call.params)
    ]
    assert to_them
    for call in to_them:
        shown = json.dumps(call.params, ensure_ascii=False)
        for learner in class_of_three.values():
            assert learner not in shown
        assert "Hélène" not in shown
    assert not [c for c in to_them if c.method.startswith("files.")]
    # No file for anyone but the learners themselves (their picture of where they are,
    # uploaded after their own steps, may arrive late).
    learner_dms = {dm_channel_id(user) for user in class_of_three.values()}
    assert not [
        c
        for c in fake_slack.calls_to("files.completeUploadExternal")
        if c.ts >= fake_slack.calls[mark].ts and c.params.get("channel_id") not in learner_dms
    ]
