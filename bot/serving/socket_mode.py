"""Socket Mode: try the bot without a public URL (``SLACK_APP_TOKEN`` set)."""

from __future__ import annotations

import logging

from slack_bolt.adapter.socket_mode import SocketModeHandler

from bot.settings import Settings
from bot.slack.app import build_app
from bot.wiring import build

log = logging.getLogger(__name__)


def serve_socket_mode(settings: Settings) -> None:
    parts = build(settings)
    app = build_app(parts.services, parts.store.claim_delivery)
    if parts.services.sign_ins is not None:
        parts.services.sign_ins.resume(parts.services, app.client)
    log.info("connecting to Slack in Socket Mode")
    SocketModeHandler(app, settings.slack_app_token.reveal()).start()
