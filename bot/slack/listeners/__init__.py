"""Bolt listeners, one folder per kind, each with a ``register(app, services)``.

Listeners are thin: acknowledge at once, then (lazily, after the ack) parse, call the
coach, render and send. Slow work never happens before the acknowledgement.
"""

from __future__ import annotations

from slack_bolt import App

from bot.slack.delivery import Services
from bot.slack.listeners import actions, commands, events


def register(app: App, services: Services) -> None:
    commands.register(app, services)
    events.register(app, services)
    actions.register(app, services)
