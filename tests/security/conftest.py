"""Helpers for the hardening tests (issue 13): raw HTTP to the real process, its log."""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import pytest

from tests.rig.bot_process import BotProcess


class LogMark:
    """What the bot logged after a point in time (the bot is shared by the session)."""

    def __init__(self, bot: BotProcess) -> None:
        self.bot = bot
        self.offset = len(bot.logs().encode())

    def text(self, settle: float = 0.3) -> str:
        time.sleep(settle)  # the worker writes its lines right after answering
        assert self.bot.log_path is not None
        return self.bot.log_path.read_bytes()[self.offset :].decode(errors="replace")

    def lines(self, settle: float = 0.3) -> list[str]:
        return [line for line in self.text(settle).splitlines() if line.strip()]

    def records(self, settle: float = 0.3) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines(settle)]


@pytest.fixture
def log_mark(bot: BotProcess) -> LogMark:
    return LogMark(bot)


def raw_request(port: int, head: bytes, body: bytes = b"", *, timeout: float = 10.0) -> bytes:
    """Send ``head`` (request line and headers) and ``body``; the whole answer, as bytes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head + body)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks) and _complete(b"".join(chunks)):
                break
    return b"".join(chunks)


def _complete(answer: bytes) -> bool:
    head, _, body = answer.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer else 0
