"""A learner talking to the real bot: what they say or click, and what the bot answers.

Tests read as (what the person does, what the bot answers) pairs::

    answer = ada.says("check")
    assert "Not yet" in answer.text
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from tests.rig.fake_slack import FakeSlack, Message, dm_channel_id
from tests.rig.slack_sender import SlackSender

# The bot acknowledges within Slack's 3 seconds; its answer may take longer (GitHub).
ACK_BUDGET = 3.0
# What a slow check shows until its verdict replaces it: not an answer.
CHECKING = ("Checking on GitHub…", "Je vérifie sur GitHub…")


def is_answer(message: Message) -> bool:
    return message.text not in CHECKING


@dataclass
class Conversation:
    slack: SlackSender
    fake: FakeSlack
    user_id: str
    timeout: float = 15.0

    @property
    def dm(self) -> str:
        return dm_channel_id(self.user_id)

    def _exchange(
        self, send: Callable[[], requests.Response], matches: Callable[[Message], bool]
    ) -> Message:
        mark = len(self.fake.calls)
        started = time.monotonic()
        response = send()
        assert response.status_code == 200, response.text
        assert time.monotonic() - started < ACK_BUDGET, "acknowledged after Slack's 3 seconds"
        return self.fake.wait_for_message(matches, timeout=self.timeout, after=mark)

    def says(self, text: str) -> Message:
        """A direct message to the bot; the answer is posted in the DM."""
        return self._exchange(
            lambda: self.slack.dm_message(text, user_id=self.user_id),
            lambda m: m.via == "chat.postMessage" and m.channel == self.dm and is_answer(m),
        )

    def types(self, command_text: str) -> Message:
        """``/prcoach <command_text>``; the answer comes through the response_url."""
        return self._exchange(
            lambda: self.slack.command(command_text, user_id=self.user_id),
            lambda m: m.via == "response_url" and is_answer(m),
        )

    def clicks(
        self, action_id: str, on: Message | None = None, value: str | None = None
    ) -> Message:
        """A button of a bot message in the DM (the latest one carrying it by default)."""
        message = on or self.last_with_button(action_id)
        payload_message: dict[str, Any] = {
            "type": "message",
            "ts": message.ts,
            "text": message.text,
            "blocks": message.blocks,
            "user": self.slack.bot_user_id,
            "bot_id": self.slack.bot_id,
        }
        return self._exchange(
            lambda: self.slack.action(
                action_id,
                value=value,
                user_id=self.user_id,
                channel_id=self.dm,
                message=payload_message,
            ),
            lambda m: (m.channel == self.dm or m.via == "response_url") and is_answer(m),
        )

    def confirms(self) -> Message:
        """*Yes, that's me* on the latest "Is this you?" (the account of a typed login)."""
        return self.clicks("prcoach_that_is_me")

    def links(self, login: str) -> Message:
        """``/prcoach link <login>``, then *Yes, that's me*: the answer to the click."""
        question = self.types(f"link {login}")
        assert "prcoach_that_is_me" in str(question.blocks), question.text
        return self.clicks("prcoach_that_is_me", on=question)

    def enters(self, action_id: str, text: str) -> Message:
        """Types ``text`` in the box ``action_id`` of the latest message carrying it, then Enter."""
        message = self.last_with_button(action_id)
        payload_message: dict[str, Any] = {
            "type": "message",
            "ts": message.ts,
            "text": message.text,
            "blocks": message.blocks,
            "user": self.slack.bot_user_id,
            "bot_id": self.slack.bot_id,
        }
        return self._exchange(
            lambda: self.slack.text_input(
                action_id, text, user_id=self.user_id, channel_id=self.dm, message=payload_message
            ),
            lambda m: (m.channel == self.dm or m.via == "response_url") and is_answer(m),
        )

    def last_with_button(self, action_id: str) -> Message:
        for message in reversed(self.fake.messages()):
            if action_id in str(message.blocks):
                return message
        raise AssertionError(f"no message with a {action_id} button")


def buttons(message: Message) -> list[str]:
    """The labels of the buttons in a message, in order."""
    labels = []
    for block in message.blocks:
        for element in block.get("elements", []):
            if element.get("type") == "button":
                labels.append(element["text"]["text"])
    return labels
