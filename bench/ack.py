"""Acknowledgement latency under load: ``/prcoach check`` and the Check button.

20 clients (threads of this process, each with one keep-alive connection) send Slack-signed
requests back to back for 20 seconds, after 3 seconds of warm-up; each request is timed from
just before it is sent to the end of the answer. The same load goes, in the same run, to:

* a minimal Bolt app, one listener that only acknowledges (``bench/serve.py``), served by
  the same gunicorn with the same options: the floor Bolt and the server set;
* PR Coach, started from the Procfile's ``web:`` line, its 20 learners linked and at the
  fork step, so that every check asks GitHub (and answers "not yet": the same work each
  time), with the fake GitHub answering at once, then after 2 s each time;
* PR Coach with Bolt's ``process_before_response=True`` (``bench/serve.py``'s
  ``ack-first``): what the figures become if the ack stops sharing Bolt's listener pool
  with the background work (the fix proposed when PR Coach misses its target).

The fake GitHub and fake Slack run in a process of their own (``rig.FakesProcess``): in this
process they would share the load generator's GIL and slow its clock-reading for PR Coach
only. They still share the machine's CPUs with the bot, as do the generator's threads, for
every app alike. Every scenario starts a fresh server (its backlog of background work would
otherwise spill into the next one) with ``WEB_CONCURRENCY=2``.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import http.client
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from bench.rig import FakesProcess, Server, bench_command, memory_kib, percentile, seed_learners
from tests.rig.bot_process import SIGNING_SECRET, bot_environment, procfile_command
from tests.rig.fake_slack import dm_channel_id
from tests.rig.slack_sender import FORM, SlackSender, _json_text

CLIENTS = 20
SECONDS = 20.0
WARMUP = 3.0
SLOW_GITHUB = 2.0


@dataclass(frozen=True)
class Scenario:
    label: str
    app: str  # "prcoach" (the Procfile), or a bench.serve app: "bare", "ack-first"
    kind: str  # "command" or "button"
    github_delay: float = 0.0


@dataclass
class Run:
    scenario: Scenario
    latencies: list[float]  # seconds, of the acknowledged (HTTP 200) requests
    failed: int  # not 200, or no answer
    seconds: float
    peak_kib: list[int] = field(default_factory=list)  # VmHWM of each web worker
    start_kib: list[int] = field(default_factory=list)  # VmRSS of each, before the load
    github_requests: int = 0  # served by the fake GitHub during the run (background work)

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds

    def p(self, share: float) -> float:
        return percentile(self.latencies, share) * 1000


SCENARIOS = (
    Scenario("bare Bolt app", "bare", "command"),
    Scenario("PR Coach", "prcoach", "command"),
    Scenario("PR Coach, GitHub slow", "prcoach", "command", SLOW_GITHUB),
    Scenario("bare Bolt app", "bare", "button"),
    Scenario("PR Coach", "prcoach", "button"),
    Scenario("PR Coach, GitHub slow", "prcoach", "button", SLOW_GITHUB),
    Scenario("what-if: PR Coach, ack first", "ack-first", "command"),
    Scenario("what-if: PR Coach, ack first, GitHub slow", "ack-first", "command", SLOW_GITHUB),
)


def people() -> list[tuple[str, str]]:
    return [(f"UBENCH{n:04d}", f"bench-{n:02d}") for n in range(CLIENTS)]


def bodies(sender: SlackSender, kind: str, slack_base: str) -> list[tuple[bytes, str]]:
    """One request body per client: its learner's command, or its Check button click."""
    made = []
    for n, (user_id, _login) in enumerate(people()):
        response_url = f"{slack_base}/response/bench-{kind}-{n}"
        if kind == "command":
            fields = sender.command_body(
                "check", user_id=user_id, channel_id=dm_channel_id(user_id),
                response_url=response_url,
            )
            made.append((urlencode(fields).encode(), FORM))
        else:
            payload = sender.action_payload(
                "prcoach_check", user_id=user_id, response_url=response_url
            )
            made.append((urlencode({"payload": _json_text(payload)}).encode(), FORM))
    return made


def _sign(body: bytes) -> dict[str, str]:
    stamp = str(int(time.time()))
    digest = hmac.new(
        SIGNING_SECRET.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256
    ).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}


def generate(port: int, requests: list[tuple[bytes, str]]) -> tuple[list[float], int]:
    """CLIENTS closed-loop clients for WARMUP + SECONDS; latencies of the measured window."""
    begin = time.perf_counter() + 0.2
    measure_from, stop_at = begin + WARMUP, begin + WARMUP + SECONDS
    latencies: list[list[float]] = [[] for _ in requests]
    failures = [0] * len(requests)

    def client(n: int) -> None:
        body, content_type = requests[n]
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.perf_counter() < begin:
            time.sleep(0.001)
        while (started := time.perf_counter()) < stop_at:
            headers = {"Content-Type": content_type, **_sign(body)}
            try:
                connection.request("POST", "/slack/events", body, headers)
                answer = connection.getresponse()
                answer.read()
                ok = answer.status == 200
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                ok = False
            if started >= measure_from:
                if ok:
                    latencies[n].append(time.perf_counter() - started)
                else:
                    failures[n] += 1
        connection.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [x for each in latencies for x in each], sum(failures)


def run_scenario(fakes: FakesProcess, scenario: Scenario) -> Run:
    users = [user for user, _ in people()]
    logins = [login for _, login in people()]
    fakes.call("setup", logins, users)
    fakes.call("github_delay", scenario.github_delay)
    with tempfile.TemporaryDirectory(prefix="bench-ack-") as folder:
        workdir = Path(folder)
        url = f"sqlite:///{workdir / 'ack.db'}"
        env = bot_environment(
            slack_api_url=fakes.slack_api_url, github_api_url=fakes.github_url, database_url=url
        )
        env["WEB_CONCURRENCY"] = "2"
        if scenario.app == "bare":
            command = bench_command("bench.serve", "bare")
        else:
            seed_learners(url, people(), "fork")
            if scenario.app == "prcoach":
                command = procfile_command("web")
            else:
                command = bench_command("bench.serve", scenario.app)
        server = Server(command, env, workdir, name=scenario.app).start()
        try:
            start_kib = [memory_kib(pid)["VmRSS"] for pid in server.workers()]
            fakes.call("reset_traffic")
            sender = SlackSender(server.url, SIGNING_SECRET)
            latencies, failed = generate(
                server.port, bodies(sender, scenario.kind, fakes.slack_base_url)
            )
            peak_kib = [memory_kib(pid)["VmHWM"] for pid in server.workers()]
            github_requests, _slack_calls = fakes.call("traffic")
        finally:
            server.stop()
    return Run(scenario, latencies, failed, SECONDS, peak_kib, start_kib, github_requests)


@functools.cache
def load_runs() -> tuple[Run, ...]:
    """Every scenario once (cached: the memory benchmark reads the same runs)."""
    with FakesProcess() as fakes:
        return tuple(run_scenario(fakes, scenario) for scenario in SCENARIOS)


def _find(runs: tuple[Run, ...], app: str, kind: str, delay: float) -> Run | None:
    for run in runs:
        s = run.scenario
        if (s.app, s.kind, s.github_delay) == (app, kind, delay):
            return run
    return None


def ratio(numerator: Run | None, denominator: Run | None) -> str:
    if numerator is None or denominator is None or not denominator.latencies:
        return "—"
    if not numerator.latencies:
        return "∞ (nothing acknowledged)"
    return f"{numerator.p(0.99) / denominator.p(0.99):.2f}×"


def run() -> str:
    runs = load_runs()
    lines = [
        f"### 1. Acknowledgement latency: {CLIENTS} concurrent clients for {SECONDS:g} s "
        f"(signed requests, {WARMUP:g} s warm-up, WEB_CONCURRENCY=2, gthread × 8)",
        "",
        "| app | request | fake GitHub answers | p50 (ms) | p95 (ms) | p99 (ms) | acks/s "
        "| not acknowledged | GitHub requests during the run | p99 ÷ bare Bolt p99 |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for each in runs:
        s = each.scenario
        bare = _find(runs, "bare", s.kind, 0.0)
        shown = (
            f"{each.p(0.5):.1f} | {each.p(0.95):.1f} | {each.p(0.99):.1f}"
            if each.latencies
            else "— | — | —"
        )
        lines.append(
            f"| {s.label} | {'`/prcoach check`' if s.kind == 'command' else 'Check button'} "
            f"| {'after ' + format(s.github_delay, 'g') + ' s' if s.github_delay else 'at once'} "
            f"| {shown} | {each.throughput:.0f} | {each.failed} | {each.github_requests:,} "
            f"| {'—' if s.app == 'bare' else ratio(each, bare)} |"
        )
    lines += ["", *notes(runs)]
    return "\n".join(lines)


def notes(runs: tuple[Run, ...]) -> list[str]:
    said = []
    for kind, name in (("command", "`/prcoach check`"), ("button", "Check button")):
        bare = _find(runs, "bare", kind, 0.0)
        fast = _find(runs, "prcoach", kind, 0.0)
        slow = _find(runs, "prcoach", kind, SLOW_GITHUB)
        said.append(
            f"* {name}: PR Coach's p99 is {ratio(fast, bare)} the bare Bolt app's "
            f"(target ≤ 1.2×); with GitHub slow, {ratio(slow, fast)} its own p99 with GitHub "
            "fast (target: unchanged)."
        )
    first_fast = _find(runs, "ack-first", "command", 0.0)
    first_slow = _find(runs, "ack-first", "command", SLOW_GITHUB)
    bare = _find(runs, "bare", "command", 0.0)
    if first_fast and first_slow:
        said.append(
            f"* What-if, acknowledging first (`process_before_response=True`): p99 "
            f"{ratio(first_fast, bare)} the bare app's with GitHub fast, "
            f"{ratio(first_slow, bare)} with GitHub slow."
        )
    return said


if __name__ == "__main__":
    print(run())
