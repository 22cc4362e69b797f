"""Item 7: malformed requests get 400 or 401 and one short log line — never a 500 and a
traceback. Unsigned ones are refused before their content is looked at."""

from __future__ import annotations

import pytest

from tests.rig.bot_process import BotProcess
from tests.rig.slack_sender import SlackSender
from tests.security.conftest import LogMark, raw_request, status_of

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"

MALFORMED = {
    "bad JSON": (JSON, b'{"type": "event_callback", "event": {'),
    "a JSON array": (JSON, b'[{"type": "event_callback"}]'),
    "200k-deep nesting": (JSON, b"[" * 200_000 + b"]" * 200_000),
    "invalid UTF-8": (JSON, b'{"type": "\xff\xfe\xfa"}'),
    "a form payload that is not JSON": (FORM, b"payload=%7B%22type%22%3A"),
    "a form payload that is an array": (FORM, b"payload=%5B1%2C2%5D"),
    "invalid UTF-8 in a form": (FORM, b"command=%2Fprcoach&text=\xff\xfe"),
}


def _post(bot: BotProcess, content_type: str, body: bytes, headers: dict[str, str]) -> bytes:
    head = (
        f"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        + "\r\n"
    ).encode()
    return raw_request(bot.port, head, body)


def _one_short_line(log_mark: LogMark) -> None:
    lines = log_mark.lines()
    assert "Traceback" not in "\n".join(lines)
    assert len(lines) == 1, lines
    assert len(lines[0]) < 400


@pytest.mark.parametrize("case", list(MALFORMED))
def test_unsigned_malformed_requests_get_401_and_one_line(
    case: str, bot: BotProcess, log_mark: LogMark
) -> None:
    content_type, body = MALFORMED[case]
    assert status_of(_post(bot, content_type, body, {})) == 401
    _one_short_line(log_mark)


@pytest.mark.parametrize("case", list(MALFORMED))
def test_signed_malformed_requests_get_400_and_one_line(
    case: str, bot: BotProcess, slack: SlackSender, log_mark: LogMark
) -> None:
    content_type, body = MALFORMED[case]
    assert status_of(_post(bot, content_type, body, slack.sign(body))) == 400
    _one_short_line(log_mark)


@pytest.mark.parametrize("timestamp", ["abc", "", "-1", "1e9", "9" * 40])
def test_a_timestamp_that_is_not_a_number_is_refused_with_401(
    timestamp: str, bot: BotProcess, log_mark: LogMark
) -> None:
    body = b'{"type": "url_verification", "challenge": "x"}'
    headers = {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": "v0=" + "0" * 64}
    assert status_of(_post(bot, JSON, body, headers)) == 401
    _one_short_line(log_mark)


def test_a_missing_length_is_refused_without_waiting(bot: BotProcess) -> None:
    head = (
        b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    # Slack always sends Content-Length; without one, nothing is read.
    answer = raw_request(bot.port, head, b"5\r\nhello\r\n", timeout=5)
    assert status_of(answer) == 411
