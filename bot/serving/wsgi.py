"""The HTTP surface: ``POST /slack/events``, ``GET /healthz``; one small route table.

Nothing from Slack's endpoint reaches Bolt before it is known to come from Slack: the body's
announced size is checked before a byte of it is read, the signature before anything is
parsed, and a request refused on the way leaves one short log line (the access log's, with
the reason) — never its body, never a traceback.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any
from urllib.parse import parse_qs

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# Slack's requests are small: a slash command is about 0.5 kB, an event 2-4 kB, a click
# 5-20 kB (the clicked message or view comes back with it). The largest Slack can send is
# a click in a view of 100 blocks of 3,000 characters, form-encoded: under 1 MiB. So 1 MiB
# refuses nothing Slack sends, and bounds what one request can cost (memory, parsing).
MAX_SLACK_BODY = 1024 * 1024
# A client that announced a body and does not send all of it within this is cut off (Slack
# sends its few kilobytes at once).
BODY_READ_SECONDS = 5.0
# Slack's own rule: a signature older than five minutes is refused (replays).
SIGNATURE_MAX_AGE = 5 * 60
# /healthz answers within this, healthy or not (platforms' checks time out at 1-5 s).
HEALTH_SECONDS = 0.9
# Where the access log finds why a request was refused (see bot/serving/logs.py).
REFUSED = "prcoach.refused"


def _json(start_response: Callable[..., Any], status: str, payload: dict[str, Any]) -> list[bytes]:
    body = json.dumps(payload).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


class SlackGuard:
    """In front of Bolt: size, signature, then well-formed content — or a short refusal."""

    def __init__(self, bolt: WSGIApp, signing_secret: str) -> None:
        self._bolt = bolt
        self._secret = signing_secret.strip().encode()

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        def refuse(status: str, reason: str, *, close: bool = False) -> list[bytes]:
            environ[REFUSED] = reason
            body = json.dumps({"error": reason}).encode()
            headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
            if close:
                _close_after(start_response)
            start_response(status, headers)
            return [body]

        length_header = environ.get("CONTENT_LENGTH") or ""
        if not (length_header.isascii() and length_header.isdigit()):
            # Slack always says how long its body is (no chunked uploads).
            return refuse("411 Length Required", "no_content_length", close=True)
        length = int(length_header)
        if length > MAX_SLACK_BODY:
            return refuse("413 Content Too Large", "body_too_large", close=True)
        timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "")
        signature = environ.get("HTTP_X_SLACK_SIGNATURE", "")
        if not signature or not _fresh(timestamp):
            return refuse("401 Unauthorized", "unsigned_or_stale", close=True)
        if not self._secret:
            return refuse("401 Unauthorized", "signing_secret_not_set", close=True)
        body = _read(environ, length)
        if body is None:
            return refuse("408 Request Timeout", "body_not_received", close=True)
        if not _signed(self._secret, timestamp, body, signature):
            return refuse("401 Unauthorized", "bad_signature")
        problem = _malformed(body, environ.get("CONTENT_TYPE", ""))
        if problem:
            return refuse("400 Bad Request", problem)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return self._bolt(environ, start_response)


def _close_after(start_response: Callable[..., Any]) -> None:
    """Close the connection after this answer: its unread body must be neither read nor
    drained to find a next request. gunicorn drops a ``Connection`` header set by the
    application (hop-by-hop); its response's ``force_close`` is the way to ask."""
    force_close = getattr(getattr(start_response, "__self__", None), "force_close", None)
    if callable(force_close):
        force_close()


def _fresh(timestamp: str) -> bool:
    """A whole number of seconds, within five minutes of now."""
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        return False
    return abs(time.time() - int(timestamp)) <= SIGNATURE_MAX_AGE


def _signed(secret: bytes, timestamp: str, body: bytes, signature: str) -> bool:
    """Slack's signature: ``v0=`` HMAC-SHA256 of ``v0:{timestamp}:{body}``, on the raw bytes
    (slack_sdk's verifier decodes the body first, which fails on invalid UTF-8)."""
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret, base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def _read(environ: dict[str, Any], length: int) -> bytes | None:
    """Exactly ``length`` bytes of body, or None if the client does not send them within
    BODY_READ_SECONDS (all of them: a client sending a byte now and then is cut off too)."""
    deadline = time.monotonic() + BODY_READ_SECONDS
    sock = environ.get("gunicorn.socket")
    previous = sock.gettimeout() if sock is not None else None
    chunks: list[bytes] = []
    received = 0
    try:
        while received < length:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if sock is not None:
                sock.settimeout(min(left, previous or left))
            chunk = environ["wsgi.input"].read(min(length - received, 64 * 1024))
            if not chunk:
                return None
            chunks.append(chunk)
            received += len(chunk)
    except OSError:
        return None
    finally:
        if sock is not None:
            with contextlib.suppress(OSError):  # closed meanwhile
                sock.settimeout(previous)
    return b"".join(chunks)


def _malformed(body: bytes, content_type: str) -> str | None:
    """Why Bolt could not read this body (even signed), or None when it can."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "invalid_utf8"
    try:
        if content_type.startswith("application/json"):
            payload: Any = json.loads(text)
        else:
            form = parse_qs(text, strict_parsing=False, max_num_fields=200)
            if "payload" not in form:
                return None  # a slash command: plain form fields
            payload = json.loads(form["payload"][0])
    except (ValueError, RecursionError):
        return "malformed_body"
    return None if isinstance(payload, dict) else "malformed_body"


def make_wsgi_app(
    slack_app: App,
    healthy: Callable[[], bool],
    github_webhook: WSGIApp | None = None,
    *,
    signing_secret: str,
) -> WSGIApp:
    slack = SlackGuard(SlackRequestHandler(slack_app, path="/slack/events"), signing_secret)

    # One probe at a time, shared by the health checks that arrive meanwhile; whatever the
    # database does, the answer comes within HEALTH_SECONDS.
    probes = ThreadPoolExecutor(max_workers=1, thread_name_prefix="healthz")
    lock = threading.Lock()
    running: list[Future[bool]] = []

    def healthz(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with lock:
            if not running or running[0].done():
                running[:] = [probes.submit(healthy)]
            probe = running[0]
        try:
            ok = probe.result(timeout=HEALTH_SECONDS)
        except FutureTimeout:
            environ[REFUSED] = "health_probe_slow"
            ok = False
        except Exception as error:
            environ[REFUSED] = f"health_probe_failed:{type(error).__name__}"
            ok = False
        if ok:
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
