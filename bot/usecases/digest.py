"""The staff's view of the whole cohort, on a schedule: the weekly digest and the reminders.

``run_digest_job`` and ``run_nudge_job`` are what the worker (:mod:`bot.serving.worker`)
runs. Both are safe with several workers: the digest of one scheduled time is claimed in the
database before it is posted, and each reminder is claimed per learner and period.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from bot.course.coach import Coach
from bot.course.ports import DeliveryLog, Notifier
from bot.course.staff import StaffDesk
from bot.errors import NotDelivered
from bot.usecases.staff import remind

log = logging.getLogger(__name__)


def run_digest_job(
    desk: StaffDesk,
    notifier: Notifier,
    deliveries: DeliveryLog,
    due: datetime,
    *,
    staff_channel: str | None,
) -> bool:
    """The scheduled digest of ``due``: posted by whichever worker claims it first.

    ``due`` is the schedule's time (the same in every worker), not the clock's. True when
    this call posted it. The claim comes first, so a digest is never posted twice; if
    posting then fails, that week's digest is lost, and the log says how to post it by hand.
    """
    if not staff_channel:
        log.warning("digest of %s skipped: STAFF_CHANNEL is not set", due.isoformat())
        return False
    # In UTC: the same instant gives the same key whatever time zone ``due`` is written in.
    key = f"job:digest:{due.astimezone(UTC).isoformat()}"
    if not deliveries.claim_delivery(key):
        log.info("digest of %s already posted by another worker", due.isoformat())
        return False
    try:
        notifier.staff_digest(desk.report(), due)
    except NotDelivered as refused:
        log.error(
            "digest of %s not posted (%s); staff can post it with `/prcoach digest now`",
            due.isoformat(),
            refused.reason,
        )
        return False
    return True


def run_nudge_job(desk: StaffDesk, coach: Coach, notifier: Notifier, now: datetime) -> int:
    """Remind every learner due for a nudge at ``now``; returns how many were reminded.

    Each reminder is claimed first (exactly one worker wins a learner for a period); a
    failure for one learner is logged and the others still get theirs.
    """
    due = desk.due_for_nudge(now)
    sent = failed = 0
    for learner in due:
        if not desk.claim_nudge(learner, now):
            continue  # another worker reminded them during this period
        try:
            told = remind(coach, notifier, learner)
        except Exception:
            # One learner's failure (the database, a bug) must not cost the others theirs.
            log.exception("could not remind learner %s", learner.id)
            told = False
        sent, failed = sent + told, failed + (not told)
    level = logging.INFO if due else logging.DEBUG
    log.log(level, "reminders: %d sent, %d failed, %d due", sent, failed, len(due))
    return sent
