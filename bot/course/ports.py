"""What the domain needs from the outside world, as small protocols.

Storage (:mod:`bot.storage`) and GitHub (:mod:`bot.github`) implement these; tests and
the console can plug in anything that fits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from bot.course.checks import CheckResult
from bot.course.learner import Learner, StepEvent, Tool
from bot.course.replies import Answer
from bot.course.reports import Report
from bot.course.review import Followed
from bot.course.verification import DeviceCode, PendingFlow


@dataclass(frozen=True)
class CheckContext:
    """Everything a check may look at besides GitHub itself."""

    login: str | None
    facts: Mapping[str, Any] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)


class StepChecker(Protocol):
    """Runs a named check against GitHub. Raises ``GitHubUnavailable`` when it cannot, and
    ``GitHubNotFound`` when something the check needs answers 404 (a renamed account)."""

    def run(self, check: str, context: CheckContext) -> CheckResult: ...

    def find_account(self, login: str) -> CheckResult: ...

    def depends_on_login(self, check: str) -> bool:
        """Whether a "not yet" of ``check`` may only mean that the account was renamed (the
        check looks for the learner's work by login). Renames that make the login answer 404
        raise ``GitHubNotFound`` instead."""
        ...

    def account_login(self, github_user_id: int) -> str | None:
        """The account's login today (it may have been renamed); None when it is gone."""
        ...


class LearnerStore(Protocol):
    def find(self, team_id: str, slack_user_id: str) -> Learner | None: ...

    def get(self, learner_id: int) -> Learner: ...

    def find_id(self, learner_id: int) -> Learner | None:
        """The learner with this id, or None (erased meanwhile)."""
        ...

    def find_by_login(self, github_login: str) -> list[Learner]: ...

    def find_by_user_id(self, github_user_id: int) -> list[Learner]: ...

    def holder_of(self, github_user_id: int, other_than: int) -> Learner | None:
        """Another learner (not erased) linked to this GitHub account, if any."""
        ...

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
        *,
        verified: bool | None = None,
    ) -> Learner:
        """Record a check in the history; when done, move from ``step_id`` to ``advance_to``.

        ``advance_to=None`` with a done result means the course is finished. The move only
        happens if the learner is still at ``step_id`` (never backwards, never twice).
        A result that learned a ``github_user_id`` links that account (``verified`` says
        whether the learner proved it is theirs); raises ``AccountTaken`` when another
        learner holds it.
        """
        ...

    def note(
        self,
        learner_id: int,
        step_id: str,
        kind: str,
        source: str,
        facts: Mapping[str, Any] | None = None,
    ) -> None:
        """Add a line to the history that is not a check ("welcomed", "stuck")."""
        ...

    def mark_verified(
        self, learner_id: int, login: str, github_user_id: int, step_id: str, source: str
    ) -> Learner:
        """The linked account is proven the learner's (under ``login``, its name today)."""
        ...

    def rename_account(
        self, learner_id: int, login: str, facts: Mapping[str, Any], step_id: str, source: str
    ) -> Learner:
        """The linked account was renamed on GitHub: its new login, and the facts that follow."""
        ...

    def unlink(self, learner_id: int, first_step: str, source: str) -> Learner:
        """No GitHub account any more: back to ``first_step`` (the history is kept)."""
        ...

    def release_link(self, learner_id: int, first_step: str, source: str) -> Learner:
        """A typed link given up because someone proved the account theirs (issue 13)."""
        ...

    # -- sign-ins waiting for the learner (device flow) --------------------------------

    def start_flow(self, learner_id: int, code: DeviceCode, now: datetime) -> PendingFlow:
        """Keep a new sign-in (replacing the learner's previous one, if any)."""
        ...

    def pending_flow(self, learner_id: int) -> PendingFlow | None: ...

    def pending_flows(
        self, due_before: datetime | None = None, limit: int = 200
    ) -> list[PendingFlow]:
        """Sign-ins waiting; ``due_before``: only those whose poll was due before then."""
        ...

    def claim_flow(self, learner_id: int, seen: datetime, until: datetime) -> bool:
        """Take the poll due at ``seen``, moving the next one to ``until`` (compare-and-set):
        of two processes, exactly one asks GitHub."""
        ...

    def reschedule_flow(
        self, learner_id: int, device_code: str, interval: int, next_at: datetime
    ) -> None:
        """The next poll of that sign-in (a newer sign-in of the learner is left alone)."""
        ...

    def end_flow(self, learner_id: int, device_code: str | None = None) -> None:
        """Forget the sign-in and its device code (only that one, when ``device_code`` is
        given: a newer sign-in of the learner stays)."""
        ...

    def move_back(
        self,
        learner_id: int,
        from_step: str,
        to_step: str,
        result: CheckResult,
        source: str,
        forget: Iterable[str] = (),
    ) -> Learner:
        """The work of ``to_step`` vanished (a deleted fork or branch): record ``result`` and
        go back to ``to_step`` (only from ``from_step``), forgetting the ``forget`` facts."""
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

    def record_feeling(
        self, learner_id: int, step_id: str, feeling: str | None, comment: str | None = None
    ) -> None:
        """How a step felt (easy, ok, hard) and/or one sentence about it."""
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

    def follows(self, cohort: str | None = None) -> dict[int, Followed]:
        """Each learner's pull request after it was opened (review state)."""
        ...

    def step_statistics(
        self, cohort: str | None = None
    ) -> tuple[dict[int, dict[str, str]], dict[str, dict[str, int]]]:
        """Feelings per learner and step; per step, how often each diagnosis came up."""
        ...

    def count_cohort(self, cohort: str) -> int:
        """Learners of ``cohort`` whose identity is not erased yet."""
        ...


class WatchStore(LearnerStore, Protocol):
    """What the background checks need from storage."""

    def due_to_watch(self, now: datetime, limit: int) -> list[Learner]: ...

    def claim_watch(self, learner_id: int, seen: datetime, then: datetime | None) -> bool: ...

    def schedule_watch(self, learner_id: int, at: datetime | None, etag: str | None) -> None: ...


@dataclass(frozen=True)
class Recorded:
    """What happened to a request being recorded to be answered later."""

    joined: bool  # the same request was already waiting: one answer serves both
    waiting: int  # requests waiting before this one (not yet taken), for "busy"


@dataclass(frozen=True)
class Taken:
    """A waiting request, taken by one answerer."""

    id: int
    kind: str
    body: dict[str, Any]
    busy: bool
    attempts: int  # tries so far, this one included
    created_at: datetime


class RequestBook(Protocol):
    """Requests acknowledged at once and answered later, away from the request threads."""

    def record(
        self,
        kind: str,
        body: Mapping[str, Any],
        *,
        team_id: str = "",
        user_id: str = "",
        key: str | None = None,
        busy_after: int | None = None,
        once: str | None = None,
    ) -> Recorded:
        """Keep the request; with ``key``, join the same request still waiting instead;
        with ``once``, record nothing if that key was seen before (a replay)."""
        ...

    def record_soon(
        self,
        kind: str,
        body: Mapping[str, Any],
        *,
        team_id: str = "",
        user_id: str = "",
        key: str | None = None,
        busy_after: int | None = None,
        once: str | None = None,
    ) -> Recorded:
        """As ``record``, without waiting for the storage's write lock (before Slack's
        acknowledgement): kept at once where nothing is lost, recorded within moments.
        Joins and replays are settled then; ``waiting`` is the latest count known."""
        ...

    def gather(self, older_than: float = 0.0) -> int:
        """Record what ``record_soon`` kept and is not recorded yet (the answerers do, every
        moment); returns how many requests."""
        ...

    def take(self, limit: int) -> list[Taken]:
        """Up to ``limit`` waiting requests, each for this answerer only."""
        ...

    def answered(self, request_id: int) -> None: ...

    def retry_at(self, request_id: int, moment: datetime) -> None: ...


# -- what the use cases need (bot.usecases): telling people, looking at GitHub cheaply ------


class Notifier(Protocol):
    """Tells people what they did not just ask for; the transport (Slack) decides how.

    ``tell`` returns False when the message could not be delivered (the transport logged why
    and kept what it could to retry); the others raise ``NotDelivered``.
    """

    def tell(self, answer: Answer, *, why: str) -> bool:
        """The answer to its learner, in their direct conversation with the bot."""
        ...

    def staff_digest(self, report: Report, now: datetime) -> None:
        """The weekly digest of ``report`` to the staff."""
        ...

    def resend(self, message: PendingMessage) -> None:
        """A message the transport refused earlier, once more."""
        ...


@dataclass(frozen=True)
class ProbeAnswer:
    """Whether a watched listing changed, with what is left of the hourly quota."""

    changed: bool
    etag: str | None
    remaining: int | None  # requests left this hour, from the answer's headers
    limit: int | None
    reset_at: datetime | None


class Prober(Protocol):
    """Cheap "has anything changed?" questions to GitHub (a 304 costs nothing)."""

    def url_for(self, check: str, context: CheckContext) -> str | None:
        """The one listing whose change means the step may be done; None: nothing to watch."""
        ...

    def probe(self, url: str, etag: str | None) -> ProbeAnswer:
        """Raises ``GitHubUnavailable`` when GitHub cannot answer."""
        ...


@dataclass(frozen=True)
class PendingMessage:
    """A message the transport could not deliver, kept to be retried."""

    id: int
    learner_id: int | None
    channel: str
    text: str
    blocks: list[Any]
    attempts: int
    next_at: datetime


class RetryQueue(Protocol):
    """Messages kept to be retried (the outbox)."""

    def due_messages(self, now: datetime, limit: int = 50) -> list[PendingMessage]: ...

    def claim_message(self, message_id: int, seen: datetime, until: datetime) -> bool: ...

    def message_sent(self, message_id: int) -> None: ...

    def message_failed(self, message_id: int, error: str) -> None: ...


class DeliveryLog(Protocol):
    """Keys of what was done once (a delivery, a scheduled digest): never twice."""

    def claim_delivery(self, key: str) -> bool:
        """True the first time ``key`` is seen."""
        ...

    def forget_deliveries_before(self, moment: datetime) -> int: ...
