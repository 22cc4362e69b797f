"""``POST /github/webhook``: verify, deduplicate, record, answer at once.

GitHub waits 10 seconds at most; the re-check (GitHub API calls, then a Slack message) is
only recorded here (``record``: one database write) and done by an answerer afterwards.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from bot.errors import MalformedDelivery, StorageUnavailable
from bot.github.webhooks import Delivery, parse_delivery, signature_ok

log = logging.getLogger(__name__)
MAX_BODY = 25 * 1024 * 1024  # GitHub caps payloads at 25 MB


class GitHubWebhook:
    def __init__(
        self,
        secret: str,
        upstream: str,
        claim: Callable[[str], bool],
        record: Callable[[Delivery], None],
    ) -> None:
        self._secret = secret
        self._upstream = upstream
        self._claim = claim
        self._record = record

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        def answer(status: str, text: str) -> list[bytes]:
            body = text.encode()
            start_response(
                status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
            )
            return [body]

        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if not 0 < length <= MAX_BODY:
            return answer("400 Bad Request", "no body")
        body = environ["wsgi.input"].read(length)
        if not self._secret:
            log.warning("GitHub webhook refused: GITHUB_WEBHOOK_SECRET is not set")
            return answer("403 Forbidden", "webhooks are not configured")
        if not signature_ok(self._secret, body, environ.get("HTTP_X_HUB_SIGNATURE_256")):
            log.warning("GitHub webhook refused: bad or missing X-Hub-Signature-256")
            return answer("401 Unauthorized", "bad signature")

        event = environ.get("HTTP_X_GITHUB_EVENT", "")
        delivery_id = environ.get("HTTP_X_GITHUB_DELIVERY", "")
        if event == "ping":
            return answer("200 OK", "pong")
        try:
            delivery = parse_delivery(event, body, self._upstream)
        except MalformedDelivery as error:
            log.warning("GitHub delivery %s (%s) is malformed: %s", delivery_id, event, error)
            return answer("400 Bad Request", "malformed delivery")
        if delivery is None or not delivery.logins:
            return answer("202 Accepted", "ignored")
        try:
            first = not delivery_id or self._claim(f"github:{delivery_id}")
        except StorageUnavailable as trouble:
            # GitHub shows the failure; the delivery can be redelivered from its page.
            log.warning("GitHub delivery %s not recorded: %s", delivery_id, trouble.cause)
            return answer("503 Service Unavailable", "storage unavailable")
        if not first:
            log.info("GitHub delivery %s already handled", delivery_id)
            return answer("200 OK", "already handled")
        self._record(delivery)
        return answer("202 Accepted", "accepted")
