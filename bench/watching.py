"""Background checks against naive polling, for a simulated cohort-day.

The cohort lives in the fake GitHub (which counts requests and 304s, as GitHub bills
them); the bot's own code runs unchanged, with a simulated clock so a day takes about a
minute. Each learner is at the branch step; most create their branch some time during
the day and commit a while later, some never do.

* adaptive: the worker's job (``run_watch_job``) every 30 simulated seconds;
* naive: every learner fully checked every 60 s, without ETags (measured on a sample of
  learners and hours, reported per learner-hour).
"""

from __future__ import annotations

import random
import statistics
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from slack_sdk import WebClient

from bot.course.checks import CheckResult
from bot.github.client import make_github
from bot.github.probes import GitHubProber
from bot.settings import load_settings
from bot.slack.notifier import SlackNotifier
from bot.storage.database import migrate
from bot.usecases.progress import run_watch_job
from bot.wiring import Parts, build
from tests.rig.bot_process import GITHUB_TOKEN, bot_environment
from tests.rig.fake_github import FakeGitHub
from tests.rig.fake_slack import DEFAULT_TEAM_ID, FakeSlack, dm_channel_id

UPSTREAM = "eig/practice"
START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Plan:
    login: str
    learner_id: int
    branch_at: datetime | None
    commit_at: datetime | None
    noticed: dict[str, datetime] = field(default_factory=dict)

    def shown(self, kind: str) -> datetime:
        """When the step this action completes was shown to the learner."""
        return START if kind == "branch" else self.noticed.get("branch", START)


@dataclass(frozen=True)
class Outcome:
    learners: int
    hours: float
    counted: int
    not_modified: int
    latencies: list[float]
    # Actions taken within 30 minutes of being shown the step: the learner is "active".
    active_latencies: list[float]

    @property
    def per_learner_hour(self) -> float:
        return self.counted / (self.learners * self.hours)


def _world(folder: Path, github: FakeGitHub, slack: FakeSlack, clock: Clock) -> Parts:
    url = f"sqlite:///{folder / 'watch.db'}"
    migrate(url)
    env = bot_environment(slack_api_url=slack.api_url, github_api_url=github.url, database_url=url)
    # Simulated hours pass in seconds: GitHub's hourly quota is what we count, not enforce.
    github.rate_limit = 10**9
    github.world.add_org("eig")
    github.world.add_repo("eig", "practice", files={"README.md": "# Practice\n"})
    return build(load_settings(env, env_file=None), clock=clock)


def _cohort(
    parts: Parts, github: FakeGitHub, count: int, hours: float, rng: random.Random, clock: Clock
) -> list[Plan]:
    plans = []
    store = parts.store
    for n in range(count):
        login = f"learner-{n:04d}"
        github.world.add_user(login, email=f"{login}@example.org")
        fork = github.world.fork(UPSTREAM, owner=login)
        learner = store.enroll(DEFAULT_TEAM_ID, f"UB{n:06d}", "fr", "link")
        store.update_profile(learner.id, dm_channel=dm_channel_id(f"UB{n:06d}"))
        store.record_check(
            learner.id, "link", CheckResult.done_with({"github_login": login}), "bench", "fork"
        )
        store.record_check(
            learner.id,
            "fork",
            CheckResult.done_with(
                {"fork": fork, "default_branch": "main", "upstream_default_branch": "main"}
            ),
            "bench",
            "branch",
        )
        span = hours * 3600
        branch_at = commit_at = None
        if rng.random() < 0.8:
            branch_at = clock.now + timedelta(seconds=rng.uniform(0, span * 0.8))
            if rng.random() < 0.85:
                commit_at = branch_at + timedelta(seconds=rng.uniform(120, 7200))
        plans.append(Plan(login, learner.id, branch_at, commit_at))
    return plans


def _act(github: FakeGitHub, plan: Plan, now: datetime, done: set[tuple[str, str]]) -> None:
    fork = f"{plan.login}/practice"
    if plan.branch_at and plan.branch_at <= now and (plan.login, "branch") not in done:
        github.world.create_branch(fork, f"add-{plan.login}")
        done.add((plan.login, "branch"))
    if plan.commit_at and plan.commit_at <= now and (plan.login, "commit") not in done:
        github.world.commit(
            fork,
            f"add-{plan.login}",
            {f"participants/{plan.login}.md": "Hi\n"},
            author_email=f"{plan.login}@example.org",
        )
        done.add((plan.login, "commit"))


def _pending(plan: Plan, now: datetime) -> bool:
    """An action happened that has not been noticed yet."""
    return any(
        at is not None and at <= now and kind not in plan.noticed
        for kind, at in (("branch", plan.branch_at), ("commit", plan.commit_at))
    )


def _observe(parts: Parts, plan: Plan, now: datetime) -> None:
    step = parts.store.get(plan.learner_id).current_step
    if step in ("commit", "pull_request") and "branch" not in plan.noticed:
        plan.noticed["branch"] = now
    if step == "pull_request" and "commit" not in plan.noticed:
        plan.noticed["commit"] = now


def adaptive(count: int, hours: float, seed: int = 7) -> Outcome:
    clock = Clock()
    with tempfile.TemporaryDirectory() as folder, FakeGitHub() as github, FakeSlack() as slack:
        parts = _world(Path(folder), github, slack, clock)
        plans = _cohort(parts, github, count, hours, random.Random(seed), clock)
        client = WebClient(base_url=slack.api_url, token="xoxb-test")
        prober = GitHubProber(make_github(github.url, GITHUB_TOKEN, timeout=10), UPSTREAM)
        github.reset_log()
        done: set[tuple[str, str]] = set()
        end = clock.now + timedelta(hours=hours)
        while clock.now < end:
            for plan in plans:
                _act(github, plan, clock.now, done)
            notifier = SlackNotifier(parts.services, client)
            coach = parts.services.coach
            run_watch_job(coach, notifier, prober, parts.store, clock.now, batch=count)
            for plan in plans:
                if _pending(plan, clock.now):
                    _observe(parts, plan, clock.now)
            clock.now += timedelta(seconds=30)
        return _outcome(github, plans, count, hours)


def naive(count: int, hours: float, seed: int = 7) -> Outcome:
    clock = Clock()
    with tempfile.TemporaryDirectory() as folder, FakeGitHub() as github, FakeSlack() as slack:
        parts = _world(Path(folder), github, slack, clock)
        plans = _cohort(parts, github, count, hours, random.Random(seed), clock)
        checker = parts.services.coach.checker
        course = parts.services.coach.course
        github.reset_log()
        done: set[tuple[str, str]] = set()
        end = clock.now + timedelta(hours=hours)
        from bot.course.ports import CheckContext

        while clock.now < end:
            for plan in plans:
                _act(github, plan, clock.now, done)
                learner = parts.store.get(plan.learner_id)
                if learner.finished:
                    continue
                step = course.step(learner.current_step)
                result = checker.run(
                    step.check, CheckContext(learner.github_login, learner.facts, step.params)
                )
                following = course.next_after(step.id)
                parts.store.record_check(
                    learner.id, step.id, result, "naive", following.id if following else None
                )
                _observe(parts, plan, clock.now)
            clock.now += timedelta(seconds=60)
        return _outcome(github, plans, count, hours)


def _outcome(github: FakeGitHub, plans: list[Plan], count: int, hours: float) -> Outcome:
    latencies, active = [], []
    for plan in plans:
        for kind, at in (("branch", plan.branch_at), ("commit", plan.commit_at)):
            if at and kind in plan.noticed:
                latencies.append((plan.noticed[kind] - at).total_seconds())
                if at - plan.shown(kind) < timedelta(minutes=30):
                    active.append(latencies[-1])
    counted = github.count()
    every = github.count(counted_only=False)
    not_modified = sum(1 for r in github.requests if r.status == 304)
    assert every >= counted
    return Outcome(count, hours, counted, not_modified, latencies, active)


def run(
    learners: int = 30, hours: float = 4, naive_learners: int = 10, naive_hours: float = 1
) -> str:
    smart = adaptive(learners, hours)
    dumb = naive(naive_learners, naive_hours)
    ratio = dumb.per_learner_hour / smart.per_learner_hour if smart.counted else float("inf")

    def latency(outcome: Outcome) -> str:
        if not outcome.latencies:
            return "—"
        return f"{statistics.median(outcome.latencies):.0f} s / {max(outcome.latencies):.0f} s"

    return "\n".join(
        [
            f"### Background checks: {learners} learners over a simulated {hours:g} h",
            "",
            "| strategy | learners × hours | counted GitHub requests | 304s (free) "
            "| counted per learner-hour | noticed after (median / worst) |",
            "|---|---|---:|---:|---:|---|",
            f"| adaptive + ETag (the worker) | {learners} × {hours:g} | {smart.counted:,} "
            f"| {smart.not_modified:,} | {smart.per_learner_hour:.2f} | {latency(smart)} |",
            f"| naive: full check every 60 s | {naive_learners} × {naive_hours:g} "
            f"| {dumb.counted:,} | {dumb.not_modified:,} | {dumb.per_learner_hour:.2f} "
            f"| {latency(dumb)} |",
            "",
            f"Naive polling costs **{ratio:.0f}×** more counted requests per learner-hour. "
            f"At {smart.per_learner_hour:.2f} requests per learner-hour, a 5,000/hour token "
            f"watches about {int(5000 * 0.8 / max(smart.per_learner_hour, 0.01)):,} learners "
            "while keeping 20 % for Check clicks.",
        ]
    )


if __name__ == "__main__":
    print(run())
