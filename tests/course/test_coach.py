"""The coach with its real collaborators: SQLite storage and GitHub checks over the fake GitHub."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from bot.course import replies as r
from bot.course.coach import Coach, Person
from bot.course.course import load_course
from bot.course.glossary import load_glossary
from bot.course.intents import Action, Intent
from bot.course.learner import Learner
from bot.github.checks import GitHubChecks
from bot.github.client import make_github
from bot.storage.database import create_database_engine, migrate, session_factory
from bot.storage.store import SqlLearnerStore
from tests.rig.fake_github import FakeGitHub

ADA = Person("T0001", "UADA")


@pytest.fixture
def store(database_url: str) -> Iterator[SqlLearnerStore]:
    url = database_url  # SQLite, or PostgreSQL with TEST_DATABASE_URL
    migrate(url)
    engine = create_database_engine(url)
    yield SqlLearnerStore(session_factory(engine))
    engine.dispose()


@pytest.fixture
def coach(store: SqlLearnerStore, fake_github: FakeGitHub) -> Coach:
    fake_github.world.add_user("Ada-L", email="ada@example.org")
    fake_github.world.add_user("Grace-H", email="grace@example.org")
    checks = GitHubChecks(make_github(fake_github.url, "ghp_test", timeout=3), "eig/practice")
    return Coach(load_course(), load_glossary(), store, checks)


def say(
    coach: Coach, intent: Intent, learner: Learner | None = None, *, recognise: bool = True
) -> r.Answer:
    """What the transports do: find the learner, hand the coach what they asked. A typed
    login's "Is this you?" is answered *Yes, that's me* (``recognise``)."""
    answer = coach.handle(learner or coach.learner(ADA), intent, "test")
    cards = [reply for reply in answer.replies if isinstance(reply, r.AccountCard)]
    if not recognise or not cards:
        return answer
    value = json.dumps({"asker": cards[0].asker, "id": cards[0].github_user_id})
    return coach.handle(coach.learner(ADA), Intent(Action.THAT_IS_ME, value), "test")


# Asked after every step done, beside the answer proper (tested on their own).
EXTRAS = (r.FeelingAsk, r.Diagram)


def kinds(answer: r.Answer) -> list[type[r.Reply]]:
    return [type(reply) for reply in answer.replies if not isinstance(reply, EXTRAS)]


def now(coach: Coach) -> Learner:
    """The learner as stored right now."""
    found = coach.store.find(ADA.team_id, ADA.user_id)
    assert found is not None
    return found


@pytest.fixture
def at_fork(coach: Coach) -> Learner:
    answer = say(coach, Intent(Action.LINK, "@ada-l"))
    assert kinds(answer) == [r.Success, r.StepCard]
    assert answer.learner is not None and answer.learner.current_step == "fork"
    return answer.learner


@pytest.fixture
def at_branch(coach: Coach, at_fork: Learner, fake_github: FakeGitHub) -> Learner:
    fake_github.world.fork("eig/practice", owner="Ada-L")
    answer = say(coach, Intent(Action.CHECK))
    assert answer.learner is not None and answer.learner.current_step == "branch"
    return answer.learner


def test_a_new_person_starts_at_the_link_step(coach: Coach) -> None:
    learner = coach.learner(ADA, lambda: "fr-FR")
    assert learner.current_step == "link" and learner.language == "fr"
    assert coach.expects_login(learner)
    assert coach.learner(ADA).id == learner.id


def test_linking_stores_the_login_as_github_spells_it(coach: Coach, at_fork: Learner) -> None:
    assert at_fork.github_login == "Ada-L"
    assert not coach.expects_login(at_fork)
    shown, event = coach.store.history(at_fork.id)
    assert (shown.step_id, shown.outcome) == ("link", "account_shown")  # "Is this you?": yes
    assert (event.step_id, event.outcome) == ("link", "done")


# -- progress only moves forward -------------------------------------------------------------


def test_the_same_success_twice_is_recorded_twice_but_advances_once(
    coach: Coach, at_fork: Learner, fake_github: FakeGitHub
) -> None:
    fake_github.world.fork("eig/practice", owner="Ada-L")
    # A double click: both requests carry the learner as they were, at the fork step.
    first = say(coach, Intent(Action.CHECK), at_fork)
    second = say(coach, Intent(Action.CHECK), at_fork)
    assert first.learner is not None and second.learner is not None
    assert first.learner.current_step == second.learner.current_step == "branch"
    assert second.learner.step_started_at == first.learner.step_started_at
    assert r.Success in kinds(second)
    # The second answer shows where the learner really is: the branch step.
    [card] = [reply for reply in second.replies if isinstance(reply, r.StepCard)]
    assert card.step.id == "branch" and card.position == 3
    outcomes = [(e.step_id, e.outcome) for e in coach.store.history(at_fork.id)]
    assert outcomes == [
        ("link", "account_shown"),
        ("link", "done"),
        ("fork", "done"),
        ("fork", "done"),
    ]


def test_a_check_of_an_already_passed_step_does_not_move_back(
    coach: Coach, at_fork: Learner, at_branch: Learner, fake_github: FakeGitHub
) -> None:
    fake_github.world.delete_repo("Ada-L/practice")
    # A late request, made while the learner was still at the fork step.
    answer = say(coach, Intent(Action.CHECK), at_fork)
    assert kinds(answer) == [r.Diagnosed]
    learner = now(coach)
    assert learner.current_step == "branch"
    assert learner.step_started_at == at_branch.step_started_at
    assert learner.facts["fork"] == "Ada-L/practice"
    last = coach.store.history(learner.id)[-1]
    assert (last.step_id, last.outcome, last.diagnosis) == ("fork", "not_yet", "no_fork")


def test_a_wrong_login_given_later_does_not_move_back(coach: Coach, at_branch: Learner) -> None:
    for login in ("ada_l", "nobody-here"):
        answer = say(coach, Intent(Action.LINK, login, confirmed=True))
        assert kinds(answer) == [r.Diagnosed]
    learner = now(coach)
    assert (learner.current_step, learner.github_login) == ("branch", "Ada-L")
    assert learner.facts["fork"] == "Ada-L/practice"
    events = coach.store.history(learner.id)[-2:]
    assert [(e.step_id, e.diagnosis) for e in events] == [
        ("link", "login_malformed"),
        ("link", "account_not_found"),
    ]


# -- restart and relink ----------------------------------------------------------------------


def test_restart_asks_first_then_keeps_the_login_and_goes_back_to_the_fork(
    coach: Coach, at_branch: Learner
) -> None:
    events_before = len(coach.store.history(at_branch.id))
    question = say(coach, Intent(Action.RESTART))
    [confirm] = question.replies
    assert isinstance(confirm, r.Confirm) and (confirm.key, confirm.action) == (
        "restart.confirm",
        "restart",
    )
    assert now(coach) == at_branch
    assert len(coach.store.history(at_branch.id)) == events_before

    answer = say(coach, Intent(Action.RESTART, confirmed=True))
    assert kinds(answer) == [r.Notice, r.StepCard] and answer.changed
    learner = now(coach)
    assert (learner.current_step, learner.github_login) == ("fork", "Ada-L")
    assert "fork" not in learner.facts
    assert coach.store.history(learner.id)[-1].outcome == "restart"
    # The fork is still on GitHub: checking again moves on.
    assert say(coach, Intent(Action.CHECK)).learner.current_step == "branch"  # type: ignore[union-attr]


def test_relinking_another_login_asks_first_then_restarts_from_the_fork(
    coach: Coach, at_branch: Learner
) -> None:
    question = say(coach, Intent(Action.LINK, "grace-h"))
    [confirm] = question.replies
    assert isinstance(confirm, r.Confirm)
    assert (confirm.key, confirm.action, confirm.argument) == ("link.confirm", "link", "grace-h")
    assert dict(confirm.facts) == {"login": "Ada-L", "new_login": "grace-h"}
    assert now(coach) == at_branch

    answer = say(coach, Intent(Action.LINK, "grace-h", confirmed=True))
    assert kinds(answer) == [r.Success, r.StepCard]
    learner = now(coach)
    assert (learner.current_step, learner.github_login) == ("fork", "Grace-H")
    # Nothing of Ada's fork is kept for Grace's account.
    assert "fork" not in learner.facts


def test_relinking_the_same_login_in_other_letters_changes_nothing(
    coach: Coach, at_branch: Learner
) -> None:
    answer = say(coach, Intent(Action.LINK, "https://github.com/ADA-L"))
    [notice] = answer.replies
    assert isinstance(notice, r.Notice) and notice.key == "link.already"
    assert now(coach) == at_branch


# -- the checklist ---------------------------------------------------------------------------


def test_the_checklist_shows_when_each_step_was_done(coach: Coach, at_branch: Learner) -> None:
    done = {e.step_id: e.created_at for e in coach.store.history(at_branch.id)}
    answer = say(coach, Intent(Action.STATUS))
    checklist, card = answer.replies
    assert isinstance(checklist, r.Checklist) and isinstance(card, r.StepCard)
    assert checklist.login == "Ada-L"
    rows = {row.step.id: row for row in checklist.rows}
    assert list(rows) == ["link", "fork", "branch", "commit", "pull_request"]
    assert rows["link"].done_at == done["link"]
    assert rows["fork"].done_at == done["fork"]
    assert rows["link"].done_at <= rows["fork"].done_at  # type: ignore[operator]
    assert rows["branch"].current and rows["branch"].done_at is None
    assert [rows[s].done_at for s in ("commit", "pull_request")] == [None, None]
    assert card.step.id == "branch"


def test_after_a_restart_the_kept_login_step_still_shows_as_done(
    coach: Coach, at_branch: Learner
) -> None:
    linked_at = next(e for e in coach.store.history(at_branch.id) if e.outcome == "done").created_at
    say(coach, Intent(Action.RESTART, confirmed=True))
    checklist = say(coach, Intent(Action.STATUS)).replies[0]
    assert isinstance(checklist, r.Checklist)
    rows = {row.step.id: row for row in checklist.rows}
    assert rows["fork"].current and rows["fork"].done_at is None
    assert rows["link"].done_at == linked_at


# -- GitHub unavailable ----------------------------------------------------------------------


def test_github_unavailable_is_recorded_and_changes_nothing(
    coach: Coach, at_fork: Learner, fake_github: FakeGitHub
) -> None:
    fake_github.world.fork("eig/practice", owner="Ada-L")
    fake_github.fail_next(3)
    answer = say(coach, Intent(Action.CHECK))
    [trouble] = answer.replies
    assert isinstance(trouble, r.GitHubTrouble) and not trouble.rate_limited
    learner = now(coach)
    assert learner.current_step == "fork"
    assert (learner.github_login, dict(learner.facts)) == (at_fork.github_login, at_fork.facts)
    assert learner.last_diagnosis == at_fork.last_diagnosis
    assert learner.step_started_at == at_fork.step_started_at
    last = coach.store.history(learner.id)[-1]
    assert (last.step_id, last.outcome, last.diagnosis) == ("fork", "unavailable", None)
    # Once GitHub answers again, the same check passes.
    assert say(coach, Intent(Action.CHECK)).learner.current_step == "branch"  # type: ignore[union-attr]


def test_github_unavailable_while_linking_links_nothing(
    coach: Coach, fake_github: FakeGitHub
) -> None:
    fake_github.fail_next(3)
    answer = say(coach, Intent(Action.LINK, "ada-l"))
    assert kinds(answer) == [r.GitHubTrouble]
    learner = now(coach)
    assert (learner.current_step, learner.github_login) == ("link", None)
    [event] = coach.store.history(learner.id)
    assert (event.step_id, event.outcome) == ("link", "unavailable")
