"""Tests of the Slack side of the test rig: ``FakeSlack`` (Web API) and ``SlackSender``.

Three groups:

* behaviour, driven through slack_sdk's own ``WebClient`` (what the bot uses);
* signing and request shapes of ``SlackSender``, verified with slack_sdk's ``SignatureVerifier``
  and by a minimal Bolt app served over HTTP (the whole rig, end to end);
* conformance with ``tests/reference/slack``: the official OpenAPI subset, recorded real traffic,
  captured real payloads and the key inventories (``shapes/``), kept in the repository.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import jsonschema
import pytest
import requests
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from .fake_slack import BOT_USER_ID, DEFAULT_TOKEN, Call, FakeSlack, dm_channel_id
from .reference import require_reference
from .slack_sender import SlackSender

SECRET = "test-signing-secret"

# Some tests post without text on purpose (to get no_text); slack_sdk warns about that.
pytestmark = pytest.mark.filterwarnings("ignore:The top-level `text` argument:UserWarning")

# Realistic ids for the conformance tests: the archived OpenAPI spec requires team ids of 9+
# characters and channel ids of 9+ (``^[TE][A-Z0-9]{8,}$``, ``^[CGD][A-Z0-9]{8,}$``), longer
# than the short defaults (T0001, C1, U1) the rig uses for readability.
TEAM = "T0123ABCDE"
CHANNEL = "C0123ABCDE"
USER = "U0123ABCDE"


# --------------------------------------------------------------------------------------------
# Fixtures and helpers
# --------------------------------------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    """A WebClient without retry handlers, so faults surface as they are answered."""
    return WebClient(token=DEFAULT_TOKEN, base_url=fake.api_url, retry_handlers=[], timeout=5)


@pytest.fixture
def real_fake() -> Iterator[FakeSlack]:
    """A fake configured with realistic ids, for the schema conformance tests."""
    with FakeSlack(team_id=TEAM) as server:
        server.add_user(
            USER,
            name="ada",
            real_name="Ada Lovelace",
            locale="fr-FR",
            tz="Europe/Paris",
            email="ada@example.com",
        )
        server.add_channel(CHANNEL, name="general", members=[USER, BOT_USER_ID])
        yield server


@pytest.fixture
def real_client(real_fake: FakeSlack) -> WebClient:
    return WebClient(token=DEFAULT_TOKEN, base_url=real_fake.api_url, retry_handlers=[], timeout=5)


@pytest.fixture
def slack_ref() -> Path:
    return require_reference("slack")


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _answer(call: Any) -> dict[str, Any]:
    """The JSON body of a slack_sdk call, or of the SlackApiError it raised."""
    try:
        return dict(call().data)
    except SlackApiError as error:
        return dict(error.response.data)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _always_present(samples: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Keys every real sample has, with the JSON types seen for each."""
    keys = set(samples[0]).intersection(*samples[1:])
    return {key: {_json_type(sample[key]) for sample in samples} for key in keys}


def _assert_has_real_keys(fake: dict[str, Any], samples: list[dict[str, Any]], where: str) -> None:
    for key, types in sorted(_always_present(samples).items()):
        assert key in fake, f"{where}: real Slack always sends {key!r}, the fake does not"
        assert _json_type(fake[key]) in types, (
            f"{where}.{key}: fake sends {_json_type(fake[key])}, real Slack sends {types}"
        )


def _assert_within_inventory(fake: dict[str, Any], inventory: dict[str, Any], where: str) -> None:
    """Every key the fake sends is in the inventory, with the same JSON type.

    Inventories (``shapes/``) are unions of real payloads with values blanked and null values
    dropped, so a null on either side is accepted; objects are compared recursively, arrays only
    by type (their items are unions of unrelated block kinds).
    """
    for key, value in fake.items():
        if value is None:
            continue
        assert key in inventory, f"{where}: the fake sends {key!r}, never seen from real Slack"
        expected = inventory[key]
        if expected is None:
            continue
        assert _json_type(value) == _json_type(expected), (
            f"{where}.{key}: fake sends {_json_type(value)}, real Slack {_json_type(expected)}"
        )
        if isinstance(value, dict) and isinstance(expected, dict) and expected:
            _assert_within_inventory(value, expected, f"{where}.{key}")


class _Recorder:
    """A tiny HTTP server standing in for the bot: records requests, answers 200."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                recorder.requests.append((self.path, dict(self.headers.items()), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorder() -> Iterator[_Recorder]:
    server = _Recorder()
    yield server
    server.close()


@pytest.fixture
def sender(recorder: _Recorder) -> SlackSender:
    return SlackSender(recorder.base_url, SECRET)


def _verify(headers: dict[str, str], body: bytes) -> bool:
    return SignatureVerifier(SECRET).is_valid(
        body=body,
        timestamp=headers["X-Slack-Request-Timestamp"],
        signature=headers["X-Slack-Signature"],
    )


def _payload_of(body: bytes) -> dict[str, Any]:
    return json.loads(dict(parse_qsl(body.decode()))["payload"])


# --------------------------------------------------------------------------------------------
# FakeSlack driven by slack_sdk
# --------------------------------------------------------------------------------------------


def test_auth_test_and_tokens(fake: FakeSlack, client: WebClient) -> None:
    answer = client.auth_test()
    assert answer["user_id"] == fake.bot_user_id and answer["bot_id"] == fake.bot_id

    with pytest.raises(SlackApiError) as refused:
        WebClient(token="xoxb-wrong", base_url=fake.api_url, retry_handlers=[]).auth_test()
    assert refused.value.response["error"] == "invalid_auth"

    with pytest.raises(SlackApiError) as missing:
        WebClient(base_url=fake.api_url, retry_handlers=[]).auth_test()
    assert missing.value.response["error"] == "not_authed"

    # the token may also travel as a form parameter; it is not recorded among the params
    tokenless = WebClient(base_url=fake.api_url, retry_handlers=[])
    assert tokenless.api_call("auth.test", params={"token": DEFAULT_TOKEN})["ok"] is True
    last = fake.calls[-1]
    assert last.token == DEFAULT_TOKEN and "token" not in last.params

    fake.valid_tokens.add("xoxb-other")
    assert WebClient(token="xoxb-other", base_url=fake.api_url).auth_test()["ok"] is True
    assert [call.ok for call in fake.calls_to("auth.test")] == [True, False, False, True, True]


def test_unknown_method_is_refused(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as refused:
        client.api_call("chat.scheduleMessage", json={"channel": "C1", "text": "later"})
    assert refused.value.response.status_code == 404
    assert refused.value.response["error"] == "unknown_method"


def test_post_update_delete_message(fake: FakeSlack, client: WebClient) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Step 1*"}}]
    posted = client.chat_postMessage(channel="C1", text="Step 1", blocks=blocks)
    assert posted["channel"] == "C1"
    assert posted["message"]["text"] == "Step 1"
    assert posted["message"]["ts"] == posted["ts"]
    assert posted["message"]["blocks"][0]["block_id"]  # Slack fills in block ids

    updated = client.chat_update(channel="C1", ts=posted["ts"], text="Step 1 ✅")
    assert updated["text"] == "Step 1 ✅" and updated["message"]["edited"]["user"] == fake.bot_id
    assert [m["text"] for m in fake.history("C1")] == ["Step 1 ✅"]

    client.chat_delete(channel="C1", ts=posted["ts"])
    assert fake.history("C1") == []
    with pytest.raises(SlackApiError) as gone:
        client.chat_update(channel="C1", ts=posted["ts"], text="again")
    assert gone.value.response["error"] == "message_not_found"

    seeded = fake.add_message("C1", text="from a human", user="U1")
    assert client.chat_update(channel="C1", ts=seeded, text="edited")["ok"] is True

    [message] = fake.messages(channel="C1")
    assert (message.via, message.text, message.blocks, message.ts) == (
        "chat.postMessage",
        "Step 1",
        blocks,
        posted["ts"],
    )


def test_post_message_errors(client: WebClient) -> None:
    for kwargs, error in [
        ({"channel": "C1"}, "no_text"),
        ({"channel": "", "text": "x"}, "channel_not_found"),
        ({"channel": "#nowhere", "text": "x"}, "channel_not_found"),
        ({"channel": "C1", "blocks": [{"text": "no type"}]}, "invalid_blocks"),
        ({"channel": "C1", "text": "x" * 40_001}, "msg_too_long"),
    ]:
        with pytest.raises(SlackApiError) as refused:
            client.chat_postMessage(**kwargs)
        assert refused.value.response["error"] == error, kwargs


def test_form_encoded_json_params_are_decoded(fake: FakeSlack, client: WebClient) -> None:
    blocks = [{"type": "divider"}]
    attachments = [{"text": "legacy", "fallback": "legacy"}]
    client.api_call(
        "chat.postMessage",
        params={
            "channel": "C1",
            "blocks": json.dumps(blocks),
            "attachments": json.dumps(attachments),
        },
    )
    call = fake.calls_to("chat.postMessage")[0]
    assert call.params["blocks"] == blocks and call.params["attachments"] == attachments
    assert call.response["message"]["attachments"] == [{"id": 1, **attachments[0]}]


def test_ts_are_unique_under_concurrency(fake: FakeSlack) -> None:
    def post(worker: int) -> None:
        client = WebClient(token=DEFAULT_TOKEN, base_url=fake.api_url, retry_handlers=[])
        for index in range(10):
            client.chat_postMessage(channel="C1", text=f"{worker}-{index}")

    threads = [threading.Thread(target=post, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stamps = [message.ts for message in fake.messages("C1")]
    assert len(stamps) == 80 and len(set(stamps)) == 80
    assert all(len(ts) == 17 and ts[10] == "." for ts in stamps if ts)


def test_ephemeral_messages(fake: FakeSlack, client: WebClient) -> None:
    fake.add_channel("C2", name="team", members=["U1", "U2"])
    answer = client.chat_postEphemeral(channel="C2", user="U1", text="only you")
    assert set(answer.data) == {"ok", "message_ts"}
    with pytest.raises(SlackApiError) as refused:
        client.chat_postEphemeral(channel="C2", user="U9", text="not a member")
    assert refused.value.response["error"] == "user_not_in_channel"
    [message] = fake.messages("C2")
    assert (message.via, message.user, message.ts) == (
        "chat.postEphemeral",
        "U1",
        answer["message_ts"],
    )


def test_dm_channels_are_stable(fake: FakeSlack, client: WebClient) -> None:
    first = client.conversations_open(users="U1")
    assert first.data == {"ok": True, "channel": {"id": dm_channel_id("U1")}}
    again = client.conversations_open(users="U1")
    assert again["channel"]["id"] == dm_channel_id("U1") and again["already_open"] is True
    assert dm_channel_id("U2") != dm_channel_id("U1")

    full = client.conversations_open(users="U2", return_im=True)["channel"]
    assert full["is_im"] is True and full["user"] == "U2"

    posted = client.chat_postMessage(channel="U3", text="hello")  # a user id posts to the DM
    assert posted["channel"] == dm_channel_id("U3")
    assert fake.messages(channel=dm_channel_id("U3"))[0].text == "hello"
    assert fake.messages(channel="U3")[0].text == "hello"

    with pytest.raises(SlackApiError) as refused:
        client.api_call("conversations.open", params={})
    assert refused.value.response["error"] == "users_list_not_supplied"


def test_conversations_info(fake: FakeSlack, client: WebClient) -> None:
    fake.add_channel("C2", name="pr-coach", members=["U1", "U2"], topic="Learn PRs")
    channel = client.conversations_info(channel="C2", include_num_members=True)["channel"]
    assert (channel["name"], channel["num_members"], channel["topic"]["value"]) == (
        "pr-coach",
        2,
        "Learn PRs",
    )

    client.conversations_open(users="U1")
    im = client.conversations_info(channel=dm_channel_id("U1"))["channel"]
    assert im["is_im"] is True and im["user"] == "U1"

    with pytest.raises(SlackApiError) as refused:
        client.conversations_info(channel="C404")
    assert refused.value.response["error"] == "channel_not_found"


def test_conversations_members_paginates(fake: FakeSlack, client: WebClient) -> None:
    members = [f"U{index:03d}" for index in range(7)]
    fake.add_channel("C2", members=members)

    pages = [page["members"] for page in client.conversations_members(channel="C2", limit=3)]
    assert pages == [members[0:3], members[3:6], members[6:]]
    last = fake.calls_to("conversations.members")[-1]
    assert last.response["response_metadata"] == {"next_cursor": ""}

    for bad in ({"channel": "C404"}, {"channel": "C2", "cursor": "bm9wZQ=="}):
        with pytest.raises(SlackApiError) as refused:
            client.conversations_members(**bad)
        assert refused.value.response["error"] in ("channel_not_found", "invalid_cursor")


def test_users_info(fake: FakeSlack, client: WebClient) -> None:
    fake.add_user(
        "U1",
        name="ada",
        real_name="Ada Lovelace",
        locale="fr-FR",
        is_admin=False,
        is_owner=False,
        tz="Europe/Paris",
    )
    user = client.users_info(user="U1")["user"]
    assert "locale" not in user  # only with include_locale, as Slack does
    assert (user["name"], user["real_name"], user["tz"]) == ("ada", "Ada Lovelace", "Europe/Paris")
    assert user["tz_offset"] in (3600, 7200) and user["profile"]["display_name"] == "ada"

    with_locale = client.users_info(user="U1", include_locale=True)["user"]
    assert with_locale["locale"] == "fr-FR"

    with pytest.raises(SlackApiError) as refused:
        client.users_info(user="U404")
    assert refused.value.response["error"] == "user_not_found"


def test_views(fake: FakeSlack, client: WebClient) -> None:
    home = {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Hi"}}],
    }
    first = client.views_publish(user_id="U1", view=home)["view"]
    second = client.views_publish(user_id="U1", view=home, hash=first["hash"])["view"]
    assert first["id"] == second["id"] and first["hash"] != second["hash"]
    with pytest.raises(SlackApiError) as conflict:
        client.views_publish(user_id="U1", view=home, hash=first["hash"])
    assert conflict.value.response["error"] == "hash_conflict"
    assert [view["hash"] for view in fake.published_views("U1")] == [first["hash"], second["hash"]]
    assert fake.published_views("U2") == []

    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Quiz"}, "blocks": []}
    opened = client.views_open(trigger_id="123.456.abc", view=modal)["view"]
    assert opened["type"] == "modal" and opened["title"]["text"] == "Quiz"
    for kwargs in ({"trigger_id": "", "view": modal}, {"trigger_id": "1.2.3", "view": {}}):
        with pytest.raises(SlackApiError) as refused:
            client.views_open(**kwargs)
        assert refused.value.response["error"] == "invalid_arguments"
        assert refused.value.response["response_metadata"]["messages"]


def test_files_upload_v2_end_to_end(fake: FakeSlack, client: WebClient) -> None:
    content = "# Your first pull request\n\nCongratulations!\n"
    answer = client.files_upload_v2(
        channel="C1",
        content=content,
        filename="recap.md",
        title="Recap",
        initial_comment="Here is your recap",
    )
    [upload] = fake.uploads
    assert upload.content == content.encode()
    assert (upload.filename, upload.title, upload.channel, upload.initial_comment) == (
        "recap.md",
        "Recap",
        "C1",
        "Here is your recap",
    )
    assert answer["file"]["id"] == upload.file_id and answer["file"]["size"] == len(content)
    assert [call.method for call in fake.calls] == [
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
    ]


def test_upload_url_accepts_multipart(fake: FakeSlack, client: WebClient) -> None:
    data = b"\x00\x01binary\xff"
    target = client.files_getUploadURLExternal(filename="a.bin", length=len(data))
    sent = requests.post(target["upload_url"], files={"filename": ("a.bin", data)}, timeout=5)
    assert (sent.status_code, sent.text) == (200, f"OK - {len(data)}")
    client.files_completeUploadExternal(files=[{"id": target["file_id"]}], channels=["C1", "C2"])
    [upload] = fake.uploads
    assert (upload.content, upload.title, upload.channels) == (data, "a.bin", ["C1", "C2"])

    with pytest.raises(SlackApiError) as twice:
        client.files_completeUploadExternal(files=[{"id": target["file_id"]}])
    assert twice.value.response["error"] == "file_not_found"
    assert requests.post(target["upload_url"] + "x", data=b"x", timeout=5).status_code == 404


def test_response_url(fake: FakeSlack) -> None:
    url = fake.response_url("cmd-1", channel="C1")
    sent = WebhookClient(url).send(text="Working on it…", response_type="ephemeral")
    assert (sent.status_code, sent.body) == (200, "ok")
    [call] = fake.calls
    assert (call.method, call.tag, call.params["response_type"]) == (
        "response_url",
        "cmd-1",
        "ephemeral",
    )
    [message] = fake.messages(channel="C1")
    assert (message.via, message.text, message.tag) == ("response_url", "Working on it…", "cmd-1")
    assert requests.post(url, data=b"not json", timeout=5).status_code == 400


def test_rate_limit_without_retry_handler(fake: FakeSlack, client: WebClient) -> None:
    fake.rate_limit_next(1, retry_after=7)
    with pytest.raises(SlackApiError) as limited:
        client.chat_postMessage(channel="C1", text="hi")
    response = limited.value.response
    assert response.status_code == 429 and response["error"] == "ratelimited"
    assert response.headers["Retry-After"] == "7"
    assert client.chat_postMessage(channel="C1", text="hi")["ok"] is True  # only the next one


def test_rate_limit_with_default_retry_handler(fake: FakeSlack) -> None:
    client = WebClient(
        token=DEFAULT_TOKEN,
        base_url=fake.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    fake.rate_limit_next(1, retry_after=0)  # 0 s keeps the test fast; the handler adds < 1 s
    assert client.chat_postMessage(channel="C1", text="hi")["ok"] is True
    assert [call.status for call in fake.calls_to("chat.postMessage")] == [429, 200]
    assert len(fake.messages()) == 1  # refused attempts are not messages


def test_fail_next_and_delay(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next(2, "fatal_error", method="chat.postMessage")
    assert client.auth_test()["ok"] is True  # other methods are unaffected
    for _ in range(2):
        with pytest.raises(SlackApiError) as failed:
            client.chat_postMessage(channel="C1", text="hi")
        assert failed.value.response["error"] == "fatal_error"
    assert client.chat_postMessage(channel="C1", text="hi")["ok"] is True

    fake.fail_next(1)
    with pytest.raises(SlackApiError) as failed:
        client.auth_test()
    assert failed.value.response["error"] == "internal_error"

    fake.delay = 0.3
    started = time.monotonic()
    client.auth_test()
    assert time.monotonic() - started >= 0.3


def test_wait_for(fake: FakeSlack, client: WebClient) -> None:
    timer = threading.Timer(0.2, lambda: client.chat_postMessage(channel="C1", text="later"))
    timer.start()
    call = fake.wait_for(lambda c: c.params["text"] == "later", timeout=5)  # KeyError → no match
    assert isinstance(call, Call) and call.method == "chat.postMessage"
    assert fake.wait_for_message(channel="C1", timeout=1).text == "later"

    with pytest.raises(AssertionError) as timed_out:
        fake.wait_for("views.publish", timeout=0.2)
    assert "chat.postMessage" in str(timed_out.value) and "later" in str(timed_out.value)
    with pytest.raises(AssertionError):
        fake.wait_for("chat.postMessage", timeout=0.1, after=len(fake.calls))

    fake.reset()
    assert fake.calls == [] and fake.messages() == []


# --------------------------------------------------------------------------------------------
# SlackSender
# --------------------------------------------------------------------------------------------


def test_sign_reproduces_slack_docs_example(slack_ref: Path) -> None:
    example = _load(slack_ref / "interactivity" / "slash_command.signing-example.json")
    sender = SlackSender("http://127.0.0.1:9", example["signing_secret"])
    stamp = int(example["headers"]["X-Slack-Request-Timestamp"])
    headers = sender.sign(example["raw_body"].encode(), stamp)
    assert headers == {
        "X-Slack-Request-Timestamp": example["headers"]["X-Slack-Request-Timestamp"],
        "X-Slack-Signature": example["headers"]["X-Slack-Signature"],
    }


def test_every_request_verifies_with_slack_sdk(recorder: _Recorder, sender: SlackSender) -> None:
    sender.command("status")
    sender.dm_message("hello")
    sender.app_home_opened("U1")
    sender.action("next_step", value="2")
    sender.url_verification("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")
    assert len(recorder.requests) == 5
    for path, headers, body in recorder.requests:
        assert path == "/slack/events"
        assert headers["User-Agent"].startswith("Slackbot 1.0")
        assert _verify(headers, body), body[:80]

    # stale and tampered requests are what the bot must refuse
    body = b'{"type":"url_verification","challenge":"x"}'
    assert not _verify(sender.sign(body, int(time.time()) - 301), body)
    assert not _verify(sender.sign(body), body.replace(b"x", b"y"))
    sender.raw(body, {"Content-Type": "application/json", **sender.sign(body, 1)})
    assert recorder.requests[-1][1]["X-Slack-Request-Timestamp"] == "1"


def test_command_is_form_encoded_like_slack(
    recorder: _Recorder, sender: SlackSender, slack_ref: Path
) -> None:
    response = sender.command("review https://github.com/o/r/pull/1", user_id="U7", user_name="bob")
    assert response.status_code == 200
    _, headers, body = recorder.requests[-1]
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    fields = dict(parse_qsl(body.decode(), keep_blank_values=True))
    assert (fields["text"], fields["user_id"], fields["user_name"], fields["command"]) == (
        "review https://github.com/o/r/pull/1",
        "U7",
        "bob",
        "/prcoach",
    )

    facts = _load(slack_ref / "protocol-facts.json")["slash_commands"]["fields"]
    enterprise_only = {"enterprise_id", "enterprise_name"}  # sent only by Enterprise Grid
    assert list(fields) == [name for name in facts if name not in enterprise_only]
    inventory = _load(
        slack_ref / "shapes" / "app-backend__slash-commands__SlashCommandPayload.json"
    )
    assert set(fields) <= set(inventory)
    # same field order as the body Slack signed in its documentation example
    documented = _load(slack_ref / "interactivity" / "slash_command.signing-example.json")["fields"]
    assert [name for name in fields if name in documented] == list(documented)
    assert fields["response_url"].startswith("https://hooks.slack.com.invalid/commands/")


def test_event_envelope_matches_slack(
    recorder: _Recorder, sender: SlackSender, slack_ref: Path
) -> None:
    schema = _load(slack_ref / "events" / "slack_common_event_wrapper_schema.json")
    validator = jsonschema.Draft7Validator(schema)
    real_im = _load(slack_ref / "events" / "event_callback.message.im.json")
    real_home = _load(slack_ref / "events" / "event_callback.app_home_opened.home-tab.json")
    modern = _load(slack_ref / "protocol-facts.json")["events_api"]["modern_envelope_fields"]

    sender.dm_message("hello", user_id="U7")
    sender.app_home_opened("U7")
    sender.event(
        {
            "type": "app_mention",
            "user": "U7",
            "text": "<@U0PRCOACH> hi",
            "ts": "1700000000.000100",
            "channel": "C1",
        },
        event_id="Ev0RETRY01",
        retry_num=1,
        retry_reason="http_timeout",
    )
    (_, dm_headers, dm_body), (_, _, home_body), (_, retry_headers, retry_body) = recorder.requests

    dm, home, retried = (json.loads(body) for body in (dm_body, home_body, retry_body))
    for envelope in (dm, home, retried):
        validator.validate(envelope)  # archived schema: requires authed_users, which we send
        assert list(envelope)[: len(modern)] == modern  # real field order, authed_users last
        assert envelope["event_id"].startswith("Ev") and isinstance(envelope["event_time"], int)
    assert dm_headers["Content-Type"] == "application/json"
    assert "X-Slack-Retry-Num" not in dm_headers
    assert (retry_headers["X-Slack-Retry-Num"], retry_headers["X-Slack-Retry-Reason"]) == (
        "1",
        "http_timeout",
    )
    assert retried["event_id"] == "Ev0RETRY01"

    _assert_has_real_keys(dm, [real_im], "dm envelope")
    assert set(dm["event"]) == set(real_im["event"])
    _assert_has_real_keys(dm["event"], [real_im["event"]], "dm event")
    assert (dm["event"]["channel"], dm["event"]["channel_type"]) == (dm_channel_id("U7"), "im")
    _assert_has_real_keys(home, [real_home], "app_home_opened envelope")
    assert set(home["event"]) == set(real_home["event"])
    _assert_has_real_keys(home["authorizations"][0], real_home["authorizations"], "authorizations")


def test_block_actions_payload_matches_slack(
    recorder: _Recorder, sender: SlackSender, slack_ref: Path
) -> None:
    example = _load(slack_ref / "interactivity" / "block_actions.bolt-python.json")["payload"]
    inventory = _load(
        slack_ref / "shapes" / "app-backend__interactive-components__BlockActionPayload.json"
    )

    message = {
        "type": "message",
        "ts": "1700000000.000200",
        "text": "Step 2",
        "blocks": [
            {
                "type": "actions",
                "block_id": "nav",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "next_step",
                        "value": "3",
                        "text": {"type": "plain_text", "text": "Next"},
                    }
                ],
            }
        ],
    }
    sender.action("next_step", user_id="U7", message=message)
    _, headers, body = recorder.requests[-1]
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert list(dict(parse_qsl(body.decode()))) == ["payload"]
    payload = _payload_of(body)

    _assert_has_real_keys(payload, [example], "block_actions")
    _assert_within_inventory(
        {key: value for key, value in payload.items() if key != "message"},
        inventory,
        "block_actions",
    )
    [action] = payload["actions"]
    _assert_has_real_keys(action, example["actions"], "block_actions.actions[0]")
    assert (action["block_id"], action["value"], action["text"]["text"]) == ("nav", "3", "Next")
    assert payload["container"]["message_ts"] == "1700000000.000200"
    assert payload["channel"]["id"] == payload["container"]["channel_id"] == dm_channel_id("U7")
    assert payload["message"] == message


def test_url_verification_body(recorder: _Recorder, sender: SlackSender) -> None:
    sender.url_verification("challenge-123")
    _, _, body = recorder.requests[-1]
    assert json.loads(body) == {
        "token": sender.verification_token,
        "challenge": "challenge-123",
        "type": "url_verification",
    }
    assert sender.last_request is not None and sender.last_request.body == body


# --------------------------------------------------------------------------------------------
# The whole rig against a real Bolt app
# --------------------------------------------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_rig_drives_a_minimal_bolt_app(fake: FakeSlack) -> None:
    from slack_bolt import App
    from slack_bolt.adapter.wsgi import SlackRequestHandler

    app = App(
        client=WebClient(token=DEFAULT_TOKEN, base_url=fake.api_url),
        signing_secret=SECRET,
    )

    @app.command("/prcoach")
    def on_command(ack: Any, respond: Any, command: dict[str, Any]) -> None:
        ack()
        respond(f"you said {command['text']}")

    @app.event("message")
    def on_message(event: dict[str, Any], say: Any) -> None:
        say(f"echo {event['text']}")

    @app.event("app_home_opened")
    def on_home(event: dict[str, Any], client: WebClient) -> None:
        client.views_publish(user_id=event["user"], view={"type": "home", "blocks": []})

    @app.action("next_step")
    def on_next(ack: Any, body: dict[str, Any], client: WebClient) -> None:
        ack()
        client.chat_update(channel=body["channel"]["id"], ts=body["message"]["ts"], text="done")

    server: WSGIServer = make_server(
        "127.0.0.1", 0, SlackRequestHandler(app), handler_class=_QuietHandler
    )
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    try:
        sender = SlackSender(f"http://127.0.0.1:{server.server_port}", SECRET, fake=fake)

        assert sender.url_verification("abc").json() == {"challenge": "abc"}

        assert sender.command("hello").status_code == 200
        assert fake.wait_for_message(channel="C1").text == "you said hello"

        assert sender.dm_message("ping", user_id="U7").status_code == 200
        echoed = fake.wait_for("chat.postMessage")
        assert echoed.params["text"] == "echo ping"
        assert echoed.params["channel"] == dm_channel_id("U7")

        assert sender.app_home_opened("U7").status_code == 200
        fake.wait_for("views.publish")
        assert len(fake.published_views("U7")) == 1

        posted = echoed.response
        clicked = sender.action(
            "next_step", user_id="U7", message=posted["message"], channel_id=posted["channel"]
        )
        assert clicked.status_code == 200
        fake.wait_for(lambda call: call.method == "chat.update" and call.ok)
        assert fake.history(posted["channel"])[0]["text"] == "done"

        body = b'{"type":"url_verification","challenge":"x"}'
        stale = sender.sign(body, int(time.time()) - 600)
        assert sender.raw(body, {"Content-Type": "application/json", **stale}).status_code == 401
        forged = sender.sign(body.replace(b"x", b"y"))
        assert sender.raw(body, {"Content-Type": "application/json", **forged}).status_code == 401
    finally:
        server.shutdown()
        server.server_close()


# --------------------------------------------------------------------------------------------
# Conformance with the reference data
# --------------------------------------------------------------------------------------------


def _items_lists_as_any_of(node: Any) -> Any:
    """Read the spec's ``"items": [A, B]`` on non-array schemas as ``anyOf: [A, B]``.

    The archived generator wrote alternatives that way (e.g. ``tz``, ``bot_id``, every
    conversation/user object); JSON Schema would ignore them for non-arrays, which would leave
    those objects unchecked.  This *tightens* the spec.
    """
    if isinstance(node, list):
        return [_items_lists_as_any_of(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _items_lists_as_any_of(value) for key, value in node.items()}
    if isinstance(converted.get("items"), list) and converted.get("type") != "array":
        converted["anyOf"] = converted.pop("items")
    return converted


def _relaxed_definitions(definitions: dict[str, Any]) -> dict[str, Any]:
    """The spec's definitions with the few fields real Slack added since it was archived (2021).

    All are ``additionalProperties: false`` objects missing properties that real captures carry:

    * message: ``app_id`` and ``edited`` (web-api/captured/chat.update.ok.json,
      conversations.info.im.ok.json);
    * conversation (channel, MPIM and IM variants): ``context_team_id``, ``updated``,
      ``properties`` (method-examples conversations.info, captured/conversations.info.im.ok.json);
    * user: ``is_email_confirmed``, ``who_can_share_contact_card``; profile:
      ``status_emoji_display_info`` (recorded/users_info.json).
    """
    defs = copy.deepcopy(definitions)
    defs["objs_message"]["properties"].update(
        app_id={"$ref": "#/definitions/defs_app_id"}, edited={"type": "object"}
    )
    for variant in defs["objs_conversation"]["items"]:
        variant["properties"].update(
            context_team_id={"$ref": "#/definitions/defs_team"},
            updated={"type": "integer"},
            properties={"type": "object"},
        )
    for variant in defs["objs_user"]["items"]:
        variant["properties"].update(
            is_email_confirmed={"type": "boolean"}, who_can_share_contact_card={"type": "string"}
        )
    defs["objs_user_profile"]["properties"]["status_emoji_display_info"] = {"type": "array"}
    return defs


@pytest.fixture(scope="module")
def spec_validator() -> Any:
    spec = _load(require_reference("slack/web-api/slack-web-openapi-v2-subset.json"))
    definitions = _items_lists_as_any_of(_relaxed_definitions(spec["definitions"]))

    def validate(method: str, answer: dict[str, Any]) -> None:
        [operation] = spec["paths"][f"/{method}"].values()
        status = "200" if answer["ok"] else "default"
        schema = copy.deepcopy(operation["responses"][status]["schema"])
        if method == "chat.update" and answer["ok"]:
            # The spec types chat.update's message.blocks as an object; Slack sends the usual
            # array of blocks (captured/chat.update.ok.json).
            schema["properties"]["message"]["properties"]["blocks"] = {
                "$ref": "#/definitions/blocks"
            }
        root = {**_items_lists_as_any_of(schema), "definitions": definitions}
        errors = sorted(jsonschema.Draft4Validator(root).iter_errors(answer), key=str)
        assert not errors, f"{method} ({status}): " + "; ".join(
            f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in errors[:5]
        )

    return validate


def test_answers_validate_against_openapi_spec(
    real_fake: FakeSlack, real_client: WebClient, spec_validator: Any
) -> None:
    client = real_client
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Step 1*"}}]
    posted = client.chat_postMessage(channel=CHANNEL, text="Step 1", blocks=blocks)
    dm = client.conversations_open(users=USER)["channel"]["id"]
    home = {"type": "home", "blocks": blocks}
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Quiz"}, "blocks": blocks}
    no_token = WebClient(base_url=real_fake.api_url, retry_handlers=[])

    answers = {
        "auth.test": [lambda: client.auth_test(), no_token.auth_test],
        "chat.postMessage": [
            lambda: client.chat_postMessage(channel=CHANNEL, text="plain"),
            lambda: client.chat_postMessage(channel=USER, text="to the DM", thread_ts=posted["ts"]),
            lambda: client.chat_postMessage(channel=CHANNEL),
            lambda: client.chat_postMessage(channel="#missing", text="x"),
        ],
        "chat.update": [
            lambda: client.chat_update(
                channel=CHANNEL, ts=posted["ts"], text="Done", blocks=blocks
            ),
            lambda: client.chat_update(channel=CHANNEL, ts="1111111111.000001", text="x"),
        ],
        "chat.postEphemeral": [
            lambda: client.chat_postEphemeral(channel=CHANNEL, user=USER, text="psst"),
            lambda: client.chat_postEphemeral(channel=CHANNEL, user="U0STRANGER", text="x"),
        ],
        "conversations.open": [
            lambda: client.conversations_open(users=USER),
            lambda: client.conversations_open(users=USER, return_im=True),
            # (not MPIMs: the spec models only the DM short form {"id": "D…"} for them)
            lambda: client.conversations_open(users="nobody"),
        ],
        "conversations.info": [
            lambda: client.conversations_info(channel=CHANNEL, include_num_members=True),
            lambda: client.conversations_info(channel=dm),
            lambda: client.conversations_info(channel="C0404NOTHERE"),
        ],
        "users.info": [
            lambda: client.users_info(user=USER),
            lambda: client.users_info(user=USER, include_locale=True),
            lambda: client.users_info(user="U0404NOONE"),
        ],
        "views.publish": [
            lambda: client.views_publish(user_id=USER, view=home),
            lambda: client.views_publish(user_id=USER, view={"blocks": []}),
        ],
        "views.open": [
            lambda: client.views_open(trigger_id="1.2.abc", view=modal),
            lambda: client.views_open(trigger_id="1.2.abc", view={}),
        ],
        "chat.delete": [
            lambda: client.chat_delete(channel=CHANNEL, ts=posted["ts"]),
            lambda: client.chat_delete(channel=CHANNEL, ts=posted["ts"]),  # already gone
        ],
    }
    # Only errors listed in the spec's (incomplete, archived) error enums are exercised here;
    # invalid_blocks, hash_conflict, invalid_cursor... are real but missing from those enums.
    for method, calls in answers.items():
        outcomes = {_answer(call)["ok"] for call in calls}
        assert outcomes == {True, False}, method
        for call in calls:
            spec_validator(method, _answer(call))


def test_answers_match_recorded_traffic(
    real_fake: FakeSlack, real_client: WebClient, slack_ref: Path
) -> None:
    """Same top-level keys and JSON types as recorded real answers (VCR cassettes)."""
    recorded = slack_ref / "web-api" / "recorded"

    def real(name: str, method: str) -> list[dict[str, Any]]:
        interactions = _load(recorded / f"{name}.json")["http_interactions"]
        return [
            item["response"]["body_json"]
            for item in interactions
            if item["request"]["uri"].endswith(f"/api/{method}")
        ]

    _assert_has_real_keys(
        real_client.auth_test().data, real("auth_test_success", "auth.test"), "auth.test"
    )
    tokenless = WebClient(base_url=real_fake.api_url, retry_handlers=[])
    assert _answer(tokenless.auth_test) == real("auth_test_error", "auth.test")[0]

    real_fake.add_channel(
        "G0K7EV5A7", name="mpdm-ada--prcoach-1", members=[USER, BOT_USER_ID], is_private=True
    )
    info = real_client.conversations_info(channel="G0K7EV5A7").data
    _assert_has_real_keys(
        info, real("conversations_info", "conversations.info"), "conversations.info"
    )

    # users.info: the recorded workspace's active humans (users.list + users.info answers)
    interactions = _load(recorded / "users_info.json")["http_interactions"]
    samples = interactions[0]["response"]["body_json"]["members"] + [
        interactions[1]["response"]["body_json"]["user"]
    ]
    humans = [
        user
        for user in samples
        if not user["is_bot"] and not user["deleted"] and user["id"] != "USLACKBOT"
    ]
    answer = real_client.users_info(user=USER).data
    _assert_has_real_keys(answer, real("users_info", "users.info"), "users.info")
    _assert_has_real_keys(answer["user"], humans, "users.info user")
    _assert_has_real_keys(
        answer["user"]["profile"], [user["profile"] for user in humans], "users.info user.profile"
    )

    recorded_error = real("views_open_error", "views.open")[0]
    assert _answer(lambda: real_client.views_open(trigger_id="trigger_id", view={})) == (
        recorded_error
    )


@pytest.mark.parametrize("cassette", ["files_upload_v2", "files_upload_v2_with_blocks"])
def test_replayed_upload_requests(real_fake: FakeSlack, slack_ref: Path, cassette: str) -> None:
    """Replay a real client's three requests (form bodies as recorded) against the fake."""
    interactions = _load(slack_ref / "web-api" / "recorded" / f"{cassette}.json")[
        "http_interactions"
    ]
    get_url, upload, complete = interactions
    auth = {
        "Authorization": f"Bearer {DEFAULT_TOKEN}",
        "Content-Type": "application/x-www-form-urlencoded",
    }

    step1 = requests.post(
        real_fake.api_url + "files.getUploadURLExternal",
        data=get_url["request"]["body"],
        headers=auth,
        timeout=5,
    ).json()
    _assert_has_real_keys(step1, [get_url["response"]["body_json"]], "files.getUploadURLExternal")

    step2 = requests.post(
        step1["upload_url"],
        data=upload["request"]["body"].encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=5,
    )
    assert (step2.status_code, step2.text) == (200, upload["response"]["body"])
    assert step2.headers["Content-Type"].startswith("text/plain")

    real_id = get_url["response"]["body_json"]["file_id"]
    body = complete["request"]["body"].replace(real_id, step1["file_id"])
    step3 = requests.post(
        real_fake.api_url + "files.completeUploadExternal", data=body, headers=auth, timeout=5
    ).json()
    real_answer = complete["response"]["body_json"]
    _assert_has_real_keys(step3, [real_answer], "files.completeUploadExternal")
    _assert_has_real_keys(step3["files"][0], real_answer["files"], "completeUploadExternal file")

    [done] = real_fake.uploads
    form = complete["request"]["body_form"]
    assert done.content == upload["request"]["body"].encode()
    assert done.title == json.loads(form["files"])[0]["title"]
    assert done.channel == form.get("channel_id")
    assert done.blocks == (json.loads(form["blocks"]) if "blocks" in form else None)


def test_answers_match_captured_payloads(
    real_fake: FakeSlack, real_client: WebClient, slack_ref: Path
) -> None:
    """Keys and types of real answers captured by other clients (web-api/captured)."""
    captured = slack_ref / "web-api" / "captured"
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]
    posted = real_client.chat_postMessage(channel=CHANNEL, text="hi", blocks=blocks)
    updated = real_client.chat_update(
        channel=CHANNEL, ts=posted["ts"], text="blah", blocks=blocks
    ).data
    real_update = _load(captured / "chat.update.ok.json")
    _assert_has_real_keys(updated, [real_update], "chat.update")
    _assert_has_real_keys(updated["message"], [real_update["message"]], "chat.update message")
    _assert_has_real_keys(
        updated["message"]["bot_profile"], [real_update["message"]["bot_profile"]], "bot_profile"
    )

    real_im = _load(captured / "conversations.info.im.ok.json")
    real_client.chat_postMessage(channel=USER, text="hi")  # the capture has a latest message
    im = real_client.conversations_info(channel=dm_channel_id(USER)).data
    _assert_has_real_keys(im, [real_im], "conversations.info (im)")
    # ``properties`` (tabs of the DM) is left out: nothing in PR Coach reads it.
    expected_im = {key: value for key, value in real_im["channel"].items() if key != "properties"}
    _assert_has_real_keys(im["channel"], [expected_im], "conversations.info (im) channel")

    real_view = _load(captured / "views.publish.ok.json")
    view = real_client.views_publish(user_id=USER, view={"type": "home", "blocks": blocks}).data
    _assert_has_real_keys(view, [real_view], "views.publish")
    _assert_has_real_keys(view["view"], [real_view["view"]], "views.publish view")

    file_object = _load(captured / "file-object.json")
    real_client.files_upload_v2(channel=CHANNEL, content="hello", filename="a.txt")
    uploaded = real_fake.calls_to("files.completeUploadExternal")[-1].response["files"][0]
    shared_keys = {key for key in file_object if key in uploaded}
    assert len(shared_keys) >= 25  # the snippet-only keys (preview, lines...) are not sent
    for key in shared_keys:
        assert _json_type(uploaded[key]) == _json_type(file_object[key]), key


def test_answers_stay_within_key_inventories(
    real_fake: FakeSlack, real_client: WebClient, slack_ref: Path
) -> None:
    """No key the fake sends is unknown to real Slack (shapes/ inventories, same types)."""
    shapes = slack_ref / "shapes"
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]
    upload = real_client.files_upload_v2(channel=CHANNEL, content="hello", filename="a.txt")
    upload_url_answer = real_fake.calls_to("files.getUploadURLExternal")[-1].response
    answers = {
        "api__auth.test.json": real_client.auth_test().data,
        "api__users.info.json": real_client.users_info(user=USER, include_locale=True).data,
        "api__views.publish.json": real_client.views_publish(
            user_id=USER, view={"type": "home", "blocks": blocks}
        ).data,
        "api__files.getUploadURLExternal.json": upload_url_answer,
        "api__files.completeUploadExternal.json": {"ok": True},
    }
    for name, answer in answers.items():
        _assert_within_inventory(answer, _load(shapes / name), name)
    inventory = _load(shapes / "api__files.completeUploadExternal.json")
    _assert_within_inventory(upload.data["files"][0], inventory["files"][0], "completeUpload file")


def test_dm_channel_ids_are_valid_slack_ids() -> None:
    for user in ("U1", "U0123ABCDE", "W999"):
        channel = dm_channel_id(user)
        assert channel.startswith("D") and len(channel) == 11 and channel.isalnum()
        assert channel == channel.upper()
    with FakeSlack() as other:  # derived from the user id only: the same in every fake
        other_client = WebClient(token=DEFAULT_TOKEN, base_url=other.api_url)
        assert other_client.conversations_open(users="U1")["channel"]["id"] == dm_channel_id("U1")
