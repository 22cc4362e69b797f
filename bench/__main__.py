"""``python -m bench``: run every benchmark, print the tables, write bench/results.md."""

from __future__ import annotations

import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench import report, watching

BENCHMARKS = {"report": report.run, "watching": watching.run}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
        mem = f"{memory:.0f} GiB RAM"
    except (ValueError, OSError, AttributeError):
        mem = "memory unknown"
    return (
        f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs ({cpu}), {mem}, "
        f"Python {platform.python_version()}"
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
        "Reproduce with `.venv/bin/python -m bench`.",
        "",
    ]
    for name in chosen:
        table = BENCHMARKS[name]()
        print(table, flush=True)
        sections += [table, ""]
    Path(__file__).with_name("results.md").write_text("\n".join(sections))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
