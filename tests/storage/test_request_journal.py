"""The request journal: an acknowledgement never waits for the database, and what was
acknowledged reaches the database — after a locked database, a clean stop or ``kill -9``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.storage.database import create_database_engine, migrate, session_factory
from bot.storage.journal import RequestJournal, journal_directory
from bot.storage.waiting import SqlWaitingRequests

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def engine(each_database_url: str) -> Iterator[Engine]:
    migrate(each_database_url)
    engine = create_database_engine(each_database_url)
    yield engine
    engine.dispose()


def book_on(engine: Engine, directory: Path, **options: int) -> SqlWaitingRequests:
    return SqlWaitingRequests(session_factory(engine), journal=RequestJournal(directory, **options))


@contextmanager
def write_lock(engine: Engine) -> Iterator[None]:
    """Hold the database's write lock on waiting_requests, as a busy answerer would."""
    with engine.connect() as connection, connection.begin():
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("LOCK TABLE waiting_requests IN EXCLUSIVE MODE")
        else:
            connection.exec_driver_sql(
                "DELETE FROM waiting_requests WHERE id < 0"
            )  # BEGIN IMMEDIATE
        yield


def eventually(condition: Callable[[], bool], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not within the deadline"
        time.sleep(0.05)


def test_a_request_is_kept_in_the_journal_while_the_database_is_locked(
    engine: Engine, tmp_path: Path
) -> None:
    book = book_on(engine, tmp_path / "journal")
    with write_lock(engine):
        recorded = book.record_soon("command", {"text": "check"}, user_id="U1", once="t:1")
        # Kept on the disk, not waiting on the lock nor held in memory.
        assert not recorded.joined and book.held == 0
        assert book._journal is not None and book._journal.pending == 1
        assert book.gather() == 0  # the open segment is its process's until sealed
        book._journal.seal()
        assert book.gather() == 0  # sealed, but the database refuses writes: it stays
    assert book.gather() == 1  # as the answering process does, every moment
    (taken,) = book.take(1)
    assert (taken.kind, taken.body, taken.busy) == ("command", {"text": "check"}, False)
    book._journal.seal()  # the keeper's next tick: the moved segment is forgotten
    assert book._journal.pending == 0
    book.close()
    assert list((tmp_path / "journal").iterdir()) == []  # moved: nothing left on the disk


def test_replays_and_repeats_are_settled_when_the_requests_reach_the_database(
    engine: Engine, tmp_path: Path
) -> None:
    book = book_on(engine, tmp_path / "journal")
    with write_lock(engine):  # all in one batch
        book.record_soon("action", {"url": "one"}, user_id="U1", key="U1 check", once="t:1")
        book.record_soon("action", {"url": "one"}, user_id="U1", key="U1 check", once="t:1")
        book.record_soon("action", {"url": "two"}, user_id="U1", key="U1 check", once="t:2")
    book.close()
    book.record_soon("action", {"url": "three"}, user_id="U1", key="U1 check", once="t:2")
    assert [t.body["url"] for t in book.take(10)] == ["two"]  # replay refused, repeat joined


def test_busy_is_told_at_once_when_more_requests_wait_than_the_bound(
    engine: Engine, tmp_path: Path
) -> None:
    book = book_on(engine, tmp_path / "journal")
    with write_lock(engine):
        outcomes = [book.record_soon("command", {"n": n}, busy_after=2) for n in range(4)]
    assert [o.waiting for o in outcomes] == [0, 1, 2, 3]
    book.close()
    assert [t.busy for t in book.take(10)] == [False, False, True, True]


def test_past_its_limit_the_journal_is_skipped_and_the_database_written_at_once(
    engine: Engine, tmp_path: Path
) -> None:
    book = book_on(engine, tmp_path / "journal", limit=10)
    book.record_soon("command", {"text": "a request longer than ten bytes"})
    assert book.waiting() == 1


def test_the_journal_of_a_process_killed_with_sigkill_is_moved_by_the_next_one(
    engine: Engine, each_database_url: str, tmp_path: Path
) -> None:
    directory = tmp_path / "journal"
    child = (
        "import os, signal, sys\n"
        "from bot.storage.database import create_database_engine, session_factory\n"
        "from bot.storage.journal import RequestJournal\n"
        "from bot.storage.waiting import SqlWaitingRequests\n"
        "from pathlib import Path\n"
        "book = SqlWaitingRequests(session_factory(create_database_engine(sys.argv[1])),"
        " journal=RequestJournal(Path(sys.argv[2])))\n"
        "for n in range(5):\n"
        "    book.record_soon('command', {'n': n}, user_id='U1', once=f't:{n}')\n"
        "print('acknowledged', flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    with write_lock(engine):  # its mover cannot move anything before it is killed
        done = subprocess.run(
            [sys.executable, "-c", child, each_database_url, str(directory)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == -signal.SIGKILL and "acknowledged" in done.stdout
    (orphan,) = directory.iterdir()
    assert orphan.read_bytes().count(b"\n") == 5

    book = book_on(engine, directory)
    assert book.gather() == 5  # as the answering process does, every moment
    assert sorted(t.body["n"] for t in book.take(10)) == [0, 1, 2, 3, 4]
    assert not orphan.exists()
    book.close()


def test_a_live_processs_open_segment_is_left_alone_and_a_torn_last_line_skipped(
    engine: Engine, tmp_path: Path
) -> None:
    directory = tmp_path / "journal"
    alive = RequestJournal(directory)  # a web process, alive: its open segment is locked
    alive.append({"kind": "command", "body": {"n": 1}, "at": time.time()}, "U1 check")
    book = book_on(engine, directory)
    assert book.gather() == 0 and book.waiting() == 0

    alive.seal()
    (segment,) = directory.iterdir()
    with segment.open("ab") as torn:  # as if its writer had been killed mid-line
        torn.write(json.dumps({"kind": "command", "body": {"n": 2}}).encode()[:12])
    assert book.gather() == 1
    assert [t.body for t in book.take(10)] == [{"n": 1}]
    assert list(directory.iterdir()) == []
    assert alive.pending == 1 and alive.holds("U1 check")
    alive.seal()  # its next tick sees the segment moved
    assert alive.pending == 0


def test_a_web_process_moves_its_journal_itself_when_no_answering_process_does(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.storage.waiting.FALLBACK_AFTER", 0.2)
    book = book_on(engine, tmp_path / "journal")
    book.record_soon("command", {"n": 1})  # starts the keeper, as the first request does
    eventually(lambda: book.waiting() == 1)
    book.close()


def test_the_journal_lives_beside_a_sqlite_file_or_in_the_temporary_directory() -> None:
    assert journal_directory("sqlite:///var/prcoach.db") == Path("var/prcoach.db-requests")
    elsewhere = journal_directory("postgresql+psycopg://u@db/prcoach")
    assert elsewhere.name.startswith(f"prcoach-requests-{os.getuid()}-")
    assert elsewhere != journal_directory("postgresql+psycopg://u@db/other")


def test_lines_appended_by_many_threads_while_segments_are_sealed_are_all_moved(
    engine: Engine, tmp_path: Path
) -> None:
    import threading

    book = book_on(engine, tmp_path / "journal")
    journal = book._journal
    assert journal is not None
    sealing = threading.Event()

    def seal_often() -> None:
        while not sealing.wait(0.001):
            journal.seal()

    def append(thread: int) -> None:
        for n in range(250):
            entry = {"kind": "action", "body": {"t": thread, "n": n}, "at": time.time()}
            journal.append(entry, None)

    sealer = threading.Thread(target=seal_often)
    sealer.start()
    writers = [threading.Thread(target=append, args=(t,)) for t in range(8)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    sealing.set()
    sealer.join()
    book.close()  # seals the last segment and moves everything
    assert book.waiting() == 2000
    assert len({(t.body["t"], t.body["n"]) for t in book.take(2000)}) == 2000
    assert list((tmp_path / "journal").iterdir()) == []


def test_the_keeper_goes_on_after_a_failed_round(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.storage.waiting.FALLBACK_AFTER", 0.2)
    book = book_on(engine, tmp_path / "journal")
    assert book._journal is not None
    seal, failures = book._journal.seal, [RuntimeError("a bad round")]

    def seal_once_failing() -> None:
        if failures:
            raise failures.pop()
        seal()

    monkeypatch.setattr(book._journal, "seal", seal_once_failing)
    book.record_soon("command", {"n": 1})
    eventually(lambda: book.waiting() == 1)
    assert not failures
    book.close()
