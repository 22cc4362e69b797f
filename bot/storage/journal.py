"""A web process's journal of acknowledged requests: lines on the local disk until the
database has them.

Why: Slack's acknowledgement must not wait for the database's write lock. SQLite has one
writer at a time, and the answerers — a process at a lower CPU priority — share it: under
load, an answerer put aside by the scheduler while holding the lock held every
acknowledgement behind it for up to a second (bench/results.md). Appending a line to a file
is one system call that waits for nobody, and the kernel keeps what was written whatever
happens to the process afterwards (an exception, ``kill -9``): an acknowledged request is
never only in a process's memory.

A journal is a series of segments, ``<host>-<pid>-<random>.jsonl``. The open one is locked
(``flock``) by its process, which appends to it; every 0.1 s (or at 1 MiB) it is sealed —
closed, so unlocked — and from then on any process may move it into the database and delete
it: the answering process does, within moments (``SqlWaitingRequests.gather``), and a web
process does itself when nobody did for a few seconds. A segment nobody holds is movable
whoever wrote it, so the segments of a process that died are moved like the others. The
moving happens outside the web processes: their CPU and GIL stay with the acknowledgements.
A process's unmoved lines are bounded (``LIMIT_BYTES``): past it, requests are written to
the database directly, as before the journal existed.
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
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

# 64 MiB: some 40,000 clicks (a kept click is 1-2 kB) — minutes of a database that refuses
# writes under a whole workshop's load. What is past it waits for the database as before.
LIMIT_BYTES = 64 * 1024 * 1024
# What a mover reads at once: bounds the memory a batch takes.
READ_BYTES = 1024 * 1024
# A segment is sealed (closed, movable) at this size, or by the timer (``seal``).
SEGMENT_BYTES = 1024 * 1024
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
    """This process's journal, in segments. Request threads ``append`` to the open segment,
    which this process holds locked; ``seal`` (a timer, every ``SEAL_EVERY``; or past
    ``SEGMENT_BYTES``) closes it, and from then on any process may move it into the database
    and delete it (``move_sealed``): the answering process does, within moments. A forked
    child opens its own segment at its first line."""

    def __init__(self, directory: Path, *, limit: int = LIMIT_BYTES) -> None:
        self.directory = directory
        self._limit = limit
        self._lock = threading.Lock()  # bookkeeping only: never held across a line's write
        self._pid = 0
        self._open: _Segment | None = None
        self._sealed: list[_Segment] = []  # sealed, not seen moved yet
        self._sealed_bytes = 0
        # The requests not seen moved (open or sealed), by key — and those without one.
        self._pending: dict[str, int] = {}
        self._pending_keyless = 0

    @property
    def pending(self) -> int:
        """Requests this process kept that the database may not have yet (the same request
        asked twice counted once)."""
        return len(self._pending) + self._pending_keyless

    def holds(self, key: str) -> bool:
        """Whether the same request is kept here and not seen moved yet."""
        return key in self._pending

    def _open_segment(self) -> _Segment:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        name = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(6)}"
        # Locked under a name no mover looks at, then renamed: a mover never finds it
        # unlocked before its first line. 0600: lines hold what people asked (a DM's text).
        hidden = self.directory / f".{name}.open"
        fd = os.open(hidden, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        path = self.directory / f"{name}{SUFFIX}"
        os.rename(hidden, path)
        self._open = _Segment(fd, path)
        return self._open

    def append(self, entry: dict[str, Any], key: str | None = None) -> None:
        """Write one line (``key``: what makes two requests the same, for ``pending``).

        The line's place is taken under the lock, the write done outside it: request
        threads never queue behind one another's system call (``O_APPEND`` writes land
        whole, one after the other). A segment sealed meanwhile is closed by its last
        writer."""
        line = (json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        with self._lock:
            if self._pid != os.getpid():
                self._forget_parent()
            open_size = self._open.size if self._open is not None else 0
            if open_size + self._sealed_bytes + len(line) > self._limit:
                raise JournalUnavailable("full")
            try:
                segment = self._open if self._open is not None else self._open_segment()
            except OSError as error:
                raise JournalUnavailable(error.strerror or type(error).__name__) from error
            segment.writers += 1
            segment.size += len(line)
            segment.keys.append(key)
            self._count(key, +1)
            if segment.size >= SEGMENT_BYTES:
                self._seal_open()
        failure: OSError | None = None
        try:
            view = memoryview(line)
            while view:  # a regular file takes it whole, short of a full disk
                view = view[os.write(segment.fd, view) :]
        except OSError as error:
            failure = error
        with self._lock:
            segment.writers -= 1
            if failure is not None:
                self._count(key, -1)  # the caller records it otherwise
            if segment.sealed and not segment.writers:
                os.close(segment.fd)
        if failure is not None:
            raise JournalUnavailable(failure.strerror or type(failure).__name__) from failure

    def _count(self, key: str | None, change: int) -> None:
        if key is None:
            self._pending_keyless += change
        elif (left := self._pending.get(key, 0) + change) > 0:
            self._pending[key] = left
        else:
            self._pending.pop(key, None)

    def _forget_parent(self) -> None:
        # A forked child: the parent's segments are the parent's. Its copy of the open
        # segment's descriptor would keep the parent's lock (flock follows the open file)
        # after the parent seals it: closed here.
        if self._open is not None:
            with contextlib.suppress(OSError):
                os.close(self._open.fd)
        self._open, self._sealed, self._sealed_bytes = None, [], 0
        self._pending, self._pending_keyless = {}, 0
        self._pid = os.getpid()

    def seal(self) -> None:
        """Seal the open segment if it has lines: movable from now on. Then forget the
        sealed segments that were moved meanwhile (their files are gone)."""
        with self._lock:
            if self._open is not None and self._pid == os.getpid() and self._open.size:
                self._seal_open()
            sealed = list(self._sealed)
        gone = [segment for segment in sealed if not segment.path.exists()]
        if gone:
            with self._lock:
                for segment in gone:
                    self._sealed.remove(segment)
                    self._sealed_bytes -= segment.size
                    for key in segment.keys:
                        self._count(key, -1)

    def _seal_open(self) -> None:
        segment = self._open
        assert segment is not None
        self._open = None
        segment.sealed = True
        self._sealed.append(segment)
        self._sealed_bytes += segment.size
        if not segment.writers:
            os.close(segment.fd)  # and with it the lock: movable

    def close(self) -> None:
        """At a clean stop: seal what is open (the caller then moves it, or the next
        process does)."""
        with self._lock:
            segment = self._open
            if segment is None or self._pid != os.getpid():
                return
            if segment.size:
                self._seal_open()
                return
            self._open = None
            with contextlib.suppress(FileNotFoundError):
                segment.path.unlink()
            os.close(segment.fd)

    def move_sealed(
        self, move: Callable[[list[dict[str, Any]]], None], most: int, older_than: float = 0.0
    ) -> int:
        """Move the segments nobody holds (sealed, or left by a process that died) — those
        last written more than ``older_than`` seconds ago — ``most`` lines at a time; each
        file is deleted once the database has it all. Returns the lines moved."""
        try:
            paths = sorted(self.directory.glob(f"*{SUFFIX}"))
        except OSError:
            return 0
        moved = 0
        now = time.time()
        for path in paths:
            if older_than:
                try:
                    if now - path.stat().st_mtime < older_than:
                        continue
                except FileNotFoundError:
                    continue
            with _orphan(path) as fd:
                if fd is None:
                    continue  # its process still writes it, or another one moved it
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
        return moved


@dataclass(eq=False)
class _Segment:
    fd: int
    path: Path
    size: int = 0  # bytes of its lines, written or being written
    keys: list[str | None] = field(default_factory=list)  # its requests' keys, line by line
    writers: int = 0  # threads writing into it now
    sealed: bool = False


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
