"""Sign-ins on GitHub (device flow), polled without a click until they end.

When an answer shows a learner a code, :class:`VerificationPoller` keeps asking GitHub — at
the interval GitHub sets, through :meth:`Coach.poll_verification` — until the learner
approves, cancels, or the code expires, then tells them the outcome (:class:`Notifier`).
Each poll is a short task on the poller's own thread pool; a small clock thread says when
each one is due, so stopping the process never waits on a sleeping flow.

Nothing lives only in memory: each pending sign-in is a database row, and each poll is
claimed there first (compare-and-set), so any process may take over. A restarted answering
process picks the pending sign-ins up again (:meth:`VerificationPoller.resume`), the
learner's Check click polls at once, and the worker polls those nobody polled for a while
(:func:`run_device_flow_job`): a sign-in never dies silently.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.course.coach import Coach
from bot.course.ports import LearnerStore, Notifier

log = logging.getLogger(__name__)

TICK_SECONDS = 0.2
# After a poll fails unexpectedly (the database away, a bug), the next waits 10 s, then 20,
# 40… up to 5 minutes: a sign-in is never dropped, nor retried every 10 s forever.
FAILURE_BACKOFF = timedelta(seconds=10)
MAX_BACKOFF = timedelta(minutes=5)
# Until a notifier is attached (the process is still starting), due polls wait this long.
NOT_READY = timedelta(seconds=1)


def backoff(failures: int) -> timedelta:
    """How long to wait after ``failures`` unexpected failures in a row (1 or more)."""
    doublings = min(max(0, failures - 1), 10)  # 2**10 x 10 s is far past the ceiling already
    return min(FAILURE_BACKOFF * (1 << doublings), MAX_BACKOFF)


# A sign-in whose poll is this late has nobody polling it: the worker takes it over.
ABANDONED_AFTER = timedelta(seconds=20)


@dataclass
class _Watch:
    due: float  # time.monotonic() of the next poll
    running: bool = False
    failures: int = 0  # polls in a row that failed unexpectedly: each waits twice as long


class VerificationPoller:
    """Polls GitHub for the pending sign-ins of this process's learners, and tells them."""

    def __init__(
        self, coach: Coach, store: LearnerStore, *, workers: int = 4, tick: float = TICK_SECONDS
    ) -> None:
        self._coach = coach
        self._store = store
        self._notifier: Notifier | None = None
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="device-flow")
        self._tick = tick
        self._lock = threading.Lock()
        self._watched: dict[int, _Watch] = {}  # learner id → its watch
        self._clock_thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def attach(self, notifier: Notifier) -> None:
        """How outcomes are told (the transport is built after the poller)."""
        self._notifier = notifier

    def watch(self, learner_id: int, due: datetime | None = None) -> None:
        """Poll the learner's pending sign-in from ``due`` on (now by default)."""
        when = _monotonic(due)
        with self._lock:
            current = self._watched.get(learner_id)
            if current is None:
                self._watched[learner_id] = _Watch(when)
            else:
                current.due = min(current.due, when)
            if self._clock_thread is None and not self._stopping.is_set():
                # A daemon: it only ever waits, and it must never hold the process up.
                self._clock_thread = threading.Thread(
                    target=self._run, name="device-flow-clock", daemon=True
                )
                self._clock_thread.start()

    def resume(self) -> int:
        """Watch every sign-in still pending (this process just started); returns how many."""
        flows = self._store.pending_flows()
        for flow in flows:
            self.watch(flow.learner_id, flow.next_poll_at)
        if flows:
            log.info("resuming %d pending GitHub sign-in(s)", len(flows))
        return len(flows)

    @property
    def watching(self) -> int:
        with self._lock:
            return len(self._watched)

    def close(self) -> None:
        self._stopping.set()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self) -> None:
        while not self._stopping.wait(self._tick):
            now = time.monotonic()
            with self._lock:
                due = [
                    learner_id
                    for learner_id, watch in self._watched.items()
                    if not watch.running and watch.due <= now
                ]
                for learner_id in due:
                    self._watched[learner_id].running = True
            for learner_id in due:
                try:
                    self._pool.submit(self._poll, learner_id)
                except RuntimeError:  # the pool is shut down: the process is stopping
                    return

    def _poll(self, learner_id: int) -> None:
        with self._lock:
            watch = self._watched.get(learner_id)
        if watch is None:
            return
        next_at: datetime | None = None
        try:
            if self._notifier is None:
                next_at = datetime.now(UTC) + NOT_READY
            else:
                next_at = poll_and_announce(
                    self._coach, self._store, self._notifier, learner_id, "github"
                )
            watch.failures = 0
        except Exception:
            watch.failures += 1
            wait = backoff(watch.failures)
            log.exception(
                "polling the GitHub sign-in of learner %s failed (%d in a row): next try in %ds",
                learner_id,
                watch.failures,
                wait.total_seconds(),
            )
            next_at = datetime.now(UTC) + wait
        finally:
            with self._lock:
                if next_at is None:
                    self._watched.pop(learner_id, None)
                else:
                    watch.due, watch.running = _monotonic(next_at), False


def poll_and_announce(
    coach: Coach, store: LearnerStore, notifier: Notifier, learner_id: int, source: str
) -> datetime | None:
    """One look at a learner's sign-in; tells the outcome when it ended. Returns when to
    look again, or None when there is nothing left to poll."""
    learner = store.find_id(learner_id)
    if learner is None:
        return None  # erased meanwhile (forget-me): the sign-in went with them
    progress = coach.poll_verification(learner, source)
    if progress.answer is not None:
        notifier.tell(progress.answer, why="how their GitHub sign-in ended")
    return progress.next_poll_at


def run_device_flow_job(
    coach: Coach, store: LearnerStore, notifier: Notifier, now: datetime
) -> int:
    """The worker's share: sign-ins nobody polled for a while (their process stopped).
    Each gets one poll now (claimed in the database); returns how many ended."""
    ended = 0
    for flow in store.pending_flows(due_before=now - ABANDONED_AFTER):
        try:
            if poll_and_announce(coach, store, notifier, flow.learner_id, "worker") is None:
                ended += 1
        except Exception:
            # One learner's failure must not stop the others' polls; the next run retries.
            log.exception("polling the GitHub sign-in of learner %s failed", flow.learner_id)
    return ended


def _monotonic(moment: datetime | None) -> float:
    """``moment`` on the monotonic clock (which timers must use), now when None."""
    if moment is None:
        return time.monotonic()
    return time.monotonic() + (moment - datetime.now(UTC)).total_seconds()
