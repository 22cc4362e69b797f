"""Staff report and CSV built from the database for 100, 1,000 and 10,000 learners.

Measures wall time and the number of SQL statements: it must not grow with the number of
learners (no query per learner). The workload is deterministic (a fixed seed).
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import event, insert

from bot.course.course import load_course
from bot.course.messages import load_messages
from bot.course.staff import StaffDesk
from bot.slack.views.staff import StaffViews
from bot.storage.database import create_database_engine, migrate, session_factory
from bot.storage.models import LearnerRow, StepEventRow
from bot.storage.store import SqlLearnerStore

SIZES = (100, 1_000, 10_000)
REPEATS = 5


@dataclass(frozen=True)
class Row:
    learners: int
    events: int
    report_ms: float
    csv_ms: float
    render_ms: float
    queries_report: int
    queries_csv: int


def seed(url: str, count: int, rng: random.Random) -> int:
    course = load_course()
    steps = [s.id for s in course.steps]
    now = datetime.now(UTC)
    learners, events = [], []
    for n in range(1, count + 1):
        position = rng.randrange(len(steps) + 1)  # len(steps): finished
        started = now - timedelta(hours=rng.randrange(1, 24 * 10))
        learners.append(
            {
                "id": n,
                "team_id": "T1",
                "slack_user_id": f"U{n:07d}",
                "language": "fr",
                "tool": "web",
                "current_step": steps[min(position, len(steps) - 1)],
                "facts": {},
                "cohort": f"promo-{n % 3}",
                "created_at": started,
                "step_started_at": started,
                "last_activity_at": started,
                "finished_at": started if position == len(steps) else None,
                "github_login": f"gh-{n}" if position else None,
                "name": f"Personne {n} é",
                "paused": False,
                "version": 1,
            }
        )
        for index in range(position):
            for outcome in ("not_yet", "done"):  # a "not yet" before each success
                events.append(
                    {
                        "learner_id": n,
                        "step_id": steps[index],
                        "outcome": outcome,
                        "diagnosis": None,
                        "facts": {},
                        "source": "bench",
                        "created_at": started - timedelta(hours=len(steps) - index),
                    }
                )
    engine = create_database_engine(url)
    with engine.begin() as connection:
        connection.execute(insert(LearnerRow), learners)
        if events:
            connection.execute(insert(StepEventRow), events)
    engine.dispose()
    return len(events)


def measure(count: int) -> Row:
    """On a fresh SQLite file."""
    with tempfile.TemporaryDirectory() as folder:
        return measure_on(f"sqlite:///{Path(folder) / 'bench.db'}", count)


def measure_on(url: str, count: int) -> Row:
    """Seed ``count`` learners into an empty database at ``url``, then time the report."""
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
    rows = [measure(size) for size in SIZES]
    lines = [
        "### Staff report and CSV from SQLite (median of 5)",
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
