"""Drawing the picture of where a learner is: time per picture (median, p95, p99, worst),
for every step of the course in both languages, and the first one in a fresh process
(Pillow's import and the fonts' loading included)."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime

ROUNDS = 50  # of every step × language: 600 pictures

_COLD = """
import time
started = time.perf_counter()
from bench.picture import renderer, learners
r = renderer()
learner, language = learners()[0]
r.picture(learner, language)
print(time.perf_counter() - started)
"""


def renderer():
    from bot.course.course import DEFAULT_COURSE, load_course
    from bot.course.facts import Site
    from bot.course.glossary import load_glossary
    from bot.course.messages import load_messages
    from bot.slack.views.render import Renderer

    glossary = load_glossary()
    course = load_course(DEFAULT_COURSE, glossary_terms=glossary.ids)
    return Renderer(course, glossary, load_messages(), Site("https://github.com", "eig/practice"))


def learners():
    from bot.course.learner import Learner

    now = datetime.now(UTC)
    steps = ["link", "fork", "branch", "commit", "pull_request", "finished"]
    found = []
    for language in ("en", "fr"):
        for order, step in enumerate(steps):
            facts: dict[str, object] = {}
            if order > 1:
                facts["fork"] = "marie-helene-de-la-fontaine/practice-repository"
            if order > 2:
                facts["branch"] = "add-marie-helene-de-la-fontaine-presentation"
            if order > 4:
                facts |= {"pr_number": 1234, "pr_url": "https://github.com/eig/practice/pull/1234"}
            learner = Learner(
                id=order,
                team_id="T",
                slack_user_id="U",
                language=language,
                current_step="pull_request" if step == "finished" else step,
                created_at=now,
                step_started_at=now,
                last_activity_at=now,
                github_login="marie-helene-de-la-fontaine" if order else None,
                facts=facts,
                name="Marie-Hélène de La Fontaine",
                finished_at=now if step == "finished" else None,
            )
            found.append((learner, language))
    return found


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def run() -> str:
    cold = float(
        subprocess.run(
            [sys.executable, "-c", _COLD], capture_output=True, text=True, check=True
        ).stdout.strip()
    )
    r, cases = renderer(), learners()
    r.picture(*cases[0])  # warm: Pillow imported, fonts loaded
    times, sizes = [], []
    for _ in range(ROUNDS):
        for learner, language in cases:
            started = time.perf_counter()
            picture = r.picture(learner, language)
            times.append(time.perf_counter() - started)
            sizes.append(len(picture.png))
    ms = [t * 1000 for t in times]
    return "\n".join(
        [
            "### Picture of where you are (Pillow)",
            "",
            f"{len(ms)} pictures: every step of the course (6 states) in both languages, "
            f"{ROUNDS} times each, long names (the worst case for wrapping); PNG of "
            f"{min(sizes) // 1024}–{max(sizes) // 1024} KiB.",
            "",
            "| pictures | median (ms) | p95 (ms) | p99 (ms) | worst (ms) "
            "| first in a new process (ms) |",
            "|---:|---:|---:|---:|---:|---:|",
            f"| {len(ms)} | {statistics.median(ms):.1f} | {_percentile(ms, 0.95):.1f} | "
            f"{_percentile(ms, 0.99):.1f} | {max(ms):.1f} | {cold * 1000:.0f} |",
            "",
            "Target: well under a second. The first picture of a process includes importing "
            "Pillow and loading the two fonts.",
        ]
    )


if __name__ == "__main__":
    print(run())
