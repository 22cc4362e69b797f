"""Progress noticed without a click (a GitHub webhook, the background checks): tell them.

Which learners a GitHub delivery concerns, whether they moved on, and what to tell them are
questions for the domain and its ports; the transport only delivers (:class:`Notifier`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.course.coach import Coach
from bot.course.learner import Learner
from bot.course.ports import CheckContext, LearnerStore, Notifier, Prober, RetryQueue, WatchStore
from bot.course.watching import budget_allows, next_look
from bot.errors import GitHubUnavailable, NotDelivered

log = logging.getLogger(__name__)


def recheck_and_announce(
    coach: Coach,
    notifier: Notifier,
    learners: Iterable[Learner],
    source: str,
    hints: Mapping[str, Any] | None = None,
) -> int:
    """Re-check each learner; tell those who moved on their success and next step (and
    vanished work, or what ``hints`` made certain)."""
    moved = 0
    for learner in learners:
        answer = coach.recheck(learner, source, hints)
        if answer is None:
            continue
        moved += 1
        # Progress is saved; if the message is refused, the learner sees it at their next visit.
        notifier.tell(answer, why="of their progress")
    return moved


def learners_for(
    store: LearnerStore, logins: Iterable[str], user_ids: Iterable[int] = ()
) -> list[Learner]:
    """The learners linked to these GitHub accounts: by id first (a renamed account is still
    found), then by login (links made before ids were kept)."""
    found: dict[int, Learner] = {}
    for user_id in user_ids:
        for learner in store.find_by_user_id(user_id):
            found.setdefault(learner.id, learner)
    for login in logins:
        for learner in store.find_by_login(login):
            found.setdefault(learner.id, learner)
    return list(found.values())


def announce_for_logins(
    coach: Coach,
    store: LearnerStore,
    notifier: Notifier,
    logins: Iterable[str],
    source: str,
    user_ids: Iterable[int] = (),
    *,
    hints: Mapping[str, Any] | None = None,
) -> int:
    """A GitHub delivery named these accounts: re-check their learners, tell who moved on.
    ``hints``: what the delivery tells the checks (the fork it announced)."""
    learners = learners_for(store, logins, user_ids)
    return recheck_and_announce(coach, notifier, learners, source, hints)


@dataclass
class WatchStats:
    looked: int = 0
    unchanged: int = 0  # answered 304: free
    rechecked: int = 0
    moved: int = 0
    skipped_for_budget: bool = False


def run_watch_job(
    coach: Coach,
    notifier: Notifier,
    prober: Prober,
    store: WatchStore,
    now: datetime,
    *,
    batch: int = 200,
) -> WatchStats:
    """Look at the learners who are due, cheaply; re-check and announce those who moved.

    Several workers may run this at once: each look is claimed in the database first, by
    moving the learner's next look forward (compare-and-set), so a look that finds nothing
    new costs one conditional request and one write.
    """
    stats = WatchStats()
    for learner in store.due_to_watch(now, batch):
        upcoming = next_look(learner, now)
        if learner.watch_at is None or not store.claim_watch(
            learner.id, learner.watch_at, upcoming
        ):
            continue  # another worker took it
        step = coach.current_step(learner)
        url = prober.url_for(
            step.check, CheckContext(learner.github_login, learner.facts, step.params)
        )
        if url is None:
            continue
        try:
            answer = prober.probe(url, learner.watch_etag)
        except GitHubUnavailable as trouble:
            # GitHub asked us to wait (or is down): give this look back and stop for now.
            retry = trouble.retry_at or now + timedelta(minutes=1)
            store.schedule_watch(learner.id, max(retry, now), learner.watch_etag)
            log.warning("background checks paused: %s", trouble.cause)
            break
        stats.looked += 1
        if not answer.changed:
            stats.unchanged += 1
        else:
            stats.rechecked += 1
            stats.moved += recheck_and_announce(coach, notifier, [learner], "watch")
            refreshed = store.get(learner.id)
            same_step = refreshed.current_step == learner.current_step
            store.schedule_watch(
                learner.id,
                next_look(refreshed, now),
                # A new step watches a new listing: its old ETag means nothing there.
                answer.etag if same_step else None,
            )
        if not budget_allows(answer.remaining, answer.limit):
            stats.skipped_for_budget = True
            log.warning("background checks stop: %s GitHub requests left", answer.remaining)
            break
    return stats


# How long to wait before each retry of a message the transport would not take; then give up.
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=12),
)


def run_outbox_job(notifier: Notifier, store: RetryQueue, now: datetime) -> int:
    """Retry the messages the transport did not take; returns how many got through."""
    delivered = 0
    for message in store.due_messages(now):
        attempt = message.attempts  # tries so far (the first one when it was posted)
        if attempt >= len(RETRY_DELAYS):
            log.error(
                "giving up on a message for learner %s after %d tries", message.learner_id, attempt
            )
            store.message_sent(message.id)  # removed: the log line is its record
            continue
        if not store.claim_message(message.id, message.next_at, now + RETRY_DELAYS[attempt]):
            continue
        try:
            notifier.resend(message)
        except NotDelivered as refused:
            store.message_failed(message.id, refused.reason)
            log.warning(
                "retry %d for learner %s failed: %s", attempt, message.learner_id, refused.reason
            )
            continue
        store.message_sent(message.id)
        delivered += 1
    if delivered:
        log.info("delivered %d message(s) the transport had refused earlier", delivered)
    return delivered
