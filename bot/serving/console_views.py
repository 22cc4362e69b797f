"""The coach's replies as terminal text: the console's own views, beside Slack's.

Nothing here goes through Slack's blocks: each reply is rendered from the course, the
glossary and the interface's words, with facts as they are (no ``&amp;`` to undo). The
course's light markup — ``*bold*``, ``_italic_``, ``<url|label>`` links, a few ``:emoji:`` —
becomes terminal text: bold where the terminal shows it, links as "label (url)". Every
header and every congratulation appears once. Times are the reader's own (this machine's
time zone).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.course import replies as r
from bot.course.checks import Outcome
from bot.course.course import Course
from bot.course.facts import Site, learner_facts
from bot.course.glossary import Glossary
from bot.course.learner import Learner, Tool
from bot.course.messages import Messages
from bot.course.reports import Report
from bot.slack.views.staff import StaffViews

_LINK = re.compile(r"<([^|<>]+)\|([^<>]+)>")
_BARE = re.compile(r"<((?:https?://|mailto:)[^<>]+)>")
_CHANNEL = re.compile(r"<#([A-Za-z0-9_-]+)(?:\|([^<>]*))?>")
_MENTION = re.compile(r"<@([A-Za-z0-9]+)(?:\|([^<>]*))?>")
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")
_EMOJI = {
    ":tada:": "🎉",
    ":wave:": "👋",
    ":warning:": "⚠️",
    ":white_check_mark:": "✅",
    ":sparkles:": "✨",
    ":rocket:": "🚀",
    ":bulb:": "💡",
    ":mag:": "🔎",
}
_SHORTCODE = re.compile(r":[a-z0-9_+-]+:")


@dataclass(frozen=True)
class Style:
    """How to show emphasis: ANSI bold in a terminal, nothing when output is a file."""

    ansi: bool = False

    def bold(self, text: str) -> str:
        return f"\033[1m{text}\033[0m" if self.ansi else text

    def dim(self, text: str) -> str:
        return f"\033[2m{text}\033[0m" if self.ansi else text


def terminal(text: str, style: Style = Style()) -> str:
    """The course's markup as terminal text."""
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", text)
    text = _BARE.sub(r"\1", text)
    text = _CHANNEL.sub(lambda m: f"#{m.group(2) or m.group(1)}", text)
    text = _MENTION.sub(lambda m: f"@{m.group(2) or m.group(1)}", text)
    text = _BOLD.sub(lambda m: style.bold(m.group(1)), text)
    text = _ITALIC.sub(r"\1", text)
    for code, glyph in _EMOJI.items():
        text = text.replace(code, glyph)
    return _SHORTCODE.sub("", text).replace("  ", " ")


def _day(iso_day: str, lang: str) -> str:
    """``2019-03-04`` as people write it: 04/03/2019 in French, 4 March 2019 in English."""
    try:
        day = datetime.strptime(iso_day, "%Y-%m-%d")
    except ValueError:
        return "?"
    return f"{day:%d/%m/%Y}" if lang == "fr" else f"{day.day} {day:%B %Y}"


def _local(moment: datetime) -> str:
    return moment.astimezone().strftime("%d/%m %H:%M")


class ConsoleRenderer:
    """Renders replies for a terminal, in the learner's language, with their facts."""

    def __init__(
        self,
        course: Course,
        glossary: Glossary,
        messages: Messages,
        site: Site,
        style: Style = Style(),
        staff_channel_name: str | None = None,
        timezone: str = "UTC",
    ) -> None:
        self.course, self.glossary, self.messages, self.site = course, glossary, messages, site
        self.style = style
        # Where alerts go, when this console shows a staff channel (the sandbox does).
        self.staff_channel_name = staff_channel_name
        # The staff's report lines are shared with Slack's views (names, links, flags).
        self.staff_views = StaffViews(messages, site.github_url, timezone)

    def answer(self, answer: r.Answer) -> str:
        """All replies of one answer, each once, separated by blank lines."""
        parts: list[str] = []
        for reply in answer.replies:
            text = self.reply(reply, answer.language, answer.learner)
            if text and text not in parts:
                parts.append(text)
        return "\n\n".join(parts)

    def _t(self, text: str) -> str:
        return terminal(text, self.style)

    def _heading(self, text: str) -> str:
        plain = terminal(text)
        return f"{self.style.bold(plain)}\n{'─' * min(len(plain), 72)}"

    def reply(self, reply: r.Reply, lang: str, learner: Learner | None) -> str:
        m = self.messages
        facts = learner_facts(self.site, self.course, learner)
        match reply:
            case r.Welcome(returning=True):
                return self._t(m("welcome_back", lang))
            case r.Welcome():
                return self._t(self.course.welcome(lang, facts))
            case r.StepCard():
                return self.step_card(reply, lang, facts)
            case r.Success(step=step):
                done = m("result.done", lang, title=step.title(lang, facts))
                return "✓ " + self._t(f"*{done}* {step.success(lang, facts)}")
            case r.Diagnosed():
                return self.diagnosed(reply, lang, facts, learner.tool if learner else Tool.WEB)
            case r.Finished():
                # The course's own words congratulate; the catalogue's title would say it twice.
                return self._t(self.course.finish(lang, facts))
            case r.GitHubTrouble(retry_at=retry_at, rate_limited=limited):
                if limited:
                    at = retry_at.astimezone().strftime("%H:%M") if retry_at else "?"
                    return self._t(m("github.rate_limited", lang, time=at))
                if retry_at:
                    at = retry_at.astimezone().strftime("%H:%M")
                    return self._t(m("github.trouble_until", lang, time=at))
                return self._t(m("github.trouble", lang))
            case r.Checklist():
                return self.checklist(reply, lang, facts)
            case r.HowTo(step=step, tool=tool):
                heading = f"{step.title(lang, facts)} — {m(f'how.heading.{tool.value}', lang)}"
                return f"{self._heading(heading)}\n{self._t(step.instructions(tool)(lang, facts))}"
            case r.Explanation(entry=entry):
                return self._t(f"*{entry.term(lang)}*\n{entry.text(lang)}")
            case r.StuckHelp(step=step, staff_channel=channel):
                if channel:
                    after = m("stuck.mentor_told", lang, channel=self.staff_channel_name or channel)
                else:
                    after = m("stuck.no_channel", lang)
                return self._t(f"{step.stuck(lang, facts)}\n\n{after}")
            case r.Notice(key=key, facts=notice_facts):
                values = {**facts, **{k: str(v) for k, v in notice_facts.items()}}
                for name, value in notice_facts.items():
                    if name.endswith("_key"):
                        values[name.removesuffix("_key")] = m(str(value), lang)
                if "step_id" in notice_facts:
                    step = self.course.step(str(notice_facts["step_id"]))
                    values["title"] = step.title(lang, facts)
                return self._t(m(key, lang, **values))
            case r.Confirm(key=key, facts=confirm_facts):
                question = self._t(m(key, lang, **{k: str(v) for k, v in confirm_facts.items()}))
                return f"{question}\n{self.style.dim(self._t(m('console.confirm', lang)))}"
            case r.DeviceCodeCard():
                return self.device_code(reply, lang)
            case r.AccountCard():
                return self.account_card(reply, lang)
            case r.FreshCode(key=key, facts=code_facts):
                return self._t(m(key, lang, **{k: str(v) for k, v in code_facts.items()}))
            case r.Help(staff=staff):
                body = m("help.learner", lang)
                if staff:
                    body += "\n\n" + m("staff.help", lang)
                return f"{self._heading(m('help.title', lang))}\n{self._t(body)}"
            case r.Menu():
                return self._t(m("menu", lang))
            case r.ReviewNews():
                return self.review_news(reply, lang, facts)
            case r.FeelingAsk():
                labels = " · ".join(m(f"feeling.{f}", lang) for f in ("easy", "ok", "hard"))
                typed = m("console.feeling", lang, labels=labels)
                return self._t(f"{m('feeling.ask', lang)}\n{self.style.dim(typed)}")
            case r.FeelingNoted(step=step, feeling=feeling):
                feeling_word = m(f"feeling.{feeling}", lang)
                title = step.title(lang, facts)
                return self._t(m("feeling.thanks", lang, feeling=feeling_word, title=title))
            case r.WhatNext(links=links):
                lines = [f"• {label(lang)} ({url})" for label, url in links]
                return self._t(m("what_next.title", lang) + "\n" + "\n".join(lines))
            case r.Diagram():
                return ""  # drawn into a file by the session (see Session.respond)
        raise TypeError(f"no console view for {type(reply).__name__}")

    def step_card(self, card: r.StepCard, lang: str, facts: Mapping[str, str]) -> str:
        m, step = self.messages, card.step
        heading = m(
            "step.heading",
            lang,
            position=card.position,
            total=card.total,
            title=step.title(lang, facts),
        )
        bar = "▰" * (card.position - 1) + "▱" * (card.total - card.position + 1)
        left = m("console.minutes_left", lang, minutes=card.minutes_left)
        summary = step.summary(lang, facts)
        lines = [self._heading(heading), self.style.dim(f"{bar}  {left}"), self._t(summary)]
        if card.verify:
            lines.append(self._t(m("verify.card_hint", lang)))
        lines.append(self.style.dim(self._t(m("console.actions", lang))))
        return "\n".join(lines)

    def diagnosed(
        self, diagnosed: r.Diagnosed, lang: str, facts: Mapping[str, str], tool: Tool = Tool.WEB
    ) -> str:
        m, step, result = self.messages, diagnosed.step, diagnosed.result
        title = step.title(lang, facts)
        if result.outcome is Outcome.DONE:
            heading, mark = m("result.warning", lang), "ℹ"
        elif result.outcome is Outcome.MISTAKE:
            heading, mark = m("result.mistake", lang, title=title), "✗"
        else:
            heading, mark = m("result.not_yet", lang, title=title), "…"
        hints = []
        for diagnosis in result.diagnoses:
            hint = step.hint(diagnosis.code, tool)  # the fix for the learner's tool
            values: dict[str, Any] = {**facts, **{k: str(v) for k, v in diagnosis.facts.items()}}
            hints.append(hint(lang, values) if hint else diagnosis.code)
        text = f"{mark} " + self._t(f"*{heading}*\n" + "\n\n".join(hints))
        if result.outcome is not Outcome.DONE:
            text += "\n" + self.style.dim(self._t(m("console.actions", lang)))
        return text

    def checklist(self, checklist: r.Checklist, lang: str, facts: Mapping[str, str]) -> str:
        m = self.messages
        lines = []
        for row in checklist.rows:
            title = row.step.title(lang, facts)
            if row.done and row.done_at:
                state = m("checklist.done_on", lang, when=_local(row.done_at))
            elif row.done:
                state = m("checklist.done", lang)
            elif row.current:
                state = m("checklist.current", lang)
            else:
                state = m("checklist.todo", lang)
            optional = f" ({m('checklist.optional', lang)})" if row.step.optional else ""
            marker = "☑" if row.done else "▶" if row.current else "☐"
            lines.append(f"{marker} {title}{optional} — {state}")
        if checklist.login:
            account = m("checklist.linked_as", lang, login=checklist.login)
            if checklist.verified is not None:
                state = "checklist.verified" if checklist.verified else "checklist.unverified"
                account += " " + m(state, lang)
        else:
            account = m("checklist.not_linked", lang)
        return "\n".join([self._heading(m("checklist.title", lang)), account, *lines])

    def review_news(self, news: r.ReviewNews, lang: str, facts: Mapping[str, str]) -> str:
        """What happened to the pull request, and what to do now."""
        m = self.messages
        values: dict[str, Any] = {**facts, **{k: str(v) for k, v in news.facts.items()}}
        quote = str(news.facts.get("quote") or "")
        values["quote"] = f"> {quote}" if quote else m("review.no_text", lang)
        if news.kind == "approved" and not quote:
            values["quote"] = ""
        reviewer = str(news.facts.get("reviewer") or "")
        values["reviewer_told"] = (
            m("review.reviewer_told", lang, reviewer=reviewer)
            if reviewer
            else m("review.reviewer_told_anyone", lang)
        )
        parts = [m(f"review.{news.kind}", lang, **values).rstrip()]
        if news.kind == "changes_requested":
            parts.append(m("review.how_to_answer", lang, **values))
            parts.append(m(f"review.update.{news.tool.value}", lang, **values))
        if news.kind in ("changes_requested", "commented"):
            suggested = int(news.facts.get("suggestions") or 0) > 0
            key = "review.suggestion" if suggested else "review.suggestion_tip"
            parts.append(m(key, lang, **values))
        return self._t("\n\n".join(parts))

    def account_card(self, card: r.AccountCard, lang: str) -> str:
        """ "Is this you?": the account a typed login names, answered by typing yes or no."""
        m = self.messages
        name = card.name or m("account.no_name", lang)
        parts = [
            m("account.question", lang, login=card.login),
            m(
                "account.details",
                lang,
                name=name,
                login=card.login,
                created=_day(card.created_on, lang),
            ),
        ]
        if card.relink_from:
            parts.append(m("account.relink", lang, old=card.relink_from))
        parts.append(self.style.dim(m("console.yes_no", lang)))
        return self._t("\n".join(parts))

    def device_code(self, card: r.DeviceCodeCard, lang: str) -> str:
        m = self.messages
        url = f"{self.site.github_url}/login/device"
        parts = [
            m("verify.waiting" if card.waiting else "verify.title", lang, code=card.user_code),
            m("verify.steps", lang, url=url, code=card.user_code, minutes=card.minutes_left),
        ]
        if card.typed_login:
            parts.append(m("verify.typed", lang, login=card.typed_login))
        if card.relink_from:
            parts.append(m("verify.relink", lang, login=card.relink_from))
        parts.append(m("verify.privacy", lang))
        return self._t("\n\n".join(parts))

    def staff_report(self, report: Report, lang: str, stuck_days: int, only_stuck: bool) -> str:
        """The cohort report a staff member reads (``/prcoach report [stuck]``)."""
        m, views = self.messages, self.staff_views
        title = m("report.title_cohort", lang, cohort=report.cohort) if report.cohort else (
            m("report.title", lang)
        )  # fmt: skip
        if not report.total:
            return f"{self._heading(title)}\n{self._t(m('report.empty', lang))}"
        parts = [self._heading(title), self._t(views.summary(report, lang, stuck_days))]
        if not only_stuck:
            parts.append(self._t(f"*{m('report.funnel', lang)}*\n{views.funnel(report, lang)}"))
        lines = report.stuck if only_stuck else report.lines
        if only_stuck and not lines:
            parts.append(self._t(m("report.no_stuck", lang)))
        parts += [self._t(views.line(line, report, lang)) for line in lines[:40]]
        if len(lines) > 40:
            parts.append(self._t(m("report.more", lang, count=len(lines) - 40)))
        return "\n".join(parts)

    def staff_alert(self, alert: r.StaffAlert, lang: str) -> str:
        """What the staff channel gets when someone is stuck (the sandbox shows it)."""
        m, learner = self.messages, alert.learner
        facts = learner_facts(self.site, self.course, learner)
        none = m("none", lang)
        first = m(
            "stuck.alert",
            lang,
            user=learner.slack_user_id,
            position=alert.position,
            total=alert.total,
            title=alert.step.title(lang, facts),
        )

        def link(url: str, label: str) -> str:
            return f"{label} ({url})" if url and label else none

        details = m(
            "stuck.alert_facts",
            lang,
            login=link(f"{self.site.github_url}/{facts['login']}", facts["login"]),
            fork=link(facts["fork_url"], facts["fork"]),
            branch=link(f"{facts['fork_url']}/tree/{facts['branch']}", facts["branch"]),
            pr=link(facts["pr_url"], "#" + facts["pr_url"].rsplit("/", 1)[-1]),
            diagnosis=learner.last_diagnosis or none,
            since=_local(learner.step_started_at),
        )
        return self._t(f"{first}\n{details}")
