"""The staff's desk: reports, CSV, one learner's history, invitations, reminders.

Who counts as staff is decided by the transport (Slack knows admins); every method here
assumes the caller already checked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.course.course import Course
from bot.course.feelings import step_insights
from bot.course.learner import Learner, StepEvent
from bot.course.ports import CohortStore
from bot.course.reports import Report, build_report, report_csv

log = logging.getLogger(__name__)

# Reminders only reach people in their working hours (the cohort's time zone).
DAY_STARTS, DAY_ENDS = 9, 19


@dataclass(frozen=True)
class Invitee:
    team_id: str
    user_id: str
    language: str
    name: str | None


@dataclass(frozen=True)
class Invitation:
    enrolled: tuple[Learner, ...]  # new: they get the welcome DM
    already: tuple[Learner, ...]  # were enrolled before: nothing changes
    failed: tuple[Invitee, ...] = ()  # could not be enrolled: staff are told who


class StaffDesk:
    def __init__(
        self,
        course: Course,
        store: CohortStore,
        *,
        stuck_after: timedelta,
        nudge_after: timedelta,
        timezone: str,
        retention: timedelta = timedelta(days=365),
        review_wait_days: int = 3,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.course = course
        self.store = store
        self.stuck_after = stuck_after
        self.nudge_after = nudge_after
        self.zone = ZoneInfo(timezone)
        self.retention = retention
        self.review_wait_days = review_wait_days
        self.clock = clock

    def report(self, cohort: str | None = None) -> Report:
        learners, completions = self.store.snapshot(cohort)
        feelings, diagnoses = self.store.step_statistics(cohort)
        started = {learner.id: learner.created_at for learner in learners}
        insights = step_insights(
            [s.id for s in self.course.steps], started, completions, feelings, diagnoses
        )
        return build_report(
            self.course,
            learners,
            completions,
            now=self.clock(),
            stuck_after=self.stuck_after,
            cohort=cohort,
            pulls=self.store.follows(cohort),
            insights=insights,
            feelings=feelings,
            review_wait_days=self.review_wait_days,
        )

    def csv(self, cohort: str | None = None) -> bytes:
        return report_csv(self.report(cohort))

    def history(self, team_id: str, user_id: str) -> tuple[Learner, list[StepEvent]] | None:
        learner = self.store.find(team_id, user_id)
        if learner is None:
            return None
        return learner, self.store.history(learner.id)

    def invite(self, invitees: Iterable[Invitee], cohort: str | None) -> Invitation:
        """Enrol each person; one that cannot be enrolled never stops the others."""
        enrolled, already, failed = [], [], []
        for person in invitees:
            try:
                existing = self.store.find(person.team_id, person.user_id)
                if existing:
                    already.append(existing)
                    continue
                learner = self.store.enroll(
                    person.team_id,
                    person.user_id,
                    person.language,
                    self.course.first.id,
                    name=person.name,
                    cohort=cohort,
                )
            except Exception as error:
                # Staff get the list of who was not enrolled; the cause is for the log.
                log.error("could not enrol an invited person: %s", type(error).__name__)
                failed.append(person)
                continue
            enrolled.append(learner)
        return Invitation(tuple(enrolled), tuple(already), tuple(failed))

    # -- reminders ----------------------------------------------------------------------

    def is_daytime(self, now: datetime | None = None) -> bool:
        local = (now or self.clock()).astimezone(self.zone)
        return local.weekday() < 5 and DAY_STARTS <= local.hour < DAY_ENDS

    def due_for_nudge(self, now: datetime | None = None) -> list[Learner]:
        """Learners idle for the nudge period who were not nudged during it."""
        now = now or self.clock()
        if not self.is_daytime(now):
            return []
        idle = self.store.idle_learners(now - self.nudge_after)
        return [
            learner
            for learner in idle
            if learner.nudged_at is None or learner.nudged_at < now - self.nudge_after
        ]

    def claim_nudge(self, learner: Learner, now: datetime | None = None) -> bool:
        """True for exactly one caller per learner and period, even across workers."""
        now = now or self.clock()
        return self.store.claim_nudge(learner.id, now, now - self.nudge_after)

    # -- personal data ------------------------------------------------------------------

    def cohort_size(self, cohort: str) -> int:
        """How many identities a purge of ``cohort`` would erase."""
        return self.store.count_cohort(cohort)

    def purge_cohort(self, cohort: str) -> int:
        """End of a programme: erase the identities of a cohort (counts are kept)."""
        return self.store.erase_identities(cohort=cohort)

    def apply_retention(self, now: datetime | None = None) -> int:
        """Erase the identity of learners inactive for longer than the retention period."""
        now = now or self.clock()
        return self.store.erase_identities(inactive_before=now - self.retention)
