"""A PyGithub client that fails fast and says why.

PyGithub's default retry sleeps until the rate limit resets (up to an hour) and a dead
connection surfaces as a ``requests`` error, not a ``GithubException``. We set our own
timeout and a short retry for 5xx, and :func:`translate_errors` turns every way GitHub
can fail into :class:`GitHubUnavailable` / :class:`GitHubRateLimited`, which the coach
explains to the learner ("try again at 14:05").
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from github import Auth, Github, GithubException, RateLimitExceededException
from urllib3.util.retry import Retry

from bot.errors import GitHubRateLimited, GitHubUnavailable

log = logging.getLogger(__name__)


def make_github(api_url: str, token: str, *, timeout: float = 10.0) -> Github:
    retry = Retry(
        total=2,
        connect=2,
        read=1,
        status=2,
        backoff_factor=0.25,
        status_forcelist=(500, 502, 503, 504),
        allowed_methods=frozenset({"GET", "HEAD"}),
        # Give the final 5xx back to PyGithub so it raises a GithubException we translate.
        raise_on_status=False,
        respect_retry_after_header=False,
    )
    return Github(
        base_url=api_url,
        auth=Auth.Token(token),
        timeout=int(max(1, timeout)),
        retry=retry,
        per_page=100,
        # Our requests are few and spread out; PyGithub's 0.25 s pause would only slow
        # learners down.
        seconds_between_requests=None,
        user_agent="pr-coach",
    )


def _header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name.lower():
            return str(value)
    return None


def retry_time(headers: Mapping[str, Any] | None, now: datetime | None = None) -> datetime | None:
    """When GitHub says we may ask again: ``Retry-After`` or ``X-RateLimit-Reset``."""
    now = now or datetime.now(UTC)
    retry_after = _header(headers, "Retry-After")
    if retry_after and retry_after.isdigit():
        return now + timedelta(seconds=int(retry_after))
    reset = _header(headers, "X-RateLimit-Reset")
    if reset and reset.isdigit():
        return datetime.fromtimestamp(int(reset), UTC)
    return None


@contextmanager
def translate_errors() -> Iterator[None]:
    """Turn GitHub's failures into ours; a 404 is left alone (it is a fact, not a failure)."""
    try:
        yield
    except RateLimitExceededException as error:
        retry_at = retry_time(error.headers) or datetime.now(UTC) + timedelta(minutes=1)
        if _header(error.headers, "X-RateLimit-Remaining") == "0":
            raise GitHubRateLimited(f"rate limited until {retry_at:%H:%M} UTC", retry_at) from error
        # A secondary limit (too many requests at once): a pause, not a spent quota.
        raise GitHubUnavailable("secondary rate limit", retry_at) from error
    except GithubException as error:
        remaining = _header(error.headers, "X-RateLimit-Remaining")
        if error.status == 429 or (error.status == 403 and remaining == "0"):
            retry_at = retry_time(error.headers) or datetime.now(UTC) + timedelta(minutes=1)
            raise GitHubRateLimited(f"rate limited ({error.status})", retry_at) from error
        if error.status >= 500:
            raise GitHubUnavailable(f"GitHub answered {error.status}") from error
        if error.status == 401:
            log.error("GitHub refused GITHUB_TOKEN (401): the token is wrong or expired")
            raise GitHubUnavailable("GitHub refused our token (401)") from error
        raise
    except requests.exceptions.Timeout as error:
        raise GitHubUnavailable("GitHub did not answer in time") from error
    except requests.exceptions.RequestException as error:
        raise GitHubUnavailable(f"cannot reach GitHub ({type(error).__name__})") from error
