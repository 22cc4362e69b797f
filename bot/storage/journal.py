"""A web process's journal of acknowledged requests: lines on the local disk until the
database has them.

Why: Slack's acknowledgement must not wait for the database's write lock. SQLite has one
writer at a time, and the answerers — a process at a lower CPU priority — share it: under
load, an answerer put aside by the scheduler while holding the lock held every
acknowledgement behind it for up to a second (bench/results.md). Appending a line to a file is
one system call that waits for nobody, and the kernel keeps what was written whatever happens
to the process afterwards (an exception, ``kill -9``): an acknowledged request is never only
in a process's memory. A thread of the same process moves the lines into the database in
batches (:meth:`bot.storage.waiting.SqlWaitingRequests.record_soon`); the journal of a process
that died is moved by the next one that starts (or looks, once a minute).

One file per process, ``<host>-<pid>-<random>.jsonl``, locked (``flock``) while its process
lives: a file nobody holds is an orphan. Its size is bounded (``LIMIT_BYTES``): past it,
requests are written to the database directly, as before the journal existed.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import secrets
import socket
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

# 64 MiB: some 40,000 clicks (a kept click is 1-2 kB) — minutes of a database that refuses
# writes under a whole workshop's load. What is past it waits for the database as before.
LIMIT_BYTES = 64 * 1024 * 1024
# What the mover reads at once: bounds the memory a batch takes.
READ_BYTES = 1024 * 1024
SUFFIX = ".jsonl"


class JournalUnavailable(Exception):
    """The journal cannot take this line (full, or the disk refuses): write it directly."""


def journal_directory(database_url: str) -> Path:
    """Next to a SQLite file (``prcoach.db-requests/``, beside SQLite's own ``-wal``); for
    another database, in the temporary directory, one per database (its URL's digest)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        database = Path(str(url.database))
        return database.with_name(database.name + "-requests")
    digest = hashlib.sha256(database_url.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"prcoach-requests-{os.getuid()}-{digest}"


class RequestJournal:
    """This process's journal: request threads ``append``, one mover thread ``read``s and
    says what it ``moved``. A forked child opens its own file at its first line."""

    def __init__(self, directory: Path, *, limit: int = LIMIT_BYTES) -> None:
        self.directory = directory
        self._limit = limit
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._path: Path | None = None
        self._pid = 0
        self._written = 0  # bytes of whole lines appended
        self._moved = 0  # of which the database has these
        self._lines = 0  # lines appended and not moved yet

    @property
    def unmoved(self) -> int:
        """Lines appended that the database does not have yet."""
        return self._lines

    def _own_file(self) -> int:
        if self._fd is not None and self._pid == os.getpid():
            return self._fd
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        name = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}{SUFFIX}"
        path = self.directory / name
        # 0600: the lines hold what people asked (a DM's text) until they are moved.
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # ours while this process lives
        self._fd, self._path, self._pid = fd, path, os.getpid()
        self._written = self._moved = self._lines = 0
        return fd

    def append(self, entry: dict[str, Any]) -> int:
        """Write one line; returns the lines not moved yet, this one included."""
        line = (json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        with self._lock:
            try:
                fd = self._own_file()
                if self._written - self._moved + len(line) > self._limit:
                    raise JournalUnavailable("full")
                view = memoryview(line)
                while view:  # a regular file takes it whole, short of a full disk
                    view = view[os.write(fd, view) :]
            except OSError as error:
                raise JournalUnavailable(error.strerror or type(error).__name__) from error
            self._written += len(line)
            self._lines += 1
            return self._lines

    def read(self, most: int) -> tuple[list[dict[str, Any]], int, int]:
        """Up to ``most`` lines not moved yet: their entries, the offset just past them, and
        how many lines that is (a line that is not JSON is skipped, and counted)."""
        with self._lock:
            fd, start, end = self._fd, self._moved, self._written
        if fd is None or start >= end or self._pid != os.getpid():
            return [], start, 0
        data = os.pread(fd, min(end - start, READ_BYTES), start)
        entries, used = _parse(data, most)
        if used == 0:  # a single line longer than READ_BYTES: read it whole
            data = os.pread(fd, end - start, start)
            entries, used = _parse(data, 1)
        return entries, start + used, data.count(b"\n", 0, used)

    def moved(self, end: int, lines: int) -> None:
        """The database has the lines up to ``end``; when it has them all, the file starts
        again from nothing (what people asked does not stay on the disk)."""
        with self._lock:
            self._moved = end
            self._lines -= lines
            if self._fd is not None and self._moved == self._written and self._written:
                os.ftruncate(self._fd, 0)
                self._moved = self._written = 0

    def close(self) -> None:
        """At a clean stop: the file goes if the database has everything, else it stays for
        the next process (and is unlocked)."""
        with self._lock:
            if self._fd is None or self._pid != os.getpid():
                return
            if self._moved == self._written and self._path is not None:
                with contextlib.suppress(FileNotFoundError):
                    self._path.unlink()
            os.close(self._fd)
            self._fd = None

    def adopt_orphans(self, move: Callable[[list[dict[str, Any]]], None], most: int) -> int:
        """Move the journals of processes that are gone, ``most`` lines at a time; each file
        is deleted once the database has it all. Returns the lines moved."""
        if not self.directory.is_dir():
            return 0
        moved = 0
        for path in sorted(self.directory.glob(f"*{SUFFIX}")):
            if path == self._path:
                continue
            with _orphan(path) as fd:
                if fd is None:
                    continue  # its process is alive, or another one adopted it
                offset = 0
                while data := os.pread(fd, READ_BYTES, offset):
                    entries, used = _parse(data, most)
                    if used == 0 and len(data) == READ_BYTES:  # one line longer than that
                        entries, used = _parse(os.pread(fd, os.fstat(fd).st_size, offset), 1)
                    if used == 0:
                        break  # a last line its process died writing: never acknowledged
                    if entries:
                        move(entries)  # raises if the database refuses: the file stays
                    moved += len(entries)
                    offset += used
                path.unlink()
            log.info("moved an orphaned request journal to the database")
        return moved


@contextlib.contextmanager
def _orphan(path: Path) -> Iterator[int | None]:
    """The file, locked for this process, if no live process holds it."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        yield None
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
            return
        # Deleted by the process that adopted it just before us: nothing left to do.
        yield None if os.fstat(fd).st_nlink == 0 else fd
    finally:
        os.close(fd)


def _parse(data: bytes, most: int) -> tuple[list[dict[str, Any]], int]:
    """Whole lines of ``data`` (at most ``most``) and the bytes they take. A line that is not
    JSON (a process killed in the middle of a write) is skipped, never its text logged."""
    lines: list[bytes] = []
    used = 0
    while len(lines) < most:
        end = data.find(b"\n", used)
        if end < 0:
            break
        lines.append(data[used:end])
        used = end + 1
    if not lines:
        return [], used
    try:  # one parse for the batch: the lines are JSON objects without a newline inside
        parsed = json.loads(b"[" + b",".join(lines) + b"]")
    except ValueError:
        parsed = []
        for line in lines:
            try:
                parsed.append(json.loads(line))
            except ValueError:
                log.warning(
                    "skipped a request journal line that is not whole (%d bytes)", len(line)
                )
    return [entry for entry in parsed if isinstance(entry, dict)], used
