"""GitHub requests per learner journey, counted by the fake GitHub as GitHub bills them.

The journeys of ``tests/slack/test_journey.py``, driven the same way: Slack-signed HTTP to
PR Coach started from the Procfile's ``web:`` line, the fake GitHub's world changed between
the learner's messages, clicks and commands. Each learner checks once too early ("not yet")
on the fork step, as people do. Requests answered 304 Not Modified and ``/rate_limit``
cost nothing against the rate limit: they are counted apart.
"""

from __future__ import annotations

import functools
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.rig import UPSTREAM, Server, practice_world
from tests.rig.bot_process import SIGNING_SECRET, bot_environment, procfile_command
from tests.rig.conversation import Conversation
from tests.rig.fake_github import FakeGitHub
from tests.rig.fake_slack import FakeSlack
from tests.rig.slack_sender import SlackSender

TARGET = 10


@dataclass(frozen=True)
class Journey:
    label: str
    counted: int
    free: int  # 304s and /rate_limit
    per_step: list[tuple[str, list[str]]]  # each exchange's counted requests

    def asked(self, prefix: str) -> list[str]:
        """The counted requests of the exchanges whose name starts with ``prefix``."""
        return [r for step, requests in self.per_step if step.startswith(prefix) for r in requests]


def english(ada: Conversation, github: FakeGitHub, counter: Callable[[str], None]) -> None:
    world = github.world
    world.add_user("Ada-L", email="ada@example.org")
    github.reset_log()
    ada.says("hello")
    counter("hello")
    assert "Is this you?" in ada.says("ada-l").text
    assert "Step 2 of 5" in ada.confirms().text
    counter("link (login in the DM, confirmed)")
    assert "Not yet" in ada.types("check").text
    counter("fork: too early")
    world.fork(UPSTREAM, owner="Ada-L")
    assert "Step 3 of 5" in ada.clicks("prcoach_check").text
    counter("fork")
    world.create_branch("Ada-L/practice", "add-ada-l")
    assert "Step 4 of 5" in ada.says("check").text
    counter("branch")
    world.commit(
        "Ada-L/practice",
        "add-ada-l",
        {"participants/Ada-L.md": "# Ada\nI work on maps.\n"},
        author_email="ada@example.org",
    )
    assert "Step 5 of 5" in ada.types("check").text
    counter("commit")
    world.open_pull(UPSTREAM, head="Ada-L:add-ada-l", base="main", title="Add Ada")
    assert "You did it" in ada.clicks("prcoach_check").text
    counter("pull request")
    assert ada.types("status").text.count("Done on") == 5
    counter("status")


def french(helene: Conversation, github: FakeGitHub, counter: Callable[[str], None]) -> None:
    world = github.world
    world.add_user("helene-d", email="helene@example.fr")
    github.reset_log()
    helene.says("Bonjour !")
    counter("hello")
    assert "Étape 2 sur 5" in helene.links("helene-d").text
    counter("link (command, confirmed)")
    assert "Pas encore" in helene.says("c'est fait").text
    counter("fork: too early")
    world.fork(UPSTREAM, owner="helene-d", name="mon-essai")  # a renamed fork
    assert "Étape 3 sur 5" in helene.clicks("prcoach_check").text
    counter("fork (renamed)")
    world.create_branch("helene-d/mon-essai", "ajout-helene")
    assert "Étape 4 sur 5" in helene.says("Vérifier").text
    counter("branch")
    world.commit(
        "helene-d/mon-essai",
        "ajout-helene",
        {"participants/helene-d.md": "Hélène\n"},
        author_email="helene@example.fr",
    )
    assert "Étape 5 sur 5" in helene.says("VÉRIFIER !").text
    counter("commit")
    world.open_pull(UPSTREAM, head="helene-d:ajout-helene", base="main", title="Ajout")
    assert "Bravo" in helene.types("verifier").text
    counter("pull request")
    assert helene.says("où j'en suis ?").text.count("Fait le") == 5
    counter("status")


class Tally:
    """Called after each exchange: which counted requests it cost."""

    def __init__(self, github: FakeGitHub) -> None:
        self.github = github
        self.per_step: list[tuple[str, list[str]]] = []
        self.seen = 0  # the flows reset the log before their first exchange

    def __call__(self, step: str) -> None:
        counted = [r for r in self.github.requests if r.counted]
        asked = [f"{r.path} ({r.status})" for r in counted[self.seen :]]
        self.per_step.append((step, asked))
        self.seen = len(counted)


JOURNEYS = (
    ("English: DM, command and button checks", "UJOURNEYEN1", "en-US", english),
    ("French: renamed fork, checks in words", "UJOURNEYFR1", "fr-FR", french),
)


@functools.cache
def measure() -> tuple[Journey, ...]:
    found = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-journey-") as folder,
        FakeGitHub() as github,
        FakeSlack() as slack,
    ):
        practice_world(github)
        env = bot_environment(
            slack_api_url=slack.api_url,
            github_api_url=github.url,
            database_url=f"sqlite:///{Path(folder) / 'journey.db'}",
        )
        server = Server(procfile_command("web"), env, Path(folder), name="web").start()
        try:
            sender = SlackSender(server.url, SIGNING_SECRET, fake=slack)
            for label, user_id, locale, flow in JOURNEYS:
                slack.add_user(user_id, name=user_id.lower(), locale=locale)
                tally = Tally(github)
                flow(Conversation(sender, slack, user_id), github, tally)
                counted = github.count()
                free = github.count(counted_only=False) - counted
                found.append(Journey(label, counted, free, tally.per_step))
        finally:
            server.stop()
    return tuple(found)


ACCOUNT = re.compile(r"^/users/[^/]+ \(200\)$")  # GET /users/{login}, the account itself


def run() -> str:
    journeys = measure()
    lines = [
        "### GitHub requests per learner journey (counted by the fake GitHub)",
        "",
        "| journey | counted requests | free (304, /rate_limit) | per exchange |",
        "|---|---:|---:|---|",
    ]
    for journey in journeys:
        steps = ", ".join(f"{step} {len(asked)}" for step, asked in journey.per_step)
        lines.append(f"| {journey.label} | {journey.counted} | {journey.free} | {steps} |")
    worst = max(j.counted for j in journeys)
    lines += ["", f"At most {worst} counted requests per journey (target ≤ {TARGET})."]
    if worst > TARGET:
        lines += ["", *_why(journeys)]
    return "\n".join(lines)


def _why(journeys: tuple[Journey, ...]) -> list[str]:
    """Which requests the fork checks make, and what would spare some."""
    early = journeys[0].asked("fork: too early")
    said = [
        f"Why: the fork step. A check before the fork exists asks {len(early)}: "
        + ", ".join(f"`{r}`" for r in early)
        + ". "
    ]
    # In the fork checks, the account itself is fetched only to reach its listings.
    spared = [sum(1 for r in j.asked("fork") if ACCOUNT.match(r)) for j in journeys]
    if any(spared):
        said[0] += (
            "`/users/{login}` is the account itself, fetched by `get_user(login)` only to "
            "reach its repositories and organisations (`fork_exists` calls it once for each, "
            "and PyGithub fetches the account every time). `get_user(login, lazy=True)` "
            "reaches the listings without it: "
            + " and ".join(
                f"{j.counted - n} instead of {j.counted}"
                for j, n in zip(journeys, spared, strict=True)
            )
            + " for these journeys. "
        )
    renamed = [r for j in journeys for r in j.asked("fork (renamed)")]
    if renamed:
        said[0] += (
            f"A renamed fork costs {len(renamed)}: "
            + ", ".join(f"`{r}`" for r in renamed)
            + " (the list of repositories omits `parent`, so the fork itself is fetched)."
        )
    return said


if __name__ == "__main__":
    print(run())
