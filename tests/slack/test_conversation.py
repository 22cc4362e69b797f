"""Talking with the bot beyond the checks: settings, confirmations, help from a mentor, Home."""

from __future__ import annotations

import json

import pytest

from tests.rig.bot_process import STAFF_CHANNEL
from tests.rig.conversation import Conversation, buttons
from tests.rig.fake_github import FakeGitHub
from tests.rig.fake_slack import FakeSlack
from tests.rig.slack_sender import SlackSender


@pytest.fixture
def ada(slack: SlackSender, fake_slack: FakeSlack, user_id: str) -> Conversation:
    return Conversation(slack, fake_slack, user_id)


@pytest.fixture
def helene(slack: SlackSender, fake_slack: FakeSlack, french_user_id: str) -> Conversation:
    return Conversation(slack, fake_slack, french_user_id)


@pytest.fixture
def linked(ada: Conversation, fake_github: FakeGitHub) -> Conversation:
    fake_github.world.add_user("Ada-L", email="ada@example.org")
    ada.says("hello")
    assert "Step 2 of 5" in ada.links("Ada-L").text
    return ada


def test_language_switch_changes_every_later_answer(ada: Conversation) -> None:
    assert "Step 1 of 5" in ada.says("hello").text
    answer = ada.types("lang fr")
    assert "en français" in answer.text
    assert "Étape 1 sur 5" in ada.types("status").text
    assert "English" in ada.says("lang en").text
    assert "Step 1 of 5" in ada.types("status").text


def test_a_bad_language_says_what_to_type(ada: Conversation) -> None:
    assert "/prcoach lang en" in ada.types("lang klingon").text


def test_tool_choice_changes_the_instructions(linked: Conversation) -> None:
    web = linked.clicks("prcoach_how")
    assert "GitHub's website" in web.text
    answer = linked.types("tool cli")
    assert "the command line" in answer.text
    cli = linked.clicks("prcoach_how")
    assert "command line" in cli.text
    assert cli.text != web.text
    assert "/prcoach tool web" in linked.types("tool typewriter").text


def test_restart_asks_first_and_keeps_the_login(
    linked: Conversation, fake_github: FakeGitHub
) -> None:
    fake_github.world.fork("eig/practice", owner="Ada-L")
    assert "Step 3 of 5" in linked.types("check").text
    question = linked.types("restart")
    assert buttons(question) == ["Yes, do it", "Cancel"]
    assert "Step 3 of 5" in linked.types("status").text  # nothing happened yet
    cancelled = linked.clicks("prcoach_cancel", on=question)
    assert "nothing changed" in cancelled.text
    answer = linked.clicks("prcoach_confirm", on=question)
    assert "starts over" in answer.text
    assert "Step 2 of 5" in answer.text
    assert "GitHub account: Ada-L" in linked.types("status").text


def test_relinking_another_account_asks_first(
    linked: Conversation, fake_github: FakeGitHub
) -> None:
    fake_github.world.add_user("ada-pro")
    question = linked.types("link ada-pro")
    assert "Link *ada-pro* instead?" in question.text
    assert "GitHub account: Ada-L" in linked.types("status").text
    shown = linked.clicks("prcoach_confirm", on=question)
    assert "Is this you?" in shown.text and "ada-pro" in shown.text
    answer = linked.confirms()
    assert "Step 2 of 5" in answer.text
    assert "GitHub account: ada-pro" in linked.types("status").text
    assert "already linked" in linked.types("link ADA-PRO").text


def test_stuck_tells_the_learner_and_the_staff_channel(
    linked: Conversation, fake_slack: FakeSlack, fake_github: FakeGitHub
) -> None:
    mark = len(fake_slack.calls)
    answer = linked.clicks("prcoach_stuck")
    assert "mentors" in answer.text
    alert = fake_slack.wait_for_message(
        lambda m: m.via == "chat.postMessage" and m.channel == STAFF_CHANNEL, after=mark
    )
    # The staff's default language is English; the alert says who, where, and the links.
    assert f"<@{linked.user_id}>" in alert.text
    assert "step 2 of 5" in alert.text
    assert "github.example.org/Ada-L" in alert.text


def test_stuck_says_a_mentor_was_told_only_when_one_was(
    linked: Conversation, fake_slack: FakeSlack
) -> None:
    # The staff channel refuses the alert (the bot was removed from it, say).
    fake_slack.fail_next(error="not_in_channel", method="chat.postMessage")
    answer = linked.clicks("prcoach_stuck")
    assert "I have told the mentors" not in answer.text
    assert "You can also ask a mentor of your cohort directly." in answer.text
    assert "let a mentor know" not in answer.text.lower()
    # When it works, the learner is told so (and only then).
    told = linked.clicks("prcoach_stuck")
    assert f"I have told the mentors in <#{STAFF_CHANNEL}>" in told.text


def test_explain_button_and_command(linked: Conversation) -> None:
    answer = linked.clicks("prcoach_explain")
    assert "fork" in answer.text.lower()
    assert "don't know the word" in linked.types("explain flibbertigibbet").text


def test_app_home_shows_the_checklist_and_refreshes_on_progress(
    linked: Conversation, slack: SlackSender, fake_slack: FakeSlack, fake_github: FakeGitHub
) -> None:
    def home_showing(text: str):
        def matches(call) -> bool:
            view = json.dumps(call.params.get("view"), ensure_ascii=False)
            return (
                call.method == "views.publish"
                and call.params.get("user_id") == linked.user_id
                and text in view
            )

        return matches

    slack.app_home_opened(linked.user_id)
    published = fake_slack.wait_for(home_showing("Your progress"))
    assert "Make your own copy (fork)" in json.dumps(published.params["view"], ensure_ascii=False)

    fake_github.world.fork("eig/practice", owner="Ada-L")
    mark = len(fake_slack.calls)
    assert "Step 3 of 5" in linked.types("check").text
    fake_slack.wait_for(home_showing("Step 3 of 5"), after=mark)


def test_app_home_for_someone_who_never_started(
    slack: SlackSender, fake_slack: FakeSlack, french_user_id: str
) -> None:
    slack.app_home_opened(french_user_id)
    published = fake_slack.wait_for(
        lambda c: c.method == "views.publish" and c.params.get("user_id") == french_user_id
    )
    assert "Commencer" in json.dumps(published.params["view"], ensure_ascii=False)


def test_every_message_has_a_plain_text_fallback(
    linked: Conversation, fake_slack: FakeSlack
) -> None:
    for message in fake_slack.messages():
        assert message.text.strip(), message


# -- "Is this you?": a typed login is linked only once its account is recognised ----------------


def test_a_typed_login_shows_the_account_and_links_it_only_after_yes(
    ada: Conversation, fake_github: FakeGitHub
) -> None:
    fake_github.world.add_user("Ada-L", name="Ada Lovelace", email="ada@example.org")
    ada.says("hello")
    question = ada.says("ada-l")
    assert "*Is this you?*" in question.text
    assert "*Ada Lovelace* · login `Ada-L` · created on" in question.text
    [profile] = [b for b in question.blocks if b.get("accessory")]
    assert profile["accessory"]["type"] == "image"
    assert profile["accessory"]["image_url"].startswith("https://avatars.githubusercontent.com/")
    assert buttons(question) == ["Yes, that's me", "No, not me"]
    assert "GitHub account: not linked yet" in ada.types("status").text
    answer = ada.clicks("prcoach_that_is_me", on=question)
    assert "Done: Connect your GitHub account" in answer.text
    assert "GitHub account: Ada-L" in ada.types("status").text


def test_no_links_nothing_and_says_where_the_login_is(
    ada: Conversation, fake_github: FakeGitHub
) -> None:
    fake_github.world.add_user("ada")  # someone else's: short logins are all taken
    ada.says("hello")
    question = ada.says("ada")
    answer = ada.clicks("prcoach_not_me", on=question)
    assert "I haven't linked it" in answer.text
    assert "short name under your profile picture" in answer.text
    assert "GitHub account: not linked yet" in ada.types("status").text
    # The question is over: a late Yes links nothing.
    late = ada.clicks("prcoach_that_is_me", on=question)
    assert "no longer current" in late.text
    assert "GitHub account: not linked yet" in ada.types("status").text


def test_only_the_latest_question_can_be_answered(
    ada: Conversation, fake_github: FakeGitHub
) -> None:
    fake_github.world.add_user("ada-one")
    fake_github.world.add_user("ada-two")
    ada.says("hello")
    first = ada.says("ada-one")
    second = ada.says("ada-two")
    stale = ada.clicks("prcoach_that_is_me", on=first)
    assert "no longer current" in stale.text
    assert "Step 2 of 5" in ada.clicks("prcoach_that_is_me", on=second).text
    assert "GitHub account: ada-two" in ada.types("status").text


def test_yes_acts_only_for_the_person_who_was_asked(
    ada: Conversation,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_github: FakeGitHub,
) -> None:
    fake_github.world.add_user("Ada-L")
    ada.says("hello")
    question = ada.says("ada-l")
    fake_slack.add_user("UMALLORY1", name="mallory", locale="en-US")
    mallory = Conversation(slack, fake_slack, "UMALLORY1")
    answer = mallory.clicks("prcoach_that_is_me", on=question)
    assert "asked to someone else: nothing was linked" in answer.text
    assert "GitHub account: not linked yet" in mallory.types("status").text
    assert "GitHub account: not linked yet" in ada.types("status").text


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("oui", "Super, c'est parti !"),
        ("Merci !", "Avec plaisir !"),
        ("non", "Pas de souci."),
        ("test", "Je suis là, et je fonctionne !"),
        ("Hélène Dupré", "ressemble à votre nom"),
    ],
)
def test_answers_and_names_are_not_taken_for_logins(
    helene: Conversation, fake_github: FakeGitHub, typed: str, expected: str
) -> None:
    for taken in ("oui", "non", "test", "merci"):
        fake_github.world.add_user(taken)  # all real accounts on GitHub
    helene.says("Bonjour")
    fake_github.reset_log()
    answer = helene.says(typed)
    assert expected in answer.text
    assert "Est-ce bien vous" not in answer.text
    assert fake_github.count(counted_only=False, path=r"^/users/") == 0  # nobody looked up
    assert "Compte GitHub : pas encore relié" in helene.types("statut").text


def test_a_second_click_on_yes_says_it_is_linked_already(
    ada: Conversation, fake_github: FakeGitHub
) -> None:
    fake_github.world.add_user("Ada-L")
    ada.says("hello")
    question = ada.says("ada-l")
    assert "Step 2 of 5" in ada.clicks("prcoach_that_is_me", on=question).text
    again = ada.clicks("prcoach_that_is_me", on=question)
    assert "already linked to the GitHub account *Ada-L*" in again.text
    assert "GitHub account: Ada-L" in ada.types("status").text


def test_a_first_message_that_is_an_answer_gets_the_welcome(helene: Conversation) -> None:
    answer = helene.says("oui")
    assert "Bonjour, je suis *PR Coach*" in answer.text
    assert "Étape 1 sur 5" in answer.text
