"""The weekly digest for the staff channel (filled in by the digest work)."""

from __future__ import annotations

from datetime import datetime

from slack_sdk import WebClient

from bot.slack.delivery import Services


def post_digest(services: Services, client: WebClient, now: datetime) -> None:
    raise NotImplementedError("the weekly digest is being written")
