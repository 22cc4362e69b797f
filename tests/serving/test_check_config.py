"""``python -m bot check-config``: every missing or placeholder setting named at once, then
each setting tried on the (fake) services, each problem with what to do; the worker's warnings
to the staff before a token expires or when the practice repository goes away."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.github.client import make_github
from bot.github.health import check_github, parse_expiry, practice_repo_problem, token_expiry
from bot.settings import Settings, load_settings
from bot.slack.app import make_web_client
from bot.slack.health import check_slack, warn_staff
from bot.wiring import build
from tests.rig.bot_process import (
    GITHUB_TOKEN,
    REPO_ROOT,
    STAFF_CHANNEL,
    STAFF_USER,
    bot_environment,
)
from tests.rig.fake_github import FakeGitHub
from tests.rig.fake_slack import FakeSlack


@pytest.fixture(autouse=True)
def bot_account(request: pytest.FixtureRequest) -> None:
    """The account behind the bot's token exists, as on GitHub (GET /user answers it)."""
    if "fake_github" in request.fixturenames or "services" in request.fixturenames:
        fake = request.getfixturevalue("fake_github")
        fake.world.add_user(fake.token_user)


REQUIRED = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "GITHUB_TOKEN", "PRACTICE_REPO")


def run_bot(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def bare_env(tmp_path: Path) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8"}


def test_the_untouched_env_example_names_every_placeholder_at_once(tmp_path: Path) -> None:
    shutil.copyfile(REPO_ROOT / ".env.example", tmp_path / ".env")
    result = run_bot(bare_env(tmp_path), tmp_path, "check-config")
    assert result.returncode == 2, result.stdout + result.stderr
    message = result.stderr
    for name in REQUIRED:
        assert f"{name} still holds the example from .env.example" in message, message
    assert "4 settings need attention" in message
    assert "xoxb-your-bot-token" not in message  # a secret's value is never shown, even fake
    assert "'your-org/practice'" in message
    assert "Traceback" not in message


def test_no_settings_at_all_names_the_four_required_ones_in_one_message(tmp_path: Path) -> None:
    result = run_bot(bare_env(tmp_path), tmp_path)
    assert result.returncode == 2
    for name in REQUIRED:
        assert f"{name} is not set" in result.stderr
    assert "It is lets" not in result.stderr and "It is proves" not in result.stderr
    assert "It is the secret that proves requests come from Slack" in result.stderr


def test_the_env_file_is_found_in_the_project_folder_or_given(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    settings_file = tmp_path / "prcoach.env"
    settings_file.write_text("PRACTICE_REPO=not a repo\n")
    result = run_bot(
        bare_env(tmp_path), elsewhere, "--env-file", str(settings_file), "check-config"
    )
    assert result.returncode == 2
    assert "PRACTICE_REPO is 'not a repo'" in result.stderr
    missing = run_bot(bare_env(tmp_path), elsewhere, "--env-file", str(tmp_path / "no.env"))
    assert missing.returncode == 2 and "--env-file" in missing.stderr


def settings_for(
    fake_github: FakeGitHub, fake_slack: FakeSlack, tmp_path: Path, **extra: str
) -> Settings:
    env = bot_environment(
        slack_api_url=fake_slack.api_url,
        github_api_url=fake_github.url,
        database_url=f"sqlite:///{tmp_path / 'bot.db'}",
        **extra,
    )
    return load_settings(env, env_file=None)


def github_findings(fake: FakeGitHub, repo: str = "eig/practice", token: str = GITHUB_TOKEN):
    settings_env = bot_environment(
        slack_api_url="http://127.0.0.1:9/api/",
        github_api_url=fake.url,
        database_url="sqlite://",
        PRACTICE_REPO=repo,
        GITHUB_TOKEN=token,
    )
    settings = load_settings(settings_env, env_file=None)
    return check_github(
        settings, make_github(fake.url, token), now=datetime(2026, 12, 5, tzinfo=UTC)
    )


def problems(findings) -> list[str]:
    return [f.text for f in findings if not f.ok]


def test_a_working_setup_is_all_ticks(fake_github: FakeGitHub) -> None:
    findings = github_findings(fake_github)
    assert problems(findings) == []
    assert any("the token works, as @coach-bot" in f.text for f in findings)
    assert any("the token has no expiry date" in f.text for f in findings)
    assert any("eig/practice is public, default branch main" in f.text for f in findings)


def test_a_wrong_practice_repo_is_named(fake_github: FakeGitHub) -> None:
    [problem] = problems(github_findings(fake_github, repo="eig/practise"))
    assert "PRACTICE_REPO eig/practise was not found on GitHub" in problem


def test_a_revoked_token_is_named(fake_github: FakeGitHub) -> None:
    fake_github.revoked_tokens.add(GITHUB_TOKEN)
    [problem] = problems(github_findings(fake_github))
    assert problem.startswith("GITHUB_TOKEN was refused by GitHub (Bad credentials)")
    assert "Fine-grained tokens" in problem  # what to do


def test_a_practice_repo_without_participants_folder_is_named(fake_github: FakeGitHub) -> None:
    fake_github.world.add_repo("eig", "bare", default_branch="trunk", files={"README.md": "hi"})
    [problem] = problems(github_findings(fake_github, repo="eig/bare"))
    assert "has no participants/ folder on its default branch (trunk)" in problem
    assert "participants/README.md" in problem


def test_a_private_practice_repo_is_named(fake_github: FakeGitHub) -> None:
    fake_github.world.add_repo(
        "coach-bot", "secret", private=True, files={"participants/README.md": "x"}
    )
    [problem] = problems(github_findings(fake_github, repo="coach-bot/secret"))
    assert "is private" in problem and "Change visibility" in problem


def test_the_token_s_expiry_is_read_from_github_s_header(fake_github: FakeGitHub) -> None:
    fake_github.token_expiration = "2026-12-09 10:00:00 UTC"
    findings = github_findings(fake_github)
    [soon] = [f for f in findings if f.warning]
    assert soon.ok and "GITHUB_TOKEN expires on 2026-12-09 10:00 UTC, in 4 days" in soon.text
    fake_github.token_expiration = "2027-03-01 00:00:00 +0200"
    findings = github_findings(fake_github)
    assert not any(f.warning for f in findings)
    assert any("expires on 2027-02-28 22:00 UTC" in f.text for f in findings)
    fake_github.token_expiration = "2026-12-01 00:00:00 UTC"
    [expired] = problems(github_findings(fake_github))
    assert expired.startswith("GITHUB_TOKEN expired on 2026-12-01")


def test_parse_expiry_reads_both_formats() -> None:
    assert parse_expiry("2021-09-03 02:34:04 UTC") == datetime(2021, 9, 3, 2, 34, 4, tzinfo=UTC)
    assert parse_expiry("2023-04-26 20:23:26 +0200") == datetime(
        2023, 4, 26, 18, 23, 26, tzinfo=UTC
    )
    assert parse_expiry(None) is None and parse_expiry("soon") is None


def test_slack_settings_are_tried_on_slack(
    fake_slack: FakeSlack, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    settings = settings_for(fake_github, fake_slack, tmp_path)
    client = make_web_client(settings)
    fake_slack.add_channel(STAFF_CHANNEL, name="prcoach-staff", members=[STAFF_USER])
    findings = check_slack(settings, client)
    assert problems(findings) == [
        "STAFF_CHANNEL #prcoach-staff: the bot is not in it, so alerts and the digest cannot be "
        "posted: in the channel, type /invite @PR Coach"
    ]
    assert any("the token works, bot user @prcoach" in f.text for f in findings)
    assert any(f"staff member {STAFF_USER} is Camille Staff" in f.text for f in findings)

    fake_slack.add_channel(
        STAFF_CHANNEL, name="prcoach-staff", members=[STAFF_USER, fake_slack.bot_user_id]
    )
    assert problems(check_slack(settings, client)) == []

    unknown = settings_for(fake_github, fake_slack, tmp_path, STAFF_CHANNEL="CNOWHERE1")
    [problem] = problems(check_slack(unknown, client))
    assert "STAFF_CHANNEL CNOWHERE1 was not found" in problem

    refused = settings_for(fake_github, fake_slack, tmp_path, SLACK_BOT_TOKEN="xoxb-revoked")
    [problem] = problems(check_slack(refused, make_web_client(refused)))
    assert problem.startswith("SLACK_BOT_TOKEN was refused by Slack (invalid_auth)")


def test_check_config_against_the_services(
    fake_slack: FakeSlack, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    fake_slack.add_channel(
        STAFF_CHANNEL, name="prcoach-staff", members=[STAFF_USER, fake_slack.bot_user_id]
    )
    env = bot_environment(
        slack_api_url=fake_slack.api_url,
        github_api_url=fake_github.url,
        database_url=f"sqlite:///{tmp_path / 'bot.db'}",
    )
    good = run_bot(env, tmp_path, "check-config")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "No .env file found" in good.stdout and good.stdout.rstrip().endswith("All set.")

    fake_github.revoked_tokens.add(GITHUB_TOKEN)
    bad = run_bot(env, tmp_path, "check-config")
    assert bad.returncode == 2
    assert "✗ GITHUB_TOKEN was refused by GitHub" in bad.stdout
    assert "fix GITHUB_TOKEN" in bad.stderr


@pytest.fixture
def services(fake_slack: FakeSlack, fake_github: FakeGitHub, tmp_path: Path):
    from bot.storage.database import migrate

    settings = settings_for(fake_github, fake_slack, tmp_path)
    migrate(settings.database_url)
    return build(settings)


def test_the_worker_warns_the_staff_once_a_week_before_the_token_expires(
    services, fake_slack: FakeSlack, fake_github: FakeGitHub
) -> None:
    now = datetime.now(UTC)
    client = make_web_client(services.services.settings)
    fake_github.token_expiration = (now + timedelta(days=6, hours=1)).strftime(
        "%Y-%m-%d %H:%M:%S UTC"
    )
    expires = token_expiry(services.github)
    assert expires is not None
    args = dict(token_expires=expires, repo_problem=None)
    assert warn_staff(services.services, client, services.store.claim_delivery, now, **args)
    assert warn_staff(services.services, client, services.store.claim_delivery, now, **args) == []
    [message] = fake_slack.messages(STAFF_CHANNEL)
    assert "expires on" in message.text and "(in 6 days)" in message.text
    assert "GITHUB_TOKEN" in message.text
    # Far from expiry: nothing.
    later = expires + timedelta(days=30)
    assert (
        warn_staff(
            services.services,
            client,
            services.store.claim_delivery,
            now,
            token_expires=later,
            repo_problem=None,
        )
        == []
    )


def test_the_worker_warns_the_staff_when_the_practice_repo_goes_away(
    services, fake_slack: FakeSlack, fake_github: FakeGitHub
) -> None:
    now = datetime.now(UTC)
    client = make_web_client(services.services.settings)
    assert practice_repo_problem(services.github, "eig/practice") is None
    fake_github.world.clear()  # deleted
    problem = practice_repo_problem(services.github, "eig/practice")
    assert problem is not None and problem.code == "not_found"
    posted = warn_staff(
        services.services,
        client,
        services.store.claim_delivery,
        now,
        token_expires=None,
        repo_problem=problem,
    )
    assert posted == [f"job:practice-repo:not_found:{now.date().isoformat()}"]
    [message] = fake_slack.messages(STAFF_CHANNEL)
    assert "`eig/practice`" in message.text and "does not exist" in message.text


def test_start_up_is_quiet_about_migrations(tmp_path: Path) -> None:
    env = bot_environment(
        slack_api_url="http://127.0.0.1:9/api/",
        github_api_url="http://127.0.0.1:9",
        database_url=f"sqlite:///{tmp_path / 'bot.db'}",
        LOG_LEVEL="INFO",
    )
    first = run_bot(env, tmp_path, "migrate")
    assert first.returncode == 0, first.stderr
    assert "alembic" not in first.stderr  # no "setup plugin…", "Running upgrade…" chatter
    [upgraded] = [line for line in first.stderr.splitlines() if "schema" in line]
    assert "database schema upgraded (" in upgraded
    again = run_bot(env, tmp_path, "migrate")
    assert "schema" not in again.stderr and "alembic" not in again.stderr
    assert "No .env file found" in again.stderr  # the bot says where its settings came from
