"""Events: direct messages to the bot, and App Home being opened."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.course.coach import Person
from bot.course.intents import Action, Intent, parse_message
from bot.slack.delivery import (
    Services,
    SlackProfile,
    alert_staff,
    answering,
    check_in_dm,
    follow_up,
    post,
    publish_home,
    with_files_sent,
)
from bot.slack.requests import record_request
from bot.slack.staff import is_staff, publish_staff_home
from bot.slack.views.render import unescape


def register(app: App, services: Services) -> None:
    def record_message(ack: Ack, body: dict[str, Any], event: dict[str, Any]) -> None:
        # Edits, joins and other bots' messages are not the learner talking to us.
        if (
            event.get("channel_type") == "im"
            and not event.get("subtype")
            and not event.get("bot_id")
        ):
            record_request(services, "message", body)
        ack()

    def record_home(ack: Ack, body: dict[str, Any], event: dict[str, Any]) -> None:
        if event.get("tab") == "home":
            record_request(services, "home", body)
        ack()

    app.event("message")(record_message)
    app.event("app_home_opened")(record_home)


def answer_message(services: Services, body: dict[str, Any], client: WebClient) -> None:
    coach = services.coach
    event = body.get("event") or {}
    person = Person(body.get("team_id") or event.get("team", ""), event["user"])
    channel = event["channel"]
    with answering(services, person, lambda a: post(services, client, channel, a)):
        profile = SlackProfile(client, person.user_id)
        learner = coach.learner(person, profile.locale, profile.name)
        learner = coach.remember_dm(learner, channel)
        intent = parse_message(
            unescape(event.get("text", "")), expecting_login=coach.expects_login(learner)
        )
        if intent.action in (Action.MENU, Action.SMALL_TALK) and coach.is_new(learner):
            intent = Intent(Action.START)
        if intent.action is Action.CHECK:
            answer = check_in_dm(services, client, channel, learner, intent, "dm")
        else:
            answer = alert_staff(
                services,
                client,
                with_files_sent(services, client, coach.handle(learner, intent, source="dm")),
            )
            post(services, client, channel, answer)
        follow_up(services, client, answer)


def answer_home(services: Services, body: dict[str, Any], client: WebClient) -> None:
    coach = services.coach
    event = body.get("event") or {}
    person = Person(body.get("team_id", ""), event["user"])
    profile = SlackProfile(client, person.user_id)
    if is_staff(services, person.user_id, profile):
        publish_staff_home(services, client, person, profile)
        return
    learner = coach.known(person)
    language = None if learner else coach.language_of(person, profile.locale)
    publish_home(services, client, learner, user_id=person.user_id, language=language)
