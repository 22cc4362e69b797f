"""A message Slack would not take is kept and retried, never silently dropped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from slack_sdk import WebClient
from sqlalchemy import func, select

from bot.course.intents import Action, Intent
from bot.settings import load_settings
from bot.slack.delivery import post
from bot.slack.notifier import SlackNotifier
from bot.storage.database import migrate
from bot.storage.models import OutboxMessage
from bot.usecases.progress import RETRY_DELAYS, run_outbox_job
from bot.wiring import build
from tests.rig.bot_process import bot_environment
from tests.rig.fake_github import FakeGitHub
from tests.rig.fake_slack import DEFAULT_TEAM_ID, FakeSlack, dm_channel_id


def test_a_refused_message_is_kept_then_delivered_by_the_worker(
    fake_github: FakeGitHub, fake_slack: FakeSlack, tmp_path: Path, caplog
) -> None:
    url = f"sqlite:///{tmp_path / 'outbox.db'}"
    migrate(url)
    env = bot_environment(
        slack_api_url=fake_slack.api_url, github_api_url=fake_github.url, database_url=url
    )
    parts = build(load_settings(env, env_file=None))
    # No retry handlers: each refusal is one failed try.
    client = WebClient(base_url=fake_slack.api_url, token="xoxb-test")
    notifier = SlackNotifier(parts.services, client)
    learner = parts.store.enroll(DEFAULT_TEAM_ID, "UOUT0001", "en", "link")
    answer = parts.services.coach.handle(learner, Intent(Action.STATUS), "test")
    channel = dm_channel_id("UOUT0001")

    fake_slack.fail_next(1, error="internal_error", method="chat.postMessage")
    post(parts.services, client, channel, answer)  # Slack says no: nothing raised
    assert f"learner {learner.id}" in caplog.text and "kept to retry" in caplog.text
    assert not [m for m in fake_slack.messages(channel) if m.via == "chat.postMessage"]

    now = datetime.now(UTC)
    assert run_outbox_job(notifier, parts.store, now) == 0  # not due yet
    fake_slack.fail_next(1, error="ratelimited", method="chat.postMessage")
    assert run_outbox_job(notifier, parts.store, now + RETRY_DELAYS[0]) == 0  # refused again
    assert run_outbox_job(notifier, parts.store, now + RETRY_DELAYS[0] * 2) == 0  # backing off
    later = now + RETRY_DELAYS[0] + RETRY_DELAYS[1] + timedelta(seconds=1)
    assert run_outbox_job(notifier, parts.store, later) == 1
    delivered = fake_slack.messages(channel)
    assert delivered and "Your progress" in delivered[-1].text
    with parts.store._sessions() as session:
        assert session.scalar(select(func.count(OutboxMessage.id))) == 0
    assert run_outbox_job(notifier, parts.store, later + timedelta(days=1)) == 0  # sent once
