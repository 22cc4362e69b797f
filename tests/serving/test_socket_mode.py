"""Socket Mode for real: the bot (``python -m bot`` with ``SLACK_APP_TOKEN``) asks the fake
Slack for a WebSocket URL (``apps.connections.open``), connects, and answers a slash command
sent over the socket: acknowledged within Slack's 3 seconds, answered on its response_url.
The same process runs the worker's jobs."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from tests.rig.bot_process import bot_environment
from tests.rig.fake_github import FakeGitHub
from tests.rig.fake_slack import DEFAULT_APP_TOKEN, DEFAULT_TOKEN, FakeSlack


def test_apps_connections_open_takes_the_app_level_token(fake_slack: FakeSlack) -> None:
    answer = WebClient(token=DEFAULT_APP_TOKEN, base_url=fake_slack.api_url).apps_connections_open(
        app_token=DEFAULT_APP_TOKEN
    )
    assert answer["url"].startswith(f"ws://127.0.0.1:{fake_slack.port}/link/?ticket=")
    with pytest.raises(SlackApiError) as refused:
        WebClient(token=DEFAULT_TOKEN, base_url=fake_slack.api_url).apps_connections_open(
            app_token=DEFAULT_TOKEN
        )
    assert refused.value.response["error"] == "not_allowed_token_type"


@pytest.fixture
def socket_bot(
    fake_slack: FakeSlack, fake_github: FakeGitHub, tmp_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    env = bot_environment(
        slack_api_url=fake_slack.api_url,
        github_api_url=fake_github.url,
        database_url=f"sqlite:///{tmp_path / 'bot.db'}",
        SLACK_APP_TOKEN=DEFAULT_APP_TOKEN,
        SLACK_SIGNING_SECRET="",  # not needed: nothing arrives over HTTP
    )
    log = (tmp_path / "bot.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot"], env=env, cwd=tmp_path, stdout=log, stderr=log
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_a_slash_command_over_the_socket_is_acknowledged_and_answered(
    socket_bot: subprocess.Popen[bytes], fake_slack: FakeSlack, tmp_path: Path
) -> None:
    fake_slack.wait_for_socket(timeout=60)
    assert fake_slack.calls_to("apps.connections.open")
    mark = len(fake_slack.calls)
    envelope_id = fake_slack.send_envelope(
        "slash_commands",
        {
            "token": "unused-verification-token",
            "team_id": fake_slack.team_id,
            "team_domain": fake_slack.team_domain,
            "channel_id": "C0RANDOM1",
            "channel_name": "random",
            "user_id": "USOCKET01",
            "user_name": "ada",
            "command": "/prcoach",
            "text": "help",
            "api_app_id": fake_slack.app_id,
            "response_url": fake_slack.response_url("socket-help", channel="C0RANDOM1"),
            "trigger_id": "111.222.socket",
        },
    )
    ack = fake_slack.wait_for_ack(envelope_id, timeout=3.0)  # Slack's 3 seconds
    assert ack["envelope_id"] == envelope_id
    answer = fake_slack.wait_for_message(lambda m: m.tag == "socket-help", after=mark, timeout=30)
    assert "PR Coach commands" in answer.text
    assert "/prcoach forget-me" in answer.text
    log = (tmp_path / "bot.log").read_text()
    assert "the worker's jobs run in this process" in log
