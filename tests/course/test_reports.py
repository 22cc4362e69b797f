"""Reports from plain data: funnel, stuck detection, ordering, CSV, and Slack's limits."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

from bot.course.course import load_course
from bot.course.learner import Learner
from bot.course.messages import load_messages
from bot.course.reports import build_report, is_stuck, report_csv
from bot.slack.views.staff import MAX_LINES, StaffViews

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
COURSE = load_course()
STEPS = [s.id for s in COURSE.steps]


def learner(n: int, step: str, days_on_step: float, *, finished: bool = False, **extra) -> Learner:
    started = NOW - timedelta(days=days_on_step)
    return Learner(
        id=n,
        team_id="T",
        slack_user_id=f"U{n:05d}",
        language="fr",
        current_step=step,
        created_at=started - timedelta(days=1),
        step_started_at=started,
        last_activity_at=started,
        github_login=f"gh-{n}" if step != "link" else None,
        finished_at=started if finished else None,
        name=f"Personne {n} é",
        **extra,
    )


def completions(people: list[Learner]) -> dict[int, dict[str, datetime]]:
    done = {}
    for person in people:
        upto = len(STEPS) if person.finished else STEPS.index(person.current_step)
        done[person.id] = {s: person.created_at for s in STEPS[:upto]}
    return done


def test_stuck_means_no_progress_for_the_period_unless_finished_or_paused() -> None:
    three = timedelta(days=3)
    assert is_stuck(learner(1, "fork", 3.1), NOW, three)
    assert not is_stuck(learner(2, "fork", 2.9), NOW, three)
    assert not is_stuck(learner(3, "fork", 10, paused=True), NOW, three)
    assert not is_stuck(learner(4, "pull_request", 10, finished=True), NOW, three)


def test_funnel_counts_and_order() -> None:
    people = [
        learner(1, "link", 1),
        learner(2, "fork", 5),
        learner(3, "fork", 1),
        learner(4, "commit", 4),
        learner(5, "pull_request", 0.5, finished=True),
    ]
    report = build_report(
        COURSE, people, completions(people), now=NOW, stuck_after=timedelta(days=3)
    )
    assert [(s.step.id, s.at_step, s.reached) for s in report.funnel] == [
        ("link", 1, 5),
        ("fork", 2, 4),
        ("branch", 0, 2),
        ("commit", 1, 2),
        ("pull_request", 0, 1),
    ]
    assert report.finished == 1
    # Stuck first (furthest behind first), then the others by position.
    assert [line.learner.id for line in report.lines] == [2, 4, 1, 3, 5]
    assert [line.learner.id for line in report.stuck] == [2, 4]


def test_csv_has_a_header_one_row_each_and_dates_per_step() -> None:
    people = [learner(1, "commit", 1), learner(2, "pull_request", 1, finished=True)]
    report = build_report(COURSE, people, completions(people), now=NOW, stuck_after=timedelta(3))
    content = report_csv(report)
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[0][:5] == ["slack_user_id", "name", "github_login", "cohort", "current_step"]
    assert [f"done_{s}" for s in STEPS] == rows[0][5 : 5 + len(STEPS)]
    body = {row[0]: row for row in rows[1:]}
    assert body["U00001"][4] == "commit" and body["U00001"][1] == "Personne 1 é"
    assert (
        body["U00001"][5 + STEPS.index("branch")] and not body["U00001"][5 + STEPS.index("commit")]
    )
    assert body["U00002"][4] == "finished"


def test_a_report_of_many_learners_stays_within_slacks_limits() -> None:
    people = [learner(n, STEPS[n % len(STEPS)], n % 7) for n in range(1, 1001)]
    report = build_report(COURSE, people, completions(people), now=NOW, stuck_after=timedelta(3))
    views = StaffViews(load_messages(), "https://github.com", "Europe/Paris")
    for lang in ("en", "fr"):
        message = views.report(report, lang, 3)
        assert len(message.blocks) <= 50
        for block in message.blocks:
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= 3000
        assert f"{len(people) - MAX_LINES}" in json.dumps(message.blocks, ensure_ascii=False)
        home = views.home(report, lang, 3)
        assert len(home["blocks"]) <= 100


def test_csv_says_whose_github_account_is_verified() -> None:
    people = [
        learner(1, "fork", 1, verified=True),
        learner(2, "fork", 1),
        learner(3, "link", 1),  # no account yet: nothing to say
    ]
    report = build_report(COURSE, people, completions(people), now=NOW, stuck_after=timedelta(3))
    rows = list(csv.DictReader(io.StringIO(report_csv(report).decode("utf-8-sig"))))
    assert {row["slack_user_id"]: row["github_verified"] for row in rows} == {
        "U00001": "yes",
        "U00002": "no",
        "U00003": "",
    }
    views = StaffViews(load_messages(), "https://github.com", "Europe/Paris")
    text = views.report(report, "en", 3).text
    assert "gh-1> (verified)" in text and "gh-2> (unverified)" in text
