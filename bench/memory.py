"""Peak resident memory (``VmHWM`` in ``/proc/<pid>/status``) of the bot's processes.

* Web: each gunicorn worker (the children of the master started from the Procfile's
  ``web:`` line) just after start, and after each load run of the acknowledgement
  benchmark (the same runs: run alone, this benchmark runs them first).
* Worker: ``python -m bot worker`` (the Procfile's ``worker:`` line) after it has posted the
  weekly digest with its chart and run the background checks twice (the delivery
  benchmark's run). Its other jobs (reminders every 15 minutes, the nightly clean-up) do not
  come round within a benchmark.
"""

from __future__ import annotations

from bench import ack, delivery

TARGET_MB = 150


def mb(kib: int) -> float:
    return kib * 1024 / 1e6


def run() -> str:
    runs = ack.load_runs()
    _webhook, worker = delivery.measurements()
    lines = [
        "### Peak memory (RSS high-water mark, VmHWM)",
        "",
        "| process | when | peak RSS (MB), largest worker | at start (MB) |",
        "|---|---|---:|---:|",
    ]
    worst_prcoach = 0.0
    for each in runs:
        s = each.scenario
        if not each.peak_kib:
            continue
        request = "`/prcoach check`" if s.kind == "command" else "Check button"
        github = f", GitHub slow ({s.github_delay:g} s)" if s.github_delay else ""
        peak = mb(max(each.peak_kib))
        if s.app == "prcoach":
            worst_prcoach = max(worst_prcoach, peak)
        lines.append(
            f"| web worker: {s.label.split(',')[0]} | after {ack.SECONDS:g} s of {request} "
            f"load{github} | {peak:.0f} | {mb(max(each.start_kib)):.0f} |"
        )
    lines.append(
        f"| `python -m bot worker` | after the digest (with its chart) and "
        f"{delivery.WATCHED_LEARNERS} learners' background checks, "
        f"{worker.uptime:.0f} s after start | {mb(worker.peak_kib):.0f} | — |"
    )
    lines += [
        "",
        f"PR Coach's web workers peak at {worst_prcoach:.0f} MB after the load runs "
        f"(target < {TARGET_MB} MB); the worker at {mb(worker.peak_kib):.0f} MB.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
