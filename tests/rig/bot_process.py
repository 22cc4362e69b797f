"""Run the real bot the way the Procfile's ``web:`` line does, on a free port."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parents[2]

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-test"
GITHUB_TOKEN = "ghp_testtoken0000000000000000000000000000"
PRACTICE_REPO = "eig/practice"
STAFF_USER = "USTAFF01"
STAFF_CHANNEL = "CSTAFF01"
WEBHOOK_SECRET = "It's a Secret to Everybody"


def procfile_command(process: str = "web") -> list[str]:
    """The Procfile line for ``process``, with ``python`` meaning this interpreter."""
    for line in (REPO_ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == process:
            words = shlex.split(command)
            return [sys.executable if w == "python" else w for w in words]
    raise LookupError(f"no {process}: line in the Procfile")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def bot_environment(
    *, slack_api_url: str, github_api_url: str, database_url: str, **overrides: str
) -> dict[str, str]:
    """A complete environment for the bot; nothing inherited that could leak in."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack_api_url,
        "GITHUB_TOKEN": GITHUB_TOKEN,
        "GITHUB_API_URL": github_api_url,
        "GITHUB_URL": "https://github.example.org",
        "PRACTICE_REPO": PRACTICE_REPO,
        "DATABASE_URL": database_url,
        "STAFF_USER_IDS": STAFF_USER,
        "STAFF_CHANNEL": STAFF_CHANNEL,
        "GITHUB_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "WEB_CONCURRENCY": "2",
    }
    env.update(overrides)
    return env


ANSWERERS_STARTED = "answerers started"


@dataclass
class BotProcess:
    env: Mapping[str, str]
    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> BotProcess:
        self.log_path = self.workdir / f"bot-{self.port}.log"
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            procfile_command("web"),
            env={**self.env, "PORT": str(self.port)},
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            self._wait_until_healthy(timeout)
        except BaseException:
            self.stop()  # never leave a half-started bot behind
            raise
        return self

    def _wait_until_healthy(self, timeout: float) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the bot exited at start:\n{self.logs()}")
            try:
                healthy = requests.get(f"{self.url}/healthz", timeout=1).status_code == 200
                # Started means answering too: the answering process logs its start-up lines
                # a little after the web answers, and tests read the log from this point.
                if healthy and ANSWERERS_STARTED in self.logs():
                    return
            except (requests.ConnectionError, requests.Timeout):
                pass  # not listening yet, or its workers are still loading the app
            time.sleep(0.1)
        raise RuntimeError(f"the bot did not answer /healthz within {timeout}s:\n{self.logs()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def stop_like_a_platform(self, grace: float) -> None:
        if self.process is not None:
            stop_like_a_platform(self.process, grace)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""


def stop_like_a_platform(process: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM, then after ``grace`` seconds SIGKILL for the master and every process it
    started (web workers, answerers), as hosting platforms do at a restart; ``grace`` 0:
    SIGKILL to all at once (a crash)."""
    if process.poll() is not None:
        return
    family = _descendants(process.pid)
    if grace > 0:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace)
    process.kill()  # nothing to do if it stopped in time
    process.wait()
    for pid in family:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (read from /proc)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found
