"""Staff actions that reach learners without their click: invitations, reminders, the digest
on demand, a cohort's purge, and the daily retention."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from bot.course.coach import Coach
from bot.course.intents import Action, Intent
from bot.course.learner import Learner
from bot.course.ports import DeliveryLog, Notifier
from bot.course.staff import Invitation, Invitee, StaffDesk

log = logging.getLogger(__name__)

# Slack retries within minutes and GitHub redeliveries are manual: a month is plenty.
DELIVERY_MEMORY = timedelta(days=30)


def welcome(coach: Coach, notifier: Notifier, learner: Learner) -> bool:
    """The welcome message that starts an invited person's journey."""
    answer = coach.handle(learner, Intent(Action.START), source="invite")
    return notifier.tell(answer, why="of their invitation")


def invite(
    desk: StaffDesk,
    coach: Coach,
    notifier: Notifier,
    invitees: Iterable[Invitee],
    cohort: str | None,
) -> Invitation:
    """Enroll the people not on the course yet, and welcome each of them."""
    outcome = desk.invite(invitees, cohort)
    for learner in outcome.enrolled:
        welcome(coach, notifier, learner)
    return outcome


def remind(coach: Coach, notifier: Notifier, learner: Learner) -> bool:
    """A friendly reminder in the learner's language, with their step and its buttons."""
    return notifier.tell(coach.reminder(learner), why="a reminder")


def post_digest(desk: StaffDesk, notifier: Notifier, now: datetime) -> None:
    """The digest now (``/prcoach digest now``); raises ``NotDelivered`` when refused."""
    notifier.staff_digest(desk.report(), now)


def run_retention(desk: StaffDesk, deliveries: DeliveryLog, now: datetime) -> tuple[int, int]:
    """The nightly clean-up: identities past the retention period erased, old delivery keys
    forgotten. Returns both counts."""
    erased = desk.apply_retention(now)
    forgotten = deliveries.forget_deliveries_before(now - DELIVERY_MEMORY)
    log.info(
        "retention: %d learners' identities erased; %d old delivery ids forgotten",
        erased,
        forgotten,
    )
    return erased, forgotten
