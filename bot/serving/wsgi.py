"""The HTTP surface: ``POST /slack/events``, ``GET /healthz``; one small route table."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _json(start_response: Callable[..., Any], status: str, payload: dict[str, Any]) -> list[bytes]:
    body = json.dumps(payload).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


def make_wsgi_app(
    slack_app: App, healthy: Callable[[], bool], github_webhook: WSGIApp | None = None
) -> WSGIApp:
    slack = SlackRequestHandler(slack_app, path="/slack/events")

    def healthz(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if healthy():
            return _json(start_response, "200 OK", {"status": "ok"})
        return _json(start_response, "503 Service Unavailable", {"status": "unavailable"})

    routes: dict[tuple[str, str], WSGIApp] = {
        ("POST", "/slack/events"): slack,
        ("GET", "/healthz"): healthz,
    }
    if github_webhook is not None:
        routes[("POST", "/github/webhook")] = github_webhook

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        key = (environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "/"))
        handler = routes.get(key)
        if handler is None:
            return _json(start_response, "404 Not Found", {"error": "not found"})
        return handler(environ, start_response)

    return application
