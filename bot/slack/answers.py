"""Answering a recorded request (:mod:`bot.slack.requests`): what the listeners used to do
after the acknowledgement, now done by an answerer, from the request's stored body."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from bot.course.ports import Taken
from bot.slack.delivery import Services
from bot.slack.listeners.actions import answer_click
from bot.slack.listeners.commands import answer_command
from bot.slack.listeners.events import answer_home, answer_message

log = logging.getLogger(__name__)


class ResponseUrl:
    """Bolt's ``respond`` for a stored request: a POST to the request's ``response_url``
    (valid 30 minutes, 5 times), which Slack shows where the person typed or clicked."""

    def __init__(self, url: str | None) -> None:
        self._url = url

    def __call__(self, **message: Any) -> None:
        if not self._url:
            log.warning("a request without response_url: its answer cannot be shown there")
            return
        response = WebhookClient(self._url, timeout=10).send_dict(message)
        if response.status_code != 200:
            raise OSError(f"response_url answered {response.status_code}")


def answer_request(services: Services, client: WebClient, request: Taken) -> None:
    body = request.body
    if request.kind == "command":
        answer_command(services, body, ResponseUrl(body.get("response_url")), client)
    elif request.kind == "action":
        answer_click(services, body, ResponseUrl(body.get("response_url")), client)
    elif request.kind == "message":
        answer_message(services, body, client)
    elif request.kind == "home":
        answer_home(services, body, client)
    else:
        log.error("a waiting request of unknown kind %r is dropped", request.kind)
