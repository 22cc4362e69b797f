"""A coach, a staff desk and their in-memory ports, ready for a fast test."""

from __future__ import annotations

import functools
import itertools
import json
from dataclasses import dataclass, field
from datetime import timedelta

from bot.course.coach import Coach, Person
from bot.course.course import Course, load_course
from bot.course.glossary import Glossary, load_glossary
from bot.course.learner import Learner
from bot.course.staff import StaffDesk
from tests.fakes.ports import GitHubState, RecordingNotifier, ScriptedChecker, ScriptedProber
from tests.fakes.store import Clock, InMemoryStore

_people = itertools.count(1)


@functools.cache
def glossary() -> Glossary:
    return load_glossary()


@functools.cache
def course() -> Course:
    """The built-in course, read once per process (reading the YAML is the slow part)."""
    return load_course(glossary_terms=glossary().ids)


@dataclass
class House:
    clock: Clock = field(default_factory=Clock)
    github: GitHubState = field(default_factory=GitHubState)
    notifier: RecordingNotifier = field(default_factory=RecordingNotifier)
    prober: ScriptedProber = field(default_factory=ScriptedProber)

    def __post_init__(self) -> None:
        self.store = InMemoryStore(self.clock)
        self.coach = Coach(
            course(),
            glossary(),
            self.store,
            ScriptedChecker(self.github),
            staff_channel="CSTAFF",
            clock=self.clock,
        )
        self.desk = StaffDesk(
            course(),
            self.store,
            stuck_after=timedelta(days=3),
            nudge_after=timedelta(days=2),
            timezone="Europe/Paris",
            clock=self.clock,
        )

    def person(self, language: str = "en") -> Person:
        person = Person("T1", f"UFAST{next(_people):04d}")
        self.coach.learner(person, lambda: f"{language}-XX")
        return person

    def linked(self, login: str, user_id: int, language: str = "en") -> Learner:
        """A learner whose GitHub account is linked: at the fork step."""
        from bot.course.intents import Action, Intent

        self.github.add_account(login, user_id)
        person = self.person(language)
        learner = self.coach.learner(person)
        asked = self.coach.handle(learner, Intent(Action.LINK, login), "test")
        assert asked.replies and type(asked.replies[0]).__name__ == "AccountCard", asked
        # "Is this you?" — "Yes, that's me" (the button's value names the asker and the account).
        yes = json.dumps({"asker": person.user_id, "id": user_id, "login": login})
        answer = self.coach.handle(learner, Intent(Action.THAT_IS_ME, yes), "test")
        assert answer.learner is not None and answer.learner.current_step == "fork", answer
        return answer.learner
