"""Proving that a GitHub account is the learner's: GitHub's device flow, as the domain sees it.

The learner gets a one-time code, types it on GitHub's device page and clicks Authorize;
meanwhile the bot asks GitHub, at the interval GitHub sets, whether that happened. When it
did, GitHub says which account approved: that account is linked, whatever was typed before.
The GitHub side (:mod:`bot.github.device_flow`) implements :class:`AccountVerifier`; only
the device code waits in storage while the learner approves, never a token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from bot.course.replies import Answer

# Asking again after GitHub could not answer: at least this long, and twice the interval.
RETRY_AFTER_TROUBLE = timedelta(seconds=10)
# A code GitHub has not declared expired is given up this long after its expiry: a flow
# never outlives its code by much, even when GitHub cannot be reached.
EXPIRY_GRACE = timedelta(seconds=30)
# A code with less than this left is not shown again: a fresh one is asked for instead.
REUSE_AT_LEAST = timedelta(minutes=2)
# GitHub's documented increase of the interval on "slow_down" when it does not give one.
SLOW_DOWN_STEP = 5


@dataclass(frozen=True)
class DeviceCode:
    """What GitHub hands out to start a sign-in."""

    device_code: str  # the bot's secret for polling; deleted when the flow ends
    user_code: str  # what the learner types on GitHub, e.g. WDJB-MJHT
    expires_in: int  # seconds
    interval: int  # seconds to wait between two polls


class PollStatus(StrEnum):
    PENDING = "pending"  # not approved yet
    SLOW_DOWN = "slow_down"  # polled too often: wait longer from now on
    EXPIRED = "expired"  # the code's time is over (or GitHub no longer knows it)
    DENIED = "denied"  # the learner clicked Cancel on GitHub
    APPROVED = "approved"


@dataclass(frozen=True)
class PollResult:
    status: PollStatus
    interval: int | None = None  # slow_down: the interval GitHub asks for from now on
    login: str | None = None  # approved: the account that approved…
    user_id: int | None = None  # …and its id, which survives renames


class AccountVerifier(Protocol):
    """GitHub's device flow. Raises ``GitHubUnavailable`` when GitHub cannot be asked and
    ``DeviceFlowRefused`` when GitHub refuses the app itself."""

    def start(self) -> DeviceCode: ...

    def poll(self, device_code: str) -> PollResult:
        """One question to GitHub; on approval, the token is used once (who is it?) and
        forgotten before this returns."""
        ...


@dataclass(frozen=True)
class PendingFlow:
    """A sign-in waiting for the learner's approval, as storage keeps it."""

    learner_id: int
    device_code: str
    user_code: str
    interval: int  # seconds
    expires_at: datetime
    next_poll_at: datetime
    created_at: datetime

    def minutes_left(self, now: datetime) -> int:
        return max(1, -(-int((self.expires_at - now).total_seconds()) // 60))


@dataclass(frozen=True)
class FlowProgress:
    """Where a pending sign-in stands after a look at it."""

    answer: Answer | None  # set when the flow ended: linked, refused, expired, denied…
    next_poll_at: datetime | None  # when to ask GitHub again; None once there is no flow


def slowed_interval(current: int, asked: int | None) -> int:
    """The interval after a ``slow_down``: GitHub's number, or its documented +5 seconds."""
    return max(current + 1, asked) if asked else current + SLOW_DOWN_STEP


def same_login(a: str | None, b: str | None) -> bool:
    return bool(a and b and a.lower() == b.lower())


def renamed_fork(fork: str, old_login: str, new_login: str) -> str:
    """``old/practice`` → ``new/practice``: a renamed account's repositories follow it."""
    owner, _, name = fork.partition("/")
    return f"{new_login}/{name}" if same_login(owner, old_login) and name else fork
