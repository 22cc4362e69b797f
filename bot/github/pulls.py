"""Reading a learner's pull request after it was opened: its state and its reviews.

Two requests in the common case (the pull request, its reviews), a third only when a new
review may carry inline comments worth quoting or suggested changes.
"""

from __future__ import annotations

from itertools import islice

from github import Github, UnknownObjectException

from bot.course.review import PullView, Review, ReviewKind, has_suggestion
from bot.errors import GitHubNotFound
from bot.github.client import translate_errors

MAX_REVIEWS = 200
MAX_COMMENTS = 200


class GitHubPulls:
    """Implements :class:`bot.course.review_coach.PullReader` for the practice repository."""

    def __init__(self, github: Github, upstream: str) -> None:
        self.lazy_github = github.withLazy(True)
        self.upstream = upstream

    def read(self, number: int, after_review_id: int = 0) -> PullView:
        """Raises ``GitHubUnavailable`` (GitHub down, rate-limited) or ``GitHubNotFound``."""
        with translate_errors():
            try:
                return self._read(number, after_review_id)
            except UnknownObjectException as error:
                raise GitHubNotFound(f"pull request #{number}") from error

    def _read(self, number: int, after_review_id: int) -> PullView:
        pull = self.lazy_github.get_repo(self.upstream).get_pull(number)
        reviews = [r for r in islice(pull.get_reviews(), MAX_REVIEWS) if r.state != "PENDING"]
        comments: dict[int, list[str]] = {}
        if any(
            r.id > after_review_id
            and r.state in (ReviewKind.CHANGES_REQUESTED, ReviewKind.COMMENTED)
            for r in reviews
        ):
            for comment in islice(pull.get_review_comments(), MAX_COMMENTS):
                if comment.pull_request_review_id:
                    comments.setdefault(int(comment.pull_request_review_id), []).append(
                        comment.body or ""
                    )
        # The lazy pull request asks GitHub here (its mergeability is only in this answer).
        return PullView(
            number=pull.number,
            url=pull.html_url,
            state=pull.state,
            merged=bool(pull.merged),
            head_sha=pull.head.sha,
            mergeable=pull.mergeable,
            reviews=tuple(
                Review(
                    id=r.id,
                    reviewer=r.user.login if r.user else "",
                    kind=r.state,
                    body=r.body or "",
                    commit_id=r.commit_id,
                    first_comment=(comments.get(r.id) or [""])[0],
                    suggestions=sum(1 for c in comments.get(r.id, []) if has_suggestion(c)),
                )
                for r in reviews
            ),
            merged_by=pull.merged_by.login if pull.merged_by else None,
        )
