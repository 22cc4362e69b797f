"""Block Kit for staff: the cohort report, one learner's history, the staff Home, the digest.

Pure functions. A report of any size fits Slack's limits: at most ``MAX_LINES`` people are
listed (those who need help first), the rest summarised with a pointer to the CSV.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.course.learner import StepEvent
from bot.course.messages import Messages
from bot.course.reports import LearnerLine, Report
from bot.course.review import Followed, PullState
from bot.slack.views.render import Message, button, context, escape, header, section

MAX_LINES = 40
LINES_PER_SECTION = 10
ACTION_STAFF_CSV = "prcoach_staff_csv"
ACTION_STAFF_NUDGE = "prcoach_staff_nudge"


class StaffViews:
    def __init__(self, messages: Messages, github_url: str, timezone: str) -> None:
        self.m = messages
        self.github_url = github_url
        self.zone = ZoneInfo(timezone)

    def _when(self, moment: datetime | None) -> str:
        return moment.astimezone(self.zone).strftime("%d/%m %H:%M") if moment else "—"

    def _login(self, login: str | None, lang: str, verified: bool = False) -> str:
        if not login:
            return self.m("report.not_linked", lang)
        state = self.m("report.verified" if verified else "report.unverified", lang)
        return f"<{self.github_url}/{escape(login)}|{escape(login)}> ({state})"

    def pull_state(self, followed: Followed | None, lang: str) -> str:
        """ " · PR #3: waiting for review since 02/12 10:00", or nothing."""
        if followed is None:
            return ""
        state = self.m(f"pr_state.{followed.state.value}", lang, since=self._when(followed.since))
        return self.m(
            "report.pull", lang, url=escape(followed.url), number=followed.number, state=state
        )

    def line(self, line: LearnerLine, report: Report, lang: str) -> str:
        learner = line.learner
        login = self._login(learner.github_login, lang, learner.verified)
        pull = self.pull_state(report.pulls.get(learner.id), lang)
        if line.step is None:
            return (
                self.m(
                    "report.line_finished",
                    lang,
                    user=learner.slack_user_id,
                    login=login,
                    since=self._when(learner.finished_at),
                )
                + pull
            )
        text = self.m(
            "report.line",
            lang,
            flag=self.m("report.stuck_flag", lang) if line.stuck else "",
            user=learner.slack_user_id,
            login=login,
            position=line.position,
            total=len(report.course.steps),
            step=line.step.title(lang),
            since=self._when(line.since),
            activity=self._when(learner.last_activity_at),
        )
        if line.stuck and learner.last_diagnosis:
            text += self.m("report.diagnosis", lang, diagnosis=escape(learner.last_diagnosis))
        return text + pull

    def pulls_summary(self, report: Report, lang: str) -> str:
        """How many pull requests are in each state (after they were opened)."""
        named = {line.learner.id for line in report.lines}
        counts = Counter(f.state for learner_id, f in report.pulls.items() if learner_id in named)
        return self.m(
            "report.pulls_summary",
            lang,
            waiting=counts[PullState.WAITING],
            changes=counts[PullState.CHANGES],
            approved=counts[PullState.APPROVED],
            merged=counts[PullState.MERGED],
            closed=counts[PullState.CLOSED],
        )

    def waiting_people(self, report: Report, lang: str) -> list[str]:
        """One line per pull request waiting for a review for too long, the longest first."""
        lines = []
        for line in report.waiting_for_review():
            followed = report.pulls[line.learner.id]
            lines.append(
                self.m(
                    "report.waiting_person",
                    lang,
                    user=line.learner.slack_user_id,
                    url=escape(followed.url),
                    number=followed.number,
                    since=self._when(followed.since),
                )
            )
        return lines

    def waiting(self, report: Report, lang: str, limit: int = 20) -> str:
        """Pull requests waiting for a review for too long: mentors act before people give up."""
        lines = self.waiting_people(report, lang)
        if not lines:
            return self.m("digest.nobody", lang)
        shown = "\n".join(lines[:limit])
        if len(lines) > limit:
            shown += "\n" + self.m("report.more", lang, count=len(lines) - limit)
        return shown

    def insights(self, report: Report, lang: str) -> str:
        """Per step: share of "hard", median time spent, most frequent problems."""
        none = self.m("digest.nobody", lang)
        lines = []
        for index, insight in enumerate(report.insights, start=1):
            step = report.course.step(insight.step_id)
            if insight.answers:
                hard = self.m(
                    "report.hard_share",
                    lang,
                    percent=round(100 * insight.hard / insight.answers),
                    answers=insight.answers,
                )
            else:
                hard = self.m("report.no_answers", lang)
            lines.append(
                self.m(
                    "report.step_insight",
                    lang,
                    position=index,
                    title=step.title(lang),
                    hard=hard,
                    median=self._duration(insight.median_minutes, lang),
                    diagnoses=", ".join(
                        f"`{escape(code)}` ×{count}" for code, count in insight.diagnoses
                    )
                    or none,
                )
            )
        return "\n".join(lines)

    def _duration(self, minutes: float | None, lang: str) -> str:
        if minutes is None:
            return "—"
        if minutes < 120:
            return self.m("report.minutes", lang, minutes=round(minutes))
        return self.m("report.hours", lang, hours=round(minutes / 60, 1))

    def summary(self, report: Report, lang: str, stuck_days: int) -> str:
        return self.m(
            "report.summary",
            lang,
            total=report.total,
            finished=report.finished,
            stuck=len(report.stuck),
            days=stuck_days,
        )

    def funnel(self, report: Report, lang: str) -> str:
        lines = [
            self.m(
                "report.funnel_line",
                lang,
                position=index,
                title=stage.step.title(lang),
                count=stage.at_step,
                reached=stage.reached,
            )
            for index, stage in enumerate(report.funnel, start=1)
        ]
        lines.append(self.m("report.finished_line", lang, count=report.finished))
        return "\n".join(lines)

    def report(
        self, report: Report, lang: str, stuck_days: int, *, only_stuck: bool = False
    ) -> Message:
        title = (
            self.m("report.title_cohort", lang, cohort=escape(report.cohort))
            if report.cohort
            else self.m("report.title", lang)
        )
        summary = self.summary(report, lang, stuck_days)
        if not report.total:
            text = self.m("report.empty", lang)
            return Message(f"{title}\n{text}", [header(title), section(text)])
        blocks: list[dict[str, Any]] = [header(title), context(summary)]
        if not only_stuck:
            blocks.append(
                section(f"*{self.m('report.funnel', lang)}*\n{self.funnel(report, lang)}")
            )
            blocks.append(
                section(f"*{self.m('report.steps_title', lang)}*\n{self.insights(report, lang)}")
            )
            days = report.review_wait_days
            blocks.append(
                section(
                    f"{self.pulls_summary(report, lang)}\n"
                    f"*{self.m('report.waiting_title', lang, days=days)}*\n"
                    f"{self.waiting(report, lang)}"
                )
            )
        lines = report.stuck if only_stuck else report.lines
        if only_stuck and not lines:
            blocks.append(section(self.m("report.no_stuck", lang)))
        shown = [self.line(line, report, lang) for line in lines[:MAX_LINES]]
        blocks.append({"type": "divider"})
        for start in range(0, len(shown), LINES_PER_SECTION):
            blocks.append(section("\n".join(shown[start : start + LINES_PER_SECTION])))
        if len(lines) > MAX_LINES:
            blocks.append(context(self.m("report.more", lang, count=len(lines) - MAX_LINES)))
        text = f"{title}\n{summary}\n" + "\n".join(shown[:10])
        return Message(text, blocks)

    def history(
        self, user_id: str, events: list[StepEvent] | None, report: Report, lang: str
    ) -> Message:
        if events is None:
            text = self.m("history.unknown", lang, user=user_id)
            return Message(text, [section(text)])
        title = self.m("history.title", lang, user=user_id)
        titles = {s.id: s.title(lang) for s in report.course.all_steps}
        lines = [
            self.m(
                "history.line",
                lang,
                when=self._when(e.created_at),
                step=titles.get(e.step_id, e.step_id),
                outcome=e.outcome,
                diagnosis=f" · {escape(e.diagnosis)}" if e.diagnosis else "",
                source=e.source,
            )
            + self._account(e, lang)
            for e in events[-60:]
        ]
        blocks = [section(f"*{title}*")]
        for start in range(0, len(lines), 20):
            blocks.append(section("\n".join(lines[start : start + 20])))
        return Message(f"{title}\n" + "\n".join(lines[-10:]), blocks)

    def _account(self, event: StepEvent, lang: str) -> str:
        """Which GitHub account a history line is about (links, relinks, unlinks, renames)."""
        login = event.facts.get("github_login")
        if not login or ("verified" not in event.facts and "github_user_id" not in event.facts):
            return ""
        previous = event.facts.get("previous_login")
        shown = (
            f"{escape(str(previous))} → {escape(str(login))}" if previous else escape(str(login))
        )
        if "verified" in event.facts:
            key = "report.verified" if event.facts["verified"] else "report.unverified"
            shown += f" ({self.m(key, lang)})"
        return f" · GitHub {shown}"

    def home(self, report: Report, lang: str, stuck_days: int) -> dict[str, Any]:
        blocks: list[dict[str, Any]] = [
            header(self.m("home.staff_title", lang)),
            context(self.summary(report, lang, stuck_days)),
            section(self.funnel(report, lang)),
            {
                "type": "actions",
                "elements": [
                    button(self.m("button.csv", lang), ACTION_STAFF_CSV, "all", style="primary"),
                ],
            },
            section(f"*{self.m('report.steps_title', lang)}*\n{self.insights(report, lang)}"),
            section(
                f"{self.pulls_summary(report, lang)}\n"
                f"*{self.m('report.waiting_title', lang, days=report.review_wait_days)}*\n"
                f"{self.waiting(report, lang, limit=10)}"
            ),
            {"type": "divider"},
            header(self.m("home.stuck", lang)),
        ]
        if not report.stuck:
            blocks.append(section(self.m("report.no_stuck", lang)))
        for line in report.stuck[:20]:
            blocks.append(
                {
                    **section(self.line(line, report, lang)),
                    "accessory": button(
                        self.m("button.nudge", lang), ACTION_STAFF_NUDGE, line.learner.slack_user_id
                    ),
                }
            )
        blocks.append(context(self.m("staff.help", lang)))
        return {"type": "home", "blocks": blocks[:100]}
