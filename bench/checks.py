"""Checks under load: a workshop burst, overload, and a restart with checks pending.

Side by side in one run, under the same server settings (the Procfile's ``web:`` line,
``WEB_CONCURRENCY=2``, gthread, 32 threads):

* **bare Bolt app** — one listener that only acknowledges (``bench/serve.py``): the floor;
* **before** — the code of ``BENCH_BEFORE`` (a checkout, e.g. ``git archive main | tar -x
  -C /tmp/before``), when set: checks run in Bolt's ``lazy=`` listeners, in the web process;
* **after** — this tree: the web process records and acknowledges, answerers answer.

Scenarios:

1. **workshop burst**: 100 learners (linked, at the fork step) click *Check* within one
   second, GitHub answering each request in 150 ms. Every acknowledgement under 3 s; every
   learner answered; p99 from click to answer ≤ 5 s.
2. **overload**: 50 clients (one learner each) send ``/prcoach check`` back to back for 30 s,
   GitHub answering in 2 s; then paced, 20 a second for 60 s (1,200 acknowledgements: the
   p99 is read from 12 of them, not 4 — these machines are noisy). The web workers' peak memory
   (< 150 MB) and their memory once the checks are answered (flat); every learner answered
   after their last click (within ``DRAIN`` seconds), kept in the database, or told "busy";
   the acknowledgement's p99 ≤ 1.5× the bare app's back to back, ≤ 1.2× paced.
3. **restart**: 100 learners send a check each with GitHub answering in 2 s; the server gets
   SIGTERM, then SIGKILL 10 s later (as platforms do), and starts again: every learner
   answered.
4. **crash**: the same, but every process gets SIGKILL right after the last acknowledgement:
   every learner answered all the same after the start again.

``BENCH_ONLY=burst,overload,paced,restart,crash`` runs only those.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import http.client
import os
import re
import secrets
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from bench.rig import (
    FakesProcess,
    Server,
    bench_command,
    memory_kib,
    percentile,
)
from bot.storage.waiting import LEASE
from tests.rig.bot_process import (
    REPO_ROOT,
    SIGNING_SECRET,
    bot_environment,
    procfile_command,
    stop_like_a_platform,
)
from tests.rig.fake_slack import dm_channel_id
from tests.rig.slack_sender import FORM, SlackSender, _json_text

BEFORE = os.environ.get("BENCH_BEFORE", "")
ONLY = {name for name in os.environ.get("BENCH_ONLY", "").split(",") if name}
BURST_LEARNERS, BURST_WINDOW, BURST_GITHUB = 100, 1.0, 0.15
OVERLOAD_CLIENTS, OVERLOAD_SECONDS, OVERLOAD_GITHUB = 50, 30.0, 2.0
PACED_RATE, PACED_SECONDS = 20.0, 60.0
RESTART_LEARNERS, RESTART_GITHUB, RESTART_GRACE = 100, 2.0, 10.0
DRAIN = 60.0  # seconds to wait, after a load, for the answers still owed
BUSY_WORDS = "Busy —"


@dataclass
class Sent:
    learner: int
    started: float  # time.time() when sent
    latency: float | None  # seconds to the acknowledgement; None: not acknowledged
    busy: bool = False


@dataclass
class Outcome:
    scenario: str
    app: str
    sent: list[Sent]
    learners: int
    answered_in_run: int = 0  # answers shown while the load ran
    answers: dict[int, list[float]] = field(default_factory=dict)  # by learner, at the end
    drained_after: float | None = None  # seconds after the load until every learner answered
    kept_at_end: int | None = None  # requests waiting in the database when the load stopped
    peak_mb: float = 0.0
    rss_after_load_mb: float = 0.0
    rss_after_drain_mb: float = 0.0

    @property
    def acked(self) -> list[Sent]:
        return [s for s in self.sent if s.latency is not None]

    def p(self, share: float) -> float:
        return percentile([s.latency for s in self.acked if s.latency is not None], share) * 1000

    @property
    def unanswered(self) -> int:
        """Learners whose last acknowledged click has no answer shown after it."""
        last: dict[int, float] = {}
        for s in self.acked:
            last[s.learner] = max(last.get(s.learner, 0.0), s.started)
        return sum(1 for n, t in last.items() if not any(a >= t for a in self.answers.get(n, [])))

    def answer_delays(self) -> list[float]:
        """For the burst: seconds from each learner's click to their first answer after it."""
        delays = []
        for s in self.acked:
            after = [a - s.started for a in self.answers.get(s.learner, []) if a >= s.started]
            delays.append(min(after) if after else float("inf"))
        return delays


def people(n: int) -> list[tuple[str, str]]:
    return [(f"UCHK{k:04d}", f"chk-{k:03d}") for k in range(n)]


def _sign(body: bytes) -> dict[str, str]:
    stamp = str(int(time.time()))
    digest = hmac.new(
        SIGNING_SECRET.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256
    ).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}


def _bodies(sender: SlackSender, slack_base: str, n: int, kind: str) -> list[bytes]:
    made = []
    for k, (user_id, _login) in enumerate(people(n)):
        url = f"{slack_base}/response/chk-{k}"
        if kind == "command":
            fields = sender.command_body(
                "check", user_id=user_id, channel_id=dm_channel_id(user_id), response_url=url
            )
            made.append(urlencode(fields).encode())
        else:
            payload = sender.action_payload("prcoach_check", user_id=user_id, response_url=url)
            made.append(urlencode({"payload": _json_text(payload)}).encode())
    return made


# trigger_id in a form-encoded command (trigger_id=…) or in a click's JSON payload
# (%22trigger_id%22%3A+%22…): the value is replaced by a new one before each send.
_TRIGGER = re.compile(rb"(trigger_id=|%22trigger_id%22%3A\+?%22)[0-9A-Za-z.]{4,}")


def _send(connection: http.client.HTTPConnection, body: bytes) -> tuple[str, bytes]:
    connection.request("POST", "/slack/events", body, {"Content-Type": FORM, **_sign(body)})
    answer = connection.getresponse()
    return str(answer.status), answer.read()


def _client(
    port: int, learner: int, body: bytes, plan: list[float], stop_at: float, out: list[Sent]
) -> None:
    """Send ``body`` at each planned time (or back to back when ``plan`` is empty)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    index = 0
    while True:
        if plan:
            if index >= len(plan):
                break
            time.sleep(max(0.0, plan[index] - time.time()))
            index += 1
        started = time.time()
        if started >= stop_at:
            break
        # Slack gives every command and click a new trigger_id; the same one again is a
        # replay, which PR Coach refuses (acted on once).
        body = _TRIGGER.sub(lambda m: m.group(1) + secrets.token_hex(8).encode(), body)
        status, text = "error", b""
        for _attempt in range(2):
            try:
                status, text = _send(connection, body)
                break
            except (OSError, http.client.HTTPException):
                # The server closes an idle keep-alive connection (gunicorn: after 2 s, less
                # than a paced client's period): connect again and send, as Slack would.
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        ok = status == "200"
        out.append(
            Sent(
                learner,
                started,
                time.time() - started if ok else None,
                BUSY_WORDS.encode() in text,
            )
        )
    connection.close()


def drive(port: int, bodies: list[bytes], plans: list[list[float]], stop_at: float) -> list[Sent]:
    results: list[list[Sent]] = [[] for _ in bodies]
    threads = [
        threading.Thread(target=_client, args=(port, n, bodies[n], plans[n], stop_at, results[n]))
        for n in range(len(bodies))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [s for each in results for s in each]


# ----------------------------------------------------------------------------- servers


def _env(fakes: FakesProcess, url: str, app: str) -> dict[str, str]:
    env = bot_environment(
        slack_api_url=fakes.slack_api_url, github_api_url=fakes.github_url, database_url=url
    )
    env["WEB_CONCURRENCY"] = "2"
    if app == "before":
        env["PYTHONPATH"] = f"{BEFORE}{os.pathsep}{REPO_ROOT}"
    elif app == "bare":
        env["PYTHONPATH"] = str(REPO_ROOT)
    return env


def _seed(app: str, url: str, n: int, ids: dict[str, int], workdir: Path) -> None:
    """Learners linked, at the fork step, migrated by the app's own code (in a subprocess)."""
    script = (
        "import json, sys\n"
        "from bench.rig import seed_learners\n"
        "url, people, ids = json.loads(sys.argv[1])\n"
        "seed_learners(url, [tuple(p) for p in people], 'fork', ids)\n"
    )
    import json

    env = {**os.environ, "PYTHONPATH": _env_path(app)}
    subprocess.run(
        [sys.executable, "-c", script, json.dumps([url, people(n), ids])],
        env=env,
        check=True,
        cwd=workdir,  # not the repository: `python -c` puts the working directory first
    )


def _env_path(app: str) -> str:
    return f"{BEFORE}{os.pathsep}{REPO_ROOT}" if app == "before" else str(REPO_ROOT)


def start(fakes: FakesProcess, app: str, workdir: Path, n: int, github_delay: float) -> Server:
    url = f"sqlite:///{workdir / 'checks.db'}"
    ids = fakes.call("setup", [login for _, login in people(n)], [u for u, _ in people(n)])
    fakes.call("github_delay", github_delay)
    if app == "bare":
        command = bench_command("bench.serve", "bare")
    else:
        _seed(app, url, n, ids, workdir)
        command = procfile_command("web")
    return Server(command, _env(fakes, url, app), workdir, name=app).start()


def answers_by_learner(fakes: FakesProcess, n: int) -> dict[int, list[float]]:
    times = fakes.call("answer_times")
    found: dict[int, list[float]] = {}
    for k, (user_id, _login) in enumerate(people(n)):
        found[k] = times.get(f"tag:chk-{k}", []) + times.get(
            f"channel:{dm_channel_id(user_id)}", []
        )
    return found


def _mb(kib: int) -> float:
    return kib * 1024 / 1e6


def web_workers(server: Server) -> list[int]:
    """gunicorn's web workers (not the answering process it also starts)."""
    found = []
    for pid in server.workers():
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"answer" not in command:
            found.append(pid)
    return found


def _memory(pids: list[int], key: str) -> float:
    """The largest ``key`` (VmHWM, VmRSS) of these processes still running, in MB."""
    values = []
    for pid in pids:
        try:
            values.append(_mb(memory_kib(pid)[key]))
        except (OSError, KeyError):
            continue  # gone (a worker restarted by gunicorn)
    return max(values, default=0.0)


def _waiting(workdir: Path) -> int | None:
    """Requests kept: in the database, and in the web processes' journals not moved yet."""
    journaled = sum(
        path.read_bytes().count(b"\n") for path in (workdir / "checks.db-requests").glob("*.jsonl")
    )
    try:
        with sqlite3.connect(workdir / "checks.db") as db:
            kept = int(db.execute("SELECT count(*) FROM waiting_requests").fetchone()[0])
    except sqlite3.Error:
        return None
    return kept + journaled


def _drain(fakes: FakesProcess, outcome: Outcome, n: int, budget: float) -> None:
    """Wait (up to ``budget``) until every learner has an answer after their last click."""
    began = time.time()
    while True:
        outcome.answers = answers_by_learner(fakes, n)
        if outcome.unanswered == 0:
            outcome.drained_after = time.time() - began
            return
        if time.time() - began > budget:
            return
        time.sleep(0.5)


# ----------------------------------------------------------------------------- scenarios


def burst(fakes: FakesProcess, app: str) -> Outcome:
    n = BURST_LEARNERS
    with tempfile.TemporaryDirectory(prefix="bench-checks-") as folder:
        server = start(fakes, app, Path(folder), n, BURST_GITHUB)
        try:
            fakes.call("reset_traffic")
            sender = SlackSender(server.url, SIGNING_SECRET)
            bodies = _bodies(sender, fakes.slack_base_url, n, "button")
            begin = time.time() + 0.3
            plans = [[begin + BURST_WINDOW * k / n] for k in range(n)]
            sent = drive(server.port, bodies, plans, begin + 60)
            outcome = Outcome("workshop burst", app, sent, n)
            _drain(fakes, outcome, n, DRAIN)
        finally:
            server.stop(grace=20.0)
    return outcome


def overload(fakes: FakesProcess, app: str, paced: bool) -> Outcome:
    n = OVERLOAD_CLIENTS
    seconds = PACED_SECONDS if paced else OVERLOAD_SECONDS
    with tempfile.TemporaryDirectory(prefix="bench-checks-") as folder:
        workdir = Path(folder)
        server = start(fakes, app, workdir, n, OVERLOAD_GITHUB)
        try:
            workers = web_workers(server)
            fakes.call("reset_traffic")
            sender = SlackSender(server.url, SIGNING_SECRET)
            bodies = _bodies(sender, fakes.slack_base_url, n, "command")
            begin = time.time() + 0.3
            stop_at = begin + seconds
            if paced:
                every = n / PACED_RATE  # each client's period: 20 a second in all
                plans = [
                    [begin + every * k / n + every * i for i in range(int(seconds / every) + 1)]
                    for k in range(n)
                ]
            else:
                plans = [[] for _ in range(n)]
            sent = drive(server.port, bodies, plans, stop_at)
            label = "overload, paced 20/s" if paced else "overload, back to back"
            outcome = Outcome(label, app, sent, n)
            outcome.answers = answers_by_learner(fakes, n)
            outcome.answered_in_run = sum(len(v) for v in outcome.answers.values())
            outcome.kept_at_end = _waiting(workdir) if app == "after" else None
            workers = sorted(set(workers) | set(web_workers(server)))  # any restarted one too
            outcome.peak_mb = _memory(workers, "VmHWM")
            outcome.rss_after_load_mb = _memory(workers, "VmRSS")
            if app != "bare":
                _drain(fakes, outcome, n, DRAIN)
            outcome.rss_after_drain_mb = _memory(workers, "VmRSS")
        finally:
            server.stop(grace=20.0 if app == "after" else 2.0)
    return outcome


def restart(fakes: FakesProcess, app: str, crash: bool = False) -> Outcome:
    """SIGTERM then SIGKILL 10 s later, as platforms do; with ``crash``, SIGKILL at once to
    every process (a machine's out-of-memory killer, a pulled plug of the process)."""
    n = RESTART_LEARNERS
    with tempfile.TemporaryDirectory(prefix="bench-checks-") as folder:
        workdir = Path(folder)
        server = start(fakes, app, workdir, n, RESTART_GITHUB)
        fakes.call("reset_traffic")
        sender = SlackSender(server.url, SIGNING_SECRET)
        bodies = _bodies(sender, fakes.slack_base_url, n, "command")
        begin = time.time() + 0.2
        sent = drive(server.port, bodies, [[begin + k * 0.01] for k in range(n)], begin + 30)
        label = "crash (kill -9) with checks pending" if crash else "restart with checks pending"
        outcome = Outcome(label, app, sent, n)
        assert server.process is not None
        if crash:
            stop_like_a_platform(server.process, grace=0)
        outcome.kept_at_end = _waiting(workdir) if app == "after" else None
        if not crash:
            stop_like_a_platform(server.process, RESTART_GRACE)
        again = Server(server.command, server.env, workdir, name=f"{app}-again").start()
        try:
            # After kill -9 the requests an answerer had taken wait for their lease to end.
            _drain(fakes, outcome, n, DRAIN * 2 + (LEASE.total_seconds() if crash else 0))
        finally:
            again.stop(grace=20.0)
    return outcome


def apps(with_bare: bool) -> list[str]:
    return [*(["bare"] if with_bare else []), *(["before"] if BEFORE else []), "after"]


def run_all() -> list[Outcome]:
    plan: list[tuple[str, Callable[[FakesProcess], Outcome]]] = []
    for app in apps(False):
        plan.append((f"burst {app}", functools.partial(burst, app=app)))
    for paced in (False, True):
        for app in apps(True):
            name = "paced" if paced else "overload"
            plan.append((f"{name} {app}", functools.partial(overload, app=app, paced=paced)))
    for app in apps(False):
        plan.append((f"restart {app}", functools.partial(restart, app=app)))
    for app in apps(False):
        plan.append((f"crash {app}", functools.partial(restart, app=app, crash=True)))
    if ONLY:  # BENCH_ONLY=overload,paced: those scenarios alone (while working on them)
        plan = [(label, scenario) for label, scenario in plan if label.split()[0] in ONLY]
    outcomes = []
    with FakesProcess() as fakes:
        for label, scenario in plan:
            began = time.monotonic()
            try:
                outcomes.append(scenario(fakes))
            except Exception:  # one broken scenario must not lose the others' figures
                traceback.print_exc()
            print(f"({label}: {time.monotonic() - began:.0f} s)", file=sys.stderr, flush=True)
    return outcomes


APP_NAMES = {
    "bare": "bare Bolt app",
    "before": os.environ.get("BENCH_BEFORE_NAME", "before (checks in `lazy=` listeners)"),
    "after": "after (kept in a journal; answerers)",
}


def _bare(outcomes: list[Outcome], scenario: str) -> Outcome | None:
    return next((o for o in outcomes if o.scenario == scenario and o.app == "bare"), None)


def run() -> str:
    outcomes = run_all()
    lines = [
        "### Checks under load: a workshop burst, overload, a restart",
        "",
        "Same server settings for every app (the Procfile's `web:` line, WEB_CONCURRENCY=2, "
        f"gthread, 32 threads). *Before*: {BEFORE or 'not run (set BENCH_BEFORE)'}. "
        "*Unanswered*: learners with no answer shown after their last acknowledged click, "
        f"{DRAIN:g} s after the load stopped (for the restart, {2 * DRAIN:g} s after it; "
        f"for the crash, {2 * DRAIN + LEASE.total_seconds():g} s: after kill -9, a request an "
        "answerer had taken waits for its lease to end). "
        "*Kept*: requests waiting in the database or a journal when the load stopped.",
        "",
        "| scenario | app | acknowledged | ack p50 (ms) | ack p99 (ms) | p99 ÷ bare's "
        "| busy | answers during the load | unanswered | all answered after | kept "
        "| web peak (MB) | web RSS after load / after answers (MB) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for o in outcomes:
        bare = _bare(outcomes, o.scenario)
        ratio = (
            f"{o.p(0.99) / bare.p(0.99):.2f}×"
            if bare is not None and o is not bare and o.acked and bare.acked
            else "—"
        )
        answered = "—" if o.app == "bare" else f"{o.answered_in_run:,}"
        unanswered = "—" if o.app == "bare" else f"{o.unanswered} of {o.learners}"
        drained = (
            "—"
            if o.app == "bare"
            else (f"{o.drained_after:.1f} s" if o.drained_after is not None else "not within")
        )
        memory = (
            f"{o.peak_mb:.0f} | {o.rss_after_load_mb:.0f} / {o.rss_after_drain_mb:.0f}"
            if o.peak_mb
            else "— | —"
        )
        lines.append(
            f"| {o.scenario} | {APP_NAMES[o.app]} | {len(o.acked):,} of {len(o.sent):,} "
            f"| {o.p(0.5):.1f} | {o.p(0.99):.1f} | {ratio} | {sum(s.busy for s in o.sent)} "
            f"| {answered} | {unanswered} | {drained} "
            f"| {'—' if o.kept_at_end is None else o.kept_at_end} | {memory} |"
        )
    lines.append(
        "\n* Reading *unanswered* for *before*: a learner counts as answered when any answer "
        "reaches them after their last click, and before's answers go to their clicks in "
        "order, thousands of them queued in the web process's memory: compare *answers during "
        "the load* with *acknowledged*, and the web peak. *After*, the clicks of one learner "
        "that wait together are joined and answered once (at most one waiting request per "
        "learner and request)."
    )
    for o in outcomes:
        if o.scenario == "workshop burst":
            delays = o.answer_delays()
            slowest_ack = max((s.latency or 0.0) for s in o.sent) if o.sent else 0.0
            lines.append(
                f"\n* Workshop burst, {APP_NAMES[o.app]}: slowest acknowledgement "
                f"{slowest_ack:.2f} s (target < 3 s); click → answer p50 "
                f"{percentile(delays, 0.5):.2f} s, p99 {percentile(delays, 0.99):.2f} s "
                f"(target ≤ 5 s); {sum(d != float('inf') for d in delays)} of {len(delays)} "
                "answered."
            )
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
