"""What the domain needs from the outside world, as small protocols.

Storage (:mod:`bot.storage`) and GitHub (:mod:`bot.github`) implement these; tests and
the console can plug in anything that fits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from bot.course.checks import CheckResult
from bot.course.learner import Learner, StepEvent, Tool


@dataclass(frozen=True)
class CheckContext:
    """Everything a check may look at besides GitHub itself."""

    login: str | None
    facts: Mapping[str, Any] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)


class StepChecker(Protocol):
    """Runs a named check against GitHub. Raises ``GitHubUnavailable`` when it cannot."""

    def run(self, check: str, context: CheckContext) -> CheckResult: ...

    def find_account(self, login: str) -> CheckResult: ...


class LearnerStore(Protocol):
    def find(self, team_id: str, slack_user_id: str) -> Learner | None: ...

    def get(self, learner_id: int) -> Learner: ...

    def find_by_login(self, github_login: str) -> list[Learner]: ...

    def enroll(
        self,
        team_id: str,
        slack_user_id: str,
        language: str,
        first_step: str,
        *,
        name: str | None = None,
        cohort: str | None = None,
    ) -> Learner:
        """Return the learner, creating them at ``first_step`` if they are new."""
        ...

    def update_profile(
        self,
        learner_id: int,
        *,
        language: str | None = None,
        tool: Tool | None = None,
        dm_channel: str | None = None,
    ) -> Learner: ...

    def record_check(
        self,
        learner_id: int,
        step_id: str,
        result: CheckResult,
        source: str,
        advance_to: str | None,
    ) -> Learner:
        """Record a check in the history; when done, move from ``step_id`` to ``advance_to``.

        ``advance_to=None`` with a done result means the course is finished. The move only
        happens if the learner is still at ``step_id`` (never backwards, never twice).
        """
        ...

    def note(self, learner_id: int, step_id: str, kind: str, source: str) -> None:
        """Add a line to the history that is not a check ("welcomed", "stuck")."""
        ...

    def restart(
        self, learner_id: int, first_step: str, *, keep_login: bool, source: str = "learner"
    ) -> Learner: ...

    def history(self, learner_id: int) -> list[StepEvent]: ...

    def set_paused(self, learner_id: int, paused: bool) -> Learner: ...

    def export(self, learner_id: int) -> dict[str, Any]:
        """Every row stored about the learner (right of access)."""
        ...

    def forget(self, learner_id: int) -> None:
        """Delete the learner and their history (right to erasure)."""
        ...


class CohortStore(LearnerStore, Protocol):
    """What the staff's views need on top of one learner's store."""

    def snapshot(
        self, cohort: str | None = None
    ) -> tuple[list[Learner], dict[int, dict[str, datetime]]]: ...

    def idle_learners(self, idle_since: datetime) -> list[Learner]: ...

    def claim_nudge(self, learner_id: int, now: datetime, not_since: datetime) -> bool: ...

    def erase_identities(
        self, *, inactive_before: datetime | None = None, cohort: str | None = None
    ) -> int: ...


class WatchStore(Protocol):
    """What the background checks need from storage."""

    def due_to_watch(self, now: datetime, limit: int) -> list[Learner]: ...

    def claim_watch(self, learner_id: int, seen: datetime, then: datetime | None) -> bool: ...

    def schedule_watch(self, learner_id: int, at: datetime | None, etag: str | None) -> None: ...
