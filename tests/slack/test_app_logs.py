"""Building the Bolt app says nothing untrue or noisy in the logs."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.settings import load_settings
from bot.slack.app import build_app
from bot.wiring import build
from tests.rig.bot_process import bot_environment
from tests.rig.fake_github import FakeGitHub
from tests.rig.fake_slack import FakeSlack


def test_no_unused_token_warning_when_the_token_is_in_the_environment(
    fake_github: FakeGitHub,
    fake_slack: FakeSlack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    env = bot_environment(
        slack_api_url=fake_slack.api_url,
        github_api_url=fake_github.url,
        database_url=f"sqlite:///{tmp_path / 'app.db'}",
    )
    # As on a platform: the token is in the process's environment, where Bolt looks too.
    monkeypatch.setenv("SLACK_BOT_TOKEN", env["SLACK_BOT_TOKEN"])
    parts = build(load_settings(env, env_file=None))
    with caplog.at_level(logging.WARNING):
        build_app(parts.services)
    assert [r.getMessage() for r in caplog.records if r.name.startswith("slack_bolt")] == []
