"""The facts course texts may mention ({fork_url}, {branch}…), built from what we know."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.course.course import Course
from bot.course.learner import Learner


@dataclass(frozen=True)
class Site:
    """Where the course happens: GitHub's website and the cohort's practice repository."""

    github_url: str
    upstream: str  # owner/name


def learner_facts(site: Site, course: Course, learner: Learner | None) -> dict[str, str]:
    known: dict[str, Any] = dict(learner.facts) if learner else {}
    login = (learner.github_login if learner else None) or ""
    gh = site.github_url
    default_branch = str(known.get("default_branch") or "main")
    branch = str(known.get("branch") or "")
    fork = str(known.get("fork") or "")
    commit_step = course.step_with_check("commit_on_branch")
    pattern = str(commit_step.params.get("path_pattern", "")) if commit_step else ""
    upstream_branch = str(known.get("upstream_default_branch") or default_branch)
    return {
        "github_url": gh,
        "upstream": site.upstream,
        "upstream_url": f"{gh}/{site.upstream}",
        "fork_new_url": f"{gh}/{site.upstream}/fork",
        "signup_url": f"{gh}/signup",
        "email_settings_url": f"{gh}/settings/emails",
        "login": login,
        "fork": fork,
        "fork_url": f"{gh}/{fork}" if fork else "",
        "branch": branch,
        "default_branch": default_branch,
        "path_pattern": pattern,
        "expected_path": pattern.replace("*", login or "your-login") if pattern else "",
        "compare_url": (
            f"{gh}/{site.upstream}/compare/{upstream_branch}...{login}:{branch}?expand=1"
            if login and branch
            else f"{gh}/{site.upstream}/compare"
        ),
        # Never an empty link: before the number is known, the repository's pull requests.
        "pr_url": str(known.get("pr_url") or f"{gh}/{site.upstream}/pulls"),
    }
