"""The review coach with in-memory ports: what it tells, once, and what it leaves to the
course's own merge step."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from bot.course import replies as r
from bot.course.course import DEFAULT_COURSE, load_course
from bot.course.learner import Learner
from bot.course.review import Followed, PullView, start
from bot.course.review_coach import ReviewCoach
from bot.course.text import Text
from bot.errors import GitHubUnavailable

NOW = datetime(2026, 12, 5, 10, tzinfo=UTC)
URL = "https://github.com/eig/practice/pull/4"


class MemoryFollows:
    def __init__(self) -> None:
        self.rows: dict[int, Followed] = {}

    def followed(self, learner_id: int) -> Followed | None:
        return self.rows.get(learner_id)

    def start_following(self, learner_id: int, number: int, url: str) -> Followed:
        self.rows[learner_id] = replace(start(number, url, NOW), revision=1)
        return self.rows[learner_id]

    def save_followed(self, learner_id, after, seen_revision, next_look) -> bool:
        if self.rows[learner_id].revision != seen_revision:
            return False
        self.rows[learner_id] = replace(after, revision=seen_revision + 1, next_look_at=next_look)
        return True


class Pulls:
    def __init__(self, view: PullView | None) -> None:
        self.view = view

    def read(self, number: int, after_review_id: int = 0) -> PullView:
        if self.view is None:
            raise GitHubUnavailable("down")
        return self.view


def learner() -> Learner:
    return Learner(
        1,
        "T",
        "U",
        "en",
        "pull_request",
        NOW,
        NOW,
        NOW,
        github_login="ada",
        facts={"pr_number": 4, "pr_url": URL},
    )


def merged() -> PullView:
    return PullView(4, URL, "closed", True, "a" * 40, None, (), "mentor")


def test_the_merge_is_celebrated_with_what_next_when_the_course_ends_at_the_pull_request() -> None:
    links = ((Text({"en": "Issues", "fr": "Tickets"}), "https://example.org"),)
    coach = ReviewCoach(
        load_course(), MemoryFollows(), Pulls(merged()), what_next=links, clock=lambda: NOW
    )
    answer = coach.follow(learner(), "test")
    assert answer is not None
    assert [type(x) for x in answer.replies] == [r.ReviewNews, r.WhatNext]
    assert answer.replies[0].kind == "merged"
    assert coach.follow(learner(), "test") is None  # told once


def test_with_the_merge_step_the_course_itself_says_it() -> None:
    course = load_course(DEFAULT_COURSE, include_optional=True)
    coach = ReviewCoach(course, MemoryFollows(), Pulls(merged()), clock=lambda: NOW)
    assert coach.follow(learner(), "test") is None


def test_github_down_tells_nothing_and_changes_nothing() -> None:
    follows = MemoryFollows()
    coach = ReviewCoach(load_course(), follows, Pulls(None), clock=lambda: NOW)
    assert coach.follow(learner(), "test") is None
    assert follows.rows[1].revision == 1 and follows.rows[1].head_sha is None
