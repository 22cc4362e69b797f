"""What to tell a learner about their pull request after it is open (pure domain)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.course.review import (
    PullState,
    PullView,
    Review,
    has_suggestion,
    news,
    next_look,
    shorten,
    start,
    waiting_too_long,
)

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)
URL = "https://github.com/eig/practice/pull/3"


def view(**changes) -> PullView:
    base = {
        "number": 3,
        "url": URL,
        "state": "open",
        "merged": False,
        "head_sha": "a" * 40,
        "mergeable": True,
        "reviews": (),
    }
    return PullView(**{**base, **changes})


def kinds(told) -> list[str]:
    return [n.kind for n in told]


def test_a_long_review_is_quoted_short_on_one_line() -> None:
    text = "Nice!\n\n```suggestion\nHello\n```\n" + "word " * 200
    short = shorten(text)
    assert short.startswith("Nice! Hello word") and short.endswith("…")
    assert len(short) <= 280 and "\n" not in short
    assert shorten("  ok  ") == "ok"
    assert has_suggestion(text) and not has_suggestion("no code here")


def test_changes_then_a_push_then_approval_then_merge() -> None:
    followed = start(3, URL, T0)
    followed = news(followed, view(), T0)[1]  # the first look remembers the head
    asked = Review(10, "mentor", "CHANGES_REQUESTED", "Add your team", "a" * 40)
    told, followed = news(followed, view(reviews=(asked,)), T0)
    assert kinds(told) == ["changes_requested"] and told[0].facts["quote"] == "Add your team"
    assert followed.state is PullState.CHANGES and followed.reviewer == "mentor"

    told, followed = news(followed, view(reviews=(asked,), head_sha="b" * 40), T0)
    assert kinds(told) == ["updated"] and told[0].facts["reviewer"] == "mentor"
    assert followed.state is PullState.WAITING

    ok = Review(11, "mentor", "APPROVED", "", "b" * 40)
    told, followed = news(followed, view(reviews=(asked, ok), head_sha="b" * 40), T0)
    assert kinds(told) == ["approved"] and followed.state is PullState.APPROVED
    told, followed = news(
        followed, view(reviews=(asked, ok), head_sha="b" * 40, merged=True, state="closed"), T0
    )
    assert kinds(told) == ["merged"] and followed.state is PullState.MERGED
    assert next_look(followed, T0) is None
    # Nothing new: nothing told.
    assert (
        news(
            followed, view(reviews=(asked, ok), merged=True, state="closed", head_sha="b" * 40), T0
        )[0]
        == ()
    )


def test_conflicts_closing_and_reopening_are_told_once_each() -> None:
    followed = news(start(3, URL, T0), view(), T0)[1]
    told, followed = news(followed, view(mergeable=False), T0)
    assert kinds(told) == ["conflicts"]
    assert news(followed, view(mergeable=None), T0)[0] == ()  # GitHub still computing
    assert news(followed, view(mergeable=False), T0)[0] == ()
    told, followed = news(followed, view(mergeable=True), T0)
    assert kinds(told) == ["conflicts_solved"]
    told, followed = news(followed, view(state="closed", mergeable=None), T0)
    assert kinds(told) == ["closed"] and followed.state is PullState.CLOSED
    told, followed = news(followed, view(), T0)
    assert kinds(told) == ["reopened"]


def test_comments_without_text_and_dismissed_reviews_say_nothing() -> None:
    followed = news(start(3, URL, T0), view(), T0)[1]
    empty = Review(5, "mentor", "COMMENTED", "", "a" * 40)
    dismissed = Review(6, "mentor", "DISMISSED", "old", "a" * 40)
    assert news(followed, view(reviews=(empty, dismissed)), T0)[0] == ()
    inline = Review(
        7, "mentor", "COMMENTED", "", "a" * 40, first_comment="Typo here", suggestions=1
    )
    told, _ = news(followed, view(reviews=(inline,)), T0)
    assert kinds(told) == ["commented"] and told[0].facts["quote"] == "Typo here"
    assert told[0].facts["suggestions"] == 1


def test_waiting_for_review_for_too_long() -> None:
    followed = start(3, URL, T0)
    assert not waiting_too_long(followed, T0 + timedelta(days=2), 3)
    assert waiting_too_long(followed, T0 + timedelta(days=4), 3)
    assert next_look(followed, T0 + timedelta(minutes=5)) == T0 + timedelta(minutes=6)
