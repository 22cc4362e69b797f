"""The bot as a GitHub App: its settings, PyGithub's app auth against the fake, the real bot.

The fake GitHub checks the app's JWTs with its public key and issues installation tokens
(``ghs_…``) that expire after ``installation_token_lifetime`` seconds.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
import requests

from bot.course.ports import CheckContext
from bot.errors import ConfigError, GitHubUnavailable
from bot.github.checks import GitHubChecks
from bot.github.client import make_github_for
from bot.settings import Settings, load_settings
from tests.rig.bot_process import GITHUB_TOKEN, SIGNING_SECRET, BotProcess, bot_environment
from tests.rig.conversation import Conversation
from tests.rig.fake_github import AppKey, FakeGitHub, new_app_key
from tests.rig.fake_slack import FakeSlack
from tests.rig.slack_sender import SlackSender

APP_ID = 4242
INSTALLATION_ID = 9001
LOGIN = "Ada-L"


@pytest.fixture(scope="module")
def key() -> AppKey:
    return new_app_key()


@pytest.fixture
def installed(fake_github: FakeGitHub, key: AppKey) -> FakeGitHub:
    """The app installed on the practice repository only; Ada has an account."""
    fake_github.register_app(APP_ID, key.public_pem, INSTALLATION_ID, ["eig/practice"])
    fake_github.world.add_user(LOGIN, email="ada@example.org")
    return fake_github


def environ(fake_github: FakeGitHub, key: AppKey, **overrides: str | None) -> dict[str, str]:
    """An app's settings, without GITHUB_TOKEN; ``None`` removes a variable."""
    env: dict[str, str | None] = {
        "GITHUB_API_URL": fake_github.url,
        "PRACTICE_REPO": "eig/practice",
        "GITHUB_TIMEOUT": "10",  # generous: a loaded test machine is not GitHub being down
        "GITHUB_APP_ID": str(APP_ID),
        "GITHUB_APP_PRIVATE_KEY": key.private_pem,
        **overrides,
    }
    return {k: v for k, v in env.items() if v is not None}


def settings_from(env: dict[str, str]) -> Settings:
    return load_settings(env, env_file=None, need_slack=False)


def app_settings(fake_github: FakeGitHub, key: AppKey, **overrides: str | None) -> Settings:
    return settings_from(environ(fake_github, key, **overrides))


def key_body(key: AppKey) -> str:
    """A line from the middle of the private key: must never appear in a message or a log."""
    return key.private_pem.splitlines()[5]


# -- PyGithub with app auth, against the fake -------------------------------------------------


def test_requests_carry_the_installation_token_found_from_the_practice_repo(
    installed: FakeGitHub, key: AppKey
) -> None:
    settings = app_settings(installed, key)
    assert settings.github_app and not settings.github_token

    checks = GitHubChecks(make_github_for(settings), "eig/practice")
    # At start: one request, signed by the app, finds the installation on the practice repo.
    (lookup,) = installed.requests
    assert (lookup.method, lookup.path, lookup.status) == (
        "GET",
        "/repos/eig/practice/installation",
        200,
    )
    assert lookup.token is not None
    claims = jwt.decode(lookup.token, key.public_pem, algorithms=["RS256"])
    assert claims["iss"] == str(APP_ID) and claims["exp"] - claims["iat"] <= 600

    assert checks.find_account("ada-l").learned["github_login"] == LOGIN

    (issued,) = installed.issued_tokens
    assert issued.installation_id == INSTALLATION_ID
    token_request, user_request = installed.requests[1:]
    assert (token_request.method, token_request.path) == (
        "POST",
        f"/app/installations/{INSTALLATION_ID}/access_tokens",
    )
    assert token_request.token is not None and token_request.token.startswith("eyJ")  # a JWT
    assert (user_request.path, user_request.token) == ("/users/ada-l", issued.token)
    assert user_request.installation_id == INSTALLATION_ID

    # The checks' lazy client shares the token.
    installed.world.fork("eig/practice", owner=LOGIN)
    assert checks.run("fork_exists", CheckContext(LOGIN)).done
    assert len(installed.issued_tokens) == 1
    assert {r.token for r in installed.requests[3:]} == {issued.token}


def test_a_given_installation_id_is_checked_not_looked_up(
    installed: FakeGitHub, key: AppKey
) -> None:
    settings = app_settings(installed, key, GITHUB_APP_INSTALLATION_ID=str(INSTALLATION_ID))
    checks = GitHubChecks(make_github_for(settings), "eig/practice")
    assert checks.find_account(LOGIN).done
    assert [r.path for r in installed.requests] == [
        f"/app/installations/{INSTALLATION_ID}",
        f"/app/installations/{INSTALLATION_ID}/access_tokens",
        f"/users/{LOGIN}",
    ]


def test_the_token_is_renewed_before_it_expires(installed: FakeGitHub, key: AppKey) -> None:
    installed.installation_token_lifetime = 21  # PyGithub renews 20 s before the expiry
    checks = GitHubChecks(make_github_for(app_settings(installed, key)), "eig/practice")

    assert checks.find_account(LOGIN).done
    assert checks.find_account(LOGIN).done  # the same token, still fresh
    (first,) = installed.issued_tokens
    time.sleep(max(0.0, first.expires_at - 20 - time.time()) + 0.2)
    assert checks.find_account(LOGIN).done

    first, second = installed.issued_tokens
    assert first.token != second.token
    users = [r for r in installed.requests if r.path == f"/users/{LOGIN}"]
    assert [r.token for r in users] == [first.token, first.token, second.token]
    assert all(r.status in (200, 201) for r in installed.requests)  # none refused


def test_an_app_not_installed_on_the_practice_repo_stops_the_start(
    fake_github: FakeGitHub, key: AppKey
) -> None:
    fake_github.world.add_repo("eig", "other")
    fake_github.register_app(APP_ID, key.public_pem, INSTALLATION_ID, ["eig/other"])

    with pytest.raises(ConfigError) as caught:
        make_github_for(app_settings(fake_github, key))

    assert caught.value.variable == "GITHUB_APP_ID"
    message = str(caught.value)
    assert f"The GitHub App {APP_ID} is not installed on PRACTICE_REPO eig/practice" in message
    assert "Install App" in message
    assert key_body(key) not in message


def test_a_key_of_another_app_stops_the_start(fake_github: FakeGitHub, key: AppKey) -> None:
    fake_github.register_app(APP_ID, new_app_key().public_pem, INSTALLATION_ID, ["eig/practice"])

    with pytest.raises(ConfigError) as caught:
        make_github_for(app_settings(fake_github, key))

    assert caught.value.variable == "GITHUB_APP_PRIVATE_KEY"
    assert "A JSON web token could not be decoded" in str(caught.value)
    assert "must belong to the same app" in str(caught.value)


def test_an_unknown_installation_id_stops_the_start(installed: FakeGitHub, key: AppKey) -> None:
    with pytest.raises(ConfigError) as caught:
        make_github_for(app_settings(installed, key, GITHUB_APP_INSTALLATION_ID="1234"))
    assert caught.value.variable == "GITHUB_APP_INSTALLATION_ID"
    assert "GITHUB_APP_INSTALLATION_ID is 1234, which is not an installation" in str(caught.value)


def test_github_down_at_start_the_installation_is_found_at_the_first_request(
    installed: FakeGitHub, key: AppKey
) -> None:
    installed.fail_next(3, status=502)  # the first try and both retries

    checks = GitHubChecks(make_github_for(app_settings(installed, key)), "eig/practice")

    assert checks.find_account(LOGIN).done
    assert [(r.path, r.status) for r in installed.requests][3:] == [
        ("/repos/eig/practice/installation", 200),
        (f"/app/installations/{INSTALLATION_ID}/access_tokens", 201),
        (f"/users/{LOGIN}", 200),
    ]


def test_an_uninstalled_app_means_github_is_unavailable_not_a_missing_account(
    installed: FakeGitHub, key: AppKey
) -> None:
    settings = app_settings(installed, key)
    used = GitHubChecks(make_github_for(settings), "eig/practice")
    fresh = GitHubChecks(make_github_for(settings), "eig/practice")
    assert used.find_account(LOGIN).done

    installed.uninstall_app(INSTALLATION_ID)

    # A revoked token (401) and a token refused (404) must not read as "no such account".
    for checks in (used, fresh):
        with pytest.raises(GitHubUnavailable):
            checks.find_account(LOGIN)


def test_the_console_refuses_to_start_when_the_app_is_not_installed(
    fake_github: FakeGitHub, key: AppKey, tmp_path: Path
) -> None:
    fake_github.world.add_repo("eig", "other")
    fake_github.register_app(APP_ID, key.public_pem, INSTALLATION_ID, ["eig/other"])
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        **environ(fake_github, key, GITHUB_APP_PRIVATE_KEY=key.private_pem.replace("\n", "\\n")),
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", "console", "--database", f"sqlite:///{tmp_path / 'c.db'}"],
        env=env,
        cwd=tmp_path,
        input="",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "not installed on PRACTICE_REPO eig/practice" in result.stderr
    assert "Traceback" not in result.stderr
    assert key_body(key) not in result.stdout + result.stderr


# -- settings -------------------------------------------------------------------------------


def test_an_app_replaces_the_token(fake_github: FakeGitHub, key: AppKey) -> None:
    settings = app_settings(fake_github, key, GITHUB_APP_INSTALLATION_ID="77")
    assert (settings.github_app_id, settings.github_app_installation_id) == (APP_ID, 77)
    assert settings.github_app_private_key.reveal() == key.private_pem
    assert key_body(key) not in repr(settings)

    token_only = settings_from(
        environ(fake_github, key, GITHUB_APP_ID=None, GITHUB_APP_PRIVATE_KEY=None, GITHUB_TOKEN="t")
    )
    assert not token_only.github_app and token_only.github_token.reveal() == "t"


def test_a_private_key_with_escaped_line_breaks(fake_github: FakeGitHub, key: AppKey) -> None:
    one_line = key.private_pem.strip().replace("\n", "\\n")  # as hosting platforms store it
    assert "\n" not in one_line
    settings = app_settings(fake_github, key, GITHUB_APP_PRIVATE_KEY=one_line)
    assert settings.github_app_private_key.reveal() == key.private_pem
    windows = app_settings(
        fake_github, key, GITHUB_APP_PRIVATE_KEY=key.private_pem.replace("\n", "\r\n")
    )
    assert windows.github_app_private_key.reveal() == key.private_pem


def test_a_private_key_file(fake_github: FakeGitHub, key: AppKey, tmp_path: Path) -> None:
    path = tmp_path / "prcoach.2026-01-01.private-key.pem"
    path.write_text(key.private_pem)
    settings = app_settings(fake_github, key, GITHUB_APP_PRIVATE_KEY=str(path))
    assert settings.github_app_private_key.reveal() == key.private_pem


@pytest.fixture(scope="module")
def bad_keys(key: AppKey, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Values of GITHUB_APP_PRIVATE_KEY that cannot work, by name."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    encrypted = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase"),
    )
    elliptic = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    not_pem = tmp_path_factory.mktemp("keys") / "notes.txt"
    not_pem.write_text("my app's key is on the shared drive\n")
    return {
        "truncated": key.private_pem[: len(key.private_pem) // 2] + "-----END RSA PRIVATE KEY-----",
        "encrypted": encrypted.decode(),
        "elliptic": elliptic.decode(),
        "missing file": str(not_pem.with_name("missing.pem")),
        "not a pem file": str(not_pem),
    }


@pytest.mark.parametrize(
    ("overrides", "variable", "expected"),
    [
        (
            {"GITHUB_APP_ID": "Iv1.8a61f9b3a7aba766"},
            "GITHUB_APP_ID",
            "is 'Iv1.8a61f9b3a7aba766', not a number",
        ),
        (
            {"GITHUB_APP_ID": None},
            "GITHUB_APP_ID",
            "GITHUB_APP_ID is not set, but GITHUB_APP_PRIVATE_KEY is",
        ),
        (
            {
                "GITHUB_APP_ID": None,
                "GITHUB_APP_PRIVATE_KEY": None,
                "GITHUB_APP_INSTALLATION_ID": "9",
            },
            "GITHUB_APP_ID",
            "GITHUB_APP_ID is not set, but GITHUB_APP_INSTALLATION_ID is",
        ),
        (
            {"GITHUB_APP_PRIVATE_KEY": None},
            "GITHUB_APP_PRIVATE_KEY",
            "GITHUB_APP_PRIVATE_KEY is not set, but GITHUB_APP_ID is",
        ),
        (
            {"GITHUB_APP_INSTALLATION_ID": "my-org"},
            "GITHUB_APP_INSTALLATION_ID",
            "is 'my-org', not a number",
        ),
        (
            {"GITHUB_APP_PRIVATE_KEY": "truncated"},
            "GITHUB_APP_PRIVATE_KEY",
            "holds no valid PEM private key",
        ),
        (
            {"GITHUB_APP_PRIVATE_KEY": "encrypted"},
            "GITHUB_APP_PRIVATE_KEY",
            "protected by a passphrase",
        ),
        ({"GITHUB_APP_PRIVATE_KEY": "elliptic"}, "GITHUB_APP_PRIVATE_KEY", "a key that is not RSA"),
        (
            {"GITHUB_APP_PRIVATE_KEY": "missing file"},
            "GITHUB_APP_PRIVATE_KEY",
            "is neither a PEM private key",
        ),
        (
            {"GITHUB_APP_PRIVATE_KEY": "not a pem file"},
            "GITHUB_APP_PRIVATE_KEY",
            "a file without a PEM private key",
        ),
        (
            {"GITHUB_APP_ID": None, "GITHUB_APP_PRIVATE_KEY": None},
            "GITHUB_TOKEN",
            "GITHUB_TOKEN is not set",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_malformed_app_settings_are_named(
    fake_github: FakeGitHub,
    key: AppKey,
    bad_keys: dict[str, str],
    overrides: dict[str, str | None],
    variable: str,
    expected: str,
) -> None:
    resolved = {k: bad_keys.get(v, v) if v else v for k, v in overrides.items()}

    with pytest.raises(ConfigError) as caught:
        app_settings(fake_github, key, **resolved)

    message = str(caught.value)
    assert caught.value.variable == variable
    assert expected in message
    assert "It is " in message  # followed by what it is for and where to get it
    for secret in (key_body(key), *(v.splitlines()[3] for v in bad_keys.values() if "\n" in v)):
        assert secret not in message
    if variable == "GITHUB_TOKEN":
        assert "GitHub App" in message  # the alternative is named


# -- the real bot ---------------------------------------------------------------------------


@pytest.fixture
def app_bot(
    installed: FakeGitHub, fake_slack: FakeSlack, key: AppKey, tmp_path: Path
) -> Iterator[BotProcess]:
    """The real bot (the Procfile's web: line) configured as a GitHub App, no GITHUB_TOKEN."""
    env = bot_environment(
        slack_api_url=fake_slack.api_url,
        github_api_url=installed.url,
        database_url=f"sqlite:///{tmp_path / 'prcoach.db'}",
        GITHUB_APP_ID=str(APP_ID),
        GITHUB_APP_PRIVATE_KEY=key.private_pem.replace("\n", "\\n"),
    )
    del env["GITHUB_TOKEN"]
    process = BotProcess(env, tmp_path)
    try:
        try:
            process.start()
        except requests.ReadTimeout:  # a worker still booting: give it more time
            _wait_healthy(process)
        yield process
    finally:
        process.stop()


def _wait_healthy(process: BotProcess, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{process.url}/healthz", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError(f"the bot did not answer /healthz:\n{process.logs()}")


def test_the_real_bot_links_a_learner_as_a_github_app(
    app_bot: BotProcess, installed: FakeGitHub, fake_slack: FakeSlack, user_id: str, key: AppKey
) -> None:
    ada = Conversation(
        SlackSender(app_bot.url, SIGNING_SECRET, fake=fake_slack), fake_slack, user_id
    )

    ada.says("hello")
    assert "Step 2 of 5" in ada.links(LOGIN).text

    lookups = installed.count(counted_only=False, path=r"^/repos/eig/practice/installation$")
    assert lookups >= 1  # each web process finds the installation at start
    (asked,) = [r for r in installed.requests if r.path == f"/users/{LOGIN}"]
    assert asked.installation_id == INSTALLATION_ID
    assert asked.token in {t.token for t in installed.issued_tokens}
    assert all(r.token != GITHUB_TOKEN for r in installed.requests)
    logs = app_bot.logs()
    assert key_body(key) not in logs
    assert all(t.token not in logs for t in installed.issued_tokens)
