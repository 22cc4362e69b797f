"""Socket Mode: the bot without a public URL (``SLACK_APP_TOKEN`` set).

Slack's requests arrive over a WebSocket the bot opens (``apps.connections.open``), so
nothing needs to reach this machine: right for trying the bot, or behind a firewall. The
process also runs the worker's scheduled jobs (digest, reminders, background checks,
retention): one command is the whole bot. A separate ``python -m bot worker`` is not needed;
if one runs anyway, each job claims its work in the database and nothing happens twice.
"""

from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler
from slack_bolt.adapter.socket_mode import SocketModeHandler

from bot.serving.answerers import Answerers, answering
from bot.serving.worker import add_jobs, make_scheduler
from bot.settings import Settings
from bot.slack.app import build_app
from bot.wiring import build

log = logging.getLogger(__name__)


def serve_socket_mode(settings: Settings, *, jobs: bool = True) -> None:
    """One process does everything here (a newcomer's ``python -m bot``): the listeners
    record requests, a pool of answerers in the same process answers them, and (``jobs``)
    the worker's jobs run here too."""
    parts = build(settings)
    services = parts.services
    app = build_app(services)
    parts.requests.start_keeper()
    answerers = Answerers(parts.requests, answering(parts, app.client)).start()
    if services.sign_ins is not None:
        services.sign_ins.resume()
    scheduler = None
    if jobs:
        scheduler = make_scheduler(settings, BackgroundScheduler)
        add_jobs(scheduler, settings, parts, app.client)
        scheduler.start()
        log.info("the worker's jobs run in this process (digest, reminders, background checks)")
    log.info("connecting to Slack in Socket Mode")
    try:
        SocketModeHandler(app, settings.slack_app_token.reveal()).start()  # until stopped
    finally:
        answerers.stop()
        parts.requests.close()
        if scheduler is not None:
            scheduler.shutdown(wait=False)
