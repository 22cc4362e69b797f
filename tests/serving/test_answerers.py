"""Requests are recorded, acknowledged, and answered by answerers outside the web processes:
a restart loses none, and past the bound a command hears "busy" at once, then its answer."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlencode

from slack_bolt.request import BoltRequest

from bot.course.checks import CheckResult
from bot.course.ports import Taken
from bot.serving.answerers import Answerers
from bot.settings import load_settings
from bot.slack.answers import answer_request
from bot.slack.app import build_app
from bot.storage.database import create_database_engine, migrate, session_factory
from bot.storage.store import SqlLearnerStore
from bot.storage.waiting import LEASE, SqlWaitingRequests
from bot.wiring import build
from tests.rig.bot_process import SIGNING_SECRET, BotProcess, bot_environment
from tests.rig.fake_github import FakeGitHub
from tests.rig.fake_slack import DEFAULT_TEAM_ID, FakeSlack, dm_channel_id
from tests.rig.slack_sender import FORM, SlackSender

BUSY = {
    "en": "Busy — many people are asking at once.",
    "fr": "Beaucoup de demandes en même temps",
}


def linked_learners(database_url: str, github: FakeGitHub, slack: FakeSlack, n: int) -> list[str]:
    """``n`` learners linked to their GitHub accounts, at the fork step (not forked yet)."""
    migrate(database_url)
    engine = create_database_engine(database_url)
    store = SqlLearnerStore(session_factory(engine))
    users = []
    for index in range(n):
        user, login = f"UPEND{index:04d}", f"pending-{index:03d}"
        github_id = github.world.add_user(login, email=f"{login}@example.org").id
        slack.add_user(user, name=login, real_name=login.title(), locale="en-US")
        learner = store.enroll(DEFAULT_TEAM_ID, user, "en", "link")
        store.update_profile(learner.id, dm_channel=dm_channel_id(user))
        result = CheckResult.done_with({"github_login": login, "github_user_id": github_id})
        store.record_check(learner.id, "link", result, "test", "fork")
        users.append(user)
    engine.dispose()
    return users


def answered_tags(slack: FakeSlack) -> set[str | None]:
    """The commands that got their verdict (not only "Checking on GitHub…")."""
    return {m.tag for m in slack.messages() if m.via == "response_url" and "Not yet" in m.text}


def test_checks_pending_at_a_restart_are_all_answered_after_it(
    fake_github: FakeGitHub, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'restart.db'}"
    users = linked_learners(url, fake_github, fake_slack, 100)
    env = bot_environment(
        slack_api_url=fake_slack.api_url, github_api_url=fake_github.url, database_url=url
    )
    fake_github.delay = 2.0  # each check asks GitHub three times: 6 s each, 16 at a time
    first = BotProcess(env, tmp_path).start()
    sender = SlackSender(first.url, SIGNING_SECRET, fake=fake_slack)
    try:
        for user in users:
            assert sender.command("check", user_id=user).status_code == 200
    finally:
        # SIGTERM with most checks waiting, and SIGKILL 10 s later, as platforms do.
        first.stop_like_a_platform(grace=10)
    answered_before = answered_tags(fake_slack)
    assert len(answered_before) < len(users)  # the restart did come with checks pending
    fake_github.delay = 0.0
    second = BotProcess(env, tmp_path).start()
    try:
        # Handed back at the stop, or (killed before that on a loaded machine) after the lease.
        deadline = time.monotonic() + LEASE.total_seconds() + 60
        while time.monotonic() < deadline and len(answered_tags(fake_slack)) < len(users):
            time.sleep(0.2)
    finally:
        second.stop()
    assert len(answered_tags(fake_slack)) == len(users)


def test_past_the_bound_a_command_hears_busy_at_once_then_gets_its_answer(
    fake_github: FakeGitHub, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'busy.db'}"
    (user,) = linked_learners(url, fake_github, fake_slack, 1)
    env = bot_environment(
        slack_api_url=fake_slack.api_url, github_api_url=fake_github.url, database_url=url
    )
    parts = build(load_settings(env, env_file=None))
    services = replace(parts.services, busy_after=0)  # every request is one too many
    app = build_app(services)
    sender = SlackSender("http://unused.invalid", SIGNING_SECRET, fake=fake_slack)
    fields = sender.command_body("check", user_id=user)
    body = urlencode(fields)
    acknowledged = app.dispatch(
        BoltRequest(body=body, headers=sender.sign(body.encode()) | {"Content-Type": FORM})
    )
    assert acknowledged.status == 200
    for words in BUSY.values():
        assert words in acknowledged.body
    assert fake_slack.messages() == []  # nothing answered yet: it waits in the database
    pool = Answerers(parts.requests, lambda r: answer_request(services, app.client, r)).start()
    try:
        answer = fake_slack.wait_for_message(lambda m: m.via == "response_url", timeout=15)
    finally:
        pool.stop()
    assert "Not yet" in answer.text


def test_a_stop_hands_back_the_requests_still_running(tmp_path: Path) -> None:
    """A platform's SIGKILL follows SIGTERM within seconds: what the pool could not finish
    is handed back at once, not left to its two-minute lease."""
    url = f"sqlite:///{tmp_path / 'stop.db'}"
    migrate(url)
    engine = create_database_engine(url)
    book = SqlWaitingRequests(session_factory(engine))
    book.record("command", {"response_url": "slow"}, user_id="U1", key="U1 check")
    started, release = threading.Event(), threading.Event()

    def slow_answer(_request: Taken) -> None:
        started.set()
        release.wait(10)

    pool = Answerers(book, slow_answer, size=2, poll=0.05).start()
    try:
        assert started.wait(5)
        assert book.take(10) == []  # taken by the pool: nobody else may take it
        assert pool.stop(grace=0.2) == 1
        assert [t.body["response_url"] for t in book.take(10)] == ["slow"]
    finally:
        release.set()
        engine.dispose()
