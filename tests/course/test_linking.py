"""Linking a GitHub account: proven by signing in on GitHub (device flow) or typed, one
account per person, relink and unlink with history, renames followed by id.

Real collaborators: SQLite (or PostgreSQL) storage, the GitHub checks and the device-flow
client over HTTP against the fake GitHub (which hands out a 1-second interval).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, inspect, text

from bot.course import replies as r
from bot.course.coach import Coach, Person
from bot.course.course import load_course
from bot.course.glossary import load_glossary
from bot.course.intents import Action, Intent
from bot.course.learner import Learner
from bot.github.checks import GitHubChecks
from bot.github.client import make_github
from bot.github.device_flow import GitHubDeviceFlow
from bot.storage.database import create_database_engine, migrate, session_factory
from bot.storage.store import SqlLearnerStore
from tests.rig.fake_github import OAUTH_CLIENT_ID, FakeGitHub

ADA = Person("T0001", "UADA")
GRACE = Person("T0001", "UGRACE")
UPSTREAM = "eig/practice"


@pytest.fixture
def store(database_url: str) -> Iterator[SqlLearnerStore]:
    migrate(database_url)
    engine = create_database_engine(database_url)
    yield SqlLearnerStore(session_factory(engine))
    engine.dispose()


def make_coach(
    store: SqlLearnerStore, fake: FakeGitHub, *, oauth: bool = True, require: bool = False
) -> Coach:
    checks = GitHubChecks(make_github(fake.url, "ghp_test", timeout=3), UPSTREAM)
    verifier = GitHubDeviceFlow(fake.url, fake.url, OAUTH_CLIENT_ID, timeout=3) if oauth else None
    return Coach(
        load_course(),
        load_glossary(),
        store,
        checks,
        staff_channel="CSTAFF01",
        verifier=verifier,
        require_verified=require,
    )


@pytest.fixture
def world(fake_github: FakeGitHub) -> FakeGitHub:
    fake_github.world.add_user("Ada-L", email="ada@example.org")
    fake_github.world.add_user("Grace-H", email="grace@example.org")
    return fake_github


@pytest.fixture
def coach(store: SqlLearnerStore, world: FakeGitHub) -> Coach:
    return make_coach(store, world)


@pytest.fixture
def typed_coach(store: SqlLearnerStore, world: FakeGitHub) -> Coach:
    """No GITHUB_OAUTH_CLIENT_ID: typed logins, unverified."""
    return make_coach(store, world, oauth=False)


def say(coach: Coach, intent: Intent, person: Person = ADA, *, recognise: bool = True) -> r.Answer:
    """What the transports do; a typed login's "Is this you?" is answered *Yes, that's me*
    (``recognise``), as the learners of these tests know their own accounts."""
    answer = coach.handle(coach.learner(person), intent, "test")
    return confirm(coach, answer, person) if recognise else answer


def confirm(coach: Coach, answer: r.Answer, person: Person = ADA) -> r.Answer:
    """*Yes, that's me* on the answer's "Is this you?", if it asks."""
    cards = [reply for reply in answer.replies if isinstance(reply, r.AccountCard)]
    if not cards:
        return answer
    value = json.dumps({"asker": cards[0].asker, "id": cards[0].github_user_id})
    return coach.handle(coach.learner(person), Intent(Action.THAT_IS_ME, value), "test")


# Asked after every step done, beside the answer proper (tested on their own).
EXTRAS = (r.FeelingAsk, r.Diagram)


def kinds(answer: r.Answer) -> list[type[r.Reply]]:
    return [type(reply) for reply in answer.replies if not isinstance(reply, EXTRAS)]


def keys(answer: r.Answer) -> list[str]:
    return [reply.key for reply in answer.replies if isinstance(reply, r.Notice | r.FreshCode)]


def stored(coach: Coach, person: Person = ADA) -> Learner:
    found = coach.store.find(person.team_id, person.user_id)
    assert found is not None
    return found


def outcomes(coach: Coach, person: Person = ADA) -> list[str]:
    return [e.outcome for e in coach.store.history(stored(coach, person).id)]


def approve_and_poll(coach: Coach, fake: FakeGitHub, login: str, person: Person = ADA) -> r.Answer:
    """The learner approves on GitHub as ``login``; the next poll (after the interval) sees it."""
    fake.approve_device(login)
    time.sleep(1.05)
    progress = coach.poll_verification(stored(coach, person), "test")
    assert progress.answer is not None, progress
    return progress.answer


def every_value(url: str) -> str:
    engine = create_engine(url)
    chunks = []
    with engine.connect() as connection:
        for table in inspect(engine).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                chunks.append(json.dumps([str(v) for v in row]))
    engine.dispose()
    return "\n".join(chunks)


# -- proving the account on GitHub -----------------------------------------------------------


def test_the_account_that_approves_is_linked_whatever_was_typed(
    coach: Coach, world: FakeGitHub, database_url: str
) -> None:
    answer = say(coach, Intent(Action.LINK, "ada-l"))
    [card] = answer.replies
    assert isinstance(card, r.DeviceCodeCard) and answer.awaiting_verification
    assert (card.typed_login, card.offer_unverified, card.waiting) == ("ada-l", True, False)
    assert card.user_code == world.device_authorizations[0].user_code
    assert stored(coach).github_login is None  # nothing linked before GitHub says who

    linked = approve_and_poll(coach, world, "Grace-H")
    assert kinds(linked) == [r.Notice, r.Success, r.StepCard]
    assert keys(linked) == ["verify.linked"]
    learner = stored(coach)
    assert (learner.github_login, learner.verified, learner.current_step) == (
        "Grace-H",
        True,
        "fork",
    )
    grace = world.world.find_user("Grace-H")
    assert grace is not None and learner.github_user_id == grace.id
    assert outcomes(coach) == ["code_sent", "done"]
    done = coach.store.history(learner.id)[-1]
    assert done.facts["verified"] is True and done.facts["github_login"] == "Grace-H"
    # The device code is gone and the token was never written anywhere.
    assert coach.store.pending_flow(learner.id) is None
    [token] = world.user_tokens
    everything = every_value(database_url)
    assert token not in everything and world.device_authorizations[0].device_code not in everything


def test_check_at_the_link_step_shows_the_pending_code_again_and_polls(
    coach: Coach, world: FakeGitHub
) -> None:
    first = say(coach, Intent(Action.CHECK))
    [card] = first.replies
    assert isinstance(card, r.DeviceCodeCard) and not card.waiting and card.typed_login is None
    time.sleep(1.05)
    again = say(coach, Intent(Action.CHECK))  # polls (still pending), shows the same code
    [same] = again.replies
    assert isinstance(same, r.DeviceCodeCard) and same.waiting
    assert same.user_code == card.user_code and len(world.device_authorizations) == 1
    assert world.device_authorizations[0].polls == 1
    world.approve_device("Ada-L")
    time.sleep(1.05)
    done = say(coach, Intent(Action.CHECK))
    assert r.Success in kinds(done) and stored(coach).verified


def test_the_link_step_card_offers_to_connect_with_github(coach: Coach) -> None:
    answer = say(coach, Intent(Action.START))
    [card] = [reply for reply in answer.replies if isinstance(reply, r.StepCard)]
    assert card.verify


@pytest.mark.parametrize(
    ("knob", "key", "kind"),
    [
        ("expire_device", "verify.expired", "code_expired"),
        ("deny_device", "verify.denied", "code_denied"),
    ],
)
def test_expired_or_denied_codes_say_so_and_offer_a_new_one(
    coach: Coach, world: FakeGitHub, knob: str, key: str, kind: str
) -> None:
    say(coach, Intent(Action.LINK, "ada-l"))
    getattr(world, knob)()
    time.sleep(1.05)
    progress = coach.poll_verification(stored(coach), "test")
    assert progress.answer is not None and progress.next_poll_at is None
    [ended] = progress.answer.replies
    assert isinstance(ended, r.FreshCode) and ended.key == key
    assert coach.store.pending_flow(stored(coach).id) is None
    assert outcomes(coach)[-1] == kind
    fresh = say(coach, Intent(Action.VERIFY))  # the "Get a new code" button
    [card] = fresh.replies
    assert isinstance(card, r.DeviceCodeCard) and len(world.device_authorizations) == 2


def test_slow_down_lengthens_the_interval_and_pending_keeps_it(
    coach: Coach, world: FakeGitHub
) -> None:
    say(coach, Intent(Action.LINK))
    learner = stored(coach)
    world.slow_down_device(1)
    time.sleep(1.05)
    progress = coach.poll_verification(learner, "test")
    flow = coach.store.pending_flow(learner.id)
    assert progress.answer is None and flow is not None and flow.interval == 2
    assert progress.next_poll_at == flow.next_poll_at
    # Not due yet: no question to GitHub.
    assert coach.poll_verification(learner, "test").next_poll_at == flow.next_poll_at
    assert world.device_authorizations[0].polls == 1
    time.sleep(2.05)
    assert coach.poll_verification(learner, "test").answer is None  # pending
    assert world.device_authorizations[0].too_fast == 0


def test_github_unavailable_while_polling_keeps_the_flow_for_later(
    coach: Coach, world: FakeGitHub
) -> None:
    say(coach, Intent(Action.LINK))
    learner = stored(coach)
    world.fail_next(3, status=502)
    time.sleep(1.05)
    progress = coach.poll_verification(learner, "test")
    flow = coach.store.pending_flow(learner.id)
    assert progress.answer is None and flow is not None
    assert (flow.next_poll_at - coach.clock()).total_seconds() > 5  # backed off


def test_a_refused_app_is_explained_and_staff_are_told(coach: Coach, world: FakeGitHub) -> None:
    world.device_flow_enabled = False
    answer = say(coach, Intent(Action.LINK, "ada-l"))
    assert keys(answer) == ["verify.refused"]
    [note] = answer.staff_notes
    assert note.key == "verify.refused_staff" and note.facts["error"] == "device_flow_disabled"
    assert coach.store.pending_flow(stored(coach).id) is None


def test_a_restarted_process_picks_the_pending_flow_up(
    store: SqlLearnerStore, coach: Coach, world: FakeGitHub
) -> None:
    say(coach, Intent(Action.LINK))
    other = make_coach(store, world)  # another process, or this one after a restart
    world.approve_device("Ada-L")
    time.sleep(1.05)
    progress = other.poll_verification(stored(other), "worker")
    assert progress.answer is not None and stored(other).verified


def test_two_processes_polling_at_once_ask_github_once(
    store: SqlLearnerStore, coach: Coach, world: FakeGitHub
) -> None:
    say(coach, Intent(Action.LINK))
    flow = store.pending_flow(stored(coach).id)
    assert flow is not None
    later = flow.next_poll_at.replace(microsecond=0)
    assert store.claim_flow(flow.learner_id, flow.next_poll_at, later)
    assert not store.claim_flow(flow.learner_id, flow.next_poll_at, later)


# -- without sign-in: typed logins, unverified --------------------------------------------


def test_without_oauth_a_typed_login_links_unverified_with_its_id(
    typed_coach: Coach, world: FakeGitHub
) -> None:
    answer = say(typed_coach, Intent(Action.LINK, "ada-l"))
    assert kinds(answer) == [r.Success, r.StepCard]
    learner = stored(typed_coach)
    ada = world.world.find_user("Ada-L")
    assert ada is not None
    assert (learner.github_login, learner.github_user_id, learner.verified) == (
        "Ada-L",
        ada.id,
        False,
    )
    assert typed_coach.store.history(learner.id)[-1].facts["verified"] is False
    checklist = say(typed_coach, Intent(Action.STATUS)).replies[0]
    assert isinstance(checklist, r.Checklist) and checklist.verified is None  # not a thing here


def test_the_link_without_signing_in_button(
    store: SqlLearnerStore, coach: Coach, world: FakeGitHub
) -> None:
    say(coach, Intent(Action.LINK, "ada-l"))
    answer = say(coach, Intent(Action.LINK_UNVERIFIED, "ada-l", confirmed=True))
    assert r.Success in kinds(answer)
    learner = stored(coach)
    assert (learner.github_login, learner.verified) == ("Ada-L", False)
    assert store.pending_flow(learner.id) is None
    checklist = say(coach, Intent(Action.STATUS)).replies[0]
    assert isinstance(checklist, r.Checklist) and checklist.verified is False


def test_require_verified_link_makes_signing_in_mandatory(
    store: SqlLearnerStore, world: FakeGitHub
) -> None:
    # Linked by typing, before the programme turned verification on.
    typed = make_coach(store, world, oauth=False)
    say(typed, Intent(Action.LINK, "ada-l"))
    strict = make_coach(store, world, require=True)
    world.world.fork(UPSTREAM, owner="Ada-L")
    answer = say(strict, Intent(Action.CHECK))
    assert keys(answer) == ["verify.required"] and r.DeviceCodeCard in kinds(answer)
    [card] = [reply for reply in answer.replies if isinstance(reply, r.DeviceCodeCard)]
    assert not card.offer_unverified
    assert strict.recheck(stored(strict), "watch") is None  # nothing checked meanwhile
    assert stored(strict).current_step == "fork"
    refused = say(strict, Intent(Action.LINK_UNVERIFIED, "ada-l", confirmed=True))
    assert keys(refused) == ["verify.required"]
    proven = approve_and_poll(strict, world, "Ada-L")
    assert keys(proven) == ["verify.done"]  # the same account: progress kept
    learner = stored(strict)
    assert (learner.verified, learner.current_step) == (True, "fork")
    assert say(strict, Intent(Action.CHECK)).learner.current_step == "branch"  # type: ignore[union-attr]
    assert "verified" in outcomes(strict)


# -- one account, one person ---------------------------------------------------------------


def test_a_second_typed_claim_is_refused_and_staff_told_but_a_proof_wins(
    coach: Coach, typed_coach: Coach, world: FakeGitHub
) -> None:
    say(typed_coach, Intent(Action.LINK, "ada-l"))  # Ada, typed
    typed = say(typed_coach, Intent(Action.LINK, "ADA-L"), GRACE)  # Grace types it too
    assert keys(typed) == ["link.taken"]
    [note] = typed.staff_notes
    assert note.key == "link.taken_staff"
    assert (note.facts["user"], note.facts["holder"], note.facts["login"]) == (
        "UGRACE",
        "UADA",
        "Ada-L",
    )
    assert stored(typed_coach, GRACE).github_login is None
    assert outcomes(typed_coach, GRACE) == ["link_refused"]

    # Signing in as that account proves it is Grace's: a proof beats Ada's typed claim
    # (issue 13). Ada's link is released, Ada and staff are told.
    say(coach, Intent(Action.LINK), GRACE)
    proven = approve_and_poll(coach, world, "Ada-L", GRACE)
    assert "verify.linked" in keys(proven)
    assert stored(coach, GRACE).github_login == "Ada-L" and stored(coach, GRACE).verified
    assert stored(coach).github_login is None
    [told] = proven.also_tell
    assert told.learner is not None and told.learner.slack_user_id == "UADA"
    assert keys(told) == ["link.released"]
    assert [n.key for n in proven.staff_notes] == ["link.released_staff"]
    assert "link_released" in outcomes(coach)


def test_unlink_asks_then_keeps_the_history_and_frees_the_account(
    coach: Coach, typed_coach: Coach, world: FakeGitHub
) -> None:
    say(typed_coach, Intent(Action.LINK, "ada-l"))
    question = say(coach, Intent(Action.UNLINK))
    [confirm] = question.replies
    assert isinstance(confirm, r.Confirm) and confirm.action == "unlink"
    assert stored(coach).github_login == "Ada-L"
    answer = say(coach, Intent(Action.UNLINK, confirmed=True))
    assert keys(answer) == ["unlink.done"] and r.StepCard in kinds(answer)
    learner = stored(coach)
    assert (learner.github_login, learner.github_user_id, learner.current_step) == (
        None,
        None,
        "link",
    )
    unlinked = coach.store.history(learner.id)[-1]
    assert unlinked.outcome == "unlinked" and unlinked.facts["github_login"] == "Ada-L"
    assert keys(say(coach, Intent(Action.UNLINK))) == ["unlink.not_linked"]
    # The account is free: someone else may link it now.
    assert r.Success in kinds(say(typed_coach, Intent(Action.LINK, "ada-l"), GRACE))


def test_relinking_by_signing_in_as_another_account_restarts_from_the_fork(
    coach: Coach, typed_coach: Coach, world: FakeGitHub
) -> None:
    say(typed_coach, Intent(Action.LINK, "ada-l"))
    world.world.fork(UPSTREAM, owner="Ada-L")
    say(coach, Intent(Action.CHECK))
    assert stored(coach).current_step == "branch"
    question = say(coach, Intent(Action.LINK, "grace-h"))
    assert isinstance(question.replies[0], r.Confirm)
    answer = say(coach, Intent(Action.LINK, "grace-h", confirmed=True))
    [card] = answer.replies
    assert isinstance(card, r.DeviceCodeCard) and card.relink_from == "Ada-L"
    relinked = approve_and_poll(coach, world, "Grace-H")
    assert r.Success in kinds(relinked)
    learner = stored(coach)
    assert (learner.github_login, learner.verified, learner.current_step) == (
        "Grace-H",
        True,
        "fork",
    )
    assert "fork" not in learner.facts
    restart = [e for e in coach.store.history(learner.id) if e.outcome == "restart"][-1]
    assert restart.facts["github_login"] == "Ada-L"  # who was linked until then


# -- renames -------------------------------------------------------------------------------


def test_a_renamed_account_keeps_its_progress(typed_coach: Coach, world: FakeGitHub) -> None:
    say(typed_coach, Intent(Action.LINK, "ada-l"))
    world.world.fork(UPSTREAM, owner="Ada-L")
    say(typed_coach, Intent(Action.CHECK))
    world.world.create_branch("Ada-L/practice", "add-ada")
    say(typed_coach, Intent(Action.CHECK))
    world.world.commit(
        "Ada-L/practice",
        "add-ada",
        {"participants/ada.md": "Ada\n"},
        author_email="ada@example.org",
    )
    say(typed_coach, Intent(Action.CHECK))
    assert stored(typed_coach).current_step == "pull_request"
    world.world.rename_user("Ada-L", "ada-lovelace")
    world.world.open_pull(UPSTREAM, head="ada-lovelace:add-ada", title="Add Ada")
    # Asked under the old login, GitHub finds no pull request: a look by id finds the rename.
    answer = say(typed_coach, Intent(Action.CHECK))
    assert keys(answer)[0] == "link.renamed"
    assert r.Success in kinds(answer) and r.Finished in kinds(answer)
    learner = stored(typed_coach)
    assert (learner.github_login, learner.finished) == ("ada-lovelace", True)
    assert learner.facts["fork"] == "ada-lovelace/practice"
    renamed = [e for e in typed_coach.store.history(learner.id) if e.outcome == "renamed"]
    assert renamed[0].facts["previous_login"] == "Ada-L"


def test_a_rename_before_the_fork_is_followed_too(typed_coach: Coach, world: FakeGitHub) -> None:
    say(typed_coach, Intent(Action.LINK, "ada-l"))
    world.world.rename_user("Ada-L", "ada-lovelace")  # /users/Ada-L now answers 404
    world.world.fork(UPSTREAM, owner="ada-lovelace")
    answer = say(typed_coach, Intent(Action.CHECK))
    assert r.Success in kinds(answer)
    assert stored(typed_coach).github_login == "ada-lovelace"


def test_renames_cost_a_look_by_id_only_where_a_login_search_found_nothing(
    typed_coach: Coach, world: FakeGitHub
) -> None:
    say(typed_coach, Intent(Action.LINK, "ada-l"))
    world.reset_log()
    assert kinds(say(typed_coach, Intent(Action.CHECK))) == [r.Diagnosed]  # no fork yet
    assert world.count(path=r"^/user/\d+$") == 0  # the fork check reaches the account by name
    world.world.fork(UPSTREAM, owner="Ada-L")
    say(typed_coach, Intent(Action.CHECK))
    world.world.create_branch("Ada-L/practice", "add-ada")
    say(typed_coach, Intent(Action.CHECK))
    world.world.commit(
        "Ada-L/practice",
        "add-ada",
        {"participants/ada.md": "Ada\n"},
        author_email="ada@example.org",
    )
    say(typed_coach, Intent(Action.CHECK))
    world.reset_log()
    assert kinds(say(typed_coach, Intent(Action.CHECK))) == [r.Diagnosed]  # no pull request
    assert world.count(path=r"^/user/\d+$") == 1  # looked for by login: was it renamed?
