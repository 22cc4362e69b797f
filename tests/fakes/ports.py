"""In-memory GitHub and transport for the fast tier: a scripted checker and prober, and a
notifier that records what it was asked to tell.

``GitHubState`` holds what "GitHub" knows: accounts (login → id) and, per login and check,
the result a check finds. The real checks are tested against the fake GitHub over HTTP
(``tests/github``); here only the coach's and the use cases' logic is under test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.course.checks import CheckResult
from bot.course.ports import CheckContext, PendingMessage, ProbeAnswer
from bot.course.replies import Answer
from bot.course.reports import Report
from bot.errors import GitHubNotFound, GitHubUnavailable, NotDelivered

# What each check says when the learner's work is not there yet (as bot.github.checks does).
_NOT_YET = {
    "fork_exists": "no_fork",
    "branch_exists": "no_branch",
    "commit_on_branch": "no_commit",
    "pull_request_opened": "no_pull_request",
    "pull_request_merged": "awaiting_review",
}


@dataclass
class GitHubState:
    accounts: dict[str, int] = field(default_factory=dict)  # login → id
    found: dict[tuple[str, str], CheckResult] = field(default_factory=dict)  # (login, check)
    down: bool = False
    calls: int = 0

    def add_account(self, login: str, user_id: int) -> None:
        self.accounts[login] = user_id

    def rename(self, old: str, new: str) -> None:
        self.accounts[new] = self.accounts.pop(old)

    def set(self, login: str, check: str, result: CheckResult) -> None:
        self.found[(login.lower(), check)] = result


class ScriptedChecker:
    """:class:`bot.course.ports.StepChecker` answering from a :class:`GitHubState`."""

    def __init__(self, state: GitHubState) -> None:
        self.state = state

    def _ask(self) -> None:
        self.state.calls += 1
        if self.state.down:
            raise GitHubUnavailable("GitHub is down (scripted)")

    def run(self, check: str, context: CheckContext) -> CheckResult:
        if check == "github_account":
            return self.find_account(context.login or "")
        self._ask()
        login = (context.login or "").lower()
        if login not in {known.lower() for known in self.state.accounts}:
            raise GitHubNotFound(f"{check}: no account {context.login}")
        return self.state.found.get((login, check)) or CheckResult.not_yet(_NOT_YET[check])

    def find_account(self, login: str) -> CheckResult:
        self._ask()
        for known, user_id in self.state.accounts.items():
            if known.lower() == login.lower():
                return CheckResult.done_with({"github_login": known, "github_user_id": user_id})
        return CheckResult.mistake("account_not_found", given=login)

    def depends_on_login(self, check: str) -> bool:
        return check in ("commit_on_branch", "pull_request_opened")

    def account_login(self, github_user_id: int) -> str | None:
        self._ask()
        return next((k for k, v in self.state.accounts.items() if v == github_user_id), None)


@dataclass
class ScriptedProber:
    """:class:`bot.course.ports.Prober`: "changed" for the logins a test says moved."""

    changed: set[str] = field(default_factory=set)
    remaining: int | None = 5000
    limit: int | None = 5000
    down: bool = False
    asked: list[str] = field(default_factory=list)

    def url_for(self, check: str, context: CheckContext) -> str | None:
        return f"/{context.login}/{check}" if context.login else None

    def probe(self, url: str, etag: str | None) -> ProbeAnswer:
        self.asked.append(url)
        if self.down:
            raise GitHubUnavailable("rate limited (scripted)")
        login = url.split("/")[1]
        return ProbeAnswer(login in self.changed, f'"{login}"', self.remaining, self.limit, None)


@dataclass
class RecordingNotifier:
    """:class:`bot.course.ports.Notifier` that keeps what it was asked to deliver."""

    told: list[tuple[Answer, str]] = field(default_factory=list)
    digests: list[tuple[Report, datetime]] = field(default_factory=list)
    resent: list[PendingMessage] = field(default_factory=list)
    refuse: bool = False  # the transport says no to everything

    def tell(self, answer: Answer, *, why: str) -> bool:
        if self.refuse:
            return False
        self.told.append((answer, why))
        return True

    def staff_digest(self, report: Report, now: datetime) -> None:
        if self.refuse:
            raise NotDelivered("channel_not_found")
        self.digests.append((report, now))

    def resend(self, message: PendingMessage) -> None:
        if self.refuse:
            raise NotDelivered("ratelimited")
        self.resent.append(message)

    def told_to(self, learner_id: int) -> list[Answer]:
        return [a for a, _ in self.told if a.learner is not None and a.learner.id == learner_id]
