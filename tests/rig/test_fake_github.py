"""Tests of the fake GitHub itself: PyGithub drives it, the protocol behaves like GitHub's,
and its answers validate against GitHub's official OpenAPI schemas."""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import github
import jsonschema
import pytest
import requests

from tests.rig.fake_github import (
    DEVICE_GRANT,
    OAUTH_CLIENT_ID,
    AppKey,
    FakeGitHub,
    new_app_key,
)
from tests.rig.reference import require_reference

Json = dict[str, Any]


# =============================================================================== fixtures


@pytest.fixture(scope="module")
def server() -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        yield fake


@pytest.fixture
def fake(server: FakeGitHub) -> FakeGitHub:
    server.reset()
    return server


@dataclass
class Scenario:
    """eig/practice (owned by the eig organization), Ada's fork with two commits on
    ``my-change`` (one linked to her account, one from an unknown email) and PR #1."""

    repo_id: int
    fork_id: int
    pull: int
    linked_sha: str
    unlinked_sha: str


@pytest.fixture
def scenario(fake: FakeGitHub) -> Scenario:
    w = fake.world
    w.add_user("coach-bot", name="PR Coach")
    w.add_user("ada", name="Ada L", email="ada@example.org")
    w.add_user("grace", name="Grace H")
    w.add_org("eig", members=["grace"])
    w.add_org("dinum", members=["ada"])
    upstream = w.add_repo(
        "eig", "practice", files={"README.md": "# Practice\n", "docs/a.md": "A\n"}
    )
    fork = w.fork("eig/practice", owner="ada")
    w.create_branch(fork, "my-change", from_ref="main")
    linked = w.commit(
        fork,
        "my-change",
        {"participants/ada.md": "Hello\n"},
        message="Add me",
        author_email="ada@example.org",
    )
    unlinked = w.commit(
        fork,
        "my-change",
        {"README.md": "# Practice\n\nWelcome!\n"},
        message="Welcome",
        author_email="someone@elsewhere.example",
        author_name="Someone",
    )
    number = w.open_pull("eig/practice", head="ada:my-change", base="main", title="Add Ada")
    fork_repo = w.find_repo(*fork.split("/"))
    assert fork_repo is not None
    return Scenario(upstream.id, fork_repo.id, number, linked, unlinked)


def make_client(fake: FakeGitHub, **options: Any) -> github.Github:
    # retry=None: errors surface at once; no throttling between requests (PyGithub's default
    # waits 0.25 s between requests and 1 s between writes).
    return github.Github(
        base_url=fake.url,
        auth=github.Auth.Token("t"),
        retry=None,
        seconds_between_requests=0,
        seconds_between_writes=0,
        **options,
    )


@pytest.fixture
def gh(fake: FakeGitHub) -> github.Github:
    return make_client(fake)


def call(
    fake: FakeGitHub,
    path: str,
    *,
    method: str = "GET",
    auth: bool = True,
    headers: dict[str, str] | None = None,
    body: Json | None = None,
) -> requests.Response:
    """A raw request, redirects not followed."""
    sent = {"Accept": "application/vnd.github+json", **(headers or {})}
    if auth:
        sent["Authorization"] = "token t"
    return requests.request(
        method, fake.url + path, headers=sent, json=body, allow_redirects=False, timeout=5
    )


# =============================================================================== PyGithub


def test_users_and_organizations(scenario: Scenario, gh: github.Github) -> None:
    assert gh.get_user().login == "coach-bot"
    ada = gh.get_user("ada")
    assert (ada.name, ada.type, ada.email) == ("Ada L", "User", "ada@example.org")
    assert gh.get_user("dinum").type == "Organization"
    assert [o.login for o in ada.get_orgs()] == ["dinum"]
    assert gh.get_organization("dinum").login == "dinum"
    with pytest.raises(github.UnknownObjectException):
        gh.get_user("nobody")


def test_fork_has_parent_and_source(
    fake: FakeGitHub, scenario: Scenario, gh: github.Github
) -> None:
    fake.world.fork("ada/practice", owner="dinum", name="dinum-practice")

    upstream = gh.get_repo("eig/practice")
    assert (upstream.fork, upstream.parent, upstream.owner.type) == (False, None, "Organization")
    assert upstream.organization.login == "eig"
    fork = gh.get_repo("ada/practice")
    assert fork.fork and fork.owner.type == "User" and fork.default_branch == "main"
    assert fork.parent.full_name == fork.source.full_name == "eig/practice"
    fork_of_fork = gh.get_repo("dinum/dinum-practice")
    assert (fork_of_fork.parent.full_name, fork_of_fork.source.full_name) == (
        "ada/practice",
        "eig/practice",
    )
    assert sorted(f.full_name for f in upstream.get_forks()) == ["ada/practice"]
    assert "my-change" in [b.name for b in fork_of_fork.get_branches()]


def test_user_repositories_are_paginated(fake: FakeGitHub, scenario: Scenario) -> None:
    for name in ("b-notes", "a-notes"):
        fake.world.add_repo("ada", name)
    fake.world.add_repo("ada", "hidden", private=True)
    ada = fake.world.find_user("ada")
    assert ada is not None

    repos = make_client(fake, per_page=2).get_user("ada").get_repos()

    assert [r.name for r in repos] == ["a-notes", "b-notes", "practice"]  # by full_name
    assert fake.requests[-1].path == f"/user/{ada.id}/repos"  # followed GitHub's Link


def test_create_fork_through_the_api(scenario: Scenario, gh: github.Github) -> None:
    fork = gh.get_repo("eig/practice").create_fork()
    assert (fork.full_name, fork.fork, fork.parent.full_name) == (
        "coach-bot/practice",
        True,
        "eig/practice",
    )
    in_org = gh.get_repo("eig/practice").create_fork(organization="dinum")
    assert in_org.owner.login == "dinum"


def test_renamed_repository_redirects(
    fake: FakeGitHub, scenario: Scenario, gh: github.Github
) -> None:
    fake.world.rename_repo("ada/practice", "my-practice")
    fake.reset_log()

    repo = gh.get_repo("ada/practice")

    assert repo.full_name == "ada/my-practice"
    assert repo.parent.full_name == "eig/practice"
    assert [(r.path, r.status) for r in fake.requests] == [
        ("/repos/ada/practice", 301),
        (f"/repositories/{scenario.fork_id}", 200),
    ]


def test_branches_are_paginated_with_link_headers(fake: FakeGitHub, scenario: Scenario) -> None:
    for name in ("a", "b", "c", "feature/slashed"):
        fake.world.create_branch("eig/practice", name)
    fake.reset_log()

    branches = make_client(fake, per_page=2).get_repo("eig/practice").get_branches()

    assert [b.name for b in branches] == ["a", "b", "c", "feature/slashed", "main"]
    listed = [r for r in fake.requests if "branches" in r.path]
    assert [(r.path, r.query.get("page")) for r in listed] == [
        ("/repos/eig/practice/branches", None),
        (f"/repositories/{scenario.repo_id}/branches", "2"),
        (f"/repositories/{scenario.repo_id}/branches", "3"),
    ]
    branch = make_client(fake).get_repo("eig/practice").get_branch("feature/slashed")
    assert branch.commit.sha == fake.world.find_repo("eig", "practice").branches["main"]  # type: ignore[union-attr]


def test_link_header_format(fake: FakeGitHub, scenario: Scenario) -> None:
    for name in ("a", "b", "c", "d"):
        fake.world.create_branch("eig/practice", name)
    base = f"{fake.url}/repositories/{scenario.repo_id}/branches?per_page=2"

    first = call(fake, "/repos/eig/practice/branches?per_page=2")
    middle = call(fake, "/repos/eig/practice/branches?per_page=2&page=2")
    last = call(fake, "/repos/eig/practice/branches?per_page=2&page=3")

    assert first.headers["Link"] == (f'<{base}&page=2>; rel="next", <{base}&page=3>; rel="last"')
    assert middle.headers["Link"] == (
        f'<{base}&page=1>; rel="prev", <{base}&page=3>; rel="next", '
        f'<{base}&page=3>; rel="last", <{base}&page=1>; rel="first"'
    )
    assert last.headers["Link"] == f'<{base}&page=2>; rel="prev", <{base}&page=1>; rel="first"'
    assert len(last.json()) == 1
    assert "Link" not in call(fake, "/repos/eig/practice/branches").headers


def test_compare_across_forks(fake: FakeGitHub, scenario: Scenario, gh: github.Github) -> None:
    upstream = gh.get_repo("eig/practice")

    comparison = upstream.compare("main", "ada:my-change")

    assert (comparison.status, comparison.ahead_by, comparison.behind_by) == ("ahead", 2, 0)
    assert comparison.total_commits == 2
    assert [c.sha for c in comparison.commits] == [scenario.linked_sha, scenario.unlinked_sha]
    assert [c.author.login if c.author else None for c in comparison.commits] == ["ada", None]
    assert [(f.filename, f.status, f.additions, f.deletions) for f in comparison.files] == [
        ("README.md", "modified", 2, 0),
        ("participants/ada.md", "added", 1, 0),
    ]
    assert comparison.merge_base_commit.sha == comparison.base_commit.sha
    assert comparison.html_url == "https://github.com/eig/practice/compare/main...ada:my-change"

    fake.world.commit("eig/practice", "main", {"CHANGELOG.md": "v2\n"}, message="Upstream moves")
    diverged = upstream.compare("main", "ada:my-change")
    assert (diverged.status, diverged.ahead_by, diverged.behind_by) == ("diverged", 2, 1)
    assert upstream.compare("ada:my-change", "main").status == "diverged"
    assert upstream.compare("main", "main").status == "identical"
    assert gh.get_repo("ada/practice").compare("my-change", "main").status == "behind"


def test_commit_author_is_none_for_an_unlinked_email(scenario: Scenario, gh: github.Github) -> None:
    fork = gh.get_repo("ada/practice")

    unlinked = fork.get_commit(scenario.unlinked_sha)
    linked = fork.get_commit(scenario.linked_sha)

    assert unlinked.author is None
    assert unlinked.commit.author.email == "someone@elsewhere.example"
    assert unlinked.commit.author.name == "Someone"
    assert [(f.filename, f.status) for f in unlinked.files] == [("README.md", "modified")]
    assert linked.author.login == "ada"
    assert linked.stats.additions == 1
    assert [c.sha for c in fork.get_commits(sha="my-change", author="ada")] == [scenario.linked_sha]


def test_pulls_filtered_by_head_and_state(
    fake: FakeGitHub, scenario: Scenario, gh: github.Github
) -> None:
    upstream = gh.get_repo("eig/practice")

    found = list(upstream.get_pulls(head="ada:my-change", state="all"))
    assert [(p.number, p.head.label, p.head.ref, p.base.ref) for p in found] == [
        (1, "ada:my-change", "my-change", "main")
    ]
    assert found[0].head.repo.full_name == "ada/practice"
    assert found[0].user.login == "ada"
    assert list(upstream.get_pulls(head="grace:my-change", state="all")) == []

    fake.world.close_pull("eig/practice", scenario.pull)
    assert list(upstream.get_pulls(head="ada:my-change")) == []
    assert [p.state for p in upstream.get_pulls(head="ada:my-change", state="all")] == ["closed"]


def test_pull_mergeability_and_merge(
    fake: FakeGitHub, scenario: Scenario, gh: github.Github
) -> None:
    upstream = gh.get_repo("eig/practice")
    pull = upstream.get_pull(scenario.pull)
    assert (pull.mergeable, pull.mergeable_state, pull.merged) == (True, "clean", False)
    assert (pull.commits, pull.changed_files, pull.additions) == (2, 2, 3)
    assert pull.head.sha == scenario.unlinked_sha
    assert pull.author_association == "FIRST_TIME_CONTRIBUTOR"

    fake.world.set_mergeable("eig/practice", scenario.pull, False)
    conflicted = upstream.get_pull(scenario.pull)
    assert (conflicted.mergeable, conflicted.mergeable_state) == (False, "dirty")

    fake.world.set_mergeable("eig/practice", scenario.pull, True)
    merge_sha = fake.world.merge_pull("eig/practice", scenario.pull, by="grace")
    merged = upstream.get_pull(scenario.pull)
    assert (merged.merged, merged.state, merged.merged_by.login) == (True, "closed", "grace")
    assert merged.merge_commit_sha == merge_sha
    assert merged.commits == 2
    readme = upstream.get_contents("participants/ada.md")
    assert not isinstance(readme, list) and readme.decoded_content == b"Hello\n"


def test_pull_opened_inside_the_fork(
    fake: FakeGitHub, scenario: Scenario, gh: github.Github
) -> None:
    number = fake.world.open_pull("ada/practice", head="my-change", base="main", title="Oops")

    pulls = list(gh.get_repo("ada/practice").get_pulls(state="all"))

    assert [(p.number, p.head.label, p.base.repo.full_name) for p in pulls] == [
        (number, "ada:my-change", "ada/practice")
    ]
    assert pulls[0].author_association == "OWNER"


def test_new_commits_move_an_open_pull_head(fake: FakeGitHub, scenario: Scenario) -> None:
    sha = fake.world.commit("ada/practice", "my-change", {"x.md": "x\n"}, message="More")
    pull = make_client(fake).get_repo("eig/practice").get_pull(scenario.pull)
    assert (pull.head.sha, pull.commits) == (sha, 3)


def test_deleted_fork(fake: FakeGitHub, scenario: Scenario, gh: github.Github) -> None:
    fake.world.delete_repo("ada/practice")

    with pytest.raises(github.UnknownObjectException):
        gh.get_repo("ada/practice")
    pull = gh.get_repo("eig/practice").get_pull(scenario.pull)
    assert (pull.state, pull.head.repo, pull.head.label) == ("closed", None, "ada:my-change")


def test_contents(fake: FakeGitHub, scenario: Scenario, gh: github.Github) -> None:
    fork = gh.get_repo("ada/practice")

    readme = fork.get_contents("README.md", ref="my-change")
    listing = fork.get_contents("", ref="my-change")

    assert not isinstance(readme, list)
    assert readme.decoded_content == b"# Practice\n\nWelcome!\n"
    assert isinstance(listing, list)
    assert [(c.path, c.type) for c in listing] == [
        ("README.md", "file"),
        ("docs", "dir"),
        ("participants", "dir"),
    ]
    with pytest.raises(github.UnknownObjectException):
        fork.get_contents("participants/ada.md")  # only on my-change


def test_private_repository_is_hidden_from_strangers(fake: FakeGitHub, scenario: Scenario) -> None:
    fake.world.add_repo("grace", "secret", private=True)
    assert call(fake, "/repos/grace/secret").status_code == 404
    fake.world.set_permission("grace/secret", "coach-bot", "pull")
    assert call(fake, "/repos/grace/secret").json()["permissions"]["push"] is False


def test_unknown_paths_answer_githubs_404(fake: FakeGitHub, scenario: Scenario) -> None:
    for path in ("/nope", "/repos/eig/practice/", "/repos/eig/unknown", "/users/nobody"):
        answer = call(fake, path)
        assert answer.status_code == 404, path
        assert answer.json() == {
            "message": "Not Found",
            "documentation_url": "https://docs.github.com/rest",
        }
        assert answer.headers["Content-Type"] == "application/json; charset=utf-8"


# =============================================================================== protocol


def test_etag_and_304_do_not_count(fake: FakeGitHub, scenario: Scenario) -> None:
    first = call(fake, "/repos/eig/practice")
    etag = first.headers["ETag"]
    used = fake.count()

    again = call(fake, "/repos/eig/practice", headers={"If-None-Match": etag})

    assert again.status_code == 304 and again.content == b""
    assert again.headers["ETag"] == etag
    assert again.headers["X-RateLimit-Remaining"] == first.headers["X-RateLimit-Remaining"]
    assert fake.count() == used
    assert fake.count(counted_only=False) == used + 1
    assert (fake.requests[-1].status, fake.requests[-1].counted) == (304, False)

    fake.world.fork("eig/practice", owner="grace")  # forks_count changes
    changed = call(fake, "/repos/eig/practice", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_rate_limit_headers_decrease(fake: FakeGitHub, scenario: Scenario) -> None:
    one, two = call(fake, "/users/ada"), call(fake, "/users/ada")

    assert one.headers["X-RateLimit-Limit"] == "5000"
    assert one.headers["X-RateLimit-Resource"] == "core"
    assert (
        int(two.headers["X-RateLimit-Remaining"]) == int(one.headers["X-RateLimit-Remaining"]) - 1
    )
    assert int(two.headers["X-RateLimit-Used"]) == int(one.headers["X-RateLimit-Used"]) + 1
    assert int(one.headers["X-RateLimit-Reset"]) > time.time()
    free = call(fake, "/rate_limit")  # does not count, as on GitHub
    assert free.json()["resources"]["core"]["remaining"] == int(
        two.headers["X-RateLimit-Remaining"]
    )
    assert fake.rate_remaining == int(two.headers["X-RateLimit-Remaining"])


def test_exhausted_rate_limit(fake: FakeGitHub, scenario: Scenario, gh: github.Github) -> None:
    fake.exhaust_rate_limit(reset_in=600)

    with pytest.raises(github.RateLimitExceededException) as caught:
        gh.get_repo("eig/practice")

    assert caught.value.status == 403
    assert caught.value.headers is not None
    assert caught.value.headers["x-ratelimit-remaining"] == "0"
    assert abs(int(caught.value.headers["x-ratelimit-reset"]) - (time.time() + 600)) < 5
    assert caught.value.data["message"].startswith("API rate limit exceeded for user ID ")

    fake.restore_rate_limit()
    assert gh.get_repo("eig/practice").name == "practice"


def test_budget_runs_out(fake: FakeGitHub, scenario: Scenario) -> None:
    fake.rate_limit = 2
    assert [call(fake, "/users/ada").status_code for _ in range(3)] == [200, 200, 403]


def test_secondary_rate_limit(fake: FakeGitHub, scenario: Scenario, gh: github.Github) -> None:
    fake.secondary_rate_limit(retry_after=60)

    with pytest.raises(github.RateLimitExceededException) as caught:
        gh.get_repo("eig/practice")

    assert caught.value.headers is not None and caught.value.headers["retry-after"] == "60"
    assert "secondary rate limit" in caught.value.data["message"]
    assert gh.get_repo("eig/practice").name == "practice"


def test_fail_next(fake: FakeGitHub, scenario: Scenario, gh: github.Github) -> None:
    fake.fail_next(1, status=502)

    with pytest.raises(github.GithubException) as caught:
        gh.get_repo("eig/practice")

    assert caught.value.status == 502
    assert gh.get_repo("eig/practice").name == "practice"


def test_drop_next(fake: FakeGitHub, scenario: Scenario) -> None:
    fake.drop_next(1)

    with pytest.raises(requests.exceptions.ConnectionError):
        call(fake, "/repos/eig/practice")

    assert (fake.requests[-1].status, fake.requests[-1].counted) == (None, False)
    assert call(fake, "/repos/eig/practice").status_code == 200


def test_delays(fake: FakeGitHub, scenario: Scenario) -> None:
    fake.delay_next(1, 0.3)
    started = time.monotonic()
    call(fake, "/users/ada")
    slow = time.monotonic() - started
    started = time.monotonic()
    call(fake, "/users/ada")
    assert slow >= 0.3 > time.monotonic() - started


def test_concurrent_requests_while_the_world_changes(fake: FakeGitHub, scenario: Scenario) -> None:
    statuses: list[int] = []

    def read() -> None:
        for _ in range(10):
            statuses.append(call(fake, "/repos/eig/practice/pulls/1").status_code)

    readers = [threading.Thread(target=read) for _ in range(6)]
    for reader in readers:
        reader.start()
    for i in range(10):
        fake.world.commit("ada/practice", "my-change", {f"f{i}.md": "x\n"}, message=f"#{i}")
    for reader in readers:
        reader.join()

    assert statuses == [200] * 60
    assert fake.count(path=r"/pulls/1$") == 60
    assert call(fake, "/repos/eig/practice/pulls/1").json()["commits"] == 12


def test_request_log_and_reset(fake: FakeGitHub, scenario: Scenario, gh: github.Github) -> None:
    list(gh.get_repo("eig/practice").get_pulls(state="all", base="main"))

    record = fake.requests[-1]
    assert (record.method, record.path) == ("GET", "/repos/eig/practice/pulls")
    assert record.query == {"state": "all", "base": "main"}
    assert (record.token, record.status, record.counted) == ("t", 200, True)
    assert fake.count(path=r"/pulls$") == 1

    fake.fail_next(3)
    fake.exhaust_rate_limit()
    fake.rate_limit, fake.token_user, fake.delay = 10, "ada", 1.0
    fake.reset()
    assert fake.requests == [] and fake.world.repos == {}
    assert (fake.rate_limit, fake.rate_remaining, fake.token_user, fake.delay) == (
        5000,
        5000,
        "coach-bot",
        0.0,
    )
    assert call(fake, "/users/ada").status_code == 404  # the world is empty, no fault left


# =============================================================================== schemas
#
# Every answer the fake gives for an operation of the reference subset is validated against
# the official response schema (dereferenced file), with ``jsonschema``'s Draft 4 validator —
# OpenAPI 3.0 schema objects are a Draft 4 dialect — plus format checks (date-time, uri,
# email). Adaptations, none of which accepts anything the description does not declare:
#
# * ``nullable: true`` becomes a null alternative: a type union (``["string", "null"]``) next
#   to ``type``, ``null`` added to an ``enum``, and ``anyOf: [<schema>, {"type": "null"}]``
#   where there is no ``type``. The last form is a deliberate reading: OpenAPI 3.0.3 says
#   ``nullable`` only acts next to ``type``, but GitHub's description puts it beside
#   ``oneOf: [simple-user, empty-object]`` on a commit's ``author`` / ``committer`` to say
#   "null when the commit email is linked to no account" — which GitHub does (GitHub staff in
#   github/rest-api-description#1981) and the fake reproduces. Read literally, 3.0.3 would
#   reject GitHub's own answers there; that is the only place it matters for these answers.
# * ``oneOf`` + ``discriminator`` (users: ``user_view_type`` public/private; contents:
#   ``type``, a directory being an array): the dereferenced file drops the discriminators, so
#   they are read from the non-dereferenced file, and the answer is validated against the
#   branch the discriminator selects *in addition to* the plain ``oneOf`` — stricter than
#   plain ``oneOf``. The official user examples lack ``user_view_type`` and would fail this
#   (validation-notes.json); the fake always sends it, as those notes advise.
#
# Nothing is relaxed beyond that: no required field is waived, no ``additionalProperties``
# loosened (``Public User`` forbids extra fields and the fake's users comply).

SCHEMAS = "github/rest-api-openapi-subset.deref.json"
RAW_SCHEMAS = "github/rest-api-openapi-subset.json"
NOT_SERVED = {
    "GET /search/issues",  # the fake has no search
    # In the reference since it grew (memberships); not served by the fake.
    "GET /orgs/{org}/members/{username}",
    "GET /orgs/{org}/public_members/{username}",
    "GET /repos/{owner}/{repo}/git/ref/{ref}",
    "GET /user/orgs",
    # Served as an alias of /users/{login} (the account's id in the path): same answer.
    "GET /user/{account_id}",
}


def openapi_to_json_schema(node: Any) -> Any:
    """Turn OpenAPI 3.0 ``nullable`` into JSON-Schema null alternatives, recursively."""
    if isinstance(node, list):
        return [openapi_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted: Json = {}
    for key, value in node.items():
        if key == "nullable":
            continue
        if key == "properties":  # keys are property names, not keywords
            converted[key] = {name: openapi_to_json_schema(s) for name, s in value.items()}
        elif key in ("example", "examples"):
            converted[key] = value
        else:
            converted[key] = openapi_to_json_schema(value)
    if node.get("nullable") is not True:
        return converted
    if "type" not in converted:  # beside oneOf/anyOf: see the note above
        return {"anyOf": [converted, {"type": "null"}]}
    converted["type"] = [converted["type"], "null"]
    if "enum" in converted:
        converted["enum"] = [*converted["enum"], None]
    return converted


def format_checker() -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker(formats=("email",))

    @checker.checks("date-time", raises=ValueError)
    def is_date_time(value: object) -> bool:
        if not isinstance(value, str):
            return True
        if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", value):
            return False
        datetime.fromisoformat(value)  # raises on impossible dates
        return True

    @checker.checks("uri")
    def is_uri(value: object) -> bool:
        if not isinstance(value, str):
            return True
        parts = urllib.parse.urlsplit(value)
        return bool(parts.scheme and (parts.netloc or parts.scheme == "mailto"))

    return checker


class OpenApi:
    """Response schemas of the reference subset, ready for ``jsonschema``."""

    def __init__(self, deref: Json, raw: Json) -> None:
        self.deref, self.raw = deref, raw
        self.checker = format_checker()

    def operations(self) -> set[str]:
        return {
            f"{method.upper()} {path}"
            for path, item in self.deref["paths"].items()
            for method in item
            if method in ("get", "post", "put", "patch", "delete")
        }

    def errors(self, operation: str, status: int, body: Any) -> list[str]:
        method, path = operation.split(" ", 1)
        response = self.deref["paths"][path][method.lower()]["responses"][str(status)]
        schema = openapi_to_json_schema(response["content"]["application/json"]["schema"])
        schemas = [schema]
        branch = self._discriminated_branch(method, path, status, schema, body)
        if branch is not None:
            schemas.append(branch)
        return [
            f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message[:300]}"
            for s in schemas
            for error in jsonschema.Draft4Validator(s, format_checker=self.checker).iter_errors(
                body
            )
        ]

    def _discriminated_branch(
        self, method: str, path: str, status: int, schema: Json, body: Any
    ) -> Json | None:
        """The ``oneOf`` branch that the (raw file's) discriminator selects for ``body``."""
        response = self.raw["paths"][path][method.lower()]["responses"][str(status)]
        if "$ref" in response:
            response = self.raw["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
        discriminator = response["content"]["application/json"]["schema"].get("discriminator")
        if discriminator is None:
            return None
        value = "array" if isinstance(body, list) else body.get(discriminator["propertyName"])
        target = discriminator["mapping"].get(value)
        assert target is not None, f"{discriminator['propertyName']}={value!r} is not mapped"
        title = self.raw["components"]["schemas"][target.rsplit("/", 1)[1]]["title"]
        return next(b for b in schema["oneOf"] if b.get("title") == title)


@pytest.fixture(scope="module")
def openapi() -> OpenApi:
    deref = json.loads(require_reference(SCHEMAS).read_text())
    raw = json.loads(require_reference(RAW_SCHEMAS).read_text())
    return OpenApi(deref, raw)


@dataclass
class Case:
    operation: str
    status: int
    path: str  # may use {linked_sha}, {unlinked_sha}
    body: Json | None = None
    auth: bool = True
    prepare: Callable[[FakeGitHub], object] = field(default=lambda fake: None)
    note: str = ""  # tells apart cases on the same path

    @property
    def id(self) -> str:
        return f"{self.status} {self.path}{f' ({self.note})' if self.note else ''}"


def _reviewed(fake: FakeGitHub) -> None:
    """Grace (a member of eig) asks for a change, with a suggestion, then approves."""
    fake.world.review_pull(
        "eig/practice",
        1,
        by="grace",
        state="REQUEST_CHANGES",
        body="Nice! One thing to fix.",
        comments=[("participants/ada.md", 1, "```suggestion\nHello, I'm Ada\n```")],
    )
    fake.world.review_pull("eig/practice", 1, by="grace", state="APPROVE")


CASES = [
    Case("GET /user", 200, "/user"),
    Case("GET /user", 401, "/user", auth=False),
    Case("GET /users/{username}", 200, "/users/ada"),
    Case("GET /users/{username}", 200, "/users/eig", note="organization"),
    Case("GET /users/{username}", 404, "/users/nobody"),
    Case("GET /users/{username}/orgs", 200, "/users/ada/orgs"),
    Case("GET /orgs/{org}", 200, "/orgs/eig"),
    Case("GET /repos/{owner}/{repo}", 200, "/repos/eig/practice"),
    Case("GET /repos/{owner}/{repo}", 200, "/repos/ada/practice", note="fork"),
    Case("GET /repos/{owner}/{repo}", 404, "/repos/eig/nothing"),
    Case(
        "GET /repos/{owner}/{repo}",
        301,
        "/repos/ada/practice",
        prepare=lambda fake: fake.world.rename_repo("ada/practice", "renamed"),
        note="renamed",
    ),
    Case(
        "GET /repos/{owner}/{repo}",
        403,
        "/repos/eig/practice",
        prepare=lambda fake: fake.exhaust_rate_limit(),
        note="rate limit exceeded",
    ),
    Case("GET /repos/{owner}/{repo}/forks", 200, "/repos/eig/practice/forks"),
    Case("POST /repos/{owner}/{repo}/forks", 202, "/repos/eig/practice/forks"),
    Case(
        "POST /repos/{owner}/{repo}/forks",
        202,
        "/repos/eig/practice/forks",
        body={"organization": "dinum", "name": "exercise", "default_branch_only": True},
        note="into an organization",
    ),
    Case(
        "POST /repos/{owner}/{repo}/forks",
        422,
        "/repos/eig/practice/forks",
        body={"organization": "nobody"},
    ),
    Case("GET /repos/{owner}/{repo}/branches", 200, "/repos/ada/practice/branches"),
    Case("GET /repos/{owner}/{repo}/branches", 404, "/repos/ada/nothing/branches"),
    Case(
        "GET /repos/{owner}/{repo}/branches/{branch}",
        200,
        "/repos/ada/practice/branches/my-change",
    ),
    Case("GET /repos/{owner}/{repo}/branches/{branch}", 404, "/repos/ada/practice/branches/no"),
    Case(
        "GET /repos/{owner}/{repo}/compare/{basehead}",
        200,
        "/repos/eig/practice/compare/main...ada:my-change",
    ),
    Case(
        "GET /repos/{owner}/{repo}/compare/{basehead}",
        200,
        "/repos/eig/practice/compare/main...ada:my-change?per_page=1&page=2",
    ),
    Case(
        "GET /repos/{owner}/{repo}/compare/{basehead}",
        404,
        "/repos/eig/practice/compare/main...ada:nothing",
    ),
    Case("GET /repos/{owner}/{repo}/commits", 200, "/repos/ada/practice/commits?sha=my-change"),
    Case(
        "GET /repos/{owner}/{repo}/commits",
        409,
        "/repos/ada/empty/commits",
        prepare=lambda fake: fake.world.add_repo("ada", "empty", files={}),
    ),
    Case("GET /repos/{owner}/{repo}/commits/{ref}", 200, "/repos/ada/practice/commits/my-change"),
    Case(
        "GET /repos/{owner}/{repo}/commits/{ref}",
        200,
        "/repos/ada/practice/commits/{linked_sha}",
    ),
    Case("GET /repos/{owner}/{repo}/commits/{ref}", 422, "/repos/ada/practice/commits/nope"),
    Case("GET /repos/{owner}/{repo}/pulls", 200, "/repos/eig/practice/pulls?state=all"),
    Case("GET /repos/{owner}/{repo}/pulls/{pull_number}", 200, "/repos/eig/practice/pulls/1"),
    Case(
        "GET /repos/{owner}/{repo}/pulls/{pull_number}",
        200,
        "/repos/eig/practice/pulls/1",
        prepare=lambda fake: fake.world.merge_pull("eig/practice", 1, by="grace"),
        note="merged",
    ),
    Case("GET /repos/{owner}/{repo}/pulls/{pull_number}", 404, "/repos/eig/practice/pulls/9"),
    Case(
        "GET /repos/{owner}/{repo}/pulls/{pull_number}/files",
        200,
        "/repos/eig/practice/pulls/1/files",
    ),
    Case(
        "GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews",
        200,
        "/repos/eig/practice/pulls/1/reviews",
        prepare=lambda fake: _reviewed(fake),
    ),
    Case(
        "GET /repos/{owner}/{repo}/pulls/{pull_number}/comments",
        200,
        "/repos/eig/practice/pulls/1/comments",
        prepare=lambda fake: _reviewed(fake),
    ),
    Case(
        "GET /repos/{owner}/{repo}/contents/{path}",
        200,
        "/repos/ada/practice/contents/README.md?ref=my-change",
    ),
    Case("GET /repos/{owner}/{repo}/contents/{path}", 200, "/repos/ada/practice/contents/docs"),
    Case("GET /repos/{owner}/{repo}/contents/{path}", 404, "/repos/ada/practice/contents/none"),
    Case("GET /rate_limit", 200, "/rate_limit"),
]


def test_schema_cases_cover_every_served_operation() -> None:
    openapi = OpenApi(json.loads(require_reference(SCHEMAS).read_text()), {})
    successes = {c.operation for c in CASES if c.status < 300}
    assert successes == openapi.operations() - NOT_SERVED


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_answers_match_the_official_schemas(
    openapi: OpenApi, fake: FakeGitHub, scenario: Scenario, case: Case
) -> None:
    case.prepare(fake)
    method = case.operation.split(" ")[0]
    path = case.path.format(linked_sha=scenario.linked_sha, unlinked_sha=scenario.unlinked_sha)

    answer = call(fake, path, method=method, auth=case.auth, body=case.body)

    assert answer.status_code == case.status, answer.text[:500]
    assert openapi.errors(case.operation, case.status, answer.json()) == []


# =============================================================================== GitHub Apps
#
# The app endpoints are not in the REST subset of the reference folder. Their 200 answers
# are GitHub's ``installation`` component, which the webhooks subset carries (GitHub's
# description shares its components between REST and webhooks): those answers are checked
# against it. The token's shape (``installation-token``: ``token`` and ``expires_at``
# required, then ``permissions`` — an ``app-permissions`` — ``repository_selection`` all or
# selected, ``repositories``, ``single_file``…) is in neither file; it is written below from
# GitHub's REST reference ("Create an installation access token for an app", 201).

APP_ID = 4242
INSTALLATION_ID = 9001
WEBHOOK_SCHEMAS = "github/webhooks-openapi-subset.json"


@pytest.fixture(scope="module")
def app_key() -> AppKey:
    return new_app_key()


@pytest.fixture
def installed(fake: FakeGitHub, scenario: Scenario, app_key: AppKey) -> FakeGitHub:
    """The app APP_ID installed on eig/practice only."""
    fake.register_app(APP_ID, app_key.public_pem, INSTALLATION_ID, ["eig/practice"])
    return fake


def app_jwt(
    key: AppKey, app_id: int | str = APP_ID, *, issued: int = -60, expires: int = 300, **extra: Any
) -> str:
    import jwt

    now = int(time.time())
    claims = {"iat": now + issued, "exp": now + expires, "iss": str(app_id), **extra}
    return jwt.encode(claims, key.private_pem, algorithm="RS256")


def as_app(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_pygithub_finds_the_installation_and_gets_tokens(
    installed: FakeGitHub, app_key: AppKey
) -> None:
    auth = github.Auth.AppAuth(APP_ID, app_key.private_pem)
    integration = github.GithubIntegration(auth=auth, base_url=installed.url)

    found = integration.get_repo_installation("eig", "practice")
    assert (found.id, found.app_id, found.target_type) == (INSTALLATION_ID, APP_ID, "Organization")
    assert integration.get_app_installation(INSTALLATION_ID).id == INSTALLATION_ID
    granted = integration.get_access_token(INSTALLATION_ID)
    assert granted.token.startswith("ghs_") and len(granted.token) == 40
    assert granted.expires_at.timestamp() - time.time() == pytest.approx(3600, abs=2)

    gh = github.Github(auth=auth.get_installation_auth(INSTALLATION_ID), base_url=installed.url)
    assert gh.get_user("ada").login == "ada"
    last = installed.requests[-1]
    assert last.path == "/users/ada" and last.installation_id == INSTALLATION_ID
    assert last.token == installed.issued_tokens[-1].token
    assert [r.path for r in installed.requests if r.token and r.token.startswith("eyJ")] == [
        "/repos/eig/practice/installation",
        f"/app/installations/{INSTALLATION_ID}",
        f"/app/installations/{INSTALLATION_ID}/access_tokens",
        f"/app/installations/{INSTALLATION_ID}/access_tokens",
    ]


def test_installations_on_all_repositories_of_an_account(
    fake: FakeGitHub, scenario: Scenario, app_key: AppKey
) -> None:
    fake.register_app(APP_ID, app_key.public_pem, 1, account="ada")
    found = call(
        fake, "/repos/ada/practice/installation", auth=False, headers=as_app(app_jwt(app_key))
    )
    assert found.status_code == 200
    assert (found.json()["repository_selection"], found.json()["target_type"]) == ("all", "User")
    missing = call(
        fake, "/repos/eig/practice/installation", auth=False, headers=as_app(app_jwt(app_key))
    )
    assert missing.status_code == 404


UNDECODABLE = "A JSON web token could not be decoded"


JWT_CASES = [
    ("no authorization", UNDECODABLE),
    ("a token, not a JWT", UNDECODABLE),
    ("garbage", UNDECODABLE),
    ("signed with another key", UNDECODABLE),
    ("an unknown app ID", UNDECODABLE),
    ("HS256", UNDECODABLE),
    ("exp in 11 minutes", "'Expiration time' claim ('exp') is too far in the future"),
    ("expired", "'Expiration time' claim ('exp') must be a numeric value"),
    ("iat in the future", "'Issued at' claim ('iat') must be an Integer"),
]


@pytest.mark.parametrize(("sent", "message"), JWT_CASES, ids=[c for c, _ in JWT_CASES])
def test_the_app_jwt_is_checked_as_github_does(
    installed: FakeGitHub, app_key: AppKey, sent: str, message: str
) -> None:
    import jwt

    now = int(time.time())
    authorizations: dict[str, Callable[[], str]] = {
        "no authorization": lambda: "",
        "a token, not a JWT": lambda: "token t",
        "garbage": lambda: "Bearer not-a-jwt",
        "signed with another key": lambda: f"Bearer {app_jwt(new_app_key())}",
        "an unknown app ID": lambda: f"Bearer {app_jwt(app_key, 1)}",
        "HS256": lambda: (
            "Bearer " + jwt.encode({"iat": now - 60, "exp": now + 60, "iss": str(APP_ID)}, "s" * 32)
        ),
        "exp in 11 minutes": lambda: f"Bearer {app_jwt(app_key, expires=660)}",
        "expired": lambda: f"Bearer {app_jwt(app_key, issued=-600, expires=-1)}",
        "iat in the future": lambda: f"Bearer {app_jwt(app_key, issued=120)}",
    }
    authorization = authorizations[sent]()
    headers = {"Authorization": authorization} if authorization else {}

    for path, method in [
        ("/repos/eig/practice/installation", "GET"),
        (f"/app/installations/{INSTALLATION_ID}", "GET"),
        (f"/app/installations/{INSTALLATION_ID}/access_tokens", "POST"),
    ]:
        answer = call(installed, path, method=method, auth=False, headers=headers)
        assert answer.status_code == 401, path
        assert answer.json()["message"].startswith(message), path
    assert installed.issued_tokens == []


def test_an_app_not_installed_is_not_found(installed: FakeGitHub, app_key: AppKey) -> None:
    token = app_jwt(app_key)
    for path in ("/repos/ada/practice/installation", "/repos/eig/none/installation"):
        assert call(installed, path, auth=False, headers=as_app(token)).status_code == 404
    answer = call(installed, "/app/installations/1", auth=False, headers=as_app(token))
    assert answer.status_code == 404
    assert answer.json()["documentation_url"].endswith(
        "#get-an-installation-for-the-authenticated-app"
    )
    posted = call(
        installed,
        "/app/installations/1/access_tokens",
        method="POST",
        auth=False,
        headers=as_app(token),
    )
    assert posted.status_code == 404


def test_installation_tokens_expire(installed: FakeGitHub, app_key: AppKey) -> None:
    installed.installation_token_lifetime = 1
    path = f"/app/installations/{INSTALLATION_ID}/access_tokens"
    issued = call(installed, path, method="POST", auth=False, headers=as_app(app_jwt(app_key)))
    assert issued.status_code == 201
    token = issued.json()["token"]
    expires = datetime.fromisoformat(issued.json()["expires_at"]).timestamp()
    assert 1 <= expires - time.time() <= 2

    assert (
        call(
            installed, "/users/ada", auth=False, headers={"Authorization": f"token {token}"}
        ).status_code
        == 200
    )
    assert installed.requests[-1].installation_id == INSTALLATION_ID
    # An installation acts for an app, not for a person.
    me = call(installed, "/user", auth=False, headers={"Authorization": f"token {token}"})
    assert (me.status_code, me.json()["message"]) == (403, "Resource not accessible by integration")

    time.sleep(max(0.0, expires - time.time()) + 0.05)
    late = call(installed, "/users/ada", auth=False, headers={"Authorization": f"token {token}"})
    assert (late.status_code, late.json()["message"]) == (401, "Bad credentials")
    unknown = call(installed, "/users/ada", auth=False, headers={"Authorization": "token ghs_x"})
    assert unknown.status_code == 401
    assert call(installed, "/users/ada").status_code == 200  # other tokens are not checked


def test_token_permissions_can_be_narrowed_not_widened(
    installed: FakeGitHub, app_key: AppKey
) -> None:
    path = f"/app/installations/{INSTALLATION_ID}/access_tokens"

    def ask(permissions: dict[str, str]) -> requests.Response:
        body = {"permissions": permissions}
        return call(
            installed, path, method="POST", auth=False, headers=as_app(app_jwt(app_key)), body=body
        )

    narrowed = ask({"contents": "read"})
    assert (narrowed.status_code, narrowed.json()["permissions"]) == (201, {"contents": "read"})
    assert ask({}).json()["permissions"] == {
        "metadata": "read",
        "contents": "read",
        "pull_requests": "read",
    }
    assert ask({"contents": "write"}).status_code == 422
    assert ask({"issues": "read"}).status_code == 422
    assert [t.permissions for t in installed.issued_tokens][:1] == [{"contents": "read"}]


def test_uninstalling_revokes_the_tokens(installed: FakeGitHub, app_key: AppKey) -> None:
    path = f"/app/installations/{INSTALLATION_ID}/access_tokens"
    token = call(
        installed, path, method="POST", auth=False, headers=as_app(app_jwt(app_key))
    ).json()["token"]

    installed.uninstall_app(INSTALLATION_ID)

    headers = {"Authorization": f"token {token}"}
    assert call(installed, "/users/ada", auth=False, headers=headers).status_code == 401
    gone = call(installed, path, method="POST", auth=False, headers=as_app(app_jwt(app_key)))
    assert gone.status_code == 404


def test_reset_forgets_apps_and_tokens(installed: FakeGitHub, app_key: AppKey) -> None:
    installed.installation_token_lifetime = 5
    call(
        installed,
        f"/app/installations/{INSTALLATION_ID}/access_tokens",
        method="POST",
        auth=False,
        headers=as_app(app_jwt(app_key)),
    )
    installed.reset()
    assert installed.issued_tokens == [] and installed.installation_token_lifetime == 3600
    installed.world.add_org("eig")
    installed.world.add_repo("eig", "practice")
    answer = call(
        installed, "/repos/eig/practice/installation", auth=False, headers=as_app(app_jwt(app_key))
    )
    assert answer.status_code == 401  # the app is unknown again


def resolve_refs(node: Any, schemas: Json, depth: int = 0) -> Any:
    """Inline ``#/components/schemas/…`` references (the subsets used here have no cycles)."""
    assert depth < 30, "reference cycle"
    if isinstance(node, list):
        return [resolve_refs(item, schemas, depth) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return resolve_refs(schemas[node["$ref"].rsplit("/", 1)[1]], schemas, depth + 1)
    return {key: resolve_refs(value, schemas, depth) for key, value in node.items()}


INSTALLATION_TOKEN_SCHEMA: Json = {
    "title": "Installation Token",
    "type": "object",
    "required": ["token", "expires_at"],
    "properties": {
        "token": {"type": "string"},
        "expires_at": {"type": "string"},
        "permissions": {"$ref": "#/components/schemas/app-permissions"},
        "repository_selection": {"type": "string", "enum": ["all", "selected"]},
        "repositories": {"type": "array", "items": {"type": "object"}},
        "single_file": {"type": "string"},
        "has_multiple_single_files": {"type": "boolean"},
        "single_file_paths": {"type": "array", "items": {"type": "string"}},
    },
}


def test_app_answers_match_the_official_schemas(installed: FakeGitHub, app_key: AppKey) -> None:
    schemas = json.loads(require_reference(WEBHOOK_SCHEMAS).read_text())["components"]["schemas"]
    checker = format_checker()

    def errors(schema: Json, body: Any) -> list[str]:
        resolved = openapi_to_json_schema(resolve_refs(schema, schemas))
        validator = jsonschema.Draft4Validator(resolved, format_checker=checker)
        return [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(body)]

    headers = as_app(app_jwt(app_key))
    installation = {"$ref": "#/components/schemas/installation"}
    basic_error = {"$ref": "#/components/schemas/basic-error"}
    for path in ("/repos/eig/practice/installation", f"/app/installations/{INSTALLATION_ID}"):
        answer = call(installed, path, auth=False, headers=headers)
        assert answer.status_code == 200
        assert errors(installation, answer.json()) == [], path
        assert answer.json()["id"] == INSTALLATION_ID
    issued = call(
        installed,
        f"/app/installations/{INSTALLATION_ID}/access_tokens",
        method="POST",
        auth=False,
        headers=headers,
        body={"permissions": {}},
    )
    assert issued.status_code == 201
    assert errors(INSTALLATION_TOKEN_SCHEMA, issued.json()) == []
    assert errors({"type": "string", "format": "date-time"}, issued.json()["expires_at"]) == []
    for path in ("/repos/ada/practice/installation", "/app/installations/1"):
        missing = call(installed, path, auth=False, headers=headers)
        assert missing.status_code == 404 and errors(basic_error, missing.json()) == []
    refused = call(installed, path, auth=False)
    assert refused.status_code == 401 and errors(basic_error, refused.json()) == []


# =============================================================================== device flow
#
# GitHub's website side of the OAuth device flow ("Authorizing OAuth apps", device flow):
# form-encoded POSTs answered in JSON (with ``Accept: application/json``), 200 even for the
# flow's errors, which carry ``error``, ``error_description`` and ``error_uri``.

DEVICE_ERROR_KEYS = {"error", "error_description", "error_uri"}


def device_code(fake: FakeGitHub, client_id: str = OAUTH_CLIENT_ID) -> requests.Response:
    return requests.post(
        f"{fake.url}/login/device/code",
        data={"client_id": client_id, "scope": ""},
        headers={"Accept": "application/json"},
        timeout=5,
    )


def poll(
    fake: FakeGitHub, code: str, *, grant: str = DEVICE_GRANT, client_id: str = OAUTH_CLIENT_ID
) -> Json:
    answer = requests.post(
        f"{fake.url}/login/oauth/access_token",
        data={"client_id": client_id, "device_code": code, "grant_type": grant},
        headers={"Accept": "application/json"},
        timeout=5,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.fixture
def started(fake: FakeGitHub) -> Json:
    """Ada exists; a device code was just handed out."""
    fake.world.add_user("ada", name="Ada L")
    answer = device_code(fake)
    assert answer.status_code == 200
    return answer.json()


def wait_interval(fake: FakeGitHub, code: Json) -> None:
    [device] = [d for d in fake.device_authorizations if d.user_code == code["user_code"]]
    time.sleep(device.interval + 0.05)


def test_a_device_code_has_githubs_shape(fake: FakeGitHub, started: Json) -> None:
    assert set(started) == {
        "device_code",
        "user_code",
        "verification_uri",
        "expires_in",
        "interval",
    }
    assert re.fullmatch(r"[A-Z]{4}-[A-Z]{4}", started["user_code"])
    assert started["verification_uri"] == f"{fake.url}/login/device"
    assert (started["expires_in"], started["interval"]) == (900, 1)  # GitHub says 5: tests wait 1
    [device] = fake.device_authorizations
    assert (device.user_code, device.state, device.scope) == (started["user_code"], "pending", "")


def test_pending_then_approved_as_any_account(fake: FakeGitHub, started: Json) -> None:
    fake.world.add_user("grace")
    answer = poll(fake, started["device_code"])
    assert answer["error"] == "authorization_pending" and set(answer) == DEVICE_ERROR_KEYS
    fake.approve_device("grace", after_pending=1)  # Ada typed "ada", Grace approved
    wait_interval(fake, started)
    assert poll(fake, started["device_code"])["error"] == "authorization_pending"
    wait_interval(fake, started)
    token = poll(fake, started["device_code"])
    assert token["token_type"] == "bearer" and token["scope"] == ""
    assert token["access_token"].startswith("gho_") and fake.user_tokens == [token["access_token"]]
    me = call(
        fake, "/user", auth=False, headers={"Authorization": f"token {token['access_token']}"}
    )
    assert me.status_code == 200 and me.json()["login"] == "grace"
    # The code is used up; the bot's own token still is the bot's account.
    wait_interval(fake, started)
    assert poll(fake, started["device_code"])["error"] == "incorrect_device_code"
    fake.world.add_user("coach-bot")
    assert call(fake, "/user").json()["login"] == "coach-bot"


def test_the_website_and_learners_tokens_do_not_spend_the_bots_budget(
    fake: FakeGitHub, started: Json
) -> None:
    fake.approve_device("ada")
    token = poll(fake, started["device_code"])["access_token"]
    call(fake, "/user", auth=False, headers={"Authorization": f"token {token}"})
    assert fake.count() == 0 and fake.count(counted_only=False) == 3
    assert fake.rate_remaining == 5000
    website = [r for r in fake.requests if r.path.startswith("/login/")]
    assert website and all(r.headers.get("Accept") == "application/json" for r in website)


def test_polling_faster_than_the_interval_slows_down(fake: FakeGitHub, started: Json) -> None:
    assert poll(fake, started["device_code"])["error"] == "authorization_pending"
    answer = poll(fake, started["device_code"])  # at once: too fast
    assert answer["error"] == "slow_down" and answer["interval"] == 2
    [device] = fake.device_authorizations
    assert (device.too_fast, device.interval, device.polls) == (1, 2, 2)


def test_slow_down_on_demand(fake: FakeGitHub, started: Json) -> None:
    fake.slow_down_device(2)
    first = poll(fake, started["device_code"])
    assert (first["error"], first["interval"]) == ("slow_down", 2)
    wait_interval(fake, started)
    assert poll(fake, started["device_code"])["interval"] == 3
    wait_interval(fake, started)
    assert poll(fake, started["device_code"])["error"] == "authorization_pending"
    assert fake.device_authorizations[0].too_fast == 0


@pytest.mark.parametrize(
    ("knob", "error"), [("expire_device", "expired_token"), ("deny_device", "access_denied")]
)
def test_expired_and_denied_codes(fake: FakeGitHub, started: Json, knob: str, error: str) -> None:
    getattr(fake, knob)(started["user_code"])
    assert poll(fake, started["device_code"])["error"] == error


def test_a_code_expires_with_time(fake: FakeGitHub) -> None:
    fake.world.add_user("ada")
    fake.device_expires_in = 1
    code = device_code(fake).json()
    assert code["expires_in"] == 1
    time.sleep(1.1)
    assert poll(fake, code["device_code"])["error"] == "expired_token"
    with pytest.raises(ValueError):
        fake.approve_device("ada")  # nothing pending any more


def test_refusals_of_the_app_itself(fake: FakeGitHub, started: Json) -> None:
    assert device_code(fake, "Ov23liSomeoneElse").status_code == 404
    assert poll(fake, started["device_code"], client_id="nope")["error"] == (
        "incorrect_client_credentials"
    )
    assert poll(fake, started["device_code"], grant="password")["error"] == "unsupported_grant_type"
    assert poll(fake, "not-a-code")["error"] == "incorrect_device_code"
    fake.device_flow_enabled = False
    refused = device_code(fake)
    assert refused.status_code == 400 and refused.json()["error"] == "device_flow_disabled"
    with pytest.raises(ValueError):
        fake.approve_device("eig-nobody")


def test_faults_reach_the_website_too(fake: FakeGitHub, started: Json) -> None:
    fake.fail_next(1, status=502)
    assert device_code(fake).status_code == 502
    fake.exhaust_rate_limit()  # the API's budget is not the website's
    assert device_code(fake).status_code == 200


def test_reset_forgets_device_flows(fake: FakeGitHub, started: Json) -> None:
    fake.approve_device("ada")
    poll(fake, started["device_code"])
    fake.device_flow_enabled, fake.device_interval = False, 7
    fake.reset()
    assert fake.device_authorizations == [] and fake.user_tokens == []
    assert (fake.device_flow_enabled, fake.device_interval) == (True, 1)


# =============================================================================== renames


def test_a_renamed_account_keeps_its_id_and_its_repositories_follow(
    fake: FakeGitHub, scenario: Scenario, gh: github.Github
) -> None:
    ada = fake.world.find_user("ada")
    assert ada is not None
    fake.world.rename_user("ada", "ada-lovelace")
    assert call(fake, "/users/ada").status_code == 404  # the old login answers nothing
    assert gh.get_user_by_id(ada.id).login == "ada-lovelace"
    moved = call(fake, "/repos/ada/practice")
    assert moved.status_code == 301  # the repositories' old names redirect
    assert gh.get_repo("ada/practice").full_name == "ada-lovelace/practice"
    [pull] = gh.get_repo("eig/practice").get_pulls(head="ada-lovelace:my-change")
    assert pull.user.login == "ada-lovelace"
    # Commits made with the account's email are still linked to it.
    commit = gh.get_repo("ada-lovelace/practice").get_commit(scenario.linked_sha)
    assert commit.author is not None and commit.author.login == "ada-lovelace"
    with pytest.raises(ValueError):
        fake.world.rename_user("ada-lovelace", "grace")


def test_ids_are_never_reused_after_a_reset(fake: FakeGitHub) -> None:
    first = fake.world.add_user("ada").id
    fake.reset()
    assert fake.world.add_user("ada").id != first


# =============================================================================== issue 12 additions


def test_private_memberships_give_access_but_are_not_listed(fake: FakeGitHub) -> None:
    fake.world.add_user("priv")
    fake.world.add_org("secretive", private_members=["priv"])
    answer = call(fake, "/users/priv/orgs")
    assert answer.status_code == 200 and answer.json() == []
    repo = fake.world.add_repo("secretive", "inside", private=True)
    assert fake.world.permission(repo, "priv") == "pull"


def test_a_binary_file_shows_no_lines_in_a_comparison(fake: FakeGitHub) -> None:
    fake.world.add_user("bin")
    fake.world.add_repo("bin", "docs")
    fake.world.create_branch("bin/docs", "word")
    fake.world.commit("bin/docs", "word", {"cv.docx": "PK\x03\x04\x00\x00binary"})
    answer = call(fake, "/repos/bin/docs/compare/main...word").json()
    [change] = answer["files"]
    assert (change["filename"], change["additions"], change["changes"]) == ("cv.docx", 0, 0)
    assert "patch" not in change


def test_nonsense_answers_are_200_with_what_was_asked(fake: FakeGitHub) -> None:
    fake.world.add_org("eig")
    fake.html_next()
    answer = call(fake, "/users/eig")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/html")
    assert answer.text.startswith("<!DOCTYPE html>")
    assert call(fake, "/users/eig").json()["login"] == "eig"  # once only


# =============================================================================== reviews
# (issue 16: after the pull request is open)


def test_reviews_and_their_inline_comments_through_pygithub(
    fake: FakeGitHub, scenario: Scenario, gh: github.Github
) -> None:
    pull = gh.get_repo("eig/practice").get_pull(scenario.pull)
    before = pull.updated_at
    with pytest.raises(ValueError, match="your own pull request"):
        fake.world.review_pull("eig/practice", 1, by="ada", state="APPROVE")
    with pytest.raises(ValueError, match="needs a body"):
        fake.world.review_pull("eig/practice", 1, by="grace", state="REQUEST_CHANGES")
    time.sleep(1.1)  # GitHub's times are to the second
    _reviewed(fake)
    reviews = list(pull.get_reviews())
    assert [(r.user.login, r.state) for r in reviews] == [
        ("grace", "CHANGES_REQUESTED"),
        ("grace", "APPROVED"),
    ]
    assert reviews[0].body == "Nice! One thing to fix." and reviews[1].body == ""
    assert reviews[0].commit_id == pull.head.sha
    [comment] = list(pull.get_review_comments())
    assert comment.pull_request_review_id == reviews[0].id
    assert comment.path == "participants/ada.md" and "```suggestion" in comment.body
    fresh = gh.get_repo("eig/practice").get_pull(scenario.pull)
    assert fresh.updated_at > before  # a review changes the pull request's ETag too
    assert fresh.review_comments == 1
    # A new commit on the branch: the pull request's head follows; old reviews keep theirs.
    fake.world.commit("ada/practice", "my-change", {"participants/ada.md": "Hi\n"})
    moved = gh.get_repo("eig/practice").get_pull(scenario.pull)
    assert moved.head.sha != reviews[0].commit_id
    fake.world.dismiss_review(reviews[0].id)
    assert [r.state for r in pull.get_reviews()] == ["DISMISSED", "APPROVED"]


def test_after_a_push_mergeability_is_unknown_once_as_on_github(
    fake: FakeGitHub, scenario: Scenario, gh: github.Github
) -> None:
    upstream = gh.get_repo("eig/practice")
    assert upstream.get_pull(scenario.pull).mergeable is True
    fake.world.commit("ada/practice", "my-change", {"participants/ada.md": "Hi again\n"})
    first = upstream.get_pull(scenario.pull)
    assert first.mergeable is None and first.mergeable_state == "unknown"
    again = upstream.get_pull(scenario.pull)
    assert again.mergeable is True and again.mergeable_state == "clean"
