"""Several processes at once: threads hammer one store, the way web processes and workers
hammer one database, and every count comes out exact.

Each thread stands for a web process or a worker, with its own connections from the pool.
They run in rounds (barriers), and in every round all of them, for the same learners:

* claim the round's digest run (``job:digest:<due>``), a Slack event redelivered to every one
  of them, each learner's reminder and each learner's background check — exactly one wins
  each;
* record a check of the learner's current step, each learning a fact of its own — every
  event is kept, every fact is merged in, and the learner moves on exactly once.

On PostgreSQL (TEST_DATABASE_URL) the row locks (``SELECT … FOR UPDATE``), compare-and-set
updates and unique keys are what keeps it exact; on SQLite, ``BEGIN IMMEDIATE``.
``test_without_the_row_lock_updates_are_lost`` shows the hammer notices when the lock is gone.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.course.checks import CheckResult
from bot.course.learner import Learner
from bot.storage.database import create_database_engine, migrate, session_factory
from bot.storage.models import LearnerRow, ProcessedDelivery, StepEventRow
from bot.storage.store import SqlLearnerStore

THREADS = 8
LEARNERS = 4
STEPS = ("link", "fork", "branch", "commit", "pull_request", "review")
FIRST_DUE = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
EVERY = timedelta(hours=1)  # between two rounds' due times
NUDGE_PERIOD = timedelta(minutes=30)  # a reminder claimed less than this ago blocks another
LEASE = timedelta(minutes=5)  # a claimed background check comes back after this


@pytest.fixture
def engine(each_database_url: str) -> Iterator[Engine]:
    migrate(each_database_url)
    engine = create_database_engine(each_database_url)
    yield engine
    engine.dispose()


def due(round_: int) -> datetime:
    return FIRST_DUE + round_ * EVERY


def advance_to(round_: int) -> str | None:
    return STEPS[round_ + 1] if round_ + 1 < len(STEPS) else None


@dataclass
class Tally:
    """What the threads did, appended under a lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    wins: Counter[tuple[Any, ...]] = field(default_factory=Counter)
    returned: list[tuple[int, int, Learner]] = field(default_factory=list)
    failures: list[BaseException] = field(default_factory=list)

    def won(self, *what: Any) -> None:
        with self.lock:
            self.wins[what] += 1


def run_threads(work: Callable[[int], None], tally: Tally) -> None:
    def guarded(n: int) -> None:
        try:
            work(n)
        except BaseException as error:
            with tally.lock:
                tally.failures.append(error)

    threads = [threading.Thread(target=guarded, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"


def hammer(store: SqlLearnerStore, learners: list[Learner], tally: Tally) -> None:
    barrier = threading.Barrier(THREADS, timeout=60)

    def work(n: int) -> None:
        for round_, step in enumerate(STEPS):
            when = due(round_)
            barrier.wait()
            if n == 0:  # the background checks are due for everyone at this round's time
                for learner in learners:
                    store.schedule_watch(learner.id, when, None)
            barrier.wait()
            # Claims: every thread tries every one; exactly one may win each.
            if store.claim_delivery(f"job:digest:{when.isoformat()}"):
                tally.won("digest", round_)
            for learner in learners:
                if store.claim_delivery(f"slack:Ev{learner.id:03d}R{round_}"):
                    tally.won("slack event", learner.id, round_)
                if store.claim_nudge(learner.id, when, when - NUDGE_PERIOD):
                    tally.won("nudge", learner.id, round_)
                if store.claim_watch(learner.id, when, when + LEASE):
                    tally.won("watch", learner.id, round_)
            # Progress: every thread records a check of the step, learning its own fact.
            for learner in learners:
                result = CheckResult.done_with({f"t{n}r{round_}": n})
                try:
                    after = store.record_check(
                        learner.id, step, result, f"t{n}", advance_to(round_)
                    )
                except Exception as error:  # counted, and the rounds go on
                    with tally.lock:
                        tally.failures.append(error)
                    continue
                with tally.lock:
                    tally.returned.append((learner.id, round_, after))

    run_threads(work, tally)


def enroll(store: SqlLearnerStore) -> list[Learner]:
    return [store.enroll("T0001", f"UHAMMER{i:02d}", "en", STEPS[0]) for i in range(LEARNERS)]


def test_concurrent_progress_and_claims_are_exact(engine: Engine) -> None:
    store = SqlLearnerStore(session_factory(engine))
    learners = enroll(store)
    tally = Tally()

    hammer(store, learners, tally)

    assert tally.failures == []
    rounds = range(len(STEPS))
    # Each job run, each redelivered event, each reminder, each background check: once.
    expected = Counter({("digest", r): 1 for r in rounds})
    for learner in learners:
        for r in rounds:
            for kind in ("slack event", "nudge", "watch"):
                expected[(kind, learner.id, r)] = 1
    assert tally.wins == expected
    with Session(engine) as session:
        keys = session.scalar(select(func.count()).select_from(ProcessedDelivery))
        assert keys == len(STEPS) * (1 + LEARNERS)

    for learner in learners:
        final = store.get(learner.id)
        history = store.history(learner.id)
        # No lost and no duplicated step events: one per thread, learner and round.
        assert len(history) == THREADS * len(STEPS)
        assert Counter((e.source, e.step_id) for e in history) == Counter(
            {(f"t{n}", step): 1 for n in range(THREADS) for step in STEPS}
        )
        # No lost update of the merged facts (a read-modify-write of one JSON column).
        assert dict(final.facts) == {
            f"t{n}r{r}": n for n in range(THREADS) for r in range(len(STEPS))
        }
        assert final.finished_at is not None and final.current_step == STEPS[-1]
        assert final.nudged_at == due(len(STEPS) - 1)
        # The learner moved on exactly once per step: every check of a round saw the same
        # move, made by the round's first recorded check (history is in recording order).
        for r, step in enumerate(STEPS):
            seen = [after for lid, rr, after in tally.returned if lid == learner.id and rr == r]
            assert len(seen) == THREADS
            first = next(e for e in history if e.step_id == step)
            if advance_to(r) is None:
                assert {a.finished_at for a in seen} == {first.created_at}
            else:
                assert {a.current_step for a in seen} == {advance_to(r)}
                assert {a.step_started_at for a in seen} == {first.created_at}

    with Session(engine) as session:
        events = session.scalar(select(func.count()).select_from(StepEventRow))
        assert events == THREADS * LEARNERS * len(STEPS)


class UnlockedSession(Session):
    """A session whose ``get_one`` ignores ``with_for_update``: record_check with its row
    lock removed. Every thread reads the learner, then all wait for each other before
    writing, the worst interleaving, made certain."""

    barrier: ClassVar[threading.Barrier]
    unlocked_reads: ClassVar[Counter[str]] = Counter()

    def get_one(self, entity: Any, ident: Any, **options: Any) -> Any:
        locked = options.pop("with_for_update", None)
        row = super().get_one(entity, ident, **options)
        if locked and entity is LearnerRow:
            UnlockedSession.unlocked_reads["learner"] += 1
            self.barrier.wait()
        return row


def test_without_the_row_lock_updates_are_lost(postgresql_url: str) -> None:
    """The control: the same kind of checks, with record_check's lock taken away, fail.

    PostgreSQL only: SQLite locks the whole database (``BEGIN IMMEDIATE``), not rows.
    """
    migrate(postgresql_url)
    engine = create_database_engine(postgresql_url)
    store = SqlLearnerStore(session_factory(engine))
    learner = store.enroll("T0001", "UUNLOCKED", "en", "fork")
    UnlockedSession.barrier = threading.Barrier(THREADS, timeout=60)
    UnlockedSession.unlocked_reads = Counter()
    unlocked = SqlLearnerStore(sessionmaker(engine, class_=UnlockedSession, expire_on_commit=False))
    tally = Tally()

    def check(n: int) -> None:
        result = CheckResult.done_with({f"t{n}": n})
        unlocked.record_check(learner.id, "fork", result, f"t{n}", "branch")

    run_threads(check, tally)

    # record_check reads the learner with session.get_one(…, with_for_update=True): were that
    # to change, this control would need to follow.
    assert UnlockedSession.unlocked_reads["learner"] == THREADS
    facts = dict(store.get(learner.id).facts)
    # What the hammer's exact counts would catch: facts learned by checks are missing from
    # the learner. Every thread but one had its write refused (the version column, an
    # optimistic lock, finds the row changed since it was read: StaleDataError) or, were
    # that column gone too, overwritten by the next writer.
    assert len(facts) < THREADS, facts
    assert len(tally.failures) + len(facts) >= 1
    engine.dispose()
