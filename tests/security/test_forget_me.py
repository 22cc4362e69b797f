"""Item 6: after forget-me (and after an erasure like the retention job's), nothing that names
the person remains — in any table (other learners' history included), in the database's
files themselves (``-wal`` included), in their App Home, or in log lines written afterwards."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, make_url, text

from tests.rig import databases
from tests.rig.bot_process import STAFF_CHANNEL, STAFF_USER, BotProcess
from tests.rig.conversation import Conversation
from tests.rig.fake_github import FakeGitHub
from tests.rig.fake_slack import FakeSlack, dm_channel_id
from tests.rig.slack_sender import SlackSender
from tests.security.conftest import LogMark

_serial = itertools.count(1)


def _every_row(url: str) -> str:
    engine = create_engine(url)
    chunks = []
    with engine.connect() as connection:
        for table in inspect(engine).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                chunks.append(json.dumps([str(v) for v in row], ensure_ascii=False))
    engine.dispose()
    return "\n".join(chunks)


def _raw_files(url: str) -> dict[str, bytes]:
    """The bytes of the SQLite database and its -wal and -shm files, as they are on disk."""
    path = Path(make_url(url).database or "")
    return {
        suffix or "db": Path(f"{path}{suffix}").read_bytes()
        for suffix in ("", "-wal", "-shm")
        if Path(f"{path}{suffix}").exists()
    }


def _github_user_id(url: str, user: str) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        value = connection.execute(
            text("SELECT github_user_id FROM learners WHERE slack_user_id = :u"), {"u": user}
        ).scalar_one()
    engine.dispose()
    return int(value)


def _no_trace(bot: BotProcess, traces: list[str]) -> None:
    rows = _every_row(bot.env["DATABASE_URL"])
    for trace in traces:
        assert trace.lower() not in rows.lower(), trace
    if databases.default_kind() == "sqlite":
        for name, raw in _raw_files(bot.env["DATABASE_URL"]).items():
            for trace in traces:
                at = raw.lower().find(trace.lower().encode())
                assert at < 0, f"{trace} is still in {name}: {raw[max(0, at - 80) : at + 40]!r}"


@pytest.fixture
def sqlite_only() -> None:
    if databases.default_kind() != "sqlite":
        pytest.skip("the raw-file scan reads SQLite's files")


def test_forget_me_leaves_no_trace_in_rows_files_home_or_logs(
    slack: SlackSender, fake_slack: FakeSlack, fake_github: FakeGitHub, bot: BotProcess
) -> None:
    serial = next(_serial)
    ada_id, grace_id = f"UFGTA{serial:04d}", f"UFGTG{serial:04d}"
    name, login = f"Zénobie Oubliée{serial}", f"zenobie-forgotten-{serial}"
    fake_slack.add_user(ada_id, name="zenobie", real_name=name, locale="fr-FR")
    fake_slack.add_user(grace_id, name="grace", real_name="Grace Stays", locale="en-US")
    fake_github.world.add_user(login)
    ada = Conversation(slack, fake_slack, ada_id)
    grace = Conversation(slack, fake_slack, grace_id)
    ada.says("bonjour")
    assert "Étape 2 sur 5" in ada.links(login).text
    github_id = _github_user_id(bot.env["DATABASE_URL"], ada_id)
    grace.says("hello")
    claim = grace.types(f"link {login}")
    if "prcoach_that_is_me" in str(claim.blocks):  # "Is this you?" first
        claim = grace.clicks("prcoach_that_is_me", on=claim)
    assert "already linked to someone else" in claim.text

    question = ada.types("forget-me")
    log_mark = LogMark(bot)
    mark = len(fake_slack.calls)
    # Slack refuses the goodbye: it must not wait in the outbox with Ada's DM channel.
    fake_slack.fail_next(1, error="internal_error", method="chat.postMessage")
    slack.action(
        "prcoach_confirm",
        user_id=ada_id,
        channel_id=ada.dm,
        message={"type": "message", "ts": question.ts, "blocks": question.blocks, "text": ""},
    )
    fake_slack.wait_for_message(lambda m: m.channel == STAFF_CHANNEL, after=mark)

    def home_of_ada(call: object) -> bool:
        params = getattr(call, "params", {})
        return getattr(call, "method", "") == "views.publish" and params.get("user_id") == ada_id

    # Her Home is emptied (a publish of a newcomer's Home)…
    fake_slack.wait_for(
        lambda c: home_of_ada(c) and login not in json.dumps(c.params), after=mark, timeout=15
    )
    time.sleep(0.5)
    # …and stays so: the last Home published for her shows neither her login nor her step.
    last = [c for c in fake_slack.calls if home_of_ada(c)][-1]
    assert login not in json.dumps(last.params) and "Étape 2" not in json.dumps(last.params)

    _no_trace(
        bot,
        [
            ada_id,
            name,
            login,
            dm_channel_id(ada_id),
            f'"github_user_id": {github_id}',
            f'"github_user_id":{github_id}',
        ],
    )
    logged = log_mark.text(settle=0.5)
    for trace in (ada_id, login, dm_channel_id(ada_id), str(github_id), name):
        assert trace not in logged, trace
    assert "already linked" not in grace.types("status").text  # Grace is untouched


def test_an_erased_cohort_leaves_no_name_in_the_database_files(
    slack: SlackSender, fake_slack: FakeSlack, fake_github: FakeGitHub, bot: BotProcess
) -> None:
    serial = next(_serial)
    people = [f"UFGTP{serial:03d}{n}" for n in range(2)]
    cohort = f"fgt-purge-{serial}"
    for index, person in enumerate(people):
        fake_slack.add_user(person, real_name=f"Effacée Personne{serial}x{index}", locale="fr-FR")
        fake_github.world.add_user(f"erased-login-{serial}x{index}")
    staff = Conversation(slack, fake_slack, STAFF_USER)
    staff.types("invite " + " ".join(f"<@{p}>" for p in people) + f" {cohort}")
    for index, person in enumerate(people):
        Conversation(slack, fake_slack, person).links(f"erased-login-{serial}x{index}")
    question = staff.types(f"purge-cohort {cohort}")
    staff.clicks("prcoach_confirm", on=question)
    traces = [*people, *(dm_channel_id(p) for p in people)]
    traces += [f"Personne{serial}x{i}" for i in range(2)]
    traces += [f"erased-login-{serial}x{i}" for i in range(2)]
    _no_trace(bot, traces)
