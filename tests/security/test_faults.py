"""Item 10: faults. Health says whether the bot can write, within a second; a locked database
never costs Slack's acknowledgement; every fault gives one true message (my-data when
Slack refuses the file; ``python -m bot migrate`` when the database is unreachable)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from bot.storage.database import create_database_engine, migrate, session_factory
from bot.storage.store import SqlLearnerStore
from tests.rig.bot_process import SIGNING_SECRET, BotProcess, bot_environment
from tests.rig.conversation import Conversation
from tests.rig.fake_github import FakeGitHub
from tests.rig.fake_slack import FakeSlack, dm_channel_id
from tests.rig.slack_sender import SlackSender


@pytest.fixture
def sqlite_bot(
    github_server: FakeGitHub, slack_server: FakeSlack, tmp_path: Path
) -> Iterator[BotProcess]:
    env = bot_environment(
        slack_api_url=slack_server.api_url,
        github_api_url=github_server.url,
        database_url=f"sqlite:///{tmp_path / 'faults.db'}",
        WEB_CONCURRENCY="1",
    )
    process = BotProcess(env, tmp_path).start()
    try:
        yield process
    finally:
        process.stop()


def test_a_locked_database_makes_health_503_at_once_and_events_are_still_acknowledged(
    sqlite_bot: BotProcess, fake_slack: FakeSlack
) -> None:
    user = "UFAULT0001"
    fake_slack.add_user(user, name="fault", real_name="Fault Person", locale="en-US")
    sender = SlackSender(sqlite_bot.url, SIGNING_SECRET, fake=fake_slack)
    database = sqlite_bot.env["DATABASE_URL"].removeprefix("sqlite:///")
    locker = sqlite3.connect(database, isolation_level=None, timeout=5)
    locker.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
    try:
        # Reads still work (WAL): only a write tells the truth. Within 2 s, not 30.
        health = requests.get(f"{sqlite_bot.url}/healthz", timeout=2)
        assert health.status_code == 503
        mark = len(fake_slack.calls)
        acknowledged = sender.dm_message("hello", user_id=user)  # timeout: sender's 10 s
        assert acknowledged.status_code == 200
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert requests.get(f"{sqlite_bot.url}/healthz", timeout=2).status_code == 200
    # The message waited for the lock, then was answered: nothing lost.
    welcome = fake_slack.wait_for_message(
        lambda m: m.channel == dm_channel_id(user), after=mark, timeout=40
    )
    assert "PR Coach" in welcome.text


def test_a_read_only_database_cannot_write_though_it_answers(tmp_path: Path) -> None:
    path = tmp_path / "readonly.db"
    migrate(f"sqlite:///{path}")
    engine = create_database_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    store = SqlLearnerStore(session_factory(engine))
    try:
        assert store.ping()  # it answers reads…
        assert not store.can_write()  # …but nothing can be saved: not healthy
    finally:
        engine.dispose()


def test_my_data_says_one_true_thing_when_slack_refuses_the_file(
    slack: SlackSender, fake_slack: FakeSlack, user_id: str
) -> None:
    learner = Conversation(slack, fake_slack, user_id)
    learner.says("hello")
    fake_slack.fail_next(1, error="internal_error", method="files.getUploadURLExternal")
    mark = len(fake_slack.calls)
    answer = learner.types("my-data")
    assert "could not send you the file" in answer.text
    time.sleep(1.5)  # anything else it would have said by now
    said = [m.text for m in fake_slack.messages()[-5:] if m.via == "response_url"]
    later = [c for c in fake_slack.calls[mark:] if c.method == "response_url"]
    assert len(later) == 1, said
    assert not any("I have sent you everything" in text for text in said)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://prcoach:hunter2-not-shown@127.0.0.1:1/prcoach",
        "sqlite:////nonexistent-folder/prcoach.db",
    ],
)
def test_migrate_says_in_one_line_that_the_database_is_unreachable(
    url: str, tmp_path: Path
) -> None:
    env = bot_environment(
        slack_api_url="http://127.0.0.1:9/api/",
        github_api_url="http://127.0.0.1:9",
        database_url=url,
    )
    result = subprocess.run(
        [sys.executable, "-m", "bot", "migrate"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert "hunter2-not-shown" not in output
    [message] = [line for line in result.stderr.splitlines() if "DATABASE_URL" in line]
    assert "cannot use the database" in message
