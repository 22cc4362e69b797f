"""Turn the coach's replies into Slack messages: pure functions, no I/O.

Every message carries a plain ``text`` beside its blocks, for notifications and screen
readers, and no state is shown by an emoji or a colour alone. Facts that come from
people or from GitHub are escaped (``&``, ``<``, ``>``) before they meet mrkdwn.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.course import replies as r
from bot.course.checks import Outcome
from bot.course.course import Course
from bot.course.facts import Site, learner_facts
from bot.course.glossary import Glossary
from bot.course.learner import Learner, Tool
from bot.course.messages import Messages

if TYPE_CHECKING:
    from bot.picture import Scene

# Slack's limits: 3,000 characters in a section, 150 in a header, 50 blocks a message.
SECTION_LIMIT = 3000
HEADER_LIMIT = 150
BLOCK_LIMIT = 50

ACTION_CHECK = "prcoach_check"
ACTION_HOW = "prcoach_how"
ACTION_STUCK = "prcoach_stuck"
ACTION_EXPLAIN = "prcoach_explain"
ACTION_CONFIRM = "prcoach_confirm"
ACTION_CANCEL = "prcoach_cancel"
ACTION_START = "prcoach_start"
# Signing in on GitHub (device flow): a new code, the typed login linked without proof, and
# the link to GitHub's device page (Slack still tells the bot about a click on a link).
ACTION_VERIFY = "prcoach_verify"
ACTION_LINK_UNVERIFIED = "prcoach_link_unverified"
ACTION_OPEN_GITHUB = "prcoach_open_github"
# "Is this you?" about the account of a typed login.
ACTION_THAT_IS_ME = "prcoach_that_is_me"
ACTION_NOT_ME = "prcoach_not_me"
# How a step felt: the three buttons (prcoach_feeling_easy/_ok/_hard; value: step id and
# feeling), and the optional sentence.
ACTION_FEELING = "prcoach_feeling"
ACTION_FEELING_COMMENT = "prcoach_feeling_comment"


@dataclass(frozen=True)
class Message:
    text: str
    blocks: list[dict[str, Any]]


@dataclass(frozen=True)
class Picture:
    """A drawn PNG with its text alternative (Slack's ``alt_text``) and title."""

    png: bytes
    alt_text: str
    title: str
    filename: str


# Which part of the picture each check builds.
_PICTURE_PARTS = (
    ("fork_exists", "fork"),
    ("branch_exists", "branch"),
    ("commit_on_branch", "commit"),
    ("pull_request_opened", "pull_request"),
)
ALT_TEXT_LIMIT = 1000  # Slack's limit for an image's alternative text


def escape(text: str) -> str:
    """Slack's three control characters; everything else is safe in mrkdwn."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """What the person typed: Slack sends ``&``, ``<``, ``>`` as entities."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _escaped(facts: Mapping[str, Any]) -> dict[str, str]:
    return {k: escape(str(v)) for k, v in facts.items()}


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip(text, SECTION_LIMIT)}}


def header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": _clip(text, HEADER_LIMIT)}}


def context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _clip(text, 2000)}]}


def button(
    label: str, action_id: str, value: str = "", style: str | None = None, url: str | None = None
) -> dict:
    element: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": _clip(label, 75)},
        "action_id": action_id,
        "value": value or action_id,
    }
    if style:
        element["style"] = style
    if url:
        element["url"] = url
    return element


def _date(iso_day: str, lang: str) -> str:
    """``2019-03-04`` as people write it: 04/03/2019 in French, 4 March 2019 in English."""
    try:
        day = datetime.strptime(iso_day, "%Y-%m-%d")
    except ValueError:
        return "?"
    if lang == "fr":
        return f"{day:%d/%m/%Y}"
    return f"{day.day} {day:%B %Y}"


def local_time(moment: datetime, layout: str = "{time}", fallback: str = "%H:%M") -> str:
    """A time Slack shows in each reader's own time zone (and language): ``<!date^…>``.

    The fallback after ``|`` is what a client that cannot format dates shows (and what a
    notification reads): the time in UTC, said so.
    """
    stamp = int(moment.timestamp())
    return f"<!date^{stamp}^{layout}|{moment.astimezone(UTC):{fallback}} UTC>"


class Renderer:
    """Renders replies in the learner's language, with their facts filled in."""

    def __init__(self, course: Course, glossary: Glossary, messages: Messages, site: Site) -> None:
        self.course = course
        self.glossary = glossary
        self.messages = messages
        self.site = site

    def answer(self, answer: r.Answer) -> Message:
        """All replies of one answer in one message, separated by dividers."""
        rendered = [self.reply(reply, answer.language, answer.learner) for reply in answer.replies]
        rendered = [message for message in rendered if message.blocks]  # pictures go apart
        blocks: list[dict[str, Any]] = []
        for message in rendered:
            if blocks:
                blocks.append({"type": "divider"})
            blocks.extend(message.blocks)
        text = "\n\n".join(m.text for m in rendered)
        return Message(_clip(text, 3900), blocks[:BLOCK_LIMIT])

    def reply(self, reply: r.Reply, lang: str, learner: Learner | None) -> Message:
        m = self.messages
        facts = _escaped(learner_facts(self.site, self.course, learner))
        match reply:
            case r.Welcome(returning=True):
                text = m("welcome_back", lang)
                return Message(text, [section(text)])
            case r.Welcome():
                text = self.course.welcome(lang, facts)
                return Message(text, [section(text)])
            case r.StepCard():
                return self.step_card(reply, lang, facts)
            case r.Success(step=step):
                done = m("result.done", lang, title=step.title(lang, facts))
                text = f"*{done}* {step.success(lang, facts)}"
                return Message(text, [section(text)])
            case r.Diagnosed():
                return self.diagnosed(reply, lang, facts, learner.tool if learner else Tool.WEB)
            case r.Finished():
                title = m("finished.title", lang)
                text = f"*{title}*\n{self.course.finish(lang, facts)}"
                return Message(text, [section(text)])
            case r.GitHubTrouble(retry_at=retry_at, rate_limited=limited):
                if limited:
                    at = local_time(retry_at) if retry_at else "?"
                    text = m("github.rate_limited", lang, time=at)
                elif retry_at:
                    text = m("github.trouble_until", lang, time=local_time(retry_at))
                else:
                    text = m("github.trouble", lang)
                return Message(text, [section(text)])
            case r.Checklist():
                return self.checklist(reply, lang, facts)
            case r.HowTo(step=step, tool=tool):
                title = m(f"how.heading.{tool.value}", lang)
                body = step.instructions(tool)(lang, facts)
                text = f"{step.title(lang, facts)} — {title}\n{body}"
                return Message(
                    text, [header(f"{step.title(lang, facts)} — {title}"), section(body)]
                )
            case r.Explanation(entry=entry):
                text = f"*{entry.term(lang)}*\n{entry.text(lang)}"
                return Message(text, [section(text)])
            case r.StuckHelp(step=step, staff_channel=channel):
                after = (
                    m("stuck.mentor_told", lang, channel=channel)
                    if channel
                    else m("stuck.no_channel", lang)
                )
                text = f"{step.stuck(lang, facts)}\n\n{after}"
                return Message(text, [section(text)])
            case r.Notice(key=key, facts=notice_facts):
                values = {**facts, **_escaped(notice_facts)}
                for name, value in notice_facts.items():
                    if name.endswith("_key"):  # a word of the catalogue, in the reader's language
                        values[name.removesuffix("_key")] = m(str(value), lang)
                if "step_id" in notice_facts:
                    values["title"] = self.course.step(str(notice_facts["step_id"])).title(
                        lang, facts
                    )
                text = m(key, lang, **values)
                return Message(text, [section(text)])
            case r.Confirm():
                return self.confirm(reply, lang)
            case r.DeviceCodeCard():
                return self.device_code(reply, lang)
            case r.AccountCard():
                return self.account_card(reply, lang)
            case r.FreshCode(key=key, facts=code_facts):
                text = m(key, lang, **_escaped(code_facts))
                actions = {
                    "type": "actions",
                    "block_id": "verify_again",
                    "elements": [
                        button(m("button.new_code", lang), ACTION_VERIFY, "new", style="primary")
                    ],
                }
                return Message(text, [section(text), actions])
            case r.Help(staff=staff):
                title = m("help.title", lang)
                body = m("help.learner", lang)
                if staff:
                    body += "\n\n" + m("staff.help", lang)
                return Message(f"{title}\n{body}", [header(title), section(body)])
            case r.Menu():
                text = m("menu", lang)
                return Message(text, [section(text)])
            case r.ReviewNews():
                return self.review_news(reply, lang, facts)
            case r.FeelingAsk(step=step):
                return self.feeling_ask(step.id, lang)
            case r.FeelingNoted(step=step, feeling=feeling):
                text = m(
                    "feeling.thanks",
                    lang,
                    feeling=m(f"feeling.{feeling}", lang),
                    title=step.title(lang, facts),
                )
                return self.feeling_comment(text, step.id, lang)
            case r.WhatNext(links=links):
                lines = [f"• <{escape(url)}|{escape(label(lang))}>" for label, url in links]
                text = m("what_next.title", lang) + "\n" + "\n".join(lines)
                return Message(text, [section(text)])
            case r.Diagram():
                return Message("", [])  # drawn and uploaded beside the message
        raise TypeError(f"no view for {type(reply).__name__}")

    def scene(self, learner: Learner, lang: str) -> Scene:
        """The picture of where ``learner`` is, as words (see :mod:`bot.picture`)."""
        from bot.picture import DONE, LATER, NEXT, Part, Scene

        m = self.messages
        facts = learner_facts(self.site, self.course, learner)
        ids = [s.id for s in self.course.steps]
        current = None if learner.finished else learner.current_step
        at = ids.index(current) if current in ids else len(ids)
        pr_number = str(learner.facts.get("pr_number") or "")
        names = {
            "fork": facts["fork"],
            "branch": facts["branch"],
            "commit": facts["expected_path"] if facts["branch"] else "",
            "pull_request": f"#{pr_number} → {facts['upstream']}" if pr_number else "",
        }
        parts = [
            Part(m("diagram.upstream", lang), facts["upstream"], DONE, m("diagram.done", lang))
        ]
        for check, key in _PICTURE_PARTS:
            step = self.course.step_with_check(check)
            if step is None:
                continue
            index = ids.index(step.id)
            state = DONE if index < at else NEXT if index == at else LATER
            name = names[key] if state == DONE or names[key] else m("diagram.not_yet", lang)
            if key == "commit" and state != DONE:
                name = facts["expected_path"] or m("diagram.not_yet", lang)
            parts.append(Part(m(f"diagram.{key}", lang), name, state, m(f"diagram.{state}", lang)))
        who = learner.name or facts["login"]
        title = m("diagram.title", lang) + (f" — {who}" if who else "")
        if current in ids:
            step_title = self.course.step(current).title(lang, _escaped(facts))
            subtitle = m("step.heading", lang, position=at + 1, total=len(ids), title=step_title)
        else:
            subtitle = m("finished.title", lang)
        if facts["login"]:
            subtitle = (
                f"GitHub : {facts['login']} · {subtitle}"
                if lang == "fr"
                else (f"GitHub: {facts['login']} · {subtitle}")
            )
        link = f"{m('diagram.proposes', lang)} {facts['upstream']}"
        return Scene(title, subtitle, tuple(parts), link)

    def picture(self, learner: Learner, lang: str) -> Picture:
        """The picture of where the learner is, drawn, with its text alternative."""
        from bot.picture import draw_png

        scene = self.scene(learner, lang)
        m = self.messages
        described = " ".join(
            m("diagram.alt_part", lang, label=p.label, name=p.name, state=p.state_label)
            for p in scene.parts
        )
        alt = m("diagram.alt", lang, title=scene.title, subtitle=scene.subtitle, parts=described)
        return Picture(
            draw_png(scene), _clip(alt, ALT_TEXT_LIMIT), scene.title, "prcoach-where-you-are.png"
        )

    def review_news(self, news: r.ReviewNews, lang: str, facts: Mapping[str, str]) -> Message:
        """What happened to the pull request, and what to do now, with a button to it."""
        m = self.messages
        values = {**facts, **_escaped(news.facts)}
        quote = str(news.facts.get("quote") or "")
        values["quote"] = f"> {escape(quote)}" if quote else m("review.no_text", lang)
        if news.kind == "approved" and not quote:
            values["quote"] = ""
        reviewer = str(news.facts.get("reviewer") or "")
        values["reviewer_told"] = (
            m("review.reviewer_told", lang, reviewer=escape(reviewer))
            if reviewer
            else m("review.reviewer_told_anyone", lang)
        )
        parts = [m(f"review.{news.kind}", lang, **values).rstrip()]
        if news.kind == "changes_requested":
            parts.append(m("review.how_to_answer", lang, **values))
            parts.append(m(f"review.update.{news.tool.value}", lang, **values))
        if news.kind in ("changes_requested", "commented"):
            suggested = int(news.facts.get("suggestions") or 0) > 0
            parts.append(
                m("review.suggestion" if suggested else "review.suggestion_tip", lang, **values)
            )
        text = "\n\n".join(parts)
        blocks: list[dict[str, Any]] = [section(part) for part in parts]
        url = str(news.facts.get("pr_url") or facts.get("pr_url") or "")
        if url:
            blocks.append(
                {
                    # No block_id: several news of one kind may share a message.
                    "type": "actions",
                    "elements": [
                        button(m("button.open_pr", lang), ACTION_OPEN_GITHUB, "pr", url=url)
                    ],
                }
            )
        return Message(text, blocks)

    def feeling_ask(self, step_id: str, lang: str) -> Message:
        m = self.messages
        text = m("feeling.ask", lang)
        buttons = [
            # One action_id per button: Slack wants them unique within a block.
            button(
                m(f"feeling.{feeling}", lang),
                f"{ACTION_FEELING}_{feeling}",
                json.dumps([step_id, feeling]),
            )
            for feeling in ("easy", "ok", "hard")
        ]
        return Message(
            text,
            [
                section(text),
                {"type": "actions", "block_id": f"feeling_{step_id}", "elements": buttons},
            ],
        )

    def feeling_comment(self, text: str, step_id: str, lang: str) -> Message:
        """Thanks, and a box for one optional sentence (Enter sends it)."""
        m = self.messages
        box = {
            "type": "input",
            "block_id": f"feeling_comment_{step_id}",
            "dispatch_action": True,
            "optional": True,
            "label": {"type": "plain_text", "text": _clip(m("feeling.comment_label", lang), 2000)},
            "element": {
                "type": "plain_text_input",
                "action_id": ACTION_FEELING_COMMENT,
                "max_length": 500,
                "dispatch_action_config": {"trigger_actions_on": ["on_enter_pressed"]},
            },
        }
        return Message(text, [section(text), box])

    def step_card(self, card: r.StepCard, lang: str, facts: Mapping[str, str]) -> Message:
        m, step = self.messages, card.step
        title = m(
            "step.heading",
            lang,
            position=card.position,
            total=card.total,
            title=step.title(lang, facts),
        )
        progress = m(
            "progress", lang, position=card.position, total=card.total, minutes=card.minutes_left
        )
        # The bar repeats what the words already say; it is never the only signal.
        bar = "▰" * (card.position - 1) + "▱" * (card.total - card.position + 1)
        summary = step.summary(lang, facts)
        buttons = [
            button(m("button.check", lang), ACTION_CHECK, step.id, style="primary"),
            button(m("button.how", lang), ACTION_HOW, step.id),
            button(m("button.stuck", lang), ACTION_STUCK, step.id),
        ]
        if step.terms:
            buttons.append(button(m("button.explain", lang), ACTION_EXPLAIN, step.terms[0]))
        if card.verify:
            # Proving the account on GitHub comes first, before the step's usual buttons.
            buttons.insert(0, button(m("button.verify", lang), ACTION_VERIFY, "start", "primary"))
            buttons[1].pop("style", None)
            summary = f"{summary}\n{m('verify.card_hint', lang)}"
        blocks = [
            header(title),
            context(f"{bar}  {progress}"),
            section(summary),
            {"type": "actions", "block_id": f"step_{step.id}", "elements": buttons},
        ]
        return Message(f"{title}\n{progress}\n{summary}", blocks)

    def device_code(self, card: r.DeviceCodeCard, lang: str) -> Message:
        """The code to type on GitHub's device page, a button to that page, and Check."""
        m = self.messages
        url = f"{self.site.github_url}/login/device"
        code = escape(card.user_code)
        parts = [
            m("verify.waiting" if card.waiting else "verify.title", lang, code=code),
            m("verify.steps", lang, url=escape(url), code=code, minutes=card.minutes_left),
        ]
        if card.typed_login:
            parts.append(m("verify.typed", lang, login=escape(card.typed_login)))
        if card.relink_from:
            parts.append(m("verify.relink", lang, login=escape(card.relink_from)))
        parts.append(m("verify.privacy", lang))
        text = "\n\n".join(parts)
        buttons = [
            button(m("button.open_github", lang), ACTION_OPEN_GITHUB, "open", "primary", url),
            button(m("button.check", lang), ACTION_CHECK, "verify"),
        ]
        if card.offer_unverified and card.typed_login:
            label = m("button.link_unverified", lang, login=card.typed_login)
            buttons.append(button(label, ACTION_LINK_UNVERIFIED, card.typed_login))
        actions = {"type": "actions", "block_id": "verify_code", "elements": buttons}
        return Message(text, [section(text), actions])

    def account_card(self, card: r.AccountCard, lang: str) -> Message:
        """The account a typed login names: picture, name, login, creation date; Yes / No."""
        m = self.messages
        login = escape(card.login)
        name = escape(card.name) if card.name else m("account.no_name", lang)
        created = _date(card.created_on, lang)
        parts = [
            m("account.question", lang, login=login),
            m("account.details", lang, name=name, login=login, created=created),
        ]
        if card.relink_from:
            parts.append(m("account.relink", lang, old=escape(card.relink_from)))
        text = "\n".join(parts)
        profile = section(text)
        if card.avatar_url.startswith("https://"):
            profile["accessory"] = {
                "type": "image",
                "image_url": card.avatar_url,
                "alt_text": _clip(card.login, 2000) or "avatar",
            }
        value = json.dumps({"asker": card.asker, "id": card.github_user_id})
        actions = {
            "type": "actions",
            "block_id": "is_this_you",
            "elements": [
                button(m("button.that_is_me", lang), ACTION_THAT_IS_ME, value, style="primary"),
                button(m("button.not_me", lang), ACTION_NOT_ME, value),
            ],
        }
        return Message(text, [profile, actions])

    def diagnosed(
        self,
        diagnosed: r.Diagnosed,
        lang: str,
        facts: Mapping[str, str],
        tool: Tool = Tool.WEB,
    ) -> Message:
        """A named diagnosis with its fix (for the learner's tool) and, when something is to
        be done, the step's buttons: nobody has to scroll up or type to check again."""
        m, step, result = self.messages, diagnosed.step, diagnosed.result
        title = step.title(lang, facts)
        if result.outcome is Outcome.DONE:
            heading = m("result.warning", lang)
        elif result.outcome is Outcome.MISTAKE:
            heading = m("result.mistake", lang, title=title)
        else:
            heading = m("result.not_yet", lang, title=title)
        hints = []
        for diagnosis in result.diagnoses:
            hint = step.hint(diagnosis.code, tool)
            values = {**facts, **_escaped(diagnosis.facts)}
            if not values.get("pr_url"):
                values["pr_url"] = facts["pr_url"]  # a blank link reads "<|label>"
            if "reviewers" in diagnosis.facts and not diagnosis.facts["reviewers"]:
                values["reviewers"] = m("review.no_reviewer", lang)
            hints.append(hint(lang, values) if hint else diagnosis.code)
        text = f"*{heading}*\n" + "\n\n".join(hints)
        blocks = [section(text)]
        if result.outcome is not Outcome.DONE:
            buttons = [
                button(m("button.check", lang), ACTION_CHECK, step.id, style="primary"),
                button(m("button.how", lang), ACTION_HOW, step.id),
                button(m("button.stuck", lang), ACTION_STUCK, step.id),
            ]
            blocks.append({"type": "actions", "block_id": f"fix_{step.id}", "elements": buttons})
        return Message(text, blocks)

    def checklist(self, checklist: r.Checklist, lang: str, facts: Mapping[str, str]) -> Message:
        m = self.messages
        lines = []
        for row in checklist.rows:
            title = row.step.title(lang, facts)
            if row.done and row.done_at:
                when = local_time(row.done_at, "{date_short} {time}", "%d/%m %H:%M")
                state = m("checklist.done_on", lang, when=when)
            elif row.done:
                state = m("checklist.done", lang)
            elif row.current:
                state = m("checklist.current", lang)
            else:
                state = m("checklist.todo", lang)
            optional = f" ({m('checklist.optional', lang)})" if row.step.optional else ""
            marker = "☑" if row.done else "▶" if row.current else "☐"
            lines.append(f"{marker} *{title}*{optional} — {state}")
        if checklist.login:
            account = m("checklist.linked_as", lang, login=escape(checklist.login))
            if checklist.verified is not None:
                state = "checklist.verified" if checklist.verified else "checklist.unverified"
                account += " " + m(state, lang)
        else:
            account = m("checklist.not_linked", lang)
        title = m("checklist.title", lang)
        body = "\n".join(lines)
        return Message(
            f"{title}\n{account}\n{body}", [header(title), context(account), section(body)]
        )

    def confirm(self, confirm: r.Confirm, lang: str) -> Message:
        m = self.messages
        text = m(confirm.key, lang, **_escaped(confirm.facts))
        value = json.dumps({"action": confirm.action, "argument": confirm.argument})
        actions = {
            "type": "actions",
            "block_id": f"confirm_{confirm.action}",
            "elements": [
                button(m("button.confirm", lang), ACTION_CONFIRM, value, style="danger"),
                button(m("button.cancel", lang), ACTION_CANCEL, "cancel"),
            ],
        }
        return Message(text, [section(text), actions])

    def staff_alert(self, alert: r.StaffAlert, lang: str) -> Message:
        m, learner = self.messages, alert.learner
        facts = learner_facts(self.site, self.course, learner)
        none = m("none", lang)
        first = m(
            "stuck.alert",
            lang,
            user=learner.slack_user_id,
            position=alert.position,
            total=alert.total,
            title=alert.step.title(lang, _escaped(facts)),
        )

        def link(url: str, label: str) -> str:
            return f"<{escape(url)}|{escape(label)}>" if url and label else none

        details = m(
            "stuck.alert_facts",
            lang,
            login=link(f"{self.site.github_url}/{facts['login']}", facts["login"]),
            fork=link(facts["fork_url"], facts["fork"]),
            branch=link(f"{facts['fork_url']}/tree/{facts['branch']}", facts["branch"]),
            pr=link(
                str(learner.facts.get("pr_url") or ""),
                "#" + str(learner.facts.get("pr_url") or "").rsplit("/", 1)[-1],
            ),
            diagnosis=escape(learner.last_diagnosis or none),
            since=local_time(learner.step_started_at, "{date_short} {time}", "%d/%m %H:%M"),
        )
        return Message(f"{first}\n{details}", [section(first), context(details)])

    def home(self, answer: r.Answer | None, lang: str) -> dict[str, Any]:
        """The App Home tab: the learner's checklist and current step, or a Start button."""
        m = self.messages
        blocks: list[dict[str, Any]] = [header(m("home.title", lang))]
        if answer is None:
            blocks.append(section(m("home.not_started", lang)))
            blocks.append(
                {
                    "type": "actions",
                    "elements": [
                        button(m("button.start", lang), ACTION_START, "start", style="primary")
                    ],
                }
            )
        else:
            blocks.extend(self.answer(answer).blocks)
        return {"type": "home", "blocks": blocks[:100]}
