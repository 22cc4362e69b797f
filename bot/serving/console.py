"""``python -m bot console``: the same course in a terminal, for one learner.

Staff preview a course they wrote; developers walk the flow without Slack. It drives the
very same :class:`~bot.course.coach.Coach` as Slack does, against the configured GitHub.
"""

from __future__ import annotations

import itertools
import json
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from bot.course.coach import Person
from bot.course.intents import Action, Intent, parse_command, parse_message
from bot.course.replies import AccountCard, Answer, Diagram
from bot.settings import Settings
from bot.storage.database import migrate
from bot.wiring import build

_LINK = re.compile(r"<([^|>]+)\|([^>]+)>")
_BARE_LINK = re.compile(r"<(https?://[^>]+)>")


def plain(mrkdwn: str) -> str:
    """Slack mrkdwn to terminal text: links as "label (url)", entities unescaped."""
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", mrkdwn)
    text = _BARE_LINK.sub(r"\1", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def run_console(
    settings: Settings,
    *,
    database_url: str | None = None,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    language: str | None = None,
) -> int:
    if database_url is None:
        # A fresh journey each time unless asked otherwise: the console is for previews.
        database_url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='prcoach-')) / 'console.db'}"
    migrate(database_url)
    parts = build(_with_database(settings, database_url))
    coach, renderer = parts.services.coach, parts.services.renderer
    person = Person("console", "learner")
    lang = language or settings.default_language
    learner = coach.learner(person, lambda: lang)

    def show(text: str) -> None:
        print(plain(text), file=stdout, flush=True)

    def prompt_hint() -> str:
        current = coach.learner(person)
        if current.language == "fr":
            return "(vérifier · comment · bloqué · aide · c'est quoi un fork ? · quitter)"
        return "(check · how · stuck · help · what is a fork? · quit)"

    pictures = Path(tempfile.mkdtemp(prefix="prcoach-pictures-"))

    def show_answer(answer: Answer) -> None:
        show(renderer.answer(answer).text)
        if answer.learner is not None and any(isinstance(r, Diagram) for r in answer.replies):
            # The picture Slack would show: a file to open, with its description.
            picture = renderer.picture(coach.learner(person), answer.learner.language)
            path = pictures / f"where-you-are-{next(counter)}.png"
            path.write_bytes(picture.png)
            show(f"[{picture.title}: {path}]\n[{picture.alt_text}]")

    counter = itertools.count(1)
    show_answer(coach.handle(learner, Intent(Action.START), "console"))
    show(prompt_hint())
    read: Callable[[], str] = stdin.readline
    # "Is this you?" waiting for a typed yes or no (there are no buttons here).
    question: str | None = None
    while True:
        print("> ", end="", file=stdout, flush=True)
        line = read()
        if not line or line.strip().lower() in ("quit", "exit", "quitter", "q"):
            show("")
            return 0
        learner = coach.learner(person)
        text = line.strip()
        if text.startswith("/prcoach"):
            intent = parse_command(text.removeprefix("/prcoach"))
        else:
            intent = parse_message(text, expecting_login=coach.expects_login(learner))
        if intent.action in (Action.RESTART, Action.LINK, Action.UNLINK) and learner.github_login:
            # No buttons here: typing the command is the confirmation.
            intent = Intent(intent.action, intent.argument, confirmed=True)
        if question is not None and intent.action is Action.SMALL_TALK:
            answered = Action.THAT_IS_ME if intent.argument == "yes" else Action.NOT_ME
            intent = Intent(answered, question)
        answer = coach.handle(learner, intent, "console")
        show_answer(answer)
        cards = [reply for reply in answer.replies if isinstance(reply, AccountCard)]
        question = None
        if cards:
            card = cards[-1]
            question = json.dumps({"asker": card.asker, "id": card.github_user_id})
            show("(oui / non)" if answer.language == "fr" else "(yes / no)")


def _with_database(settings: Settings, url: str) -> Settings:
    from dataclasses import replace

    return replace(settings, database_url=url)
