"""Background checks: a learner's branch and commit noticed without a click, cheaply.

Real pieces: services from ``bot.wiring.build``, a migrated SQLite database, PyGithub
against the fake GitHub (which counts requests and 304s) and slack_sdk against the fake
Slack. Time is the ``now`` each run is given.
"""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from slack_sdk import WebClient

from bot.course.checks import CheckResult
from bot.course.learner import Learner
from bot.github.client import make_github
from bot.github.probes import GitHubProber
from bot.settings import load_settings
from bot.slack.notifier import SlackNotifier
from bot.storage.database import migrate
from bot.usecases.progress import run_watch_job
from bot.wiring import build
from tests.rig.bot_process import GITHUB_TOKEN, bot_environment
from tests.rig.fake_github import FakeGitHub
from tests.rig.fake_slack import DEFAULT_TEAM_ID, FakeSlack, dm_channel_id

UPSTREAM = "eig/practice"
_ids = itertools.count(1)


class Rig:
    def __init__(self, fake_github: FakeGitHub, fake_slack: FakeSlack, tmp_path: Path) -> None:
        url = f"sqlite:///{tmp_path / 'watch.db'}"
        migrate(url)
        env = bot_environment(
            slack_api_url=fake_slack.api_url, github_api_url=fake_github.url, database_url=url
        )
        self.settings = load_settings(env, env_file=None)
        self.parts = build(self.settings)
        self.github = fake_github
        self.slack = fake_slack
        self.client = WebClient(base_url=fake_slack.api_url, token="xoxb-test")
        self.prober = GitHubProber(make_github(fake_github.url, GITHUB_TOKEN, timeout=5), UPSTREAM)

    @property
    def store(self):
        return self.parts.store

    def learner_at_branch_step(self, now: datetime) -> tuple[Learner, str]:
        """Linked and forked (through the real checks), so the next step is the branch."""
        user = f"UWA{next(_ids):05d}"
        login = f"watcher-{user.lower()}"
        self.slack.add_user(user)
        self.github.world.add_user(login, email=f"{login}@example.org")
        self.github.world.fork(UPSTREAM, owner=login)
        coach = self.parts.services.coach
        learner = self.store.enroll(DEFAULT_TEAM_ID, user, "en", "link")
        learner = self.store.update_profile(learner.id, dm_channel=dm_channel_id(user))
        learner = self.store.record_check(
            learner.id, "link", coach.checker.find_account(login), "test", "fork"
        )
        assert coach.recheck(learner, "test") is not None  # the fork step is done
        learner = self.store.get(learner.id)
        assert learner.current_step == "branch"
        self.store.schedule_watch(learner.id, now, None)
        return self.store.get(learner.id), login

    def run(self, now: datetime):
        notifier = SlackNotifier(self.parts.services, self.client)
        coach = self.parts.services.coach
        return run_watch_job(coach, notifier, self.prober, self.store, now)


@pytest.fixture
def rig(fake_github: FakeGitHub, fake_slack: FakeSlack, tmp_path: Path) -> Rig:
    return Rig(fake_github, fake_slack, tmp_path)


NOW = datetime.now(UTC)


def test_a_new_branch_is_noticed_without_a_click(rig: Rig) -> None:
    learner, login = rig.learner_at_branch_step(NOW)
    stats = rig.run(NOW)  # first look: nothing yet, ETag remembered
    assert stats.looked == 1 and stats.moved == 0
    rig.github.world.create_branch(f"{login}/practice", f"add-{login}")
    later = NOW + timedelta(seconds=31)
    stats = rig.run(later)
    assert stats.moved == 1
    message = rig.slack.wait_for_message(
        lambda m: m.channel == dm_channel_id(learner.slack_user_id) and "Step 4 of 5" in m.text
    )
    assert "Done: Create a branch" in message.text
    # Then the commit, on the same watch.
    rig.github.world.commit(
        f"{login}/practice",
        f"add-{login}",
        {f"participants/{login}.md": "Hi\n"},
        author_email=f"{login}@example.org",
    )
    assert rig.run(later + timedelta(seconds=31)).moved == 1
    assert rig.store.get(learner.id).current_step == "pull_request"


def test_an_unchanged_learner_costs_nothing_against_the_rate_limit(rig: Rig) -> None:
    learner, _ = rig.learner_at_branch_step(NOW)
    rig.run(NOW)
    rig.github.reset_log()
    for tick in range(1, 6):
        rig.store.schedule_watch(learner.id, NOW, rig.store.get(learner.id).watch_etag)
        stats = rig.run(NOW + timedelta(seconds=tick))
        assert stats.looked == 1 and stats.unchanged == 1
    assert rig.github.count(counted_only=False) == 5
    assert rig.github.count() == 0  # five 304s: free


def test_looks_back_off_while_the_learner_is_idle(rig: Rig) -> None:
    learner, _ = rig.learner_at_branch_step(NOW)
    rig.run(NOW)
    soon = rig.store.get(learner.id).watch_at
    assert soon is not None and soon - NOW <= timedelta(seconds=60)
    # Idle for three hours: the next look is much further away.
    rig.store.schedule_watch(learner.id, NOW + timedelta(hours=3), None)
    rig.run(NOW + timedelta(hours=3))
    later = rig.store.get(learner.id).watch_at
    assert later - (NOW + timedelta(hours=3)) >= timedelta(minutes=10)


def test_paused_and_finished_learners_are_not_looked_at(rig: Rig) -> None:
    learner, _ = rig.learner_at_branch_step(NOW)
    rig.store.set_paused(learner.id, True)
    assert rig.run(NOW).looked == 0


def test_the_budget_keeps_a_reserve_for_check_clicks(rig: Rig) -> None:
    for _ in range(3):
        rig.learner_at_branch_step(NOW)
    # Spend the hour's quota down to 15 of 100: below the 20 % reserve for people's clicks.
    fake = rig.github
    fake.rate_limit = 100
    while fake.rate_remaining > 15:
        requests.get(f"{fake.url}/users/eig", headers={"Authorization": "token t"}, timeout=5)
    stats = rig.run(NOW)
    assert stats.skipped_for_budget
    assert stats.looked == 1
    assert fake.rate_remaining >= 10  # the reserve is left for people clicking Check


def test_two_workers_never_look_at_the_same_learner_twice(rig: Rig) -> None:
    learners = [rig.learner_at_branch_step(NOW)[0] for _ in range(6)]
    other = build(rig.settings)
    results = []

    def work(parts) -> None:
        notifier = SlackNotifier(parts.services, rig.client)
        coach = parts.services.coach
        results.append(run_watch_job(coach, notifier, rig.prober, parts.store, NOW))

    threads = [threading.Thread(target=work, args=(p,)) for p in (rig.parts, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.looked for r in results) == len(learners)


def test_github_asking_to_wait_pauses_the_job(rig: Rig) -> None:
    rig.learner_at_branch_step(NOW)
    rig.learner_at_branch_step(NOW)
    rig.github.secondary_rate_limit(retry_after=120)
    stats = rig.run(NOW)
    assert stats.looked == 0
    due = [lr for lr in rig.store.due_to_watch(NOW + timedelta(seconds=119), 10)]
    assert len(due) == 1  # the other one was never taken


def test_recording_a_success_makes_the_next_look_soon(rig: Rig) -> None:
    learner, _ = rig.learner_at_branch_step(NOW)
    rig.store.schedule_watch(learner.id, NOW + timedelta(hours=5), 'W/"x"')
    result = CheckResult.done_with({"branch": "x"})
    moved = rig.store.record_check(learner.id, "branch", result, "test", "commit")
    assert moved.watch_at is not None and moved.watch_at <= datetime.now(UTC)
    assert moved.watch_etag is None


def test_a_deleted_fork_is_told_by_the_background_checks_and_the_learner_goes_back(
    rig: Rig,
) -> None:
    learner, login = rig.learner_at_branch_step(NOW)
    rig.run(NOW)  # first look: nothing yet
    rig.github.world.delete_repo(f"{login}/practice")
    stats = rig.run(NOW + timedelta(seconds=31))
    assert stats.moved == 1
    message = rig.slack.wait_for_message(
        lambda m: m.channel == dm_channel_id(learner.slack_user_id) and "copy is gone" in m.text
    )
    assert "Step 2 of 5" in message.text  # back at the fork step, with its buttons
    assert "prcoach_check" in str(message.blocks)
    back = rig.store.get(learner.id)
    assert back.current_step == "fork" and "fork" not in back.facts
    history = [(e.step_id, e.outcome, e.diagnosis) for e in rig.store.history(learner.id)]
    assert history[-2:] == [
        ("branch", "mistake", "fork_deleted"),
        ("fork", "moved_back", "fork_deleted"),
    ]
