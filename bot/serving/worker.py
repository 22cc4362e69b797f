"""The worker process (``python -m bot worker``, the Procfile's ``worker:`` line).

It runs the scheduled jobs: the weekly digest at ``DIGEST_CRON`` in ``TIMEZONE``, reminders
every 15 minutes, background checks every 30 seconds, messages Slack refused every minute,
sign-ins nobody polls every 15 seconds, and the nightly retention; and a pool of answerers
(:mod:`bot.serving.answerers`) for recorded requests. Several workers may run at once (a
platform restarting one, two dynos by mistake): each job claims its work in the database, so
nothing is sent twice.
SIGTERM (what platforms send to stop a process) lets a running job finish, then exits 0.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

import requests
from apscheduler.events import EVENT_SCHEDULER_START, SchedulerEvent
from apscheduler.executors.base import run_job
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.job import Job
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from github import GithubException
from slack_sdk import WebClient

from bot.cron import crontab_trigger
from bot.errors import ConfigError
from bot.github.health import practice_repo_problem, token_expiry
from bot.github.probes import GitHubProber
from bot.serving.answerers import Answerers, answering
from bot.settings import HELP, Settings
from bot.slack.app import check_token, make_web_client
from bot.slack.health import warn_staff
from bot.slack.notifier import SlackNotifier
from bot.storage.database import migrate
from bot.usecases.digest import run_digest_job, run_nudge_job
from bot.usecases.progress import run_outbox_job, run_watch_job
from bot.usecases.reviews import run_review_job
from bot.usecases.sign_ins import run_device_flow_job
from bot.usecases.staff import run_retention
from bot.wiring import Parts, build

log = logging.getLogger(__name__)

NUDGE_EVERY_MINUTES = 15
# A digest up to an hour late is still posted: the process was busy or suspended, or it
# (re)started just after the time (a deploy at 9:00 on Monday). Later, that week is skipped.
DIGEST_GRACE = timedelta(hours=1)
NUDGE_GRACE = timedelta(minutes=10)


class _Run:
    """One run of a job, as :func:`run_job` sees it, with ``due`` added to its arguments."""

    def __init__(self, job: Job, due: datetime) -> None:
        self._job = job
        self.kwargs = {**job.kwargs, "due": due}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._job, name)

    def __str__(self) -> str:
        return str(self._job)


class ScheduledTimeExecutor(ThreadPoolExecutor):
    """APScheduler's thread pool, except that each run gets ``due=<its scheduled time>``.

    A job started at 9:00:00.004 gets ``due=9:00:00``, in every worker: the digest's claim
    key comes from it, so two workers claim the same key and only one posts.
    """

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        def runs() -> list[Any]:
            events: list[Any] = []
            for due in run_times:
                events += run_job(_Run(job, due), job._jobstore_alias, [due], self._logger.name)
            return events

        def done(future: Any) -> None:
            error = future.exception()
            if error is not None:
                self._run_job_error(job.id, error, error.__traceback__)
            else:
                self._run_job_success(job.id, future.result())

        self._pool.submit(runs).add_done_callback(done)


WATCH_EVERY_SECONDS = 30
SIGN_IN_EVERY_SECONDS = 15


def make_scheduler(
    settings: Settings, kind: type[BaseScheduler] = BlockingScheduler
) -> BaseScheduler:
    return kind(
        timezone=settings.timezone,
        executors={"default": ScheduledTimeExecutor(max_workers=2)},
        job_defaults={"coalesce": True, "max_instances": 1},
    )


def last_fire_time(trigger: CronTrigger, now: datetime, within: timedelta) -> datetime | None:
    """The trigger's latest time in ``(now - within, now]``, if it had one."""
    latest = None
    moment = trigger.get_next_fire_time(None, now - within)
    while moment is not None and moment <= now:
        latest = moment
        moment = trigger.get_next_fire_time(moment, moment + timedelta(microseconds=1))
    return latest


def add_jobs(
    scheduler: BaseScheduler,
    settings: Settings,
    parts: Parts,
    client: WebClient,
    now: datetime | None = None,
) -> None:
    """The digest on DIGEST_CRON (and the one just missed, if any) and the reminders."""
    services, store = parts.services, parts.store
    coach, desk = services.coach, services.desk
    notifier = SlackNotifier(services, client)

    # ``due`` is filled in by ScheduledTimeExecutor with the run's scheduled time.
    def digest(due: datetime | None = None) -> None:
        if due is None:
            raise RuntimeError("the digest job needs ScheduledTimeExecutor (see make_scheduler)")
        run_digest_job(desk, notifier, store, due, staff_channel=settings.staff_channel)

    def nudges(due: datetime | None = None) -> None:
        # Reminders follow the clock (daytime, idle for N days), not the schedule.
        run_nudge_job(desk, coach, notifier, datetime.now(UTC))

    trigger = crontab_trigger(settings.digest_cron, settings.timezone)
    grace = int(DIGEST_GRACE.total_seconds())
    scheduler.add_job(digest, trigger, id="digest", name="weekly digest", misfire_grace_time=grace)
    missed = last_fire_time(trigger, now or datetime.now(UTC), DIGEST_GRACE)
    if missed is not None:
        # Started just after the digest's time: post it now, unless another worker did.
        log.info("catching up on the digest of %s", missed.isoformat(timespec="minutes"))
        scheduler.add_job(
            digest,
            DateTrigger(run_date=missed),
            id="digest-catch-up",
            name="weekly digest (catching up)",
            misfire_grace_time=grace,
        )
    scheduler.add_job(
        nudges,
        IntervalTrigger(minutes=NUDGE_EVERY_MINUTES, timezone=settings.timezone),
        id="nudges",
        name="reminders",
        misfire_grace_time=int(NUDGE_GRACE.total_seconds()),
    )

    prober = GitHubProber(parts.github, settings.practice_repo)

    def watch(due: datetime | None = None) -> None:
        # Branches and commits inside forks: what the practice repository's webhook misses.
        # The scheduled time, not the clock: looks set 30 s ahead are due at the next run
        # even when this one started a few milliseconds late.
        stats = run_watch_job(coach, notifier, prober, store, due or datetime.now(UTC))
        if stats.looked:
            log.info(
                "background checks: %d looked, %d unchanged (free), %d moved on",
                stats.looked,
                stats.unchanged,
                stats.moved,
            )

    def reviews(due: datetime | None = None) -> None:
        # Open pull requests: reviews, new commits, merges (without a webhook, or one missed).
        stats = run_review_job(
            services.reviews,
            store,
            notifier,
            prober,
            store,
            settings.practice_repo,
            due or datetime.now(UTC),
        )
        if stats.looked:
            log.info(
                "pull request checks: %d looked, %d unchanged (free), %d learners told",
                stats.looked,
                stats.unchanged,
                stats.told,
            )

    scheduler.add_job(
        reviews,
        IntervalTrigger(seconds=WATCH_EVERY_SECONDS, timezone=settings.timezone),
        id="reviews",
        name="pull request checks",
        misfire_grace_time=WATCH_EVERY_SECONDS,
    )

    def housekeeping(due: datetime | None = None) -> None:
        run_retention(desk, store, datetime.now(UTC))

    scheduler.add_job(
        watch,
        IntervalTrigger(seconds=WATCH_EVERY_SECONDS, timezone=settings.timezone),
        id="watch",
        name="background checks",
        misfire_grace_time=WATCH_EVERY_SECONDS,
    )

    def outbox(due: datetime | None = None) -> None:
        run_outbox_job(notifier, store, datetime.now(UTC))

    scheduler.add_job(
        outbox,
        IntervalTrigger(minutes=1, timezone=settings.timezone),
        id="outbox",
        name="messages to retry",
        misfire_grace_time=60,
    )
    if services.coach.verifier is not None:

        def sign_ins(due: datetime | None = None) -> None:
            # Sign-ins on GitHub nobody polls any more (their web process stopped).
            ended = run_device_flow_job(coach, store, notifier, datetime.now(UTC))
            if ended:
                log.info("GitHub sign-ins: %d ended (polled by the worker)", ended)

        scheduler.add_job(
            sign_ins,
            IntervalTrigger(seconds=SIGN_IN_EVERY_SECONDS, timezone=settings.timezone),
            id="sign-ins",
            name="GitHub sign-ins nobody polls",
            misfire_grace_time=SIGN_IN_EVERY_SECONDS,
        )

    def health(due: datetime | None = None) -> None:
        # What would stop every learner at once, told to the staff before they notice.
        now = datetime.now(UTC)
        expires = None
        if not settings.github_app:  # an app's tokens are renewed by the bot itself
            try:
                expires = token_expiry(parts.github)
            except (GithubException, requests.RequestException) as error:
                log.info("could not read the GitHub token's expiry now (%s)", error)
        problem = practice_repo_problem(parts.github, settings.practice_repo)
        warn_staff(
            services,
            client,
            store.claim_delivery,
            now,
            token_expires=expires,
            repo_problem=problem,
        )

    scheduler.add_job(
        health,
        IntervalTrigger(hours=1, timezone=settings.timezone),
        id="health",
        name="GitHub token and practice repository",
        next_run_time=datetime.now(UTC) + timedelta(seconds=5),
        misfire_grace_time=3600,
    )
    scheduler.add_job(
        housekeeping,
        CronTrigger(hour=3, minute=17, timezone=settings.timezone),
        id="housekeeping",
        name="retention and clean-up",
        misfire_grace_time=3600,
    )


def _check_slack(settings: Settings, client: WebClient) -> None:
    if not settings.slack_bot_token:
        raise ConfigError(
            "SLACK_BOT_TOKEN",
            f"SLACK_BOT_TOKEN is not set. It is {HELP['SLACK_BOT_TOKEN']}.",
        )
    check_token(client)


def run_worker(settings: Settings) -> None:
    """Run the scheduled jobs until SIGTERM or SIGINT."""
    scheduler = make_scheduler(settings)
    stopping = threading.Event()

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("worker stopping (%s): letting a running job finish", signal.Signals(signum).name)
        stopping.set()
        if scheduler.running:
            scheduler.shutdown(wait=False)

    def started(_event: SchedulerEvent) -> None:
        if stopping.is_set():  # the signal came just as the scheduler was starting
            scheduler.shutdown(wait=False)
            return
        log.info(
            "worker started: next digest %s ('%s' in %s), reminders every %d minutes",
            _next_run(scheduler, "digest"),
            settings.digest_cron,
            settings.timezone,
            NUDGE_EVERY_MINUTES,
        )

    # First of all, so that a stop during the start-up (migrations…) is clean too.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    client = make_web_client(settings, wait_when_rate_limited=True)
    _check_slack(settings, client)
    migrate(settings.database_url)
    parts = build(settings)
    if settings.log_level != "DEBUG":
        # "Running job…" every 15 minutes says nothing the jobs' own lines do not.
        logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)
    add_jobs(scheduler, settings, parts, client)
    scheduler.add_listener(started, EVENT_SCHEDULER_START)
    if not settings.staff_channel:
        log.warning("STAFF_CHANNEL is not set: no weekly digest, reminders only")
    # The worker answers recorded requests too: more hands when the web's answerers are busy.
    answerers = Answerers(parts.requests, answering(parts, client)).start()
    try:
        if not stopping.is_set():
            scheduler.start()  # returns once stop() has shut the scheduler down
    finally:
        answerers.stop()
    log.info("worker stopped")


def _next_run(scheduler: BaseScheduler, job_id: str) -> str:
    job = scheduler.get_job(job_id)
    when = job.next_run_time if job else None
    return when.isoformat(timespec="minutes") if when else "never"
