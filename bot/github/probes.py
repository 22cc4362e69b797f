"""Cheap "has anything changed?" questions, asked with ``If-None-Match``.

A 304 Not Modified costs nothing against GitHub's rate limit, so the background checks
ask one conditional question per learner and only run the real check when the answer
changed: a new repository (fork step), a new branch or a new commit (the fork's branch
list carries each branch's head), a new or changed pull request.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote, urlencode

from github import Github, UnknownObjectException

from bot.course.ports import CheckContext, ProbeAnswer
from bot.github.client import translate_errors


class GitHubProber:
    """Implements :class:`bot.course.ports.Prober` against one practice repository."""

    def __init__(self, github: Github, upstream: str) -> None:
        self.github = github
        self.upstream = upstream

    def url_for(self, check: str, context: CheckContext) -> str | None:
        """The one listing whose change means this step may be done; None: nothing to watch."""
        facts, login = context.facts, context.login
        if not login:
            return None
        # Logins, repository and branch names are quoted: a branch named ``fix#1&a+b`` must
        # reach GitHub whole, not cut at ``#`` or split into two query parameters.
        if check == "fork_exists":
            return f"/users/{quote(login, safe='')}/repos?type=owner&per_page=100"
        if check in ("branch_exists", "commit_on_branch") and facts.get("fork"):
            return f"/repos/{_repo_path(str(facts['fork']))}/branches?per_page=100"
        if check == "pull_request_opened" and facts.get("branch"):
            query = urlencode(
                {"state": "all", "per_page": 100, "head": f"{login}:{facts['branch']}"}
            )
            return f"/repos/{_repo_path(self.upstream)}/pulls?{query}"
        if check == "pull_request_merged" and facts.get("pr_number"):
            number = quote(str(facts["pr_number"]), safe="")
            return f"/repos/{_repo_path(self.upstream)}/pulls/{number}"
        return None

    def probe(self, url: str, etag: str | None) -> ProbeAnswer:
        headers = {"If-None-Match": etag} if etag else {}
        with translate_errors():
            try:
                answer, data = self.github.requester.requestJsonAndCheck(
                    "GET", url, headers=headers
                )
            except UnknownObjectException:
                # Gone (a deleted fork): something changed, let the real check explain.
                return ProbeAnswer(True, None, None, None, None)
        remaining = _int(answer.get("x-ratelimit-remaining"))
        reset = _int(answer.get("x-ratelimit-reset"))
        reset_at = datetime.fromtimestamp(reset, UTC) if reset is not None else None
        # PyGithub hands back no data for a 304.
        changed = data is not None
        limit = _int(answer.get("x-ratelimit-limit"))
        return ProbeAnswer(changed, answer.get("etag") or etag, remaining, limit, reset_at)


def _repo_path(full_name: str) -> str:
    """``owner/name`` with each part quoted (the slash between them kept)."""
    owner, _, name = full_name.partition("/")
    return f"{quote(owner, safe='')}/{quote(name, safe='')}"


def _int(value: object) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None
