"""Bolt listeners, one folder per kind, each with a ``register(app, services)``.

Listeners are thin: record the request and acknowledge at once (:mod:`bot.slack.requests`);
each kind's ``answer_*`` function — parse, call the coach, render, send — runs later in an
answerer (:mod:`bot.serving.answerers`), never in the web process's request threads.
"""

from __future__ import annotations

from slack_bolt import App

from bot.slack.delivery import Services
from bot.slack.listeners import actions, commands, events


def register(app: App, services: Services) -> None:
    commands.register(app, services)
    events.register(app, services)
    actions.register(app, services)
