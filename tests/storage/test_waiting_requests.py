"""Requests waiting for their answer: recorded once, taken by one answerer, never lost."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.storage.database import create_database_engine, migrate, session_factory
from bot.storage.store import SqlLearnerStore
from bot.storage.waiting import LEASE, SqlWaitingRequests


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def book(each_database_url: str, clock: Clock) -> Iterator[SqlWaitingRequests]:
    migrate(each_database_url)
    engine = create_database_engine(each_database_url)
    yield SqlWaitingRequests(session_factory(engine), clock)
    engine.dispose()


def test_the_same_request_while_it_waits_is_joined_with_its_newest_body(
    book: SqlWaitingRequests,
) -> None:
    first = book.record("command", {"response_url": "one"}, user_id="U1", key="U1 check")
    again = book.record("command", {"response_url": "two"}, user_id="U1", key="U1 check")
    other = book.record("command", {"response_url": "x"}, user_id="U2", key="U2 check")
    assert (first.joined, again.joined, other.joined) == (False, True, False)
    taken = book.take(10)
    assert [t.body["response_url"] for t in taken] == ["two", "x"]
    # Taken: the same request asked now is new work (the learner may have fixed something).
    assert not book.record("command", {"response_url": "three"}, key="U1 check").joined
    assert [t.body["response_url"] for t in book.take(10)] == ["three"]


def test_each_request_is_taken_by_one_answerer_and_given_back_when_its_lease_ends(
    book: SqlWaitingRequests, clock: Clock
) -> None:
    for n in range(5):
        book.record("action", {"n": n})
    first, second = book.take(3), book.take(3)
    assert [t.body["n"] for t in first] == [0, 1, 2]
    assert [t.body["n"] for t in second] == [3, 4]
    for taken in second:
        book.answered(taken.id)
    assert book.take(10) == [] and book.waiting() == 3
    clock.now += LEASE + timedelta(seconds=1)  # the first answerer died mid-way
    again = book.take(10)
    assert [t.body["n"] for t in again] == [0, 1, 2]
    assert all(t.attempts == 2 for t in again)


def test_a_request_handed_back_is_taken_again_at_once(
    book: SqlWaitingRequests, clock: Clock
) -> None:
    book.record("message", {"text": "check"})
    (taken,) = book.take(1)
    book.retry_at(taken.id, clock.now)
    assert [t.id for t in book.take(1)] == [taken.id]


def test_requests_beyond_the_bound_are_marked_busy(book: SqlWaitingRequests) -> None:
    outcomes = [book.record("command", {"n": n}, busy_after=2) for n in range(4)]
    assert [o.waiting for o in outcomes] == [0, 1, 2, 3]
    assert [t.busy for t in book.take(10)] == [False, False, True, True]


def test_numbers_are_never_reused_after_a_delete(book: SqlWaitingRequests) -> None:
    book.record("command", {"n": 1})
    (taken,) = book.take(1)
    book.answered(taken.id)
    book.record("command", {"n": 2})
    (newer,) = book.take(1)
    assert newer.id > taken.id


def test_forget_me_erases_the_persons_waiting_requests(
    book: SqlWaitingRequests, each_database_url: str
) -> None:
    store = SqlLearnerStore(session_factory(create_database_engine(each_database_url)))
    learner = store.enroll("T1", "UADA", "en", "link")
    book.record("message", {"text": "my secret words"}, team_id="T1", user_id="UADA")
    book.record("message", {"text": "hello"}, team_id="T1", user_id="UBOB")
    store.forget(learner.id)
    assert [t.body["text"] for t in book.take(10)] == ["hello"]
