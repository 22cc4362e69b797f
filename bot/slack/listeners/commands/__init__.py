"""``/prcoach …``: answered ephemerally where it was typed; ``start`` opens the DM."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.course.coach import Person
from bot.course.intents import Action, parse_command
from bot.slack.delivery import (
    Services,
    answering,
    follow_up,
    locale_of,
    open_dm,
    post,
    respond_with,
)

COMMAND = "/prcoach"


def register(app: App, services: Services) -> None:
    coach = services.coach

    def acknowledge(ack: Ack) -> None:
        # Nothing but the acknowledgement here: GitHub and Slack calls come after it.
        ack()

    def run_command(body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        person = Person(body["team_id"], body["user_id"])
        locale = locale_of(client, person.user_id)
        with answering(services, person, lambda a: respond_with(services, respond, a)):
            intent = parse_command(body.get("text", ""))
            if intent.action in (Action.HELP, Action.UNKNOWN):
                respond_with(services, respond, coach.help_for(person, intent, locale))
                return
            learner = coach.learner(person, locale)
            answer = coach.handle(learner, intent, source="command")
            if intent.action is Action.START:
                # The journey lives in the direct message with the bot.
                channel = open_dm(client, person.user_id)
                coach.remember_dm(learner, channel)
                post(services, client, channel, answer)
                notice = coach.notice(learner, "dm.sent")
                respond_with(services, respond, notice)
            else:
                respond_with(services, respond, answer)
            follow_up(services, client, answer)

    app.command(COMMAND)(ack=acknowledge, lazy=[run_command])
