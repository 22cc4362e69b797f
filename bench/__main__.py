"""``python -m bench``: run every benchmark, print the tables, write bench/results.md."""

from __future__ import annotations

import os
import platform
import re
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from bench import (
    ack,
    checks,
    delivery,
    footprint,
    hardening,
    journey,
    memory,
    picture,
    report,
    report_postgresql,
    targets,
    watching,
)

# In the order: speed (acknowledgements, then messages), GitHub thrift, the staff's
# report, memory. ``memory`` reads the peaks of the ``ack`` and ``delivery`` runs (and runs
# them itself when asked alone).
BENCHMARKS = {
    "ack": ack.run,
    "checks": checks.run,
    "delivery": delivery.run,
    "journey": journey.run,
    "watching": watching.run,
    "report": report.run,
    "report-postgresql": report_postgresql.run,
    "memory": memory.run,
    "picture": picture.run,
    "footprint": footprint.run,
    "hardening": hardening.run,
}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    cpu = _cpu_model()
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
        mem = f"{memory:.0f} GiB RAM"
    except (ValueError, OSError, AttributeError):
        mem = "memory unknown"
    return (
        f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs ({cpu}), {mem}, "
        f"Python {platform.python_version()}; load average at start "
        f"{' / '.join(f'{x:.1f}' for x in os.getloadavg())} (1 / 5 / 15 min)"
    )


def main(argv: list[str]) -> int:
    chosen = argv or list(BENCHMARKS)
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark {unknown}; choose from {list(BENCHMARKS)}", file=sys.stderr)
        return 2
    sections = [
        "# PR Coach benchmarks",
        "",
        f"Run on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {machine()}.",
        "Reproduce with `.venv/bin/python -m bench` (one benchmark: `python -m bench NAME`; "
        "PostgreSQL with `TEST_DATABASE_URL=postgresql+psycopg://…`, as for the tests).",
        "",
    ]
    header = list(sections)
    tables = {}
    failed = []
    started = time.monotonic()
    for name in chosen:
        began = time.monotonic()
        try:
            table = tables[name] = BENCHMARKS[name]()
        except Exception as error:  # one broken benchmark must not lose the others' figures
            traceback.print_exc()
            failed.append(name)
            table = f"### {name}\n\nFailed: {type(error).__name__}: {error}"
        print(table, flush=True)
        print(f"({name}: {time.monotonic() - began:.0f} s)\n", file=sys.stderr, flush=True)
        sections += [table, ""]
    summary = targets.summary(tables)
    print(summary)
    results = Path(__file__).with_name("results.md")
    if argv:
        names = ", ".join(chosen)
        header[2] = header[2].replace(
            "Run on", f"Last run ({names}; the other sections are from earlier runs) on", 1
        )
        # Some benchmarks only: their sections replace the same ones in results.md; the
        # others (and their notes) stay as they were.
        previous = results.read_text() if results.exists() else ""
        results.write_text(merge_sections(previous, header, [*tables.values(), summary]))
    else:
        sections += [summary, "", f"The suite took {time.monotonic() - started:.0f} s.", ""]
        results.write_text("\n".join(sections))
    return 1 if failed else 0


def merge_sections(previous: str, header: list[str], tables: list[str]) -> str:
    """``previous`` with the header replaced and each of ``tables`` in place of the section
    with the same ``### `` title (new ones first); a "no target" summary replaces nothing."""
    parts = re.split(r"(?m)^(?=### )", previous)
    kept = parts[1:]
    fresh: list[str] = []
    for table in tables:
        title = table.splitlines()[0]
        if "No target among" in table:
            continue
        at = next((i for i, part in enumerate(kept) if part.splitlines()[0] == title), None)
        if at is None:
            fresh.append(table.rstrip() + "\n\n")
        else:
            kept[at] = table.rstrip() + "\n\n"
    return "\n".join(header).rstrip() + "\n\n" + "".join(fresh + kept).rstrip() + "\n"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
