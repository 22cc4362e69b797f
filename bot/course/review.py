"""After "your pull request is open": what happened to it since we last looked, and what to say.

Pure domain. The GitHub adapter (:mod:`bot.github.pulls`) reads a :class:`PullView`; the
stored :class:`Followed` is what we knew before; :func:`news` compares the two and returns
what the learner should be told (a review asking for changes, a new commit, an approval, a
merge, a closure, conflicts) and what to remember now.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


class PullState(StrEnum):
    """What staff see of a learner's pull request."""

    WAITING = "waiting"  # for a (new) review, since ``Followed.since``
    CHANGES = "changes_requested"
    APPROVED = "approved"
    MERGED = "merged"
    CLOSED = "closed"


class ReviewKind(StrEnum):
    """GitHub's review states (``PENDING`` reviews are never shown to others)."""

    APPROVED = "APPROVED"
    CHANGES_REQUESTED = "CHANGES_REQUESTED"
    COMMENTED = "COMMENTED"
    DISMISSED = "DISMISSED"


@dataclass(frozen=True)
class Review:
    id: int
    reviewer: str
    kind: str  # a ReviewKind value (anything else is ignored)
    body: str
    commit_id: str | None
    # Inline comments of this review: the first one's text, and how many suggest a change.
    first_comment: str = ""
    suggestions: int = 0


@dataclass(frozen=True)
class PullView:
    """The pull request as GitHub shows it now."""

    number: int
    url: str
    state: str  # open / closed
    merged: bool
    head_sha: str
    # None: GitHub is still computing it (it says so, it does not mean "no conflicts").
    mergeable: bool | None
    reviews: tuple[Review, ...] = ()
    merged_by: str | None = None


@dataclass(frozen=True)
class Followed:
    """What we knew of the learner's pull request at the last look."""

    number: int
    url: str
    state: PullState
    since: datetime
    head_sha: str | None = None
    last_review_id: int = 0
    conflicts: bool = False
    reviewer: str | None = None
    revision: int = 0  # the stored row's version (compare-and-set)
    next_look_at: datetime | None = None
    etag: str | None = None


@dataclass(frozen=True)
class News:
    """One thing to tell the learner: a message key of ``review.*`` and its facts."""

    kind: str
    facts: dict[str, Any] = field(default_factory=dict)


# The kinds of news, in the order they are told when several come at once.
CHANGES_REQUESTED = "changes_requested"
COMMENTED = "commented"
UPDATED = "updated"
APPROVED = "approved"
CONFLICTS = "conflicts"
CONFLICTS_SOLVED = "conflicts_solved"
MERGED = "merged"
CLOSED = "closed"
REOPENED = "reopened"

QUOTE_LIMIT = 280
_SUGGESTION = re.compile(r"```\s*suggestion\b", re.IGNORECASE)
# Markdown that reads badly once flattened into one quoted line.
_FENCE = re.compile(r"```[^\n]*\n?")
_SPACE = re.compile(r"\s+")


def has_suggestion(text: str) -> bool:
    return bool(_SUGGESTION.search(text or ""))


def shorten(text: str, limit: int = QUOTE_LIMIT) -> str:
    """A review's text as one short line: fences gone, spaces collapsed, cut at a word."""
    flat = _SPACE.sub(" ", _FENCE.sub(" ", text or "")).strip()
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:.") + "…"


def _decisive(reviews: Sequence[Review]) -> Review | None:
    """The latest review that approves or asks for changes (comments decide nothing)."""
    for review in sorted(reviews, key=lambda r: r.id, reverse=True):
        if review.kind in (ReviewKind.APPROVED, ReviewKind.CHANGES_REQUESTED):
            return review
    return None


def state_of(view: PullView) -> PullState:
    if view.merged:
        return PullState.MERGED
    if view.state == "closed":
        return PullState.CLOSED
    decisive = _decisive(view.reviews)
    if decisive is None:
        return PullState.WAITING
    if decisive.kind == ReviewKind.APPROVED:
        return PullState.APPROVED
    # Changes were asked for: once the learner pushed a new commit, it waits again.
    if decisive.commit_id and decisive.commit_id != view.head_sha:
        return PullState.WAITING
    return PullState.CHANGES


def start(number: int, url: str, now: datetime) -> Followed:
    """A pull request just opened: waiting for its first review."""
    return Followed(number, url, PullState.WAITING, now)


def news(before: Followed, view: PullView, now: datetime) -> tuple[tuple[News, ...], Followed]:
    """What changed since ``before``, to tell the learner, and what to remember."""
    told: list[News] = []
    fresh = [r for r in sorted(view.reviews, key=lambda r: r.id) if r.id > before.last_review_id]
    state = state_of(view)
    pushed = bool(before.head_sha) and view.head_sha != before.head_sha
    if view.number != before.number:
        # Another pull request of the learner's (the first one closed): start over.
        before = Followed(view.number, view.url, PullState.WAITING, now)
        pushed = False
    base = {"pr_url": view.url, "number": view.number}

    if pushed and view.state == "open" and (before.last_review_id or fresh):
        reviewer = before.reviewer or next((r.reviewer for r in fresh), "")
        told.append(News(UPDATED, {**base, "reviewer": reviewer}))
    for review in fresh[-3:]:  # a burst of reviews: the latest three are plenty
        quote = shorten(review.body) or shorten(review.first_comment)
        facts = {
            **base,
            "reviewer": review.reviewer,
            "quote": quote,
            "suggestions": review.suggestions + (1 if has_suggestion(review.body) else 0),
        }
        if review.kind == ReviewKind.CHANGES_REQUESTED and not view.merged:
            # Already answered by a newer commit: nothing to act on any more.
            if not (review.commit_id and review.commit_id != view.head_sha and pushed):
                told.append(News(CHANGES_REQUESTED, facts))
        elif review.kind == ReviewKind.APPROVED and not view.merged:
            told.append(News(APPROVED, facts))
        elif review.kind == ReviewKind.COMMENTED and quote:
            told.append(News(COMMENTED, facts))

    if view.state == "open" and view.mergeable is False and not before.conflicts:
        told.append(News(CONFLICTS, base))
    elif view.state == "open" and view.mergeable is True and before.conflicts:
        told.append(News(CONFLICTS_SOLVED, base))
    if state is PullState.MERGED and before.state is not PullState.MERGED:
        told.append(News(MERGED, {**base, "merged_by": view.merged_by or ""}))
    elif state is PullState.CLOSED and before.state is not PullState.CLOSED:
        told.append(News(CLOSED, base))
    elif before.state is PullState.CLOSED and view.state == "open":
        told.append(News(REOPENED, base))

    last_reviewer = fresh[-1].reviewer if fresh else before.reviewer
    conflicts = (
        before.conflicts if view.mergeable is None else (view.mergeable is False)
    ) and view.state == "open"
    after = replace(
        before,
        number=view.number,
        url=view.url,
        state=state,
        since=before.since if state is before.state else now,
        head_sha=view.head_sha,
        last_review_id=max([before.last_review_id, *(r.id for r in fresh)]),
        conflicts=conflicts,
        reviewer=last_reviewer,
    )
    return tuple(told), after


# How often the background checks look at a pull request without a webhook: soon after
# something happened, then less and less; never once merged.
SCHEDULE: tuple[tuple[timedelta, timedelta], ...] = (
    (timedelta(hours=1), timedelta(minutes=1)),
    (timedelta(days=1), timedelta(minutes=10)),
    (timedelta(days=7), timedelta(hours=1)),
    (timedelta(days=45), timedelta(hours=6)),
)


def next_look(followed: Followed, now: datetime) -> datetime | None:
    if followed.state is PullState.MERGED:
        return None
    quiet = now - followed.since
    for quiet_below, every in SCHEDULE:
        if quiet < quiet_below:
            return now + every
    return None


def waiting_too_long(followed: Followed, now: datetime, days: int) -> bool:
    """Waiting for a review for more than ``days``: mentors should act."""
    return followed.state is PullState.WAITING and now - followed.since > timedelta(days=days)
