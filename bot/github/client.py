"""A PyGithub client that fails fast and says why.

PyGithub's default retry sleeps until the rate limit resets (up to an hour) and a dead
connection surfaces as a ``requests`` error, not a ``GithubException``. We set our own
timeout and a short retry for 5xx, and :func:`translate_errors` turns every way GitHub
can fail into :class:`GitHubUnavailable` / :class:`GitHubRateLimited`, which the coach
explains to the learner ("try again at 14:05").

:func:`make_github_for` authenticates as the settings say: with ``GITHUB_TOKEN``, or as a
GitHub App installation (short-lived tokens that PyGithub renews before they expire).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import requests
from github import Auth, Github, GithubException, GithubIntegration, RateLimitExceededException
from urllib3.util.retry import Retry

from bot.errors import ConfigError, GitHubRateLimited, GitHubUnavailable

if TYPE_CHECKING:
    from bot.settings import Settings

log = logging.getLogger(__name__)


def make_github(api_url: str, token: str, *, timeout: float = 10.0) -> Github:
    return guard_answers(Github(base_url=api_url, auth=Auth.Token(token), **_options(timeout)))


def guard_answers(github: Github) -> Github:
    """Make a 200 answer that is not the JSON GitHub's API promises GitHub's trouble.

    A proxy's HTML error page, an empty or a truncated body answered 200 would otherwise
    reach the checks as an object without attributes (PyGithub wraps text as ``{"data":
    …}``) and read as a fact about the learner ("this is not a fork"). Every request of
    ``github`` goes through ``requestJsonAndCheck`` (lists and lazy objects too): it now
    raises :class:`GitHubUnavailable` for such answers. A conditional request may answer
    nothing (304 Not Modified).
    """
    requester = github.requester
    if getattr(requester, "_prcoach_guarded", False):
        return github
    original = requester.requestJsonAndCheck

    def checked(verb: str, url: str, *args: Any, **kwargs: Any) -> tuple[dict[str, Any], Any]:
        try:
            headers, data = original(verb, url, *args, **kwargs)
        except ValueError as error:  # JSON cut short: json.loads failed inside PyGithub
            raise GitHubUnavailable("GitHub's answer is not valid JSON") from error
        sent = kwargs["headers"] if "headers" in kwargs else args[1] if len(args) > 1 else None
        conditional = any(k.lower() == "if-none-match" for k in (sent or {}))
        if not _is_api_json(data, conditional=conditional):
            log.warning("GitHub answered %s %s with something that is not JSON", verb, url)
            raise GitHubUnavailable("GitHub's answer is not the JSON its API promises")
        return headers, data

    requester.requestJsonAndCheck = checked  # type: ignore[method-assign]
    requester._prcoach_guarded = True  # type: ignore[attr-defined]
    return github


def _is_api_json(data: Any, *, conditional: bool) -> bool:
    if data is None:
        return conditional  # 304 Not Modified has no body
    if isinstance(data, list):
        return True
    if not isinstance(data, dict):
        return False
    # What PyGithub makes of a text body: {"data": text}, plus the "url" it adds to GETs.
    return not (isinstance(data.get("data"), str) and set(data) <= {"data", "url"})


def _options(timeout: float) -> dict[str, Any]:
    """Timeout, retry and pacing shared by every client (token, app, installation)."""
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
    return {
        "timeout": int(max(1, timeout)),
        "retry": retry,
        "per_page": 100,
        # Our requests are few and spread out; PyGithub's 0.25 s pause would only slow
        # learners down.
        "seconds_between_requests": None,
        "user_agent": "pr-coach",
    }


# -- GitHub App --------------------------------------------------------------------------


def make_github_for(settings: Settings) -> Github:
    """The client the bot uses: with GITHUB_TOKEN, or as the GitHub App's installation.

    With an app, GitHub is asked at once (with the app's JWT) for the installation —
    GITHUB_APP_INSTALLATION_ID's, or the one on the practice repository — so that wrong
    credentials or an app that is not installed stop the bot at start with a
    :class:`ConfigError` saying what to fix. When GitHub cannot be reached then, the bot
    starts anyway and finds the installation at its first request.
    """
    if settings.github_app_id is None:
        return make_github(
            settings.github_api_url, settings.github_token.reveal(), timeout=settings.github_timeout
        )
    options = _options(settings.github_timeout)
    app = Auth.AppAuth(settings.github_app_id, settings.github_app_private_key.reveal())
    integration = GithubIntegration(auth=app, base_url=settings.github_api_url, **options)
    owner, name = settings.practice_repo.split("/", 1)

    def on_practice_repo() -> int:
        return integration.get_repo_installation(owner, name).id

    installation_id = settings.github_app_installation_id
    try:
        with translate_errors():
            try:
                if installation_id is not None:
                    integration.get_app_installation(installation_id)
                else:
                    installation_id = on_practice_repo()
            except GithubException as error:
                if _is_refusal(error):
                    raise _refused_at_start(error, settings) from None
                raise
    except GitHubUnavailable as error:
        log.warning(
            "cannot check the GitHub App's installation now (%s); trying again at the first "
            "request",
            error.cause,
        )
    else:
        log.info("GitHub App %s, installation %s", settings.github_app_id, installation_id)
    auth = _InstallationAuth(app, installation_id, on_practice_repo)
    return guard_answers(Github(base_url=settings.github_api_url, auth=auth, **options))


class _InstallationAuth(Auth.AppInstallationAuth):
    """PyGithub's installation auth (it renews the token 20 s before it expires), made safe.

    * GitHub refusing a token (app uninstalled or suspended, key revoked) raises
      :class:`GitHubUnavailable`: left as PyGithub's 404 it would read as a fact about the
      learner ("you have no fork").
    * Without an installation ID (GitHub was unreachable at start), ``find`` looks it up at
      the first request.
    """

    def __init__(
        self, app: Auth.AppAuth, installation_id: int | None, find: Callable[[], int]
    ) -> None:
        super().__init__(app, installation_id or 0)
        self._find = find if installation_id is None else None

    @property
    def token(self) -> str:
        try:
            if self._find is not None:
                self._installation_id, self._find = self._find(), None
            return super().token
        except GithubException as error:
            if not _is_refusal(error):
                raise  # 5xx, rate limit: translate_errors says "try again later"
            log.error(
                "GitHub refused the GitHub App an installation token (%s %s): is the app still "
                "installed on the practice repository, with a valid private key?",
                error.status,
                _message(error),
            )
            raise GitHubUnavailable(f"GitHub refused the app's token ({error.status})") from error


def _is_refusal(error: GithubException) -> bool:
    """401, 403 or 404 meaning "not with these credentials", not a rate limit."""
    if isinstance(error, RateLimitExceededException) or error.status not in (401, 403, 404):
        return False
    return _header(error.headers, "X-RateLimit-Remaining") != "0"


def _message(error: GithubException) -> str:
    data = error.data if isinstance(error.data, dict) else {}
    return str(data.get("message") or "no message")


def _refused_at_start(error: GithubException, settings: Settings) -> ConfigError:
    app_id, repo = settings.github_app_id, settings.practice_repo
    if error.status == 401:
        return ConfigError(
            "GITHUB_APP_PRIVATE_KEY",
            f"GitHub refused the GitHub App's credentials ({_message(error)}). "
            f"GITHUB_APP_ID ({app_id}) and GITHUB_APP_PRIVATE_KEY must belong to the same app: "
            "check the App ID on the app's page → General, or generate a new private key there. "
            "This machine's clock must also be right.",
        )
    if error.status == 404 and settings.github_app_installation_id is not None:
        return ConfigError(
            "GITHUB_APP_INSTALLATION_ID",
            f"GITHUB_APP_INSTALLATION_ID is {settings.github_app_installation_id}, which is not "
            f"an installation of the GitHub App {app_id}. Leave it empty to use the app's "
            f"installation on {repo}, or copy it again: the account's Settings → GitHub Apps → "
            "Configure next to the app, the number at the end of the address.",
        )
    if error.status == 404:
        owner = repo.split("/", 1)[0]
        return ConfigError(
            "GITHUB_APP_ID",
            f"The GitHub App {app_id} is not installed on PRACTICE_REPO {repo} (or that "
            f"repository does not exist). Install it: the app's page → Install App → {owner} → "
            f"All repositories, or Only select repositories → {repo}. Then start the bot again.",
        )
    return ConfigError(
        "GITHUB_APP_ID",
        f"GitHub refused the GitHub App {app_id} ({error.status}: {_message(error)}). Check on "
        "the account's Settings → GitHub Apps that the app is installed and not suspended.",
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
            log.error(
                "GitHub refused our token (401): GITHUB_TOKEN, or the GitHub App's installation "
                "token, is wrong, expired or revoked"
            )
            raise GitHubUnavailable("GitHub refused our token (401)") from error
        raise
    except requests.exceptions.Timeout as error:
        raise GitHubUnavailable("GitHub did not answer in time") from error
    except requests.exceptions.RequestException as error:
        raise GitHubUnavailable(f"cannot reach GitHub ({type(error).__name__})") from error
