"""GitHub's OAuth device flow: how a learner proves a GitHub account is theirs.

Two endpoints of GitHub's *website* (``GITHUB_URL``, not the API), per GitHub's docs
("Authorizing OAuth apps", device flow):

1. ``POST {GITHUB_URL}/login/device/code`` (``client_id``, ``scope``) hands out a
   ``device_code`` (the bot's), a ``user_code`` (the learner's, typed on
   ``{GITHUB_URL}/login/device``), ``expires_in`` and ``interval``.
2. ``POST {GITHUB_URL}/login/oauth/access_token`` (``client_id``, ``device_code``,
   ``grant_type=urn:ietf:params:oauth:grant-type:device_code``) answers, at most once per
   interval, ``authorization_pending``, ``slow_down`` (with a longer interval),
   ``expired_token``, ``access_denied``, or an access token once the learner approved.

No scope is asked for: the token can only say who the learner is. It is used once, for
``GET /user`` against ``GITHUB_API_URL``, and dropped: nothing but the login and the numeric
id leaves :meth:`GitHubDeviceFlow.poll`. Works with an OAuth App or a GitHub App that has
"Enable Device Flow" ticked, with no callback URL (so in Socket Mode too).
"""

from __future__ import annotations

import logging
from typing import Any

import requests
from github import Auth, BadCredentialsException, Github

from bot.course.verification import DeviceCode, PollResult, PollStatus
from bot.errors import DeviceFlowRefused, GitHubUnavailable
from bot.github.client import _options, translate_errors

log = logging.getLogger(__name__)

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"
_STATUSES = {
    "authorization_pending": PollStatus.PENDING,
    "slow_down": PollStatus.SLOW_DOWN,
    "expired_token": PollStatus.EXPIRED,
    "access_denied": PollStatus.DENIED,
    # GitHub no longer knows the code (used, or from before a restart of theirs): a new one.
    "incorrect_device_code": PollStatus.EXPIRED,
}


class GitHubDeviceFlow:
    """Implements :class:`bot.course.verification.AccountVerifier` against GitHub."""

    def __init__(
        self,
        web_url: str,
        api_url: str,
        client_id: str,
        *,
        timeout: float = 10.0,
        session: requests.Session | None = None,
    ) -> None:
        self.web_url = web_url.rstrip("/")
        self.api_url = api_url.rstrip("/")
        self.client_id = client_id
        self.timeout = timeout
        self._session = session or requests.Session()

    @property
    def verification_url(self) -> str:
        """Where the learner types the code: always GitHub's own page, never another."""
        return f"{self.web_url}/login/device"

    def start(self) -> DeviceCode:
        data = self._post("/login/device/code", {"client_id": self.client_id, "scope": ""})
        if "error" in data:
            raise DeviceFlowRefused(str(data["error"]))
        try:
            return DeviceCode(
                device_code=str(data["device_code"]),
                user_code=str(data["user_code"]),
                expires_in=int(data.get("expires_in") or 900),
                interval=max(1, int(data.get("interval") or 5)),
            )
        except (KeyError, TypeError, ValueError):
            raise GitHubUnavailable("GitHub's device code answer is incomplete") from None

    def poll(self, device_code: str) -> PollResult:
        data = self._post(
            "/login/oauth/access_token",
            {"client_id": self.client_id, "device_code": device_code, "grant_type": GRANT_TYPE},
        )
        token = data.get("access_token")
        if isinstance(token, str) and token:
            login, user_id = self._identify(token)
            return PollResult(PollStatus.APPROVED, login=login, user_id=user_id)
        error = str(data.get("error") or "")
        status = _STATUSES.get(error)
        if status is None:
            # unsupported_grant_type, incorrect_client_credentials, device_flow_disabled…
            raise DeviceFlowRefused(error or "no token and no error")
        interval = data.get("interval")
        return PollResult(status, interval=int(interval) if isinstance(interval, int) else None)

    def _identify(self, token: str) -> tuple[str, int]:
        """Who approved: ``GET /user`` with their token, which is then forgotten."""
        github = Github(base_url=self.api_url, auth=Auth.Token(token), **_options(self.timeout))
        try:
            with translate_errors():
                try:
                    user = github.get_user()
                    return str(user.login), int(user.id)
                except BadCredentialsException as error:
                    raise GitHubUnavailable("GitHub refused the learner's fresh token") from error
        finally:
            github.close()

    def _post(self, path: str, form: dict[str, str]) -> dict[str, Any]:
        try:
            response = self._session.post(
                f"{self.web_url}{path}",
                data=form,
                headers={"Accept": "application/json", "User-Agent": "pr-coach"},
                timeout=self.timeout,
            )
        except requests.exceptions.Timeout as error:
            raise GitHubUnavailable("GitHub did not answer in time") from error
        except requests.exceptions.RequestException as error:
            raise GitHubUnavailable(f"cannot reach GitHub ({type(error).__name__})") from error
        if response.status_code >= 500 or response.status_code == 429:
            raise GitHubUnavailable(f"GitHub answered {response.status_code}")
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            if response.ok:
                raise GitHubUnavailable("GitHub's answer is not JSON")
            raise DeviceFlowRefused(f"HTTP {response.status_code}")
        if not response.ok and "error" not in data:
            # 404: GitHub knows no app with this client id.
            raise DeviceFlowRefused(f"HTTP {response.status_code}")
        return data
