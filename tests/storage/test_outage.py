"""A PostgreSQL server that goes away for a while: requests fail with one clear log line, and
the same engine works again, by itself, once the server is back.

The server is reached through a TCP relay on 127.0.0.1 that the test cuts and restores, so
the real server keeps running for the other tests.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import make_url

from bot.course.checks import CheckResult
from bot.errors import StorageUnavailable
from bot.storage.database import create_database_engine, migrate, session_factory
from bot.storage.store import SqlLearnerStore


class Relay:
    """Forwards 127.0.0.1:<port> to the server; ``cut()`` drops everything, ``start()`` is
    the server coming back on the same address."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> Relay:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    @staticmethod
    def _pump(a: socket.socket, b: socket.socket) -> None:
        selector = selectors.DefaultSelector()
        selector.register(a, selectors.EVENT_READ, b)
        selector.register(b, selectors.EVENT_READ, a)
        try:
            while True:
                for key, _ in selector.select(timeout=1):
                    data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                    if not data:
                        return
                    key.data.sendall(data)
        except (OSError, ValueError):
            return
        finally:
            selector.close()
            a.close()
            b.close()

    def cut(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, []
        if self._listener is not None:
            sockets.append(self._listener)  # shutdown() wakes the thread blocked in accept()
            self._listener = None
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


@pytest.fixture
def url(postgresql_url: str) -> str:
    if not make_url(postgresql_url).host:
        pytest.skip("TEST_DATABASE_URL uses a Unix socket: no TCP to cut")
    return postgresql_url


@pytest.fixture
def relay(url: str) -> Iterator[Relay]:
    parsed = make_url(url)
    relay = Relay(parsed.host or "127.0.0.1", parsed.port or 5432).start()
    yield relay
    relay.cut()


def test_an_unreachable_database_fails_requests_clearly_then_recovers(
    url: str, relay: Relay, caplog: pytest.LogCaptureFixture
) -> None:
    migrate(url)
    through_relay = make_url(url).set(host="127.0.0.1", port=relay.port)
    engine = create_database_engine(through_relay.render_as_string(hide_password=False))
    store = SqlLearnerStore(session_factory(engine))
    learner = store.enroll("T0001", "UOUTAGE", "en", "link")
    assert store.ping()

    relay.cut()  # the server goes away: pooled connections die, new ones are refused
    with caplog.at_level(logging.INFO, logger="bot.storage.database"):
        with pytest.raises(StorageUnavailable):
            store.get(learner.id)
        with pytest.raises(StorageUnavailable):
            store.record_check(learner.id, "link", _done(), "test", "fork")
        assert store.ping() is False
        unreachable = [r for r in caplog.records if "database is unreachable" in r.getMessage()]
        # One line (repeated at most every 30 s while it lasts), naming the server.
        assert len(unreachable) == 1
        assert unreachable[0].levelno == logging.ERROR
        assert f"127.0.0.1:{relay.port}" in unreachable[0].getMessage()
        password = make_url(url).password
        assert not password or password not in caplog.text

        relay.start()  # back, on the same address: the same engine recovers by itself
        assert store.ping()
        assert store.get(learner.id) == learner
        after = store.record_check(learner.id, "link", _done(), "test", "fork")
        assert after.current_step == "fork"
        assert any("database answers again" in r.getMessage() for r in caplog.records)
    engine.dispose()


def _done() -> CheckResult:
    return CheckResult.done_with({})
