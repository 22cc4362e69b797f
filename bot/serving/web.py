"""Production HTTP serving: gunicorn runs the WSGI app, one Bolt app per worker.

The master process validates settings and the course, applies migrations and asks
Slack who we are *before* forking, so a bad setting fails once, clearly, at start.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication

from bot.github.webhooks import Delivery
from bot.serving.github_webhook import GitHubWebhook
from bot.serving.wsgi import WSGIApp, make_wsgi_app
from bot.settings import Settings
from bot.slack.app import build_app
from bot.slack.progress import announce_for_logins
from bot.slack.reviews import follow_and_announce, learners_for
from bot.wiring import build

log = logging.getLogger(__name__)


def create_wsgi_app(settings: Settings) -> WSGIApp:
    parts = build(settings)
    slack_app = build_app(parts.services, parts.store.claim_delivery)

    def act(delivery: Delivery) -> None:
        if delivery.event in ("fork", "pull_request"):
            # A fork's sender made it: under an organisation, the fork check names it.
            hints = {"fork_hint": delivery.fork} if delivery.fork else None
            announce_for_logins(
                parts.services,
                slack_app.client,
                delivery.logins,
                "webhook",
                delivery.user_ids,
                hints=hints,
            )
        if delivery.pr_number is not None:
            # After the check: a pull request just recorded as opened is followed from now.
            learners = learners_for(parts.services, delivery.logins, delivery.user_ids)
            follow_and_announce(parts.services, slack_app.client, learners, "webhook")

    webhook = GitHubWebhook(
        settings.github_webhook_secret.reveal(),
        settings.practice_repo,
        parts.store.claim_delivery,
        act,
    )
    if parts.services.sign_ins is not None:
        # Sign-ins on GitHub that were pending when the previous process stopped.
        parts.services.sign_ins.resume(parts.services, slack_app.client)
    return make_wsgi_app(
        slack_app,
        # Healthy means able to write: a locked, read-only or full database is not healthy.
        parts.store.can_write,
        webhook,
        signing_secret=settings.slack_signing_secret.reveal(),
    )


class _Gunicorn(BaseApplication):
    def __init__(
        self,
        settings: Settings,
        options: dict[str, Any],
        app_factory: Callable[[Settings], WSGIApp] | None = None,
    ) -> None:
        self.settings = settings
        self.options = options
        self.app_factory = app_factory
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> WSGIApp:
        # Runs in each worker after the fork: database connections are not shared.
        return (self.app_factory or create_wsgi_app)(self.settings)


def serve_http(
    settings: Settings, app_factory: Callable[[Settings], WSGIApp] | None = None
) -> None:
    """Serve PR Coach (or, for bench/, ``app_factory``'s app) with the production options."""
    options = {
        "bind": f"0.0.0.0:{settings.port}",
        # WEB_CONCURRENCY is the platforms' (Heroku, Scalingo) way to size web processes.
        "workers": int(os.environ.get("WEB_CONCURRENCY", "2")),
        "worker_class": "gthread",
        "threads": 8,
        "timeout": 60,
        "graceful_timeout": 20,
        "accesslog": "-",
        "errorlog": "-",
        # gunicorn's own lines in PR Coach's format, through the same secret filter.
        "logger_class": "bot.serving.logs.GunicornLogs",
        "loglevel": settings.log_level.lower(),
        "proc_name": "prcoach-web",
    }
    log.info("serving HTTP on port %s", settings.port)
    _Gunicorn(settings, options, app_factory).run()
