"""Progress noticed without a click, with in-memory ports (the fast tier)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.course.checks import CheckResult
from bot.usecases.progress import (
    RETRY_DELAYS,
    announce_for_logins,
    learners_for,
    run_outbox_job,
    run_watch_job,
)
from tests.fakes.house import House

pytestmark = pytest.mark.fast

FORK = {"fork": "x/practice", "default_branch": "main"}


def test_a_delivery_finds_learners_by_id_even_after_a_rename_then_by_login() -> None:
    house = House()
    ada, bob = house.linked("ada", 1), house.linked("bob", 2)
    house.linked("cleo", 3)
    found = learners_for(house.store, ["ADA", "someone-else"], [2])
    assert sorted(x.id for x in found) == sorted([ada.id, bob.id])


def test_a_delivery_tells_only_the_learners_who_moved_on() -> None:
    house = House()
    ada, bob = house.linked("ada", 1), house.linked("bob", 2)
    house.github.set("ada", "fork_exists", CheckResult.done_with(FORK))
    moved = announce_for_logins(house.coach, house.store, house.notifier, ["ada", "bob"], "webhook")
    assert moved == 1
    assert len(house.notifier.told_to(ada.id)) == 1 and house.notifier.told_to(bob.id) == []
    assert house.store.get(ada.id).current_step == "branch"


def test_progress_is_kept_when_the_transport_refuses_the_news() -> None:
    house = House()
    ada = house.linked("ada", 1)
    house.github.set("ada", "fork_exists", CheckResult.done_with(FORK))
    house.notifier.refuse = True
    assert announce_for_logins(house.coach, house.store, house.notifier, ["ada"], "webhook") == 1
    assert house.store.get(ada.id).current_step == "branch"


def test_the_background_look_costs_one_probe_and_rechecks_only_what_changed() -> None:
    house = House()
    ada, bob = house.linked("ada", 1), house.linked("bob", 2)
    house.github.set("ada", "fork_exists", CheckResult.done_with(FORK))
    house.prober.changed = {"ada"}
    calls = house.github.calls
    stats = run_watch_job(house.coach, house.notifier, house.prober, house.store, house.clock())
    assert (stats.looked, stats.unchanged, stats.moved) == (2, 1, 1)
    assert house.github.calls - calls == 1  # only ada's real check
    assert len(house.notifier.told_to(ada.id)) == 1
    # Each look moved the learner's next look forward: nothing is due again at once.
    again = run_watch_job(house.coach, house.notifier, house.prober, house.store, house.clock())
    assert again.looked == 0
    assert house.store.get(bob.id).watch_at is not None


def test_the_background_look_stops_when_github_asks_to_wait_and_gives_the_look_back() -> None:
    house = House()
    ada = house.linked("ada", 1)
    house.prober.down = True
    now = house.clock()
    stats = run_watch_job(house.coach, house.notifier, house.prober, house.store, now)
    assert stats.looked == 0
    assert house.store.get(ada.id).watch_at is not None  # looked at again later, not dropped


def test_the_background_look_keeps_a_reserve_of_the_quota_for_clicks() -> None:
    house = House()
    house.linked("ada", 1), house.linked("bob", 2)
    house.prober.remaining, house.prober.limit = 900, 5000  # under the 20 % reserve
    stats = run_watch_job(house.coach, house.notifier, house.prober, house.store, house.clock())
    assert stats.skipped_for_budget and stats.looked == 1


def test_a_refused_message_is_retried_with_back_off_then_given_up() -> None:
    house = House()
    house.store.enqueue_message("D1", "hello", [], None, "ratelimited")
    house.notifier.refuse = True
    now = house.clock()
    assert run_outbox_job(house.notifier, house.store, now) == 0  # not due yet
    moment = now + RETRY_DELAYS[0]
    for delay in RETRY_DELAYS[1:]:
        assert run_outbox_job(house.notifier, house.store, moment) == 0  # refused again
        moment += delay
    assert run_outbox_job(house.notifier, house.store, moment + timedelta(days=1)) == 0
    assert house.store.outbox == {}  # given up: the log line is its record
    assert house.notifier.resent == []


def test_a_refused_message_gets_through_once_the_transport_takes_it() -> None:
    house = House()
    house.store.enqueue_message("D1", "hello", [], None, "ratelimited")
    later = house.clock() + RETRY_DELAYS[0]
    assert run_outbox_job(house.notifier, house.store, later) == 1
    assert [m.text for m in house.notifier.resent] == ["hello"]
    assert run_outbox_job(house.notifier, house.store, later + timedelta(days=1)) == 0
