"""Item 8: hostile strings are cleaned, cut or escaped where they come in, and one bad entry
never fails the others: NUL bytes and over-long Slack names, ``%`` as a login, branch
names with ``#``, ``&`` or ``+``."""

from __future__ import annotations

import itertools

from sqlalchemy import create_engine, text

from bot.course.checks import CheckResult
from bot.course.ports import CheckContext
from bot.github.client import make_github
from bot.github.probes import GitHubProber
from bot.storage.database import create_database_engine, migrate, session_factory
from bot.storage.store import SqlLearnerStore
from tests.rig.bot_process import GITHUB_TOKEN, PRACTICE_REPO, STAFF_USER, BotProcess
from tests.rig.conversation import Conversation
from tests.rig.fake_github import FakeGitHub
from tests.rig.fake_slack import FakeSlack
from tests.rig.slack_sender import SlackSender

_serial = itertools.count(1)


def _stored_names(bot: BotProcess, user_ids: list[str]) -> dict[str, str | None]:
    engine = create_engine(bot.env["DATABASE_URL"])
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT slack_user_id, name FROM learners")).all()
    engine.dispose()
    return {uid: name for uid, name in rows if uid in user_ids}


def test_a_nul_byte_or_an_over_long_name_never_stops_an_invitation(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotProcess
) -> None:
    serial = next(_serial)
    nul, long, plain = (f"UHOS{serial:02d}{n}" for n in ("NUL", "LONG", "OK"))
    fake_slack.add_user(nul, name="nul", real_name="Ada\x00Lovelace", locale="en-US")
    fake_slack.add_user(long, name="long", real_name="Ü" * 300, locale="fr-FR")
    fake_slack.add_user(plain, name="plain", real_name="Grace Hopper", locale="en-US")
    staff = Conversation(slack, fake_slack, STAFF_USER)
    answer = staff.types(f"invite <@{nul}> <@{long}> <@{plain}> cohort hostile-{serial}")
    for user in (nul, long, plain):
        assert f"<@{user}>" in answer.text
    names = _stored_names(bot, [nul, long, plain])
    assert names == {nul: "AdaLovelace", long: "Ü" * 200, plain: "Grace Hopper"}


def test_a_login_of_percent_matches_nobody(each_database_url: str) -> None:
    migrate(each_database_url)
    engine = create_database_engine(each_database_url)
    store = SqlLearnerStore(session_factory(engine))
    for user, login in (("U1", "alice"), ("U2", "bob_1")):
        learner = store.enroll("T1", user, "en", "link")
        found = CheckResult.done_with({"github_login": login})
        store.record_check(learner.id, "link", found, "test", "fork")
    try:
        assert store.find_by_login("%") == []
        assert store.find_by_login("_lice") == []
        assert store.find_by_login("bob%") == []
        assert [lr.github_login for lr in store.find_by_login("ALICE")] == ["alice"]
        assert [lr.github_login for lr in store.find_by_login("bob_1")] == ["bob_1"]
    finally:
        engine.dispose()


def test_a_branch_name_with_hash_ampersand_and_plus_reaches_github_whole(
    fake_github: FakeGitHub,
) -> None:
    prober = GitHubProber(make_github(fake_github.url, GITHUB_TOKEN, timeout=5), PRACTICE_REPO)
    branch = "fix#1&state=closed+more"
    context = CheckContext("ada-hostile", {"branch": branch, "fork": "ada-hostile/practice"}, {})
    fake_github.reset_log()
    for check in ("pull_request_opened", "branch_exists"):
        url = prober.url_for(check, context)
        assert url is not None
        prober.probe(url, None)
    pulls, branches = fake_github.requests[-2:]
    assert pulls.path == f"/repos/{PRACTICE_REPO}/pulls"
    assert pulls.query["head"] == f"ada-hostile:{branch}"
    assert pulls.query["state"] == "all"
    assert branches.path == "/repos/ada-hostile/practice/branches"
