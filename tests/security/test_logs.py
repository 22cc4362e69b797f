"""Item 4: one log format where every record is one line (JSON), gunicorn's access and error
lines included, through the same secret filter; no body, message text or name at any level."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
import requests

from tests.rig.bot_process import (
    BOT_TOKEN,
    GITHUB_TOKEN,
    SIGNING_SECRET,
    BotProcess,
    bot_environment,
)
from tests.rig.conversation import Conversation
from tests.rig.fake_github import FakeGitHub
from tests.rig.fake_slack import FakeSlack
from tests.rig.slack_sender import SlackSender
from tests.security.conftest import LogMark, raw_request


def _every_line_is_one_json_record(text: str) -> list[dict]:
    records = []
    for line in text.splitlines():
        if line.strip():
            record = json.loads(line)  # fails on any line that is not one whole record
            assert {"time", "level", "logger", "message"} <= set(record)
            records.append(record)
    return records


def test_a_newline_in_a_request_cannot_forge_a_log_line(
    bot: BotProcess, slack: SlackSender, log_mark: LogMark
) -> None:
    forged = "\n2026-01-01 00:00:00,000 ERROR bot: FORGED admin password reset"
    raw_request(
        bot.port,
        b"GET /nothing%0A2026-01-01%2000:00:00,000%20ERROR%20bot:%20FORGED HTTP/1.1\r\n"
        b"Host: 127.0.0.1\r\nContent-Length: 0\r\n\r\n",
    )
    body = f"command=%2Fprcoach&text={forged}".encode()
    slack.raw(body, {"Content-Type": "application/x-www-form-urlencoded"})
    slack.command(f"explain {forged}", user_id="ULOGFORGE1")
    records = _every_line_is_one_json_record(log_mark.text(settle=1.0))
    assert records, "the requests were logged"
    assert all("FORGED" not in r["message"] for r in records if r["level"] == "ERROR")


def test_gunicorn_access_lines_are_records_without_query_or_body(
    bot: BotProcess, log_mark: LogMark
) -> None:
    requests.get(f"{bot.url}/healthz?token=abcdef123456&name=Ada+Lovelace", timeout=5)
    records = _every_line_is_one_json_record(log_mark.text())
    access = [r for r in records if r["logger"] == "gunicorn.access"]
    assert access and access[-1]["path"] == "/healthz" and access[-1]["status"] == 200
    assert "Lovelace" not in json.dumps(records) and "abcdef123456" not in json.dumps(records)


@pytest.fixture
def debug_bot(
    github_server: FakeGitHub, slack_server: FakeSlack, tmp_path: Path
) -> Iterator[BotProcess]:
    env = bot_environment(
        slack_api_url=slack_server.api_url,
        github_api_url=github_server.url,
        database_url=f"sqlite:///{tmp_path / 'debug.db'}",
        LOG_LEVEL="DEBUG",
        WEB_CONCURRENCY="1",
    )
    process = BotProcess(env, tmp_path).start()
    try:
        yield process
    finally:
        process.stop()


def test_at_debug_no_message_text_name_or_secret_is_logged_and_every_line_is_a_record(
    debug_bot: BotProcess, fake_slack: FakeSlack, fake_github: FakeGitHub
) -> None:
    user = "UDEBUGLOG1"
    fake_slack.add_user(user, name="zéphyrine", real_name="Zéphyrine Quasimodo", locale="fr-FR")
    fake_github.world.add_user("zephyrine-q")
    sender = SlackSender(debug_bot.url, SIGNING_SECRET, fake=fake_slack)
    learner = Conversation(sender, fake_slack, user)
    learner.says("bonjour PRIVATE-DM-TEXT-4242")
    learner.links("zephyrine-q")
    # A captured command replayed too late: refused, and nothing of it logged (Bolt logs
    # the whole body of a request whose signature fails).
    fields = sender.command_body("explain STALE-MESSAGE-TEXT", user_id=user, user_name="Grace")
    fields["response_url"] = "https://hooks.slack.com.invalid/commands/T1/STALE-RESPONSE-URL"
    body = urlencode(fields).encode()
    headers = sender.sign(body, timestamp=int(time.time()) - 6 * 60)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    assert sender.raw(body, headers).status_code == 401
    # gunicorn's access lines go through the same filter as ours.
    requests.get(f"{debug_bot.url}/{SIGNING_SECRET}", timeout=5)
    debug_bot.stop()
    logs = debug_bot.logs()
    records = _every_line_is_one_json_record(logs)
    assert any(r["level"] == "DEBUG" for r in records), "it did log at DEBUG"
    assert any(r["logger"] == "gunicorn.error" for r in records)
    assert any(r["logger"] == "gunicorn.access" for r in records)
    private_things = ("PRIVATE-DM-TEXT-4242", "Quasimodo", "Zéphyrine", "zéphyrine")
    for private in (*private_things, "STALE-MESSAGE-TEXT", "Grace", "STALE-RESPONSE-URL"):
        assert private not in logs
    for secret in (BOT_TOKEN, GITHUB_TOKEN, SIGNING_SECRET):
        assert secret not in logs
