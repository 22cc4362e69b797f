"""The bot served the production way (Procfile ``web:``), driven over signed HTTP."""

from __future__ import annotations

import json
import time

import requests

from tests.rig.bot_process import BotProcess
from tests.rig.fake_slack import FakeSlack
from tests.rig.slack_sender import SlackSender


def test_healthz_answers_when_the_app_can_serve(bot: BotProcess) -> None:
    response = requests.get(f"{bot.url}/healthz", timeout=5)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_unknown_paths_are_404(bot: BotProcess) -> None:
    assert requests.get(f"{bot.url}/nothing-here", timeout=5).status_code == 404


def test_url_verification_echoes_the_challenge(slack: SlackSender) -> None:
    response = slack.url_verification("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")
    assert response.status_code == 200
    assert "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" in response.text


def test_a_tampered_signature_is_refused_and_nothing_is_posted(
    slack: SlackSender, fake_slack: FakeSlack, user_id: str
) -> None:
    body = b"token=x&team_id=T0001&user_id=" + user_id.encode() + b"&command=%2Fprcoach&text=help"
    headers = slack.sign(body)
    headers["X-Slack-Signature"] = headers["X-Slack-Signature"][:-4] + "0000"
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    assert slack.raw(body, headers).status_code == 401
    time.sleep(0.5)
    assert fake_slack.messages() == []


def test_a_stale_signature_is_refused(slack: SlackSender, fake_slack: FakeSlack) -> None:
    body = b"token=x&team_id=T0001&user_id=U1&command=%2Fprcoach&text=help"
    headers = slack.sign(body, timestamp=int(time.time()) - 60 * 10)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    assert slack.raw(body, headers).status_code == 401


def test_an_unsigned_request_is_refused(slack: SlackSender) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "abc"}).encode()
    assert slack.raw(body, {"Content-Type": "application/json"}).status_code == 401


def test_help_in_english(slack: SlackSender, fake_slack: FakeSlack, user_id: str) -> None:
    started = time.monotonic()
    response = slack.command("help", user_id=user_id)
    assert response.status_code == 200
    assert time.monotonic() - started < 3, "Slack's 3-second acknowledgement"
    message = fake_slack.wait_for_message(lambda m: m.via == "response_url")
    assert "PR Coach commands" in message.text
    assert "/prcoach check" in message.text
    assert message.params.get("response_type") == "ephemeral"


def test_help_in_french(slack: SlackSender, fake_slack: FakeSlack, french_user_id: str) -> None:
    slack.command("aide", user_id=french_user_id)
    message = fake_slack.wait_for_message(lambda m: m.via == "response_url")
    assert "Les commandes de PR Coach" in message.text
    assert "vérifier votre étape" in message.text


def test_an_unknown_subcommand_lists_the_subcommands(
    slack: SlackSender, fake_slack: FakeSlack, user_id: str
) -> None:
    slack.command("frobnicate now", user_id=user_id)
    message = fake_slack.wait_for_message(lambda m: m.via == "response_url")
    assert "I don't know the command `frobnicate`" in message.text
    assert "/prcoach status" in message.text


def test_no_secret_reaches_the_logs_even_in_debug(
    github_server, slack_server: FakeSlack, tmp_path, user_id: str
) -> None:
    from tests.rig.bot_process import BOT_TOKEN, GITHUB_TOKEN, SIGNING_SECRET, bot_environment

    env = bot_environment(
        slack_api_url=slack_server.api_url,
        github_api_url=github_server.url,
        database_url=f"sqlite:///{tmp_path / 'debug.db'}",
        LOG_LEVEL="DEBUG",
        WEB_CONCURRENCY="1",
    )
    process = BotProcess(env, tmp_path).start()
    try:
        sender = SlackSender(process.url, SIGNING_SECRET, fake=slack_server)
        sender.command("help", user_id=user_id)
        slack_server.wait_for_message(lambda m: m.via == "response_url" and "PR Coach" in m.text)
    finally:
        process.stop()
    logs = process.logs()
    assert "users.info" in logs or "response_url" in logs or "POST" in logs  # it did log
    for secret in (BOT_TOKEN, GITHUB_TOKEN, SIGNING_SECRET):
        assert secret not in logs
