"""Item 5: slow or stalled clients cannot take the workers. With 30 connections held that
stop sending (a body announced and never sent, or headers never finished), health checks
and signed commands are still answered — within 1 s and Slack's 3 s (requests' timeouts)."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator

import pytest
import requests

from tests.rig.bot_process import BotProcess
from tests.rig.slack_sender import SlackSender

STALLED = 30


def _stall(port: int, headers_only: bool) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    if headers_only:
        sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    else:
        # Everything that can be checked before the body looks right; the body never comes.
        sock.sendall(
            b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n"
            + f"X-Slack-Request-Timestamp: {int(time.time())}\r\n".encode()
            + b"X-Slack-Signature: v0="
            + b"0" * 64
            + b"\r\n\r\n"
        )
    return sock


@contextlib.contextmanager
def stalled_clients(port: int, headers_only: bool) -> Iterator[list[socket.socket]]:
    sockets = [_stall(port, headers_only) for _ in range(STALLED)]
    try:
        time.sleep(0.5)  # each has reached the server and been given to a worker
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


@pytest.mark.parametrize("headers_only", [False, True], ids=["body never sent", "slowloris"])
def test_thirty_stalled_connections_never_starve_health_checks_or_commands(
    headers_only: bool, bot: BotProcess, slack: SlackSender, user_id: str
) -> None:
    with stalled_clients(bot.port, headers_only):
        answered = 0
        for _ in range(10):
            with contextlib.suppress(requests.RequestException):
                answered += requests.get(f"{bot.url}/healthz", timeout=1).status_code == 200
        assert answered >= 9, f"{answered} of 10 health checks answered within 1 s"
        slack.timeout = 3.0  # Slack's acknowledgement limit
        for _ in range(3):
            assert slack.command("help", user_id=user_id).status_code == 200
