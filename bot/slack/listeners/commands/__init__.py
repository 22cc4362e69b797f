"""``/prcoach …``: answered ephemerally where it was typed; ``start`` opens the DM."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.course.coach import Person
from bot.course.intents import STAFF_ACTIONS, Action, parse_command
from bot.slack.delivery import (
    CheckingNotice,
    Services,
    SlackProfile,
    alert_staff,
    answering,
    follow_up,
    open_dm,
    post,
    respond_message,
    respond_with,
    with_files_sent,
)
from bot.slack.requests import record_request
from bot.slack.staff import handle_staff
from bot.slack.views.render import unescape

COMMAND = "/prcoach"


def register(app: App, services: Services) -> None:
    def acknowledge(ack: Ack, body: dict[str, Any]) -> None:
        # Recorded, then acknowledged: the answer comes from an answerer (bot.slack.requests).
        busy = record_request(services, "command", body)
        if busy:
            ack(text=busy)
        else:
            ack()

    app.command(COMMAND)(acknowledge)


def answer_command(
    services: Services, body: dict[str, Any], respond: Callable[..., Any], client: WebClient
) -> None:
    coach = services.coach
    person = Person(body["team_id"], body["user_id"])
    profile = SlackProfile(client, person.user_id)
    locale = profile.locale
    with answering(services, person, lambda a: respond_with(services, respond, a)):
        intent = parse_command(unescape(body.get("text", "")))
        if intent.action in STAFF_ACTIONS:
            handle_staff(
                services, intent, person, profile, client, lambda m: respond_message(respond, m)
            )
            return
        if intent.action in (Action.HELP, Action.UNKNOWN):
            respond_with(services, respond, coach.help_for(person, intent, locale))
            return
        learner = coach.learner(person, locale, profile.name)
        if intent.action is Action.CHECK:
            notice = CheckingNotice.for_command(services, respond, learner.language)
            with notice:
                answer = coach.handle(learner, intent, source="command")
            respond_with(services, respond, answer, replace=notice.shown)
            follow_up(services, client, answer)
            return
        answer = alert_staff(
            services,
            client,
            with_files_sent(services, client, coach.handle(learner, intent, source="command")),
        )
        if intent.action is Action.START:
            # The journey lives in the direct message with the bot.
            channel = open_dm(client, person.user_id)
            coach.remember_dm(learner, channel)
            post(services, client, channel, answer)
            respond_with(services, respond, coach.notice(learner, "dm.sent"))
        else:
            respond_with(services, respond, answer)
        follow_up(services, client, answer)
