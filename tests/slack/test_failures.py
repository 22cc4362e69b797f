"""GitHub (or Slack) in trouble: the learner is always acknowledged at once, told what
happened in their language, and never loses progress.

Faults are injected in the fakes (``fail_next``, ``delay``, ``exhaust_rate_limit``,
``secondary_rate_limit``, ``drop_next``; Slack's ``rate_limit_next`` and redeliveries);
the bot itself runs untouched as a subprocess.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from slack_sdk import WebClient

from bot.settings import load_settings
from bot.slack.notifier import SlackNotifier
from bot.storage.database import create_database_engine, session_factory
from bot.storage.store import SqlLearnerStore
from bot.usecases.progress import run_outbox_job
from bot.wiring import build
from tests.rig.bot_process import BotProcess
from tests.rig.conversation import ACK_BUDGET, Conversation, is_answer
from tests.rig.fake_github import FakeGitHub, World
from tests.rig.fake_slack import FakeSlack, Message
from tests.rig.slack_sender import SlackSender

UPSTREAM = "eig/practice"

TROUBLE = {
    "en": "GitHub is having trouble answering right now, so I could not check. "
    "Nothing changed in your progress.",
    "fr": "GitHub a du mal à répondre en ce moment, je n'ai donc pas pu vérifier. "
    "Rien n'a changé dans votre progression.",
}
TROUBLE_RETRY_SOON = {
    "en": "Please try again in a minute.",
    "fr": "Réessayez dans une minute.",
}
RATE_LIMITED = {
    "en": "I have asked GitHub too many questions this hour, so I could not check. "
    "Nothing changed in your progress. Please try again at {time} (UTC).",
    "fr": "J'ai posé trop de questions à GitHub cette heure-ci, je n'ai donc pas pu vérifier. "
    "Rien n'a changé dans votre progression. Réessayez à {time} (UTC).",
}
TRY_AGAIN_AT = {"en": "Please try again at {time} (UTC).", "fr": "Réessayez à {time} (UTC)."}
STEP_HEADING = {"en": "Step {n} of 5", "fr": "Étape {n} sur 5"}
CURRENT = {"en": "Current step", "fr": "Étape en cours"}
NOT_LINKED = {"en": "GitHub account: not linked yet", "fr": "Compte GitHub : pas encore relié"}
LINKED_AS = {"en": "GitHub account: {login}", "fr": "Compte GitHub : {login}"}
TITLES = {
    "link": {"en": "Connect your GitHub account", "fr": "Relier votre compte GitHub"},
    "fork": {"en": "Make your own copy (fork)", "fr": "Faire votre propre copie (fork)"},
    "branch": {"en": "Create a branch", "fr": "Créer une branche"},
}
PEOPLE = {"en": ("Ada-L", "ada@example.org"), "fr": ("Helene-D", "helene@example.fr")}


@dataclass
class Learner:
    conv: Conversation
    lang: str
    world: World
    login: str
    email: str

    def check(self, door: str = "command") -> Message:
        if door == "command":
            return self.conv.types("check" if self.lang == "en" else "verifier")
        if door == "dm":
            return self.conv.says("check" if self.lang == "en" else "vérifier")
        if door == "button":
            return self.conv.clicks("prcoach_check")
        raise ValueError(door)

    def link(self) -> Message:
        self.world.add_user(self.login, email=self.email)
        answer = self.conv.links(self.login)
        assert STEP_HEADING[self.lang].format(n=2) in answer.text, answer.text
        return answer

    def at_fork_step_with_a_fork(self) -> None:
        """Linked, and the fork exists on GitHub: the next check would move them on."""
        self.link()
        self.world.fork(UPSTREAM, owner=self.login)

    def progress(self) -> tuple[str, str]:
        """(account line, current step line) of ``/prcoach status``."""
        text = self.conv.types("status" if self.lang == "en" else "statut").text
        account = next(line for line in text.splitlines() if line.startswith(("GitHub", "Compte")))
        current = next(line for line in text.splitlines() if line.startswith("▶"))
        assert CURRENT[self.lang] in current
        return account, current

    def assert_at(self, step: str, *, linked: bool = True) -> None:
        account, current = self.progress()
        assert TITLES[step][self.lang] in current, current
        if linked:
            assert account == LINKED_AS[self.lang].format(login=self.login)
        else:
            assert account == NOT_LINKED[self.lang]


def make_learner(
    lang: str,
    request: pytest.FixtureRequest,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_github: FakeGitHub,
    timeout: float = 15.0,
) -> Learner:
    user = request.getfixturevalue("user_id" if lang == "en" else "french_user_id")
    login, email = PEOPLE[lang]
    conv = Conversation(slack, fake_slack, user, timeout=timeout)
    return Learner(conv, lang, fake_github.world, login, email)


@pytest.fixture(params=["en", "fr"])
def learner(
    request: pytest.FixtureRequest,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_github: FakeGitHub,
) -> Learner:
    return make_learner(request.param, request, slack, fake_slack, fake_github)


@pytest.fixture
def ada(
    request: pytest.FixtureRequest,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_github: FakeGitHub,
) -> Learner:
    return make_learner("en", request, slack, fake_slack, fake_github)


def hhmm(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%H:%M}"


_SLACK_TIME = re.compile(r"<!date\^(\d+)\^\{time\}\|(\d\d:\d\d) UTC>")


def plain(text: str) -> str:
    """Slack shows ``<!date^…^{time}|…>`` in each reader's own time zone; the tests read the
    fallback (UTC), after checking it says the same instant as the timestamp."""

    def fallback(match: re.Match[str]) -> str:
        assert hhmm(datetime.fromtimestamp(int(match.group(1)), UTC)) == match.group(2)
        return f"{match.group(2)} (UTC)"

    return _SLACK_TIME.sub(fallback, text)


def shown_time(answer: Message) -> str:
    found = re.search(r"\b(\d\d:\d\d) \(UTC\)", plain(answer.text))
    assert found, answer.text
    return found.group(1)


# =============================================================================== 5xx


def test_github_failing_three_times_then_recovering(
    learner: Learner, fake_github: FakeGitHub
) -> None:
    learner.at_fork_step_with_a_fork()
    fake_github.fail_next(3, status=502)  # the bot's two retries are used up too

    answer = learner.check()
    assert TROUBLE[learner.lang] in answer.text
    assert TROUBLE_RETRY_SOON[learner.lang] in answer.text
    assert STEP_HEADING[learner.lang].format(n=3) not in answer.text
    assert fake_github.count(counted_only=False, path=r"^/repos/") >= 3
    learner.assert_at("fork")

    answer = learner.check()
    assert STEP_HEADING[learner.lang].format(n=3) in answer.text
    learner.assert_at("branch")


def test_github_failing_while_linking_links_nothing(
    learner: Learner, fake_github: FakeGitHub
) -> None:
    learner.world.add_user(learner.login, email=learner.email)
    fake_github.fail_next(3, status=503)
    answer = learner.conv.types(f"link {learner.login}")
    assert TROUBLE[learner.lang] in answer.text
    learner.assert_at("link", linked=False)

    answer = learner.conv.links(learner.login)
    assert STEP_HEADING[learner.lang].format(n=2) in answer.text
    learner.assert_at("fork")


def test_github_failing_twice_is_invisible(ada: Learner, fake_github: FakeGitHub) -> None:
    ada.at_fork_step_with_a_fork()
    fake_github.fail_next(2, status=502)
    answer = ada.check("button")
    assert "Step 3 of 5" in answer.text
    assert "trouble" not in answer.text


# =============================================================================== slow GitHub


@pytest.mark.parametrize("door", ["command", "button", "dm"])
def test_slow_github_is_acknowledged_at_once_and_answered_later(
    door: str,
    request: pytest.FixtureRequest,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_github: FakeGitHub,
) -> None:
    ada = make_learner("en", request, slack, fake_slack, fake_github, timeout=20.0)
    ada.at_fork_step_with_a_fork()
    fake_github.delay = 5
    started = time.monotonic()
    answer = ada.check(door)  # Conversation asserts the acknowledgement took < 3 s
    waited = time.monotonic() - started
    assert waited >= 5, "the answer came before GitHub did: was GitHub asked at all?"
    assert "Done: Make your own copy (fork)." in answer.text
    assert "Step 3 of 5" in answer.text
    fake_github.delay = 0
    ada.assert_at("branch")


def test_slow_github_acknowledgement_is_really_immediate(
    ada: Learner, slack: SlackSender, fake_slack: FakeSlack, fake_github: FakeGitHub
) -> None:
    """Measured directly, not only against Slack's 3 seconds: the ack does not wait."""
    ada.at_fork_step_with_a_fork()
    fake_github.delay = 5
    mark = len(fake_slack.calls)
    started = time.monotonic()
    response = slack.command("check", user_id=ada.conv.user_id)
    acked = time.monotonic() - started
    assert response.status_code == 200
    assert acked < 1.0, f"acknowledged after {acked:.2f}s"
    notice = fake_slack.wait_for_message(lambda m: m.via == "response_url", timeout=20, after=mark)
    assert notice.text == "Checking on GitHub…"  # at once, while GitHub is slow
    answer = fake_slack.wait_for_message(
        lambda m: m.via == "response_url" and is_answer(m), timeout=20, after=mark
    )
    assert "Step 3 of 5" in answer.text
    assert time.monotonic() - started >= 5
    fake_github.delay = 0


# =============================================================================== rate limits


def _reset_header(fake_github: FakeGitHub) -> datetime:
    """The reset time GitHub announces (``/rate_limit`` is free of charge)."""
    response = requests.get(f"{fake_github.url}/rate_limit", timeout=5)
    return datetime.fromtimestamp(int(response.headers["X-RateLimit-Reset"]), UTC)


def test_rate_limit_exhausted_says_when_to_try_again(
    learner: Learner, fake_github: FakeGitHub
) -> None:
    learner.at_fork_step_with_a_fork()
    fake_github.exhaust_rate_limit(reset_in=600)
    reset = _reset_header(fake_github)
    assert timedelta(minutes=9) < reset - datetime.now(UTC) <= timedelta(minutes=10)

    answer = learner.check()
    assert RATE_LIMITED[learner.lang].format(time=hhmm(reset)) in plain(answer.text)
    assert "<!date^" in answer.text  # Slack writes it in the learner's own time zone
    learner.assert_at("fork")

    fake_github.restore_rate_limit()
    answer = learner.check("button")
    assert STEP_HEADING[learner.lang].format(n=3) in answer.text
    learner.assert_at("branch")


def test_secondary_rate_limit_is_acknowledged_and_progress_kept(
    learner: Learner, fake_github: FakeGitHub
) -> None:
    learner.at_fork_step_with_a_fork()
    fake_github.secondary_rate_limit(retry_after=60, n=1)
    before = datetime.now(UTC) + timedelta(seconds=60)
    answer = learner.check()
    after = datetime.now(UTC) + timedelta(seconds=60)
    # Told when to try again: Retry-After from now.
    assert shown_time(answer) in {hhmm(before), hhmm(after)}
    assert STEP_HEADING[learner.lang].format(n=3) not in answer.text
    learner.assert_at("fork")

    answer = learner.check()
    assert STEP_HEADING[learner.lang].format(n=3) in answer.text


def test_secondary_rate_limit_is_explained_as_github_trouble(
    learner: Learner, fake_github: FakeGitHub
) -> None:
    learner.at_fork_step_with_a_fork()
    fake_github.secondary_rate_limit(retry_after=60, n=1)
    before = datetime.now(UTC) + timedelta(seconds=60)
    answer = learner.check()
    after = datetime.now(UTC) + timedelta(seconds=60)
    assert TROUBLE[learner.lang] in answer.text, answer.text
    assert plain(answer.text).endswith(
        tuple(TRY_AGAIN_AT[learner.lang].format(time=hhmm(t)) for t in (before, after))
    )


def test_dropped_connections_are_github_trouble(learner: Learner, fake_github: FakeGitHub) -> None:
    learner.at_fork_step_with_a_fork()
    fake_github.drop_next(5)
    answer = learner.check()
    assert TROUBLE[learner.lang] in answer.text
    learner.assert_at("fork")

    # Whatever is left of the dropped connections, every answer is either the trouble
    # message or the real result, and the real result comes once GitHub answers again.
    for _attempt in range(4):
        answer = learner.check()
        if STEP_HEADING[learner.lang].format(n=3) in answer.text:
            break
        assert TROUBLE[learner.lang] in answer.text, answer.text
        learner.assert_at("fork")
    else:
        pytest.fail("the check never worked again after the connections came back")
    learner.assert_at("branch")


# =============================================================================== Slack side


def _dm_posts(fake_slack: FakeSlack, dm: str) -> list[Message]:
    return [
        m for m in fake_slack.messages(channel=dm) if m.via == "chat.postMessage" and is_answer(m)
    ]


def _deliver(
    slack: SlackSender,
    event: dict[str, Any],
    event_id: str,
    retry_num: int | None = None,
    retry_reason: str | None = None,
) -> None:
    started = time.monotonic()
    response = slack.event(event, event_id=event_id, retry_num=retry_num, retry_reason=retry_reason)
    assert response.status_code == 200, response.text
    assert time.monotonic() - started < ACK_BUDGET, "acknowledged after Slack's 3 seconds"


def test_a_redelivered_event_is_answered_once(
    ada: Learner, slack: SlackSender, fake_slack: FakeSlack
) -> None:
    event = slack.dm_message_event("where am I", user_id=ada.conv.user_id)
    event_id = "Ev0REDELIVER1"
    _deliver(slack, event, event_id)
    _deliver(slack, event, event_id, retry_num=1, retry_reason="http_timeout")
    _deliver(slack, event, event_id, retry_num=2, retry_reason="http_timeout")
    answer = fake_slack.wait_for_message(
        lambda m: m.via == "chat.postMessage" and m.channel == ada.conv.dm, timeout=10
    )
    assert "Your progress" in answer.text
    time.sleep(1.5)  # room for a second, wrong, answer
    assert len(_dm_posts(fake_slack, ada.conv.dm)) == 1


def test_a_retry_whose_original_never_arrived_is_answered_once(
    ada: Learner, slack: SlackSender, fake_slack: FakeSlack
) -> None:
    event = slack.dm_message_event("where am I", user_id=ada.conv.user_id)
    event_id = "Ev0REDELIVER2"
    for retry in (1, 2):
        _deliver(slack, event, event_id, retry_num=retry, retry_reason="http_error")
    answer = fake_slack.wait_for_message(
        lambda m: m.via == "chat.postMessage" and m.channel == ada.conv.dm, timeout=10
    )
    assert "Your progress" in answer.text
    time.sleep(1.5)
    assert len(_dm_posts(fake_slack, ada.conv.dm)) == 1


def test_slack_rate_limiting_the_answer_keeps_it_for_the_outbox_which_delivers_it(
    ada: Learner, fake_slack: FakeSlack, bot: BotProcess
) -> None:
    # Issue 13: a 429 is never waited for in a listener thread; the answer goes to the
    # outbox at once (not before Retry-After) and the worker delivers it.
    ada.at_fork_step_with_a_fork()
    fake_slack.rate_limit_next(1, retry_after=1, method="chat.postMessage")
    mark = len(fake_slack.calls)
    assert ada.conv.slack.dm_message("check", user_id=ada.conv.user_id).status_code == 200
    fake_slack.wait_for(lambda c: c.method == "chat.postMessage", after=mark)
    engine = create_database_engine(bot.env["DATABASE_URL"])
    store = SqlLearnerStore(session_factory(engine))
    deadline = time.monotonic() + 10
    while not store.due_messages(datetime.now(UTC) + timedelta(minutes=2)):
        assert time.monotonic() < deadline, "the refused answer was not kept"
        time.sleep(0.1)
    ada.assert_at("branch")  # progress is saved meanwhile
    client = WebClient(base_url=fake_slack.api_url, token="xoxb-test")
    notifier = SlackNotifier(build(load_settings(dict(bot.env), env_file=None)).services, client)
    assert run_outbox_job(notifier, store, datetime.now(UTC) + timedelta(minutes=2)) >= 1
    engine.dispose()
    posts = [
        c
        for c in fake_slack.calls[mark:]
        if c.method == "chat.postMessage" and c.params.get("channel") == ada.conv.dm
    ]
    assert [c.status for c in posts] == [429, 200]
    assert posts[0].params.get("text") == posts[1].params.get("text")
    assert "Step 3 of 5" in str(posts[1].params.get("text"))
