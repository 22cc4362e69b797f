"""Verified identity through the real bot: learners prove their GitHub account by signing in on
GitHub (device flow), served by the fake GitHub at ``GITHUB_URL``.

This module runs its own bot process, with ``GITHUB_OAUTH_CLIENT_ID`` set and ``GITHUB_URL``
pointing at the fake (the session's bot has no sign-in). The fake hands out a 1-second
interval, so a whole sign-in takes a few seconds; answers that arrive after the learner's
approval are posted by the bot's own polling, without a click.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from slack_sdk import WebClient
from sqlalchemy import create_engine, inspect, text

from bot.course.coach import Person
from bot.course.intents import Action, Intent
from bot.settings import load_settings
from bot.slack.delivery import Services
from bot.slack.notifier import SlackNotifier
from bot.storage.database import migrate
from bot.usecases.sign_ins import VerificationPoller, run_device_flow_job
from bot.wiring import build
from tests.rig import databases
from tests.rig.bot_process import (
    SIGNING_SECRET,
    STAFF_CHANNEL,
    STAFF_USER,
    BotProcess,
    bot_environment,
)
from tests.rig.conversation import Conversation, buttons
from tests.rig.fake_github import OAUTH_CLIENT_ID, FakeGitHub
from tests.rig.fake_slack import FakeSlack, Message, dm_channel_id
from tests.rig.slack_sender import SlackSender
from tests.slack.test_staff import csv_upload

UPSTREAM = "eig/practice"
# Approval is noticed by polling every second: allow for a few polls and a slow machine.
NOTICED_WITHIN = 20.0
_people = itertools.count(1)


@pytest.fixture(scope="module")
def verifying_bot(
    github_server: FakeGitHub, slack_server: FakeSlack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BotProcess]:
    workdir: Path = tmp_path_factory.mktemp("verifying-bot")
    with databases.fresh_database(databases.default_kind(), workdir, "verified") as url:
        env = bot_environment(
            slack_api_url=slack_server.api_url,
            github_api_url=github_server.url,
            database_url=url,
            GITHUB_URL=github_server.url,
            GITHUB_OAUTH_CLIENT_ID=OAUTH_CLIENT_ID,
        )
        process = BotProcess(env, workdir).start()
        try:
            yield process
        finally:
            process.stop()


@pytest.fixture
def sender(
    verifying_bot: BotProcess, fake_slack: FakeSlack, fake_github: FakeGitHub
) -> SlackSender:
    return SlackSender(verifying_bot.url, SIGNING_SECRET, fake=fake_slack)


def person(sender: SlackSender, fake_slack: FakeSlack) -> Conversation:
    uid = f"UVL{next(_people):05d}"
    fake_slack.add_user(uid, name=uid.lower(), real_name=f"Learner {uid}", locale="en-US")
    return Conversation(sender, fake_slack, uid)


@pytest.fixture
def ada(sender: SlackSender, fake_slack: FakeSlack) -> Conversation:
    return person(sender, fake_slack)


@pytest.fixture
def grace(sender: SlackSender, fake_slack: FakeSlack) -> Conversation:
    return person(sender, fake_slack)


@pytest.fixture
def staff(sender: SlackSender, fake_slack: FakeSlack) -> Conversation:
    return Conversation(sender, fake_slack, STAFF_USER)


def button_urls(message: Message) -> list[str]:
    return [
        element["url"]
        for block in message.blocks
        for element in block.get("elements", [])
        if element.get("type") == "button" and "url" in element
    ]


def posted_later(
    conversation: Conversation, fake_slack: FakeSlack, words: str, mark: int
) -> Message:
    """A message the bot posts in the DM by itself (its polling noticed something)."""
    return fake_slack.wait_for_message(
        lambda m: m.channel == conversation.dm and words in m.text,
        timeout=NOTICED_WITHIN,
        after=mark,
    )


def sign_in(
    conversation: Conversation, fake_slack: FakeSlack, fake_github: FakeGitHub, login: str
) -> Message:
    """Ask for a code (Connect with GitHub), approve it on GitHub as ``login``; the outcome."""
    code = conversation.clicks("prcoach_verify")
    assert "Your code" in code.text
    mark = len(fake_slack.calls)
    fake_github.approve_device(login)
    return fake_slack.wait_for_message(
        lambda m: (
            m.channel == conversation.dm
            and ("GitHub confirms" in m.text or "already linked" in m.text)
        ),
        timeout=NOTICED_WITHIN,
        after=mark,
    )


def every_value(url: str) -> str:
    engine = create_engine(url)
    chunks = []
    with engine.connect() as connection:
        for table in inspect(engine).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                chunks.append(json.dumps([str(v) for v in row]))
    engine.dispose()
    return "\n".join(chunks)


def test_a_learner_is_linked_to_the_account_that_approves_whatever_they_typed(
    ada: Conversation, fake_slack: FakeSlack, fake_github: FakeGitHub, verifying_bot: BotProcess
) -> None:
    fake_github.world.add_user("Ada-Real", email="ada@example.org")
    welcome = ada.says("hello")
    assert "Step 1 of 5" in welcome.text
    assert buttons(welcome)[0] == "Connect with GitHub"

    code = ada.says("ada-typo")  # what she types does not matter: GitHub says who she is
    [device] = fake_github.device_authorizations
    assert device.user_code in code.text and "Authorize" in code.text
    assert button_urls(code) == [f"{fake_github.url}/login/device"]
    assert buttons(code) == ["Open GitHub", "Check", "Link ada-typo without signing in"]
    # Slack reports the click on the link button too: acknowledged, and nothing else.
    before = len(fake_slack.messages(ada.dm))
    clicked = ada.slack.action("prcoach_open_github", value="open", user_id=ada.user_id)
    assert clicked.status_code == 200
    time.sleep(1)
    assert len(fake_slack.messages(ada.dm)) == before

    mark = len(fake_slack.calls)
    fake_github.approve_device("Ada-Real", after_pending=1)
    linked = posted_later(ada, fake_slack, "GitHub confirms", mark)
    assert "*Ada-Real* is your account" in linked.text
    assert "Step 2 of 5" in linked.text

    status = ada.types("status")
    assert "GitHub account: Ada-Real (proven yours on GitHub)" in status.text
    # GitHub's pace was kept, and neither the token nor the device code is stored anywhere.
    [device] = fake_github.device_authorizations
    assert device.too_fast == 0 and device.state == "used"
    [token] = fake_github.user_tokens
    everything = every_value(verifying_bot.env["DATABASE_URL"])
    assert token not in everything and device.device_code not in everything
    assert token not in verifying_bot.logs()


def test_expired_and_denied_codes_offer_a_fresh_code(
    ada: Conversation, fake_slack: FakeSlack, fake_github: FakeGitHub
) -> None:
    fake_github.world.add_user("ada-fresh")
    ada.says("hello")

    first = ada.clicks("prcoach_verify")
    assert "Your code" in first.text
    mark = len(fake_slack.calls)
    fake_github.expire_device()
    expired = posted_later(ada, fake_slack, "expired", mark)
    assert buttons(expired) == ["Get a new code"]

    second = ada.clicks("prcoach_verify", on=expired)
    assert fake_github.device_authorizations[-1].user_code in second.text
    mark = len(fake_slack.calls)
    fake_github.deny_device()
    denied = posted_later(ada, fake_slack, "cancelled", mark)
    assert buttons(denied) == ["Get a new code"]

    ada.clicks("prcoach_verify", on=denied)
    mark = len(fake_slack.calls)
    fake_github.approve_device("ada-fresh")
    assert "Step 2 of 5" in posted_later(ada, fake_slack, "GitHub confirms", mark).text
    assert len(fake_github.device_authorizations) == 3


def test_slow_down_is_respected(
    ada: Conversation, fake_slack: FakeSlack, fake_github: FakeGitHub
) -> None:
    fake_github.world.add_user("ada-slow")
    ada.says("hello")
    ada.clicks("prcoach_verify")
    fake_github.slow_down_device(2)
    mark = len(fake_slack.calls)
    fake_github.approve_device("ada-slow", after_pending=1)
    posted_later(ada, fake_slack, "GitHub confirms", mark)
    [device] = fake_github.device_authorizations
    assert device.interval == 3 and device.too_fast == 0  # 1 s, then +1 twice


def test_checking_while_waiting_shows_the_code_again(
    ada: Conversation, fake_slack: FakeSlack, fake_github: FakeGitHub
) -> None:
    ada.says("hello")
    code = ada.clicks("prcoach_verify")
    again = ada.clicks("prcoach_check", on=code)
    assert "still waiting" in again.text
    assert fake_github.device_authorizations[0].user_code in again.text
    assert len(fake_github.device_authorizations) == 1


def test_a_renamed_account_keeps_its_progress(
    ada: Conversation, fake_slack: FakeSlack, fake_github: FakeGitHub
) -> None:
    world = fake_github.world
    world.add_user("Ada-L", email="ada@example.org")
    ada.says("hello")
    assert "Step 2 of 5" in sign_in(ada, fake_slack, fake_github, "Ada-L").text
    world.fork(UPSTREAM, owner="Ada-L")
    assert "Step 3 of 5" in ada.types("check").text
    world.create_branch("Ada-L/practice", "add-ada")
    assert "Step 4 of 5" in ada.types("check").text
    world.commit(
        "Ada-L/practice",
        "add-ada",
        {"participants/Ada-L.md": "# Ada\n"},
        author_email="ada@example.org",
    )
    assert "Step 5 of 5" in ada.types("check").text

    world.rename_user("Ada-L", "ada-lovelace")
    world.open_pull(UPSTREAM, head="ada-lovelace:add-ada", title="Add Ada")
    answer = ada.types("check")
    assert "renamed from *Ada-L* to *ada-lovelace*" in answer.text
    assert "You did it" in answer.text
    status = ada.types("status")
    assert status.text.count("Done on") == 5
    assert "GitHub account: ada-lovelace (proven yours on GitHub)" in status.text


def test_two_slack_users_cannot_hold_one_github_account(
    ada: Conversation,
    grace: Conversation,
    staff: Conversation,
    fake_slack: FakeSlack,
    fake_github: FakeGitHub,
) -> None:
    fake_github.world.add_user("shared-account")
    ada.says("hello")
    assert "GitHub confirms" in sign_in(ada, fake_slack, fake_github, "shared-account").text

    grace.says("hello")
    mark = len(fake_slack.calls)
    refused = sign_in(grace, fake_slack, fake_github, "shared-account")
    assert "already linked to someone else" in refused.text and "staff" in refused.text
    alert = fake_slack.wait_for_message(
        lambda m: m.channel == STAFF_CHANNEL and "shared-account" in m.text, after=mark
    )
    assert f"<@{grace.user_id}>" in alert.text and f"<@{ada.user_id}>" in alert.text
    assert "GitHub account: not linked yet" in grace.types("status").text

    # Typing the login (and linking it without signing in) is refused too.
    assert "Link shared-account without signing in" in buttons(grace.says("shared-account"))
    typed = grace.clicks("prcoach_link_unverified")
    assert "already linked to someone else" in typed.text

    history = staff.types(f"report <@{grace.user_id}>")
    assert "link_refused" in json.dumps(history.blocks, ensure_ascii=False)


def test_staff_see_who_is_verified_in_the_report_and_the_csv(
    ada: Conversation,
    grace: Conversation,
    staff: Conversation,
    fake_slack: FakeSlack,
    fake_github: FakeGitHub,
) -> None:
    fake_github.world.add_user("ada-proven")
    fake_github.world.add_user("grace-typed")
    ada.says("hello")
    sign_in(ada, fake_slack, fake_github, "ada-proven")
    grace.says("hello")
    grace.says("grace-typed")
    assert "Is this you?" in grace.clicks("prcoach_link_unverified").text
    assert "Step 2 of 5" in grace.confirms().text

    report = json.dumps(staff.types("report").blocks, ensure_ascii=False)
    assert "ada-proven> (vérifié)" in report  # the staff member reads French
    assert "grace-typed> (non vérifié)" in report

    staff.types("report csv")
    upload = csv_upload(fake_slack)
    rows = list(csv.DictReader(io.StringIO(upload.content.decode("utf-8-sig"))))
    by_login = {row["github_login"]: row for row in rows}
    assert by_login["ada-proven"]["github_verified"] == "yes"
    assert by_login["grace-typed"]["github_verified"] == "no"


def test_unlink_asks_then_goes_back_to_the_link_step(
    ada: Conversation, fake_slack: FakeSlack, fake_github: FakeGitHub, staff: Conversation
) -> None:
    fake_github.world.add_user("ada-unlink")
    ada.says("hello")
    sign_in(ada, fake_slack, fake_github, "ada-unlink")
    question = ada.types("unlink")
    assert "Unlink the GitHub account *ada-unlink*?" in question.text
    done = ada.clicks("prcoach_confirm", on=question)
    assert "no longer linked" in done.text and "Step 1 of 5" in done.text
    history = json.dumps(staff.types(f"report <@{ada.user_id}>").blocks, ensure_ascii=False)
    assert "unlinked" in history and "GitHub ada-unlink (vérifié)" in history


def test_a_restart_does_not_lose_a_pending_sign_in(
    ada: Conversation, fake_slack: FakeSlack, fake_github: FakeGitHub, verifying_bot: BotProcess
) -> None:
    fake_github.world.add_user("ada-restart")
    ada.says("hello")
    ada.clicks("prcoach_verify")
    verifying_bot.stop()
    fake_github.approve_device("ada-restart")
    mark = len(fake_slack.calls)
    verifying_bot.start()  # picks the pending sign-in up by itself
    linked = posted_later(ada, fake_slack, "GitHub confirms", mark)
    assert "Step 2 of 5" in linked.text
    assert dm_channel_id(ada.user_id) == linked.channel


# -- in process: the worker's share, and the poller object ---------------------------------


@pytest.fixture
def services_with_sign_in(
    fake_github: FakeGitHub, fake_slack: FakeSlack, tmp_path: Path
) -> Services:

    url = f"sqlite:///{tmp_path / 'sign-ins.db'}"
    migrate(url)
    env = bot_environment(
        slack_api_url=fake_slack.api_url,
        github_api_url=fake_github.url,
        database_url=url,
        GITHUB_URL=fake_github.url,
        GITHUB_OAUTH_CLIENT_ID=OAUTH_CLIENT_ID,
    )
    return build(load_settings(env, env_file=None)).services


def test_the_worker_polls_sign_ins_nobody_polls_any_more(
    services_with_sign_in: Services, fake_github: FakeGitHub, fake_slack: FakeSlack
) -> None:

    services = services_with_sign_in
    coach, client = services.coach, WebClient(base_url=fake_slack.api_url, token="xoxb-test")
    user = f"UVL{next(_people):05d}"
    fake_slack.add_user(user, locale="en-US")
    fake_github.world.add_user("ada-worker")
    learner = coach.learner(Person("T1", user))
    coach.handle(learner, Intent(Action.LINK), "test")  # a code; then the web process stops
    now = datetime.now(UTC)
    notifier = SlackNotifier(services, client)
    store = coach.store
    assert run_device_flow_job(coach, store, notifier, now) == 0  # polled recently: not ours
    fake_github.approve_device("ada-worker")
    time.sleep(1.05)
    assert run_device_flow_job(coach, store, notifier, now + timedelta(seconds=25)) == 1
    message = fake_slack.wait_for_message(
        lambda m: m.channel == dm_channel_id(user) and "GitHub confirms" in m.text
    )
    assert "Step 2 of 5" in message.text
    assert coach.store.get(learner.id).verified


def test_the_poller_polls_at_githubs_pace_then_stops(
    services_with_sign_in: Services, fake_github: FakeGitHub, fake_slack: FakeSlack
) -> None:

    services = services_with_sign_in
    poller = services.sign_ins
    assert isinstance(poller, VerificationPoller)
    coach, client = services.coach, WebClient(base_url=fake_slack.api_url, token="xoxb-test")
    user = f"UVL{next(_people):05d}"
    fake_slack.add_user(user, locale="en-US")
    fake_github.world.add_user("ada-poller")
    learner = coach.learner(Person("T1", user))
    coach.handle(learner, Intent(Action.LINK), "test")
    poller.attach(SlackNotifier(services, client))
    assert poller.resume() == 1  # what a new process does at start
    fake_github.approve_device("ada-poller", after_pending=2)
    fake_slack.wait_for_message(
        lambda m: m.channel == dm_channel_id(user) and "GitHub confirms" in m.text,
        timeout=NOTICED_WITHIN,
    )
    [device] = fake_github.device_authorizations
    assert device.polls == 3 and device.too_fast == 0
    deadline = time.monotonic() + 5
    while poller.watching and time.monotonic() < deadline:
        time.sleep(0.1)
    assert poller.watching == 0
    poller.close()
