"""Item 1: a body over the limit is refused (413) before it is read; a body is never logged,
and the signature is checked before anything is parsed."""

from __future__ import annotations

import time

from tests.rig.bot_process import BotProcess
from tests.rig.slack_sender import SlackSender
from tests.security.conftest import LogMark, raw_request, status_of


def _head(length: int, content_type: str = "application/json", **headers: str) -> bytes:
    extra = "".join(f"{name.replace('_', '-')}: {value}\r\n" for name, value in headers.items())
    return (
        f"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {length}\r\n{extra}\r\n"
    ).encode()


def test_a_30_mb_body_is_refused_with_413_before_a_byte_of_it_is_sent(
    bot: BotProcess, log_mark: LogMark
) -> None:
    # Only the headers are sent: an answer can only come if the body is not waited for.
    answer = raw_request(bot.port, _head(30 * 1024 * 1024), timeout=5)
    assert status_of(answer) == 413
    assert b"connection: close" in answer.lower()
    refused = [r for r in log_mark.records() if r.get("status") == 413]
    assert len(refused) == 1 and refused[0]["refused"] == "body_too_large"


def test_a_signed_body_over_the_limit_is_refused_too(bot: BotProcess, slack: SlackSender) -> None:
    body = b"command=%2Fprcoach&text=" + b"a" * 2 * 1024 * 1024  # twice the limit (1 MiB)
    answer = raw_request(
        bot.port,
        _head(len(body), "application/x-www-form-urlencoded", **slack.sign(body)),
        timeout=5,
    )
    assert status_of(answer) == 413


def test_an_unsigned_body_is_never_parsed_nor_logged(bot: BotProcess, log_mark: LogMark) -> None:
    marker = "UNSIGNED-BODY-MARKER-" + "x" * 500
    body = f"command=%2Fprcoach&text={marker}&response_url=https://hooks.example/T1/1".encode()
    answer = raw_request(bot.port, _head(len(body), "application/x-www-form-urlencoded") + body)
    assert status_of(answer) == 401
    logged = log_mark.text()
    assert "UNSIGNED-BODY-MARKER" not in logged and "hooks.example" not in logged
    assert len(logged) < 600, logged


def test_a_stale_signature_is_refused_before_the_body_is_read(
    bot: BotProcess, slack: SlackSender, log_mark: LogMark
) -> None:
    body = b"command=%2Fprcoach&text=STALE-TEXT-MARKER&user_name=Ada+Lovelace"
    headers = slack.sign(body, timestamp=int(time.time()) - 10 * 60)
    # The body is announced but not sent: a stale signature needs no body to be refused.
    answer = raw_request(
        bot.port, _head(len(body), "application/x-www-form-urlencoded", **headers), timeout=5
    )
    assert status_of(answer) == 401
    assert "STALE-TEXT-MARKER" not in log_mark.text()
