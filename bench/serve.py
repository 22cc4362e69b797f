"""``python -m bench.serve bare|bare-lazy``: a minimal Bolt app served the way the Procfile's
``web:`` line serves PR Coach.

It goes through :func:`bot.serving.web.serve_http` — the same gunicorn, ``WEB_CONCURRENCY``
workers of 32 threads (gthread), the same access log — and the same WSGI routing
(:func:`bot.serving.wsgi.make_wsgi_app`), so that only the Bolt app differs: one listener
that only acknowledges (for ``/prcoach`` and for the ``prcoach_*`` buttons), with the
same Bolt options as PR Coach. The floor that Bolt and this server set. ``bare-lazy``
adds a ``lazy=`` listener that does nothing, as PR Coach's listeners do their work: Bolt's
price for answering first and working after.
"""

from __future__ import annotations

import re
import sys

from slack_bolt import Ack, App

from bot.serving.logs import configure_logging
from bot.serving.web import serve_http
from bot.serving.wsgi import WSGIApp, make_wsgi_app
from bot.settings import Settings, load_settings
from bot.slack.app import make_web_client


def bare_app(settings: Settings, *, lazy: bool = False) -> WSGIApp:
    app = App(
        # As PR Coach's: Bolt asks auth.test once per process, of SLACK_API_URL (the fake).
        client=make_web_client(settings),
        signing_secret=settings.slack_signing_secret.reveal(),
        token_verification_enabled=False,
        # As PR Coach's (bot/slack/app.py): the ack in the request's thread, Bolt's fastest.
        process_before_response=True,
    )

    def acknowledge(ack: Ack) -> None:
        ack()

    def nothing() -> None:
        pass

    if lazy:
        app.command("/prcoach")(ack=acknowledge, lazy=[nothing])
        app.action(re.compile(r"^prcoach_"))(ack=acknowledge, lazy=[nothing])
    else:
        app.command("/prcoach")(acknowledge)
        app.action(re.compile(r"^prcoach_"))(acknowledge)
    return make_wsgi_app(app, lambda: True, signing_secret=settings.slack_signing_secret.reveal())


def bare_lazy_app(settings: Settings) -> WSGIApp:
    return bare_app(settings, lazy=True)


FACTORIES = {"bare": bare_app, "bare-lazy": bare_lazy_app}


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in FACTORIES:
        print(f"usage: python -m bench.serve {'|'.join(FACTORIES)}", file=sys.stderr)
        return 2
    settings = load_settings(need_slack=True)
    configure_logging(
        settings.log_level,
        [settings.slack_bot_token.reveal(), settings.slack_signing_secret.reveal()],
    )
    serve_http(settings, FACTORIES[argv[0]])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
