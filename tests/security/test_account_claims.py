"""Item 3: a proof (signing in on GitHub) always wins over a typed, unproven claim — the typed
link is released, its holder and staff are told — and staff can unlink someone
(``/prcoach unlink @someone``, after a confirmation).

This module runs its own bot with GitHub sign-in available but not required.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.rig import databases
from tests.rig.bot_process import (
    SIGNING_SECRET,
    STAFF_CHANNEL,
    STAFF_USER,
    BotProcess,
    bot_environment,
)
from tests.rig.conversation import Conversation
from tests.rig.fake_github import OAUTH_CLIENT_ID, FakeGitHub
from tests.rig.fake_slack import FakeSlack
from tests.rig.slack_sender import SlackSender
from tests.slack.test_verified_link import NOTICED_WITHIN, sign_in

_people = itertools.count(1)


@pytest.fixture(scope="module")
def proving_bot(
    github_server: FakeGitHub, slack_server: FakeSlack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BotProcess]:
    workdir: Path = tmp_path_factory.mktemp("proving-bot")
    with databases.fresh_database(databases.default_kind(), workdir, "claims") as url:
        env = bot_environment(
            slack_api_url=slack_server.api_url,
            github_api_url=github_server.url,
            database_url=url,
            GITHUB_URL=github_server.url,
            GITHUB_OAUTH_CLIENT_ID=OAUTH_CLIENT_ID,
        )
        process = BotProcess(env, workdir).start()
        try:
            yield process
        finally:
            process.stop()


@pytest.fixture
def sender(proving_bot: BotProcess, fake_slack: FakeSlack, fake_github: FakeGitHub) -> SlackSender:
    return SlackSender(proving_bot.url, SIGNING_SECRET, fake=fake_slack)


def _person(sender: SlackSender, fake_slack: FakeSlack) -> Conversation:
    uid = f"UCLAIM{next(_people):04d}"
    fake_slack.add_user(uid, name=uid.lower(), real_name=f"Learner {uid}", locale="en-US")
    return Conversation(sender, fake_slack, uid)


def test_a_proof_releases_a_typed_claim_and_tells_the_claimant_and_staff(
    sender: SlackSender, fake_slack: FakeSlack, fake_github: FakeGitHub
) -> None:
    owner, claimant = _person(sender, fake_slack), _person(sender, fake_slack)
    fake_github.world.add_user("owner-proves-it")

    claimant.says("hello")
    claimant.says("owner-proves-it")
    assert "Is this you?" in claimant.clicks("prcoach_link_unverified").text
    assert "Step 2 of 5" in claimant.confirms().text  # linked as typed: unproven

    owner.says("hello")
    mark = len(fake_slack.calls)
    proven = sign_in(owner, fake_slack, fake_github, "owner-proves-it")
    assert "GitHub confirms" in proven.text and "already linked" not in proven.text
    assert "owner-proves-it" in owner.types("status").text

    told = fake_slack.wait_for_message(
        lambda m: m.channel == claimant.dm and "no longer linked to you" in m.text,
        timeout=NOTICED_WITHIN,
        after=mark,
    )
    assert "owner-proves-it" in told.text
    staff_note = fake_slack.wait_for_message(
        lambda m: m.channel == STAFF_CHANNEL and "owner-proves-it" in m.text, after=mark
    )
    assert f"<@{owner.user_id}>" in staff_note.text and f"<@{claimant.user_id}>" in staff_note.text
    assert "GitHub account: not linked yet" in claimant.types("status").text


def test_a_proof_never_releases_another_proof(
    sender: SlackSender, fake_slack: FakeSlack, fake_github: FakeGitHub
) -> None:
    first, second = _person(sender, fake_slack), _person(sender, fake_slack)
    fake_github.world.add_user("proven-first")
    first.says("hello")
    assert "GitHub confirms" in sign_in(first, fake_slack, fake_github, "proven-first").text
    second.says("hello")
    refused = sign_in(second, fake_slack, fake_github, "proven-first")
    assert "already linked to someone else" in refused.text
    assert "proven-first" in first.types("status").text


def test_staff_unlink_someone_after_a_confirmation_and_the_learner_is_told(
    sender: SlackSender, fake_slack: FakeSlack, fake_github: FakeGitHub
) -> None:
    learner, staff = _person(sender, fake_slack), Conversation(sender, fake_slack, STAFF_USER)
    fake_github.world.add_user("to-be-unlinked")
    learner.says("hello")
    sign_in(learner, fake_slack, fake_github, "to-be-unlinked")

    question = staff.types(f"unlink <@{learner.user_id}>")
    assert "to-be-unlinked" in question.text and f"<@{learner.user_id}>" in question.text
    assert "to-be-unlinked" in learner.types("status").text  # nothing done before Yes

    mark = len(fake_slack.calls)
    done = staff.clicks("prcoach_confirm", on=question)
    assert "to-be-unlinked" in done.text
    told = fake_slack.wait_for_message(
        lambda m: m.channel == learner.dm and "unlinked" in m.text, after=mark
    )
    assert "to-be-unlinked" in told.text
    assert "GitHub account: not linked yet" in learner.types("status").text


def test_a_learner_cannot_unlink_someone_else(
    sender: SlackSender, fake_slack: FakeSlack, fake_github: FakeGitHub
) -> None:
    victim, other = _person(sender, fake_slack), _person(sender, fake_slack)
    fake_github.world.add_user("victim-account")
    victim.says("hello")
    sign_in(victim, fake_slack, fake_github, "victim-account")
    other.says("hello")
    refused = other.types(f"unlink <@{victim.user_id}>")
    assert "for the programme's staff" in refused.text
    assert "victim-account" in victim.types("status").text
