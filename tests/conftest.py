"""Fixtures shared by every test: the fake GitHub, the fake Slack, and the real bot.

The bot runs as a separate process started from the Procfile's ``web:`` line; PyGithub and
slack_sdk inside it talk over HTTP to the fakes served by this test process.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.rig.bot_process import (
    PRACTICE_REPO,
    SIGNING_SECRET,
    STAFF_CHANNEL,
    STAFF_USER,
    BotProcess,
    bot_environment,
)
from tests.rig.fake_github import FakeGitHub
from tests.rig.fake_slack import FakeSlack
from tests.rig.slack_sender import SlackSender

_user_ids = itertools.count(1)


@pytest.fixture(scope="session")
def github_server() -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        yield fake


@pytest.fixture(scope="session")
def slack_server() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        fake.add_channel(STAFF_CHANNEL, name="prcoach-staff", members=[STAFF_USER])
        fake.add_user(STAFF_USER, name="staff", real_name="Camille Staff", locale="fr-FR")
        yield fake


@pytest.fixture
def fake_github(github_server: FakeGitHub) -> FakeGitHub:
    """A fresh GitHub world: the practice repository ``eig/practice`` and nothing else."""
    github_server.reset()
    world = github_server.world
    world.add_org("eig")
    world.add_repo(
        "eig",
        "practice",
        default_branch="main",
        files={
            "README.md": "# Practice\n\nAdd yourself in participants/.\n",
            "participants/README.md": "One file per participant.\n",
        },
    )
    return github_server


@pytest.fixture
def fake_slack(slack_server: FakeSlack) -> FakeSlack:
    slack_server.reset()
    return slack_server


@pytest.fixture(scope="session")
def bot(
    github_server: FakeGitHub, slack_server: FakeSlack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BotProcess]:
    workdir: Path = tmp_path_factory.mktemp("bot")
    env = bot_environment(
        slack_api_url=slack_server.api_url,
        github_api_url=github_server.url,
        database_url=f"sqlite:///{workdir / 'prcoach.db'}",
    )
    process = BotProcess(env, workdir).start()
    yield process
    process.stop()


@pytest.fixture
def slack(bot: BotProcess, fake_slack: FakeSlack, fake_github: FakeGitHub) -> SlackSender:
    """Sends Slack-signed requests to the running bot; fakes are fresh for each test."""
    return SlackSender(bot.url, SIGNING_SECRET, fake=fake_slack)


@pytest.fixture
def user_id(fake_slack: FakeSlack) -> str:
    """A Slack user never seen before by the bot (English locale)."""
    uid = f"UEN{next(_user_ids):05d}"
    fake_slack.add_user(uid, name=f"learner{uid.lower()}", real_name="Ada Lovelace", locale="en-US")
    return uid


@pytest.fixture
def french_user_id(fake_slack: FakeSlack) -> str:
    uid = f"UFR{next(_user_ids):05d}"
    fake_slack.add_user(
        uid, name=f"apprenant{uid.lower()}", real_name="Hélène Dupré", locale="fr-FR"
    )
    return uid


__all__ = ["PRACTICE_REPO"]
