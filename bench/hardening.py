"""What an attacker's requests cost the real process (issue 13), measured over HTTP.

* **A 30 MB unsigned body** sent to ``POST /slack/events``: how much the web workers' memory
  (resident set, then its high-water mark) and the log grow.
* **30 stalled connections**: each announces a 1,000-byte body to ``/slack/events`` (with a
  fresh timestamp and a signature-shaped header) and never sends it — then, 30 that never
  finish their headers; a closed one is opened again at once, as an attacker would. Meanwhile
  ``/healthz`` is polled and signed ``/prcoach help`` commands are sent: how many health
  checks answer within 1 s, and how long each command takes to be acknowledged.

Both run against the bot started from the Procfile's ``web:`` line (2 web workers), with the
fake Slack and GitHub of the tests. ``python -m bench hardening``.
"""

from __future__ import annotations

import contextlib
import socket
import statistics
import threading
import time
from pathlib import Path
from tempfile import TemporaryDirectory

import requests

from bench.rig import Server, children, memory_kib
from tests.rig.bot_process import (
    SIGNING_SECRET,
    STAFF_CHANNEL,
    STAFF_USER,
    bot_environment,
    procfile_command,
)
from tests.rig.fake_github import FakeGitHub
from tests.rig.fake_slack import FakeSlack
from tests.rig.slack_sender import SlackSender

BODY_MB = 30
STALLED = 30
POLL_SECONDS = 20.0
HEALTH_TARGET = 1.0  # seconds
ACK_TARGET = 3.0  # Slack's limit


def _workers_kib(server: Server, key: str) -> int:
    total = 0
    for pid in children(server.process.pid) if server.process else []:
        with contextlib.suppress(OSError):
            total += memory_kib(pid)[key]
    return total


def _post_raw(port: int, body_size: int) -> str:
    """An unsigned POST of ``body_size`` bytes; the status line, or what stopped it."""
    head = (
        f"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {body_size}\r\n\r\n"
    ).encode()
    # A form like a slash command's, with a very long text: parsed, then refused.
    chunk = b"a" * (1024 * 1024)
    head += b"command=%2Fprcoach&text="
    body_size -= len(b"command=%2Fprcoach&text=")
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(head)
        sent = 0
        try:
            while sent < body_size:
                piece = chunk[: body_size - sent]
                sock.sendall(piece)
                sent += len(piece)
        except OSError:
            pass  # the server answered (and closed) before reading it all: good
        try:
            answer = sock.recv(4096).split(b"\r\n", 1)[0].decode(errors="replace")
        except OSError as error:
            answer = f"connection closed ({type(error).__name__})"
    return f"{answer} after sending {sent / 1e6:.1f} MB"


def big_body(server: Server) -> list[str]:
    time.sleep(1.0)
    log_before = server.log_path.stat().st_size
    rss_before = _workers_kib(server, "VmRSS")
    hwm_before = _workers_kib(server, "VmHWM")
    outcome = _post_raw(server.port, BODY_MB * 1024 * 1024)
    time.sleep(1.0)
    rss_after = _workers_kib(server, "VmRSS")
    hwm_after = _workers_kib(server, "VmHWM")
    log_growth = server.log_path.stat().st_size - log_before
    return [
        f"### A {BODY_MB} MB unsigned body to POST /slack/events",
        "",
        f"- answer: `{outcome}`",
        f"- web workers' resident memory: {rss_before / 1024:.0f} MB → "
        f"{rss_after / 1024:.0f} MB (+{(rss_after - rss_before) / 1024:.1f} MB); "
        f"high-water mark +{(hwm_after - hwm_before) / 1024:.1f} MB",
        f"- log growth: {log_growth:,} bytes",
    ]


class _Staller:
    """Keeps ``count`` connections that announced a body and never send it."""

    def __init__(self, port: int, count: int, *, headers_only: bool = False) -> None:
        self.port, self.count, self.headers_only = port, count, headers_only
        self.sockets: list[socket.socket] = []
        self.reopened = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _open(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        if self.headers_only:  # "slowloris": the headers never end
            sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            sock.setblocking(False)
            return sock
        # Headers that pass every check made before the body is read (a fresh timestamp, a
        # signature of the right shape): only the body, which never comes, could refute them.
        sock.sendall(
            b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n"
            + f"X-Slack-Request-Timestamp: {int(time.time())}\r\n".encode()
            + b"X-Slack-Signature: v0="
            + b"0" * 64
            + b"\r\n\r\n"
        )
        sock.setblocking(False)
        return sock

    def __enter__(self) -> _Staller:
        self.sockets = [self._open() for _ in range(self.count)]
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            for index, sock in enumerate(self.sockets):
                try:
                    sock.recv(4096)  # an answer (408, 400…) or a close: stall again
                except BlockingIOError:
                    continue  # still stalled
                except OSError:
                    pass
                sock.close()
                with contextlib.suppress(OSError):
                    self.sockets[index] = self._open()
                    self.reopened += 1

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        for sock in self.sockets:
            sock.close()


def stalled(server: Server, slack_server: FakeSlack, *, headers_only: bool = False) -> list[str]:
    sender = SlackSender(server.url, SIGNING_SECRET, fake=slack_server, timeout=ACK_TARGET)
    health: list[float | None] = []
    acks: list[float | None] = []
    with _Staller(server.port, STALLED, headers_only=headers_only) as staller:
        time.sleep(1.0)
        deadline = time.monotonic() + POLL_SECONDS
        while time.monotonic() < deadline:
            started = time.monotonic()
            try:
                ok = requests.get(f"{server.url}/healthz", timeout=HEALTH_TARGET).ok
                health.append(time.monotonic() - started if ok else None)
            except requests.RequestException:
                health.append(None)
            started = time.monotonic()
            try:
                ok = sender.command("help", user_id="UBENCH01").status_code == 200
                acks.append(time.monotonic() - started if ok else None)
            except requests.RequestException:
                acks.append(None)
            time.sleep(0.3)
        reopened = staller.reopened
    answered = [h for h in health if h is not None]
    acked = [a for a in acks if a is not None]
    share = len(answered) / len(health) if health else 0.0
    what = "headers never finished" if headers_only else "a body announced, never sent"
    return [
        f"### {STALLED} stalled connections held ({what})",
        "",
        f"- `/healthz` answered within {HEALTH_TARGET:g} s: {len(answered)} of {len(health)} "
        f"({share:.0%}); median {statistics.median(answered or [0]) * 1000:.0f} ms",
        f"- signed `/prcoach help` acknowledged within {ACK_TARGET:g} s: {len(acked)} of "
        f"{len(acks)}; slowest {max(acked or [0]) * 1000:.0f} ms",
        f"- stalled connections the server closed (opened again at once): {reopened}",
    ]


def run() -> str:
    with FakeSlack() as slack_server, FakeGitHub() as github_server, TemporaryDirectory() as tmp:
        slack_server.add_channel(STAFF_CHANNEL, name="prcoach-staff", members=[STAFF_USER])
        slack_server.add_user("UBENCH01", name="bench", real_name="Bench", locale="en-US")
        workdir = Path(tmp)
        env = bot_environment(
            slack_api_url=slack_server.api_url,
            github_api_url=github_server.url,
            database_url=f"sqlite:///{workdir / 'bench.db'}",
        )
        server = Server(procfile_command("web"), env, workdir, name="web").start()
        try:
            lines = big_body(server)
            lines += ["", *stalled(server, slack_server)]
            lines += ["", *stalled(server, slack_server, headers_only=True)]
        finally:
            server.stop()
    return "\n".join(["## Hardening (issue 13)", "", *lines])


if __name__ == "__main__":
    print(run())
