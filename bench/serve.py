"""``python -m bench.serve bare|ack-first``: other apps served the way the Procfile's ``web:``
line serves PR Coach.

Both go through :func:`bot.serving.web.serve_http` — the same gunicorn, ``WEB_CONCURRENCY``
workers of 8 threads (gthread), the same access log — and the same WSGI routing
(:func:`bot.serving.wsgi.make_wsgi_app`), so that only the Bolt app differs:

* ``bare``: a minimal Bolt app, one listener that only acknowledges (for ``/prcoach`` and
  for the ``prcoach_*`` buttons), Bolt's defaults otherwise as in PR Coach: the floor that
  Bolt and this server set;
* ``ack-first``: PR Coach itself, built unchanged except that Bolt runs the acknowledgement
  in the request's own thread (``process_before_response=True``) instead of queueing it
  behind the background work in Bolt's listener pool — what-if for the ack benchmark.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from slack_bolt import Ack, App

from bot.serving.logs import configure_logging
from bot.serving.web import create_wsgi_app, serve_http
from bot.serving.wsgi import WSGIApp, make_wsgi_app
from bot.settings import Settings, load_settings
from bot.slack.app import make_web_client


def bare_app(settings: Settings) -> WSGIApp:
    app = App(
        # As PR Coach's: Bolt asks auth.test once per process, of SLACK_API_URL (the fake).
        client=make_web_client(settings),
        signing_secret=settings.slack_signing_secret.reveal(),
        token_verification_enabled=False,
        process_before_response=False,  # as PR Coach's (bot/slack/app.py)
    )

    def acknowledge(ack: Ack) -> None:
        ack()

    app.command("/prcoach")(acknowledge)
    app.action(re.compile(r"^prcoach_"))(acknowledge)
    return make_wsgi_app(app, lambda: True)


def ack_first_app(settings: Settings) -> WSGIApp:
    import bot.slack.app as slack_app

    class AckFirst(App):
        def __init__(self, **options: Any) -> None:
            super().__init__(**{**options, "process_before_response": True})

    slack_app.App = AckFirst  # type: ignore[misc]  # in this benchmark's workers only
    return create_wsgi_app(settings)


FACTORIES = {"bare": bare_app, "ack-first": ack_first_app}


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
