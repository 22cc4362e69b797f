"""One check per step, each looking at GitHub and returning a :class:`CheckResult`.

Every check starts with the single request that settles the common case (the learner
did it right) and only looks further to explain what went wrong. A 404 is a fact about
the learner's repositories, never an error.
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Callable, Iterable

from github import Github, UnknownObjectException
from github.Comparison import Comparison
from github.PullRequest import PullRequest
from github.Repository import Repository

from bot.course.checks import CheckResult, Diagnosis, Outcome
from bot.course.ports import CheckContext
from bot.errors import GitHubNotFound
from bot.github.client import translate_errors

log = logging.getLogger(__name__)

# Bounds on how far a diagnosis may look, so one confused learner cannot cost dozens
# of requests.
MAX_FORKS_TO_INSPECT = 5
MAX_ORGS_TO_INSPECT = 5
MAX_BRANCHES_TO_COMPARE = 3

# Checks whose "not yet" could come from asking under an old login: they look for the
# learner's work by login (``login:branch``), where a renamed account finds nothing. The
# others reach the learner's repositories by name (GitHub redirects the old names), or say
# GitHubNotFound when the login no longer answers.
_BY_LOGIN = frozenset({"commit_on_branch", "pull_request_opened"})


class GitHubChecks:
    """Implements :class:`bot.course.ports.StepChecker` against one practice repository."""

    def __init__(self, github: Github, upstream: str) -> None:
        self.github = github
        # Lazy objects make no request until a method needs one: saves a GET per check.
        self.lazy_github = github.withLazy(True)
        self.upstream = upstream
        self.upstream_owner, self.upstream_name = upstream.split("/", 1)
        self._checks: dict[str, Callable[[CheckContext], CheckResult]] = {
            "fork_exists": self.fork_exists,
            "branch_exists": self.branch_exists,
            "commit_on_branch": self.commit_on_branch,
            "pull_request_opened": self.pull_request_opened,
            "pull_request_merged": self.pull_request_merged,
        }

    def run(self, check: str, context: CheckContext) -> CheckResult:
        if check == "github_account":
            return self.find_account(context.login or "")
        with translate_errors():
            try:
                return self._checks[check](context)
            except UnknownObjectException as error:
                # The learner's account under this login (renamed?), or their fork (deleted?):
                # the coach looks the account up by id before saying anything.
                raise GitHubNotFound(f"{check}: GitHub answered 404") from error

    def depends_on_login(self, check: str) -> bool:
        """Whether a "not yet" of ``check`` may only mean that the account was renamed."""
        return check in _BY_LOGIN

    def account_login(self, github_user_id: int) -> str | None:
        """The account's login today, by its id (``GET /user/{id}``); None when it is gone."""
        with translate_errors():
            try:
                return str(self.github.get_user_by_id(github_user_id).login)
            except UnknownObjectException:
                return None

    # -- 1. account -------------------------------------------------------------------

    def find_account(self, login: str) -> CheckResult:
        with translate_errors():
            try:
                user = self.github.get_user(login)
            except UnknownObjectException:
                return CheckResult.mistake("account_not_found", given=login)
            if user.type == "Organization":
                return CheckResult.mistake("account_is_organization", given=user.login)
            # GitHub's spelling of the login, not what the learner typed.
            return CheckResult.done_with({"github_login": user.login, "github_user_id": user.id})

    # -- 2. fork ----------------------------------------------------------------------

    def fork_exists(self, context: CheckContext) -> CheckResult:
        login = _login(context)
        suspects: list[CheckResult] = []

        # The usual case: a fork under the learner's account with the upstream's name.
        same_name = self._repo(f"{login}/{self.upstream_name}")
        if same_name is not None:
            verdict = self._judge_fork(same_name)
            if verdict.done:
                return verdict
            suspects.append(verdict)

        # A renamed fork: among the learner's own repositories, one whose parent we want.
        # Lazy: no GET /users/{login}, the two listings below are all we need of the account.
        account = self.github.get_user(login, lazy=True)
        owned = account.get_repos(type="owner")
        inspected = 0
        for repo in owned:
            if not repo.fork or repo.name.lower() == self.upstream_name.lower():
                continue
            if inspected >= MAX_FORKS_TO_INSPECT:
                break
            inspected += 1
            full = self._repo(repo.full_name)  # the list omits `parent`
            if full is not None:
                verdict = self._judge_fork(full)
                if verdict.done:
                    return verdict
                if verdict.main_diagnosis and verdict.main_diagnosis.code != "repo_not_a_fork":
                    suspects.append(verdict)

        # A fork made under an organisation the learner belongs to.
        for org in list(account.get_orgs())[:MAX_ORGS_TO_INSPECT]:
            in_org = self._repo(f"{org.login}/{self.upstream_name}")
            if in_org is not None and self._is_fork_of_upstream(in_org):
                return CheckResult.mistake(
                    "fork_under_organization",
                    found_repo=in_org.full_name,
                    found_repo_url=in_org.html_url,
                    org=org.login,
                )
        if suspects:
            return suspects[0]
        return CheckResult.not_yet("no_fork")

    def _judge_fork(self, repo: Repository) -> CheckResult:
        if not repo.fork:
            return CheckResult.mistake(
                "repo_not_a_fork", found_repo=repo.full_name, found_repo_url=repo.html_url
            )
        if self._is_fork_of_upstream(repo):
            return CheckResult.done_with(
                {
                    "fork": repo.full_name,
                    "fork_id": repo.id,
                    "default_branch": repo.default_branch,
                    "upstream_default_branch": repo.parent.default_branch,
                }
            )
        parent = repo.parent.full_name if repo.parent else "?"
        return CheckResult.mistake(
            "fork_of_other_repo",
            found_repo=repo.full_name,
            found_repo_url=repo.html_url,
            other_parent=parent,
        )

    def _is_fork_of_upstream(self, repo: Repository) -> bool:
        # A fork of a colleague's fork shares the network but not the parent: not this.
        return bool(repo.parent) and repo.parent.full_name.lower() == self.upstream.lower()

    # -- 3. branch --------------------------------------------------------------------

    def branch_exists(self, context: CheckContext) -> CheckResult:
        fork, default = _fork(context), _default_branch(context)
        branches = [b.name for b in self._lazy(fork).get_branches()]
        others = [b for b in branches if b != default]
        if others:
            return CheckResult.done_with(
                {"branch": _prefer(others, context.login), "branches": others}
            )
        # Created in the upstream by mistake (possible when the learner may push there)?
        login = (context.login or "").lower()
        upstream_default = context.facts.get("upstream_default_branch", default)
        for branch in self._lazy(self.upstream).get_branches():
            if branch.name != upstream_default and login and login in branch.name.lower():
                return CheckResult.mistake("branch_in_upstream", found_branch=branch.name)
        return CheckResult.not_yet("no_branch")

    # -- 4. commit --------------------------------------------------------------------

    def commit_on_branch(self, context: CheckContext) -> CheckResult:
        fork, default = _fork(context), _default_branch(context)
        branch = str(context.facts.get("branch") or "")
        repo = self._lazy(fork)
        if branch:
            comparison = self._compare(repo, default, branch)
            if comparison is not None and comparison.ahead_by > 0:
                return self._judge_changes(comparison, branch, context)

        # Nothing on the branch we know: maybe on another branch, maybe on the default one.
        known = [b.name for b in repo.get_branches() if b.name not in (default, branch)]
        for other in _ordered(known, context.login)[:MAX_BRANCHES_TO_COMPARE]:
            comparison = self._compare(repo, default, other)
            if comparison is not None and comparison.ahead_by > 0:
                return self._judge_changes(comparison, other, context)

        login = _login(context)
        upstream_default = str(context.facts.get("upstream_default_branch") or default)
        on_default = self._compare(
            self._lazy(self.upstream), upstream_default, f"{login}:{default}"
        )
        if on_default is not None and on_default.ahead_by > 0:
            return CheckResult.mistake(
                "committed_on_default_branch",
                ahead_by=str(on_default.ahead_by),
                default_branch=default,
            )
        return CheckResult.not_yet("no_commit", branch=branch)

    def _judge_changes(
        self, comparison: Comparison, branch: str, context: CheckContext
    ) -> CheckResult:
        pattern = str(context.params.get("path_pattern") or "")
        limit = int(context.params.get("max_changed_lines") or 0)
        files = list(comparison.files)
        learned = {
            "branch": branch,
            "head_sha": comparison.commits[-1].sha if comparison.total_commits else "",
        }
        if pattern:
            strays = [f.filename for f in files if not fnmatch.fnmatch(f.filename, pattern)]
            if strays:
                return CheckResult.mistake("wrong_file", learned, files=", ".join(strays[:5]))
        if limit:
            for changed in files:
                # Rewriting or reformatting an existing file shows as many deletions.
                if changed.status == "modified" and changed.deletions > limit:
                    return CheckResult.mistake(
                        "file_rewritten",
                        learned,
                        file=changed.filename,
                        changed_lines=str(changed.changes),
                    )
        warnings: list[Diagnosis] = []
        for commit in comparison.commits:
            if commit.author is None:
                email = commit.commit.author.email if commit.commit.author else ""
                warnings.append(Diagnosis("author_not_linked", {"email": email}, blocking=False))
                break
        return CheckResult.done_with(learned, *warnings)

    # -- 5. pull request --------------------------------------------------------------

    def pull_request_opened(self, context: CheckContext) -> CheckResult:
        login, fork = _login(context), _fork(context)
        branch = str(context.facts.get("branch") or "")
        upstream = self._lazy(self.upstream)
        pulls = list(upstream.get_pulls(state="all", head=f"{login}:{branch}")) if branch else []
        chosen = _best_pull(pulls)
        if chosen is not None:
            learned = {"pr_number": chosen.number, "pr_url": chosen.html_url}
            if chosen.state == "closed" and not chosen.merged:
                return CheckResult.mistake("pr_closed_unmerged", learned, pr_url=chosen.html_url)
            warnings = []
            if chosen.draft:
                warnings.append(Diagnosis("pr_draft", {"pr_url": chosen.html_url}, blocking=False))
            if chosen.state == "open":
                # Only the single-PR endpoint tells mergeability (null while GitHub computes).
                detailed = upstream.get_pull(chosen.number)
                if detailed.mergeable is False:
                    warnings.append(
                        Diagnosis("pr_conflicts", {"pr_url": chosen.html_url}, blocking=False)
                    )
            return CheckResult.done_with(learned, *warnings)

        default = _default_branch(context)
        from_default = _best_pull(list(upstream.get_pulls(state="all", head=f"{login}:{default}")))
        if from_default is not None:
            return CheckResult.mistake("pr_from_default_branch", pr_url=from_default.html_url)
        inside = _best_pull(list(self._lazy(fork).get_pulls(state="all")))
        if inside is not None:
            return CheckResult.mistake("pr_inside_fork", pr_url=inside.html_url)
        return CheckResult.not_yet("no_pull_request")

    # -- 6. merged --------------------------------------------------------------------

    def pull_request_merged(self, context: CheckContext) -> CheckResult:
        number = context.facts.get("pr_number")
        if not number:
            return CheckResult.not_yet("awaiting_review", reviewers="", pr_url="")
        pull = self._lazy(self.upstream).get_pull(int(number))
        if pull.merged:
            return CheckResult.done_with(
                {"merged_at": pull.merged_at.isoformat() if pull.merged_at else ""}
            )
        if pull.state == "closed":
            return CheckResult.mistake("pr_closed_unmerged", pr_url=pull.html_url)
        if pull.mergeable is False:
            return CheckResult.mistake("pr_conflicts", pr_url=pull.html_url)
        reviewers = ", ".join(u.login for u in pull.requested_reviewers)
        return CheckResult(
            Outcome.NOT_YET,
            (Diagnosis("awaiting_review", {"reviewers": reviewers, "pr_url": pull.html_url}),),
        )

    # -- helpers ----------------------------------------------------------------------

    def _repo(self, full_name: str) -> Repository | None:
        try:
            return self.github.get_repo(full_name)
        except UnknownObjectException:
            return None

    def _lazy(self, full_name: str) -> Repository:
        return self.lazy_github.get_repo(full_name)

    def _compare(self, repo: Repository, base: str, head: str) -> Comparison | None:
        try:
            return repo.compare(base, head)
        except UnknownObjectException:
            return None


def _login(context: CheckContext) -> str:
    if not context.login:
        raise ValueError("this check needs the learner's GitHub login")
    return context.login


def _fork(context: CheckContext) -> str:
    fork = context.facts.get("fork")
    if not fork:
        raise ValueError("this check needs the learner's fork (from the fork step)")
    return str(fork)


def _default_branch(context: CheckContext) -> str:
    return str(context.facts.get("default_branch") or "main")


def _ordered(branches: Iterable[str], login: str | None) -> list[str]:
    """Branches named after the learner first: the course suggests ``add-<login>``."""
    lowered = (login or "").lower()
    return sorted(branches, key=lambda b: (lowered not in b.lower(), b))


def _prefer(branches: list[str], login: str | None) -> str:
    return _ordered(branches, login)[0]


def _best_pull(pulls: list[PullRequest]) -> PullRequest | None:
    """Open first, then merged, then closed; newest first within each."""

    def rank(pull: PullRequest) -> tuple[int, int]:
        state = 0 if pull.state == "open" else 1 if pull.merged else 2
        return state, -pull.number

    return min(pulls, key=rank) if pulls else None
