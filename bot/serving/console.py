"""``python -m bot console``: the same course in a terminal, for one learner.

Staff preview a course they wrote; developers walk the flow without Slack. It drives the
very same :class:`~bot.course.coach.Coach` as Slack does, against the configured GitHub,
and renders its replies with the console's own views (:mod:`bot.serving.console_views`).
Log lines go to a file, never into the conversation. The sandbox
(:mod:`bot.serving.sandbox`) runs this session against a simulated GitHub.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from bot.course import replies as r
from bot.course.coach import Person
from bot.course.intents import STAFF_ACTIONS, Action, Intent, parse_command, parse_message
from bot.course.text import normalize
from bot.serving.console_views import ConsoleRenderer, Style
from bot.settings import Settings
from bot.storage.database import migrate
from bot.wiring import Parts, build

QUIT = frozenset({"quit", "exit", "quitter", "q"})
YES = frozenset({"yes", "y", "oui", "o"})
# Typing these is already a decision: no Yes/Cancel round trip in a terminal.
_TYPED_IS_CONFIRMED = (Action.RESTART, Action.LINK, Action.UNLINK)

# A line the session lets someone else answer first (the sandbox's GitHub actions): the text
# to show, or None when the line is for the coach.
Extra = Callable[[str, str], str | None]


class Session:
    """One learner talking to the coach in a terminal."""

    def __init__(
        self,
        parts: Parts,
        renderer: ConsoleRenderer,
        *,
        language: str,
        stdin: TextIO,
        stdout: TextIO,
        files: Path,
        extra: Extra | None = None,
        show_staff_channel: bool = False,
        person: Person | None = None,
    ) -> None:
        self.coach = parts.services.coach
        self.renderer = renderer
        self.stdin, self.stdout = stdin, stdout
        self.files = files
        self.extra = extra
        # The sandbox shows what the staff channel gets; a plain console has no channel, so
        # it never says a mentor was told.
        self.show_staff_channel = show_staff_channel
        self.person = person or Person("console", "learner")
        self.learner = self.coach.learner(self.person, lambda: language)
        self.pending: r.Confirm | None = None
        # "How did this step feel?" waiting for a typed easy / OK / hard (the step's id).
        self.feeling_step: str | None = None
        # After it: one optional sentence about that step, typed as the next line.
        self.comment_step: str | None = None
        # The learner's picture is drawn as Slack's views draw it, into a file here.
        self.pictures = parts.services.renderer.picture
        self.drawn = 0
        # "Is this you?" waiting for a typed yes or no (there are no buttons here).
        self.question: str | None = None
        # Whoever runs the console runs the bot: the staff's commands are theirs too.
        self.staff = True
        self.desk = parts.services.desk
        self.settings = parts.services.settings

    @property
    def language(self) -> str:
        return self.coach.learner(self.person).language

    def show(self, text: str) -> None:
        print(text, file=self.stdout, flush=True)

    def say(self, key: str, **facts: object) -> None:
        self.show(self.renderer._t(self.renderer.messages(key, self.language, **facts)))

    def run(self, opening: list[str] | None = None) -> int:
        for text in opening or []:
            self.show(text + "\n")
        self.respond(Intent(Action.START))
        while True:
            print("\n> ", end="", file=self.stdout, flush=True)
            line = self.stdin.readline()
            if not line or line.strip().lower() in QUIT:
                self.show("")
                return 0
            text = line.strip()
            if not text:
                continue
            self.show("")
            self.handle(text)

    def handle(self, text: str) -> None:
        if self.pending is not None:
            pending, self.pending = self.pending, None
            if normalize(text) in YES:
                self.respond(Intent(Action(pending.action), pending.argument, confirmed=True))
            else:
                self.say("console.cancelled")
            return
        if self.comment_step is not None:
            step, self.comment_step = self.comment_step, None
            learner = self.coach.learner(self.person)
            said = parse_message(text, expecting_login=self.coach.expects_login(learner))
            if said.action in (Action.MENU, Action.SMALL_TALK):  # not a request: the sentence
                self.respond(Intent(Action.FEELING_COMMENT, json.dumps([step, text])))
                return
        feeling = self._feeling(text)
        if feeling is not None and self.feeling_step is not None:
            step, self.feeling_step = self.feeling_step, None
            self.respond(Intent(Action.FEELING, json.dumps([step, feeling])))
            return
        if self.extra is not None:
            shown = self.extra(text, self.language)
            if shown is not None:
                self.show(shown)
                return
        learner = self.coach.learner(self.person)
        if text.startswith("/prcoach"):
            intent = parse_command(text.removeprefix("/prcoach"))
        else:
            intent = parse_message(text, expecting_login=self.coach.expects_login(learner))
        if intent.action in _TYPED_IS_CONFIRMED and learner.github_login:
            intent = Intent(intent.action, intent.argument, confirmed=True)
        if self.question is not None and intent.action is Action.SMALL_TALK:
            # The answer to "Is this you?" (yes / no), typed instead of clicked.
            answered = Action.THAT_IS_ME if intent.argument == "yes" else Action.NOT_ME
            intent = Intent(answered, self.question)
        if intent.action in STAFF_ACTIONS:
            self.staff_command(intent)
            return
        self.respond(intent)

    def staff_command(self, intent: Intent) -> None:
        """``report [stuck|csv]`` and ``digest now``, as staff see them; the others act on
        Slack people and say so."""
        lang, words = self.language, intent.argument.lower().split()
        if intent.action is Action.REPORT:
            if "csv" in words:
                path = self.files / "prcoach-report.csv"
                path.write_bytes(self.desk.csv())
                self.say("console.file_saved", path=path)
                return
            report = self.desk.report()
            days = self.settings.stuck_after_days
            self.show(self.renderer.staff_report(report, lang, days, "stuck" in words))
        elif intent.action is Action.DIGEST:
            from bot.slack.views.chart import funnel_chart

            report = self.desk.report()
            title = self.renderer.messages("digest.chart_title", lang)
            path = self.files / "prcoach-funnel.png"
            path.write_bytes(funnel_chart(report, lang, title))
            days = self.settings.stuck_after_days
            self.show(self.renderer.staff_report(report, lang, days, only_stuck=False))
            self.say("console.file_saved", path=path)
        else:
            self.say("console.slack_only")

    def _feeling(self, text: str) -> str | None:
        """``easy`` / ``ok`` / ``hard`` as typed, in either language, or None."""
        said = normalize(text)
        for feeling in ("easy", "ok", "hard"):
            words = {feeling, *(normalize(self.renderer.messages(f"feeling.{feeling}", lang))
                                for lang in ("en", "fr"))}  # fmt: skip
            if said in words:
                return feeling
        return None

    def respond(self, intent: Intent) -> None:
        learner = self.coach.learner(self.person)
        answer = self.coach.handle(learner, intent, "console")
        answer = replace(
            answer,
            replies=tuple(
                r.Help(staff=self.staff) if isinstance(reply, r.Help) else reply
                for reply in answer.replies
            ),
        )
        if not self.show_staff_channel:
            answer = _nobody_told(answer)
        self.show(self.renderer.answer(answer))
        if answer.learner is not None and any(isinstance(x, r.Diagram) for x in answer.replies):
            # The picture Slack would show: a file to open, with its description.
            picture = self.pictures(self.coach.learner(self.person), answer.learner.language)
            self.drawn += 1
            path = self.files / f"where-you-are-{self.drawn}.png"
            path.write_bytes(picture.png)
            self.show(self.renderer.style.dim(f"[{picture.title}: {path}]\n[{picture.alt_text}]"))
        for alert in answer.staff_alerts:
            self.show("\n" + self.renderer.style.dim(self.renderer._t(
                self.renderer.messages("console.staff_alert", self.language)
            )))  # fmt: skip
            self.show(self.renderer.staff_alert(alert, self.language))
        for out in answer.files:
            path = self.files / out.filename
            path.write_bytes(out.content)
            self.say("console.file_saved", path=path)
        confirms = [reply for reply in answer.replies if isinstance(reply, r.Confirm)]
        self.pending = confirms[-1] if confirms else None
        noted = [reply for reply in answer.replies if isinstance(reply, r.FeelingNoted)]
        self.comment_step = noted[-1].step.id if noted else None
        asks = [reply for reply in answer.replies if isinstance(reply, r.FeelingAsk)]
        if asks:  # the latest question stands until answered, as Slack's buttons do
            self.feeling_step = asks[-1].step.id
        cards = [reply for reply in answer.replies if isinstance(reply, r.AccountCard)]

        self.question = None
        if cards:
            card = cards[-1]
            self.question = json.dumps({"asker": card.asker, "id": card.github_user_id})


def _nobody_told(answer: r.Answer) -> r.Answer:
    """No staff channel here: alerts go nowhere, and the learner is not told otherwise."""
    replies = tuple(
        replace(reply, staff_channel=None) if isinstance(reply, r.StuckHelp) else reply
        for reply in answer.replies
    )
    return replace(answer, replies=replies, staff_alerts=())


def console_renderer(
    parts: Parts, stdout: TextIO, staff_channel_name: str | None = None
) -> ConsoleRenderer:
    slack = parts.services.renderer
    style = Style(ansi=stdout.isatty())
    return ConsoleRenderer(
        slack.course,
        slack.glossary,
        slack.messages,
        slack.site,
        style,
        staff_channel_name,
        parts.services.settings.timezone,
    )


def run_console(
    settings: Settings,
    *,
    database_url: str | None = None,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    language: str | None = None,
) -> int:
    folder = Path(tempfile.mkdtemp(prefix="prcoach-"))
    if database_url is None:
        # A fresh journey each time unless asked otherwise: the console is for previews.
        database_url = f"sqlite:///{folder / 'console.db'}"
    migrate(database_url)
    parts = build(replace(settings, database_url=database_url))
    session = Session(
        parts,
        console_renderer(parts, stdout),
        language=language or settings.default_language,
        stdin=stdin,
        stdout=stdout,
        files=folder,
    )
    return session.run()
