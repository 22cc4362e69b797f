"""A small, stateful, in-memory GitHub served over real HTTP.

The real PyGithub client talks to it exactly as to api.github.com::

    with FakeGitHub() as fake:
        fake.world.add_user("ada", email="ada@example.org")
        fake.world.add_repo("eig", "practice")
        gh = github.Github(base_url=fake.url, auth=github.Auth.Token("t"))
        gh.get_repo("eig/practice").default_branch  # "main"

Layout of this module:

* **World** — dataclasses (``User``, ``Repo``, ``Commit``, ``Pull``) and the ``World`` that
  tests build and mutate (``add_user``, ``fork``, ``commit``, ``open_pull``…).
* **Renderer** — turns world objects into GitHub's JSON shapes (templated on the official
  examples in ``shared/reference/github/rest-examples`` and checked against the official
  OpenAPI schemas by ``test_fake_github.py``).
* **HTTP** — ``FakeGitHub``: the server, GitHub's protocol behaviour (rate-limit headers,
  ETag/304, Link pagination, redirects of renamed repositories), a request log and fault
  injection, plus the routing table of the REST endpoints.
* **GitHub Apps** — ``register_app`` installs an app (its RSA public key) on repositories;
  the fake then checks the app's RS256 JWTs as GitHub does, finds installations and issues
  installation tokens (``ghs_…``) that expire after ``installation_token_lifetime`` seconds.
* **Device flow** — GitHub's OAuth device flow on the website's side (``POST
  /login/device/code``, ``POST /login/oauth/access_token``) for the client id
  ``oauth_client_id``: tests approve (as any account), deny or expire a code, keep it pending a
  few polls or answer ``slow_down``; polling faster than the interval gets ``slow_down`` as on
  GitHub. An approved code gives a user token (``gho_…``) with which ``GET /user`` answers the
  approving account.
"""

from __future__ import annotations

import base64
import difflib
import functools
import hashlib
import itertools
import json
import math
import re
import secrets
import string
import threading
import time
import traceback
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Concatenate, ParamSpec, TypeVar

import jwt

Json = dict[str, Any]

HTML_URL = "https://github.com"
RAW_URL = "https://raw.githubusercontent.com"
DOCS_URL = "https://docs.github.com/rest"
RATE_LIMIT_DOCS_URL = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
SECONDARY_DOCS_URL = (
    "https://docs.github.com/free-pro-team@latest/rest/overview/"
    "rate-limits-for-the-rest-api#about-secondary-rate-limits"
)
PERMISSIONS = ("pull", "triage", "push", "maintain", "admin")  # weakest to strongest


# =============================================================================== helpers


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _node_id(kind: str, key: object) -> str:
    """GitHub's legacy global node id, e.g. ``MDQ6VXNlcjE=`` for ``04:User1``."""
    return base64.b64encode(f"0{len(kind)}:{kind}{key}".encode()).decode()


def _blob_sha(content: str) -> str:
    """The git blob id of a file, as GitHub reports it in ``sha`` fields."""
    data = content.encode()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _tree_sha(tree: Mapping[str, str]) -> str:
    listing = "".join(f"{path}\0{_blob_sha(text)}\n" for path, text in sorted(tree.items()))
    return hashlib.sha1(f"tree\0{listing}".encode()).hexdigest()


def _quote(path: str) -> str:
    return urllib.parse.quote(path, safe="/")


def _wrapped_base64(content: str) -> str:
    """Base64 as the contents API sends it: lines of 60 characters, each ending in a newline."""
    encoded = base64.b64encode(content.encode()).decode()
    return "".join(encoded[i : i + 60] + "\n" for i in range(0, len(encoded), 60))


P = ParamSpec("P")
R = TypeVar("R")


def _locked(method: Callable[Concatenate[World, P], R]) -> Callable[Concatenate[World, P], R]:
    """Run a ``World`` method while holding the world's lock."""

    @functools.wraps(method)
    def wrapper(self: World, *args: P.args, **kwargs: P.kwargs) -> R:
        with self.lock:
            return method(self, *args, **kwargs)

    return wrapper


# =============================================================================== world


@dataclass
class User:
    """A GitHub account: a person (``User``), a ``Bot`` or an ``Organization``."""

    login: str
    id: int
    created_at: datetime
    type: str = "User"
    name: str | None = None
    email: str | None = None  # public profile email
    emails: list[str] = field(default_factory=list)  # emails linked to the account
    members: list[str] = field(default_factory=list)  # organizations: public members' logins
    # Organizations: members whose membership is private (the default on GitHub): they have
    # the members' access, but GET /users/{login}/orgs does not list the organization.
    private_members: list[str] = field(default_factory=list)

    @property
    def is_org(self) -> bool:
        return self.type == "Organization"

    def owns_email(self, email: str) -> bool:
        wanted = email.lower()
        noreply = re.fullmatch(r"(?:(\d+)\+)?([^@]+)@users\.noreply\.github\.com", wanted)
        if noreply and noreply.group(1):  # ID+login@…: the id holds, even after a rename
            return int(noreply.group(1)) == self.id
        if noreply:
            return noreply.group(2) == self.login.lower()
        return wanted in (e.lower() for e in [*self.emails, *([self.email] if self.email else [])])

    @property
    def commit_email(self) -> str:
        return self.emails[0] if self.emails else f"{self.id}+{self.login}@users.noreply.github.com"


@dataclass
class Commit:
    """A commit; ``tree`` is the full snapshot of the files (path -> text)."""

    sha: str
    tree: dict[str, str]
    parents: list[str]
    message: str
    author_name: str
    author_email: str
    committer_name: str
    committer_email: str
    date: datetime
    seq: int  # creation order, used to sort histories
    network_id: int  # commits are shared by every repository of a fork network


@dataclass
class Repo:
    id: int
    owner: str
    name: str
    default_branch: str
    private: bool
    description: str | None
    created_at: datetime
    updated_at: datetime
    pushed_at: datetime
    network_id: int
    parent_id: int | None = None
    branches: dict[str, str] = field(default_factory=dict)  # branch name -> commit sha
    collaborators: dict[str, str] = field(default_factory=dict)  # lower login -> permission
    next_number: int = 1

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def fork(self) -> bool:
        return self.parent_id is not None


@dataclass
class Pull:
    id: int
    number: int
    repo_id: int  # the base repository
    base_ref: str
    base_sha: str
    head_owner: str
    head_repo_id: int | None  # None once the head repository is deleted
    head_ref: str
    head_sha: str
    title: str
    body: str | None
    user: str
    draft: bool
    created_at: datetime
    updated_at: datetime
    state: str = "open"
    mergeable: bool | None = True
    merged: bool = False
    merged_at: datetime | None = None
    merged_by: str | None = None
    merge_commit_sha: str | None = None
    closed_at: datetime | None = None
    # Issue 16: after a push GitHub recomputes mergeability in the background; the single
    # pull request answers ``mergeable: null`` ("unknown") once, then the value again.
    mergeable_pending: bool = False

    @property
    def head_label(self) -> str:
        return f"{self.head_owner}:{self.head_ref}"


# ---------------------------------------------------------- reviews (issue 16)


@dataclass
class Review:
    """A submitted pull request review (APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED)."""

    id: int
    pull_id: int
    user: str
    state: str
    body: str
    commit_id: str
    submitted_at: datetime


@dataclass
class ReviewComment:
    """An inline comment on a pull request's diff, part of a review."""

    id: int
    review_id: int
    pull_id: int
    user: str
    body: str
    path: str
    line: int
    commit_id: str
    created_at: datetime


@dataclass
class FileChange:
    filename: str
    status: str  # added | modified | removed
    additions: int
    deletions: int
    patch: str
    sha: str

    @property
    def changes(self) -> int:
        return self.additions + self.deletions


@dataclass
class Comparison:
    base: Commit
    head: Commit
    merge_base: Commit
    ahead: list[Commit]  # commits of head missing from base, oldest first
    behind_by: int
    files: list[FileChange]

    @property
    def status(self) -> str:
        if not self.ahead and not self.behind_by:
            return "identical"
        if not self.behind_by:
            return "ahead"
        return "behind" if not self.ahead else "diverged"


def diff_trees(old: Mapping[str, str], new: Mapping[str, str]) -> list[FileChange]:
    """Per-file changes from ``old`` to ``new`` with GitHub-style patches (hunks only)."""
    changes = []
    for path in sorted(set(old) | set(new)):
        before, after = old.get(path), new.get(path)
        if before == after:
            continue
        status = "added" if before is None else "removed" if after is None else "modified"
        if _is_binary(before) or _is_binary(after):
            # GitHub shows no lines for a binary file (a Word document, a picture).
            sha = _blob_sha(after if after is not None else before or "")
            changes.append(FileChange(path, status, 0, 0, "", sha))
            continue
        hunks = list(
            difflib.unified_diff(
                (before or "").splitlines(), (after or "").splitlines(), lineterm="", n=3
            )
        )[2:]  # drop the ---/+++ header lines, as GitHub does
        changes.append(
            FileChange(
                filename=path,
                status=status,
                additions=sum(1 for line in hunks if line.startswith("+")),
                deletions=sum(1 for line in hunks if line.startswith("-")),
                patch="\n".join(hunks),
                sha=_blob_sha(after if after is not None else before or ""),
            )
        )
    return changes


def _is_binary(content: str | None) -> bool:
    """What git takes for a binary file: a NUL byte in it (``.docx``, ``.pdf``, pictures)."""
    return content is not None and "\0" in content[:8000]


_ID_STARTS = {  # like GitHub: per kind
    "user": 1001,
    "org": 9001,
    "repo": 500001,
    "pull": 7000001,
    "review": 80000001,
    "review_comment": 90000001,
}


class World:
    """Accounts, repositories, commits and pull requests of the fake GitHub.

    Builders (``add_user``, ``fork``, ``commit``…) take ``owner/name`` strings and raise
    ``ValueError`` on misuse; lookups (``find_*``) return None when nothing matches. Every
    public method holds ``lock``, which the server also holds while answering a request.
    """

    def __init__(self, clock: Callable[[], datetime] = _utc_now) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        # Like GitHub, an id is never handed out twice, not even after ``clear``: a bot that
        # outlives a test's world never meets two accounts with one id.
        self._ids = {kind: itertools.count(start) for kind, start in _ID_STARTS.items()}
        self.clear()

    @_locked
    def clear(self) -> None:
        self.users: dict[str, User] = {}  # lower-case login -> account
        self.repos: dict[int, Repo] = {}
        self.commits: dict[str, Commit] = {}
        self.pulls: list[Pull] = []
        self.reviews: list[Review] = []  # issue 16: reviews and their inline comments
        self.review_comments: list[ReviewComment] = []
        self.redirects: dict[str, int] = {}  # lower-case old full name -> repo id
        self._seq = itertools.count(1)

    # --------------------------------------------------------------- accounts

    @_locked
    def add_user(
        self,
        login: str,
        *,
        name: str | None = None,
        email: str | None = None,
        emails: Iterable[str] = (),
        type: str = "User",
    ) -> User:
        """Create an account. ``email`` is public and linked; ``emails`` are linked only."""
        if login.lower() in self.users:
            raise ValueError(f"account {login!r} already exists")
        linked = [*([email] if email else []), *emails]
        kind = "org" if type == "Organization" else "user"
        user = User(login, next(self._ids[kind]), self.clock(), type, name, email, linked)
        self.users[login.lower()] = user
        return user

    @_locked
    def rename_user(self, login: str, new_login: str) -> User:
        """Rename an account, as its owner can in their settings; its id stays.

        As on GitHub, the old login no longer answers (``/users/{old}`` is a 404, nothing
        redirects), while the account's repositories answer under the new owner and their old
        names redirect (301). Pull requests, memberships and permissions follow the account.
        """
        user = self._user(login)
        if new_login.lower() in self.users and new_login.lower() != user.login.lower():
            raise ValueError(f"account {new_login!r} already exists")
        old = user.login
        del self.users[old.lower()]
        user.login = new_login
        self.users[new_login.lower()] = user
        for repo in self.repos.values():
            if repo.owner == old:
                self.redirects[f"{old}/{repo.name}".lower()] = repo.id
                repo.owner = new_login
            if old.lower() in repo.collaborators:
                repo.collaborators[new_login.lower()] = repo.collaborators.pop(old.lower())
        for pull in self.pulls:
            pull.head_owner = new_login if pull.head_owner == old else pull.head_owner
            pull.user = new_login if pull.user == old else pull.user
            pull.merged_by = new_login if pull.merged_by == old else pull.merged_by
        for account in self.users.values():
            account.members = [new_login if m == old else m for m in account.members]
            account.private_members = [
                new_login if m == old else m for m in account.private_members
            ]
        return user

    @_locked
    def find_user_by_id(self, user_id: int) -> User | None:
        return next((u for u in self.users.values() if u.id == user_id), None)

    @_locked
    def add_org(
        self,
        login: str,
        *,
        members: Iterable[str] = (),
        private_members: Iterable[str] = (),
        name: str | None = None,
    ) -> User:
        """Create an organization; ``members`` made their membership public, while
        ``private_members`` kept it private (GitHub's default): only the organization's own
        members see those."""
        org = self.add_user(login, name=name, type="Organization")
        for member in members:
            org.members.append(self._user(member).login)
        for member in private_members:
            org.private_members.append(self._user(member).login)
        return org

    # ----------------------------------------------------------- repositories

    @_locked
    def add_repo(
        self,
        owner: str,
        name: str,
        *,
        default_branch: str = "main",
        files: Mapping[str, str] | None = None,
        private: bool = False,
        description: str | None = None,
        message: str = "Initial commit",
        author_email: str | None = None,
    ) -> Repo:
        """Create a repository with an initial commit on ``default_branch``.

        ``files=None`` gives a README; ``files={}`` gives an empty repository (no commit).
        """
        account = self._user(owner)
        if self.find_repo(account.login, name):
            raise ValueError(f"repository {account.login}/{name} already exists")
        now = self.clock()
        repo_id = next(self._ids["repo"])
        repo = Repo(
            repo_id,
            account.login,
            name,
            default_branch,
            private,
            description,
            now,
            now,
            now,
            network_id=repo_id,
        )
        self.repos[repo_id] = repo
        contents = {"README.md": f"# {name}\n"} if files is None else dict(files)
        if contents:
            author = self._commit_author(account, author_email)
            repo.branches[default_branch] = self._new_commit(
                repo, contents, [], message, *author, now
            ).sha
        return repo

    @_locked
    def fork(
        self,
        full_name: str,
        owner: str,
        name: str | None = None,
        *,
        default_branch_only: bool = False,
    ) -> str:
        """Fork ``full_name`` for ``owner`` (a user or an organization); returns the fork's name.

        As on GitHub, asking again returns the existing fork, and a name already taken gets a
        ``-1`` suffix.
        """
        upstream = self._repo(full_name)
        account = self._user(owner)
        for repo in self.repos.values():
            if repo.fork and repo.network_id == upstream.network_id and repo.owner == account.login:
                return repo.full_name
        wanted = name or upstream.name
        candidate, suffix = wanted, itertools.count(1)
        while self.find_repo(account.login, candidate):
            candidate = f"{wanted}-{next(suffix)}"
        now = self.clock()
        fork = Repo(
            next(self._ids["repo"]),
            account.login,
            candidate,
            upstream.default_branch,
            upstream.private,
            upstream.description,
            now,
            now,
            upstream.pushed_at,
            network_id=upstream.network_id,
            parent_id=upstream.id,
        )
        branches = upstream.branches
        if default_branch_only:
            branches = {k: v for k, v in branches.items() if k == upstream.default_branch}
        fork.branches = dict(branches)
        self.repos[fork.id] = fork
        return fork.full_name

    @_locked
    def rename_repo(self, full_name: str, new_name: str) -> str:
        """Rename; the old name keeps answering with a 301 redirect, as on GitHub."""
        repo = self._repo(full_name)
        if self.find_repo(repo.owner, new_name):
            raise ValueError(f"repository {repo.owner}/{new_name} already exists")
        self.redirects[repo.full_name.lower()] = repo.id
        repo.name = new_name
        self.redirects.pop(repo.full_name.lower(), None)
        repo.updated_at = self.clock()
        return repo.full_name

    @_locked
    def delete_repo(self, full_name: str) -> None:
        """Delete a repository.

        Its pull requests go with it; pull requests it was the head of are closed and lose
        their head repository (``head.repo`` becomes null); its forks are re-attached to its
        parent, or — when it was the network root — the oldest fork becomes the new root.
        """
        repo = self._repo(full_name)
        del self.repos[repo.id]
        self.redirects = {k: v for k, v in self.redirects.items() if v != repo.id}
        self.pulls = [p for p in self.pulls if p.repo_id != repo.id]
        now = self.clock()
        for pull in self.pulls:
            if pull.head_repo_id == repo.id:
                pull.head_repo_id = None
                if pull.state == "open":
                    pull.state, pull.closed_at, pull.updated_at = "closed", now, now
        children = sorted(self.forks_of(repo), key=lambda r: r.id)
        new_parent = repo.parent_id
        if new_parent is None and children:
            children[0].parent_id, new_parent = None, children[0].id
            children = children[1:]
        for child in children:
            child.parent_id = new_parent

    @_locked
    def set_permission(self, full_name: str, login: str, permission: str = "push") -> None:
        """Make ``login`` a collaborator of the repository (pull/triage/push/maintain/admin)."""
        if permission not in PERMISSIONS:
            raise ValueError(f"permission must be one of {PERMISSIONS}")
        self._repo(full_name).collaborators[self._user(login).login.lower()] = permission

    # --------------------------------------------------------------- branches

    @_locked
    def create_branch(self, full_name: str, branch: str, from_ref: str | None = None) -> str:
        """Create ``branch`` at ``from_ref`` (a branch or sha; default branch by default)."""
        repo = self._repo(full_name)
        if branch in repo.branches:
            raise ValueError(f"branch {branch!r} already exists in {repo.full_name}")
        start = self.resolve_ref(repo, from_ref or repo.default_branch)
        if start is None:
            raise ValueError(f"unknown ref {from_ref!r} in {repo.full_name}")
        repo.branches[branch] = start.sha
        return start.sha

    @_locked
    def delete_branch(self, full_name: str, branch: str) -> None:
        repo = self._repo(full_name)
        if repo.branches.pop(branch, None) is None:
            raise ValueError(f"no branch {branch!r} in {repo.full_name}")

    @_locked
    def commit(
        self,
        full_name: str,
        branch: str,
        files: Mapping[str, str] | None = None,
        *,
        message: str = "Update files",
        author_email: str | None = None,
        author_name: str | None = None,
        delete: Iterable[str] = (),
        date: datetime | None = None,
    ) -> str:
        """Commit on ``branch`` (created from nothing if the repository is empty); returns the sha.

        The API links the commit to a GitHub account only when ``author_email`` belongs to
        one; without an email the repository owner is the author.
        """
        repo = self._repo(full_name)
        parent_sha = repo.branches.get(branch)
        if parent_sha is None and repo.branches:
            raise ValueError(f"no branch {branch!r} in {repo.full_name}; create_branch first")
        tree = dict(self.commits[parent_sha].tree) if parent_sha else {}
        tree.update(files or {})
        for path in delete:
            if tree.pop(path, None) is None:
                raise ValueError(f"cannot delete {path!r}: not in {repo.full_name}@{branch}")
        name, email = self._commit_author(self._user(repo.owner), author_email, author_name)
        when = date or self.clock()
        parents = [parent_sha] if parent_sha else []
        commit = self._new_commit(repo, tree, parents, message, name, email, when)
        self._move_branch(repo, branch, commit.sha)
        return commit.sha

    # ---------------------------------------------------------- pull requests

    @_locked
    def open_pull(
        self,
        full_name: str,
        head: str,
        base: str | None = None,
        title: str = "Update",
        *,
        body: str | None = None,
        draft: bool = False,
        user: str | None = None,
    ) -> int:
        """Open a pull request into ``full_name``; returns its number.

        ``head`` is ``"branch"`` (same repository) or ``"owner:branch"`` (a repository of the
        same fork network owned by ``owner``). ``user`` defaults to the head's owner.
        """
        repo = self._repo(full_name)
        base = base or repo.default_branch
        head_owner, _, head_ref = head.rpartition(":")
        head_repo = self.network_repo(repo, head_owner) if head_owner else repo
        if head_repo is None or head_ref not in head_repo.branches:
            raise ValueError(f"head {head!r} does not exist in the network of {repo.full_name}")
        if base not in repo.branches:
            raise ValueError(f"base branch {base!r} does not exist in {repo.full_name}")
        head_sha, base_sha = head_repo.branches[head_ref], repo.branches[base]
        label = f"{head_repo.owner}:{head_ref}"
        if not self.compare(self.commits[base_sha], self.commits[head_sha]).ahead:
            raise ValueError(f"No commits between {base} and {label}")  # GitHub answers 422
        if any(
            p.state == "open" and p.head_label == label and p.base_ref == base
            for p in self.pulls_of(repo)
        ):
            raise ValueError(f"A pull request already exists for {label}.")
        now = self.clock()
        number, repo.next_number = repo.next_number, repo.next_number + 1
        author = self._user(user).login if user else head_repo.owner
        pull = Pull(
            next(self._ids["pull"]),
            number,
            repo.id,
            base,
            base_sha,
            head_repo.owner,
            head_repo.id,
            head_ref,
            head_sha,
            title,
            body,
            author,
            draft,
            now,
            now,
        )
        self.pulls.append(pull)
        return number

    @_locked
    def close_pull(self, full_name: str, number: int) -> None:
        pull = self._pull(full_name, number)
        now = self.clock()
        pull.state, pull.closed_at, pull.updated_at = "closed", now, now

    @_locked
    def reopen_pull(self, full_name: str, number: int) -> None:
        pull = self._pull(full_name, number)
        if pull.merged:
            raise ValueError("a merged pull request cannot be reopened")
        pull.state, pull.closed_at, pull.updated_at = "open", None, self.clock()

    @_locked
    def set_mergeable(self, full_name: str, number: int, mergeable: bool | None) -> None:
        """``False`` simulates conflicts; ``None`` means GitHub has not computed it yet."""
        pull = self._pull(full_name, number)
        pull.mergeable, pull.mergeable_pending = mergeable, False

    @_locked
    def merge_pull(self, full_name: str, number: int, *, by: str | None = None) -> str:
        """Merge with a merge commit on the base branch; returns the merge commit's sha."""
        repo = self._repo(full_name)
        pull = self._pull(full_name, number)
        if pull.state != "open" or pull.mergeable is False:
            raise ValueError(f"pull request #{number} is not mergeable")
        base_tip = self.commits[repo.branches[pull.base_ref]]
        head = self.commits[pull.head_sha]
        tree = dict(base_tip.tree)
        for change in self.compare(base_tip, head).files:
            if change.status == "removed":
                tree.pop(change.filename, None)
            else:
                tree[change.filename] = head.tree[change.filename]
        merger = self._user(by or repo.owner)
        now = self.clock()
        message = (
            f"Merge pull request #{number} from {pull.head_owner}/{pull.head_ref}\n\n{pull.title}"
        )
        merge = self._new_commit(
            repo,
            tree,
            [base_tip.sha, head.sha],
            message,
            merger.name or merger.login,
            merger.commit_email,
            now,
            committer=("GitHub", "noreply@github.com"),
        )
        pull.state, pull.merged, pull.merged_at, pull.closed_at = "closed", True, now, now
        pull.merged_by, pull.merge_commit_sha, pull.updated_at = merger.login, merge.sha, now
        self._move_branch(repo, pull.base_ref, merge.sha)  # moves the other open pulls' base
        return merge.sha

    # -------------------------------------------- reviews (issue 16: after the PR is open)

    @_locked
    def review_pull(
        self,
        full_name: str,
        number: int,
        *,
        by: str,
        state: str,
        body: str = "",
        comments: Iterable[tuple[str, int, str]] = (),
    ) -> int:
        """Submit a review as ``by``: ``state`` is APPROVE, REQUEST_CHANGES or COMMENT (the
        events of GitHub's "create a review"); ``comments`` are (path, line, body) inline
        comments. Returns the review's id. Like GitHub: the author cannot approve or request
        changes on their own pull request, and those two need an open one; a review
        updates the pull request's ``updated_at``."""
        pull = self._pull(full_name, number)
        reviewer = self._user(by)
        states = {
            "APPROVE": "APPROVED",
            "REQUEST_CHANGES": "CHANGES_REQUESTED",
            "COMMENT": "COMMENTED",
        }
        if state not in states:
            raise ValueError(f"unknown review event {state!r}")
        if state != "COMMENT" and reviewer.login.lower() == pull.user.lower():
            raise ValueError("Can not approve or request changes on your own pull request")
        if state == "REQUEST_CHANGES" and not body:
            raise ValueError("a review requesting changes needs a body (GitHub answers 422)")
        if pull.state != "open" and state != "COMMENT":
            raise ValueError("the pull request is closed")
        now = self.clock()
        review = Review(
            next(self._ids["review"]),
            pull.id,
            reviewer.login,
            states[state],
            body,
            pull.head_sha,
            now,
        )
        self.reviews.append(review)
        for path, line, text in comments:
            self.review_comments.append(
                ReviewComment(
                    next(self._ids["review_comment"]),
                    review.id,
                    pull.id,
                    reviewer.login,
                    text,
                    path,
                    line,
                    pull.head_sha,
                    now,
                )
            )
        pull.updated_at = now
        return review.id

    @_locked
    def comment_on_diff(
        self, full_name: str, number: int, *, by: str, path: str, line: int, body: str
    ) -> int:
        """A single inline comment (GitHub wraps it in a COMMENTED review, as here)."""
        return self.review_pull(
            full_name, number, by=by, state="COMMENT", comments=[(path, line, body)]
        )

    @_locked
    def dismiss_review(self, review_id: int) -> None:
        review = next(r for r in self.reviews if r.id == review_id)
        review.state = "DISMISSED"

    @_locked
    def reviews_of(self, pull: Pull) -> list[Review]:
        return [r for r in self.reviews if r.pull_id == pull.id]

    @_locked
    def review_comments_of(self, pull: Pull) -> list[ReviewComment]:
        return [c for c in self.review_comments if c.pull_id == pull.id]

    # ---------------------------------------------------------------- lookups

    @_locked
    def find_user(self, login: str) -> User | None:
        return self.users.get(login.lower())

    @_locked
    def find_repo(self, owner: str, name: str) -> Repo | None:
        wanted = f"{owner}/{name}".lower()
        return next((r for r in self.repos.values() if r.full_name.lower() == wanted), None)

    @_locked
    def renamed_repo(self, owner: str, name: str) -> Repo | None:
        """The repository that used to be called ``owner/name``, if it was renamed."""
        repo_id = self.redirects.get(f"{owner}/{name}".lower())
        return self.repos.get(repo_id) if repo_id is not None else None

    @_locked
    def network_repo(self, repo: Repo, owner: str) -> Repo | None:
        """``owner``'s repository in ``repo``'s fork network (``repo`` itself if owned by them)."""
        if repo.owner.lower() == owner.lower():
            return repo
        return next(
            (
                r
                for r in sorted(self.repos.values(), key=lambda r: r.id)
                if r.network_id == repo.network_id and r.owner.lower() == owner.lower()
            ),
            None,
        )

    @_locked
    def parent_of(self, repo: Repo) -> Repo | None:
        return self.repos.get(repo.parent_id) if repo.parent_id is not None else None

    @_locked
    def source_of(self, repo: Repo) -> Repo | None:
        """The root of the fork network (None for a repository that is not a fork)."""
        root = self.parent_of(repo)
        while root is not None and root.parent_id is not None:
            root = self.parent_of(root)
        return root

    @_locked
    def forks_of(self, repo: Repo) -> list[Repo]:
        return [r for r in self.repos.values() if r.parent_id == repo.id]

    @_locked
    def user_for_email(self, email: str) -> User | None:
        return next((u for u in self.users.values() if u.owns_email(email)), None)

    @_locked
    def permission(self, repo: Repo, login: str | None) -> str | None:
        """The strongest permission ``login`` has on ``repo`` (None: read access to public only)."""
        if login is None:
            return None
        if repo.owner.lower() == login.lower():
            return "admin"
        granted = repo.collaborators.get(login.lower())
        owner = self.find_user(repo.owner)
        members = [*owner.members, *owner.private_members] if owner else []
        if owner and owner.is_org and login.lower() in (m.lower() for m in members):
            granted = max(granted or "pull", "pull", key=PERMISSIONS.index)
        return granted

    @_locked
    def can_read(self, repo: Repo, login: str | None) -> bool:
        return not repo.private or self.permission(repo, login) is not None

    @_locked
    def resolve_ref(self, repo: Repo, ref: str) -> Commit | None:
        """A branch name, a full sha or an abbreviated sha (7+ characters) of the network."""
        if ref in repo.branches:
            return self.commits[repo.branches[ref]]
        if re.fullmatch(r"[0-9a-f]{7,40}", ref):
            matches = [
                c
                for sha, c in self.commits.items()
                if sha.startswith(ref) and c.network_id == repo.network_id
            ]
            if len(matches) == 1:
                return matches[0]
        return None

    @_locked
    def history(self, sha: str) -> list[Commit]:
        """Every commit reachable from ``sha``, newest first."""
        seen: dict[str, Commit] = {}
        pending = [sha]
        while pending:
            current = self.commits[pending.pop()]
            if current.sha not in seen:
                seen[current.sha] = current
                pending.extend(current.parents)
        return sorted(seen.values(), key=lambda c: c.seq, reverse=True)

    @_locked
    def compare(self, base: Commit, head: Commit) -> Comparison:
        """GitHub's three-dot comparison; ``ValueError`` when the histories are unrelated."""
        base_history = {c.sha for c in self.history(base.sha)}
        head_history = self.history(head.sha)
        common = [c for c in head_history if c.sha in base_history]
        if not common:
            raise ValueError(f"No common ancestor between {base.sha} and {head.sha}.")
        head_shas = {c.sha for c in head_history}
        return Comparison(
            base=base,
            head=head,
            merge_base=common[0],
            ahead=[c for c in reversed(head_history) if c.sha not in base_history],
            behind_by=len(base_history - head_shas),
            files=diff_trees(common[0].tree, head.tree),
        )

    @_locked
    def pulls_of(self, repo: Repo) -> list[Pull]:
        return [p for p in self.pulls if p.repo_id == repo.id]

    @_locked
    def find_pull(self, repo: Repo, number: int) -> Pull | None:
        return next((p for p in self.pulls_of(repo) if p.number == number), None)

    # -------------------------------------------------------------- internals

    def _user(self, login: str) -> User:
        user = self.find_user(login)
        if user is None:
            raise ValueError(f"no account {login!r}; add_user/add_org first")
        return user

    def _repo(self, full_name: str) -> Repo:
        owner, _, name = full_name.partition("/")
        repo = self.find_repo(owner, name)
        if repo is None:
            raise ValueError(f"no repository {full_name!r}")
        return repo

    def _pull(self, full_name: str, number: int) -> Pull:
        pull = self.find_pull(self._repo(full_name), number)
        if pull is None:
            raise ValueError(f"no pull request #{number} in {full_name}")
        return pull

    def _commit_author(
        self, account: User, email: str | None, name: str | None = None
    ) -> tuple[str, str]:
        """(name, email) of a commit's author; without an email, ``account`` is the author."""
        if email is None:
            return name or account.name or account.login, account.commit_email
        linked = self.user_for_email(email)
        return name or ((linked.name or linked.login) if linked else email.split("@")[0]), email

    def _new_commit(
        self,
        repo: Repo,
        tree: dict[str, str],
        parents: list[str],
        message: str,
        author_name: str,
        author_email: str,
        date: datetime,
        *,
        committer: tuple[str, str] | None = None,
    ) -> Commit:
        seq = next(self._seq)
        committer_name, committer_email = committer or (author_name, author_email)
        header = f"{_tree_sha(tree)} {' '.join(parents)} {author_email} {_iso(date)} {seq}"
        sha = hashlib.sha1(f"{header}\n{message}".encode()).hexdigest()
        commit = Commit(
            sha,
            tree,
            parents,
            message,
            author_name,
            author_email,
            committer_name,
            committer_email,
            date,
            seq,
            repo.network_id,
        )
        self.commits[sha] = commit
        return commit

    def _move_branch(self, repo: Repo, branch: str, sha: str) -> None:
        repo.branches[branch] = sha
        now = self.clock()
        repo.pushed_at = repo.updated_at = now
        for pull in self.pulls:
            if pull.state != "open":
                continue
            if pull.head_repo_id == repo.id and pull.head_ref == branch:
                pull.head_sha, pull.updated_at = sha, now
                pull.mergeable_pending = True  # issue 16: GitHub recomputes it
            if pull.repo_id == repo.id and pull.base_ref == branch:
                pull.base_sha = sha


# =============================================================================== renderer


class Renderer:
    """Builds GitHub's JSON for world objects, as seen by ``viewer`` (the token's user)."""

    def __init__(self, world: World, api_url: str, viewer: str | None) -> None:
        self.world = world
        self.api = api_url
        self.viewer = viewer

    # --------------------------------------------------------------- accounts

    def simple_user(self, user: User) -> Json:
        api, login = f"{self.api}/users/{user.login}", user.login
        return {
            "login": login,
            "id": user.id,
            "node_id": _node_id(user.type, user.id),
            "avatar_url": f"https://avatars.githubusercontent.com/u/{user.id}?v=4",
            "gravatar_id": "",
            "url": api,
            "html_url": f"{HTML_URL}/{login}",
            "followers_url": f"{api}/followers",
            "following_url": f"{api}/following{{/other_user}}",
            "gists_url": f"{api}/gists{{/gist_id}}",
            "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{api}/subscriptions",
            "organizations_url": f"{api}/orgs",
            "repos_url": f"{api}/repos",
            "events_url": f"{api}/events{{/privacy}}",
            "received_events_url": f"{api}/received_events",
            "type": user.type,
            "user_view_type": "public",
            "site_admin": False,
        }

    def public_user(self, user: User) -> Json:
        """``GET /users/{login}`` — also for organizations, which GitHub shows this way."""
        public_repos = [r for r in self.world.repos.values() if r.owner == user.login]
        return {
            **self.simple_user(user),
            "name": user.name,
            "company": None,
            "blog": "",
            "location": None,
            "email": user.email,
            "hireable": None,
            "bio": None,
            "twitter_username": None,
            "public_repos": sum(1 for r in public_repos if not r.private),
            "public_gists": 0,
            "followers": 0,
            "following": 0,
            "created_at": _iso(user.created_at),
            "updated_at": _iso(user.created_at),
        }

    def private_user(self, user: User) -> Json:
        """``GET /user`` — the token's own account, with its private fields."""
        private = sum(1 for r in self.world.repos.values() if r.owner == user.login and r.private)
        return {
            **self.public_user(user),
            "user_view_type": "private",
            "private_gists": 0,
            "total_private_repos": private,
            "owned_private_repos": private,
            "disk_usage": 0,
            "collaborators": 0,
            "two_factor_authentication": True,
            "plan": {
                "name": "free",
                "space": 976562499,
                "collaborators": 0,
                "private_repos": 10000,
            },
        }

    def simple_org(self, org: User) -> Json:
        api = f"{self.api}/orgs/{org.login}"
        return {
            "login": org.login,
            "id": org.id,
            "node_id": _node_id("Organization", org.id),
            "url": api,
            "repos_url": f"{api}/repos",
            "events_url": f"{api}/events",
            "hooks_url": f"{api}/hooks",
            "issues_url": f"{api}/issues",
            "members_url": f"{api}/members{{/member}}",
            "public_members_url": f"{api}/public_members{{/member}}",
            "avatar_url": f"https://avatars.githubusercontent.com/u/{org.id}?v=4",
            "description": None,
        }

    def full_org(self, org: User) -> Json:
        public = self.public_user(org)
        body = {
            **self.simple_org(org),
            "name": org.name,
            "company": None,
            "blog": "",
            "location": None,
            "email": org.email,
            "twitter_username": None,
            "is_verified": False,
            "has_organization_projects": True,
            "has_repository_projects": True,
            "public_repos": public["public_repos"],
            "public_gists": 0,
            "followers": 0,
            "following": 0,
            "html_url": f"{HTML_URL}/{org.login}",
            "created_at": public["created_at"],
            "updated_at": public["updated_at"],
            "archived_at": None,
            "type": "Organization",
        }
        # The schema does not let these be null (or an empty blog address): left out unset.
        for unset in ("name", "email", "company", "location", "blog"):
            if not body[unset]:
                del body[unset]
        return body

    def _account(self, login: str) -> User:
        return self.world.users[login.lower()]

    # ----------------------------------------------------------- repositories

    def repository(self, repo: Repo) -> Json:
        """The repository object nested in other answers (pull heads, fork lists, parents)."""
        api, html, full = (
            f"{self.api}/repos/{repo.full_name}",
            f"{HTML_URL}/{repo.full_name}",
            repo.full_name,
        )
        open_pulls = sum(1 for p in self.world.pulls_of(repo) if p.state == "open")
        forks = len(self.world.forks_of(repo))
        tip = repo.branches.get(repo.default_branch)
        size = sum(len(t) for t in self.world.commits[tip].tree.values()) // 1024 if tip else 0
        body: Json = {
            "id": repo.id,
            "node_id": _node_id("Repository", repo.id),
            "name": repo.name,
            "full_name": full,
            "owner": self.simple_user(self._account(repo.owner)),
            "private": repo.private,
            "html_url": html,
            "description": repo.description,
            "fork": repo.fork,
            "url": api,
            "archive_url": f"{api}/{{archive_format}}{{/ref}}",
            "assignees_url": f"{api}/assignees{{/user}}",
            "blobs_url": f"{api}/git/blobs{{/sha}}",
            "branches_url": f"{api}/branches{{/branch}}",
            "collaborators_url": f"{api}/collaborators{{/collaborator}}",
            "comments_url": f"{api}/comments{{/number}}",
            "commits_url": f"{api}/commits{{/sha}}",
            "compare_url": f"{api}/compare/{{base}}...{{head}}",
            "contents_url": f"{api}/contents/{{+path}}",
            "contributors_url": f"{api}/contributors",
            "deployments_url": f"{api}/deployments",
            "downloads_url": f"{api}/downloads",
            "events_url": f"{api}/events",
            "forks_url": f"{api}/forks",
            "git_commits_url": f"{api}/git/commits{{/sha}}",
            "git_refs_url": f"{api}/git/refs{{/sha}}",
            "git_tags_url": f"{api}/git/tags{{/sha}}",
            "git_url": f"git://github.com/{full}.git",
            "issue_comment_url": f"{api}/issues/comments{{/number}}",
            "issue_events_url": f"{api}/issues/events{{/number}}",
            "issues_url": f"{api}/issues{{/number}}",
            "keys_url": f"{api}/keys{{/key_id}}",
            "labels_url": f"{api}/labels{{/name}}",
            "languages_url": f"{api}/languages",
            "merges_url": f"{api}/merges",
            "milestones_url": f"{api}/milestones{{/number}}",
            "notifications_url": f"{api}/notifications{{?since,all,participating}}",
            "pulls_url": f"{api}/pulls{{/number}}",
            "releases_url": f"{api}/releases{{/id}}",
            "ssh_url": f"git@github.com:{full}.git",
            "stargazers_url": f"{api}/stargazers",
            "statuses_url": f"{api}/statuses/{{sha}}",
            "subscribers_url": f"{api}/subscribers",
            "subscription_url": f"{api}/subscription",
            "tags_url": f"{api}/tags",
            "teams_url": f"{api}/teams",
            "trees_url": f"{api}/git/trees{{/sha}}",
            "clone_url": f"{html}.git",
            "mirror_url": None,
            "hooks_url": f"{api}/hooks",
            "svn_url": html,
            "homepage": None,
            "language": None,
            "forks_count": forks,
            "stargazers_count": 0,
            "watchers_count": 0,
            "size": size,
            "default_branch": repo.default_branch,
            "open_issues_count": open_pulls,
            "is_template": False,
            "topics": [],
            "has_issues": not repo.fork,
            "has_projects": True,
            "has_wiki": True,
            "has_pages": False,
            "has_downloads": True,
            "has_discussions": False,
            "archived": False,
            "disabled": False,
            "visibility": "private" if repo.private else "public",
            "pushed_at": _iso(repo.pushed_at),
            "created_at": _iso(repo.created_at),
            "updated_at": _iso(repo.updated_at),
            "allow_forking": True,
            "web_commit_signoff_required": False,
            "forks": forks,
            "open_issues": open_pulls,
            "watchers": 0,
            "license": None,
        }
        permission = self.world.permission(repo, self.viewer) if self.viewer else None
        if self.viewer:
            rank = PERMISSIONS.index(permission) if permission else (-1 if repo.private else 0)
            body["permissions"] = {p: rank >= PERMISSIONS.index(p) for p in reversed(PERMISSIONS)}
        return body

    def full_repository(self, repo: Repo) -> Json:
        """``GET /repos/{owner}/{repo}``: adds the network, organization, parent and source."""
        body = self.repository(repo)
        owner = self._account(repo.owner)
        if owner.is_org:
            body["organization"] = self.simple_user(owner)
        parent, source = self.world.parent_of(repo), self.world.source_of(repo)
        if parent and source:
            body["parent"], body["source"] = self.repository(parent), self.repository(source)
        network_root = source or repo
        body["network_count"] = (
            sum(1 for r in self.world.repos.values() if r.network_id == network_root.network_id) - 1
        )
        body["subscribers_count"] = 1
        return body

    # ---------------------------------------------------------------- commits

    def commit(self, commit: Commit, repo: Repo, *, detailed: bool = False) -> Json:
        """A commit as seen through ``repo``; ``detailed`` adds ``stats`` and ``files``."""
        api, html = f"{self.api}/repos/{repo.full_name}", f"{HTML_URL}/{repo.full_name}"
        author = self.world.user_for_email(commit.author_email)
        committer = self.world.user_for_email(commit.committer_email)
        body: Json = {
            "sha": commit.sha,
            "node_id": _node_id("Commit", f"{repo.id}:{commit.sha}"),
            "commit": {
                "author": {
                    "name": commit.author_name,
                    "email": commit.author_email,
                    "date": _iso(commit.date),
                },
                "committer": {
                    "name": commit.committer_name,
                    "email": commit.committer_email,
                    "date": _iso(commit.date),
                },
                "message": commit.message,
                "tree": {
                    "sha": _tree_sha(commit.tree),
                    "url": f"{api}/git/trees/{_tree_sha(commit.tree)}",
                },
                "url": f"{api}/git/commits/{commit.sha}",
                "comment_count": 0,
                "verification": {
                    "verified": False,
                    "reason": "unsigned",
                    "signature": None,
                    "payload": None,
                    "verified_at": None,
                },
            },
            "url": f"{api}/commits/{commit.sha}",
            "html_url": f"{html}/commit/{commit.sha}",
            "comments_url": f"{api}/commits/{commit.sha}/comments",
            # GitHub answers null when the email is not linked to an account.
            "author": self.simple_user(author) if author else None,
            "committer": self.simple_user(committer) if committer else None,
            "parents": [
                {"sha": p, "url": f"{api}/commits/{p}", "html_url": f"{html}/commit/{p}"}
                for p in commit.parents
            ],
        }
        if detailed:
            parent_tree = self.world.commits[commit.parents[0]].tree if commit.parents else {}
            files = diff_trees(parent_tree, commit.tree)
            additions = sum(f.additions for f in files)
            deletions = sum(f.deletions for f in files)
            body["stats"] = {
                "total": additions + deletions,
                "additions": additions,
                "deletions": deletions,
            }
            body["files"] = [self.file_change(f, repo, commit.sha) for f in files]
        return body

    def file_change(self, change: FileChange, repo: Repo, ref: str) -> Json:
        api, html = f"{self.api}/repos/{repo.full_name}", f"{HTML_URL}/{repo.full_name}"
        path = _quote(change.filename)
        body: Json = {
            "sha": change.sha,
            "filename": change.filename,
            "status": change.status,
            "additions": change.additions,
            "deletions": change.deletions,
            "changes": change.changes,
            "blob_url": f"{html}/blob/{ref}/{path}",
            "raw_url": f"{html}/raw/{ref}/{path}",
            "contents_url": f"{api}/contents/{path}?ref={ref}",
        }
        if change.patch:
            body["patch"] = change.patch
        return body

    def comparison(
        self,
        repo: Repo,
        basehead: str,
        permalink: str,
        comparison: Comparison,
        commits: list[Commit],
        first_page: bool,
    ) -> Json:
        """``compare/{basehead}``; ``commits`` is the requested page of ``comparison.ahead``."""
        api, html = f"{self.api}/repos/{repo.full_name}", f"{HTML_URL}/{repo.full_name}"
        body: Json = {
            "url": f"{api}/compare/{basehead}",
            "html_url": f"{html}/compare/{basehead}",
            "permalink_url": f"{html}/compare/{permalink}",
            "diff_url": f"{html}/compare/{basehead}.diff",
            "patch_url": f"{html}/compare/{basehead}.patch",
            "base_commit": self.commit(comparison.base, repo),
            "merge_base_commit": self.commit(comparison.merge_base, repo),
            "status": comparison.status,
            "ahead_by": len(comparison.ahead),
            "behind_by": comparison.behind_by,
            "total_commits": len(comparison.ahead),
            "commits": [self.commit(c, repo) for c in commits],
        }
        if first_page:  # GitHub lists the changed files on the first page only
            body["files"] = [
                self.file_change(f, repo, comparison.head.sha) for f in comparison.files
            ]
        return body

    # --------------------------------------------------------------- branches

    def short_branch(self, repo: Repo, name: str) -> Json:
        sha = repo.branches[name]
        return {
            "name": name,
            "commit": {"sha": sha, "url": f"{self.api}/repos/{repo.full_name}/commits/{sha}"},
            "protected": False,
        }

    def branch(self, repo: Repo, name: str) -> Json:
        api = f"{self.api}/repos/{repo.full_name}/branches/{_quote(name)}"
        return {
            "name": name,
            "commit": self.commit(self.world.commits[repo.branches[name]], repo),
            "_links": {"self": api, "html": f"{HTML_URL}/{repo.full_name}/tree/{_quote(name)}"},
            "protected": False,
            "protection": {
                "enabled": False,
                "required_status_checks": {
                    "enforcement_level": "off",
                    "contexts": [],
                    "checks": [],
                },
            },
            "protection_url": f"{api}/protection",
        }

    # ---------------------------------------------------------- pull requests

    def pull(self, pull: Pull, *, simple: bool = False) -> Json:
        """A pull request; ``simple`` is the shape of the list endpoint."""
        repo = self.world.repos[pull.repo_id]
        api, html = f"{self.api}/repos/{repo.full_name}", f"{HTML_URL}/{repo.full_name}"
        url, issue = f"{api}/pulls/{pull.number}", f"{api}/issues/{pull.number}"
        head_repo = self.world.repos.get(pull.head_repo_id) if pull.head_repo_id else None
        body: Json = {
            "url": url,
            "id": pull.id,
            "node_id": _node_id("PullRequest", pull.id),
            "html_url": f"{html}/pull/{pull.number}",
            "diff_url": f"{html}/pull/{pull.number}.diff",
            "patch_url": f"{html}/pull/{pull.number}.patch",
            "issue_url": issue,
            "commits_url": f"{url}/commits",
            "review_comments_url": f"{url}/comments",
            "review_comment_url": f"{api}/pulls/comments{{/number}}",
            "comments_url": f"{issue}/comments",
            "statuses_url": f"{api}/statuses/{pull.head_sha}",
            "number": pull.number,
            "state": pull.state,
            "locked": False,
            "title": pull.title,
            "user": self.simple_user(self._account(pull.user)),
            "body": pull.body,
            "labels": [],
            "milestone": None,
            "active_lock_reason": None,
            "created_at": _iso(pull.created_at),
            "updated_at": _iso(pull.updated_at),
            "closed_at": _iso(pull.closed_at) if pull.closed_at else None,
            "merged_at": _iso(pull.merged_at) if pull.merged_at else None,
            "merge_commit_sha": pull.merge_commit_sha,
            "assignee": None,
            "assignees": [],
            "requested_reviewers": [],
            "requested_teams": [],
            "head": {
                "label": pull.head_label,
                "ref": pull.head_ref,
                "sha": pull.head_sha,
                "user": self.simple_user(self._account(pull.head_owner)),
                "repo": self.repository(head_repo) if head_repo else None,
            },
            "base": {
                "label": f"{repo.owner}:{pull.base_ref}",
                "ref": pull.base_ref,
                "sha": pull.base_sha,
                "user": self.simple_user(self._account(repo.owner)),
                "repo": self.repository(repo),
            },
            "_links": {
                "self": {"href": url},
                "html": {"href": f"{html}/pull/{pull.number}"},
                "issue": {"href": issue},
                "comments": {"href": f"{issue}/comments"},
                "review_comments": {"href": f"{url}/comments"},
                "review_comment": {"href": f"{api}/pulls/comments{{/number}}"},
                "commits": {"href": f"{url}/commits"},
                "statuses": {"href": f"{api}/statuses/{pull.head_sha}"},
            },
            "author_association": self._association(pull, repo),
            "auto_merge": None,
            "draft": pull.draft,
        }
        if simple:
            return body
        comparison = self.world.compare(
            self.world.commits[pull.base_sha], self.world.commits[pull.head_sha]
        )
        is_open = pull.state == "open"
        merged_by = self.world.find_user(pull.merged_by) if pull.merged_by else None
        return {
            **body,
            "merged": pull.merged,
            "mergeable": pull.mergeable if is_open and not pull.mergeable_pending else None,
            "rebaseable": pull.mergeable if is_open and not pull.mergeable_pending else None,
            "mergeable_state": self._mergeable_state(pull)
            if is_open and not pull.mergeable_pending
            else "unknown",
            "merged_by": self.simple_user(merged_by) if merged_by else None,
            "comments": 0,
            "review_comments": len(self.world.review_comments_of(pull)),
            "maintainer_can_modify": head_repo is not None and head_repo.id != repo.id,
            "commits": len(comparison.ahead),
            "additions": sum(f.additions for f in comparison.files),
            "deletions": sum(f.deletions for f in comparison.files),
            "changed_files": len(comparison.files),
        }

    @staticmethod
    def _mergeable_state(pull: Pull) -> str:
        if pull.draft:
            return "draft"
        return {True: "clean", False: "dirty", None: "unknown"}[pull.mergeable]

    def _association(self, pull: Pull, repo: Repo) -> str:
        login = pull.user.lower()
        if repo.owner.lower() == login:
            return "OWNER"
        owner = self._account(repo.owner)
        if owner.is_org and login in (m.lower() for m in owner.members):
            return "MEMBER"
        if login in repo.collaborators:
            return "COLLABORATOR"
        author = self.world.find_user(pull.user)
        tip = repo.branches.get(repo.default_branch)
        if (
            author
            and tip
            and any(author.owns_email(c.author_email) for c in self.world.history(tip))
        ):
            return "CONTRIBUTOR"
        return "FIRST_TIME_CONTRIBUTOR"

    # ------------------------------------------------------------ GitHub Apps

    # -------------------------------------------- reviews (issue 16: after the PR is open)

    def review(self, review: Review) -> Json:
        pull = next(p for p in self.world.pulls if p.id == review.pull_id)
        repo = self.world.repos[pull.repo_id]
        html = f"{HTML_URL}/{repo.full_name}/pull/{pull.number}#pullrequestreview-{review.id}"
        pull_url = f"{self.api}/repos/{repo.full_name}/pulls/{pull.number}"
        return {
            "id": review.id,
            "node_id": _node_id("PullRequestReview", review.id),
            "user": self.simple_user(self._account(review.user)),
            "body": review.body,
            "state": review.state,
            "html_url": html,
            "pull_request_url": pull_url,
            "_links": {"html": {"href": html}, "pull_request": {"href": pull_url}},
            "submitted_at": _iso(review.submitted_at),
            "commit_id": review.commit_id,
            "author_association": self._review_association(review.user, repo),
        }

    def review_comment(self, comment: ReviewComment) -> Json:
        pull = next(p for p in self.world.pulls if p.id == comment.pull_id)
        repo = self.world.repos[pull.repo_id]
        api = f"{self.api}/repos/{repo.full_name}/pulls"
        url = f"{api}/comments/{comment.id}"
        html = f"{HTML_URL}/{repo.full_name}/pull/{pull.number}#discussion_r{comment.id}"
        return {
            "url": url,
            "pull_request_review_id": comment.review_id,
            "id": comment.id,
            "node_id": _node_id("PullRequestReviewComment", comment.id),
            "diff_hunk": f"@@ -0,0 +1,{comment.line} @@",
            "path": comment.path,
            "position": comment.line,
            "original_position": comment.line,
            "commit_id": comment.commit_id,
            "original_commit_id": comment.commit_id,
            "user": self.simple_user(self._account(comment.user)),
            "body": comment.body,
            "created_at": _iso(comment.created_at),
            "updated_at": _iso(comment.created_at),
            "html_url": html,
            "pull_request_url": f"{api}/{pull.number}",
            "author_association": self._review_association(comment.user, repo),
            "_links": {
                "self": {"href": url},
                "html": {"href": html},
                "pull_request": {"href": f"{api}/{pull.number}"},
            },
            "start_line": None,
            "original_start_line": None,
            "start_side": None,
            "line": comment.line,
            "original_line": comment.line,
            "side": "RIGHT",
        }

    def _review_association(self, login: str, repo: Repo) -> str:
        if repo.owner.lower() == login.lower():
            return "OWNER"
        owner = self._account(repo.owner)
        if owner.is_org and login.lower() in (m.lower() for m in owner.members):
            return "MEMBER"
        permission = self.world.permission(repo, login)
        return "COLLABORATOR" if permission in ("push", "maintain", "admin") else "NONE"

    def installation(self, installation: AppInstallation, app_slug: str) -> Json:
        """``GET /repos/{owner}/{repo}/installation`` and ``GET /app/installations/{id}``."""
        account = self._account(installation.account)
        settings = (
            f"{HTML_URL}/organizations/{account.login}/settings"
            if account.is_org
            else f"{HTML_URL}/settings"
        )
        return {
            "id": installation.id,
            "client_id": f"Iv1.{installation.app_id:016x}",
            "account": self.simple_user(account),
            "repository_selection": "all" if installation.repo_ids is None else "selected",
            "access_tokens_url": f"{self.api}/app/installations/{installation.id}/access_tokens",
            "repositories_url": f"{self.api}/installation/repositories",
            "html_url": f"{settings}/installations/{installation.id}",
            "app_id": installation.app_id,
            "app_slug": app_slug,
            "target_id": account.id,
            "target_type": account.type,
            "permissions": dict(installation.permissions),
            "events": list(installation.events),
            "created_at": _iso(installation.created_at),
            "updated_at": _iso(installation.created_at),
            "single_file_name": None,
            "has_multiple_single_files": False,
            "single_file_paths": [],
            "suspended_by": None,
            "suspended_at": None,
        }

    # --------------------------------------------------------------- contents

    def content_file(self, repo: Repo, path: str, text: str, ref: str) -> Json:
        return {
            "type": "file",
            "encoding": "base64",
            "size": len(text.encode()),
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "content": _wrapped_base64(text),
            **self._content_links(repo, path, "file", _blob_sha(text), ref),
        }

    def content_entry(self, repo: Repo, path: str, tree: Mapping[str, str], ref: str) -> Json:
        """An item of a directory listing (a file or a sub-directory)."""
        if path in tree:
            size, kind, sha = len(tree[path].encode()), "file", _blob_sha(tree[path])
        else:
            below = {p: t for p, t in tree.items() if p.startswith(f"{path}/")}
            size, kind, sha = 0, "dir", _tree_sha(below)
        return {
            "type": kind,
            "size": size,
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            **self._content_links(repo, path, kind, sha, ref),
        }

    def _content_links(self, repo: Repo, path: str, kind: str, sha: str, ref: str) -> Json:
        api, quoted = f"{self.api}/repos/{repo.full_name}", _quote(path)
        url = f"{api}/contents/{quoted}?ref={urllib.parse.quote(ref, safe='')}"
        git_url = f"{api}/git/{'blobs' if kind == 'file' else 'trees'}/{sha}"
        html_url = (
            f"{HTML_URL}/{repo.full_name}/{'blob' if kind == 'file' else 'tree'}/{ref}/{quoted}"
        )
        download = f"{RAW_URL}/{repo.full_name}/{ref}/{quoted}" if kind == "file" else None
        return {
            "sha": sha,
            "url": url,
            "git_url": git_url,
            "html_url": html_url,
            "download_url": download,
            "_links": {"self": url, "git": git_url, "html": html_url},
        }


# =============================================================================== http


@dataclass
class RequestRecord:
    """One request as the fake saw it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any = None  # the decoded JSON body, if any
    status: int | None = None  # None when the connection was dropped without an answer
    counted: bool = False  # whether it counted against the rate limit
    installation_id: int | None = None  # when it carried a token issued to an app installation

    @property
    def token(self) -> str | None:
        """The token of ``Authorization: token …`` / ``Bearer …``."""
        return _auth_token(self.headers)


def _auth_token(
    headers: Mapping[str, str], schemes: tuple[str, ...] = ("token", "bearer")
) -> str | None:
    value = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    scheme, _, token = value.partition(" ")
    return token if scheme.lower() in schemes and token else None


@dataclass
class _Request:
    method: str
    path: str
    query: dict[str, str]
    query_pairs: list[tuple[str, str]]
    headers: Mapping[str, str]
    body: Any


@dataclass
class _Response:
    status: int
    body: Any = None  # JSON-serialisable; None for an empty body
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # sent as is instead of ``body`` (not JSON: a fault)


class _Reply(Exception):
    """Raised by endpoint code to answer at once (404, 301, 422…)."""

    def __init__(self, response: _Response) -> None:
        super().__init__(response.status)
        self.response = response


def _error(status: int, message: str, documentation_url: str = DOCS_URL, /, **extra: Any) -> _Reply:
    return _Reply(
        _Response(status, {"message": message, **extra, "documentation_url": documentation_url})
    )


def _not_found() -> _Reply:
    return _error(404, "Not Found")


@dataclass
class _RateBudget:
    limit: int
    used: int = 0
    reset: int = 0  # epoch seconds

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    def refresh(self, now: float) -> None:
        if now >= self.reset:
            self.used, self.reset = 0, int(now) + 3600


@dataclass
class _Faults:
    statuses: list[int] = field(default_factory=list)  # fail_next
    delays: list[float] = field(default_factory=list)  # delay_next
    drops: int = 0  # drop_next
    secondary: list[int] = field(default_factory=list)  # secondary_rate_limit: Retry-After values
    nonsense: list[tuple[bytes, str]] = field(default_factory=list)  # nonsense_next: body, type


_Endpoint = Callable[..., _Response]
# GitHub's default for a GitHub App that only reads (and what the README asks for).
APP_PERMISSIONS = {"metadata": "read", "contents": "read", "pull_requests": "read"}
_ACCESS = ("read", "write", "admin")  # weakest to strongest


@dataclass
class AppInstallation:
    """A GitHub App installed on one account, for all its repositories or selected ones."""

    id: int
    app_id: int
    account: str  # the login of the user or organization
    repo_ids: list[int] | None  # None: all the account's repositories
    permissions: dict[str, str]
    events: list[str]
    created_at: datetime

    def covers(self, repo: Repo) -> bool:
        owned = repo.owner.lower() == self.account.lower()
        return owned and (self.repo_ids is None or repo.id in self.repo_ids)


@dataclass
class App:
    id: int
    slug: str
    public_key_pem: str
    installations: dict[int, AppInstallation] = field(default_factory=dict)


@dataclass(frozen=True)
class InstallationToken:
    """A token issued by ``POST /app/installations/{id}/access_tokens``."""

    token: str
    installation_id: int
    expires_at: int  # epoch seconds
    permissions: dict[str, str]

    def expired(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) >= self.expires_at


@dataclass(frozen=True)
class AppKey:
    """A GitHub App's key pair, PEM-encoded: the private key as GitHub hands it out (PKCS#1,
    ``BEGIN RSA PRIVATE KEY``), the public key for ``FakeGitHub.register_app``."""

    private_pem: str
    public_pem: str


def new_app_key() -> AppKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return AppKey(private.decode(), public.decode())


OAUTH_CLIENT_ID = "Ov23liPRCoachTest01"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEVICE_DOCS_URL = (
    "https://docs.github.com/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps"
    "#error-codes-for-the-device-flow"
)
# What GitHub's user codes are made of: no vowels, no look-alike digits.
_USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
# Two polls this much closer than the interval are still on time (clocks and networks jitter).
POLL_TOLERANCE = 0.1


@dataclass
class DeviceAuthorization:
    """One device-flow sign-in, from ``POST /login/device/code`` to its end."""

    device_code: str
    user_code: str
    client_id: str
    scope: str
    interval: int  # seconds; grows with each slow_down
    expires_at: float  # epoch seconds
    state: str = "pending"  # pending | approved | denied | expired | used
    user_id: int | None = None  # the account that approves
    pending_polls: int = 0  # approved, but still "authorization_pending" this many polls
    slow_downs: int = 0  # the next polls answering "slow_down"
    polls: int = 0
    too_fast: int = 0  # polls sooner than the interval (answered "slow_down")
    last_poll: float | None = None
    token: str | None = None  # the user token, once handed out

    def expired(self, now: float | None = None) -> bool:
        return self.state == "expired" or (time.time() if now is None else now) >= self.expires_at


_REPO = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"
_INSTALLATION = r"/app/installations/(?P<installation_id>[0-9]+)"


class FakeGitHub:
    """The fake GitHub REST API on ``http://127.0.0.1:<free port>``."""

    ROUTES: tuple[tuple[str, str, str], ...] = (
        ("GET", r"/user", "get_authenticated_user"),
        ("GET", r"/users/(?P<login>[^/]+)", "get_user"),
        ("GET", r"/users/(?P<login>[^/]+)/repos", "list_user_repos"),
        ("GET", r"/users/(?P<login>[^/]+)/orgs", "list_user_orgs"),
        ("GET", r"/orgs/(?P<org>[^/]+)", "get_org"),
        ("GET", r"/rate_limit", "get_rate_limit"),
        ("GET", _REPO, "get_repo"),
        ("GET", _REPO + r"/forks", "list_forks"),
        ("POST", _REPO + r"/forks", "create_fork"),
        ("GET", _REPO + r"/branches", "list_branches"),
        ("GET", _REPO + r"/branches/(?P<branch>.+)", "get_branch"),
        ("GET", _REPO + r"/commits", "list_commits"),
        ("GET", _REPO + r"/commits/(?P<ref>.+)", "get_commit"),
        ("GET", _REPO + r"/compare/(?P<basehead>.+)", "compare"),
        ("GET", _REPO + r"/pulls", "list_pulls"),
        ("GET", _REPO + r"/pulls/(?P<number>[0-9]+)", "get_pull"),
        ("GET", _REPO + r"/pulls/(?P<number>[0-9]+)/reviews", "list_reviews"),  # issue 16
        ("GET", _REPO + r"/pulls/(?P<number>[0-9]+)/comments", "list_review_comments"),
        ("GET", _REPO + r"/pulls/(?P<number>[0-9]+)/files", "list_pull_files"),
        ("GET", _REPO + r"/contents(?:/(?P<path>.*))?", "get_contents"),
        ("GET", _REPO + r"/installation", "get_repo_installation"),
        ("GET", _INSTALLATION, "get_app_installation"),
        ("POST", _INSTALLATION + r"/access_tokens", "create_installation_token"),
        ("POST", r"/login/device/code", "create_device_code"),
        ("POST", r"/login/oauth/access_token", "create_device_token"),
    )

    def __init__(
        self, *, token_user: str = "coach-bot", rate_limit: int = 5000, host: str = "127.0.0.1"
    ) -> None:
        self.world = World()
        self.token_user = token_user  # the account behind any token (GET /user, forks)
        self._initial = (token_user, rate_limit)
        self.delay = 0.0  # seconds slept before answering every request
        self.installation_token_lifetime = 3600.0  # seconds, as on GitHub
        self._host = host
        self._apps_lock = threading.Lock()  # guards apps and tokens; never held with another
        self._apps: dict[int, App] = {}
        self._tokens: dict[str, InstallationToken] = {}  # in the order they were issued
        # The device flow: never held with another lock but the world's (taken before it).
        self._device_lock = threading.Lock()
        self._devices: dict[str, DeviceAuthorization] = {}  # by device code, oldest first
        self._user_tokens: dict[str, int] = {}  # gho_… token -> the account's id
        self.oauth_client_id = OAUTH_CLIENT_ID
        self.device_flow_enabled = True
        self.device_interval = 1  # seconds; GitHub says 5 (tests need not wait that long)
        self.slow_down_step = 1  # seconds added by each slow_down; GitHub adds 5
        self.device_expires_in = 900  # seconds, as on GitHub
        self._lock = threading.Lock()  # guards the log, the faults and the budget
        self._log: list[RequestRecord] = []
        self._faults = _Faults()
        self._budget = _RateBudget(rate_limit)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._routes: list[tuple[str, re.Pattern[str], _Endpoint]] = [
            (method, re.compile(pattern), getattr(self, f"_{name}"))
            for method, pattern, name in self.ROUTES
        ]
        # --- personal tokens' life (issue 15: check-config, the worker's warnings) ---------
        # A revoked (or expired) token gets 401 "Bad credentials" everywhere, as on GitHub.
        self.revoked_tokens: set[str] = set()
        # Sent as GitHub-Authentication-Token-Expiration ("YYYY-MM-DD HH:MM:SS UTC") on
        # answers to a personal token, as GitHub does for tokens with an expiry date.
        self.token_expiration: str | None = None

    # ------------------------------------------------------------- lifecycle

    def start(self) -> FakeGitHub:
        if self._server is None:
            self._server = _Server((self._host, 0), _Handler, self)
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            assert self._thread is not None
            self._thread.join(timeout=5)
            self._server = self._thread = None

    def __enter__(self) -> FakeGitHub:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeGitHub is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def reset(self) -> None:
        """Back to the state after construction — empty world and log, no faults, a full
        budget, the constructor's ``token_user`` and ``rate_limit``, no GitHub App, no device
        flow — the server keeps running."""
        self.world.clear()
        with self._lock:
            self._log.clear()
            self._faults = _Faults()
            self.token_user, limit = self._initial
            self._budget = _RateBudget(limit)
            self.delay = 0.0
        with self._apps_lock:
            self._apps.clear()
            self._tokens.clear()
            self.installation_token_lifetime = 3600.0
        with self._device_lock:
            self._devices.clear()
            self._user_tokens.clear()
            self.oauth_client_id, self.device_flow_enabled = OAUTH_CLIENT_ID, True
            self.device_interval, self.slow_down_step, self.device_expires_in = 1, 1, 900
        self.revoked_tokens, self.token_expiration = set(), None  # issue 15

    # ------------------------------------------------------------- log

    @property
    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._log)

    def count(
        self, counted_only: bool = True, *, method: str | None = None, path: str | None = None
    ) -> int:
        """Number of logged requests, optionally only those of ``method`` / matching ``path``
        (a regular expression searched in the path)."""
        return sum(
            1
            for r in self.requests
            if (r.counted or not counted_only)
            and (method is None or r.method == method.upper())
            and (path is None or re.search(path, r.path))
        )

    def reset_log(self) -> None:
        with self._lock:
            self._log.clear()

    # ------------------------------------------------------------- rate limit

    @property
    def rate_limit(self) -> int:
        return self._budget.limit

    @rate_limit.setter
    def rate_limit(self, limit: int) -> None:
        with self._lock:
            self._budget.limit = limit

    @property
    def rate_remaining(self) -> int:
        with self._lock:
            self._budget.refresh(time.time())
            return self._budget.remaining

    def exhaust_rate_limit(self, reset_in: int = 600) -> None:
        """Use up the budget: requests answer 403 "API rate limit exceeded" until the reset."""
        with self._lock:
            self._budget.used, self._budget.reset = self._budget.limit, int(time.time()) + reset_in

    def restore_rate_limit(self) -> None:
        with self._lock:
            self._budget.used, self._budget.reset = 0, int(time.time()) + 3600

    # ------------------------------------------------------------- GitHub Apps

    def register_app(
        self,
        app_id: int,
        public_key_pem: str | bytes,
        installation_id: int,
        repos: Iterable[str] = (),
        *,
        account: str | None = None,
        slug: str | None = None,
        permissions: Mapping[str, str] | None = None,
        events: Iterable[str] = (),
    ) -> AppInstallation:
        """Install the GitHub App ``app_id`` (created if new) as ``installation_id``.

        ``repos`` (``owner/name``, all of one account) are the selected repositories; without
        them the app is installed on all the repositories of ``account``. ``public_key_pem`` is
        the app's RSA public key: JWTs must be signed with its private key.
        """
        pem = public_key_pem.decode() if isinstance(public_key_pem, bytes) else public_key_pem
        selected = []
        for full_name in repos:
            found = self.world.find_repo(*full_name.split("/", 1))
            if found is None:
                raise ValueError(f"no repository {full_name!r}")
            selected.append(found)
        owners = {r.owner for r in selected} | ({account} if account else set())
        if len({o.lower() for o in owners}) != 1:
            raise ValueError("an installation is on one account: give repos of one owner")
        owner = self.world.find_user(owners.pop())
        if owner is None:
            raise ValueError(f"no account {account!r}; add_user/add_org first")
        installation = AppInstallation(
            installation_id,
            app_id,
            owner.login,
            [r.id for r in selected] if selected else None,
            dict(APP_PERMISSIONS if permissions is None else permissions),
            list(events),
            self.world.clock(),
        )
        with self._apps_lock:
            if any(installation_id in a.installations for a in self._apps.values()):
                raise ValueError(f"installation {installation_id} already exists")
            app = self._apps.setdefault(app_id, App(app_id, slug or f"app-{app_id}", pem))
            app.public_key_pem, app.slug = pem, slug or app.slug
            app.installations[installation_id] = installation
        return installation

    def uninstall_app(self, installation_id: int) -> None:
        """Remove an installation, as its account's owner can; its tokens stop working."""
        with self._apps_lock:
            app = next((a for a in self._apps.values() if installation_id in a.installations), None)
            if app is None:
                raise ValueError(f"no installation {installation_id}")
            del app.installations[installation_id]
            for token in [t for t in self._tokens.values() if t.installation_id == installation_id]:
                self._tokens[token.token] = replace(token, expires_at=0)

    @property
    def issued_tokens(self) -> list[InstallationToken]:
        """Every installation token issued since the last reset, oldest first."""
        with self._apps_lock:
            return list(self._tokens.values())

    def _grant(self, token: str | None) -> InstallationToken | None:
        with self._apps_lock:
            return self._tokens.get(token) if token else None

    # ------------------------------------------------------------- device flow

    @property
    def device_authorizations(self) -> list[DeviceAuthorization]:
        """Every device code handed out since the last reset, oldest first (copies)."""
        with self._device_lock:
            return [replace(d) for d in self._devices.values()]

    @property
    def user_tokens(self) -> list[str]:
        """Every user token (``gho_…``) handed out by the device flow since the last reset."""
        with self._device_lock:
            return list(self._user_tokens)

    def _device(self, user_code: str | None) -> DeviceAuthorization:
        """The authorization of ``user_code``, or the latest one still pending."""
        if user_code is not None:
            found = next((d for d in self._devices.values() if d.user_code == user_code), None)
        else:
            pending = [d for d in self._devices.values() if d.state == "pending"]
            found = pending[-1] if pending else None
        if found is None:
            raise ValueError(f"no pending device code {user_code or ''}".strip())
        return found

    def approve_device(
        self, login: str, user_code: str | None = None, *, after_pending: int = 0
    ) -> None:
        """``login`` types the code and clicks Authorize; the next ``after_pending`` polls still
        answer ``authorization_pending`` (the learner is slow), then a token is handed out."""
        user = self.world.find_user(login)
        if user is None or user.is_org:
            raise ValueError(f"no personal account {login!r}: add_user first")
        with self._device_lock:
            device = self._device(user_code)
            device.state, device.user_id, device.pending_polls = "approved", user.id, after_pending

    def deny_device(self, user_code: str | None = None) -> None:
        """The person clicks Cancel on GitHub's authorization page."""
        with self._device_lock:
            self._device(user_code).state = "denied"

    def expire_device(self, user_code: str | None = None) -> None:
        """The code's fifteen minutes are over."""
        with self._device_lock:
            self._device(user_code).state = "expired"

    def slow_down_device(self, n: int = 1, user_code: str | None = None) -> None:
        """The next ``n`` polls of the code answer ``slow_down`` (each adds ``slow_down_step``)."""
        with self._device_lock:
            self._device(user_code).slow_downs += n

    def _user_token_account(self, token: str | None) -> User | None:
        with self._device_lock:
            user_id = self._user_tokens.get(token) if token else None
        return self.world.find_user_by_id(user_id) if user_id is not None else None

    # ------------------------------------------------------------- faults

    def fail_next(self, n: int = 1, status: int = 502) -> None:
        """The next ``n`` requests answer ``status`` with a GitHub-like error body."""
        with self._lock:
            self._faults.statuses.extend([status] * n)

    def delay_next(self, n: int, seconds: float) -> None:
        """The next ``n`` requests wait ``seconds`` (on top of ``delay``) before answering."""
        with self._lock:
            self._faults.delays.extend([seconds] * n)

    def drop_next(self, n: int = 1) -> None:
        """The next ``n`` connections close without an answer (the client sees ConnectionError)."""
        with self._lock:
            self._faults.drops += n

    def nonsense_next(
        self, n: int = 1, body: bytes = b"", content_type: str = "text/html; charset=utf-8"
    ) -> None:
        """The next ``n`` requests answer 200 with ``body`` instead of the API's JSON: a
        proxy's HTML error page, an empty answer, JSON cut short."""
        with self._lock:
            self._faults.nonsense.extend([(body, content_type)] * n)

    def html_next(self, n: int = 1) -> None:
        """A captive portal or proxy's error page, answered 200 (as they do)."""
        page = (
            b"<!DOCTYPE html><html><head><title>Service unavailable</title></head>"
            b"<body><h1>We'll be right back</h1></body></html>"
        )
        self.nonsense_next(n, page)

    def secondary_rate_limit(self, retry_after: int = 60, n: int = 1) -> None:
        """The next ``n`` requests hit the secondary rate limit (403 with ``Retry-After``)."""
        with self._lock:
            self._faults.secondary.extend([retry_after] * n)

    # ------------------------------------------------------------- serving

    def _serve(self, request: _Request) -> _Response | None:
        """Answer one request; None means: drop the connection."""
        record = RequestRecord(
            request.method, request.path, dict(request.query), dict(request.headers), request.body
        )
        grant = self._grant(record.token)
        record.installation_id = grant.installation_id if grant else None
        with self._lock:
            self._log.append(record)
            if self._faults.drops:
                self._faults.drops -= 1
                return None
            pause = self.delay + (self._faults.delays.pop(0) if self._faults.delays else 0.0)
        if pause:
            time.sleep(pause)
        viewer = self.world.find_user(self.token_user)  # before taking self._lock (lock order)
        website = request.path.startswith("/login/")  # github.com, not the API
        with self._lock:
            response = self._injected_fault(viewer.id if viewer else 1, rate_limited=not website)
        personal = bool(record.token) and not str(record.token).startswith(("ghs_", "gho_", "eyJ"))
        if response is None and record.token in self.revoked_tokens:  # issue 15
            response = _error(401, "Bad credentials", status="401").response
        if response is None:
            response = self._dispatch(request)
        if personal and self.token_expiration and response.status != 401:  # issue 15
            response.headers["GitHub-Authentication-Token-Expiration"] = self.token_expiration
        # A learner's own token (device flow) spends the learner's budget, not the bot's.
        learners = bool(record.token and record.token.startswith("gho_"))
        with self._lock:
            counted = (
                response.status != 304
                and request.path != "/rate_limit"
                and not website
                and not learners
            )
            if counted:  # 304s and /rate_limit are free, as on GitHub
                self._budget.used = min(self._budget.limit, self._budget.used + 1)
            if not website:
                response.headers.update(self._rate_headers())
            record.status, record.counted = response.status, counted
        return response

    def _injected_fault(self, viewer_id: int, *, rate_limited: bool = True) -> _Response | None:
        self._budget.refresh(time.time())
        if self._faults.statuses:
            status = self._faults.statuses.pop(0)
            message = "Server Error" if status >= 500 else HTTPStatus(status).phrase
            return _Response(status, {"message": message, "documentation_url": DOCS_URL})
        if self._faults.nonsense:
            body, content_type = self._faults.nonsense.pop(0)
            return _Response(200, None, {"Content-Type": content_type}, raw=body)
        if self._faults.secondary:
            retry_after = self._faults.secondary.pop(0)
            message = (
                "You have exceeded a secondary rate limit. Please wait a few minutes before you "
                "try again. If you reach out to GitHub Support for help, please include the "
                f"request ID {_request_id()}."
            )
            body = {"message": message, "documentation_url": SECONDARY_DOCS_URL}
            return _Response(403, body, {"Retry-After": str(retry_after)})
        if rate_limited and self._budget.remaining == 0:
            message = (
                f"API rate limit exceeded for user ID {viewer_id}. If you reach out "
                "to GitHub Support for help, please include the request ID "
                f"{_request_id()} and timestamp {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC."
            )
            return _Response(403, {"message": message, "documentation_url": RATE_LIMIT_DOCS_URL})
        return None

    def _rate_headers(self) -> dict[str, str]:
        budget = self._budget
        return {
            "X-RateLimit-Limit": str(budget.limit),
            "X-RateLimit-Remaining": str(budget.remaining),
            "X-RateLimit-Reset": str(budget.reset),
            "X-RateLimit-Used": str(budget.used),
            "X-RateLimit-Resource": "core",
        }

    def _dispatch(self, request: _Request) -> _Response:
        try:
            with self.world.lock:
                self._check_installation_token(request)
                request = self._resolve_alias(request)
                for method, pattern, endpoint in self._routes:
                    match = pattern.fullmatch(request.path)
                    if match and method == request.method:
                        params = {
                            k: urllib.parse.unquote(v)
                            for k, v in match.groupdict().items()
                            if v is not None
                        }
                        response = endpoint(request, **params)
                        break
                else:
                    raise _not_found()
        except _Reply as reply:
            response = reply.response
        except Exception as error:  # a bug of the fake: say so instead of hanging up
            detail = "".join(traceback.format_exception_only(error)).strip()
            response = _Response(500, {"message": f"FakeGitHub crashed: {detail}"})
        return self._conditional(request, response)

    def _resolve_alias(self, request: _Request) -> _Request:
        """``/repositories/{id}/…`` and ``/user/{id}/…`` (the paths of Link headers and
        redirects) stand for ``/repos/{owner}/{name}/…`` and ``/users/{login}/…``."""
        match = re.fullmatch(r"/repositories/(\d+)(/.*)?", request.path)
        if match:
            repo = self.world.repos.get(int(match.group(1)))
            if repo is None or not self.world.can_read(repo, self.token_user):
                raise _not_found()
            request = replace(request, path=f"/repos/{repo.full_name}{match.group(2) or ''}")
        match = re.fullmatch(r"/user/(\d+)(/.*)?", request.path)
        if match:
            user = self.world.find_user_by_id(int(match.group(1)))
            if user is None:
                raise _not_found()
            request = replace(request, path=f"/users/{user.login}{match.group(2) or ''}")
        return request

    @staticmethod
    def _conditional(request: _Request, response: _Response) -> _Response:
        """ETag on 200 answers to GET; ``If-None-Match`` that matches gives 304."""
        if request.method != "GET" or response.status != 200 or response.raw is not None:
            return response
        etag = f'W/"{hashlib.sha256(_encode(response.body)).hexdigest()}"'
        response.headers["ETag"] = etag
        wanted = next((v for k, v in request.headers.items() if k.lower() == "if-none-match"), "")
        tags = {t.strip().removeprefix("W/") for t in wanted.split(",") if t.strip()}
        if "*" in tags or etag.removeprefix("W/") in tags:
            return _Response(304, None, {"ETag": etag})
        return response

    # ------------------------------------------------------------- endpoint helpers

    def _render(self) -> Renderer:
        return Renderer(self.world, self.url, self.token_user)

    def _viewer(self) -> User:
        user = self.world.find_user(self.token_user)
        if user is None:
            raise _error(401, "Bad credentials", status="401")
        return user

    def _repo(self, request: _Request, owner: str, name: str) -> Repo:
        repo = self.world.find_repo(owner, name)
        if repo is not None and self.world.can_read(repo, self.token_user):
            return repo
        moved = self.world.renamed_repo(owner, name)
        if moved is not None and self.world.can_read(moved, self.token_user):
            rest = request.path.split("/", 4)[4] if request.path.count("/") > 3 else ""
            location = f"{self.url}/repositories/{moved.id}" + (f"/{rest}" if rest else "")
            reply = _error(
                301 if request.method == "GET" else 307,
                "Moved Permanently",
                "https://docs.github.com/v3/#http-redirects",
                url=location,
            )
            reply.response.headers["Location"] = location
            raise reply
        raise _not_found()

    def _paginate(
        self,
        request: _Request,
        items: list[Any],
        *,
        default: int = 30,
        maximum: int = 100,
        link_path: str | None = None,
    ) -> tuple[list[Any], dict[str, str], bool]:
        """The requested page of ``items``, the ``Link`` header and whether it is page 1.

        Links repeat the request's query with ``page`` replaced, on ``link_path`` — GitHub
        builds them on ``/repositories/{id}/…`` rather than the path that was asked for.
        """
        per_page = min(_positive_int(request.query.get("per_page"), default), maximum)
        page = _positive_int(request.query.get("page"), 1)
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        base_query = [(k, v) for k, v in request.query_pairs if k != "page"]

        def link(target: int, rel: str) -> str:
            query = urllib.parse.urlencode([*base_query, ("page", str(target))])
            return f'<{self.url}{link_path or request.path}?{query}>; rel="{rel}"'

        links = []
        if page > 1:
            links.append(link(min(page - 1, last), "prev"))
        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        if page > 1:
            links.append(link(1, "first"))
        return chunk, ({"Link": ", ".join(links)} if links else {}), page == 1

    def _resolve_side(self, repo: Repo, side: str) -> tuple[Repo, Commit]:
        """One side of ``compare/{base}...{head}``: ``ref``, ``owner:ref`` or ``owner:repo:ref``."""
        parts = side.split(":")
        if len(parts) == 1:
            target: Repo | None = repo
        elif len(parts) == 2:
            target = self.world.network_repo(repo, parts[0])
        elif len(parts) == 3:
            target = self.world.find_repo(parts[0], parts[1])
            if target is not None and target.network_id != repo.network_id:
                target = None
        else:
            target = None
        commit = self.world.resolve_ref(target, parts[-1]) if target else None
        if target is None or commit is None:
            raise _not_found()
        return target, commit

    # ------------------------------------------------------------- endpoints: accounts

    def _get_authenticated_user(self, request: _Request) -> _Response:
        if not any(k.lower() == "authorization" for k in request.headers):
            raise _error(
                401,
                "Requires authentication",
                "https://docs.github.com/rest/users/users#get-the-authenticated-user",
                status="401",
            )
        token = _auth_token(request.headers)
        if self._grant(token):
            raise _error(
                403,
                "Resource not accessible by integration",
                "https://docs.github.com/rest/users/users#get-the-authenticated-user",
                status="403",
            )
        learner = self._user_token_account(token)
        if learner is not None:  # a token from the device flow: its account, not the bot's
            return _Response(
                200, Renderer(self.world, self.url, learner.login).private_user(learner)
            )
        if token and token.startswith("gho_"):
            raise _error(401, "Bad credentials", status="401")
        return _Response(200, self._render().private_user(self._viewer()))

    def _get_user(self, request: _Request, login: str) -> _Response:
        user = self.world.find_user(login)
        if user is None:
            raise _not_found()
        return _Response(200, self._render().public_user(user))

    def _list_user_repos(self, request: _Request, login: str) -> _Response:
        user = self.world.find_user(login)
        if user is None:
            raise _not_found()
        kind = request.query.get("type", "owner")
        repos = [
            r
            for r in self.world.repos.values()
            if self.world.can_read(r, self.token_user)
            and (
                (kind in ("owner", "all") and r.owner == user.login)
                or (kind in ("member", "all") and user.login.lower() in r.collaborators)
            )
        ]
        sort = request.query.get("sort", "full_name")
        keys: dict[str, Callable[[Repo], Any]] = {
            "created": lambda r: r.created_at,
            "updated": lambda r: r.updated_at,
            "pushed": lambda r: r.pushed_at,
        }
        direction = request.query.get("direction", "asc" if sort == "full_name" else "desc")
        repos.sort(key=keys.get(sort, lambda r: r.full_name.lower()), reverse=direction == "desc")
        page, headers, _ = self._paginate(request, repos, link_path=f"/user/{user.id}/repos")
        render = self._render()
        return _Response(200, [render.repository(r) for r in page], headers)

    def _list_user_orgs(self, request: _Request, login: str) -> _Response:
        user = self.world.find_user(login)
        if user is None:
            raise _not_found()
        orgs = [
            o
            for o in self.world.users.values()
            if o.is_org and user.login.lower() in (m.lower() for m in o.members)
        ]
        page, headers, _ = self._paginate(request, sorted(orgs, key=lambda o: o.id))
        return _Response(200, [self._render().simple_org(o) for o in page], headers)

    def _get_org(self, request: _Request, org: str) -> _Response:
        account = self.world.find_user(org)
        if account is None or not account.is_org:
            raise _not_found()
        return _Response(200, self._render().full_org(account))

    def _get_rate_limit(self, request: _Request) -> _Response:
        with self._lock:
            self._budget.refresh(time.time())
            core = {
                "limit": self._budget.limit,
                "used": self._budget.used,
                "remaining": self._budget.remaining,
                "reset": self._budget.reset,
            }

        def fresh(limit: int) -> Json:
            return {"limit": limit, "used": 0, "remaining": limit, "reset": core["reset"]}

        resources = {
            "core": core,
            "search": fresh(30),
            "graphql": fresh(5000),
            "integration_manifest": fresh(5000),
            "source_import": fresh(100),
            "code_scanning_autofix": fresh(10),
            "actions_runner_registration": fresh(10000),
            "scim": fresh(15000),
            "dependency_snapshots": fresh(100),
            "code_search": fresh(10),
        }
        return _Response(200, {"resources": resources, "rate": dict(core)})

    # ------------------------------------------------------------- endpoints: GitHub Apps

    def _check_installation_token(self, request: _Request) -> None:
        """An installation token (``ghs_…``) works until it expires; any other token works."""
        token = _auth_token(request.headers)
        if token and token.startswith("ghs_"):
            grant = self._grant(token)
            if grant is None or grant.expired():
                raise _error(401, "Bad credentials", status="401")

    def _jwt_app(self, request: _Request) -> App:
        """The app whose JWT authenticates the request, checked as GitHub checks it: RS256,
        signed with the app's key, ``iss`` its ID, ``iat`` past, ``exp`` within 10 minutes."""
        token = _auth_token(request.headers, ("bearer",))
        undecodable = _error(401, "A JSON web token could not be decoded", status="401")
        if not token:
            raise undecodable
        try:
            issuer = str(jwt.decode(token, options={"verify_signature": False}).get("iss"))
            with self._apps_lock:
                app = self._apps.get(int(issuer)) if issuer.isdigit() else None
            if app is None:  # GitHub says the same for an unknown app ID
                raise undecodable
            claims = jwt.decode(
                token,
                app.public_key_pem,
                algorithms=["RS256"],
                options={"verify_exp": False, "verify_iat": False, "require": ["iat", "exp"]},
            )
        except jwt.PyJWTError:
            raise undecodable from None
        now = time.time()
        issued, expires = claims["iat"], claims["exp"]
        if not isinstance(issued, int) or issued > now + 1:
            raise _error(
                401,
                "'Issued at' claim ('iat') must be an Integer representing the time that the "
                "assertion was issued",
                status="401",
            )
        if not isinstance(expires, int) or expires <= now:
            raise _error(
                401,
                "'Expiration time' claim ('exp') must be a numeric value representing the future "
                "time at which the assertion expires",
                status="401",
            )
        if expires - now > 600:
            raise _error(
                401, "'Expiration time' claim ('exp') is too far in the future", status="401"
            )
        return app

    def _installation(self, app: App, installation_id: str, docs: str) -> AppInstallation:
        with self._apps_lock:
            found = app.installations.get(int(installation_id))
        if found is None:
            raise _error(404, "Not Found", f"{DOCS_URL}/apps/apps#{docs}", status="404")
        return found

    def _get_repo_installation(self, request: _Request, owner: str, repo: str) -> _Response:
        app = self._jwt_app(request)
        found = self.world.find_repo(owner, repo)
        with self._apps_lock:
            installation = next(
                (i for i in app.installations.values() if found and i.covers(found)), None
            )
        if installation is None:
            docs = f"{DOCS_URL}/apps/apps#get-a-repository-installation-for-the-authenticated-app"
            raise _error(404, "Not Found", docs, status="404")
        return _Response(200, self._render().installation(installation, app.slug))

    def _get_app_installation(self, request: _Request, installation_id: str) -> _Response:
        app = self._jwt_app(request)
        docs = "get-an-installation-for-the-authenticated-app"
        installation = self._installation(app, installation_id, docs)
        return _Response(200, self._render().installation(installation, app.slug))

    def _create_installation_token(self, request: _Request, installation_id: str) -> _Response:
        """201 with a new token; ``permissions`` may ask for less than the installation has."""
        app = self._jwt_app(request)
        docs = "create-an-installation-access-token-for-an-app"
        installation = self._installation(app, installation_id, docs)
        options = request.body if isinstance(request.body, dict) else {}
        wanted = options.get("permissions") or installation.permissions
        for name, access in dict(wanted).items():
            granted = installation.permissions.get(name)
            if (
                access not in _ACCESS
                or not granted
                or _ACCESS.index(access) > _ACCESS.index(granted)
            ):
                raise _error(
                    422,
                    "The permissions requested are not granted to this installation.",
                    f"{DOCS_URL}/apps/apps#{docs}",
                    status="422",
                )
        alphabet = string.ascii_letters + string.digits
        token = InstallationToken(
            "ghs_" + "".join(secrets.choice(alphabet) for _ in range(36)),
            installation.id,
            math.ceil(time.time() + self.installation_token_lifetime),
            dict(wanted),
        )
        with self._apps_lock:
            self._tokens[token.token] = token
        body = {
            "token": token.token,
            "expires_at": _iso(datetime.fromtimestamp(token.expires_at, UTC)),
            "permissions": dict(token.permissions),
            "repository_selection": "all" if installation.repo_ids is None else "selected",
        }
        return _Response(201, body)

    # ------------------------------------------------------------- endpoints: device flow
    #
    # GitHub's website, not its API: form-encoded parameters (or JSON, or the query string),
    # JSON answers (clients send ``Accept: application/json``), and 200 even for the flow's
    # errors, which are ``{"error": …, "error_description": …, "error_uri": …}``.

    @staticmethod
    def _form(request: _Request) -> dict[str, str]:
        values = dict(request.query)
        if isinstance(request.body, dict):
            values.update({k: str(v) for k, v in request.body.items()})
        elif isinstance(request.body, str):
            values.update(dict(urllib.parse.parse_qsl(request.body, keep_blank_values=True)))
        return values

    @staticmethod
    def _device_error(code: str, description: str, **extra: Any) -> _Response:
        body = {"error": code, "error_description": description, "error_uri": DEVICE_DOCS_URL}
        return _Response(200, {**body, **extra})

    def _create_device_code(self, request: _Request) -> _Response:
        form = self._form(request)
        if form.get("client_id") != self.oauth_client_id:
            return _Response(404, {"error": "Not Found"})
        if not self.device_flow_enabled:
            return _Response(
                400,
                {
                    "error": "device_flow_disabled",
                    "error_description": "Device Flow must be explicitly enabled for this App",
                    "error_uri": DEVICE_DOCS_URL,
                },
            )
        letters = "".join(secrets.choice(_USER_CODE_ALPHABET) for _ in range(8))
        with self._device_lock:
            device = DeviceAuthorization(
                device_code=secrets.token_hex(20),
                user_code=f"{letters[:4]}-{letters[4:]}",
                client_id=form["client_id"],
                scope=form.get("scope", ""),
                interval=self.device_interval,
                expires_at=time.time() + self.device_expires_in,
            )
            self._devices[device.device_code] = device
            expires_in = self.device_expires_in
        body = {
            "device_code": device.device_code,
            "user_code": device.user_code,
            "verification_uri": f"{self.url}/login/device",
            "expires_in": expires_in,
            "interval": device.interval,
        }
        return _Response(200, body)

    def _create_device_token(self, request: _Request) -> _Response:
        form = self._form(request)
        now = time.time()
        if form.get("client_id") != self.oauth_client_id:
            return self._device_error(
                "incorrect_client_credentials",
                "The client_id and/or client_secret passed are incorrect.",
            )
        if form.get("grant_type") != DEVICE_GRANT:
            return self._device_error("unsupported_grant_type", "The grant type is not supported.")
        with self._device_lock:
            device = self._devices.get(form.get("device_code", ""))
            if device is None or device.state == "used":
                return self._device_error(
                    "incorrect_device_code", "The device_code provided is not valid."
                )
            device.polls += 1
            too_fast = (
                device.last_poll is not None
                and now - device.last_poll < device.interval - POLL_TOLERANCE
            )
            device.last_poll = now
            if device.expired(now):
                device.state = "expired"
                return self._device_error(
                    "expired_token", "The device code has expired. Please request a new one."
                )
            if too_fast or device.slow_downs:
                device.too_fast += too_fast
                device.slow_downs = max(0, device.slow_downs - (not too_fast))
                device.interval += self.slow_down_step
                return self._device_error(
                    "slow_down",
                    "Too many requests have been made in the same timeframe.",
                    interval=device.interval,
                )
            if device.state == "denied":
                return self._device_error("access_denied", "The authorization request was denied.")
            if device.state == "pending" or device.pending_polls:
                device.pending_polls = max(0, device.pending_polls - 1)
                return self._device_error(
                    "authorization_pending", "The authorization request is still pending."
                )
            alphabet = string.ascii_letters + string.digits
            device.token = "gho_" + "".join(secrets.choice(alphabet) for _ in range(36))
            device.state = "used"
            assert device.user_id is not None
            self._user_tokens[device.token] = device.user_id
            body = {"access_token": device.token, "token_type": "bearer", "scope": device.scope}
        return _Response(200, body)

    # ------------------------------------------------------------- endpoints: repositories

    def _get_repo(self, request: _Request, owner: str, repo: str) -> _Response:
        return _Response(200, self._render().full_repository(self._repo(request, owner, repo)))

    def _list_forks(self, request: _Request, owner: str, repo: str) -> _Response:
        found = self._repo(request, owner, repo)
        forks = [f for f in self.world.forks_of(found) if self.world.can_read(f, self.token_user)]
        forks.sort(key=lambda r: r.id, reverse=request.query.get("sort") != "oldest")
        page, headers, _ = self._paginate(
            request, forks, link_path=f"/repositories/{found.id}/forks"
        )
        render = self._render()
        return _Response(200, [render.repository(f) for f in page], headers)

    def _create_fork(self, request: _Request, owner: str, repo: str) -> _Response:
        upstream = self._repo(request, owner, repo)
        options = request.body if isinstance(request.body, dict) else {}
        target = self._viewer().login
        if options.get("organization"):
            org = self.world.find_user(str(options["organization"]))
            if org is None or not org.is_org:
                errors = [{"resource": "Fork", "code": "invalid", "field": "organization"}]
                raise _error(422, "Validation Failed", errors=errors)
            target = org.login
        name = options.get("name")
        full_name = self.world.fork(
            upstream.full_name,
            target,
            str(name) if name else None,
            default_branch_only=bool(options.get("default_branch_only")),
        )
        fork = self.world.find_repo(*full_name.split("/"))
        assert fork is not None
        return _Response(202, self._render().full_repository(fork))

    def _list_branches(self, request: _Request, owner: str, repo: str) -> _Response:
        found = self._repo(request, owner, repo)
        names = sorted(found.branches)
        if request.query.get("protected") == "true":
            names = []
        page, headers, _ = self._paginate(
            request, names, link_path=f"/repositories/{found.id}/branches"
        )
        render = self._render()
        return _Response(200, [render.short_branch(found, n) for n in page], headers)

    def _get_branch(self, request: _Request, owner: str, repo: str, branch: str) -> _Response:
        found = self._repo(request, owner, repo)
        if branch not in found.branches:
            raise _error(
                404,
                "Branch not found",
                "https://docs.github.com/rest/branches/branches#get-a-branch",
            )
        return _Response(200, self._render().branch(found, branch))

    def _list_commits(self, request: _Request, owner: str, repo: str) -> _Response:
        found = self._repo(request, owner, repo)
        if not found.branches:
            raise _error(409, "Git Repository is empty.")
        start = self.world.resolve_ref(found, request.query.get("sha") or found.default_branch)
        if start is None:
            raise _not_found()
        commits = self.world.history(start.sha)
        if "author" in request.query:
            wanted = request.query["author"]
            account = self.world.find_user(wanted)
            commits = [
                c
                for c in commits
                if (account and account.owns_email(c.author_email))
                or c.author_email.lower() == wanted.lower()
            ]
        if "path" in request.query:
            path = request.query["path"].strip("/")
            commits = [c for c in commits if _touches(self.world, c, path)]
        page, headers, _ = self._paginate(
            request, commits, link_path=f"/repositories/{found.id}/commits"
        )
        render = self._render()
        return _Response(200, [render.commit(c, found) for c in page], headers)

    def _get_commit(self, request: _Request, owner: str, repo: str, ref: str) -> _Response:
        found = self._repo(request, owner, repo)
        commit = self.world.resolve_ref(found, ref)
        if commit is None:
            raise _error(422, f"No commit found for SHA: {ref}")
        return _Response(200, self._render().commit(commit, found, detailed=True))

    def _compare(self, request: _Request, owner: str, repo: str, basehead: str) -> _Response:
        found = self._repo(request, owner, repo)
        base, dots, head = basehead.partition("...")
        if not dots:
            base, dots, head = basehead.partition("..")
        if not dots or not base or not head:
            raise _not_found()
        (base_repo, base_commit), (head_repo, head_commit) = (
            self._resolve_side(found, base),
            self._resolve_side(found, head),
        )
        try:
            comparison = self.world.compare(base_commit, head_commit)
        except ValueError:
            raise _error(404, f"No common ancestor between {base} and {head}.") from None
        # Commits are paginated 250 at a time by default (up to 1000), unlike other lists.
        commits, headers, first = self._paginate(
            request,
            comparison.ahead,
            default=250,
            maximum=1000,
            link_path=f"/repositories/{found.id}/compare/{_quote(basehead)}",
        )
        permalink = f"{base_repo.owner}:{base_commit.sha}...{head_repo.owner}:{head_commit.sha}"
        body = self._render().comparison(found, basehead, permalink, comparison, commits, first)
        return _Response(200, body, headers)

    def _get_contents(self, request: _Request, owner: str, repo: str, path: str = "") -> _Response:
        found = self._repo(request, owner, repo)
        ref = request.query.get("ref") or found.default_branch
        commit = self.world.resolve_ref(found, ref) if found.branches else None
        if commit is None:
            raise _not_found()
        path, tree, render = path.strip("/"), commit.tree, self._render()
        if path in tree:
            return _Response(200, render.content_file(found, path, tree[path], ref))
        prefix = f"{path}/" if path else ""
        children = sorted(
            {prefix + p[len(prefix) :].split("/")[0] for p in tree if p.startswith(prefix)}
        )
        if not children:
            raise _not_found()
        return _Response(200, [render.content_entry(found, c, tree, ref) for c in children])

    # ------------------------------------------------------------- endpoints: pulls

    def _list_pulls(self, request: _Request, owner: str, repo: str) -> _Response:
        found = self._repo(request, owner, repo)
        state = request.query.get("state", "open")
        pulls = [p for p in self.world.pulls_of(found) if state == "all" or p.state == state]
        if "head" in request.query:
            head_owner, _, head_ref = request.query["head"].rpartition(":")
            label = f"{head_owner or found.owner}:{head_ref}".lower()
            pulls = [p for p in pulls if p.head_label.lower() == label]
        if "base" in request.query:
            pulls = [p for p in pulls if p.base_ref == request.query["base"]]
        sort = request.query.get("sort", "created")
        key = (
            (lambda p: (p.updated_at, p.number))
            if sort == "updated"
            else (lambda p: (p.created_at, p.number))
        )
        default_direction = "desc" if sort in ("created", "updated") else "asc"
        pulls.sort(key=key, reverse=request.query.get("direction", default_direction) == "desc")
        page, headers, _ = self._paginate(
            request, pulls, link_path=f"/repositories/{found.id}/pulls"
        )
        render = self._render()
        return _Response(200, [render.pull(p, simple=True) for p in page], headers)

    def _get_pull(self, request: _Request, owner: str, repo: str, number: str) -> _Response:
        pull = self.world.find_pull(self._repo(request, owner, repo), int(number))
        if pull is None:
            raise _not_found()
        body = self._render().pull(pull)
        pull.mergeable_pending = False  # computed by the next request (issue 16)
        return _Response(200, body)

    # ------------------------------------ endpoints: reviews (issue 16: after the PR is open)

    def _list_reviews(self, request: _Request, owner: str, repo: str, number: str) -> _Response:
        found = self._repo(request, owner, repo)
        pull = self.world.find_pull(found, int(number))
        if pull is None:
            raise _not_found()
        reviews = sorted(self.world.reviews_of(pull), key=lambda r: r.id)  # oldest first
        page, headers, _ = self._paginate(
            request, reviews, link_path=f"/repositories/{found.id}/pulls/{number}/reviews"
        )
        render = self._render()
        return _Response(200, [render.review(r) for r in page], headers)

    def _list_pull_files(self, request: _Request, owner: str, repo: str, number: str) -> _Response:
        """The files the pull request changes (base...head, as on its *Files changed* tab)."""
        found = self._repo(request, owner, repo)
        pull = self.world.find_pull(found, int(number))
        if pull is None:
            raise _not_found()
        comparison = self.world.compare(
            self.world.commits[pull.base_sha], self.world.commits[pull.head_sha]
        )
        head_repo = self.world.repos.get(pull.head_repo_id) if pull.head_repo_id else None
        files, headers, _ = self._paginate(
            request, comparison.files, link_path=f"/repositories/{found.id}/pulls/{number}/files"
        )
        render = self._render()
        return _Response(
            200, [render.file_change(f, head_repo or found, pull.head_sha) for f in files], headers
        )

    def _list_review_comments(
        self, request: _Request, owner: str, repo: str, number: str
    ) -> _Response:
        found = self._repo(request, owner, repo)
        pull = self.world.find_pull(found, int(number))
        if pull is None:
            raise _not_found()
        comments = sorted(self.world.review_comments_of(pull), key=lambda c: c.id)
        page, headers, _ = self._paginate(
            request, comments, link_path=f"/repositories/{found.id}/pulls/{number}/comments"
        )
        render = self._render()
        return _Response(200, [render.review_comment(c) for c in page], headers)


def _positive_int(value: str | None, default: int) -> int:
    try:
        number = int(value) if value is not None else default
    except ValueError:
        return default
    return number if number > 0 else default


def _touches(world: World, commit: Commit, path: str) -> bool:
    parent = world.commits[commit.parents[0]].tree if commit.parents else {}
    return any(
        c.filename == path or c.filename.startswith(f"{path}/")
        for c in diff_trees(parent, commit.tree)
    )


def _request_id() -> str:
    return hashlib.sha1(str(time.time_ns()).encode()).hexdigest()[:16].upper()


def _encode(body: Any) -> bytes:
    return b"" if body is None else json.dumps(body, separators=(",", ":")).encode()


# ----------------------------------------------------------------------------- server glue


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], fake: FakeGitHub
    ) -> None:
        self.fake = fake
        super().__init__(address, handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30  # idle keep-alive connections are closed after this many seconds
    disable_nagle_algorithm = True  # headers and body go out in separate writes
    server_version = "GitHub.com"
    sys_version = ""
    server: _Server

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def _handle(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        pairs = urllib.parse.parse_qsl(url.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        request = _Request(self.command, url.path, dict(pairs), pairs, dict(self.headers), body)
        response = self.server.fake._serve(request)
        if response is None:
            self.close_connection = True  # hang up without a word
            return
        payload = response.raw if response.raw is not None else _encode(response.body)
        self.send_response(response.status)
        if response.status != 304 and "Content-Type" not in response.headers:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-GitHub-Api-Version-Selected", "2022-11-28")
        self.send_header("X-GitHub-Media-Type", "github.v3; format=json")
        self.send_header("X-GitHub-Request-Id", _request_id())
        if response.status == 200:
            self.send_header("Cache-Control", "private, max-age=60, s-maxage=60")
            self.send_header("Vary", "Accept, Authorization, Cookie, X-GitHub-OTP")
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)
