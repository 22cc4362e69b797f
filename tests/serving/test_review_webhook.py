"""After the pull request is open, over HTTP: GitHub's review, push and merge deliveries reach
the real bot, which reads the pull request on the fake GitHub and coaches the learner in Slack.
"""

from __future__ import annotations

import time

import pytest

from tests.rig.bot_process import WEBHOOK_SECRET, BotProcess
from tests.rig.conversation import Conversation
from tests.rig.fake_github import FakeGitHub
from tests.rig.fake_slack import FakeSlack, Message, dm_channel_id
from tests.rig.github_sender import (
    GitHubSender,
    pull_request_payload,
    review_comment_payload,
    review_payload,
)
from tests.rig.slack_sender import SlackSender

UPSTREAM = "eig/practice"
# GitHub waits 10 s for the delivery's answer; the learner hears within that much too.
WITHIN = 10.0


@pytest.fixture
def github(bot: BotProcess) -> GitHubSender:
    return GitHubSender(bot.url, WEBHOOK_SECRET)


def open_pull_request(
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_github: FakeGitHub,
    github: GitHubSender,
    user_id: str,
    login: str,
) -> tuple[Conversation, int]:
    """Linked, forked, branched, committed (through the real checks), then the pull request
    opened and announced by the webhook."""
    learner = Conversation(slack, fake_slack, user_id)
    world = fake_github.world
    world.add_user(login, email=f"{login}@example.org")
    world.add_user("mentor-rev")
    learner.links(login)
    world.fork(UPSTREAM, owner=login)
    learner.types("check")
    world.create_branch(f"{login}/practice", f"add-{login}")
    learner.types("check")
    world.commit(
        f"{login}/practice",
        f"add-{login}",
        {f"participants/{login}.md": "Hi\n"},
        author_email=f"{login}@example.org",
    )
    learner.types("check")
    number = world.open_pull(UPSTREAM, head=f"{login}:add-{login}", base="main", title="Hi")
    mark = len(fake_slack.calls)
    github.deliver(
        "pull_request", pull_request_payload("opened", UPSTREAM, login, f"add-{login}", number)
    )
    fake_slack.wait_for_message(
        lambda m: m.channel == dm_channel_id(user_id) and "pull request" in m.text.lower(),
        after=mark,
        timeout=WITHIN,
    )
    return learner, number


def deliver_and_wait(
    github: GitHubSender,
    fake_slack: FakeSlack,
    user_id: str,
    event: str,
    payload: dict,
    expected: str,
) -> tuple[Message, float]:
    mark = len(fake_slack.calls)
    started = time.monotonic()
    assert github.deliver(event, payload).status_code == 202
    message = fake_slack.wait_for_message(
        lambda m: m.channel == dm_channel_id(user_id) and expected in m.text,
        after=mark,
        timeout=WITHIN,
    )
    return message, time.monotonic() - started


def test_review_push_approval_and_merge_are_coached_within_seconds(
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_github: FakeGitHub,
    github: GitHubSender,
    user_id: str,
) -> None:
    login = f"rev-{user_id.lower()}"
    _, number = open_pull_request(slack, fake_slack, fake_github, github, user_id, login)
    world, branch = fake_github.world, f"add-{login}"

    # Changes requested, with a suggested change on a line of the file.
    world.review_pull(
        UPSTREAM,
        number,
        by="mentor-rev",
        state="REQUEST_CHANGES",
        body="Nice start! Could you add a sentence about what you do in the programme? "
        + "Thanks " * 80,
        comments=[(f"participants/{login}.md", 1, "```suggestion\nHi, I'm new here\n```")],
    )
    payload = review_payload(UPSTREAM, login, branch, number, reviewer="mentor-rev")
    message, took = deliver_and_wait(
        github, fake_slack, user_id, "pull_request_review", payload, "asked for changes"
    )
    print(f"\nreview delivery → learner's message: {took:.2f} s")
    assert "mentor-rev" in message.text
    assert "> Nice start! Could you add a sentence" in message.text  # the gist, quoted
    assert "Thanks Thanks" in message.text and "…" in message.text  # shortened
    assert len(message.text) < 3000
    assert "same branch" in message.text and f"`{branch}`" in message.text
    assert "On GitHub's website" in message.text  # the learner's way of working
    assert "Commit suggestion" in message.text
    assert "Open your pull request" in str(message.blocks)

    # The learner pushes a new commit on the same branch: the pull request follows.
    world.commit(
        f"{login}/practice",
        branch,
        {f"participants/{login}.md": "Hi, I'm new here\n"},
        author_email=f"{login}@example.org",
    )
    payload = pull_request_payload("synchronize", UPSTREAM, login, branch, number)
    message, _ = deliver_and_wait(
        github, fake_slack, user_id, "pull_request", payload, "Your pull request is updated"
    )
    assert "mentor-rev" in message.text

    # Approved, then merged: congratulated each time.
    world.review_pull(UPSTREAM, number, by="mentor-rev", state="APPROVE", body="Perfect!")
    payload = review_payload(
        UPSTREAM, login, branch, number, reviewer="mentor-rev", state="approved"
    )
    message, _ = deliver_and_wait(
        github, fake_slack, user_id, "pull_request_review", payload, "approved your pull request"
    )
    assert "> Perfect!" in message.text
    world.merge_pull(UPSTREAM, number, by="mentor-rev")
    payload = pull_request_payload("closed", UPSTREAM, login, branch, number)
    deliver_and_wait(github, fake_slack, user_id, "pull_request", payload, "is merged")

    # The same news delivered again is told once only (nothing new on GitHub).
    mark = len(fake_slack.calls)
    assert github.deliver("pull_request", payload).status_code == 202
    time.sleep(2)
    again = [m for m in fake_slack.messages(dm_channel_id(user_id)) if "is merged" in m.text]
    assert len(again) == 1
    assert not [c for c in fake_slack.calls[mark:] if c.method == "chat.postMessage"]


def test_closed_without_merge_conflicts_and_comments_in_french(
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_github: FakeGitHub,
    github: GitHubSender,
    french_user_id: str,
) -> None:
    login = f"rev-{french_user_id.lower()}"
    _, number = open_pull_request(slack, fake_slack, fake_github, github, french_user_id, login)
    world, branch = fake_github.world, f"add-{login}"

    world.comment_on_diff(
        UPSTREAM,
        number,
        by="mentor-rev",
        path=f"participants/{login}.md",
        line=1,
        body="Joli ! Tu peux ajouter ton équipe ?",
    )
    payload = review_comment_payload(UPSTREAM, login, branch, number, reviewer="mentor-rev")
    message, _ = deliver_and_wait(
        github,
        fake_slack,
        french_user_id,
        "pull_request_review_comment",
        payload,
        "a laissé un commentaire",
    )
    assert "> Joli ! Tu peux ajouter ton équipe ?" in message.text

    world.set_mergeable(UPSTREAM, number, False)
    payload = pull_request_payload("synchronize", UPSTREAM, login, branch, number)
    message, _ = deliver_and_wait(
        github, fake_slack, french_user_id, "pull_request", payload, "des conflits"
    )
    assert "Resolve conflicts" in message.text and "Mark as resolved" in message.text

    world.close_pull(UPSTREAM, number)
    payload = pull_request_payload("closed", UPSTREAM, login, branch, number)
    message, _ = deliver_and_wait(
        github, fake_slack, french_user_id, "pull_request", payload, "fermée sans être fusionnée"
    )
    assert "Reopen pull request" in message.text
