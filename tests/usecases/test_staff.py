"""The staff's use cases without a click, with in-memory ports (the fast tier): the digest,
reminders, invitations, retention."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.course.staff import Invitee
from bot.usecases.digest import run_digest_job, run_nudge_job
from bot.usecases.sign_ins import backoff, poll_and_announce
from bot.usecases.staff import invite, run_retention
from tests.fakes.house import House

pytestmark = pytest.mark.fast

MONDAY_9 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)  # 9:00 in Paris


def test_a_scheduled_digest_is_posted_once_whoever_runs_it() -> None:
    house = House()
    house.linked("ada", 1)
    job = {"deliveries": house.store, "staff_channel": "CSTAFF"}
    assert run_digest_job(house.desk, house.notifier, due=MONDAY_9, **job) is True
    assert run_digest_job(house.desk, house.notifier, due=MONDAY_9, **job) is False
    assert len(house.notifier.digests) == 1
    [(report, when)] = house.notifier.digests
    assert report.total == 1 and when == MONDAY_9


def test_without_a_staff_channel_nothing_is_claimed() -> None:
    house = House()
    assert not run_digest_job(house.desk, house.notifier, house.store, MONDAY_9, staff_channel=None)
    assert house.store.deliveries == {}


def test_a_refused_digest_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    house = House()
    house.notifier.refuse = True
    done = run_digest_job(house.desk, house.notifier, house.store, MONDAY_9, staff_channel="C")
    assert done is False and "/prcoach digest now" in caplog.text


def test_idle_learners_are_reminded_once_per_period_on_working_hours() -> None:
    house = House()
    ada = house.linked("ada", 1)
    house.store.learners[ada.id] = replace(
        house.store.get(ada.id), step_started_at=house.clock() - timedelta(days=3)
    )
    assert run_nudge_job(house.desk, house.coach, house.notifier, house.clock()) == 1
    assert run_nudge_job(house.desk, house.coach, house.notifier, house.clock()) == 0
    [answer] = house.notifier.told_to(ada.id)
    assert answer.replies[0].key == "nudge.text"  # type: ignore[attr-defined]
    sunday = datetime(2025, 3, 9, 10, 0, tzinfo=UTC)
    assert run_nudge_job(house.desk, house.coach, house.notifier, sunday) == 0


def test_an_invitation_welcomes_the_new_and_leaves_the_others_alone() -> None:
    house = House()
    known = house.person()
    outcome = invite(
        house.desk,
        house.coach,
        house.notifier,
        [Invitee("T1", known.user_id, "en", None), Invitee("T1", "UNEW0001", "fr", "Zoé")],
        "promo-1",
    )
    assert [x.slack_user_id for x in outcome.enrolled] == ["UNEW0001"]
    assert [x.slack_user_id for x in outcome.already] == [known.user_id]
    [(welcome, _why)] = house.notifier.told
    assert welcome.learner is not None and welcome.learner.slack_user_id == "UNEW0001"
    assert welcome.language == "fr" and welcome.learner.cohort == "promo-1"


def test_retention_erases_identities_and_forgets_old_delivery_keys() -> None:
    house = House()
    ada = house.linked("ada", 1)
    house.store.claim_delivery("github:old")
    later = house.clock() + timedelta(days=400)
    assert run_retention(house.desk, house.store, later) == (1, 1)
    assert house.store.get(ada.id).github_login is None


def test_a_sign_in_of_someone_erased_meanwhile_is_dropped() -> None:
    house = House()
    assert poll_and_announce(house.coach, house.store, house.notifier, 999, "test") is None
    assert house.notifier.told == []


def test_a_sign_in_poll_that_keeps_failing_waits_longer_each_time() -> None:
    waits = [backoff(n).total_seconds() for n in range(1, 8)]
    assert waits == [10, 20, 40, 80, 160, 300, 300]
    assert backoff(10_000).total_seconds() == 300
