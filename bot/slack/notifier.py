"""Slack as the use cases' :class:`bot.course.ports.Notifier`: the DM, the staff channel."""

from __future__ import annotations

from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.course.ports import PendingMessage
from bot.course.replies import Answer
from bot.course.reports import Report
from bot.errors import NotDelivered
from bot.slack.delivery import Services, tell
from bot.slack.digest import post_digest


class SlackNotifier:
    def __init__(self, services: Services, client: WebClient) -> None:
        self.services = services
        self.client = client

    def tell(self, answer: Answer, *, why: str) -> bool:
        return tell(self.services, self.client, answer, why=why)

    def staff_digest(self, report: Report, now: datetime) -> None:
        try:
            post_digest(self.services, self.client, report, now)
        except SlackApiError as error:
            raise NotDelivered(str(error.response.get("error"))) from error
        except (SlackClientError, OSError) as error:
            raise NotDelivered(type(error).__name__) from error

    def resend(self, message: PendingMessage) -> None:
        try:
            self.client.chat_postMessage(
                channel=message.channel, text=message.text, blocks=message.blocks or None
            )
        except SlackApiError as error:
            raise NotDelivered(str(error.response.get("error"))) from error
        except OSError as error:
            raise NotDelivered(type(error).__name__) from error
