"""What the coach answers, before any transport turns it into Slack blocks or terminal text.

Each reply is a small value; :mod:`bot.slack.views` and :mod:`bot.serving.console` render
them. Keeping words out of here (they live in the YAML content) keeps both doors equal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.course.checks import CheckResult
from bot.course.course import Step
from bot.course.glossary import Entry
from bot.course.learner import Learner, Tool
from bot.course.text import Text


@dataclass(frozen=True)
class Reply:
    pass


@dataclass(frozen=True)
class Welcome(Reply):
    returning: bool = False


@dataclass(frozen=True)
class StepCard(Reply):
    """A step's message: where the learner is, what to do, and the buttons."""

    step: Step
    position: int
    total: int
    minutes_left: int
    # The link step, when accounts are proven on GitHub: a "Connect with GitHub" button.
    verify: bool = False


@dataclass(frozen=True)
class Success(Reply):
    step: Step


@dataclass(frozen=True)
class Diagnosed(Reply):
    """Not yet / a named mistake / warnings on a done step, with the course's hints."""

    step: Step
    result: CheckResult


@dataclass(frozen=True)
class Finished(Reply):
    pass


@dataclass(frozen=True)
class GitHubTrouble(Reply):
    retry_at: datetime | None
    rate_limited: bool


@dataclass(frozen=True)
class ChecklistRow:
    step: Step
    done: bool
    done_at: datetime | None  # unknown for a step kept across a restart
    current: bool


@dataclass(frozen=True)
class Checklist(Reply):
    rows: tuple[ChecklistRow, ...]
    login: str | None
    # Whether the account is proven the learner's; None where accounts are not proven at all.
    verified: bool | None = None


@dataclass(frozen=True)
class DeviceCodeCard(Reply):
    """The one-time code to type on GitHub's device page, with a button to it.

    ``waiting``: shown again because the learner asked before approving. ``typed_login``:
    what they typed (whichever account approves is linked). ``offer_unverified``: a button to
    link ``typed_login`` without proving it (when verification is not required).
    ``relink_from``: the account linked now, which another approval would replace.
    """

    user_code: str
    minutes_left: int
    waiting: bool = False
    typed_login: str | None = None
    offer_unverified: bool = False
    relink_from: str | None = None


@dataclass(frozen=True)
class AccountCard(Reply):
    """ "Is this you?": the account a typed login names, for the learner to recognise (its
    picture, name, login and creation date), with *Yes, that's me* / *No*. The buttons carry
    ``asker`` (the Slack user asked) and the account's id: they act for that person only, and
    only while the question is the latest one."""

    login: str
    github_user_id: int
    name: str
    avatar_url: str
    created_on: str  # YYYY-MM-DD
    asker: str
    relink_from: str | None = None


@dataclass(frozen=True)
class FreshCode(Reply):
    """A sign-in that ended without a link (expired, cancelled…): why, and a new-code button."""

    key: str
    facts: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HowTo(Reply):
    step: Step
    tool: Tool


@dataclass(frozen=True)
class Explanation(Reply):
    entry: Entry


@dataclass(frozen=True)
class StuckHelp(Reply):
    step: Step
    staff_channel: str | None


@dataclass(frozen=True)
class Notice(Reply):
    """A short message from the interface's catalogue (``messages.yaml``)."""

    key: str
    facts: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Confirm(Reply):
    """A question with Yes/Cancel buttons; ``action`` and ``argument`` say what Yes does."""

    key: str
    action: str
    argument: str = ""
    facts: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Help(Reply):
    staff: bool = False


@dataclass(frozen=True)
class Menu(Reply):
    pass


@dataclass(frozen=True)
class StaffAlert:
    """Posted to the staff channel so a mentor can help without asking questions."""

    learner: Learner
    step: Step
    position: int
    total: int


@dataclass(frozen=True)
class FileOut:
    """A file for the person (their data export), sent to their direct messages."""

    filename: str
    content: bytes
    title_key: str


@dataclass(frozen=True)
class Answer:
    learner: Learner | None
    replies: tuple[Reply, ...]
    staff_alerts: tuple[StaffAlert, ...] = ()
    # True when the learner's progress or settings changed: refresh App Home.
    changed: bool = False
    # For people who are not learners (yet): asked for help, refused a staff command.
    fallback_language: str = "en"
    files: tuple[FileOut, ...] = ()
    # Short notes for the staff channel ("a learner left the course", "an account claimed twice").
    staff_notes: tuple[Notice, ...] = ()
    # A sign-in on GitHub is pending: the transport keeps asking GitHub after answering.
    awaiting_verification: bool = False
    # Other learners this changed something for (a proof released their typed link): each
    # is told in their own direct message.
    also_tell: tuple[Answer, ...] = ()
    # The Slack user whose data was just erased (forget-me): their App Home is emptied.
    erased_user: str | None = None

    @property
    def language(self) -> str:
        return self.learner.language if self.learner else self.fallback_language


@dataclass(frozen=True)
class ReviewNews(Reply):
    """Something happened to the learner's pull request (see :mod:`bot.course.review`)."""

    kind: str
    facts: Mapping[str, Any]
    tool: Tool


@dataclass(frozen=True)
class Diagram(Reply):
    """A picture of where the learner is (practice repository, fork, branch, commit, pull
    request), drawn by the transport: an image in Slack, a file in the console."""


@dataclass(frozen=True)
class FeelingAsk(Reply):
    """After a step is done: how did it feel? (easy / OK / hard, and a sentence)."""

    step: Step


@dataclass(frozen=True)
class FeelingNoted(Reply):
    """Thanks for the click, and a box for one optional sentence."""

    step: Step
    feeling: str


@dataclass(frozen=True)
class WhatNext(Reply):
    """After the course: the links the programme chose."""

    links: tuple[tuple[Text, str], ...]  # (label in both languages, url)
