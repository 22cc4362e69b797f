"""A fake Slack Web API served over real HTTP, for end-to-end tests of PR Coach.

Point slack_sdk at it with ``WebClient(token="xoxb-test", base_url=fake.api_url)``.  Every request
is recorded (``fake.calls``) and answered in Slack's own shapes (see
``tests/reference/slack``; ``test_fake_slack.py`` checks the answers against the official
OpenAPI subset, recorded real traffic and the key inventories there).

Besides ``/api/<method>`` the server answers two other kinds of URL Slack hands out:

* the upload URLs returned by ``files.getUploadURLExternal`` (``/upload/v1/<file_id>/<secret>``),
  so ``WebClient.files_upload_v2`` works end to end;
* response URLs (``/response/<tag>``, from ``fake.response_url(tag)``) that Slack puts in slash
  commands and interactivity payloads.

Deliberate simplifications, all documented on the method concerned: any well-formed channel id is
accepted by ``chat.postMessage`` (Slack would answer ``channel_not_found``/``not_in_channel`` for
channels the bot cannot see); a user id as channel posts to that user's DM, as on Slack.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import email.message
import email.parser
import email.policy
import hashlib
import itertools
import json
import re
import secrets
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import MappingProxyType, TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "BOT_ID",
    "BOT_USER_ID",
    "DEFAULT_APP_ID",
    "DEFAULT_APP_TOKEN",
    "DEFAULT_TEAM_ID",
    "DEFAULT_TOKEN",
    "Call",
    "FakeSlack",
    "Message",
    "Upload",
    "dm_channel_id",
]

DEFAULT_TOKEN = "xoxb-test"
DEFAULT_APP_TOKEN = "xapp-1-A0001-test"  # App-Level Token (connections:write): Socket Mode
DEFAULT_TEAM_ID = "T0001"
DEFAULT_APP_ID = "A0001"
BOT_USER_ID = "U0PRCOACH"
BOT_ID = "B0PRCOACH"

#: Parameters whose value is JSON; Slack clients send them as JSON strings in form bodies.
JSON_PARAMS = frozenset({"blocks", "attachments", "view", "files", "metadata"})
#: Methods whose successful calls are messages shown to a user (see ``FakeSlack.messages``).
MESSAGE_METHODS = ("chat.postMessage", "chat.postEphemeral", "response_url")

_ID_RE = re.compile(r"^[A-Z][A-Z0-9]+$")
_MAX_TEXT = 40_000  # chat.postMessage: msg_too_long beyond 40k characters
_MAX_MESSAGE_BLOCKS = 50
_MAX_VIEW_BLOCKS = 100
_CREATED = 1_700_000_000  # creation time given to configured channels, users, profiles
_BOT_ICONS = MappingProxyType(
    {
        "image_36": "https://a.slack-edge.com/80588/img/plugins/app/bot_36.png",
        "image_48": "https://a.slack-edge.com/80588/img/plugins/app/bot_48.png",
        "image_72": "https://a.slack-edge.com/80588/img/plugins/app/service_72.png",
    }
)
_TZ_LABELS = MappingProxyType(
    {
        "GMT": "Greenwich Mean Time",
        "UTC": "Coordinated Universal Time",
        "BST": "British Summer Time",
        "CET": "Central European Time",
        "CEST": "Central European Summer Time",
        "EET": "Eastern European Time",
        "EEST": "Eastern European Summer Time",
        "EST": "Eastern Standard Time",
        "EDT": "Eastern Daylight Time",
        "CST": "Central Standard Time",
        "CDT": "Central Daylight Time",
        "MST": "Mountain Standard Time",
        "MDT": "Mountain Daylight Time",
        "PST": "Pacific Standard Time",
        "PDT": "Pacific Daylight Time",
    }
)


def dm_channel_id(user_id: str) -> str:
    """The stable id of the bot's DM with ``user_id`` (what ``conversations.open`` answers)."""
    digest = hashlib.sha1(user_id.encode()).digest()
    return "D" + base64.b32encode(digest).decode()[:10]


# --------------------------------------------------------------------------------------------
# Records handed to tests
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One request received by the fake, in arrival order.

    ``method`` is the Web API method (``"chat.postMessage"``), ``"response_url"`` for a post to a
    response URL or ``"upload"`` for the bytes sent to an upload URL.  ``params`` merges query
    string and body (form or JSON) without the token; JSON-valued parameters (``blocks``,
    ``attachments``, ``view``, ``files``, ``metadata``) are decoded when sent as strings.
    Refused requests (bad token, injected faults) are recorded too: check ``ok``.
    """

    method: str
    params: dict[str, Any]
    ts: float
    status: int = 200
    response: Any = None
    token: str | None = None
    tag: str | None = None

    @property
    def ok(self) -> bool:
        """True when the fake accepted the request (HTTP 200 and, for JSON answers, ok:true)."""
        if self.status != 200:
            return False
        return not isinstance(self.response, dict) or self.response.get("ok") is True


@dataclass(frozen=True)
class Message:
    """A message the bot showed someone: chat.postMessage, chat.postEphemeral or response_url."""

    via: str
    channel: str | None
    text: str
    blocks: list[dict[str, Any]]
    ts: str | None
    user: str | None = None  # recipient of an ephemeral message
    thread_ts: str | None = None
    tag: str | None = None  # response_url tag
    params: dict[str, Any] = field(default_factory=dict)

    def is_in(self, channel: str) -> bool:
        """Shown in ``channel``: as Slack resolved it (``D…`` for a user id) or as written."""
        return channel in (self.channel, self.params.get("channel"))


@dataclass
class Upload:
    """A file uploaded through files.getUploadURLExternal → upload URL → completeUploadExternal."""

    file_id: str
    filename: str
    length: int
    content: bytes | None = None
    title: str | None = None
    channel: str | None = None  # channel_id, or the first of channels
    channels: list[str] = field(default_factory=list)
    initial_comment: str | None = None
    thread_ts: str | None = None
    blocks: list[dict[str, Any]] | None = None
    completed: bool = False


# --------------------------------------------------------------------------------------------
# Internal state
# --------------------------------------------------------------------------------------------


class _SlackError(Exception):
    """Raised by method handlers: answered as ``{"ok": false, "error": code, ...}``."""

    def __init__(self, code: str, *messages: str) -> None:
        super().__init__(code)
        self.code = code
        self.messages = list(messages)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error": self.code}
        if self.messages:
            body["response_metadata"] = {"messages": self.messages}
        return body


@dataclass(frozen=True)
class _Reply:
    status: int
    body: Any  # dict → JSON, str → text/plain
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass
class _Fault:
    remaining: int
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    method: str | None


@dataclass
class _User:
    user_id: str
    name: str
    real_name: str
    locale: str
    tz: str
    is_admin: bool
    is_owner: bool
    is_bot: bool
    deleted: bool
    email: str | None
    extra: dict[str, Any]


@dataclass
class _Channel:
    channel_id: str
    name: str
    members: list[str]
    is_private: bool
    creator: str
    topic: str
    purpose: str


@dataclass
class _HomeView:
    view_id: str
    hash: str
    published: list[dict[str, Any]] = field(default_factory=list)


Handler = Callable[[dict[str, Any]], dict[str, Any]]


# --------------------------------------------------------------------------------------------
# The fake
# --------------------------------------------------------------------------------------------


class FakeSlack:
    """Fake Slack Web API on ``127.0.0.1`` (a free port), thread-safe; use as a context manager."""

    def __init__(
        self,
        *,
        team_id: str = DEFAULT_TEAM_ID,
        team_name: str = "PR Coach Test",
        team_domain: str = "prcoach-test",
        app_id: str = DEFAULT_APP_ID,
        bot_user_id: str = BOT_USER_ID,
        bot_id: str = BOT_ID,
        bot_name: str = "prcoach",
        valid_tokens: Iterable[str] = (DEFAULT_TOKEN,),
    ) -> None:
        self.team_id = team_id
        self.team_name = team_name
        self.team_domain = team_domain
        self.app_id = app_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.bot_name = bot_name
        self.valid_tokens: set[str] = set(valid_tokens)
        self.app_tokens: set[str] = {DEFAULT_APP_TOKEN}  # accepted by apps.connections.open
        self._sockets: list[_SocketConnection] = []  # open Socket Mode connections
        self.delay: float = 0.0  # seconds slept before answering any request

        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._users: dict[str, _User] = {}
        self._channels: dict[str, _Channel] = {}
        self._routes: dict[str, Handler] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "conversations.open": self._conversations_open,
            "conversations.info": self._conversations_info,
            "conversations.members": self._conversations_members,
            "users.info": self._users_info,
            "views.publish": self._views_publish,
            "views.open": self._views_open,
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "files.completeUploadExternal": self._files_complete_upload_external,
        }
        self._init_traffic_state()

    def _init_traffic_state(self) -> None:
        self._calls: list[Call] = []
        self._faults: list[_Fault] = []
        self._history: dict[str, dict[str, dict[str, Any]]] = {}  # channel → ts → message
        self._open_dms: dict[str, str] = {}  # DM channel id → user id, once opened
        self._uploads: dict[str, Upload] = {}
        self._upload_secrets: dict[str, str] = {}
        self._home_views: dict[str, _HomeView] = {}
        self._response_url_channels: dict[str, str] = {}
        self._ids = itertools.count(1)
        self._last_ts_us = 0

    # ---- lifecycle --------------------------------------------------------------------------

    def start(self) -> FakeSlack:
        if self._server is not None:
            return self
        server = _Server(("127.0.0.1", 0), _RequestHandler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name=f"FakeSlack:{server.server_address[1]}",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeSlack is not started: call start() or use it as a context")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """``http://127.0.0.1:PORT/api/``: pass as ``WebClient(base_url=...)``."""
        return f"{self.base_url}/api/"

    def response_url(self, tag: str, *, channel: str | None = None) -> str:
        """A response URL served by the fake; posts to it are recorded with ``Call.tag == tag``.

        ``channel`` (optional) is where Slack would show those messages, so that
        ``messages(channel=...)`` includes them.
        """
        if channel is not None:
            with self._lock:
                self._response_url_channels[tag] = channel
        return f"{self.base_url}/response/{tag}"

    # ---- configuration ----------------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        *,
        name: str | None = None,
        real_name: str | None = None,
        locale: str = "en-US",
        is_admin: bool = False,
        is_owner: bool = False,
        tz: str = "America/Los_Angeles",
        email: str | None = None,
        is_bot: bool = False,
        deleted: bool = False,
        **extra: Any,
    ) -> None:
        """Make ``users.info`` know ``user_id``; ``extra`` keys override the user object's."""
        name = name or user_id.lower()
        user = _User(
            user_id=user_id,
            name=name,
            real_name=real_name if real_name is not None else name,
            locale=locale,
            tz=tz,
            is_admin=is_admin,
            is_owner=is_owner,
            is_bot=is_bot,
            deleted=deleted,
            email=email,
            extra=dict(extra),
        )
        with self._lock:
            self._users[user_id] = user

    def add_channel(
        self,
        channel_id: str,
        *,
        name: str | None = None,
        members: Iterable[str] = (),
        is_private: bool = False,
        creator: str | None = None,
        topic: str = "",
        purpose: str = "",
    ) -> None:
        """Make ``conversations.info``/``conversations.members`` know a channel."""
        member_list = list(members)
        channel = _Channel(
            channel_id=channel_id,
            name=name or channel_id.lower(),
            members=member_list,
            is_private=is_private,
            creator=creator or (member_list[0] if member_list else self.bot_user_id),
            topic=topic,
            purpose=purpose,
        )
        with self._lock:
            self._channels[channel_id] = channel

    def add_message(
        self,
        channel: str,
        *,
        text: str = "",
        blocks: list[dict[str, Any]] | None = None,
        ts: str | None = None,
        user: str | None = None,
    ) -> str:
        """Seed a message (so the bot can ``chat.update``/``chat.delete`` it); returns its ts."""
        with self._lock:
            ts = ts or self._next_ts()
            if user is None:
                message = self._bot_message(text=text, blocks=blocks, ts=ts)
            else:
                message = {
                    "type": "message",
                    "user": user,
                    "text": text,
                    "ts": ts,
                    "team": self.team_id,
                }
                if blocks:
                    message["blocks"] = blocks
            self._history.setdefault(channel, {})[ts] = message
        return ts

    def reset(self) -> None:
        """Forget recorded traffic, messages, uploads, views and pending faults; ``delay`` = 0.

        Configured users, channels and tokens are kept.
        """
        with self._lock:
            self._init_traffic_state()
            self.delay = 0.0
            self._changed.notify_all()

    # ---- fault injection --------------------------------------------------------------------

    def rate_limit_next(
        self, n: int = 1, retry_after: int = 1, *, method: str | None = None
    ) -> None:
        """Answer the next ``n`` Web API calls (of ``method`` if given) with HTTP 429."""
        self._add_fault(
            _Fault(
                n,
                429,
                {"ok": False, "error": "ratelimited"},
                {"Retry-After": str(retry_after)},
                method,
            )
        )

    def fail_next(
        self,
        n: int = 1,
        error: str = "internal_error",
        *,
        method: str | None = None,
        status: int = 200,
    ) -> None:
        """Answer the next ``n`` Web API calls (of ``method`` if given) with ok:false ``error``."""
        self._add_fault(_Fault(n, status, {"ok": False, "error": error}, {}, method))

    def _add_fault(self, fault: _Fault) -> None:
        if fault.remaining < 1:
            raise ValueError("n must be >= 1")
        with self._lock:
            self._faults.append(fault)

    def _take_fault(self, method: str) -> _Fault | None:
        for fault in self._faults:
            if fault.method in (None, method):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
                return fault
        return None

    # ---- inspection -------------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [call for call in self._calls if call.method == method]

    def messages(self, channel: str | None = None) -> list[Message]:
        """Accepted chat.postMessage / chat.postEphemeral / response_url posts, in order.

        ``channel`` matches the channel Slack resolved (a user id posts to the DM ``D…``), the
        channel as the bot wrote it, or the channel registered with ``response_url(tag, channel=)``.
        """
        with self._lock:
            found = [self._as_message(call) for call in self._calls]
        return [
            message
            for message in found
            if message is not None and (channel is None or message.is_in(channel))
        ]

    def history(self, channel: str) -> list[dict[str, Any]]:
        """Current messages of a channel (after chat.update / chat.delete), oldest first."""
        with self._lock:
            return [dict(message) for _, message in sorted(self._history.get(channel, {}).items())]

    @property
    def uploads(self) -> list[Upload]:
        """Completed uploads (bytes sent and files.completeUploadExternal accepted), in order."""
        with self._lock:
            return [upload for upload in self._uploads.values() if upload.completed]

    def published_views(self, user_id: str) -> list[dict[str, Any]]:
        """Home tabs published for ``user_id`` (as answered by views.publish), oldest first."""
        with self._lock:
            home = self._home_views.get(user_id)
            return list(home.published) if home else []

    def wait_for(
        self,
        predicate: Callable[[Call], bool] | str,
        timeout: float = 10.0,
        *,
        after: int = 0,
    ) -> Call:
        """Block until a recorded call (index >= ``after``) matches, and return it.

        ``predicate`` is a function of a ``Call`` (exceptions count as "no match") or a method
        name.  Raises ``AssertionError`` listing what was recorded when ``timeout`` expires.
        """
        match = _as_predicate(predicate)
        deadline = time.monotonic() + timeout
        index = after
        with self._changed:
            while True:
                while index < len(self._calls):
                    call = self._calls[index]
                    index += 1
                    if match(call):
                        return call
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"no matching Slack call within {timeout:g}s; recorded:\n"
                        + self._describe_calls()
                    )
                self._changed.wait(remaining)
                index = min(index, len(self._calls))  # reset() may have shrunk the list

    def wait_for_message(
        self,
        predicate: Callable[[Message], bool] | None = None,
        *,
        channel: str | None = None,
        timeout: float = 10.0,
        after: int = 0,
    ) -> Message:
        """Like ``wait_for``, for the messages listed by ``messages()``."""

        def matches(call: Call) -> bool:
            message = self._as_message(call)
            if message is None:
                return False
            if channel is not None and not message.is_in(channel):
                return False
            return predicate is None or predicate(message)

        message = self._as_message(self.wait_for(matches, timeout, after=after))
        assert message is not None
        return message

    def _describe_calls(self) -> str:
        if not self._calls:
            return "  (nothing)"
        lines = []
        for index, call in enumerate(self._calls):
            params = json.dumps(call.params, default=repr, ensure_ascii=False)
            if len(params) > 300:
                params = params[:297] + "..."
            outcome = "ok" if call.ok else f"{call.status} {_error_of(call.response)}"
            lines.append(f"  #{index} {call.method} [{outcome}] {params}")
        return "\n".join(lines)

    def _as_message(self, call: Call) -> Message | None:
        if call.method not in MESSAGE_METHODS or not call.ok:
            return None
        params = call.params
        blocks = params.get("blocks")
        common: dict[str, Any] = {
            "via": call.method,
            "text": str(params.get("text") or ""),
            "blocks": blocks if isinstance(blocks, list) else [],
            "thread_ts": params.get("thread_ts"),
            "params": params,
        }
        if call.method == "response_url":
            channel = self._response_url_channels.get(call.tag or "")
            return Message(channel=channel, ts=None, tag=call.tag, **common)
        if call.method == "chat.postEphemeral":
            channel = str(params.get("channel"))
            if channel[:1] in ("U", "W"):
                channel = dm_channel_id(channel)
            ts = call.response["message_ts"]
            return Message(channel=channel, ts=ts, user=params.get("user"), **common)
        return Message(channel=call.response["channel"], ts=call.response["ts"], **common)

    # ---- HTTP dispatch (called from server threads) -----------------------------------------

    def _handle(self, verb: str, target: str, headers: Mapping[str, str], body: bytes) -> _Reply:
        if self.delay > 0:
            time.sleep(self.delay)
        url = urlsplit(target)
        path = url.path
        if path.startswith("/api/"):
            return self._handle_api(path[len("/api/") :], url.query, headers, body)
        if path.startswith("/upload/v1/") and verb == "POST":
            return self._handle_upload(path[len("/upload/v1/") :], headers, body)
        if path.startswith("/response/") and verb == "POST":
            return self._handle_response_url(path[len("/response/") :], body)
        return _Reply(404, "not_found")

    def _handle_api(
        self, method: str, query: str, headers: Mapping[str, str], body: bytes
    ) -> _Reply:
        try:
            params = _parse_params(query, headers, body)
        except _SlackError as error:
            params, parse_error = {}, error
        else:
            parse_error = None
        token = _bearer_token(headers) or _optional_str(params.pop("token", None))
        with self._lock:
            fault = self._take_fault(method)
            if fault is not None:
                reply = _Reply(fault.status, dict(fault.body), dict(fault.headers))
            elif parse_error is not None:
                reply = _Reply(200, parse_error.body())
            elif token is None:
                reply = _Reply(200, {"ok": False, "error": "not_authed"})
            elif method == "apps.connections.open":
                reply = _Reply(200, self._apps_connections_open(token))
            elif token not in self.valid_tokens:
                reply = _Reply(200, {"ok": False, "error": "invalid_auth"})
            elif method not in self._routes:
                reply = _Reply(404, {"ok": False, "error": "unknown_method", "req_method": method})
            else:
                try:
                    reply = _Reply(200, self._routes[method](params))
                except _SlackError as error:
                    reply = _Reply(200, error.body())
            self._record(Call(method, params, time.time(), reply.status, reply.body, token))
        return reply

    def _handle_upload(self, rest: str, headers: Mapping[str, str], body: bytes) -> _Reply:
        file_id, _, secret = rest.partition("/")
        content_type = headers.get("Content-Type", "")
        content = body
        if content_type.lower().startswith("multipart/form-data"):
            parts = _parse_multipart(content_type, body)
            files = [value for value in parts.values() if isinstance(value, bytes)]
            content = files[0] if files else str(parts.get("file", "")).encode()
        with self._lock:
            upload = self._uploads.get(file_id)
            if upload is None or self._upload_secrets.get(file_id) != secret:
                reply = _Reply(404, "not_found")
            else:
                upload.content = content
                reply = _Reply(200, f"OK - {len(content)}")
            params = {"file_id": file_id, "size": len(content)}
            self._record(Call("upload", params, time.time(), reply.status, reply.body))
        return reply

    def _handle_response_url(self, tag: str, body: bytes) -> _Reply:
        try:
            payload = json.loads(body or b"null")
        except ValueError:
            payload = None
        if isinstance(payload, dict):
            params, reply = _decode_json_params(payload), _Reply(200, "ok")
        else:
            params, reply = {"raw": body.decode("utf-8", "replace")}, _Reply(400, "invalid_payload")
        with self._lock:
            self._record(
                Call("response_url", params, time.time(), reply.status, reply.body, tag=tag)
            )
        return reply

    def _record(self, call: Call) -> None:
        self._calls.append(call)
        self._changed.notify_all()

    # ---- ids and object builders (called with the lock held) --------------------------------

    def _next_ts(self) -> str:
        """A unique, increasing message ts like ``1700000000.000100``."""
        now_us = time.time_ns() // 1000
        self._last_ts_us = max(now_us, self._last_ts_us + 1)
        seconds, micros = divmod(self._last_ts_us, 1_000_000)
        return f"{seconds}.{micros:06d}"

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):09d}"

    def _bot_profile(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "deleted": False,
            "name": self.bot_name,
            "updated": _CREATED,
            "app_id": self.app_id,
            "icons": dict(_BOT_ICONS),
            "team_id": self.team_id,
        }

    def _bot_message(
        self,
        *,
        text: str,
        blocks: list[dict[str, Any]] | None,
        ts: str,
        attachments: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "user": self.bot_user_id,
            "type": "message",
            "ts": ts,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "text": text,
            "team": self.team_id,
            "bot_profile": self._bot_profile(),
        }
        if blocks:
            message["blocks"] = _with_block_ids(blocks)
        if attachments:
            message["attachments"] = [
                {"id": index, **attachment} for index, attachment in enumerate(attachments, 1)
            ]
        if thread_ts:
            message["thread_ts"] = thread_ts
            message["parent_user_id"] = self.bot_user_id
        return message

    def _resolve_channel(self, channel: Any) -> str:
        """Where chat.postMessage posts: ``#name``, a user id (→ DM) or a channel id."""
        if not isinstance(channel, str) or not channel:
            raise _SlackError("channel_not_found")
        if channel.startswith("#"):
            for known in self._channels.values():
                if known.name == channel[1:]:
                    return known.channel_id
            raise _SlackError("channel_not_found")
        if not _ID_RE.match(channel):
            raise _SlackError("channel_not_found")
        if channel[0] in "UW":
            return self._open_dm(channel)
        if channel[0] in "CGD":
            return channel
        raise _SlackError("channel_not_found")

    def _open_dm(self, user_id: str) -> str:
        channel_id = dm_channel_id(user_id)
        self._open_dms[channel_id] = user_id
        return channel_id

    def _dm_user(self, channel_id: str) -> str | None:
        if channel_id in self._open_dms:
            return self._open_dms[channel_id]
        for user_id in self._users:
            if dm_channel_id(user_id) == channel_id:
                return user_id
        return None

    def _channel_object(self, channel: _Channel, *, include_num_members: bool) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "id": channel.channel_id,
            "name": channel.name,
            "is_channel": not channel.is_private,
            "is_group": False,
            "is_im": False,
            "is_mpim": False,
            "is_private": channel.is_private,
            "created": _CREATED,
            "is_archived": False,
            "is_general": channel.name == "general",
            "unlinked": 0,
            "name_normalized": channel.name,
            "is_shared": False,
            "is_frozen": False,
            "is_org_shared": False,
            "is_pending_ext_shared": False,
            "pending_shared": [],
            "context_team_id": self.team_id,
            "updated": _CREATED * 1000,
            "parent_conversation": None,
            "creator": channel.creator,
            "is_ext_shared": False,
            "shared_team_ids": [self.team_id],
            "pending_connected_team_ids": [],
            "is_member": self.bot_user_id in channel.members or not channel.members,
            "topic": _topic(channel.topic, channel.creator),
            "purpose": _topic(channel.purpose, channel.creator),
            "previous_names": [],
        }
        if include_num_members:
            obj["num_members"] = len(channel.members)
        return obj

    def _im_object(self, channel_id: str, user_id: str) -> dict[str, Any]:
        latest = None
        if self._history.get(channel_id):
            latest = self._history[channel_id][max(self._history[channel_id])]
        return {
            "id": channel_id,
            "created": _CREATED,
            "is_archived": False,
            "is_im": True,
            "is_org_shared": False,
            "context_team_id": self.team_id,
            "updated": _CREATED * 1000,
            "user": user_id,
            "last_read": "0000000000.000000",
            "latest": latest,
            "unread_count": 0,
            "unread_count_display": 0,
            "is_open": True,
            "priority": 0,
        }

    def _user_object(self, user: _User, *, include_locale: bool) -> dict[str, Any]:
        tz_label, tz_offset = _tz_details(user.tz)
        first_name, _, last_name = user.real_name.partition(" ")
        avatar = hashlib.md5(user.user_id.encode()).hexdigest()
        profile: dict[str, Any] = {
            "title": "",
            "phone": "",
            "skype": "",
            "real_name": user.real_name,
            "real_name_normalized": _normalize(user.real_name),
            "display_name": user.name,
            "display_name_normalized": _normalize(user.name),
            "fields": None,
            "status_text": "",
            "status_emoji": "",
            "status_emoji_display_info": [],
            "status_expiration": 0,
            "avatar_hash": "g" + avatar[:11],
            "first_name": first_name,
            "last_name": last_name,
            **{
                f"image_{size}": f"https://secure.gravatar.com/avatar/{avatar}.jpg?s={size}"
                for size in (24, 32, 48, 72, 192, 512)
            },
            "status_text_canonical": "",
            "team": self.team_id,
        }
        if user.email is not None:
            profile["email"] = user.email
        obj: dict[str, Any] = {
            "id": user.user_id,
            "team_id": self.team_id,
            "name": user.name,
            "deleted": user.deleted,
            "color": "9f69e7",
            "real_name": user.real_name,
            "tz": user.tz,
            "tz_label": tz_label,
            "tz_offset": tz_offset,
            "profile": profile,
            "is_admin": user.is_admin,
            "is_owner": user.is_owner,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": user.is_bot,
            "is_app_user": False,
            "updated": _CREATED,
            "is_email_confirmed": user.email is not None,
            "who_can_share_contact_card": "EVERYONE",
        }
        if include_locale:
            obj["locale"] = user.locale
        obj.update(user.extra)
        return obj

    def _view_object(self, view: dict[str, Any], *, view_id: str, view_hash: str) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "id": view_id,
            "team_id": self.team_id,
            "type": view["type"],
            "blocks": _with_block_ids(view.get("blocks") or []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": view_hash,
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": self.app_id,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }
        if "title" in view:
            obj["title"] = view["title"]
        return obj

    def _file_object(self, upload: Upload) -> dict[str, Any]:
        name = upload.filename
        file_id = upload.file_id
        files_url = f"https://files.slack.com/files-pri/{self.team_id}-{file_id}"
        return {
            "id": file_id,
            "created": int(time.time()),
            "timestamp": int(time.time()),
            "name": name,
            "title": upload.title if upload.title is not None else name,
            # Slack processes the file asynchronously: the completeUploadExternal answer
            # carries empty types (see recorded/files_upload_v2.json).
            "mimetype": "",
            "filetype": "",
            "pretty_type": "",
            "user": self.bot_user_id,
            "user_team": self.team_id,
            "editable": False,
            "size": len(upload.content or b""),
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": False,
            "public_url_shared": False,
            "display_as_bot": False,
            "username": "",
            "url_private": f"{files_url}/{name}",
            "url_private_download": f"{files_url}/download/{name}",
            "media_display_type": "unknown",
            "permalink": f"https://{self.team_domain}.slack.com/files/{self.bot_user_id}/"
            f"{file_id}/{name}",
            "permalink_public": f"https://slack-files.com/{self.team_id}-{file_id}-"
            f"{secrets.token_hex(5)}",
            "comments_count": 0,
            "is_starred": False,
            "shares": {},
            "channels": [],
            "groups": [],
            "ims": [],
            "has_more_shares": False,
            "has_rich_preview": False,
            "file_access": "visible",
        }

    # ---- Socket Mode ------------------------------------------------------------------------
    # apps.connections.open hands out a one-time WebSocket URL (wss://wss-primary.slack.com/
    # link/?ticket=…&app_id=…; here ws://127.0.0.1:PORT/link/…, which slack_sdk's built-in
    # client reaches without TLS on a port other than 443). On connection Slack sends
    # ``hello``; then envelopes (``slash_commands``, ``events_api``, ``interactive``), each
    # acknowledged by the app with ``{"envelope_id": …, "payload"?: …}`` on the same socket.

    def _apps_connections_open(self, token: str) -> dict[str, Any]:
        if token.startswith(("xoxb-", "xoxp-")):
            return {"ok": False, "error": "not_allowed_token_type"}
        if token not in self.app_tokens:
            return {"ok": False, "error": "invalid_auth"}
        ticket = secrets.token_hex(16)
        return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/link/?ticket={ticket}"
                f"&app_id={self.app_id}"}  # fmt: skip

    def _open_socket(self, handler: BaseHTTPRequestHandler) -> None:
        """Serve one Socket Mode connection on ``handler``'s socket until it closes."""
        key = handler.headers.get("Sec-WebSocket-Key", "")
        if handler.headers.get("Upgrade", "").lower() != "websocket" or not key:
            handler.send_error(400, "expected a WebSocket upgrade")
            return
        accept = base64.b64encode(
            hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()
        ).decode()
        handler.wfile.write(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {accept}\r\n\r\n".encode()
        )
        handler.wfile.flush()
        connection = _SocketConnection(handler.rfile, handler.wfile)
        connection.send_json(
            {
                "type": "hello",
                "num_connections": 1,
                "debug_info": {"host": "applink-fake", "build_number": 1,
                               "approximate_connection_time": 18060},
                "connection_info": {"app_id": self.app_id},
            }
        )  # fmt: skip
        with self._lock:
            self._sockets.append(connection)
            self._changed.notify_all()
        try:
            connection.serve()
        finally:
            with self._lock:
                self._sockets.remove(connection)
                self._changed.notify_all()

    def wait_for_socket(self, timeout: float = 30.0) -> None:
        """Until an app is connected in Socket Mode."""
        with self._changed:
            if not self._changed.wait_for(lambda: bool(self._sockets), timeout):
                raise AssertionError(f"no Socket Mode connection within {timeout}s")

    def send_envelope(self, kind: str, payload: dict[str, Any]) -> str:
        """Push an envelope (``slash_commands``, ``events_api``, ``interactive``) to the
        connected app; returns its ``envelope_id`` (see :meth:`wait_for_ack`)."""
        with self._lock:
            if not self._sockets:
                raise AssertionError("no app connected in Socket Mode")
            connection = self._sockets[-1]
        envelope_id = f"{secrets.token_hex(4)}-{secrets.token_hex(2)}-{secrets.token_hex(6)}"
        connection.send_json(
            {
                "envelope_id": envelope_id,
                "payload": payload,
                "type": kind,
                "accepts_response_payload": kind != "events_api",
                **({"retry_attempt": 0, "retry_reason": ""} if kind == "events_api" else {}),
            }
        )
        return envelope_id

    def wait_for_ack(self, envelope_id: str, timeout: float = 3.0) -> dict[str, Any]:
        """The app's acknowledgement of ``envelope_id``; fails after ``timeout`` (Slack's 3 s)."""
        with self._lock:
            connections = list(self._sockets)
        deadline = time.monotonic() + timeout
        for connection in connections:
            ack = connection.wait_for_ack(envelope_id, max(0.0, deadline - time.monotonic()))
            if ack is not None:
                return ack
        raise AssertionError(f"envelope {envelope_id} not acknowledged within {timeout}s")

    # ---- Web API methods (called with the lock held) ----------------------------------------

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": f"https://{self.team_domain}.slack.com/",
            "team": self.team_name,
            "user": self.bot_name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _message_content(
        self, params: dict[str, Any]
    ) -> tuple[str, list[dict[str, Any]] | None, list[dict[str, Any]] | None]:
        text = _optional_str(params.get("text")) or ""
        blocks = params.get("blocks")
        attachments = params.get("attachments")
        if blocks is not None:
            _check_blocks(blocks, _MAX_MESSAGE_BLOCKS)
        if attachments is not None and not (
            isinstance(attachments, list) and all(isinstance(a, dict) for a in attachments)
        ):
            raise _SlackError("invalid_attachments")
        if not text and not blocks and not attachments:
            raise _SlackError("no_text")
        if len(text) > _MAX_TEXT:
            raise _SlackError("msg_too_long")
        return text, blocks or None, attachments or None

    def _chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        """Any well-formed channel id is accepted (Slack checks membership; the fake does not)."""
        channel = self._resolve_channel(params.get("channel"))
        text, blocks, attachments = self._message_content(params)
        ts = self._next_ts()
        thread_ts = _optional_str(params.get("thread_ts"))
        message = self._bot_message(
            text=text, blocks=blocks, ts=ts, attachments=attachments, thread_ts=thread_ts
        )
        self._history.setdefault(channel, {})[ts] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _chat_post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(params.get("channel"))
        user = _optional_str(params.get("user"))
        if not user or not _ID_RE.match(user):
            raise _SlackError("user_not_in_channel")
        known = self._channels.get(channel)
        if known is not None and known.members and user not in known.members:
            raise _SlackError("user_not_in_channel")
        self._message_content(params)
        return {"ok": True, "message_ts": self._next_ts()}

    def _find_message(self, params: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
        channel = _optional_str(params.get("channel")) or ""
        if channel[:1] in ("U", "W"):
            channel = dm_channel_id(channel)
        ts = _optional_str(params.get("ts")) or ""
        message = self._history.get(channel, {}).get(ts)
        if message is None:
            raise _SlackError("message_not_found")
        return channel, ts, message

    def _chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        """Updates a message the fake knows: posted by the bot, or seeded with ``add_message``."""
        channel, ts, message = self._find_message(params)
        text = _optional_str(params.get("text"))
        blocks = params.get("blocks")
        if blocks is not None:
            _check_blocks(blocks, _MAX_MESSAGE_BLOCKS)
        if text is None and blocks is None and params.get("attachments") is None:
            raise _SlackError("no_text")
        updated = dict(message)
        if text is not None:
            updated["text"] = text
        if blocks is not None:
            if blocks:
                updated["blocks"] = _with_block_ids(blocks)
            else:
                updated.pop("blocks", None)
        updated["edited"] = {"user": self.bot_id, "ts": self._next_ts()}
        self._history[channel][ts] = updated
        answered = {key: value for key, value in updated.items() if key != "ts"}
        return {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "text": updated["text"],
            "message": answered,
        }

    def _chat_delete(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, ts, _ = self._find_message(params)
        del self._history[channel][ts]
        return {"ok": True, "channel": channel, "ts": ts}

    def _conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        """``users=U…`` opens (stable) DM ``D…``; several users open an MPIM ``G…``."""
        return_im = _flag(params.get("return_im"))
        channel = _optional_str(params.get("channel"))
        users_param = _optional_str(params.get("users"))
        if channel:
            user = self._dm_user(channel)
            if user is None and channel not in self._channels:
                raise _SlackError("channel_not_found")
            body: dict[str, Any] = {"ok": True, "no_op": True, "already_open": True}
            body["channel"] = (
                self._im_object(channel, user) if return_im and user else {"id": channel}
            )
            return body
        if not users_param:
            raise _SlackError("users_list_not_supplied")
        users = [user.strip() for user in users_param.split(",") if user.strip()]
        if len(users) > 8:
            raise _SlackError("too_many_users")
        for user in users:
            if not _ID_RE.match(user) or user[0] not in "UW":
                raise _SlackError("user_not_found")
            known = self._users.get(user)
            if known is not None and known.deleted:
                raise _SlackError("user_disabled")
        if len(users) > 1:
            digest = hashlib.sha1(",".join(sorted(users)).encode()).digest()
            return {"ok": True, "channel": {"id": "G" + base64.b32encode(digest).decode()[:10]}}
        channel_id = dm_channel_id(users[0])
        already_open = channel_id in self._open_dms
        self._open_dm(users[0])
        body = {"ok": True}
        if already_open:
            body.update({"no_op": True, "already_open": True})
        body["channel"] = self._im_object(channel_id, users[0]) if return_im else {"id": channel_id}
        return body

    def _conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        channel_id = _optional_str(params.get("channel")) or ""
        known = self._channels.get(channel_id)
        if known is not None:
            include_num_members = _flag(params.get("include_num_members"))
            return {
                "ok": True,
                "channel": self._channel_object(known, include_num_members=include_num_members),
            }
        user = self._dm_user(channel_id)
        if user is not None:
            return {"ok": True, "channel": self._im_object(channel_id, user)}
        raise _SlackError("channel_not_found")

    def _conversations_members(self, params: dict[str, Any]) -> dict[str, Any]:
        """Members of a channel configured with ``add_channel``; cursor-paginated like Slack."""
        channel_id = _optional_str(params.get("channel")) or ""
        known = self._channels.get(channel_id)
        if known is None:
            raise _SlackError("channel_not_found")
        try:
            limit = int(params.get("limit") or 100)
        except (TypeError, ValueError):
            raise _SlackError("invalid_limit") from None
        limit = max(1, min(limit, 1000))
        start = 0
        cursor = _optional_str(params.get("cursor"))
        if cursor:
            start = _decode_cursor(cursor, known.members)
        page = known.members[start : start + limit]
        rest = known.members[start + limit :]
        next_cursor = _encode_cursor(rest[0]) if rest else ""
        return {"ok": True, "members": page, "response_metadata": {"next_cursor": next_cursor}}

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        """Users configured with ``add_user``; ``locale`` only with ``include_locale=true``."""
        user = self._users.get(_optional_str(params.get("user")) or "")
        if user is None:
            raise _SlackError("user_not_found")
        include_locale = _flag(params.get("include_locale"))
        return {"ok": True, "user": self._user_object(user, include_locale=include_locale)}

    def _views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        user_id = _optional_str(params.get("user_id"))
        if not user_id:
            raise _SlackError("invalid_arguments", "invalid `user_id`")
        view = _check_view(params.get("view"), "home")
        home = self._home_views.get(user_id)
        if home is None:
            home = self._home_views[user_id] = _HomeView(self._new_id("V"), "")
        expected = _optional_str(params.get("hash"))
        if expected and expected != home.hash:
            raise _SlackError("hash_conflict")
        home.hash = f"{int(time.time())}.{secrets.token_hex(4)}"
        answered = self._view_object(view, view_id=home.view_id, view_hash=home.hash)
        home.published.append(answered)
        return {"ok": True, "view": answered}

    def _views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        if not _optional_str(params.get("trigger_id")):
            raise _SlackError("invalid_arguments", "invalid `trigger_id`")
        view = _check_view(params.get("view"), "modal")
        view_hash = f"{int(time.time())}.{secrets.token_hex(4)}"
        return {
            "ok": True,
            "view": self._view_object(view, view_id=self._new_id("V"), view_hash=view_hash),
        }

    def _files_get_upload_url_external(self, params: dict[str, Any]) -> dict[str, Any]:
        filename = _optional_str(params.get("filename"))
        length = params.get("length")
        if not filename:
            raise _SlackError("invalid_arguments", "[ERROR] missing required field: filename")
        try:
            size = int(length)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise _SlackError(
                "invalid_arguments", "[ERROR] missing required field: length"
            ) from None
        file_id = self._new_id("F")
        secret = secrets.token_urlsafe(24)
        self._uploads[file_id] = Upload(file_id=file_id, filename=filename, length=size)
        self._upload_secrets[file_id] = secret
        return {
            "ok": True,
            "upload_url": f"{self.base_url}/upload/v1/{file_id}/{secret}",
            "file_id": file_id,
        }

    def _files_complete_upload_external(self, params: dict[str, Any]) -> dict[str, Any]:
        files = params.get("files")
        if not isinstance(files, list) or not files:
            raise _SlackError("invalid_arguments", "[ERROR] missing required field: files")
        uploads: list[tuple[Upload, dict[str, Any]]] = []
        for item in files:
            upload = self._uploads.get(item.get("id", "")) if isinstance(item, dict) else None
            if upload is None or upload.content is None or upload.completed:
                raise _SlackError("file_not_found")
            uploads.append((upload, item))
        channel_id = _optional_str(params.get("channel_id"))
        channels_param = _optional_str(params.get("channels")) or ""
        channels = (
            [channel_id]
            if channel_id
            else [c.strip() for c in channels_param.split(",") if c.strip()]
        )
        for channel in channels:
            self._resolve_channel(channel)
        blocks = params.get("blocks")
        if blocks is not None:
            _check_blocks(blocks, _MAX_MESSAGE_BLOCKS)
        for upload, item in uploads:
            upload.title = _optional_str(item.get("title")) or upload.filename
            upload.channels = channels
            upload.channel = channels[0] if channels else None
            upload.initial_comment = _optional_str(params.get("initial_comment"))
            upload.thread_ts = _optional_str(params.get("thread_ts"))
            upload.blocks = blocks
            upload.completed = True
        return {"ok": True, "files": [self._file_object(upload) for upload, _ in uploads]}


# --------------------------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------------------------


class _SocketConnection:
    """One WebSocket (RFC 6455) as the Socket Mode server sees it: text frames both ways,
    unmasked from the server, masked from the client; pings answered with pongs."""

    def __init__(self, reader: Any, writer: Any) -> None:
        self._reader, self._writer = reader, writer
        self._send_lock = threading.Lock()
        self._acks: dict[str, dict[str, Any]] = {}
        self._acked = threading.Condition()
        self.received: list[dict[str, Any]] = []  # every JSON message the app sent

    def _send(self, opcode: int, data: bytes) -> None:
        size = len(data)
        if size < 126:
            head = bytes([0x80 | opcode, size])
        elif size < 1 << 16:
            head = bytes([0x80 | opcode, 126]) + size.to_bytes(2, "big")
        else:
            head = bytes([0x80 | opcode, 127]) + size.to_bytes(8, "big")
        with self._send_lock:
            self._writer.write(head + data)
            self._writer.flush()

    def send_json(self, message: dict[str, Any]) -> None:
        self._send(0x1, json.dumps(message).encode())

    def _read_exact(self, n: int) -> bytes:
        data = self._reader.read(n)
        if data is None or len(data) < n:
            raise EOFError
        return data

    def serve(self) -> None:
        with contextlib.suppress(EOFError, OSError, ValueError):
            while True:
                first, second = self._read_exact(2)
                opcode, size = first & 0x0F, second & 0x7F
                if size == 126:
                    size = int.from_bytes(self._read_exact(2), "big")
                elif size == 127:
                    size = int.from_bytes(self._read_exact(8), "big")
                mask = self._read_exact(4) if second & 0x80 else b"\0\0\0\0"
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(self._read_exact(size)))
                if opcode == 0x8:  # close: answer it and stop
                    self._send(0x8, data[:2])
                    return
                if opcode == 0x9:  # ping
                    self._send(0xA, data)
                elif opcode == 0x1:
                    message = json.loads(data)
                    with self._acked:
                        self.received.append(message)
                        if "envelope_id" in message:
                            self._acks[message["envelope_id"]] = message
                            self._acked.notify_all()

    def wait_for_ack(self, envelope_id: str, timeout: float) -> dict[str, Any] | None:
        with self._acked:
            self._acked.wait_for(lambda: envelope_id in self._acks, timeout)
            return self._acks.get(envelope_id)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default (5) drops bursts of concurrent connections
    fake: FakeSlack


class _RequestHandler(BaseHTTPRequestHandler):
    server: _Server

    def version_string(self) -> str:
        return "Apache"  # what slack.com answers in the recorded traffic

    def do_POST(self) -> None:
        self._dispatch()

    def do_GET(self) -> None:
        if self.path.startswith("/link/"):
            self.server.fake._open_socket(self)  # Socket Mode: the connection lives here
            self.close_connection = True
            return
        self._dispatch()

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        headers = {key.title(): value for key, value in self.headers.items()}
        reply = self.server.fake._handle(self.command, self.path, headers, body)
        if isinstance(reply.body, str):
            payload = reply.body.encode()
            content_type = "text/plain; charset=utf-8"
        else:
            payload = json.dumps(reply.body, ensure_ascii=False).encode()
            content_type = "application/json; charset=utf-8"
        self.send_response(reply.status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-Slack-Req-Id", secrets.token_hex(16))
        self.send_header("Access-Control-Expose-Headers", "x-slack-req-id, retry-after")
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log."""


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _as_predicate(predicate: Callable[[Call], bool] | str) -> Callable[[Call], bool]:
    if isinstance(predicate, str):
        method = predicate
        return lambda call: call.method == method

    def safe(call: Call) -> bool:
        try:
            return bool(predicate(call))
        except Exception:
            return False

    return safe


def _error_of(response: Any) -> str:
    return str(response.get("error")) if isinstance(response, dict) else str(response)


def _bearer_token(headers: Mapping[str, str]) -> str | None:
    value = headers.get("Authorization", "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def _optional_str(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in ("true", "1"))


def _parse_params(query: str, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """Merge query string and body (form, multipart or JSON) the way Slack reads them."""
    params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    content_type = headers.get("Content-Type", "")
    mime = content_type.split(";")[0].strip().lower()
    if mime == "application/json":
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            raise _SlackError("invalid_json") from None
        if not isinstance(payload, dict):
            raise _SlackError("json_not_object")
        params.update(payload)
    elif mime == "multipart/form-data":
        params.update(_parse_multipart(content_type, body))
    elif body:
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return _decode_json_params(params)


def _decode_json_params(params: dict[str, Any]) -> dict[str, Any]:
    decoded = dict(params)
    for key in JSON_PARAMS & decoded.keys():
        value = decoded[key]
        if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
            # Undecodable JSON is left as sent; the method answers invalid_blocks & co.
            with contextlib.suppress(ValueError):
                decoded[key] = json.loads(value)
    return decoded


def _parse_multipart(content_type: str, body: bytes) -> dict[str, str | bytes]:
    """Fields of a multipart/form-data body: text fields as str, file parts as bytes."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: dict[str, str | bytes] = {}
    if not isinstance(message, email.message.EmailMessage):
        return fields
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        fields[name] = data if part.get_filename() is not None else data.decode("utf-8", "replace")
    return fields


def _check_blocks(blocks: Any, limit: int) -> None:
    if not isinstance(blocks, list):
        raise _SlackError("invalid_blocks", "[ERROR] must provide an array [json-pointer:/blocks]")
    for index, block in enumerate(blocks):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            pointer = f"[json-pointer:/blocks/{index}]"
            raise _SlackError("invalid_blocks", f"[ERROR] missing required field: type {pointer}")
    if len(blocks) > limit:
        raise _SlackError(
            "invalid_blocks", f"[ERROR] no more than {limit} items allowed [json-pointer:/blocks]"
        )


def _check_view(view: Any, expected_type: str) -> dict[str, Any]:
    """Validate a view like Slack does for the common mistakes (messages as Slack words them)."""
    if not isinstance(view, dict):
        raise _SlackError(
            "invalid_arguments",
            "[ERROR] failed to match all allowed schemas [json-pointer:/view]",
            "[ERROR] must provide an object [json-pointer:/view]",
        )
    if "type" not in view:
        raise _SlackError(
            "invalid_arguments",
            "[ERROR] failed to match all allowed schemas [json-pointer:/view]",
            "[ERROR] missing required field: type [json-pointer:/view]",
        )
    if view["type"] != expected_type:
        raise _SlackError(
            "invalid_arguments",
            f"[ERROR] must be one of {expected_type} [json-pointer:/view/type]",
        )
    if expected_type == "modal" and "title" not in view:
        raise _SlackError(
            "invalid_arguments", "[ERROR] missing required field: title [json-pointer:/view]"
        )
    blocks = view.get("blocks", [])
    if (
        not isinstance(blocks, list)
        or len(blocks) > _MAX_VIEW_BLOCKS
        or not all(
            isinstance(block, dict) and isinstance(block.get("type"), str) for block in blocks
        )
    ):
        raise _SlackError("invalid_arguments", "[ERROR] invalid blocks [json-pointer:/view/blocks]")
    return view


def _with_block_ids(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copies of ``blocks``; Slack gives every block without one a short random block_id."""
    return [
        block
        if "block_id" in block
        else {
            "type": block["type"],
            "block_id": _block_id(),
            **{k: v for k, v in block.items() if k != "type"},
        }
        for block in blocks
    ]


def _block_id() -> str:
    return base64.b64encode(secrets.token_bytes(3)).decode().rstrip("=")[:4]


def _topic(value: str, creator: str) -> dict[str, Any]:
    if value:
        return {"value": value, "creator": creator, "last_set": _CREATED}
    return {"value": "", "creator": "", "last_set": 0}


def _encode_cursor(member: str) -> str:
    return base64.b64encode(f"user:{member}".encode()).decode()


def _decode_cursor(cursor: str, members: list[str]) -> int:
    try:
        decoded = base64.b64decode(cursor, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise _SlackError("invalid_cursor") from None
    kind, _, member = decoded.partition(":")
    if kind != "user" or member not in members:
        raise _SlackError("invalid_cursor")
    return members.index(member)


def _normalize(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _tz_details(tz: str) -> tuple[str, int]:
    """Slack's ``tz_label`` and ``tz_offset`` (seconds) for an IANA zone, as of now."""
    try:
        now = datetime.now(ZoneInfo(tz))
    except (ZoneInfoNotFoundError, ValueError):
        return tz, 0
    abbreviation = now.tzname() or tz
    offset = now.utcoffset()
    return _TZ_LABELS.get(abbreviation, abbreviation), int(offset.total_seconds()) if offset else 0
