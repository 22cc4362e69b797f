"""A learner's times are written in their own Slack time zone: ``<!date^…>`` lets each
Slack client format the instant for its reader (time zone and language); the fallback,
for notifications and clients that cannot, says UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.course import replies as r
from bot.course.facts import Site
from bot.course.glossary import load_glossary
from bot.course.learner import Learner
from bot.course.messages import load_messages
from bot.slack.views.render import Renderer, local_time
from bot.wiring import DEFAULT_COURSE, load_course

MOMENT = datetime(2026, 3, 29, 7, 30, tzinfo=UTC)  # 09:30 in Paris, 03:30 in New York


def renderer() -> Renderer:
    glossary = load_glossary()
    course = load_course(DEFAULT_COURSE, glossary_terms=glossary.ids)
    return Renderer(course, glossary, load_messages(), Site("https://github.com", "eig/practice"))


def test_local_time_is_slack_s_date_token_with_a_utc_fallback() -> None:
    assert local_time(MOMENT) == f"<!date^{int(MOMENT.timestamp())}^{{time}}|07:30 UTC>"


def test_the_checklist_and_github_trouble_use_the_reader_s_time() -> None:
    view = renderer()
    step = view.course.steps[0]
    checklist = r.Checklist((r.ChecklistRow(step, True, MOMENT, False),), "ada")
    learner = Learner(1, "T", "U1", "fr", step.id, MOMENT, MOMENT, MOMENT)
    text = view.reply(checklist, "fr", learner).text
    assert (
        f"Fait le <!date^{int(MOMENT.timestamp())}^{{date_short}} {{time}}|29/03 07:30 UTC>" in text
    )
    trouble = view.reply(r.GitHubTrouble(MOMENT, rate_limited=True), "en", learner).text
    assert f"try again at <!date^{int(MOMENT.timestamp())}^{{time}}|07:30 UTC>." in trouble
