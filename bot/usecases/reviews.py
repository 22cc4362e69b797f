"""Telling learners what happens to their pull request after it is open (review, new
commits, approval, merge, closure, conflicts), from a webhook delivery or the background
checks. The decisions are in :mod:`bot.course.review_coach`; this module only finds the
learners, posts, and schedules the looks.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.course.learner import Learner
from bot.course.ports import LearnerStore, Notifier, Prober
from bot.course.review import Followed, next_look
from bot.course.review_coach import ReviewCoach
from bot.course.watching import budget_allows
from bot.errors import GitHubUnavailable

log = logging.getLogger(__name__)


def follow_and_announce(
    reviews: ReviewCoach | None,
    store: LearnerStore,
    notifier: Notifier,
    learners: Iterable[Learner],
    source: str,
) -> int:
    """Look at each learner's pull request; tell those with news. Returns how many."""
    if reviews is None:
        return 0
    told = 0
    for learner in learners:
        fresh = store.find_id(learner.id)  # a recheck may have just moved them
        if fresh is None:
            continue
        answer = reviews.follow(fresh, source)
        if answer is None:
            continue
        told += 1
        notifier.tell(answer, why="about their pull request")
    return told


class FollowQueue(Protocol):
    def due_follows(self, now: datetime, limit: int) -> list[tuple[int, Followed]]: ...

    def claim_follow(self, learner_id: int, seen: datetime, until: datetime | None) -> bool: ...

    def schedule_follow(self, learner_id: int, at: datetime | None, etag: str | None) -> None: ...

    def followed(self, learner_id: int) -> Followed | None: ...


@dataclass
class ReviewStats:
    looked: int = 0
    unchanged: int = 0
    told: int = 0
    skipped_for_budget: bool = False


_ETAGS = "|"  # two ETags in one column: the pull request's, and its reviews'


def run_review_job(
    review_coach: ReviewCoach | None,
    learners: LearnerStore,
    notifier: Notifier,
    prober: Prober,
    store: FollowQueue,
    upstream: str,
    now: datetime,
    *,
    batch: int = 200,
) -> ReviewStats:
    """The background checks of open pull requests, for programmes without a webhook (and
    for deliveries a webhook missed). Each look is two conditional requests (the pull
    request, its reviews): free when nothing changed; the full read only when something did.
    """
    stats = ReviewStats()
    if review_coach is None:
        return stats
    for learner_id, followed in store.due_follows(now, batch):
        upcoming = next_look(followed, now)
        if followed.next_look_at is None or not store.claim_follow(
            learner_id, followed.next_look_at, upcoming
        ):
            continue  # another worker took it
        base = f"/repos/{upstream}/pulls/{followed.number}"
        old = (followed.etag or "").split(_ETAGS)
        try:
            pull = prober.probe(base, old[0] or None)
            reviews = prober.probe(
                f"{base}/reviews?per_page=100", old[1] if len(old) > 1 and old[1] else None
            )
        except GitHubUnavailable as trouble:
            retry = trouble.retry_at or now + timedelta(minutes=1)
            store.schedule_follow(learner_id, max(retry, now), followed.etag)
            log.warning("pull request checks paused: %s", trouble.cause)
            break
        stats.looked += 1
        etag = _ETAGS.join((pull.etag or "", reviews.etag or ""))[:200]
        if not (pull.changed or reviews.changed):
            stats.unchanged += 1
            store.schedule_follow(learner_id, upcoming, etag)
        else:
            learner = learners.find_id(learner_id)
            if learner is not None:
                stats.told += follow_and_announce(
                    review_coach, learners, notifier, [learner], "watch"
                )
            after = store.followed(learner_id)
            if after is not None and after.revision != followed.revision:
                # Read and recorded: the next look compares against these versions.
                store.schedule_follow(learner_id, after.next_look_at, etag)
        if not budget_allows(reviews.remaining, reviews.limit):
            stats.skipped_for_budget = True
            log.warning("pull request checks stop: %s GitHub requests left", reviews.remaining)
            break
    return stats
