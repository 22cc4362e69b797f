"""Progress noticed without a click (a GitHub webhook, the background checks): tell them."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.course.learner import Learner
from bot.slack.delivery import Services, follow_up, open_dm, post

log = logging.getLogger(__name__)


def recheck_and_announce(
    services: Services, client: WebClient, learners: Iterable[Learner], source: str
) -> int:
    """Re-check each learner; post the success and next step to those who moved on."""
    moved = 0
    for learner in learners:
        answer = services.coach.recheck(learner, source)
        if answer is None:
            continue
        moved += 1
        try:
            channel = learner.dm_channel or open_dm(client, learner.slack_user_id)
            post(services, client, channel, answer)
            follow_up(services, client, answer)
        except SlackApiError as error:
            # Progress is saved; the learner sees it at their next visit or check.
            log.error(
                "could not tell learner %s of their progress: %s",
                learner.id,
                error.response.get("error"),
            )
    return moved


def announce_for_logins(
    services: Services, client: WebClient, logins: Iterable[str], source: str
) -> int:
    store = services.coach.store
    learners = [found for login in logins for found in store.find_by_login(login)]
    return recheck_and_announce(services, client, learners, source)
