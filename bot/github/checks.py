"""One check per step, each looking at GitHub and returning a :class:`CheckResult`.

Every check starts with the single request that settles the common case (the learner
did it right) and only looks further to explain what went wrong. A 404 is a fact about
the learner's repositories, never an error.
"""

from __future__ import annotations

import fnmatch
import logging
import posixpath
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

from github import Github, UnknownObjectException
from github.Comparison import Comparison
from github.File import File
from github.PullRequest import PullRequest
from github.Repository import Repository

from bot.course.checks import CheckResult, Diagnosis, Outcome
from bot.course.ports import CheckContext
from bot.errors import GitHubNotFound, GitHubUnavailable, MissingFact
from bot.github.client import guard_answers, translate_errors

log = logging.getLogger(__name__)

# Bounds on how far a diagnosis may look, so one confused learner cannot cost dozens
# of requests.
MAX_FORKS_TO_INSPECT = 5
MAX_BRANCHES_TO_COMPARE = 3
MAX_ORG_FORKS_TO_INSPECT = 3

# git's id of an empty file: an added file with this blob has nothing in it.
EMPTY_BLOB = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
# Files people upload with "Add file → Upload files" that are not text GitHub can show.
NOT_TEXT = frozenset(
    {
        ".doc", ".docx", ".odt", ".rtf", ".pages", ".pdf", ".xls", ".xlsx", ".ods",
        ".ppt", ".pptx", ".odp", ".key", ".png", ".jpg", ".jpeg", ".gif", ".heic", ".zip",
    }
)  # fmt: skip
# The branch GitHub's web editor makes for a change proposed from the website.
_WEB_EDITOR_BRANCH = re.compile(r"^patch-\d+$")
# Titles GitHub fills in by itself (the web editor's commit messages become the title).
_DEFAULT_TITLE = re.compile(
    r"^(?:(?:Create|Update|Delete|Rename) \S+|Add files via upload|Patch \d+)$", re.IGNORECASE
)

# Checks whose "not yet" could come from asking under an old login: they look for the
# learner's work by login (``login:branch``), where a renamed account finds nothing. The
# others reach the learner's repositories by name (GitHub redirects the old names), or say
# GitHubNotFound when the login no longer answers.
_BY_LOGIN = frozenset({"commit_on_branch", "pull_request_opened"})


class GitHubChecks:
    """Implements :class:`bot.course.ports.StepChecker` against one practice repository."""

    def __init__(self, github: Github, upstream: str) -> None:
        self.github = guard_answers(github)
        # Lazy objects make no request until a method needs one: saves a GET per check.
        self.lazy_github = guard_answers(github.withLazy(True))
        # Listings of the practice repository shared by every learner (its forks, its
        # branches), asked again with If-None-Match: unchanged, they cost nothing.
        self._shared: dict[str, tuple[str, Any]] = {}
        self._shared_lock = threading.Lock()
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
            except _Vanished as gone:
                return gone.result
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
            # GitHub's spelling of the login, not what the learner typed; and what the learner
            # needs to recognise the account as theirs (shown, not stored).
            created = user.created_at
            return CheckResult.done_with(
                {
                    "github_login": user.login,
                    "github_user_id": user.id,
                    "github_name": user.name or "",
                    "avatar_url": user.avatar_url or "",
                    "created_on": created.date().isoformat() if created else "",
                }
            )

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

        # Otherwise the practice repository's own list of forks (shared by every learner,
        # asked conditionally): a renamed fork, or one made under an organisation.
        forks = self._upstream_forks()
        user_id = context.facts.get("github_user_id")
        for fork in forks:
            owner = fork.get("owner") or {}
            mine = _owner(fork).lower() == login.lower()
            if mine or (user_id is not None and owner.get("id") == user_id):
                return CheckResult.done_with(
                    {
                        "fork": fork["full_name"],
                        "fork_id": fork["id"],
                        "default_branch": fork.get("default_branch") or "main",
                        "upstream_default_branch": fork.get("default_branch") or "main",
                        # Found by the account's id under another login: it was renamed.
                        "seen_login": _owner(fork),
                    }
                )
        in_org = self._org_fork_of(login, forks, context)
        if in_org is not None:
            return in_org
        if suspects:
            return suspects[0]
        return CheckResult.not_yet("no_fork")

    def _org_fork_of(
        self, login: str, forks: list[dict[str, Any]], context: CheckContext
    ) -> CheckResult | None:
        """A fork under an organisation that is the learner's: the fork webhook said they
        made it, they are a public member, or it holds a branch named after them (private
        memberships are invisible to the bot)."""
        in_orgs = [f for f in forks if (f.get("owner") or {}).get("type") == "Organization"]
        in_orgs = in_orgs[:MAX_ORG_FORKS_TO_INSPECT]
        if not in_orgs:
            return None

        def found(fork: dict[str, Any]) -> CheckResult:
            return CheckResult.mistake(
                "fork_under_organization",
                found_repo=fork["full_name"],
                found_repo_url=fork.get("html_url") or "",
                org=_owner(fork),
            )

        hint = str(context.facts.get("fork_hint") or "").lower()
        for fork in in_orgs:
            if fork["full_name"].lower() == hint:
                return found(fork)
        account = self.github.get_user(login, lazy=True)
        public = {o.login.lower() for o in account.get_orgs().get_page(0)}
        for fork in in_orgs:
            if _owner(fork).lower() in public:
                return found(fork)
        for fork in in_orgs:
            try:
                names = [b.name for b in self._lazy(fork["full_name"]).get_branches()]
            except UnknownObjectException:
                continue
            if any(_names_login(name, login) for name in names):
                return found(fork)
        return None

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
        login = context.login or ""
        heads = self._fork_branches(fork)
        others = {name: sha for name, sha in heads.items() if name != default}
        own = [name for name in others if _names_login(name, login)]
        if others and not own:
            # A branch not named after the learner may be one the fork copied from the
            # practice repository: it counts only if the practice repository does not have
            # it at the same commit.
            upstream = self._upstream_branches()
            own = [name for name, sha in others.items() if upstream.get(name) != sha]
        if own:
            branch = _prefer(own, login)
            warnings = []
            if _WEB_EDITOR_BRANCH.match(branch):
                warnings.append(
                    Diagnosis("branch_web_editor", {"found_branch": branch}, blocking=False)
                )
            return CheckResult.done_with({"branch": branch, "branches": own}, *warnings)
        # Created in the practice repository by mistake (possible with write access there)?
        upstream_default = str(context.facts.get("upstream_default_branch") or default)
        for name in sorted(self._upstream_branches()):
            if name == upstream_default or not _names_login(name, login):
                continue
            if re.fullmatch(rf"{re.escape(login)}-patch-\d+", name, re.IGNORECASE):
                return CheckResult.mistake("branch_web_editor_upstream", found_branch=name)
            return CheckResult.mistake("branch_in_upstream", found_branch=name)
        if others:
            return CheckResult.mistake("branch_copied_only", copied=", ".join(sorted(others)[:5]))
        return CheckResult.not_yet("no_branch")

    def _fork_branches(self, fork: str) -> dict[str, str]:
        """Branch name → head commit of the fork; a fork that answers 404 was deleted."""
        try:
            return {b.name: b.commit.sha for b in self._lazy(fork).get_branches()}
        except UnknownObjectException:
            raise _Vanished(_fork_gone(fork)) from None

    # -- 4. commit --------------------------------------------------------------------

    def commit_on_branch(self, context: CheckContext) -> CheckResult:
        fork, default = _fork(context), _default_branch(context)
        branch = str(context.facts.get("branch") or "")
        login = context.login or ""
        repo = self._lazy(fork)
        if branch:
            comparison = self._compare(repo, default, branch)
            if comparison is not None and comparison.ahead_by > 0:
                return self._judge_changes(comparison, branch, context)

        # Nothing on the branch we know: maybe on another branch of theirs, maybe on the
        # default one. Branches the fork copied from the practice repository are not theirs.
        heads = self._fork_branches(fork)
        if branch and branch not in heads:
            others = [n for n in heads if n != default]
            if not others:
                return _branch_gone(branch)
        known = {n: sha for n, sha in heads.items() if n not in (default, branch)}
        if known and not all(_names_login(n, login) for n in known):
            upstream = self._upstream_branches()
            known = {n: sha for n, sha in known.items() if upstream.get(n) != sha}
        for other in _ordered(known, login)[:MAX_BRANCHES_TO_COMPARE]:
            comparison = self._compare(repo, default, other)
            if comparison is not None and comparison.ahead_by > 0:
                return self._judge_changes(comparison, other, context)
        if branch and branch not in heads:
            return _branch_gone(branch)

        upstream_default = str(context.facts.get("upstream_default_branch") or default)
        on_default = self._compare(
            self._lazy(self.upstream), upstream_default, f"{_login(context)}:{default}"
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
        head = comparison.commits[-1] if comparison.total_commits else None
        learned = {
            "branch": branch,
            "head_sha": head.sha if head is not None else "",
        }
        if pattern:
            verdict = _judge_files(files, pattern, limit, learned)
            if verdict is not None:
                return verdict
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
        if not pulls:
            # Whatever its branch (GitHub's web editor names its own, `patch-1`): the practice
            # repository's pull requests whose head is the learner's fork or account.
            fork_id = context.facts.get("fork_id")
            recent = upstream.get_pulls(state="all", sort="updated", direction="desc").get_page(0)
            pulls = [p for p in recent if _from_learner(p, login, fork, fork_id)]
        chosen = _best_pull(pulls)
        if chosen is not None:
            return self._judge_pull(upstream, chosen, context)
        try:
            inside = _best_pull(list(self._lazy(fork).get_pulls(state="all")))
        except UnknownObjectException:
            return _fork_gone(fork)
        if inside is not None:
            return CheckResult.mistake("pr_inside_fork", pr_url=inside.html_url)
        if branch:
            try:
                self._lazy(fork).get_branch(branch)
            except UnknownObjectException:
                return _branch_gone(branch)
        return CheckResult.not_yet("no_pull_request")

    def _judge_pull(
        self, upstream: Repository, chosen: PullRequest, context: CheckContext
    ) -> CheckResult:
        default = _default_branch(context)
        upstream_default = str(context.facts.get("upstream_default_branch") or default)
        url = chosen.html_url
        head_ref = chosen.head.ref
        if head_ref == default and head_ref != str(context.facts.get("branch") or ""):
            return CheckResult.mistake("pr_from_default_branch", pr_url=url)
        if chosen.base.ref != upstream_default:
            return CheckResult.mistake("pr_wrong_base", pr_url=url, base=chosen.base.ref)
        pattern = str(context.params.get("path_pattern") or "")
        known = str(context.facts.get("branch") or "")
        if pattern and head_ref != known and chosen.head.user is not None:
            # Another branch than the one whose file was checked: it must bring the file too.
            head = f"{chosen.head.user.login}:{head_ref}"
            changes = self._compare(upstream, chosen.base.ref, head)
            if changes is not None and _judge_files(list(changes.files), pattern, 0, {}):
                return CheckResult.mistake("pr_without_own_file", pr_url=url, found_branch=head_ref)
        learned: dict[str, Any] = {"pr_number": chosen.number, "pr_url": url}
        if chosen.head.user is not None:
            learned["seen_login"] = chosen.head.user.login  # a renamed account shows here
        if head_ref and head_ref != context.facts.get("branch"):
            learned["branch"] = head_ref  # the branch the pull request really comes from
        if chosen.state == "closed" and not chosen.merged:
            return CheckResult.mistake("pr_closed_unmerged", learned, pr_url=url)
        warnings = []
        if chosen.draft:
            warnings.append(Diagnosis("pr_draft", {"pr_url": url}, blocking=False))
        if chosen.state == "open":
            # Only the single-PR endpoint tells mergeability (null while GitHub computes).
            detailed = upstream.get_pull(chosen.number)
            if detailed.mergeable is False:
                warnings.append(Diagnosis("pr_conflicts", {"pr_url": url}, blocking=False))
        if not (chosen.body or "").strip():
            warnings.append(Diagnosis("pr_no_description", {"pr_url": url}, blocking=False))
        if _is_default_title(chosen.title or "", head_ref, context):
            warnings.append(
                Diagnosis(
                    "pr_default_title", {"pr_url": url, "title": chosen.title}, blocking=False
                )
            )
        return CheckResult.done_with(learned, *warnings)

    # -- 6. merged --------------------------------------------------------------------

    def pull_request_merged(self, context: CheckContext) -> CheckResult:
        number = context.facts.get("pr_number")
        if not number:
            # The pull request's link, when known, comes from the learner's facts.
            return CheckResult.not_yet("awaiting_review", reviewers="")
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

    def _upstream_forks(self) -> list[dict[str, Any]]:
        """The practice repository's forks, newest first (first page: a cohort fits)."""
        return self._shared_listing(f"/repos/{self.upstream}/forks?sort=newest&per_page=100")

    def _upstream_branches(self) -> dict[str, str]:
        """Branch name → head commit, in the practice repository."""
        listing = self._shared_listing(f"/repos/{self.upstream}/branches?per_page=100")
        return {
            str(b.get("name")): str((b.get("commit") or {}).get("sha"))
            for b in listing
            if isinstance(b, dict)
        }

    def _shared_listing(self, url: str) -> list[Any]:
        """A listing of the practice repository, asked with the ETag of the last answer:
        when nothing changed GitHub answers 304, which costs nothing."""
        with self._shared_lock:
            cached = self._shared.get(url)
        headers = {"If-None-Match": cached[0]} if cached else {}
        answer, data = self.github.requester.requestJsonAndCheck("GET", url, headers=headers)
        if data is None and cached is not None:
            return list(cached[1])
        if not isinstance(data, list):
            raise GitHubUnavailable(f"GitHub answered {url} without the list it promises")
        etag = answer.get("etag")
        if etag:
            with self._shared_lock:
                self._shared[url] = (str(etag), data)
        return list(data)

    def _compare(self, repo: Repository, base: str, head: str) -> Comparison | None:
        try:
            comparison = repo.compare(base, head)
            _ = comparison.ahead_by  # a lazy comparison asks GitHub here: its 404 is ours
            return comparison
        except UnknownObjectException:
            return None


class _Vanished(Exception):
    """Work of an earlier step is gone (a deleted fork or branch): the check's answer."""

    def __init__(self, result: CheckResult) -> None:
        super().__init__(result.main_diagnosis.code if result.main_diagnosis else "")
        self.result = result


def _fork_gone(fork: str) -> CheckResult:
    return CheckResult.vanished("fork_deleted", "fork_exists", gone_fork=fork)


def _branch_gone(branch: str) -> CheckResult:
    return CheckResult.vanished("branch_deleted", "branch_exists", gone_branch=branch)


def _names_login(branch: str, login: str) -> bool:
    """The branch's name has the login as a word of its own (``add-ada-l`` for ``Ada-L``)."""
    if not login:
        return False
    word = re.escape(login.lower())
    return re.search(rf"(?<![a-z0-9]){word}(?![a-z0-9])", branch.lower()) is not None


def _owner(repo: dict[str, Any]) -> str:
    return str((repo.get("owner") or {}).get("login") or "")


def _from_learner(pull: PullRequest, login: str, fork: str, fork_id: Any) -> bool:
    """The pull request's head is the learner's fork, or their account."""
    head_repo = pull.head.repo
    if head_repo is not None and (
        head_repo.id == fork_id or head_repo.full_name.lower() == fork.lower()
    ):
        return True
    user = pull.head.user
    return user is not None and user.login.lower() == login.lower()


def _matches(path: str, pattern: str) -> bool:
    """A glob, folder by folder: ``participants/*.md`` does not match ``participants/a/b.md``."""
    parts, wanted = path.split("/"), pattern.split("/")
    return len(parts) == len(wanted) and all(
        fnmatch.fnmatchcase(part, glob) for part, glob in zip(parts, wanted, strict=True)
    )


def _is_empty(change: File) -> bool:
    if change.sha == EMPTY_BLOB:
        return True
    if not change.patch:
        return False  # a binary file: GitHub shows no lines
    added = [line[1:] for line in change.patch.splitlines() if line.startswith("+")]
    return not any(line.strip() for line in added)


def _judge_files(
    files: list[File], pattern: str, limit: int, learned: dict[str, Any]
) -> CheckResult | None:
    """The learner's own file, added where expected, not empty, nobody else's touched;
    None when it is so."""
    touched = [f for f in files if f.status != "added"]
    for changed in touched:
        # Rewriting or reformatting an existing file shows as many deletions.
        if limit and changed.status == "modified" and changed.deletions > limit:
            return CheckResult.mistake(
                "file_rewritten", learned, file=changed.filename, changed_lines=str(changed.changes)
            )
    if touched:
        first = touched[0]
        return CheckResult.mistake(
            "file_edited_existing", learned, file=first.filename, file_status=first.status
        )
    added = [f for f in files if f.status == "added"]
    mine = [f for f in added if _matches(f.filename, pattern)]
    if mine:
        extra = [f.filename for f in added if f is not mine[0]]
        if extra:
            return CheckResult.mistake("several_files", learned, files=", ".join(extra[:5]))
        if _is_empty(mine[0]):
            return CheckResult.mistake("file_empty", learned, file=mine[0].filename)
        return None
    if len(added) == 1:
        return _misplaced(added[0].filename, pattern, learned)
    if added:
        return CheckResult.mistake(
            "wrong_file", learned, files=", ".join(f.filename for f in added[:5])
        )
    return CheckResult(Outcome.NOT_YET, (Diagnosis("no_commit", {}),), learned)


def _misplaced(path: str, pattern: str, learned: dict[str, Any]) -> CheckResult:
    """One new file, not where the pattern says: which way it is off."""
    folder, name = posixpath.split(path)
    expected_folder = posixpath.dirname(pattern)
    if posixpath.splitext(name)[1].lower() in NOT_TEXT:
        code = "file_not_text"
    elif _matches(path.lower(), pattern.lower()):
        code = "file_wrong_case"
    elif not folder and expected_folder:
        code = "file_at_root"
    elif folder != expected_folder:
        code = "file_wrong_folder"
    else:
        code = "file_wrong_extension"
    return CheckResult.mistake(code, learned, file=path)


def _is_default_title(title: str, head_ref: str, context: CheckContext) -> bool:
    """The title GitHub filled in by itself: the web editor's commit message, or the
    branch's name made into words (``add-ada-l`` → "Add ada l")."""
    title = title.strip()
    if _DEFAULT_TITLE.match(title):
        return True
    words = " ".join(re.split(r"[-_]+", head_ref)).strip()
    return bool(words) and title.lower() == words.lower()


def _login(context: CheckContext) -> str:
    if not context.login:
        raise MissingFact("this check needs the learner's GitHub login")
    return context.login


def _fork(context: CheckContext) -> str:
    fork = context.facts.get("fork")
    if not fork:
        raise MissingFact("this check needs the learner's fork (from the fork step)")
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
