"""Fixtures shared by every test: the fake GitHub, the fake Slack, and the real bot.

The bot runs as a separate process started from the Procfile's ``web:`` line; PyGithub and
slack_sdk inside it talk over HTTP to the fakes served by this test process.

Databases are SQLite files, or schemas of a real PostgreSQL server when TEST_DATABASE_URL is
set (see :mod:`tests.rig.databases`): the bot's, ``database_url``'s, and one of each kind
for ``each_database_url`` (the storage tests run on both).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.rig import databases
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


def pytest_report_header() -> str:
    return databases.describe()


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
    # With PostgreSQL, each session (each xdist worker) gets a new schema of its own.
    label = f"bot_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    with databases.fresh_database(databases.default_kind(), workdir, label) as url:
        env = bot_environment(
            slack_api_url=slack_server.api_url,
            github_api_url=github_server.url,
            database_url=url,
        )
        process = BotProcess(env, workdir).start()
        try:
            yield process
        finally:
            process.stop()


@pytest.fixture
def database_url(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A new, empty database of the suite's kind: SQLite, or PostgreSQL with
    TEST_DATABASE_URL. Not migrated: call ``migrate(database_url)``."""
    with databases.fresh_database(
        databases.default_kind(), tmp_path, request.node.name[:24]
    ) as url:
        yield url


@pytest.fixture
def postgresql_url(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A new, empty PostgreSQL database (a schema); skips without TEST_DATABASE_URL."""
    if not databases.TEST_DATABASE_URL:
        pytest.skip(
            "PostgreSQL only: to run it, point TEST_DATABASE_URL at a server, e.g. "
            "TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres "
            "(README, Running at scale)"
        )
    with databases.fresh_database("postgresql", tmp_path, request.node.name[:24]) as url:
        yield url


@pytest.fixture(params=databases.DATABASES)
def each_database_url(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """Like ``database_url``, once on SQLite and once on PostgreSQL (with TEST_DATABASE_URL)."""
    with databases.fresh_database(request.param, tmp_path, request.node.name[:24]) as url:
        yield url


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
