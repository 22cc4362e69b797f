"""Buttons: Check, Show me how, I'm stuck, What is this?, Yes/Cancel, Start."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.course.coach import Person
from bot.course.intents import STAFF_ACTIONS, Action, Intent
from bot.slack.delivery import (
    Services,
    SlackProfile,
    alert_staff,
    answering,
    check_in_dm,
    follow_up,
    open_dm,
    post,
    post_message,
    respond_message,
    respond_with,
    with_files_sent,
)
from bot.slack.requests import record_request
from bot.slack.staff import handle_staff, handle_staff_button
from bot.slack.views import render as v

_SIMPLE = {
    v.ACTION_CHECK: Action.CHECK,
    v.ACTION_HOW: Action.HOW,
    v.ACTION_STUCK: Action.STUCK,
    v.ACTION_START: Action.START,
    v.ACTION_VERIFY: Action.VERIFY,
}


def intent_of(action: dict[str, Any]) -> Intent | None:
    """The intent behind a button; None for Cancel (nothing to do)."""
    action_id, value = action.get("action_id", ""), action.get("value", "")
    if action_id in _SIMPLE:
        return Intent(_SIMPLE[action_id])
    if action_id == v.ACTION_EXPLAIN:
        return Intent(Action.EXPLAIN, value)
    if action_id == v.ACTION_THAT_IS_ME:
        return Intent(Action.THAT_IS_ME, value)
    if action_id == v.ACTION_NOT_ME:
        return Intent(Action.NOT_ME, value)
    if action_id == v.ACTION_LINK_UNVERIFIED:
        return Intent(Action.LINK_UNVERIFIED, value, confirmed=True)
    if action_id == v.ACTION_FEELING_COMMENT:
        # The box's block id names the step ("feeling_comment_<step>"); Enter sends the text.
        step_id = str(action.get("block_id", "")).removeprefix("feeling_comment_")
        return Intent(Action.FEELING_COMMENT, json.dumps([step_id, value or ""]))
    if action_id.startswith(v.ACTION_FEELING + "_"):
        return Intent(Action.FEELING, value)
    if action_id == v.ACTION_CONFIRM:
        try:
            payload = json.loads(value)
            return Intent(Action(payload["action"]), str(payload.get("argument", "")), True)
        except (ValueError, KeyError, TypeError):
            return Intent(Action.MENU)
    return None


def register(app: App, services: Services) -> None:
    def acknowledge(ack: Ack) -> None:
        ack()

    # The button to GitHub's device page opens it in the browser; Slack still tells us about
    # the click, which needs nothing but its acknowledgement (registered first: it wins).
    app.action(v.ACTION_OPEN_GITHUB)(acknowledge)

    def record(ack: Ack, body: dict[str, Any]) -> None:
        # Recorded, then acknowledged: the answer comes from an answerer (bot.slack.requests).
        # Slack shows nothing of a click's acknowledgement: a busy click is answered later.
        record_request(services, "action", body)
        ack()

    app.action(re.compile(r"^prcoach_"))(record)


def answer_click(
    services: Services, body: dict[str, Any], respond: Callable[..., Any], client: WebClient
) -> None:
    coach = services.coach
    person = Person(body.get("team", {}).get("id", ""), body["user"]["id"])
    container = body.get("container", {})
    in_message = container.get("type") == "message" and not container.get("is_ephemeral")

    def own_dm() -> str:
        # The clicker's own DM with the bot — never a channel named in the payload,
        # which whoever built the click chose.
        known = coach.known(person)
        return (known.dm_channel if known else None) or open_dm(client, person.user_id)

    def send(answer: Any) -> None:
        # A button in a message (the DM) or in App Home answers in the clicker's DM; an
        # ephemeral one answers ephemerally, where the learner sees it without losing it.
        if in_message or container.get("type") == "view":
            post(services, client, own_dm(), answer)
        else:
            respond_with(services, respond, answer)

    with answering(services, person, send):
        action = (body.get("actions") or [{}])[0]
        profile = SlackProfile(client, person.user_id)
        if action.get("action_id", "").startswith("prcoach_staff_"):
            handle_staff_button(
                services,
                action,
                person,
                profile,
                client,
                lambda m: post_message(client, open_dm(client, person.user_id), m),
            )
            return
        intent = intent_of(action)
        if intent is not None and intent.action in STAFF_ACTIONS:
            handle_staff(
                services, intent, person, profile, client, lambda m: respond_message(respond, m)
            )
            return
        learner = coach.learner(person, profile.locale, profile.name)
        if intent is None:
            send(coach.notice(learner, "cancelled"))
            return
        if intent.action is Action.CHECK and in_message:
            answer = check_in_dm(services, client, own_dm(), learner, intent, "button")
        else:
            answer = alert_staff(
                services,
                client,
                with_files_sent(services, client, coach.handle(learner, intent, source="button")),
            )
            send(answer)
        follow_up(services, client, answer)
