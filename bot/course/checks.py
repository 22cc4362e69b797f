"""What a check answers, and the checks a course may name.

A check looks at GitHub and answers *done*, *not yet*, or *a named mistake*, always with
the facts it found (repository names, branches, links), so the learner is never left
with a bare "no". The GitHub side (:mod:`bot.github.checks`) implements these names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

# History line of a learner sent back to a step whose work vanished (a deleted fork…).
MOVED_BACK = "moved_back"

# What a step learned, forgotten when its work vanishes (and with it, the later steps').
VANISHED_FACTS: dict[str, tuple[str, ...]] = {
    "fork_exists": ("fork", "fork_id", "default_branch", "upstream_default_branch"),
    "branch_exists": ("branch", "branches", "head_sha", "pr_number", "pr_url"),
}


class Outcome(StrEnum):
    DONE = "done"
    NOT_YET = "not_yet"
    MISTAKE = "mistake"
    # GitHub could not be asked: says nothing about the learner, never moves progress.
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class Diagnosis:
    """One thing found wrong (or worth a warning), with the facts that show it.

    A non-blocking diagnosis is a warning: the step still counts as done.
    """

    code: str
    facts: Mapping[str, str] = field(default_factory=dict)
    blocking: bool = True


@dataclass(frozen=True)
class CheckResult:
    outcome: Outcome
    diagnoses: tuple[Diagnosis, ...] = ()
    # What the check learned and later steps need (the fork's name, the branch, the PR…).
    learned: Mapping[str, Any] = field(default_factory=dict)
    # Work of an earlier step is gone (a deleted fork or branch): the check that must be done
    # again. The one case where progress moves back.
    back_to: str | None = None

    @property
    def done(self) -> bool:
        return self.outcome is Outcome.DONE

    @property
    def main_diagnosis(self) -> Diagnosis | None:
        return self.diagnoses[0] if self.diagnoses else None

    @classmethod
    def done_with(cls, learned: Mapping[str, Any], *warnings: Diagnosis) -> CheckResult:
        return cls(Outcome.DONE, tuple(warnings), learned)

    @classmethod
    def not_yet(cls, code: str, **facts: str) -> CheckResult:
        return cls(Outcome.NOT_YET, (Diagnosis(code, facts),))

    @classmethod
    def mistake(
        cls, code: str, learned: Mapping[str, Any] | None = None, **facts: str
    ) -> CheckResult:
        return cls(Outcome.MISTAKE, (Diagnosis(code, facts),), learned or {})

    @classmethod
    def vanished(cls, code: str, back_to: str, **facts: str) -> CheckResult:
        """The work of the step checked by ``back_to`` is gone: do that step again."""
        return cls(Outcome.MISTAKE, (Diagnosis(code, facts),), {}, back_to)


# Every check a course may name, with the diagnosis codes it can return: the course
# loader refuses a course naming another check or lacking a hint for one of these codes.
CHECKS: dict[str, frozenset[str]] = {
    "github_account": frozenset(
        {
            "login_malformed",
            "login_too_long",
            "login_is_email",
            "login_looks_like_name",
            "account_not_found",
            "account_is_organization",
        }
    ),
    "fork_exists": frozenset(
        {
            "no_fork",
            "fork_under_organization",
            "repo_not_a_fork",
            "fork_of_other_repo",
            "fork_deleted",
        }
    ),
    "branch_exists": frozenset(
        {
            "no_branch",
            "branch_in_upstream",
            "branch_copied_only",
            "branch_web_editor",
            "branch_web_editor_upstream",
            "branch_deleted",
        }
    ),
    "commit_on_branch": frozenset(
        {
            "no_commit",
            "wrong_file",
            "file_rewritten",
            "file_edited_existing",
            "file_empty",
            "file_wrong_folder",
            "file_at_root",
            "file_wrong_case",
            "file_wrong_extension",
            "file_not_text",
            "several_files",
            "committed_on_default_branch",
            "author_not_linked",
        }
    ),
    "pull_request_opened": frozenset(
        {
            "no_pull_request",
            "pr_inside_fork",
            "pr_from_default_branch",
            "pr_wrong_base",
            "pr_without_own_file",
            "pr_draft",
            "pr_closed_unmerged",
            "pr_conflicts",
            "pr_no_description",
            "pr_default_title",
        }
    ),
    "pull_request_merged": frozenset({"awaiting_review", "pr_conflicts", "pr_closed_unmerged"}),
}

# Facts every text of the course may use; diagnosis facts come on top, per code.
COMMON_FACTS = frozenset(
    {
        "github_url",
        "upstream",
        "upstream_url",
        "fork_new_url",
        "login",
        "fork",
        "fork_url",
        "branch",
        "default_branch",
        "expected_path",
        "path_pattern",
        "compare_url",
        "pr_url",
        "signup_url",
        "email_settings_url",
    }
)

DIAGNOSIS_FACTS: dict[str, frozenset[str]] = {
    "login_malformed": frozenset({"given"}),
    "login_too_long": frozenset({"given"}),
    "account_not_found": frozenset({"given"}),
    "account_is_organization": frozenset({"given"}),
    "fork_under_organization": frozenset({"found_repo", "found_repo_url", "org"}),
    "repo_not_a_fork": frozenset({"found_repo", "found_repo_url"}),
    "fork_of_other_repo": frozenset({"found_repo", "found_repo_url", "other_parent"}),
    "login_is_email": frozenset({"given"}),
    "login_looks_like_name": frozenset({"given"}),
    "fork_deleted": frozenset({"gone_fork"}),
    "branch_in_upstream": frozenset({"found_branch"}),
    "branch_copied_only": frozenset({"copied"}),
    "branch_web_editor": frozenset({"found_branch"}),
    "branch_web_editor_upstream": frozenset({"found_branch"}),
    "branch_deleted": frozenset({"gone_branch"}),
    "wrong_file": frozenset({"files"}),
    "file_rewritten": frozenset({"file", "changed_lines"}),
    "file_edited_existing": frozenset({"file", "file_status"}),
    "file_empty": frozenset({"file"}),
    "file_wrong_folder": frozenset({"file"}),
    "file_at_root": frozenset({"file"}),
    "file_wrong_case": frozenset({"file"}),
    "file_wrong_extension": frozenset({"file"}),
    "file_not_text": frozenset({"file"}),
    "several_files": frozenset({"files"}),
    "pr_wrong_base": frozenset({"base"}),
    "pr_without_own_file": frozenset({"found_branch"}),
    "pr_default_title": frozenset({"title"}),
    "committed_on_default_branch": frozenset({"ahead_by"}),
    "author_not_linked": frozenset({"email"}),
    "awaiting_review": frozenset({"reviewers"}),
}
