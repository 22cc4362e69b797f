"""Send requests to the bot's ``POST /slack/events`` exactly as Slack sends them, signed.

Bodies follow the reference captures in ``/work/shared/reference/slack`` (slash-command form
fields, the modern ``event_callback`` envelope, ``block_actions`` interactivity payloads) and are
signed the way Slack signs: ``X-Slack-Signature: v0=hex(HMAC-SHA256(secret, "v0:{ts}:{body}"))``
with ``X-Slack-Request-Timestamp``.  ``sign`` and ``raw`` let tests send stale or tampered
requests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import secrets
import string
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import requests

from .fake_slack import BOT_ID, BOT_USER_ID, DEFAULT_APP_ID, DEFAULT_TEAM_ID, dm_channel_id

if TYPE_CHECKING:
    from .fake_slack import FakeSlack

__all__ = ["SentRequest", "SlackSender"]

USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
_ID_CHARS = string.ascii_uppercase + string.digits


@dataclass(frozen=True)
class SentRequest:
    """What the sender last posted: raw body, headers, and the decoded payload."""

    body: bytes
    headers: dict[str, str]
    payload: dict[str, Any]


class SlackSender:
    """Posts Slack-signed requests to ``{base_url}{path}`` (the bot's Request URL).

    ``fake`` (optional) supplies response URLs served by a ``FakeSlack`` when a test does not
    pass one; without it the default response URLs point at ``hooks.slack.com.invalid``, a name
    that never resolves, so a bot under test can never reach the real Slack.
    """

    def __init__(
        self,
        base_url: str,
        signing_secret: str,
        team_id: str = DEFAULT_TEAM_ID,
        api_app_id: str = DEFAULT_APP_ID,
        *,
        path: str = "/slack/events",
        team_domain: str = "prcoach-test",
        bot_user_id: str = BOT_USER_ID,
        bot_id: str = BOT_ID,
        verification_token: str = "legacy-verification-token",
        fake: FakeSlack | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.url = base_url.rstrip("/") + path
        self.signing_secret = signing_secret
        self.team_id = team_id
        self.api_app_id = api_app_id
        self.team_domain = team_domain
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.verification_token = verification_token
        self.fake = fake
        self.timeout = timeout
        self.last_request: SentRequest | None = None
        self._serial = itertools.count(1)

    # ---- signing and transport --------------------------------------------------------------

    def sign(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """The two signature headers Slack adds to ``body`` (now, unless ``timestamp``)."""
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        basestring = b"v0:" + stamp.encode() + b":" + body
        digest = hmac.new(self.signing_secret.encode(), basestring, hashlib.sha256).hexdigest()
        return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}

    def raw(self, body: bytes, headers: dict[str, str]) -> requests.Response:
        """POST ``body`` with exactly ``headers`` (plus requests' own), unsigned."""
        return requests.post(self.url, data=body, headers=headers, timeout=self.timeout)

    def _send(
        self,
        body: bytes,
        content_type: str,
        payload: dict[str, Any],
        extra_headers: dict[str, str] | None = None,
    ) -> requests.Response:
        headers = {
            "Content-Type": content_type,
            "User-Agent": USER_AGENT,
            "Accept": "*/*",
            "Accept-Encoding": "gzip,deflate",
            **self.sign(body),
            **(extra_headers or {}),
        }
        self.last_request = SentRequest(body=body, headers=headers, payload=payload)
        return self.raw(body, headers)

    # ---- slash commands ---------------------------------------------------------------------

    def command_body(
        self,
        text: str,
        user_id: str = "U1",
        command: str = "/prcoach",
        channel_id: str = "C1",
        response_url: str | None = None,
        user_name: str = "ada",
        trigger_id: str | None = None,
        *,
        channel_name: str | None = None,
    ) -> dict[str, str]:
        """The form fields of a slash command, in the order Slack sends them."""
        if channel_name is None:
            channel_name = "directmessage" if channel_id.startswith("D") else channel_id.lower()
        return {
            "token": self.verification_token,
            "team_id": self.team_id,
            "team_domain": self.team_domain,
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user_id,
            "user_name": user_name,
            "command": command,
            "text": text,
            "api_app_id": self.api_app_id,
            "is_enterprise_install": "false",
            "response_url": response_url or self._response_url("commands", channel_id),
            "trigger_id": trigger_id or self.new_trigger_id(),
        }

    def command(
        self,
        text: str,
        user_id: str = "U1",
        command: str = "/prcoach",
        channel_id: str = "C1",
        response_url: str | None = None,
        user_name: str = "ada",
        trigger_id: str | None = None,
        *,
        channel_name: str | None = None,
    ) -> requests.Response:
        """Send a slash command, form-encoded like Slack (see ``command_body``)."""
        fields = self.command_body(
            text,
            user_id,
            command,
            channel_id,
            response_url,
            user_name,
            trigger_id,
            channel_name=channel_name,
        )
        return self._send(urlencode(fields).encode(), FORM, fields)

    # ---- Events API -------------------------------------------------------------------------

    def event_envelope(self, event: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
        """The ``event_callback`` envelope Slack wraps ``event`` in.

        Modern fields (``authorizations``, ``is_ext_shared_channel``, ``event_context``) as in
        the 2022-2025 captures, plus ``authed_users``: deprecated but still delivered to some apps
        and required by the (archived) official envelope schema.
        """
        inner = dict(event)
        inner.setdefault("event_ts", inner.get("ts") or _slack_ts())
        context = {"et": inner.get("type", ""), "tid": self.team_id, "aid": self.api_app_id}
        if isinstance(inner.get("channel"), str):
            context["cid"] = inner["channel"]
        return {
            "token": self.verification_token,
            "team_id": self.team_id,
            "api_app_id": self.api_app_id,
            "event": inner,
            "type": "event_callback",
            "event_id": event_id or "Ev" + "".join(secrets.choice(_ID_CHARS) for _ in range(10)),
            "event_time": int(float(inner["event_ts"])),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": self.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": "4-" + _b64url(json.dumps(context, separators=(",", ":"))),
            "authed_users": [self.bot_user_id],
        }

    def event(
        self,
        event: dict[str, Any],
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str | None = None,
    ) -> requests.Response:
        """Deliver ``event`` in an ``event_callback`` envelope; ``retry_num`` marks a redelivery."""
        envelope = self.event_envelope(event, event_id)
        headers: dict[str, str] = {}
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
        elif retry_reason is not None:
            headers["X-Slack-Retry-Reason"] = retry_reason
        return self._send(_json_bytes(envelope), JSON, envelope, headers)

    def dm_message_event(
        self,
        text: str,
        user_id: str = "U1",
        channel: str | None = None,
        *,
        ts: str | None = None,
        thread_ts: str | None = None,
    ) -> dict[str, Any]:
        """A ``message`` event in the DM with the bot (``channel_type: im``), as Slack sends it."""
        ts = ts or _slack_ts()
        event: dict[str, Any] = {
            "client_msg_id": str(uuid.uuid4()),
            "type": "message",
            "text": text,
            "user": user_id,
            "ts": ts,
            "team": self.team_id,
            "blocks": [_rich_text_block(text)],
            "channel": channel or dm_channel_id(user_id),
            "event_ts": ts,
            "channel_type": "im",
        }
        if thread_ts is not None:
            event["thread_ts"] = thread_ts
        return event

    def dm_message(
        self,
        text: str,
        user_id: str = "U1",
        channel: str | None = None,
        *,
        ts: str | None = None,
        thread_ts: str | None = None,
        event_id: str | None = None,
    ) -> requests.Response:
        """Send a DM from ``user_id`` to the bot (channel defaults to their DM ``D…``)."""
        event = self.dm_message_event(text, user_id, channel, ts=ts, thread_ts=thread_ts)
        return self.event(event, event_id=event_id)

    def app_home_opened(
        self, user_id: str = "U1", tab: str = "home", *, event_id: str | None = None
    ) -> requests.Response:
        """Send ``app_home_opened`` for ``user_id`` (``tab`` is ``home`` or ``messages``)."""
        event = {
            "type": "app_home_opened",
            "user": user_id,
            "channel": dm_channel_id(user_id),
            "tab": tab,
            "event_ts": _slack_ts(),
        }
        return self.event(event, event_id=event_id)

    def url_verification(self, challenge: str) -> requests.Response:
        """Send the ``url_verification`` handshake; the bot must echo ``challenge``."""
        body = {
            "token": self.verification_token,
            "challenge": challenge,
            "type": "url_verification",
        }
        return self._send(_json_bytes(body), JSON, body)

    # ---- interactivity ----------------------------------------------------------------------

    def interactivity(self, payload: dict[str, Any]) -> requests.Response:
        """Send any interactivity payload, form-encoded as ``payload=<json>``."""
        return self._send(urlencode({"payload": _json_text(payload)}).encode(), FORM, payload)

    def action_payload(
        self,
        action_id: str,
        value: str | None = None,
        user_id: str = "U1",
        channel_id: str | None = None,
        message_ts: str | None = None,
        response_url: str | None = None,
        block_id: str | None = None,
        *,
        message: dict[str, Any] | None = None,
        user_name: str = "ada",
    ) -> dict[str, Any]:
        """A ``block_actions`` payload for a button click in a bot message.

        ``channel_id`` defaults to ``user_id``'s DM with the bot; ``message`` (e.g. the
        ``message`` of a recorded ``chat.postMessage`` answer) is echoed like Slack does.
        """
        channel_id = channel_id or dm_channel_id(user_id)
        if message is None:
            message = {  # a bot message as Slack echoes it in block_actions
                "user": self.bot_user_id,
                "type": "message",
                "ts": message_ts or _slack_ts(),
                "bot_id": self.bot_id,
                "app_id": self.api_app_id,
                "text": "",
                "team": self.team_id,
                "blocks": [],
            }
        message_ts = message_ts or str(message.get("ts") or _slack_ts())
        found_block_id, button = _find_button(message, action_id)
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": block_id or found_block_id or "actions",
            "text": button.get("text") or {"type": "plain_text", "text": action_id, "emoji": True},
            "type": "button",
            "action_ts": _slack_ts(),
        }
        if value is None:
            value = button.get("value")
        if value is not None:
            action["value"] = value
        return {
            "type": "block_actions",
            "user": {
                "id": user_id,
                "username": user_name,
                "name": user_name,
                "team_id": self.team_id,
            },
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "container": {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": channel_id,
                "is_ephemeral": False,
            },
            "trigger_id": self.new_trigger_id(),
            "team": {"id": self.team_id, "domain": self.team_domain},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {
                "id": channel_id,
                "name": "directmessage" if channel_id.startswith("D") else channel_id,
            },
            "message": message,
            "state": {"values": {}},
            "response_url": response_url or self._response_url("actions", channel_id),
            "actions": [action],
        }

    def action(
        self,
        action_id: str,
        value: str | None = None,
        user_id: str = "U1",
        channel_id: str | None = None,
        message_ts: str | None = None,
        response_url: str | None = None,
        block_id: str | None = None,
        *,
        message: dict[str, Any] | None = None,
        user_name: str = "ada",
    ) -> requests.Response:
        """Send a ``block_actions`` button click (see ``action_payload``)."""
        payload = self.action_payload(
            action_id,
            value,
            user_id,
            channel_id,
            message_ts,
            response_url,
            block_id,
            message=message,
            user_name=user_name,
        )
        return self.interactivity(payload)

    def text_input(
        self,
        action_id: str,
        text: str,
        user_id: str = "U1",
        channel_id: str | None = None,
        *,
        message: dict[str, Any],
    ) -> requests.Response:
        """Enter pressed in a message's ``plain_text_input`` whose input block has
        ``dispatch_action``: Slack sends ``block_actions`` with the typed value (and the
        same value in ``state``)."""
        block_id = next(
            block.get("block_id")
            for block in message.get("blocks") or []
            if block.get("type") == "input"
            and (block.get("element") or {}).get("action_id") == action_id
        )
        payload = self.action_payload(
            action_id, None, user_id, channel_id, block_id=block_id, message=message
        )
        payload["actions"] = [
            {
                "type": "plain_text_input",
                "block_id": block_id,
                "action_id": action_id,
                "value": text,
                "action_ts": _slack_ts(),
            }
        ]
        payload["state"] = {
            "values": {block_id: {action_id: {"type": "plain_text_input", "value": text}}}
        }
        return self.interactivity(payload)

    # ---- ids ------------------------------------------------------------------------------------

    def new_trigger_id(self) -> str:
        """A trigger id shaped like Slack's: ``<digits>.<digits>.<32 hex>``."""
        return (
            f"{int(time.time() * 1000)}{next(self._serial)}.{secrets.randbelow(10**11)}."
            f"{secrets.token_hex(16)}"
        )

    def _response_url(self, kind: str, channel_id: str) -> str:
        serial = next(self._serial)
        if self.fake is not None:
            tag = f"{kind}-{serial}-{secrets.token_hex(3)}"  # unique across senders
            return self.fake.response_url(tag, channel=channel_id)
        return f"https://hooks.slack.com.invalid/{kind}/{self.team_id}/{serial}/{secrets.token_hex(12)}"


def _slack_ts() -> str:
    micros = time.time_ns() // 1000
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def _json_text(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def _json_bytes(payload: dict[str, Any]) -> bytes:
    return _json_text(payload).encode()


def _b64url(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _rich_text_block(text: str) -> dict[str, Any]:
    return {
        "type": "rich_text",
        "block_id": _b64url(secrets.token_hex(2))[:4],
        "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}],
    }


def _find_button(message: dict[str, Any], action_id: str) -> tuple[str | None, dict[str, Any]]:
    """The block_id and element of the button ``action_id`` in a message ({} if absent)."""
    for block in message.get("blocks") or []:
        elements = list(block.get("elements") or [])
        if isinstance(block.get("accessory"), dict):
            elements.append(block["accessory"])
        for element in elements:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return block.get("block_id"), element
    return None, {}
