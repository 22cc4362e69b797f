"""What staff see about a cohort: the funnel, who is where since when, who is stuck.

Built from two queries' worth of data (the learners and, per learner and step, when it was
done), never one query per learner: a report of 10,000 learners stays a report.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.course.course import Course, Step
from bot.course.feelings import StepInsight
from bot.course.learner import Learner
from bot.course.review import Followed, waiting_too_long


@dataclass(frozen=True)
class LearnerLine:
    learner: Learner
    step: Step | None  # None once finished
    position: int  # 1-based; total + 1 once finished
    completed: Mapping[str, datetime]  # step id → when it was done
    stuck: bool

    @property
    def since(self) -> datetime:
        return self.learner.finished_at or self.learner.step_started_at


@dataclass(frozen=True)
class FunnelStage:
    step: Step
    at_step: int  # learners whose current step this is
    reached: int  # learners who got at least this far


@dataclass(frozen=True)
class Report:
    course: Course
    cohort: str | None
    generated_at: datetime
    funnel: tuple[FunnelStage, ...]
    finished: int
    lines: tuple[LearnerLine, ...]  # people who need help first (not the erased)
    total: int  # everyone counted, the erased included
    # After the pull request is open: its state per learner id (see bot/course/review.py).
    pulls: Mapping[int, Followed] = field(default_factory=dict)
    # Per step: share of "hard", median time spent, most frequent diagnoses.
    insights: tuple[StepInsight, ...] = ()
    # Feelings per learner id and step id (for the CSV).
    feelings: Mapping[int, Mapping[str, str]] = field(default_factory=dict)
    review_wait_days: int = 3

    def waiting_for_review(self) -> tuple[LearnerLine, ...]:
        """People whose pull request waits for a review for more than ``review_wait_days``,
        the longest wait first."""
        waiting = [
            line
            for line in self.lines
            if line.learner.id in self.pulls
            and waiting_too_long(
                self.pulls[line.learner.id], self.generated_at, self.review_wait_days
            )
        ]
        return tuple(sorted(waiting, key=lambda line: self.pulls[line.learner.id].since))

    @property
    def anonymous(self) -> int:
        return self.total - len(self.lines)

    @property
    def stuck(self) -> tuple[LearnerLine, ...]:
        return tuple(line for line in self.lines if line.stuck)

    def finished_since(self, moment: datetime) -> tuple[LearnerLine, ...]:
        return tuple(
            line
            for line in self.lines
            if line.learner.finished_at and line.learner.finished_at >= moment
        )


def is_stuck(learner: Learner, now: datetime, stuck_after: timedelta) -> bool:
    """No progress for ``stuck_after``: the current step started that long ago."""
    if learner.finished or learner.paused:
        return False
    return now - learner.step_started_at >= stuck_after


def build_report(
    course: Course,
    learners: Iterable[Learner],
    completions: Mapping[int, Mapping[str, datetime]],
    *,
    now: datetime,
    stuck_after: timedelta,
    cohort: str | None = None,
    pulls: Mapping[int, Followed] | None = None,
    insights: tuple[StepInsight, ...] = (),
    feelings: Mapping[int, Mapping[str, str]] | None = None,
    review_wait_days: int = 3,
) -> Report:
    steps = course.steps
    ids = [s.id for s in steps]
    lines = []
    for learner in learners:
        if learner.finished:
            step, position = None, len(steps) + 1
        elif learner.current_step in ids:
            position = ids.index(learner.current_step) + 1
            step = steps[position - 1]
        else:  # a step since removed from the course: count them at the start
            step, position = steps[0], 1
        done = completions.get(learner.id, {})
        # Only steps before the current one count (a restart makes older dates moot).
        kept = {sid: when for sid, when in done.items() if sid in ids[: position - 1]}
        lines.append(
            LearnerLine(learner, step, position, kept, is_stuck(learner, now, stuck_after))
        )
    # Stuck first, then the furthest behind, then the longest on their step.
    lines.sort(key=lambda line: (not line.stuck, line.position, line.since))
    funnel = tuple(
        FunnelStage(
            step,
            sum(1 for line in lines if line.position == index),
            sum(1 for line in lines if line.position >= index),
        )
        for index, step in enumerate(steps, start=1)
    )
    finished = sum(1 for line in lines if line.step is None)
    # Erased identities still count in the funnel, never in the list of people.
    named = tuple(line for line in lines if line.learner.erased_at is None)
    return Report(
        course,
        cohort,
        now,
        funnel,
        finished,
        named,
        len(lines),
        pulls or {},
        insights,
        feelings or {},
        review_wait_days,
    )


CSV_BASE_HEADER = (
    "slack_user_id",
    "name",
    "github_login",
    "cohort",
    "current_step",
)
# New columns go at the end, so that staff's spreadsheets and scripts keep their places.
CSV_TAIL_HEADER = ("last_activity", "stuck", "last_diagnosis", "github_verified")
# After the pull request is open, then how each step felt (easy, ok, hard; empty: skipped).
CSV_PULL_HEADER = ("pr_state", "pr_state_since", "pr_url")


def report_csv(report: Report) -> bytes:
    """One row per learner. UTF-8 with a BOM so spreadsheets show accents right."""
    steps = report.course.steps
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            *CSV_BASE_HEADER,
            *(f"done_{s.id}" for s in steps),
            *CSV_TAIL_HEADER,
            *CSV_PULL_HEADER,
            *(f"feeling_{s.id}" for s in steps),
        ]
    )
    for line in report.lines:
        learner = line.learner
        row = [
            learner.slack_user_id,
            learner.name or "",
            learner.github_login or "",
            learner.cohort or "",
            line.step.id if line.step else "finished",
            *(_iso(line.completed.get(s.id)) for s in steps),
            _iso(learner.last_activity_at),
            "yes" if line.stuck else "no",
            learner.last_diagnosis or "",
            ("yes" if learner.verified else "no") if learner.github_login else "",
            *_pull_cells(report.pulls.get(learner.id)),
            *(report.feelings.get(learner.id, {}).get(s.id, "") for s in steps),
        ]
        # Every cell, whoever wrote it (a Slack name, a feeling, a link from GitHub).
        writer.writerow([inert_cell(str(cell)) for cell in row])
    return buffer.getvalue().encode("utf-8-sig")


def _pull_cells(followed: Followed | None) -> tuple[str, str, str]:
    if followed is None:
        return "", "", ""
    return followed.state.value, _iso(followed.since), followed.url


# A spreadsheet runs a cell that starts with one of these as a formula (OWASP, CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert_cell(value: str) -> str:
    """``value`` as a spreadsheet shows it but never runs it: a leading quote makes it text
    (OWASP's rule). A Slack name like ``=HYPERLINK(…)`` reads ``'=HYPERLINK(…)``."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def _iso(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else ""
