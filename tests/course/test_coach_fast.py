"""The coach's decisions, with in-memory ports: no HTTP, no database (the fast tier).

The same coach against SQLite and the fake GitHub over HTTP: ``test_coach.py``.
"""

from __future__ import annotations

import pytest

from bot.course import replies as r
from bot.course.checks import CheckResult
from bot.course.intents import Action, Intent
from tests.fakes.house import House

pytestmark = pytest.mark.fast

FORK = {"fork": "ada/practice", "default_branch": "main", "upstream_default_branch": "main"}


def kinds(answer: r.Answer) -> list[type[r.Reply]]:
    return [type(reply) for reply in answer.replies]


def test_a_check_that_finds_the_work_moves_the_learner_on_and_says_what_is_next() -> None:
    house = House()
    ada = house.linked("ada", 1)
    house.github.set("ada", "fork_exists", CheckResult.done_with(FORK))
    answer = house.coach.handle(ada, Intent(Action.CHECK), "test")
    assert kinds(answer)[0] is r.Success and r.StepCard in kinds(answer)
    assert answer.learner is not None and answer.learner.current_step == "branch"
    assert house.store.get(ada.id).facts["fork"] == "ada/practice"


def test_not_yet_says_what_was_found_and_keeps_the_learner_where_they_are() -> None:
    house = House()
    ada = house.linked("ada", 1)
    answer = house.coach.handle(ada, Intent(Action.CHECK), "test")
    assert kinds(answer)[0] is r.Diagnosed
    diagnosed = answer.replies[0]
    assert isinstance(diagnosed, r.Diagnosed) and diagnosed.result.main_diagnosis is not None
    assert diagnosed.result.main_diagnosis.code == "no_fork"
    assert house.store.get(ada.id).current_step == "fork"


def test_github_down_is_explained_and_progress_never_moves() -> None:
    house = House()
    ada = house.linked("ada", 1)
    house.github.down = True
    answer = house.coach.handle(ada, Intent(Action.CHECK), "test")
    assert kinds(answer)[0] is r.GitHubTrouble
    assert house.store.get(ada.id).current_step == "fork"
    assert house.store.history(ada.id)[-1].outcome == "unavailable"


def test_a_renamed_account_is_followed_by_its_id_and_keeps_its_progress() -> None:
    house = House()
    ada = house.linked("ada", 1)
    house.github.rename("ada", "ada-l")
    house.github.set("ada-l", "fork_exists", CheckResult.done_with(FORK))
    answer = house.coach.handle(ada, Intent(Action.CHECK), "test")
    notice = answer.replies[0]
    assert isinstance(notice, r.Notice) and notice.key == "link.renamed"
    assert house.store.get(ada.id).github_login == "ada-l"
    assert house.store.get(ada.id).current_step == "branch"


def test_an_account_gone_is_said_plainly() -> None:
    house = House()
    ada = house.linked("ada", 1)
    del house.github.accounts["ada"]
    answer = house.coach.handle(ada, Intent(Action.CHECK), "test")
    notice = answer.replies[0]
    assert isinstance(notice, r.Notice) and notice.key == "link.account_gone"


def test_one_github_account_links_one_learner_and_staff_hear_of_the_second_claim() -> None:
    house = House()
    house.linked("ada", 1)
    grace = house.coach.learner(house.person())
    answer = house.coach.handle(grace, Intent(Action.LINK, "ada"), "test")
    notice = answer.replies[0]
    assert isinstance(notice, r.Notice) and notice.key == "link.taken"
    assert [n.key for n in answer.staff_notes] == ["link.taken_staff"]
    assert house.store.get(grace.id).github_login is None


def test_a_recheck_answers_only_when_the_learner_moved_on() -> None:
    house = House()
    ada = house.linked("ada", 1)
    assert house.coach.recheck(ada, "watch") is None  # not yet: nobody wants to hear it
    house.github.set("ada", "fork_exists", CheckResult.done_with(FORK))
    answer = house.coach.recheck(ada, "watch")
    assert answer is not None and kinds(answer)[0] is r.Success and r.StepCard in kinds(answer)


def test_restart_asks_first_then_keeps_the_account() -> None:
    house = House()
    ada = house.linked("ada", 1)
    question = house.coach.handle(ada, Intent(Action.RESTART), "test")
    assert kinds(question) == [r.Confirm]
    done = house.coach.handle(ada, Intent(Action.RESTART, confirmed=True), "test")
    assert done.learner is not None and done.learner.current_step == "fork"
    assert done.learner.github_login == "ada"
