"""Item 9: retries and replays. Slack's 429 goes to the outbox at once (no listener thread
sleeps Retry-After); a signed command or click sent again acts once (per trigger_id); a
click is answered to the person who clicked, in their own DM."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, text

from tests.rig.bot_process import BotProcess
from tests.rig.conversation import Conversation
from tests.rig.fake_slack import FakeSlack, dm_channel_id
from tests.rig.slack_sender import SlackSender

_people = itertools.count(1)


def _learner(fake_slack: FakeSlack) -> str:
    user = f"UREPLAY{next(_people):03d}"
    fake_slack.add_user(user, name=user.lower(), real_name="Replay Person", locale="en-US")
    return user


def _rows(bot: BotProcess, sql: str, **params: object) -> list:
    engine = create_engine(bot.env["DATABASE_URL"])
    with engine.connect() as connection:
        rows = connection.execute(text(sql), params).all()
    engine.dispose()
    return rows


def _history(bot: BotProcess, user: str, outcome: str) -> int:
    return len(
        _rows(
            bot,
            "SELECT e.id FROM step_events e JOIN learners l ON l.id = e.learner_id "
            "WHERE l.slack_user_id = :u AND e.outcome = :o",
            u=user,
            o=outcome,
        )
    )


def _resend(slack: SlackSender) -> int:
    sent = slack.last_request
    assert sent is not None
    return slack.raw(sent.body, sent.headers).status_code


def test_a_replayed_slash_command_acts_once(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotProcess
) -> None:
    user = _learner(fake_slack)
    learner = Conversation(slack, fake_slack, user)
    learner.says("hello")
    learner.types("stuck")
    assert _resend(slack) == 200  # acknowledged, as Slack expects, and nothing more
    time.sleep(1.5)  # what a second run would have written by now
    assert _history(bot, user, "stuck") == 1
    answers = [m for m in fake_slack.messages() if m.via == "response_url"]
    assert len([m for m in answers if "stuck" in m.text.lower() or "mentor" in m.text]) <= 1


def test_a_replayed_click_acts_once(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotProcess
) -> None:
    user = _learner(fake_slack)
    learner = Conversation(slack, fake_slack, user)
    learner.says("hello")
    learner.clicks("prcoach_stuck")
    assert _resend(slack) == 200
    time.sleep(1.5)
    assert _history(bot, user, "stuck") == 1


def test_a_click_naming_another_channel_is_answered_in_the_clickers_dm(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    user = _learner(fake_slack)
    Conversation(slack, fake_slack, user).says("hello")
    mark = len(fake_slack.calls)
    slack.action("prcoach_check", user_id=user, channel_id="CVICTIM001")
    answer = fake_slack.wait_for_message(
        lambda m: m.via == "chat.postMessage" and m.channel == dm_channel_id(user), after=mark
    )
    assert answer.text
    assert not fake_slack.messages("CVICTIM001")


def test_slack_rate_limiting_hands_the_message_to_the_outbox_at_once(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotProcess
) -> None:
    user = _learner(fake_slack)
    Conversation(slack, fake_slack, user).says("hello")
    fake_slack.rate_limit_next(1, retry_after=40, method="chat.postMessage")
    before = datetime.now(UTC)
    assert slack.dm_message("status", user_id=user).status_code == 200
    deadline = time.monotonic() + 10  # well before Slack's 40 seconds are over
    kept: list = []
    while not kept and time.monotonic() < deadline:
        kept = _rows(
            bot,
            "SELECT o.next_at FROM outbox o JOIN learners l ON l.id = o.learner_id "
            "WHERE l.slack_user_id = :u",
            u=user,
        )
        time.sleep(0.2)
    assert kept, "the rate-limited message was not handed to the outbox"
    next_at = datetime.fromisoformat(str(kept[0][0])).replace(tzinfo=UTC)
    assert next_at >= before + timedelta(seconds=40)  # and not retried before Retry-After
