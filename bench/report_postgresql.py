"""The staff report and CSV of ``bench/report.py``, on PostgreSQL when one is available.

The server is the tests' (``TEST_DATABASE_URL=postgresql+psycopg://user@host:port/db``, see
``tests/rig/databases.py``): each size gets a fresh schema, dropped afterwards. The cohorts
are ``report.py``'s (same seed); the measurement is the same, on a given URL.
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import timedelta

from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from bench.report import REPEATS, SIZES, Row, seed
from bot.course.course import load_course
from bot.course.messages import load_messages
from bot.course.staff import StaffDesk
from bot.slack.views.staff import StaffViews
from bot.storage.database import (
    create_database_engine,
    database_url,
    migrate,
    session_factory,
)
from bot.storage.store import SqlLearnerStore
from tests.rig import databases


def measure_on(url: str, count: int) -> Row:
    migrate(url)
    events = seed(url, count, random.Random(count))
    engine = create_database_engine(url)
    statements = 0

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_args: object) -> None:
        nonlocal statements
        statements += 1

    desk = StaffDesk(
        load_course(),
        SqlLearnerStore(session_factory(engine)),
        stuck_after=timedelta(days=3),
        nudge_after=timedelta(days=2),
        timezone="Europe/Paris",
    )
    views = StaffViews(load_messages(), "https://github.com", "Europe/Paris")
    report_times, csv_times, render_times = [], [], []
    queries_report = queries_csv = 0
    for _ in range(REPEATS):
        statements = 0
        started = time.perf_counter()
        report = desk.report()
        report_times.append(time.perf_counter() - started)
        queries_report = statements
        started = time.perf_counter()
        views.report(report, "fr", 3)
        render_times.append(time.perf_counter() - started)
        statements = 0
        started = time.perf_counter()
        desk.csv()
        csv_times.append(time.perf_counter() - started)
        queries_csv = statements
    engine.dispose()
    return Row(
        count,
        events,
        statistics.median(report_times) * 1000,
        statistics.median(csv_times) * 1000,
        statistics.median(render_times) * 1000,
        queries_report,
        queries_csv,
    )


def run() -> str:
    title = f"### Staff report and CSV from PostgreSQL (median of {REPEATS})"
    if not databases.TEST_DATABASE_URL:
        return "\n".join(
            [
                title,
                "",
                "Not measured: no PostgreSQL. Set `TEST_DATABASE_URL=postgresql+psycopg://"
                "user@host:port/db` (as for the tests) and run "
                "`python -m bench report-postgresql`.",
            ]
        )
    server = database_url(databases.TEST_DATABASE_URL).render_as_string(hide_password=True)
    try:
        engine = create_database_engine(databases.TEST_DATABASE_URL)
        with engine.connect():
            pass
        engine.dispose()
    except OperationalError as error:
        reason = str(error.orig or error).splitlines()[0]
        return f"{title}\n\nNot measured: PostgreSQL at `{server}` does not answer ({reason})."
    rows = []
    for size in SIZES:
        with databases.postgresql_schema(f"bench_report_{size}") as url:
            rows.append(measure_on(url, size))
    lines = [
        title,
        "",
        f"Server: PostgreSQL at `{server}`.",
        "",
        "| learners | step events | report (ms) | Slack blocks (ms) | CSV (ms) "
        "| SQL statements, report | SQL statements, CSV |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row.learners:,} | {row.events:,} | {row.report_ms:.1f} | {row.render_ms:.1f} "
            f"| {row.csv_ms:.1f} | {row.queries_report} | {row.queries_csv} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
