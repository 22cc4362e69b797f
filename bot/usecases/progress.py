"""Progress noticed without a click (a GitHub webhook, the background checks): tell them."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.course.learner import Learner
from bot.course.ports import CheckContext, WatchStore
from bot.course.watching import budget_allows, next_look
from bot.errors import GitHubUnavailable
from bot.github.probes import Prober
from bot.slack.delivery import Services, tell

log = logging.getLogger(__name__)


def recheck_and_announce(
    services: Services,
    client: WebClient,
    learners: Iterable[Learner],
    source: str,
    hints: Mapping[str, Any] | None = None,
) -> int:
    """Re-check each learner; post the success and next step to those who moved on (and
    vanished work, or what ``hints`` made certain)."""
    moved = 0
    for learner in learners:
        answer = services.coach.recheck(learner, source, hints)
        if answer is None:
            continue
        moved += 1
        # Progress is saved; if Slack refuses, the learner sees it at their next visit.
        tell(services, client, answer, why="of their progress")
    return moved


def announce_for_logins(
    services: Services,
    client: WebClient,
    logins: Iterable[str],
    source: str,
    user_ids: Iterable[int] = (),
    *,
    hints: Mapping[str, Any] | None = None,
) -> int:
    """Re-check the learners linked to these accounts: by id first (a renamed account is
    still found), then by login (links made before ids were kept). ``hints``: what the
    delivery tells the checks (the fork it announced)."""
    store = services.coach.store
    found: dict[int, Learner] = {}
    for user_id in user_ids:
        for learner in store.find_by_user_id(user_id):
            found.setdefault(learner.id, learner)
    for login in logins:
        for learner in store.find_by_login(login):
            found.setdefault(learner.id, learner)
    return recheck_and_announce(services, client, found.values(), source, hints)


@dataclass
class WatchStats:
    looked: int = 0
    unchanged: int = 0  # answered 304: free
    rechecked: int = 0
    moved: int = 0
    skipped_for_budget: bool = False


def run_watch_job(
    services: Services,
    client: WebClient,
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
    coach = services.coach
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
            stats.moved += recheck_and_announce(services, client, [learner], "watch")
            refreshed = coach.store.get(learner.id)
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


# How long to wait before each retry of a message Slack would not take; then give up.
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=12),
)


class RetryQueue(Protocol):
    def due_messages(self, now: datetime, limit: int = 50) -> list[Any]: ...

    def claim_message(self, message_id: int, seen: datetime, until: datetime) -> bool: ...

    def message_sent(self, message_id: int) -> None: ...

    def message_failed(self, message_id: int, error: str) -> None: ...


def run_outbox_job(client: WebClient, store: RetryQueue, now: datetime) -> int:
    """Retry the messages Slack did not take; returns how many got through."""
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
            client.chat_postMessage(
                channel=message.channel, text=message.text, blocks=message.blocks or None
            )
        except (SlackApiError, OSError) as error:
            reason = (
                error.response.get("error")
                if isinstance(error, SlackApiError)
                else (type(error).__name__)
            )
            store.message_failed(message.id, str(reason))
            log.warning("retry %d for learner %s failed: %s", attempt, message.learner_id, reason)
            continue
        store.message_sent(message.id)
        delivered += 1
    if delivered:
        log.info("delivered %d message(s) Slack had refused earlier", delivered)
    return delivered
