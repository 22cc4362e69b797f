"""The Bolt app: a WebClient pointed at ``SLACK_API_URL``, retry dedupe, the listeners."""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import RetryHandler
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

from bot.errors import ConfigError
from bot.settings import Settings
from bot.slack import listeners
from bot.slack.delivery import Services

log = logging.getLogger(__name__)


def make_web_client(settings: Settings, *, wait_when_rate_limited: bool = False) -> WebClient:
    """A dropped connection deserves one more try. Slack's 429 says how long to wait: only
    the worker waits (``wait_when_rate_limited``); a web process never sleeps in a listener
    thread — what Slack refused goes to the outbox at once (see ``delivery.post``)."""
    handlers: list[RetryHandler] = [ConnectionErrorRetryHandler(max_retry_count=1)]
    if wait_when_rate_limited:
        handlers.insert(0, RateLimitErrorRetryHandler(max_retry_count=2))
    return WebClient(
        token=settings.slack_bot_token.reveal() or None,
        base_url=settings.slack_api_url,
        timeout=10,
        retry_handlers=handlers,
    )


def check_token(client: WebClient) -> None:
    """Ask Slack who we are: a refused token stops the start with a clear message; Slack
    being unreachable only warns (it may be back by the time someone writes)."""
    try:
        identity = client.auth_test()
        log.info(
            "connected to Slack workspace %s as %s", identity.get("team"), identity.get("user")
        )
    except SlackApiError as error:
        if error.response.get("error") in ("invalid_auth", "not_authed", "account_inactive"):
            raise ConfigError(
                "SLACK_BOT_TOKEN",
                "SLACK_BOT_TOKEN was refused by Slack (invalid_auth). Copy "
                "the Bot User OAuth Token again from the Slack app page → OAuth & Permissions.",
            ) from None
        log.warning("Slack auth.test failed (%s); starting anyway", error.response.get("error"))
    except OSError as error:
        log.warning("Slack is unreachable for now (%s); starting anyway", type(error).__name__)


class _TokenFromEnvironment(logging.Filter):
    """Bolt reads ``SLACK_BOT_TOKEN`` from the environment even when it is given a client
    built from that very token, then warns that the token is unused: true, and noise at
    every worker's start."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


_TOKEN_NOTE = _TokenFromEnvironment()


def build_app(services: Services) -> App:
    settings = services.settings
    bolt_log = logging.getLogger("slack_bolt.App")
    if _TOKEN_NOTE not in bolt_log.filters:
        bolt_log.addFilter(_TOKEN_NOTE)
    app = App(
        client=make_web_client(settings),
        signing_secret=settings.slack_signing_secret.reveal() or None,
        # The start-up preflight already asked auth.test; workers need not ask again.
        token_verification_enabled=False,
        # Acknowledge in the request's own thread: the listeners only keep the request (a
        # line in the process's journal) and acknowledge; answerers do the rest in another process
        # (bot/slack/requests.py says why). No Bolt pool, no queue in this process.
        process_before_response=True,
    )

    listeners.register(app, services)
    return app
