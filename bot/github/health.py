"""The GitHub settings tried on GitHub: the token (or the app) works, when the token expires
(GitHub's ``GitHub-Authentication-Token-Expiration`` header), and the practice repository is
usable — it exists, is public, has a ``participants/`` folder on its default branch.

``check-config`` prints these findings; the worker posts the ones that need the staff (a
token about to expire, a practice repository gone) to the staff channel.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import requests
from github import Github, GithubException

from bot.health import Finding
from bot.settings import Settings

EXPIRY_HEADER = "github-authentication-token-expiration"
WARN_BEFORE = timedelta(days=7)
PARTICIPANTS = "participants"
_NEW_TOKEN = (
    "make a new one: github.com → Settings → Developer settings → Personal access tokens → "
    "Fine-grained tokens (Public repositories, read-only), put it in GITHUB_TOKEN and restart "
    "both processes"
)


def parse_expiry(value: str | None) -> datetime | None:
    """GitHub's '2026-12-31 23:59:59 UTC' (or '… +0200'), as an aware datetime."""
    if not value:
        return None
    text = re.sub(r"\s+UTC$", " +0000", value.strip())
    for layout in ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M:%S"):
        try:
            moment = datetime.strptime(text, layout)
        except ValueError:
            continue
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None


def token_expiry_finding(expires: datetime | None, now: datetime) -> Finding:
    if expires is None:
        return Finding("GITHUB_TOKEN", True, "GitHub: the token has no expiry date")
    day = expires.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    left = expires - now
    if left <= timedelta(0):
        return Finding("GITHUB_TOKEN", False, f"GITHUB_TOKEN expired on {day}: {_NEW_TOKEN}")
    if left <= WARN_BEFORE:
        return Finding(
            "GITHUB_TOKEN",
            True,
            f"GITHUB_TOKEN expires on {day}, in {_days(left)}: learners' checks stop then; "
            f"{_NEW_TOKEN}",
            warning=True,
        )
    return Finding("GITHUB_TOKEN", True, f"GitHub: the token expires on {day} (in {_days(left)})")


def _days(left: timedelta) -> str:
    days = left.days
    if days >= 1:
        return f"{days} day{'s' if days > 1 else ''}"
    hours = max(1, int(left.total_seconds() // 3600))
    return f"{hours} hour{'s' if hours > 1 else ''}"


def check_github(settings: Settings, github: Github, now: datetime | None = None) -> list[Finding]:
    """The credentials, then the practice repository (only when the credentials work)."""
    now = now or datetime.now(UTC)
    credentials = _credentials(settings, github, now)
    if not all(f.ok and not f.warning for f in credentials[:1]):
        return credentials  # refused or unreachable: the repository cannot be asked
    return credentials + check_practice_repo(github, settings.practice_repo)


def _credentials(settings: Settings, github: Github, now: datetime) -> list[Finding]:
    if settings.github_app:
        # make_github_for already asked GitHub for the app's installation.
        return [Finding("GITHUB_APP_ID", True, f"GitHub: app {settings.github_app_id} installed")]
    try:
        headers, me = github.requester.requestJsonAndCheck("GET", "/user")
    except GithubException as error:
        if error.status == 401:
            return [
                Finding(
                    "GITHUB_TOKEN",
                    False,
                    f"GITHUB_TOKEN was refused by GitHub (Bad credentials): it was revoked, "
                    f"has expired or was copied incompletely; {_NEW_TOKEN}",
                )
            ]
        return [Finding("GITHUB_TOKEN", False, f"GitHub answered {error.status} for the token")]
    except requests.RequestException as error:
        return [_unreachable(settings, error)]
    login = me.get("login") if isinstance(me, dict) else None
    expires = parse_expiry(headers.get(EXPIRY_HEADER))
    return [
        Finding("GITHUB_TOKEN", True, f"GitHub: the token works, as @{login}"),
        token_expiry_finding(expires, now),
    ]


def _unreachable(settings: Settings, error: Exception) -> Finding:
    return Finding(
        "GITHUB_API_URL",
        True,
        f"GitHub could not be reached at {settings.github_api_url} ({type(error).__name__}), "
        "so the GitHub settings were not checked: check this machine's network (and "
        "GITHUB_API_URL, normally left unset)",
        warning=True,
    )


def token_expiry(github: Github) -> datetime | None:
    """When the token expires, from the header GitHub sends on every answer (GET /rate_limit
    is free)."""
    headers, _ = github.requester.requestJsonAndCheck("GET", "/rate_limit")
    return parse_expiry(headers.get(EXPIRY_HEADER))


def check_practice_repo(github: Github, practice_repo: str) -> list[Finding]:
    """PRACTICE_REPO: exists, is public, has a participants/ folder on its default branch."""
    name = "PRACTICE_REPO"
    try:
        repo = github.get_repo(practice_repo)
        private, branch = repo.private, repo.default_branch
    except GithubException as error:
        if error.status in (404, 451):
            return [
                Finding(
                    name,
                    False,
                    code="not_found",
                    text=f"PRACTICE_REPO {practice_repo} was not found on GitHub: check the "
                    "spelling (owner/name, as in the repository's address); a private "
                    "repository looks the same to the bot, make it public",
                )
            ]
        if error.status == 401:
            return [Finding(name, False, f"PRACTICE_REPO {practice_repo}: the token was refused")]
        return [
            Finding(name, False, f"PRACTICE_REPO {practice_repo}: GitHub answered {error.status}")
        ]
    except requests.RequestException as error:
        return [_repo_unreachable(practice_repo, error)]
    if private:
        return [
            Finding(
                name,
                False,
                code="private",
                text=f"PRACTICE_REPO {practice_repo} is private: learners cannot see or fork "
                "it. On GitHub: the repository → Settings → Danger Zone → Change visibility "
                "→ Public",
            )
        ]
    add = (
        f"add one on GitHub: the repository → Add file → Create new file, name it "
        f"{PARTICIPANTS}/README.md, write a line, Commit changes"
    )
    try:
        contents = repo.get_contents(PARTICIPANTS, ref=branch)
    except GithubException as error:
        if error.status == 404:
            return [
                Finding(
                    name,
                    False,
                    code="no_participants",
                    text=f"PRACTICE_REPO {practice_repo} has no {PARTICIPANTS}/ folder on its "
                    f"default branch ({branch}), where learners add their file: {add}",
                )
            ]
        return [
            Finding(name, False, f"PRACTICE_REPO {practice_repo}: GitHub answered {error.status}")
        ]
    except requests.RequestException as error:
        return [_repo_unreachable(practice_repo, error)]
    if not isinstance(contents, list):
        return [
            Finding(
                name,
                False,
                code="no_participants",
                text=f"PRACTICE_REPO {practice_repo}: {PARTICIPANTS} is a file, not a folder: "
                f"{add}",
            )
        ]
    return [
        Finding(
            name,
            True,
            f"GitHub: {practice_repo} is public, default branch {branch}, with a "
            f"{PARTICIPANTS}/ folder",
        )
    ]


def _repo_unreachable(practice_repo: str, error: Exception) -> Finding:
    return Finding(
        "PRACTICE_REPO",
        True,
        f"PRACTICE_REPO {practice_repo} was not checked: GitHub unreachable "
        f"({type(error).__name__})",
        warning=True,
    )


def practice_repo_problem(github: Github, practice_repo: str) -> Finding | None:
    """The practice repository's problem, if it has one (for the worker's watch)."""
    findings = check_practice_repo(github, practice_repo)
    return next((f for f in findings if not f.ok), None)
