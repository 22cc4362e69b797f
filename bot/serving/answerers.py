"""Answerers: a bounded pool that takes recorded requests from the database and answers them.

Where they run: ``python -m bot serve`` starts one answering process beside gunicorn's web
processes (``python -m bot answer``, at a lower CPU priority: the acknowledgements come
first), the worker runs a pool too, and Socket Mode runs one in its own process. Every pool
takes requests with a compare-and-set, so any number of them may run at once.

The bound: a pool takes a request only when one of its ``size`` threads is free, so at most
``size`` requests are in a process's memory; the others wait in the database, where a
restart finds them. Stopping (SIGTERM) stops taking, lets running answers finish for
``grace`` seconds, and hands back what it held; a request whose answerer died is taken again
when its lease ends (:data:`bot.storage.waiting.LEASE`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk import WebClient

from bot.course.ports import Notifier, RequestBook, Taken
from bot.settings import Settings
from bot.slack.answers import answer_request
from bot.slack.notifier import SlackNotifier
from bot.usecases.progress import announce_for_logins, learners_for
from bot.usecases.reviews import follow_and_announce
from bot.wiring import Parts

log = logging.getLogger(__name__)

POOL_SIZE = 16
IDLE_POLL = 0.2  # seconds between two looks at an empty queue
# Seconds between two gatherings of what the web processes kept at once (their journals).
GATHER_EVERY = 0.1
# After a failure, the request is tried again later; after MAX_ATTEMPTS it is dropped (logged).
RETRY_AFTER = timedelta(seconds=20)
MAX_ATTEMPTS = 3
# Seconds running answers get at a stop before their requests are handed back: well inside
# the 10 s some platforms allow between SIGTERM and SIGKILL.
STOP_GRACE = 5.0


class Answerers:
    def __init__(
        self,
        book: RequestBook,
        answer: Callable[[Taken], None],
        *,
        size: int = POOL_SIZE,
        poll: float = IDLE_POLL,
    ) -> None:
        self._book = book
        self._answer = answer
        self._size = size
        self._poll = poll
        self._pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="answerer")
        self._free = threading.Semaphore(size)
        self._stopping = threading.Event()
        self._running: set[int] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._gatherer: threading.Thread | None = None
        self.answered = 0

    @property
    def size(self) -> int:
        return self._size

    def start(self) -> Answerers:
        self._thread = threading.Thread(target=self._run, name="answerers", daemon=True)
        self._thread.start()
        self._gatherer = threading.Thread(target=self._gather, name="gatherer", daemon=True)
        self._gatherer.start()
        return self

    def _gather(self) -> None:
        """Bring the requests the web processes kept at once into the book: apart from the
        taking, which waits for a free thread, so that a busy pool still gathers (and the
        web processes' "busy" counts are true)."""
        while not self._stopping.wait(GATHER_EVERY):
            try:
                self._book.gather()
            except Exception:
                log.exception("could not gather the kept requests")
        self._book.gather()  # the last ones, at a stop

    def _run(self) -> None:
        while not self._stopping.is_set():
            # Wait for a free thread before taking anything: the bound.
            if not self._free.acquire(timeout=self._poll):
                continue
            free = 1
            while free < self._size and self._free.acquire(blocking=False):
                free += 1
            try:
                taken = [] if self._stopping.is_set() else self._book.take(free)
            except Exception:
                log.exception("could not take waiting requests (database unavailable?)")
                taken = []
            for _ in range(free - len(taken)):
                self._free.release()
            for request in taken:
                with self._lock:
                    self._running.add(request.id)
                self._pool.submit(self._one, request)
            if not taken:
                self._stopping.wait(self._poll)

    def _one(self, request: Taken) -> None:
        try:
            self._answer(request)
        except Exception:
            # The listeners already tell the person when they fail; this is what escaped them.
            log.exception("answering a waiting %s request failed", request.kind)
            if request.attempts < MAX_ATTEMPTS:
                self._book.retry_at(request.id, datetime.now(UTC) + RETRY_AFTER)
            else:
                log.error(
                    "a waiting %s request is dropped after %d tries", request.kind, request.attempts
                )
                self._book.answered(request.id)
        else:
            self._book.answered(request.id)
            self.answered += 1
        finally:
            with self._lock:
                self._running.discard(request.id)
            self._free.release()

    def stop(self, grace: float = STOP_GRACE) -> int:
        """Stop taking; wait up to ``grace`` for running answers, then hand back the requests
        still running, so that the next process takes them at once rather than after their
        lease. Returns how many were handed back."""
        self._stopping.set()
        for thread in (self._thread, self._gatherer):
            if thread is not None:
                thread.join(timeout=self._poll * 5 + 1)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            with self._lock:
                if not self._running:
                    break
            time.sleep(0.05)
        with self._lock:
            left = sorted(self._running)
        self._pool.shutdown(wait=False, cancel_futures=True)
        # An answer that still finishes only deletes its row: at worst a person reads it
        # twice, never not at all.
        now = datetime.now(UTC)
        for request_id in left:
            try:
                self._book.retry_at(request_id, now)
            except Exception as trouble:  # the database may be gone too: the lease still ends
                log.warning(
                    "could not hand back a running request (%s): taken after its lease",
                    type(trouble).__name__,
                )
        if left:
            log.warning("%d answer(s) still running at stop: handed back", len(left))
        return len(left)


def answering(parts: Parts, client: WebClient) -> Callable[[Taken], None]:
    """How this process answers a recorded request: Slack's through the Slack listeners'
    answers, GitHub deliveries through the use case; and sign-ins are told through Slack."""
    services = parts.services
    notifier = SlackNotifier(services, client)
    if parts.sign_ins is not None:
        parts.sign_ins.attach(notifier)

    def answer(request: Taken) -> None:
        if request.kind == "delivery":
            answer_delivery(parts, notifier, request.body)
        else:
            answer_request(services, client, request)

    return answer


def answer_delivery(parts: Parts, notifier: Notifier, body: dict[str, Any]) -> None:
    """A GitHub delivery (recorded by bot/serving/web.py): re-check the learners it names,
    then follow their pull request."""
    coach, store = parts.services.coach, parts.store
    logins = [str(login) for login in body.get("logins", [])]
    user_ids = [int(i) for i in body.get("user_ids", [])]
    if body.get("event") in ("fork", "pull_request"):
        # A fork's sender made it: under an organisation, the fork check names it.
        fork = body.get("fork")
        hints = {"fork_hint": fork} if fork else None
        announce_for_logins(coach, store, notifier, logins, "webhook", user_ids, hints=hints)
    if body.get("pr_number") is not None:
        # After the check: a pull request just recorded as opened is followed from now.
        learners = learners_for(store, logins, user_ids)
        follow_and_announce(parts.services.reviews, store, notifier, learners, "webhook")


def run_answer_process(settings: Settings, *, nice: int = 19) -> None:
    """``python -m bot answer``: answer recorded requests until SIGTERM or SIGINT.

    Started by ``python -m bot serve`` beside the web processes, at a lower CPU priority
    (``nice``): when the machine is saturated, acknowledgements get the CPUs first.
    """
    import os
    import signal

    from bot.slack.app import make_web_client
    from bot.wiring import build

    stopping = threading.Event()

    def stop(signum: int, _frame: object) -> None:
        log.info("answerers stopping (%s)", signal.Signals(signum).name)
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if nice:
        try:
            os.nice(nice)
        except OSError:
            log.warning("could not lower the answerers' CPU priority")
        # Linux: run only on CPU time the web processes leave (a web thread that wakes takes
        # the CPU at once, not after a scheduler tick). The web processes move the journals
        # themselves if this process gets no CPU for seconds. Elsewhere, nice is what we have.
        if hasattr(os, "SCHED_IDLE"):
            try:
                os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
            except OSError:
                log.warning("could not run the answerers on idle CPU time only")
    parts = build(settings)
    client = make_web_client(settings)
    services = parts.services
    pool = Answerers(parts.requests, answering(parts, client))
    if services.sign_ins is not None:
        # Sign-ins on GitHub that were pending when the previous process stopped.
        services.sign_ins.resume()
    pool.start()
    log.info("answerers started: %d threads", pool.size)
    stopping.wait()
    pool.stop()
    if services.sign_ins is not None:
        services.sign_ins.close()
    log.info("answerers stopped")
