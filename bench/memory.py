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
        request = ack.request_name(s.kind)
        github = f", GitHub slow ({s.github_delay:g} s)" if s.github_delay else ""
        peak = mb(max(each.peak_kib))
        if s.app == "prcoach":
            worst_prcoach = max(worst_prcoach, peak)
        lines.append(
            f"| web worker: {s.label} | after {ack.SECONDS:g} s of {request}, "
            f"{ack.load_name(s.pace)}{github} | {peak:.0f} | {mb(max(each.start_kib)):.0f} |"
        )
    lines.append(
        f"| `python -m bot worker` | after the digest (with its chart) and "
        f"{delivery.WATCHED_LEARNERS} learners' background checks, "
        f"{worker.uptime:.0f} s after start | {mb(worker.peak_kib):.0f} | — |"
    )
    lines += [
        "",
        f"PR Coach's web workers peak at {worst_prcoach:.0f} MB after the load runs "
        f"(target < {TARGET_MB} MB); the worker at {mb(worker.peak_kib):.0f} MB, its digest's "
        "chart drawn (Pillow, imported only when drawing; `python -m bench footprint`).",
    ]
    worst = max(
        (r for r in runs if r.scenario.app == "prcoach" and r.peak_kib),
        key=lambda r: max(r.peak_kib),
        default=None,
    )
    if worst is not None and worst_prcoach >= TARGET_MB:
        s = worst.scenario
        queued = worst.throughput * (ack.SECONDS + ack.WARMUP) - worst.answers
        grown = mb(max(worst.peak_kib)) - mb(max(worst.start_kib))
        lines += [
            "",
            f"Why: in the run that peaks ({ack.load_name(s.pace)}, "
            f"{ack.request_name(s.kind)}"
            f"{', GitHub slow' if s.github_delay else ''}), PR Coach acknowledged about "
            f"{worst.throughput * (ack.SECONDS + ack.WARMUP):,.0f} checks and answered "
            f"{worst.answers:,}: some {queued:,.0f} waited in Bolt's listener queue, which "
            "has no bound, each holding a copy of its request — about "
            f"{2 * grown * 1000 / max(queued, 1):.0f} kB each (half of them per worker). "
            "What would close it: bound the queue — a `listener_executor` that refuses work "
            'beyond a few hundred waiting checks, and an ack that then says "busy, try '
            'again in a minute" — or move the checks out of the web process (see above).',
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
