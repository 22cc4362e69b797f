"""Production HTTP serving: gunicorn runs the WSGI app, one Bolt app per worker.

The master process validates settings and the course, applies migrations and asks
Slack who we are *before* forking, so a bad setting fails once, clearly, at start.
"""

from __future__ import annotations

import errno
import gc
import json
import logging
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import TConn, ThreadWorker

from bot.github.webhooks import Delivery
from bot.serving.github_webhook import GitHubWebhook
from bot.serving.wsgi import WSGIApp, make_wsgi_app
from bot.settings import Settings
from bot.slack.app import build_app
from bot.wiring import build

log = logging.getLogger(__name__)
# Seconds the answering process has, at stop, to finish the answers it is writing.
ANSWERERS_GRACE = 15


def create_wsgi_app(settings: Settings) -> WSGIApp:
    parts = build(settings)
    # Seals this process's journal for the answering process to move (bot.storage.journal).
    parts.requests.start_keeper()
    slack_app = build_app(parts.services)

    def record(delivery: Delivery) -> None:
        # Recorded here, answered by an answerer (bot.serving.answerers), like Slack requests.
        body = {
            "event": delivery.event,
            "logins": list(delivery.logins),
            "user_ids": list(delivery.user_ids),
            "fork": delivery.fork,
            "pr_number": delivery.pr_number,
        }
        parts.requests.record("delivery", body, key=json.dumps(["delivery", body]))

    webhook = GitHubWebhook(
        settings.github_webhook_secret.reveal(),
        settings.practice_repo,
        parts.store.claim_delivery,
        record,
    )
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
SWITCH_INTERVAL = 0.001


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


class _Answerers:
    """The answering process (``python -m bot answer``) beside gunicorn's web processes,
    started with the server, started again if it dies, stopped with the server."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()

    def start(self, _server: object = None) -> None:
        self._spawn()
        threading.Thread(target=self._watch, name="answerers-watch", daemon=True).start()

    def _spawn(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "bot", "answer"])

    def _watch(self) -> None:
        while not self._stopping.wait(1.0):
            if self.process is not None and self.process.poll() is not None:
                log.error(
                    "the answering process exited (%s): starting it again", self.process.returncode
                )
                self._spawn()

    def stop(self, _server: object = None) -> None:
        self._stopping.set()
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=ANSWERERS_GRACE)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


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
        app = (self.app_factory or create_wsgi_app)(self.settings)
        # What start-up built (modules, the course, Bolt, SQLAlchemy's tables) lives as long
        # as the process: out of the collector's sight, a full collection no longer walks it
        # and stalls every request thread meanwhile.
        gc.collect()
        gc.freeze()
        # A thread that computes (the journal's keeper moving segments when no answering
        # process does, a large staff report) hands the GIL to the request threads every
        # millisecond rather than every five: their latency's tail.
        sys.setswitchinterval(SWITCH_INTERVAL)
        return app


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
    if app_factory is None:
        # Requests are answered by another process than the web processes (see
        # bot/slack/requests.py for why): started and stopped with the server.
        answerers = _Answerers()
        options["on_starting"] = answerers.start
        options["on_exit"] = answerers.stop
    log.info("serving HTTP on port %s", settings.port)
    _Gunicorn(settings, options, app_factory).run()
