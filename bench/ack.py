"""Acknowledgement latency under load: ``/prcoach check`` and the Check button.

20 clients (threads of this process, each with one keep-alive connection) send Slack-signed
requests for 20 seconds, after 3 seconds of warm-up, to:

* a minimal Bolt app, one listener that only acknowledges (``bench/serve.py``), served by
  the same gunicorn with the same options: the floor that Bolt and the server set;
* PR Coach, started from the Procfile's ``web:`` line, its 20 learners linked and at the
  fork step, so that every check asks GitHub (and answers "not yet": the same work each
  time), with the fake GitHub answering at once, then after 2 s each time.

Two loads, each in the same run for both apps: **back to back** (each client sends its next
request as soon as the last is acknowledged: as much load as the machine takes), and
**paced** (each client sends one request a second, 20 a second in all — more than a cohort
of hundreds clicking at once; each latency is counted from the request's planned time, so
that a late send counts as waiting).

The fake GitHub and fake Slack run in a process of their own (``rig.FakesProcess``): in this
process they would share the load generator's GIL and slow its measurements of PR Coach
only. They still share the machine's CPUs with the bot, as do the generator's threads, for
every app alike. Every scenario starts a fresh server (its backlog of checks would otherwise
spill into the next one) with ``WEB_CONCURRENCY=2``.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import http.client
import math
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from bench.rig import (
    FakesProcess,
    Server,
    bench_command,
    cpu_seconds,
    memory_kib,
    percentile,
    seed_learners,
)
from tests.rig.bot_process import REPO_ROOT, SIGNING_SECRET, bot_environment, procfile_command
from tests.rig.fake_slack import dm_channel_id
from tests.rig.slack_sender import FORM, SlackSender, _json_text

CLIENTS = 20
SECONDS = 20.0
WARMUP = 3.0
SLOW_GITHUB = 2.0
PACE = 1.0  # requests a second per client, in the paced load


@dataclass(frozen=True)
class Scenario:
    label: str
    app: str  # "prcoach" (the Procfile's web: line), "bare" or "bare-lazy" (bench/serve.py)
    kind: str  # "command" or "button"
    github_delay: float = 0.0
    pace: float | None = None  # requests a second per client; None: back to back


@dataclass
class Run:
    scenario: Scenario
    latencies: list[float]  # seconds, of the acknowledged (HTTP 200) requests
    failed: Counter[str]  # what the others got: an HTTP status, or an error's name
    seconds: float
    peak_kib: list[int] = field(default_factory=list)  # VmHWM of each web worker
    start_kib: list[int] = field(default_factory=list)  # VmRSS of each, before the load
    github_requests: int = 0  # served by the fake GitHub during the run (the checks' work)
    answers: int = 0  # messages the bot posted to the fake Slack during the run
    web_cpu: float = 0.0  # CPU seconds the web workers used during the run
    fakes_cpu: float = 0.0  # and the fakes' process

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds

    def p(self, share: float) -> float:
        return percentile(self.latencies, share) * 1000


LAZY_FLOOR = "bare Bolt app + no-op `lazy=`"
SCENARIOS = (
    Scenario("bare Bolt app", "bare", "command"),
    Scenario(LAZY_FLOOR, "bare-lazy", "command"),
    Scenario("PR Coach", "prcoach", "command"),
    Scenario("PR Coach", "prcoach", "command", SLOW_GITHUB),
    Scenario("bare Bolt app", "bare", "button"),
    Scenario("PR Coach", "prcoach", "button"),
    Scenario("PR Coach", "prcoach", "button", SLOW_GITHUB),
    Scenario("bare Bolt app", "bare", "command", pace=PACE),
    Scenario(LAZY_FLOOR, "bare-lazy", "command", pace=PACE),
    Scenario("PR Coach", "prcoach", "command", pace=PACE),
    Scenario("PR Coach", "prcoach", "command", SLOW_GITHUB, pace=PACE),
)


def people() -> list[tuple[str, str]]:
    return [(f"UBENCH{n:04d}", f"bench-{n:02d}") for n in range(CLIENTS)]


# Each command typed and each click has its own trigger_id, and PR Coach acts once per
# trigger_id (a replay does nothing): every request gets a new one in place of this.
TRIGGER = b"BENCHTRIGGERID"


def bodies(sender: SlackSender, kind: str, slack_base: str) -> list[tuple[bytes, str]]:
    """One request body per client: its learner's command, or its Check button click."""
    made = []
    for n, (user_id, _login) in enumerate(people()):
        response_url = f"{slack_base}/response/bench-{kind}-{n}"
        if kind == "command":
            fields = sender.command_body(
                "check",
                user_id=user_id,
                channel_id=dm_channel_id(user_id),
                response_url=response_url,
                trigger_id=TRIGGER.decode(),
            )
            made.append((urlencode(fields).encode(), FORM))
        else:
            payload = sender.action_payload(
                "prcoach_check", user_id=user_id, response_url=response_url
            )
            payload["trigger_id"] = TRIGGER.decode()
            made.append((urlencode({"payload": _json_text(payload)}).encode(), FORM))
    return made


def _sign(body: bytes) -> dict[str, str]:
    stamp = str(int(time.time()))
    digest = hmac.new(
        SIGNING_SECRET.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256
    ).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}


def generate(
    port: int, requests: list[tuple[bytes, str]], pace: float | None
) -> tuple[list[float], Counter[str]]:
    """The clients, for WARMUP + SECONDS: the measured window's latencies, and what the
    requests that were not acknowledged got instead (an HTTP status, or an error)."""
    begin = time.perf_counter() + 0.2
    measure_from, stop_at = begin + WARMUP, begin + WARMUP + SECONDS
    latencies: list[list[float]] = [[] for _ in requests]
    failures: list[Counter[str]] = [Counter() for _ in requests]

    def client(n: int) -> None:
        body, content_type = requests[n]
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        planned = begin + (n / (len(requests) * pace) if pace else 0.0)  # staggered
        sent = 0
        while True:
            time.sleep(max(0.0, planned - time.perf_counter()))
            started = planned if pace else time.perf_counter()
            if started >= stop_at:
                break
            sent += 1
            fresh = body.replace(TRIGGER, f"{n}.{sent}.{time.time_ns()}".encode())
            headers = {"Content-Type": content_type, **_sign(fresh)}
            try:
                connection.request("POST", "/slack/events", fresh, headers)
                answer = connection.getresponse()
                answer.read()
                outcome = str(answer.status)
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                outcome = type(error).__name__
            if started >= measure_from:
                if outcome == "200":
                    latencies[n].append(time.perf_counter() - started)
                else:
                    failures[n][outcome] += 1
            if pace:
                planned += 1 / pace
        connection.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [x for each in latencies for x in each], sum(failures, Counter())


def run_scenario(fakes: FakesProcess, scenario: Scenario) -> Run:
    users = [user for user, _ in people()]
    logins = [login for _, login in people()]
    github_ids = fakes.call("setup", logins, users)
    fakes.call("github_delay", scenario.github_delay)
    with tempfile.TemporaryDirectory(prefix="bench-ack-") as folder:
        workdir = Path(folder)
        url = f"sqlite:///{workdir / 'ack.db'}"
        env = bot_environment(
            slack_api_url=fakes.slack_api_url, github_api_url=fakes.github_url, database_url=url
        )
        env["WEB_CONCURRENCY"] = "2"
        if scenario.app.startswith("bare"):
            command = bench_command("bench.serve", scenario.app)
            env["PYTHONPATH"] = str(REPO_ROOT)  # bench/ is not installed; bot/ is
        else:
            seed_learners(url, people(), "fork", github_ids)
            command = procfile_command("web")
        server = Server(command, env, workdir, name=scenario.app).start()
        try:
            workers = server.workers()
            start_kib = [memory_kib(pid)["VmRSS"] for pid in workers]
            cpu_before = sum(cpu_seconds(pid) for pid in workers)
            fakes.call("reset_traffic")
            sender = SlackSender(server.url, SIGNING_SECRET)
            latencies, failed = generate(
                server.port, bodies(sender, scenario.kind, fakes.slack_base_url), scenario.pace
            )
            peak_kib = [memory_kib(pid)["VmHWM"] for pid in workers]
            web_cpu = sum(cpu_seconds(pid) for pid in workers) - cpu_before
            github_requests, answers, fakes_cpu = fakes.call("traffic")
        finally:
            server.stop(grace=1.0)
    return Run(
        scenario,
        latencies,
        failed,
        SECONDS,
        peak_kib,
        start_kib,
        github_requests,
        answers,
        web_cpu,
        fakes_cpu,
    )


@functools.cache
def load_runs() -> tuple[Run, ...]:
    """Every scenario once (cached: the memory benchmark reads the same runs)."""
    with FakesProcess() as fakes:
        return tuple(run_scenario(fakes, scenario) for scenario in SCENARIOS)


def find(
    runs: tuple[Run, ...], app: str, kind: str, delay: float, pace: float | None = None
) -> Run | None:
    for each in runs:
        s = each.scenario
        if (s.app, s.kind, s.github_delay, s.pace) == (app, kind, delay, pace):
            return each
    return None


def p99_ratio(numerator: Run | None, denominator: Run | None) -> float | None:
    """``numerator``'s p99 over ``denominator``'s; infinite when nothing was acknowledged."""
    if numerator is None or denominator is None or not denominator.latencies:
        return None
    if not numerator.latencies:
        return math.inf
    return numerator.p(0.99) / denominator.p(0.99)


def ratio(numerator: Run | None, denominator: Run | None) -> str:
    value = p99_ratio(numerator, denominator)
    if value is None:
        return "—"
    return "∞ (nothing acknowledged)" if math.isinf(value) else f"{value:.2f}×"


def request_name(kind: str) -> str:
    return "`/prcoach check`" if kind == "command" else "Check button"


def load_name(pace: float | None) -> str:
    return f"paced, {CLIENTS * pace:g}/s" if pace else "back to back"


def _failures(each: Run) -> str:
    if not each.failed:
        return "0"
    kinds = ", ".join(f"{count} × {what}" for what, count in each.failed.most_common())
    return f"{sum(each.failed.values())} ({kinds})"


def run() -> str:
    runs = load_runs()
    lines = [
        f"### Acknowledgement latency: {CLIENTS} concurrent clients for {SECONDS:g} s",
        "",
        f"Signed requests after {WARMUP:g} s of warm-up; gunicorn as in the Procfile "
        "(WEB_CONCURRENCY=2, gthread, 32 threads, one request per connection). "
        "*Answers*: the messages PR Coach posted "
        "(its checks' results) during the run; *CPU s*: seconds used by the web workers / "
        "by the fakes' process.",
        "",
        "| load | app | request | fake GitHub answers | p50 (ms) | p95 (ms) | p99 (ms) "
        "| acks/s | not acknowledged | answers | CPU s | p99 ÷ bare Bolt's |",
        "|---|---|---|---|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for each in runs:
        s = each.scenario
        bare = find(runs, "bare", s.kind, 0.0, s.pace)
        shown = (
            f"{each.p(0.5):.1f} | {each.p(0.95):.1f} | {each.p(0.99):.1f}"
            if each.latencies
            else "— | — | —"
        )
        delay = f"after {s.github_delay:g} s" if s.github_delay else "at once"
        lines.append(
            f"| {load_name(s.pace)} | {s.label} | {request_name(s.kind)} | {delay} | {shown} "
            f"| {each.throughput:.0f} | {_failures(each)} | {each.answers:,} "
            f"| {each.web_cpu:.0f} / {each.fakes_cpu:.0f} "
            f"| {'—' if s.app == 'bare' else ratio(each, bare)} |"
        )
    lines += ["", *notes(runs)]
    return "\n".join(lines)


def notes(runs: tuple[Run, ...]) -> list[str]:
    said = []
    over = False
    for kind, pace in (("command", None), ("button", None), ("command", PACE)):
        bare = find(runs, "bare", kind, 0.0, pace)
        fast = find(runs, "prcoach", kind, 0.0, pace)
        slow = find(runs, "prcoach", kind, SLOW_GITHUB, pace)
        if not (bare and fast and slow):
            continue
        over |= (p99_ratio(fast, bare) or 0) > 1.2
        floor = find(runs, "bare-lazy", kind, 0.0, pace)
        said.append(
            f"* {request_name(kind)}, {load_name(pace)}: PR Coach's p99 ÷ the bare Bolt "
            f"app's = {ratio(fast, bare)} (target ≤ 1.2×); with GitHub slow ÷ with GitHub "
            f"fast = {ratio(slow, fast)} (target: unchanged)."
            + (
                f" The bare app with a `lazy=` listener that does nothing is already "
                f"{ratio(floor, bare)} the bare app's; PR Coach is {ratio(fast, floor)} it."
                if floor
                else ""
            )
        )
    refused = [r for r in runs if r.scenario.app == "prcoach" and r.failed]
    if refused:
        said.append(
            "* Not acknowledged: Bolt answers 404 when a listener has not called `ack()` "
            "within 3 s. That happens when the ack itself waits behind the checks: with "
            "`process_before_response=False`, Bolt runs the acknowledging listener on the "
            "same pool as the `lazy=` listeners (the checks, which wait on GitHub)."
        )
    fast = find(runs, "prcoach", "command", 0.0)
    bare = find(runs, "bare", "command", 0.0)
    floors = [
        f"{ratio(floor, find(runs, 'bare', 'command', 0.0, pace))} {load_name(pace)}"
        for pace in (None, PACE)
        if (floor := find(runs, "bare-lazy", "command", 0.0, pace))
    ]
    if over and fast and bare:
        acked = fast.throughput * (SECONDS + WARMUP)
        said.append(
            "* Why the gap: first, Bolt's own price for `lazy=` listeners, which PR Coach "
            "needs in order to answer before it works (Bolt copies each request for the "
            "lazy listener in the request's thread, then runs it on its pool): "
            + (" and ".join(floors) if floors else "not measured")
            + " (p99 ÷ the bare app's) with a `lazy=` listener that does nothing. Then the "
            "checks' work: every "
            "acknowledged check queues work in the same processes — "
            "GitHub's and Slack's calls, the database, the rendering — whose threads take "
            "the CPUs and the GIL from the request threads. Back to back, PR Coach "
            f"acknowledges {fast.throughput:.0f} checks a second (the bare app "
            f"{bare.throughput:.0f}) but answers only {fast.answers:,} of about "
            f"{acked:,.0f} during the run: the rest wait in Bolt's queue. The paced rows "
            "show the ack when the checks keep up. What would close the gap under "
            "saturation: run the checks outside the web processes (the worker, fed through "
            "the database), so that a web process only verifies, acknowledges and records; "
            "and bound the queue (memory, below)."
        )
    return said


if __name__ == "__main__":
    print(run())
