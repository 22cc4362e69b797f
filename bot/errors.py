"""The few errors PR Coach raises on purpose.

Every error a person can meet derives from :class:`PRCoachError`, so the serving layer
can turn any of them into a clear message instead of a traceback::

    PRCoachError
    ├── ConfigError          a setting is missing or malformed (the bot refuses to start)
    ├── CourseError          the course file is malformed (the bot refuses to start)
    └── GitHubUnavailable    GitHub is down, slow or unreachable: try again later
        └── GitHubRateLimited    our GitHub quota is spent until ``retry_at``
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
