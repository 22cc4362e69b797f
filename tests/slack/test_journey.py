"""Whole journeys through the real bot: Slack-signed HTTP in, the fake GitHub behind."""

from __future__ import annotations

import pytest

from tests.rig.conversation import Conversation, buttons
from tests.rig.fake_github import FakeGitHub
from tests.rig.fake_slack import FakeSlack
from tests.rig.slack_sender import SlackSender

UPSTREAM = "eig/practice"


@pytest.fixture
def ada(slack: SlackSender, fake_slack: FakeSlack, user_id: str) -> Conversation:
    return Conversation(slack, fake_slack, user_id)


@pytest.fixture
def helene(slack: SlackSender, fake_slack: FakeSlack, french_user_id: str) -> Conversation:
    return Conversation(slack, fake_slack, french_user_id)


def test_a_whole_journey_in_english(ada: Conversation, fake_github: FakeGitHub) -> None:
    world = fake_github.world
    world.add_user("Ada-L", email="ada@example.org")
    fake_github.reset_log()

    answer = ada.says("hello")
    assert "PR Coach" in answer.text
    assert "Step 1 of 5: Connect your GitHub account" in answer.text
    assert buttons(answer)[:3] == ["Check", "Show me how", "I'm stuck"]

    answer = ada.says("ada-l")
    assert "Is this you?" in answer.text and "`Ada-L`" in answer.text
    assert buttons(answer) == ["Yes, that's me", "No, not me"]
    answer = ada.confirms()
    assert "Done: Connect your GitHub account" in answer.text
    assert "Step 2 of 5" in answer.text
    assert f"{UPSTREAM}/fork" in answer.text

    answer = ada.types("check")
    assert "Not yet" in answer.text

    world.fork(UPSTREAM, owner="Ada-L")
    answer = ada.clicks("prcoach_check")
    assert "Step 3 of 5" in answer.text

    world.create_branch("Ada-L/practice", "add-ada-l")
    answer = ada.says("check")
    assert "Step 4 of 5" in answer.text
    assert "add-ada-l" in answer.text

    world.commit(
        "Ada-L/practice",
        "add-ada-l",
        {"participants/Ada-L.md": "# Ada\nI work on maps.\n"},
        author_email="ada@example.org",
    )
    answer = ada.types("check")
    assert "Step 5 of 5" in answer.text

    world.open_pull(UPSTREAM, head="Ada-L:add-ada-l", base="main", title="Add Ada")
    answer = ada.clicks("prcoach_check")
    assert "You did it" in answer.text

    answer = ada.types("status")
    assert answer.text.count("Done on") == 5

    requests_used = fake_github.count()
    print(f"\nGitHub requests counted against the rate limit for a whole journey: {requests_used}")
    assert requests_used <= 10


def test_a_whole_journey_in_french(helene: Conversation, fake_github: FakeGitHub) -> None:
    world = fake_github.world
    world.add_user("helene-d", email="helene@example.fr")

    answer = helene.says("Bonjour !")
    assert "Étape 1 sur 5" in answer.text
    assert buttons(answer)[:3] == ["Vérifier", "Montrez-moi comment", "Je suis bloqué·e"]

    answer = helene.types("link helene-d")
    assert "Est-ce bien vous ?" in answer.text
    answer = helene.clicks("prcoach_that_is_me", on=answer)
    assert "Étape 2 sur 5" in answer.text

    answer = helene.says("c'est fait")
    assert "Pas encore" in answer.text

    world.fork(UPSTREAM, owner="helene-d", name="mon-essai")
    answer = helene.clicks("prcoach_check")
    assert "Étape 3 sur 5" in answer.text

    world.create_branch("helene-d/mon-essai", "ajout-helene")
    answer = helene.says("Vérifier")
    assert "Étape 4 sur 5" in answer.text

    world.commit(
        "helene-d/mon-essai",
        "ajout-helene",
        {"participants/helene-d.md": "Hélène\n"},
        author_email="helene@example.fr",
    )
    answer = helene.says("VÉRIFIER !")
    assert "Étape 5 sur 5" in answer.text

    world.open_pull(UPSTREAM, head="helene-d:ajout-helene", base="main", title="Ajout")
    answer = helene.types("verifier")
    assert "Bravo" in answer.text

    answer = helene.says("où j'en suis ?")
    assert answer.text.count("Fait le") == 5


def test_the_first_message_welcomes_and_shows_where_one_is(ada: Conversation) -> None:
    answer = ada.says("hi")
    assert "Step 1 of 5" in answer.text
    answer = ada.says("where am I")
    assert "Your progress" in answer.text
    assert "GitHub account: not linked yet" in answer.text


def test_start_command_opens_the_dm(ada: Conversation, fake_slack: FakeSlack) -> None:
    answer = ada.types("start")
    assert "direct message" in answer.text
    welcome = fake_slack.wait_for_message(
        lambda m: m.via == "chat.postMessage" and m.channel == ada.dm
    )
    assert "Step 1 of 5" in welcome.text


def test_anything_else_gets_the_menu_never_silence(ada: Conversation) -> None:
    ada.says("hello")
    answer = ada.says("the weather is nice today")
    assert "I did not understand" in answer.text
    assert "check" in answer.text


@pytest.mark.parametrize(
    ("question", "expected"),
    [("what is a fork?", "fork"), ("What's a pull request", "pull request")],
)
def test_glossary_in_english(ada: Conversation, question: str, expected: str) -> None:
    answer = ada.says(question)
    assert expected in answer.text.lower()
    assert "I did not understand" not in answer.text


def test_glossary_in_french(helene: Conversation) -> None:
    answer = helene.says("c'est quoi une branche ?")
    assert "branche" in answer.text.lower()
    answer = helene.types("explain dépôt")
    assert "dépôt" in answer.text.lower()
