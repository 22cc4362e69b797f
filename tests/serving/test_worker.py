"""The worker: ``python -m bot worker`` (the Procfile's ``worker:`` line) and its schedule."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from slack_sdk import WebClient

from bot.cron import crontab_trigger
from bot.errors import ConfigError
from bot.serving.worker import (
    ScheduledTimeExecutor,
    add_jobs,
    last_fire_time,
    make_scheduler,
)
from bot.settings import Settings, load_settings
from bot.storage.database import migrate
from bot.wiring import build
from tests.rig.bot_process import STAFF_CHANNEL, bot_environment, procfile_command
from tests.rig.fake_github import FakeGitHub
from tests.rig.fake_slack import DEFAULT_TEAM_ID, FakeSlack

STOP_BUDGET = 15.0  # seconds from SIGTERM to exit (generous: CI machines are shared)
WEDNESDAY_NOON = datetime(2025, 3, 5, 12, 0, tzinfo=UTC)  # far from the default Monday 9:00


def worker_env(
    fake_slack: FakeSlack, github: FakeGitHub, tmp_path: Path, **overrides: str
) -> dict[str, str]:
    return bot_environment(
        slack_api_url=fake_slack.api_url,
        github_api_url=github.url,
        database_url=f"sqlite:///{tmp_path / 'prcoach.db'}",
        **overrides,
    )


def settings_for(env: dict[str, str]) -> Settings:
    settings = load_settings(env, env_file=None)
    migrate(settings.database_url)
    return settings


def wait_for_line(log: Path, text: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in log.read_text(errors="replace"):
            return
        if process.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"no {text!r} in the worker's log:\n{log.read_text(errors='replace')}")


# -- the process ----------------------------------------------------------------------------


def test_the_procfile_worker_starts_migrates_and_stops_on_sigterm(
    fake_slack: FakeSlack, github_server: FakeGitHub, tmp_path: Path
) -> None:
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            procfile_command("worker"),
            env=worker_env(fake_slack, github_server, tmp_path),
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_line(log, "worker started", process, timeout=30)
        stopping = time.monotonic()
        process.send_signal(signal.SIGTERM)
        returncode = process.wait(timeout=STOP_BUDGET)
        stopped_after = time.monotonic() - stopping
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    text = log.read_text(errors="replace")
    assert returncode == 0, text
    assert stopped_after < STOP_BUDGET
    assert "next digest" in text and "reminders every 15 minutes" in text
    assert "worker stopping (SIGTERM)" in text and "worker stopped" in text
    assert "Traceback" not in text
    assert "xoxb-test" not in text
    assert fake_slack.calls_to("auth.test")  # the token was checked at start
    with sqlite3.connect(tmp_path / "prcoach.db") as database:  # migrated
        tables = {row[0] for row in database.execute("SELECT name FROM sqlite_master")}
    assert {"learners", "processed_deliveries", "alembic_version"} <= tables


def test_the_worker_without_a_bot_token_says_which_setting_and_exits_2(
    fake_slack: FakeSlack, github_server: FakeGitHub, tmp_path: Path
) -> None:
    env = worker_env(fake_slack, github_server, tmp_path, SLACK_BOT_TOKEN="")
    result = subprocess.run(
        procfile_command("worker"),
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_worker_with_a_refused_token_exits_2(
    fake_slack: FakeSlack, github_server: FakeGitHub, tmp_path: Path
) -> None:
    env = worker_env(fake_slack, github_server, tmp_path, SLACK_BOT_TOKEN="xoxb-revoked")
    result = subprocess.run(
        procfile_command("worker"),
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN was refused by Slack" in result.stderr
    assert "xoxb-revoked" not in result.stderr + result.stdout


# -- the schedule ---------------------------------------------------------------------------


def test_each_run_is_given_its_scheduled_time_not_the_clock() -> None:
    scheduler = BackgroundScheduler(
        timezone="Europe/Paris", executors={"default": ScheduledTimeExecutor()}
    )
    seen: list[datetime] = []
    ran = threading.Event()

    def job(due: datetime | None = None) -> None:
        assert due is not None
        seen.append(due)
        ran.set()

    when = (datetime.now(UTC) + timedelta(milliseconds=300)).replace(microsecond=123456)
    added = scheduler.add_job(job, DateTrigger(run_date=when))
    scheduler.start()
    try:
        assert ran.wait(5)
        deadline = time.monotonic() + 5
        while scheduler.get_job(added.id) and time.monotonic() < deadline:
            time.sleep(0.01)  # let the scheduler retire the job before shutting it down
    finally:
        scheduler.shutdown(wait=True)
    assert seen == [when]  # to the microsecond, whenever the thread got to run it


def test_the_digest_follows_digest_cron_in_the_cohorts_time_zone(
    fake_slack: FakeSlack, github_server: FakeGitHub, tmp_path: Path
) -> None:
    env = worker_env(
        fake_slack, github_server, tmp_path, DIGEST_CRON="30 8 * * 2", TIMEZONE="America/Montreal"
    )
    settings = settings_for(env)
    scheduler = make_scheduler(settings, BackgroundScheduler)
    client = WebClient(base_url=fake_slack.api_url)
    add_jobs(scheduler, settings, build(settings), client, now=WEDNESDAY_NOON)
    digest, nudges = scheduler.get_job("digest"), scheduler.get_job("nudges")

    montreal = ZoneInfo("America/Montreal")
    sunday = datetime(2025, 3, 2, 12, 0, tzinfo=montreal)
    tuesday = datetime(2025, 3, 4, 8, 30, tzinfo=montreal)  # cron's 2 is Tuesday
    assert digest.trigger.get_next_fire_time(None, sunday) == tuesday
    assert nudges.trigger.interval == timedelta(minutes=15)


@pytest.mark.parametrize(
    ("weekdays", "expected"),
    [
        ("1", ["Mon"]),  # the default, "0 9 * * 1": Monday (from_crontab alone says Tuesday)
        ("0", ["Sun"]),
        ("7", ["Sun"]),
        ("1-5", ["Mon", "Tue", "Wed", "Thu", "Fri"]),
        ("*/2", ["Sun", "Tue", "Thu", "Sat"]),
        ("0,6", ["Sun", "Sat"]),
        ("fri-sun", ["Fri", "Sat", "Sun"]),
        ("MON", ["Mon"]),
        ("*", ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]),
    ],
)
def test_cron_days_of_the_week_count_from_sunday(weekdays: str, expected: list[str]) -> None:
    trigger = crontab_trigger(f"0 9 * * {weekdays}", "Europe/Paris")
    moment, days = datetime(2025, 3, 1, 12, 0, tzinfo=ZoneInfo("Europe/Paris")), []  # Saturday
    for _ in range(7):
        moment = trigger.get_next_fire_time(None, moment + timedelta(minutes=1))
        assert (moment.hour, moment.minute) == (9, 0)
        days.append(f"{moment:%a}")
    assert sorted(set(days), key=days.index) == sorted(expected, key=days.index)


def test_a_cron_line_apscheduler_accepts_but_cron_would_not_is_refused() -> None:
    with pytest.raises(ConfigError, match="DIGEST_CRON is '0 9 \\* \\* 5-2'"):
        crontab_trigger("0 9 * * 5-2", "Europe/Paris")


def test_two_workers_firing_the_same_digest_post_it_once(
    fake_slack: FakeSlack, github_server: FakeGitHub, tmp_path: Path
) -> None:
    settings = settings_for(worker_env(fake_slack, github_server, tmp_path))
    first, second = build(settings), build(settings)  # two processes' worth of services
    first.store.enroll(DEFAULT_TEAM_ID, "UWK00001", "en", first.services.desk.course.first.id)
    client = WebClient(base_url=fake_slack.api_url, token="xoxb-test")
    schedulers = []
    for parts in (first, second):
        scheduler = make_scheduler(settings, BackgroundScheduler)
        add_jobs(scheduler, settings, parts, client, now=WEDNESDAY_NOON)  # nothing to catch up
        schedulers.append(scheduler)
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    try:
        for scheduler in schedulers:
            scheduler.start()
            scheduler.modify_job("digest", next_run_time=due)
        fake_slack.wait_for(
            lambda c: (
                c.method == "files.completeUploadExternal"
                and c.params.get("channel_id") == STAFF_CHANNEL
            ),
            timeout=10,
        )
        time.sleep(0.5)  # room for a second post, if there were one
    finally:
        for scheduler in schedulers:
            scheduler.shutdown(wait=True)

    posts = [m for m in fake_slack.messages(STAFF_CHANNEL) if m.via == "chat.postMessage"]
    assert len(posts) == 1 and posts[0].text.startswith("PR Coach weekly digest")
    assert len([u for u in fake_slack.uploads if u.channel == STAFF_CHANNEL]) == 1
    # Claimed under the scheduled time itself.
    assert not first.store.claim_delivery(f"job:digest:{due.isoformat()}")


def test_a_worker_started_just_after_the_digests_time_posts_it_once(
    fake_slack: FakeSlack, github_server: FakeGitHub, tmp_path: Path
) -> None:
    # A deploy restarts both workers five minutes after the digest's time.
    paris = ZoneInfo("Europe/Paris")
    due = (datetime.now(paris) - timedelta(minutes=5)).replace(second=0, microsecond=0)
    env = worker_env(fake_slack, github_server, tmp_path, DIGEST_CRON=f"{due:%M %H} * * *")
    settings = settings_for(env)
    first, second = build(settings), build(settings)
    first.store.enroll(DEFAULT_TEAM_ID, "UWK00002", "fr", first.services.desk.course.first.id)
    client = WebClient(base_url=fake_slack.api_url, token="xoxb-test")
    schedulers = []
    try:
        for parts in (first, second):
            scheduler = make_scheduler(settings, BackgroundScheduler)
            add_jobs(scheduler, settings, parts, client)
            scheduler.start()
            schedulers.append(scheduler)
        fake_slack.wait_for(
            lambda c: (
                c.method == "files.completeUploadExternal"
                and c.params.get("channel_id") == STAFF_CHANNEL
            ),
            timeout=10,
        )
        time.sleep(0.5)  # room for a second post, if there were one
    finally:
        for scheduler in schedulers:
            scheduler.shutdown(wait=True)

    posts = [m for m in fake_slack.messages(STAFF_CHANNEL) if m.via == "chat.postMessage"]
    assert len(posts) == 1
    assert not first.store.claim_delivery(f"job:digest:{due.astimezone(UTC).isoformat()}")


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2025, 3, 3, 9, 0), datetime(2025, 3, 3, 9, 0)),  # Monday, right on time
        (datetime(2025, 3, 3, 9, 59), datetime(2025, 3, 3, 9, 0)),
        (datetime(2025, 3, 3, 10, 1), None),  # too late: next week's it is
        (datetime(2025, 3, 3, 8, 59), None),
        (datetime(2025, 3, 4, 9, 30), None),  # Tuesday
    ],
)
def test_only_a_digest_missed_by_less_than_an_hour_is_caught_up(
    now: datetime, expected: datetime | None
) -> None:
    paris = ZoneInfo("Europe/Paris")
    trigger = crontab_trigger("0 9 * * 1", "Europe/Paris")
    found = last_fire_time(trigger, now.replace(tzinfo=paris), timedelta(hours=1))
    assert found == (expected.replace(tzinfo=paris) if expected else None)


def test_ctrl_c_stops_the_worker_cleanly_too(
    fake_slack: FakeSlack, github_server: FakeGitHub, tmp_path: Path
) -> None:
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            procfile_command("worker"),
            env=worker_env(fake_slack, github_server, tmp_path),
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_line(log, "worker started", process, timeout=30)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=STOP_BUDGET) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "worker stopped" in log.read_text(errors="replace")
