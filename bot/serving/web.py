"""Production HTTP serving: gunicorn runs the WSGI app, one Bolt app per worker.

The master process validates settings and the course, applies migrations and asks
Slack who we are *before* forking, so a bad setting fails once, clearly, at start.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import TConn, ThreadWorker

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


# Slow or stalled clients (issue 13). A gthread worker gives a thread to a connection as soon
# as its first bytes arrive; a client that then stops sending (headers or body) would keep
# the thread. So: every read from a client waits CLIENT_READ_SECONDS at most (one request
# per connection, so that the limit applies to every request), the Slack endpoint reads its
# whole body within a deadline (bot/serving/wsgi.py), and there are more threads than a
# handful of stalled clients can hold. Measured in bench/hardening.py; in production, a
# buffering proxy in front (README, "Production") holds slow clients instead of us.
CLIENT_READ_SECONDS = 5.0
THREADS = 32


class _PatientConnection(TConn):
    def init(self) -> None:
        super().init()
        self.sock.settimeout(CLIENT_READ_SECONDS)


class PatientThreadWorker(ThreadWorker):
    """gunicorn's gthread worker whose connections time out on a client that stops sending."""

    def accept(self, listener: Any) -> None:
        try:
            client_sock, client_addr = listener.accept()
            self.nr_conns += 1
            client_sock.setblocking(True)
            conn = _PatientConnection(self.cfg, client_sock, client_addr, listener.getsockname())
            self.enqueue_req(conn)
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise


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
        "workers": settings.web_concurrency,
        "worker_class": "bot.serving.web.PatientThreadWorker",
        "threads": THREADS,
        # One request per connection: the read timeout then covers every request's headers.
        # (Slack opens a connection per request anyway; so do most platforms' routers.)
        "keepalive": 0,
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
