"""``POST /github/webhook`` on the real bot: signatures, idempotence, progress without a click."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from bot.github.webhooks import MalformedDelivery, parse_delivery, signature_ok
from tests.rig.bot_process import SIGNING_SECRET, WEBHOOK_SECRET, BotProcess, bot_environment
from tests.rig.conversation import Conversation
from tests.rig.fake_github import FakeGitHub
from tests.rig.fake_slack import FakeSlack, dm_channel_id
from tests.rig.github_sender import GitHubSender, fork_payload, pull_request_payload
from tests.rig.reference import require_reference
from tests.rig.slack_sender import SlackSender

UPSTREAM = "eig/practice"


@pytest.fixture
def github(bot: BotProcess) -> GitHubSender:
    return GitHubSender(bot.url, WEBHOOK_SECRET)


@pytest.fixture
def at_pull_request_step(
    slack: SlackSender, fake_slack: FakeSlack, fake_github: FakeGitHub, user_id: str
) -> Conversation:
    ada = Conversation(slack, fake_slack, user_id)
    world = fake_github.world
    world.add_user("ada-hook", email="ada@example.org")
    ada.links("ada-hook")
    world.fork(UPSTREAM, owner="ada-hook")
    ada.types("check")
    world.create_branch("ada-hook/practice", "add-ada")
    ada.types("check")
    world.commit(
        "ada-hook/practice",
        "add-ada",
        {"participants/ada-hook.md": "Hi\n"},
        author_email="ada@example.org",
    )
    assert "Step 5 of 5" in ada.types("check").text
    return ada


def test_the_signature_test_vector_from_githubs_docs() -> None:
    header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert signature_ok("It's a Secret to Everybody", b"Hello, World!", header)
    assert not signature_ok("It's a Secret to Everybody", b"Hello, World?", header)
    assert not signature_ok("", b"Hello, World!", header)


def test_official_example_payloads_are_understood() -> None:
    examples = require_reference("github/webhook-examples")
    pull = json.loads((examples / "pull_request/opened.payload.json").read_text())
    upstream = pull["repository"]["full_name"]
    delivery = parse_delivery("pull_request", json.dumps(pull).encode(), upstream)
    assert delivery is not None and pull["pull_request"]["user"]["login"] in delivery.logins
    fork = json.loads((examples / "fork/payload.json").read_text())
    delivery = parse_delivery("fork", json.dumps(fork).encode(), fork["repository"]["full_name"])
    assert delivery is not None and delivery.logins[0] == fork["forkee"]["owner"]["login"]
    assert fork["sender"]["login"] in delivery.logins  # who made it (under an organisation?)
    assert delivery.fork == fork["forkee"]["full_name"]
    push = json.loads((examples / "push/payload.json").read_text())
    assert parse_delivery("push", json.dumps(push).encode(), upstream) is None
    with pytest.raises(MalformedDelivery):
        parse_delivery("pull_request", b"{not json", upstream)


def test_ping_is_answered(github: GitHubSender) -> None:
    response = github.deliver("ping", {"zen": "Keep it logically awesome.", "hook_id": 1})
    assert response.status_code == 200 and response.text == "pong"


@pytest.mark.parametrize("how", ["wrong", "missing"])
def test_bad_signatures_are_refused_and_nothing_is_posted(
    github: GitHubSender,
    fake_slack: FakeSlack,
    at_pull_request_step: Conversation,
    fake_github: FakeGitHub,
    how: str,
) -> None:
    fake_github.world.open_pull(UPSTREAM, head="ada-hook:add-ada", base="main")
    mark = len(fake_slack.calls)
    payload = pull_request_payload("opened", UPSTREAM, "ada-hook", "add-ada")
    if how == "wrong":
        response = github.deliver("pull_request", payload, signature="sha256=" + "0" * 64)
    else:
        response = github.deliver("pull_request", payload, signed=False)
    assert response.status_code == 401
    time.sleep(1)
    assert not [m for m in fake_slack.calls[mark:] if m.method == "chat.postMessage"]


def test_a_pull_request_delivery_moves_the_learner_without_a_click(
    github: GitHubSender,
    fake_slack: FakeSlack,
    at_pull_request_step: Conversation,
    fake_github: FakeGitHub,
) -> None:
    ada = at_pull_request_step
    fake_github.world.open_pull(UPSTREAM, head="ada-hook:add-ada", base="main", title="Hi")
    mark = len(fake_slack.calls)
    payload = pull_request_payload("opened", UPSTREAM, "ada-hook", "add-ada")
    started = time.monotonic()
    response = github.deliver("pull_request", payload, delivery_id="delivery-1")
    assert response.status_code == 202
    message = fake_slack.wait_for_message(
        lambda m: m.channel == dm_channel_id(ada.user_id) and "You did it" in m.text, after=mark
    )
    print(f"\nwebhook delivery → learner's message: {time.monotonic() - started:.2f} s")
    assert "Open your pull request" in message.text

    mark = len(fake_slack.calls)
    again = github.deliver("pull_request", payload, delivery_id="delivery-1")
    assert again.status_code == 200 and again.text == "already handled"
    time.sleep(1)
    assert not [c for c in fake_slack.calls[mark:] if c.method == "chat.postMessage"]


def test_a_fork_delivery_moves_a_learner_at_the_fork_step(
    github: GitHubSender,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_github: FakeGitHub,
    user_id: str,
) -> None:
    ada = Conversation(slack, fake_slack, user_id)
    fake_github.world.add_user("ada-forks")
    assert "Step 2 of 5" in ada.links("ada-forks").text
    fake_github.world.fork(UPSTREAM, owner="ada-forks")
    mark = len(fake_slack.calls)
    assert github.deliver("fork", fork_payload(UPSTREAM, "ada-forks")).status_code == 202
    message = fake_slack.wait_for_message(
        lambda m: m.channel == dm_channel_id(user_id) and "Step 3 of 5" in m.text, after=mark
    )
    assert "Create a branch" in message.text


def test_a_fork_made_under_an_organisation_is_named_to_whoever_made_it(
    github: GitHubSender,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_github: FakeGitHub,
    user_id: str,
) -> None:
    ada = Conversation(slack, fake_slack, user_id)
    world = fake_github.world
    world.add_user("ada-org")
    world.add_org("dinum", private_members=["ada-org"])  # invisible to the bot
    assert "Step 2 of 5" in ada.links("ada-org").text
    world.fork(UPSTREAM, owner="dinum")
    assert "Not yet" in ada.types("check").text  # nothing ties dinum's fork to her yet
    mark = len(fake_slack.calls)
    payload = fork_payload(UPSTREAM, "dinum", sender="ada-org")
    assert github.deliver("fork", payload).status_code == 202
    message = fake_slack.wait_for_message(
        lambda m: m.channel == dm_channel_id(user_id) and "dinum" in m.text, after=mark
    )
    assert "belongs to the organization *dinum*, not to you" in message.text
    assert "prcoach_check" in str(message.blocks)


def test_unrelated_deliveries_are_accepted_and_ignored(
    github: GitHubSender, fake_slack: FakeSlack
) -> None:
    other = pull_request_payload("opened", "someone/else", "ada-hook", "x")
    assert github.deliver("pull_request", other).status_code == 202
    assert (
        github.deliver(
            "pull_request", pull_request_payload("labeled", UPSTREAM, "ada-hook", "x")
        ).status_code
        == 202
    )
    assert github.deliver("issues", {"action": "opened", "repository": {}}).status_code == 202
    assert (
        github.deliver(
            "pull_request", pull_request_payload("opened", UPSTREAM, "nobody-we-know", "x")
        ).status_code
        == 202
    )


def test_a_malformed_body_is_400(github: GitHubSender, bot: BotProcess) -> None:
    import requests

    body = b"{definitely not json"
    response = requests.post(
        github.url,
        data=body,
        headers={
            "X-GitHub-Event": "pull_request",
            "X-GitHub-Delivery": "x",
            "X-Hub-Signature-256": github.sign(body),
            "Content-Type": "application/json",
        },
        timeout=5,
    )
    assert response.status_code == 400


def test_without_a_secret_every_delivery_is_refused(
    github_server: FakeGitHub, slack_server: FakeSlack, tmp_path: Path
) -> None:
    env = bot_environment(
        slack_api_url=slack_server.api_url,
        github_api_url=github_server.url,
        database_url=f"sqlite:///{tmp_path / 'nosecret.db'}",
        GITHUB_WEBHOOK_SECRET="",
        WEB_CONCURRENCY="1",
    )
    process = BotProcess(env, tmp_path).start()
    try:
        sender = GitHubSender(process.url, WEBHOOK_SECRET)
        response = sender.deliver(
            "pull_request", pull_request_payload("opened", UPSTREAM, "ada", "x")
        )
        assert response.status_code == 403
    finally:
        process.stop()
    assert SIGNING_SECRET not in process.logs()


def test_a_delivery_finds_a_learner_whose_account_was_renamed_by_its_id(
    github: GitHubSender,
    fake_slack: FakeSlack,
    at_pull_request_step: Conversation,
    fake_github: FakeGitHub,
) -> None:
    ada = at_pull_request_step
    account = fake_github.world.rename_user("ada-hook", "ada-renamed")
    fake_github.world.open_pull(UPSTREAM, head="ada-renamed:add-ada", base="main", title="Hi")
    payload = pull_request_payload("opened", UPSTREAM, "ada-renamed", "add-ada")
    pull = payload["pull_request"]
    for person in (pull["user"], pull["head"]["user"], pull["head"]["repo"]["owner"]):
        person["id"] = account.id  # GitHub's payloads carry the accounts' ids
    assert parse_delivery("pull_request", json.dumps(payload).encode(), UPSTREAM).user_ids == (
        account.id,
    )
    mark = len(fake_slack.calls)
    assert github.deliver("pull_request", payload).status_code == 202
    message = fake_slack.wait_for_message(
        lambda m: m.channel == dm_channel_id(ada.user_id) and "You did it" in m.text, after=mark
    )
    assert "renamed from *ada-hook* to *ada-renamed*" in message.text
