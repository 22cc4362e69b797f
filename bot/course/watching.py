"""How often the background checks look at a learner: often right after they were shown
a step, then less and less while they are idle; never once finished or paused."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.course.learner import Learner

# (idle for less than …, look every …)
SCHEDULE: tuple[tuple[timedelta, timedelta], ...] = (
    (timedelta(minutes=30), timedelta(seconds=30)),
    (timedelta(hours=2), timedelta(minutes=2)),
    (timedelta(days=1), timedelta(minutes=15)),
    (timedelta(days=7), timedelta(hours=1)),
    (timedelta(days=30), timedelta(hours=6)),
)
# Keep this share of the hourly quota for the learners' own Check clicks.
RESERVE_SHARE = 0.2


def watched(learner: Learner) -> bool:
    return (
        not learner.finished
        and not learner.paused
        and learner.erased_at is None
        and learner.github_login is not None
    )


def next_look(learner: Learner, now: datetime) -> datetime | None:
    """When to look again, or None to stop (finished, paused, idle for a month)."""
    if not watched(learner):
        return None
    idle = now - max(learner.step_started_at, learner.last_activity_at)
    for idle_below, every in SCHEDULE:
        if idle < idle_below:
            return now + every
    return None


def budget_allows(remaining: int | None, limit: int | None) -> bool:
    """Never drive the quota to zero: leave a reserve for people clicking Check."""
    if remaining is None or limit is None:
        return True
    return remaining > limit * RESERVE_SHARE
