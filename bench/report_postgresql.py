"""The staff report and CSV of ``bench/report.py``, on PostgreSQL when one is available.

The server is the tests' (``TEST_DATABASE_URL=postgresql+psycopg://user@host:port/db``, see
``tests/rig/databases.py``): each size gets a fresh schema, dropped afterwards. The cohorts
are ``report.py``'s (same seed); the measurement is the same, on a given URL.
"""

from __future__ import annotations

from sqlalchemy.exc import OperationalError

from bench.report import REPEATS, SIZES, measure_on
from bot.storage.database import (
    create_database_engine,
    database_url,
)
from tests.rig import databases


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
