"""Review coaching without a webhook: the background checks notice a review, a new commit,
an approval and the merge, and tell the learner; a look that finds nothing costs nothing.

Real pieces: services from ``bot.wiring.build``, a migrated SQLite database, PyGithub against
the fake GitHub and slack_sdk against the fake Slack. Time is the ``now`` each run is given.
"""

from __future__ import annotations

import csv
import io
import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from slack_sdk import WebClient
from sqlalchemy import update

from bot.course.review import PullState
from bot.github.client import make_github
from bot.github.probes import GitHubProber
from bot.settings import load_settings
from bot.slack.digest import digest_message
from bot.slack.notifier import SlackNotifier
from bot.storage.database import migrate
from bot.storage.models import PullFollowRow
from bot.usecases.reviews import run_review_job
from bot.wiring import build
from tests.rig.bot_process import GITHUB_TOKEN, bot_environment
from tests.rig.fake_github import FakeGitHub
from tests.rig.fake_slack import DEFAULT_TEAM_ID, FakeSlack, dm_channel_id

UPSTREAM = "eig/practice"
_ids = itertools.count(1)


def clock() -> datetime:
    """Now: pull requests are followed from the moment they are recorded (real time), so each
    test reads the clock when it starts, not when the module was imported."""
    return datetime.now(UTC)


class Rig:
    def __init__(self, fake_github: FakeGitHub, fake_slack: FakeSlack, tmp_path: Path) -> None:
        url = f"sqlite:///{tmp_path / 'reviews.db'}"
        migrate(url)
        env = bot_environment(
            slack_api_url=fake_slack.api_url, github_api_url=fake_github.url, database_url=url
        )
        self.parts = build(load_settings(env, env_file=None))
        self.github = fake_github
        self.slack = fake_slack
        self.client = WebClient(base_url=fake_slack.api_url, token="xoxb-test")
        self.prober = GitHubProber(make_github(fake_github.url, GITHUB_TOKEN, timeout=15), UPSTREAM)

    @property
    def store(self):
        return self.parts.store

    def learner_with_open_pull(self, language: str = "en") -> tuple[int, str, int]:
        """Through the real checks up to the open pull request (the course's last step)."""
        user = f"URW{next(_ids):05d}"
        login = f"reviewed-{user.lower()}"
        world = self.github.world
        self.slack.add_user(user)
        world.add_user(login, email=f"{login}@example.org")
        if world.find_user("mentor-bg") is None:
            world.add_user("mentor-bg")
        world.fork(UPSTREAM, owner=login)
        world.create_branch(f"{login}/practice", f"add-{login}")
        world.commit(
            f"{login}/practice",
            f"add-{login}",
            {f"participants/{login}.md": "Hi\n"},
            author_email=f"{login}@example.org",
        )
        number = world.open_pull(UPSTREAM, head=f"{login}:add-{login}", base="main")
        coach = self.parts.services.coach
        learner = self.store.enroll(DEFAULT_TEAM_ID, user, language, "link")
        learner = self.store.update_profile(learner.id, dm_channel=dm_channel_id(user))
        learner = self.store.record_check(
            learner.id, "link", coach.checker.find_account(login), "test", "fork"
        )
        for _ in range(4):
            assert coach.recheck(self.store.get(learner.id), "test") is not None
        assert self.store.get(learner.id).finished
        return learner.id, user, number

    def run(self, now: datetime):
        services = self.parts.services
        notifier = SlackNotifier(services, self.client)
        return run_review_job(
            services.reviews,
            self.store,
            notifier,
            self.prober,
            self.store,
            services.settings.practice_repo,
            now,
        )

    def told(self, user: str, after: int, text: str) -> str:
        return self.slack.wait_for_message(
            lambda m: m.channel == dm_channel_id(user) and text in m.text, after=after
        ).text


@pytest.fixture
def rig(fake_github: FakeGitHub, fake_slack: FakeSlack, tmp_path: Path) -> Rig:
    return Rig(fake_github, fake_slack, tmp_path)


def test_review_push_approval_and_merge_are_noticed_without_a_webhook(rig: Rig) -> None:
    learner_id, user, number = rig.learner_with_open_pull()
    now = clock()
    followed = rig.store.followed(learner_id)
    assert followed is not None and followed.state is PullState.WAITING
    at = now + timedelta(minutes=2)
    stats = rig.run(at)  # first look: nothing new, versions remembered
    assert stats.looked == 1 and stats.told == 0

    rig.github.reset_log()
    at += timedelta(minutes=2)
    assert rig.run(at).unchanged == 1
    # Free: two conditional requests answered 304 (the bot process of other tests may still
    # be talking to the same fake GitHub: only this pull request's requests count).
    mine = [r.status for r in rig.github.requests if f"/pulls/{number}" in r.path]
    assert mine == [304, 304]

    world = rig.github.world
    world.review_pull(
        UPSTREAM, number, by="mentor-bg", state="REQUEST_CHANGES", body="Add your team, please."
    )
    mark = len(rig.slack.calls)
    at += timedelta(minutes=2)
    assert rig.run(at).told == 1
    text = rig.told(user, mark, "asked for changes")
    assert "> Add your team, please." in text
    assert rig.store.followed(learner_id).state is PullState.CHANGES

    login = f"reviewed-{user.lower()}"
    world.commit(
        f"{login}/practice",
        f"add-{login}",
        {f"participants/{login}.md": "Hi, team A\n"},
        author_email=f"{login}@example.org",
    )
    mark = len(rig.slack.calls)
    at += timedelta(minutes=2)
    assert rig.run(at).told == 1
    rig.told(user, mark, "Your pull request is updated")
    assert rig.store.followed(learner_id).state is PullState.WAITING

    world.review_pull(UPSTREAM, number, by="mentor-bg", state="APPROVE")
    world.merge_pull(UPSTREAM, number, by="mentor-bg")
    mark = len(rig.slack.calls)
    at += timedelta(minutes=2)
    assert rig.run(at).told == 1
    text = rig.told(user, mark, "is merged")
    assert "approved" not in text  # merged already: the approval is old news
    followed = rig.store.followed(learner_id)
    assert followed.state is PullState.MERGED and followed.next_look_at is None
    assert rig.run(at + timedelta(days=1)).looked == 0  # never looked at again


def test_two_workers_tell_the_news_once(rig: Rig) -> None:
    _, user, number = rig.learner_with_open_pull("fr")
    now = clock()
    rig.run(now + timedelta(minutes=2))
    rig.github.world.review_pull(
        UPSTREAM, number, by="mentor-bg", state="REQUEST_CHANGES", body="Ajoute ton équipe."
    )
    at = now + timedelta(minutes=4)
    first, second = rig.run(at), rig.run(at)
    assert first.told + second.told == 1
    rig.told(user, 0, "demande des modifications")
    told = [m for m in rig.slack.messages(dm_channel_id(user)) if "demande des" in m.text]
    assert len(told) == 1


def test_staff_see_pull_request_states_and_who_waits_for_a_review(rig: Rig) -> None:
    waiting_id, waiting_user, _ = rig.learner_with_open_pull()
    changed_id, changed_user, number = rig.learner_with_open_pull()
    now = clock()
    rig.github.world.review_pull(
        UPSTREAM, number, by="mentor-bg", state="REQUEST_CHANGES", body="One more line."
    )
    rig.run(now + timedelta(minutes=2))
    # The first pull request has been waiting for five days.
    with rig.store._transaction() as session:
        session.execute(
            update(PullFollowRow)
            .where(PullFollowRow.learner_id == waiting_id)
            .values(since=datetime.now(UTC) - timedelta(days=5))
        )
    services = rig.parts.services
    report = services.desk.report()
    assert [line.learner.id for line in report.waiting_for_review()] == [waiting_id]

    views = services.staff_views
    text = str(views.report(report, "en", 3).blocks)
    assert "waiting for review since" in text and "changes requested on" in text
    assert f"<@{waiting_user}> · <https://github.com/eig/practice/pull/" in text
    assert "Pull requests waiting for a review for more than 3 days" in text
    home = str(views.home(report, "fr", 3))
    assert f"<@{waiting_user}> · <https://github.com/eig/practice/pull/" in home
    assert "en attente depuis le" in home
    assert "*Pull requests :* 1 en attente de relecture · 1 avec modifications demandées" in home
    assert "Pull requests qui attendent une relecture depuis plus de 3 jours" in home

    rows = {
        row["slack_user_id"]: row
        for row in csv.DictReader(io.StringIO(services.desk.csv().decode("utf-8-sig")))
    }
    assert rows[waiting_user]["pr_state"] == "waiting"
    assert rows[changed_user]["pr_state"] == "changes_requested"
    assert rows[changed_user]["pr_url"].endswith(f"/pull/{number}")

    digest = digest_message(services, report, datetime.now(UTC), "en").text
    waiting_line = next(line for line in digest.splitlines() if line.startswith("Waiting for"))
    assert f"<@{waiting_user}>" in waiting_line and f"<@{changed_user}>" not in waiting_line
    assert changed_id != waiting_id
