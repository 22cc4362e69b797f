"""``python -m bot``: clear refusals at start, never a traceback, never a secret."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.rig.bot_process import BOT_TOKEN, GITHUB_TOKEN, SIGNING_SECRET, bot_environment


def run_bot(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def base_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    return bot_environment(
        slack_api_url="http://127.0.0.1:9/api/",
        github_api_url="http://127.0.0.1:9",
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
        **overrides,
    )


def test_no_settings_at_all_gives_one_clear_message_and_exit_2(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = run_bot(env, tmp_path)
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN is not set" in result.stderr
    assert "OAuth & Permissions" in result.stderr  # where to get it
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("PRACTICE_REPO", "not a repo", "PRACTICE_REPO is 'not a repo', not owner/name"),
        ("DEFAULT_LANGUAGE", "de", "DEFAULT_LANGUAGE is 'de', neither fr nor en"),
        ("PORT", "eighty", "PORT is 'eighty', not a port number"),
        ("STAFF_USER_IDS", "alice", "STAFF_USER_IDS contains 'alice'"),
        ("GITHUB_API_URL", "api.github.com", "GITHUB_API_URL is not an http(s) URL"),
        ("DATABASE_URL", "::nonsense::", "DATABASE_URL is not a database URL"),
        ("SLACK_SIGNING_SECRET", "", "SLACK_SIGNING_SECRET is not set"),
        # APScheduler would take this one (Saturday to Wednesday); cron would not.
        ("DIGEST_CRON", "0 9 * * 5-2", "DIGEST_CRON is '0 9 * * 5-2', not a cron line"),
        ("DIGEST_CRON", "0 9 * *", "DIGEST_CRON is '0 9 * *', not a cron line"),
    ],
)
def test_a_malformed_setting_is_named(
    tmp_path: Path, variable: str, value: str, expected: str
) -> None:
    result = run_bot(base_env(tmp_path, **{variable: value}), tmp_path, "check-config")
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("sunday", ["0", "7", "sun"])
def test_sunday_is_0_or_7_in_digest_cron_as_in_cron(tmp_path: Path, sunday: str) -> None:
    env = base_env(tmp_path, DIGEST_CRON=f"0 9 * * {sunday}")
    result = run_bot(env, tmp_path, "check-config")
    assert result.returncode == 0, result.stderr


def test_a_dotenv_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    del env["PRACTICE_REPO"]
    (tmp_path / ".env").write_text("PRACTICE_REPO=bad value\nDEFAULT_LANGUAGE=fr\n")
    result = run_bot(env, tmp_path, "check-config")
    assert result.returncode == 2 and "PRACTICE_REPO is 'bad value'" in result.stderr
    env["PRACTICE_REPO"] = "eig/practice"
    result = run_bot(env, tmp_path, "check-config")
    assert result.returncode == 0, result.stderr


def test_a_broken_course_file_names_file_and_line(tmp_path: Path) -> None:
    course = tmp_path / "course.yaml"
    course.write_text("id: x\ntitle: {en: A, fr: B}\nsteps:\n  - id: link\n    check: nope\n")
    result = run_bot(base_env(tmp_path, COURSE_FILE=str(course)), tmp_path, "check-config")
    assert result.returncode == 2
    assert f"{course}, line " in result.stderr
    assert "Traceback" not in result.stderr


def test_secrets_never_appear_in_the_output(tmp_path: Path) -> None:
    # Slack is unreachable here: the bot says so and goes on, without printing any token.
    env = base_env(tmp_path, PORT="1", LOG_LEVEL="DEBUG")
    result = run_bot(env, tmp_path, "migrate")
    output = result.stdout + result.stderr
    for secret in (BOT_TOKEN, GITHUB_TOKEN, SIGNING_SECRET):
        assert secret not in output


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"REQUIRE_VERIFIED_LINK": "true"}, "REQUIRE_VERIFIED_LINK is true but GITHUB_OAUTH"),
        ({"GITHUB_OAUTH_CLIENT_ID": "not a client id"}, "GITHUB_OAUTH_CLIENT_ID is 'not a"),
        (
            {"GITHUB_OAUTH_CLIENT_ID": "Ov23liAbCdEfGhIjKlMn", "REQUIRE_VERIFIED_LINK": "maybe"},
            "REQUIRE_VERIFIED_LINK is 'maybe', neither true nor false",
        ),
    ],
)
def test_verified_link_settings_are_checked(
    tmp_path: Path, overrides: dict[str, str], expected: str
) -> None:
    result = run_bot(base_env(tmp_path, **overrides), tmp_path, "check-config")
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    assert "Device Flow" in result.stderr or "device flow" in result.stderr


def test_sign_in_on_github_is_a_valid_setting(tmp_path: Path) -> None:
    env = base_env(
        tmp_path, GITHUB_OAUTH_CLIENT_ID="Ov23liAbCdEfGhIjKlMn", REQUIRE_VERIFIED_LINK="true"
    )
    result = run_bot(env, tmp_path, "check-config")
    assert result.returncode == 0, result.stderr
