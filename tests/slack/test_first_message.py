"""The first message: the plan and the first action first, then how to talk to the bot, then
the data notice in two lines pointing to `/prcoach privacy`; and French that reads right."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.course import replies as r
from bot.course.checks import CheckResult
from bot.course.course import DEFAULT_COURSE, load_course
from bot.course.facts import Site
from bot.course.glossary import load_glossary
from bot.course.learner import Learner
from bot.course.messages import load_messages
from bot.slack.views.render import Renderer
from tests.rig.conversation import Conversation
from tests.rig.fake_slack import FakeSlack
from tests.rig.slack_sender import SlackSender


def test_the_plan_and_the_first_action_come_first(
    slack: SlackSender, fake_slack: FakeSlack, french_user_id: str
) -> None:
    welcome = Conversation(slack, fake_slack, french_user_id).says("bonjour").text
    plan = welcome.index("*Au programme*")
    first_action = welcome.index("Étape 1 sur 5 : Relier votre compte GitHub")
    tips = welcome.index("*Pour me parler*")
    data = welcome.index("*Vos données.*")
    assert plan < first_action < tips < data
    notice = welcome[data:].splitlines()
    assert len(notice) == 2 and "`/prcoach privacy`" in notice[1]
    assert "365 jours" in notice[0]


def test_french_titles_after_a_colon_and_a_pull_request_waiting_without_reviewers() -> None:
    glossary = load_glossary()
    course = load_course(DEFAULT_COURSE, include_optional=True, glossary_terms=glossary.ids)
    renderer = Renderer(course, glossary, load_messages(), Site("https://github.com", "eig/p"))
    now = datetime.now(UTC)
    learner = Learner(1, "T", "U", "fr", "merged", now, now, now, github_login="ada")
    done = renderer.reply(r.Success(course.step("link")), "fr", learner).text
    assert done.startswith("*Étape terminée : « Relier votre compte GitHub ».*")
    waiting = CheckResult.not_yet("awaiting_review", reviewers="")
    text = renderer.reply(r.Diagnosed(course.step("merged"), waiting), "fr", learner).text
    assert "Relecture assurée par : personne n'est encore désigné·e" in text
    assert "<|" not in text and "<https://github.com/eig/p/pulls|Votre pull request>" in text
    how = renderer.reply(r.HowTo(course.step("commit"), learner.tool), "fr", learner).text
    assert how.startswith("Ajouter votre présentation — Comment faire sur le site de GitHub")
    back = renderer.reply(r.Welcome(returning=True), "fr", learner).text
    assert back.startswith("Rebonjour !")
