"""What the benchmarks share: servers started the production way, the fakes in a process of
their own, learners seeded at a given step, and the memory of processes.

Everything reuses the test rig (``tests/rig``): the fake GitHub and fake Slack, the bot's
environment, the Procfile's command lines, the signed senders.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import multiprocessing
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import requests

from bot.course.checks import CheckResult
from bot.storage.database import create_database_engine, migrate, session_factory
from bot.storage.store import SqlLearnerStore
from tests.rig import fake_github, fake_slack
from tests.rig.bot_process import (
    PRACTICE_REPO,
    STAFF_CHANNEL,
    STAFF_USER,
    free_port,
    stop_like_a_platform,
)
from tests.rig.fake_github import FakeGitHub
from tests.rig.fake_slack import DEFAULT_TEAM_ID, FakeSlack, dm_channel_id

UPSTREAM = PRACTICE_REPO
STEPS = ("link", "fork", "branch", "commit", "pull_request")


# ----------------------------------------------------------------------------- processes


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (gunicorn's workers, for its master)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        # The command name is in parentheses and may hold spaces: read after the last ")".
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_kib(pid: int) -> dict[str, int]:
    """VmHWM (peak resident set) and VmRSS (now) of a process, in KiB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            values[key] = int(rest.split()[0])
    return values


@dataclass
class Server:
    """A process started with ``command`` (a gunicorn master, or the worker) and its log."""

    command: Sequence[str]
    env: Mapping[str, str]
    workdir: Path
    name: str = "server"
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}-{self.port}.log"

    def start(self, *, wait_healthy: bool = True, timeout: float = 60.0) -> Server:
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            list(self.command),
            env={**self.env, "PORT": str(self.port)},
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        if not wait_healthy:
            return self
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start:\n{self.logs()[-3000:]}")
            try:
                healthy = requests.get(f"{self.url}/healthz", timeout=1).status_code == 200
                if healthy and len(self.workers()) >= int(self.env.get("WEB_CONCURRENCY", "1")):
                    return self
            except (requests.ConnectionError, requests.Timeout):
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer within {timeout}s:\n{self.logs()[-3000:]}")

    def workers(self) -> list[int]:
        return children(self.process.pid) if self.process else []

    def stop(self, grace: float = 3.0) -> None:
        """SIGTERM, then SIGKILL for the master and its workers if they linger.

        Workers that still have queued background work would finish all of it before exiting
        (and an orphaned worker keeps the CPU busy): after ``grace`` they are killed.
        """
        if self.process is not None:
            stop_like_a_platform(self.process, grace)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def bench_command(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


# ----------------------------------------------------------------------------- the fakes


def practice_world(github: FakeGitHub) -> None:
    """The cohort's practice repository, as the tests' ``fake_github`` fixture makes it."""
    github.world.add_org("eig")
    github.world.add_repo(
        "eig",
        "practice",
        files={
            "README.md": "# Practice\n\nAdd yourself in participants/.\n",
            "participants/README.md": "One file per participant.\n",
        },
    )


def staff_slack(slack: FakeSlack) -> None:
    slack.add_channel(STAFF_CHANNEL, name="prcoach-staff", members=[STAFF_USER])
    slack.add_user(STAFF_USER, name="staff", real_name="Camille Staff", locale="fr-FR")


def _setup(
    github: FakeGitHub, slack: FakeSlack, logins: list[str], users: list[str]
) -> dict[str, int]:
    """A fresh world with these learners' accounts; their GitHub ids by login."""
    github.reset()
    github.rate_limit = 10**9  # the load counts requests, it does not hit GitHub's limit
    practice_world(github)
    ids = {}
    for login, user in zip(logins, users, strict=True):
        ids[login] = github.world.add_user(login, email=f"{login}@example.org").id
        slack.add_user(user, name=login, real_name=login.title(), locale="en-US")
    return ids


def _set_github_delay(github: FakeGitHub, slack: FakeSlack, seconds: float) -> None:
    github.delay = seconds


_cpu_mark = [0.0]


def _reset_traffic(github: FakeGitHub, slack: FakeSlack) -> None:
    github.reset_log()
    slack.reset()
    _cpu_mark[0] = time.process_time()


def _traffic(github: FakeGitHub, slack: FakeSlack) -> tuple[int, int, float]:
    """Since ``reset_traffic``: requests to the fake GitHub, messages posted to the fake
    Slack, and the CPU seconds the fakes took."""
    return len(github.requests), len(slack.messages()), time.process_time() - _cpu_mark[0]


def _answer_times(github: FakeGitHub, slack: FakeSlack) -> dict[str, list[float]]:
    """When each answer was shown, by where: a response_url's tag, or a channel (the DM)."""
    found: dict[str, list[float]] = {}
    for call in slack.calls:
        text = str(call.params.get("text") or "")
        if call.status != 200 or text.startswith(("Checking on GitHub", "Je vérifie sur GitHub")):
            continue  # "Checking on GitHub…" is not the answer
        if call.method == "response_url" and call.tag:
            found.setdefault(f"tag:{call.tag}", []).append(call.ts)
        elif call.method == "chat.postMessage":
            found.setdefault(f"channel:{call.params.get('channel')}", []).append(call.ts)
    return found


COMMANDS: dict[str, Callable[..., Any]] = {
    "answer_times": _answer_times,
    "setup": _setup,
    "github_delay": _set_github_delay,
    "reset_traffic": _reset_traffic,
    "traffic": _traffic,
}


def _quiet(*_args: object) -> None:
    """A web worker killed at the end of a run drops its connections: nothing to report."""


def _serve_fakes(connection: Connection) -> None:
    # Under load the bot opens many connections at once: listen with a longer queue than 5.
    fake_github._Server.request_queue_size = 128
    fake_github._Server.handle_error = _quiet  # type: ignore[method-assign]
    fake_slack._Server.handle_error = _quiet  # type: ignore[method-assign]
    with FakeGitHub() as github, FakeSlack() as slack:
        staff_slack(slack)
        connection.send((github.url, slack.api_url, slack.base_url))
        while True:
            message = connection.recv()
            if message is None:
                return
            name, args = message
            try:
                connection.send((True, COMMANDS[name](github, slack, *args)))
            except Exception as error:  # reported to the bench process
                connection.send((False, repr(error)))


class FakesProcess:
    """FakeGitHub and FakeSlack served by a process of their own.

    The fakes are Python servers: in the bench process they would share its GIL with the
    load generator, and every answer they give the bot would delay the generator's own
    measurements. Here they only share the machine's CPUs, as the bot's other work does.
    """

    def __enter__(self) -> FakesProcess:
        context = multiprocessing.get_context("spawn")
        self._connection, child = context.Pipe()
        self._process = context.Process(target=_serve_fakes, args=(child,), daemon=True)
        self._process.start()
        self.github_url, self.slack_api_url, self.slack_base_url = self._connection.recv()
        return self

    def call(self, name: str, *args: Any) -> Any:
        self._connection.send((name, args))
        ok, result = self._connection.recv()
        if not ok:
            raise RuntimeError(f"the fakes' process failed on {name}: {result}")
        return result

    def __exit__(self, *exc_info: object) -> None:
        with contextlib.suppress(OSError):
            self._connection.send(None)
        self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.kill()


# ----------------------------------------------------------------------------- learners


@dataclass(frozen=True)
class Seeded:
    learner_id: int
    user_id: str
    login: str

    @property
    def dm(self) -> str:
        return dm_channel_id(self.user_id)

    @property
    def fork(self) -> str:
        return f"{self.login}/practice"

    @property
    def branch(self) -> str:
        return f"add-{self.login}"


def open_store(database_url: str) -> SqlLearnerStore:
    return SqlLearnerStore(session_factory(create_database_engine(database_url)))


def seed_learners(
    database_url: str,
    people: Iterable[tuple[str, str]],
    step: str,
    github_ids: Mapping[str, int] | None = None,
) -> list[Seeded]:
    """Learners ``(slack user id, GitHub login)`` enrolled and done up to ``step``.

    The GitHub side (the fork, the branch, the commit) is the caller's: ``make_world``.
    ``github_ids`` (by login) are recorded as the link step does.
    """
    migrate(database_url)
    store = open_store(database_url)
    seeded = []
    for user_id, login in people:
        learner = store.enroll(DEFAULT_TEAM_ID, user_id, "en", "link", name=login.title())
        store.update_profile(learner.id, dm_channel=dm_channel_id(user_id))
        person = Seeded(learner.id, user_id, login)
        facts: dict[str, dict[str, Any]] = {
            "link": {"github_login": login, **_github_id(github_ids, login)},
            "fork": {"fork": person.fork, "default_branch": "main"},
            "branch": {"branch": person.branch, "branches": [person.branch]},
            "commit": {"branch": person.branch},
        }
        facts["fork"]["upstream_default_branch"] = "main"
        for done, following in itertools.pairwise(STEPS):
            if STEPS.index(done) >= STEPS.index(step):
                break
            store.record_check(
                learner.id, done, CheckResult.done_with(facts[done]), "bench", following
            )
        seeded.append(person)
    return seeded


def _github_id(github_ids: Mapping[str, int] | None, login: str) -> dict[str, int]:
    return {"github_user_id": github_ids[login]} if github_ids else {}


def make_world(github: FakeGitHub, person: Seeded, step: str) -> None:
    """What ``person`` did on GitHub before ``step`` (their account, then fork, branch…)."""
    world = github.world
    if world.find_user(person.login) is None:
        world.add_user(person.login, email=f"{person.login}@example.org")
    index = STEPS.index(step)
    if index > STEPS.index("fork"):
        world.fork(UPSTREAM, owner=person.login)
    if index > STEPS.index("branch"):
        world.create_branch(person.fork, person.branch)
    if index > STEPS.index("commit"):
        commit(github, person)


def commit(github: FakeGitHub, person: Seeded) -> None:
    github.world.commit(
        person.fork,
        person.branch,
        {f"participants/{person.login}.md": f"# {person.login}\nHello.\n"},
        author_email=f"{person.login}@example.org",
    )


# ----------------------------------------------------------------------------- statistics


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (``share`` in 0..1) of ``values``."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(share * len(ordered))))
    return ordered[rank - 1]
