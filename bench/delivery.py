"""From a learner's action on GitHub to their Slack message, both ways the bot notices it.

* **Webhook**: PR Coach started from the Procfile's ``web:`` line; 10 learners at the fork
  step fork the practice repository and 10 at the last step open their pull request, one at
  a time; each time the fake GitHub's world changes, then GitHub's signed delivery
  (``fork`` or ``pull_request``) is sent, and the time runs until the learner's next-step
  message reaches the fake Slack. GitHub itself sends deliveries within about a second of
  the action; that part is not simulated.
* **Background checks**: the real worker (the Procfile's ``worker:`` line, its real clock
  and schedule). 10 learners: 5 at the branch step who create their branch, 5 at the commit
  step who commit. The actions are spread evenly over one 30 s period of the worker's
  checks, after its first run has seen everyone once (as for a learner who has been on
  the step for a while); the time runs from the action to the message. The worker is
  started a minute after its weekly digest's time, so it also posts the digest (and its
  chart) at start: the memory benchmark reads its peak after these runs.
"""

from __future__ import annotations

import functools
import math
import re
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.rig import (
    UPSTREAM,
    Seeded,
    Server,
    commit,
    make_world,
    memory_kib,
    practice_world,
    seed_learners,
    staff_slack,
)
from tests.rig.bot_process import WEBHOOK_SECRET, bot_environment, procfile_command
from tests.rig.fake_github import FakeGitHub
from tests.rig.fake_slack import FakeSlack
from tests.rig.github_sender import GitHubSender, fork_payload, pull_request_payload

WEBHOOK_LEARNERS = 10  # of each kind: fork, pull request
WATCHED_LEARNERS = 10
WATCH_PERIOD = 30.0  # bot.serving.worker.WATCH_EVERY_SECONDS
TIMEZONE = "Europe/Paris"  # the bot's default TIMEZONE


@dataclass(frozen=True)
class Sample:
    kind: str
    seconds: float


@dataclass(frozen=True)
class WorkerRun:
    samples: list[Sample]
    missed: int  # actions not noticed before the deadline
    peak_kib: int  # the worker's VmHWM after its runs
    rss_kib: int
    uptime: float


def _message_time(slack: FakeSlack, person: Seeded, text: str, after: int) -> float | None:
    """When ``person`` got a message with ``text``, among the messages from ``after`` on."""
    for message in slack.messages()[after:]:
        if message.is_in(person.dm) and text in message.text:
            return float(message.ts or 0)
    return None


def _fresh(github: FakeGitHub, slack: FakeSlack) -> None:
    github.reset()
    github.rate_limit = 10**9
    slack.reset()
    practice_world(github)


def webhook_samples(folder: Path, github: FakeGitHub, slack: FakeSlack) -> list[Sample]:
    _fresh(github, slack)
    url = f"sqlite:///{folder / 'webhook.db'}"
    forkers = seed_learners(
        url, [(f"UHOOKF{n:03d}", f"forker-{n:02d}") for n in range(WEBHOOK_LEARNERS)], "fork"
    )
    openers = seed_learners(
        url,
        [(f"UHOOKP{n:03d}", f"opener-{n:02d}") for n in range(WEBHOOK_LEARNERS)],
        "pull_request",
    )
    for person in forkers:
        make_world(github, person, "fork")
    for person in openers:
        make_world(github, person, "pull_request")
    for person in [*forkers, *openers]:
        slack.add_user(person.user_id, name=person.login, locale="en-US")
    env = bot_environment(slack_api_url=slack.api_url, github_api_url=github.url, database_url=url)
    server = Server(procfile_command("web"), env, folder, name="web").start()
    sender = GitHubSender(server.url, WEBHOOK_SECRET)
    samples = []
    try:
        for forker, opener in zip(forkers, openers, strict=True):
            for kind, person in (("fork", forker), ("pull_request", opener)):
                mark = len(slack.calls)
                if kind == "fork":
                    github.world.fork(UPSTREAM, owner=person.login)
                    payload = fork_payload(UPSTREAM, person.login)
                    expected = "Step 3 of 5"
                else:
                    github.world.open_pull(
                        UPSTREAM, head=f"{person.login}:{person.branch}", base="main", title="Hi"
                    )
                    payload = pull_request_payload("opened", UPSTREAM, person.login, person.branch)
                    expected = "You did it"
                sent = time.time()
                response = sender.deliver(kind, payload)
                if response.status_code != 202:
                    raise RuntimeError(f"delivery refused: {response.status_code} {response.text}")
                message = slack.wait_for_message(
                    lambda m, p=person, e=expected: m.is_in(p.dm) and e in m.text,
                    timeout=20,
                    after=mark,
                )
                samples.append(Sample(kind, float(message.ts or 0) - sent))
    finally:
        server.stop()
    return samples


def _digest_catch_up() -> str:
    """A DIGEST_CRON whose time was two minutes ago: the worker posts it as it starts."""
    then = datetime.now(ZoneInfo(TIMEZONE)) - timedelta(minutes=2)
    return f"{then.minute} {then.hour} * * *"


def _wait_for_log(server: Server, pattern: str, timeout: float, after: int = 0) -> int:
    """Wait until the log (past ``after`` characters) matches; return where the match ends."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(pattern, server.logs()[after:])
        if found:
            return after + found.end()
        if server.process is not None and server.process.poll() is not None:
            break
        time.sleep(0.2)
    raise RuntimeError(f"the worker never logged {pattern!r}:\n{server.logs()[-3000:]}")


def worker_run(folder: Path, github: FakeGitHub, slack: FakeSlack) -> WorkerRun:
    _fresh(github, slack)
    staff_slack(slack)
    url = f"sqlite:///{folder / 'worker.db'}"
    half = WATCHED_LEARNERS // 2
    at_branch = seed_learners(
        url, [(f"UWATCHB{n:03d}", f"brancher-{n:02d}") for n in range(half)], "branch"
    )
    at_commit = seed_learners(
        url,
        [(f"UWATCHC{n:03d}", f"committer-{n:02d}") for n in range(WATCHED_LEARNERS - half)],
        "commit",
    )
    for person in at_branch:
        make_world(github, person, "branch")
    for person in at_commit:
        make_world(github, person, "commit")
    # Alternate the two kinds of action over the period.
    people = [p for pair in zip(at_branch, at_commit, strict=False) for p in pair]
    env = bot_environment(
        slack_api_url=slack.api_url,
        github_api_url=github.url,
        database_url=url,
        DIGEST_CRON=_digest_catch_up(),
        TIMEZONE=TIMEZONE,
    )
    server = Server(procfile_command("worker"), env, folder, name="worker")
    started = time.monotonic()
    server.start(wait_healthy=False)
    try:
        _wait_for_log(server, r"worker started", 30)
        # The first background run looks at everyone (and learns their ETags).
        _wait_for_log(server, r"background checks: \d+ looked", WATCH_PERIOD + 15)
        mark = len(slack.messages())
        acted: dict[str, float] = {}
        first = time.monotonic()
        spacing = (WATCH_PERIOD - 2.0) / len(people)
        for index, person in enumerate(people):
            time.sleep(max(0.0, first + 0.5 + index * spacing - time.monotonic()))
            if person in at_branch:
                github.world.create_branch(person.fork, person.branch)
            else:
                commit(github, person)
            acted[person.login] = time.time()
        samples, deadline = [], time.monotonic() + 2 * WATCH_PERIOD + 10
        waiting = list(people)
        while waiting and time.monotonic() < deadline:
            for person in list(waiting):
                kind = "branch" if person in at_branch else "commit"
                text = "Step 4 of 5" if kind == "branch" else "Step 5 of 5"
                when = _message_time(slack, person, text, mark)
                if when is not None:
                    samples.append(Sample(kind, when - acted[person.login]))
                    waiting.remove(person)
            time.sleep(0.2)
        assert server.process is not None
        memory = memory_kib(server.process.pid)
        uptime = time.monotonic() - started
    finally:
        server.stop(grace=10.0)
    return WorkerRun(samples, len(waiting), memory["VmHWM"], memory["VmRSS"], uptime)


@functools.cache
def measurements() -> tuple[list[Sample], WorkerRun]:
    """Both paths (cached: the memory benchmark reads the worker's peak from the same run)."""
    with (
        tempfile.TemporaryDirectory(prefix="bench-delivery-") as folder,
        FakeGitHub() as github,
        FakeSlack() as slack,
    ):
        webhook = webhook_samples(Path(folder), github, slack)
        worker = worker_run(Path(folder), github, slack)
    return webhook, worker


def median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def _row(label: str, samples: list[float], missed: int = 0) -> str:
    if not samples:
        return f"| {label} | 0 | — | — | {missed} |"
    return (
        f"| {label} | {len(samples)} | {statistics.median(samples):.2f} s "
        f"| {max(samples):.2f} s | {missed} |"
    )


def run() -> str:
    webhook, worker = measurements()
    hooks = [s.seconds for s in webhook]
    watched = [s.seconds for s in worker.samples]
    lines = [
        "### From the action on GitHub to the learner's Slack message",
        "",
        "| path | actions | median | worst | not noticed |",
        "|---|---:|---:|---:|---:|",
        _row(
            "webhook: fork delivery → message",
            [s.seconds for s in webhook if s.kind == "fork"],
        ),
        _row(
            "webhook: pull_request delivery → message",
            [s.seconds for s in webhook if s.kind == "pull_request"],
        ),
        _row("webhook, all", hooks),
        _row(
            "background checks (worker): branch created → message",
            [s.seconds for s in worker.samples if s.kind == "branch"],
        ),
        _row(
            "background checks (worker): commit pushed → message",
            [s.seconds for s in worker.samples if s.kind == "commit"],
        ),
        _row("background checks, all", watched, worker.missed),
        "",
        f"Webhook: median {median(hooks):.2f} s (target < 2 s). Background checks "
        f"run every {WATCH_PERIOD:g} s and look at a learner just shown a step every "
        f"{WATCH_PERIOD:g} s: an action waits for the next look (on average half a period).",
    ]
    if watched and max(watched) > WATCH_PERIOD + 5:
        lines[-1] += (
            " Some action waited more than a period: its look was set a hair after the time "
            "of the run that should have taken it (a look is due when its time is at most "
            "the run's clock), so it waited for the next run. Computing looks from the runs' "
            "scheduled times, not from the clock, keeps them on the 30 s grid."
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
