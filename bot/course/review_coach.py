"""Coaching after the pull request is open: through review to the merge.

A use case (no click needed): a webhook delivery or the background checks call
:meth:`ReviewCoach.follow` for a learner; it reads the pull request on GitHub, compares it
with what was known, remembers the new state and returns what to tell the learner (or
None). Nothing here knows about Slack or GitHub's API.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from bot.course import replies as r
from bot.course.course import Course
from bot.course.learner import Learner
from bot.course.review import MERGED, Followed, PullView, news, next_look
from bot.course.text import Text
from bot.errors import GitHubNotFound, GitHubUnavailable

log = logging.getLogger(__name__)


class PullReader(Protocol):
    def read(self, number: int, after_review_id: int = 0) -> PullView:
        """Raises ``GitHubUnavailable`` or ``GitHubNotFound``."""
        ...


class FollowStore(Protocol):
    def followed(self, learner_id: int) -> Followed | None: ...

    def start_following(self, learner_id: int, number: int, url: str) -> Followed: ...

    def save_followed(
        self, learner_id: int, after: Followed, seen_revision: int, next_look: datetime | None
    ) -> bool: ...


class ReviewCoach:
    def __init__(
        self,
        course: Course,
        store: FollowStore,
        reader: PullReader,
        *,
        what_next: tuple[tuple[Text, str], ...] = (),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.course = course
        self.store = store
        self.reader = reader
        self.what_next = what_next
        self.clock = clock

    def follow(self, learner: Learner, source: str) -> r.Answer | None:
        """Look at the learner's pull request; the news to tell them, if any."""
        number = learner.facts.get("pr_number")
        if not isinstance(number, int) or learner.erased_at is not None:
            return None
        url = str(learner.facts.get("pr_url") or "")
        followed = self.store.followed(learner.id)
        if followed is None or followed.number != number:
            followed = self.store.start_following(learner.id, number, url)
        try:
            view = self.reader.read(number, followed.last_review_id)
        except GitHubUnavailable as trouble:
            log.info("pull request of learner %s not read (%s): later", learner.id, trouble.cause)
            return None
        except GitHubNotFound:
            log.info("pull request of learner %s is gone", learner.id)
            return None
        now = self.clock()
        told, after = news(followed, view, now)
        if not self.store.save_followed(
            learner.id, after, followed.revision, next_look(after, now)
        ):
            # Someone else (the webhook, another worker) recorded this news first and told it.
            return None
        if self.course.step_with_check("pull_request_merged") is not None:
            # The course's own merge step says it, with the course's end.
            told = tuple(n for n in told if n.kind != MERGED)
        if not told:
            return None
        log.info(
            "pull request of learner %s (%s): %s",
            learner.id,
            source,
            ", ".join(n.kind for n in told),
        )
        replies: list[r.Reply] = [r.ReviewNews(n.kind, n.facts, learner.tool) for n in told]
        if any(n.kind == MERGED for n in told) and self.what_next:
            replies.append(r.WhatNext(self.what_next))
        return r.Answer(learner, tuple(replies), changed=True)
