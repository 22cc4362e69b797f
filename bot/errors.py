"""The few errors PR Coach raises on purpose.

Every error a person can meet derives from :class:`PRCoachError`, so the serving layer
can turn any of them into a clear message instead of a traceback::

    PRCoachError
    ├── ConfigError          a setting is missing or malformed (the bot refuses to start)
    ├── CourseError          the course file is malformed (the bot refuses to start)
    ├── GitHubUnavailable    GitHub is down, slow or unreachable: try again later
    │   └── GitHubRateLimited    our GitHub quota is spent until ``retry_at``
    ├── GitHubNotFound       something a check needed is gone (a renamed or deleted account…)
    ├── GitHubAccountGone    the linked account answers neither by login nor by id: deleted
    ├── MissingFact          a check needs what an earlier step learned (the fork), not known
    ├── MalformedDelivery    a GitHub webhook delivery is not the JSON GitHub sends
    ├── NotDelivered         the transport (Slack) did not take a message: kept, or logged
    ├── DeviceFlowRefused    GitHub refuses the sign-in ("device flow"): the app's settings
    ├── AccountTaken         a GitHub account is linked to another Slack user already
    └── StorageUnavailable   the database cannot be read or written now (locked, read-only,
                             full, unreachable): nothing is lost, try again later
"""

from __future__ import annotations

from datetime import datetime


class PRCoachError(Exception):
    """Base class of every error PR Coach raises on purpose."""


class ConfigError(PRCoachError):
    """A setting is missing or malformed; ``variable`` names it."""

    def __init__(self, variable: str, message: str) -> None:
        super().__init__(message)
        self.variable = variable


class CourseError(PRCoachError):
    """The course file cannot be used; the message names the file, line and problem."""

    def __init__(self, path: str, line: int | None, problem: str) -> None:
        where = f"{path}, line {line}" if line else path
        super().__init__(f"{where}: {problem}")
        self.path = path
        self.line = line
        self.problem = problem


class GitHubUnavailable(PRCoachError):
    """GitHub could not answer (5xx, timeout, connection refused).

    ``retry_at`` is when trying again makes sense, when GitHub told us.
    """

    def __init__(self, cause: str, retry_at: datetime | None = None) -> None:
        super().__init__(cause)
        self.cause = cause
        self.retry_at = retry_at


class GitHubRateLimited(GitHubUnavailable):
    """Our GitHub request quota is spent until ``retry_at``."""


class GitHubNotFound(PRCoachError):
    """GitHub answered 404 for something a check needed (the learner's account, their fork).

    The coach follows the account by its id, which survives a rename, before giving up.
    """


class GitHubAccountGone(PRCoachError):
    """The linked account answers neither under its login nor under its id: deleted."""


class MissingFact(PRCoachError):
    """A check needs something an earlier step learned (the login, the fork) and it is not
    known: the learner's record is not where the course expects it."""


class MalformedDelivery(PRCoachError):
    """A GitHub webhook delivery's body is not the JSON GitHub sends."""


class NotDelivered(PRCoachError):
    """The transport (Slack) did not take a message; ``reason`` is its error code."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"not delivered: {reason}")
        self.reason = reason


class DeviceFlowRefused(PRCoachError):
    """GitHub refuses the device flow itself: a wrong ``GITHUB_OAUTH_CLIENT_ID``, or the app
    does not have Device Flow enabled. ``error`` is GitHub's error code (or the HTTP status)."""

    def __init__(self, error: str) -> None:
        super().__init__(f"GitHub refused the device flow: {error}")
        self.error = error


class AccountTaken(PRCoachError):
    """The GitHub account is linked to another Slack user already (one account, one person)."""

    def __init__(self, github_user_id: int) -> None:
        super().__init__(f"GitHub account {github_user_id} is linked to someone else")
        self.github_user_id = github_user_id


class StorageUnavailable(PRCoachError):
    """The database cannot be used right now (locked, read-only, disk full, unreachable)."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause
