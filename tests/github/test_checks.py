"""Each step's check, through real PyGithub against the fake GitHub world."""

from __future__ import annotations

from typing import Any

import pytest

from bot.course.checks import Outcome
from bot.course.ports import CheckContext
from bot.errors import GitHubRateLimited, GitHubUnavailable
from bot.github.checks import GitHubChecks
from bot.github.client import make_github
from tests.rig.fake_github import FakeGitHub

PARAMS = {"path_pattern": "participants/*.md", "max_changed_lines": 30}


@pytest.fixture
def checks(fake_github: FakeGitHub) -> GitHubChecks:
    return GitHubChecks(make_github(fake_github.url, "ghp_test", timeout=3), "eig/practice")


@pytest.fixture
def ada(fake_github: FakeGitHub) -> str:
    fake_github.world.add_user("Ada-L", email="ada@example.org")
    return "Ada-L"


def context(login: str, **facts: Any) -> CheckContext:
    return CheckContext(login, facts, PARAMS)


FORKED = {"fork": "Ada-L/practice", "default_branch": "main", "upstream_default_branch": "main"}


def code(result: Any) -> str | None:
    return result.main_diagnosis.code if result.main_diagnosis else None


# -- account -------------------------------------------------------------------------------


def test_account_found_is_stored_as_github_spells_it(checks: GitHubChecks, ada: str) -> None:
    result = checks.find_account("ada-l")
    assert result.done and result.learned["github_login"] == "Ada-L"


def test_unknown_account(checks: GitHubChecks) -> None:
    result = checks.find_account("nobody-here")
    assert result.outcome is Outcome.MISTAKE and code(result) == "account_not_found"


def test_an_organization_is_not_a_personal_account(checks: GitHubChecks) -> None:
    assert code(checks.find_account("eig")) == "account_is_organization"


# -- fork ----------------------------------------------------------------------------------


def test_no_fork_yet(checks: GitHubChecks, ada: str) -> None:
    result = checks.run("fork_exists", context(ada))
    assert result.outcome is Outcome.NOT_YET and code(result) == "no_fork"


def test_fork_found_with_one_request(
    checks: GitHubChecks, ada: str, fake_github: FakeGitHub
) -> None:
    fake_github.world.fork("eig/practice", owner=ada)
    fake_github.reset_log()
    result = checks.run("fork_exists", context(ada))
    assert result.done and result.learned["fork"] == "Ada-L/practice"
    assert fake_github.count() == 1


def test_renamed_fork_is_found(checks: GitHubChecks, ada: str, fake_github: FakeGitHub) -> None:
    fake_github.world.fork("eig/practice", owner=ada, name="my-first-pr")
    result = checks.run("fork_exists", context(ada))
    assert result.done and result.learned["fork"] == "Ada-L/my-first-pr"


def test_fork_under_an_organization(
    checks: GitHubChecks, ada: str, fake_github: FakeGitHub
) -> None:
    fake_github.world.add_org("dinum", members=[ada])
    fake_github.world.fork("eig/practice", owner="dinum")
    result = checks.run("fork_exists", context(ada))
    assert code(result) == "fork_under_organization"
    assert result.main_diagnosis.facts["org"] == "dinum"


def test_a_plain_repository_with_the_same_name(
    checks: GitHubChecks, ada: str, fake_github: FakeGitHub
) -> None:
    fake_github.world.add_repo(ada, "practice", files={"x.md": "x"})
    result = checks.run("fork_exists", context(ada))
    assert code(result) == "repo_not_a_fork"
    assert result.main_diagnosis.facts["found_repo"] == "Ada-L/practice"


def test_a_fork_of_another_repository(
    checks: GitHubChecks, ada: str, fake_github: FakeGitHub
) -> None:
    fake_github.world.add_user("someone")
    fake_github.world.add_repo("someone", "practice", files={"a": "b"})
    fake_github.world.fork("someone/practice", owner=ada)
    result = checks.run("fork_exists", context(ada))
    assert code(result) == "fork_of_other_repo"
    assert result.main_diagnosis.facts["other_parent"] == "someone/practice"


# -- branch --------------------------------------------------------------------------------


def test_no_branch_then_a_branch(checks: GitHubChecks, ada: str, fake_github: FakeGitHub) -> None:
    fake_github.world.fork("eig/practice", owner=ada)
    assert code(checks.run("branch_exists", context(ada, **FORKED))) == "no_branch"
    fake_github.world.create_branch("Ada-L/practice", "add-ada")
    fake_github.reset_log()
    result = checks.run("branch_exists", context(ada, **FORKED))
    assert result.done and result.learned["branch"] == "add-ada"
    assert fake_github.count() == 1


def test_branch_created_in_the_upstream(
    checks: GitHubChecks, ada: str, fake_github: FakeGitHub
) -> None:
    fake_github.world.fork("eig/practice", owner=ada)
    fake_github.world.set_permission("eig/practice", ada, "push")
    fake_github.world.create_branch("eig/practice", "add-ada-l")
    result = checks.run("branch_exists", context(ada, **FORKED))
    assert code(result) == "branch_in_upstream"
    assert result.main_diagnosis.facts["found_branch"] == "add-ada-l"


# -- commit --------------------------------------------------------------------------------


@pytest.fixture
def branched(fake_github: FakeGitHub, ada: str) -> dict[str, str]:
    fake_github.world.fork("eig/practice", owner=ada)
    fake_github.world.create_branch("Ada-L/practice", "add-ada")
    return {**FORKED, "branch": "add-ada"}


def test_no_commit_yet(checks: GitHubChecks, ada: str, branched: dict[str, str]) -> None:
    assert code(checks.run("commit_on_branch", context(ada, **branched))) == "no_commit"


def test_the_right_commit(
    checks: GitHubChecks, ada: str, branched: dict[str, str], fake_github: FakeGitHub
) -> None:
    fake_github.world.commit(
        "Ada-L/practice",
        "add-ada",
        {"participants/Ada-L.md": "# Ada\nHello\n"},
        author_email="ada@example.org",
    )
    fake_github.reset_log()
    result = checks.run("commit_on_branch", context(ada, **branched))
    assert result.done and not result.diagnoses
    assert fake_github.count() == 1


def test_the_wrong_file(
    checks: GitHubChecks, ada: str, branched: dict[str, str], fake_github: FakeGitHub
) -> None:
    fake_github.world.commit(
        "Ada-L/practice",
        "add-ada",
        {"README.md": "# Ada was here\n"},
        author_email="ada@example.org",
    )
    result = checks.run("commit_on_branch", context(ada, **branched))
    assert code(result) == "file_edited_existing"
    assert result.main_diagnosis.facts["file"] == "README.md"


def test_a_whole_file_rewritten(checks: GitHubChecks, ada: str, fake_github: FakeGitHub) -> None:
    original = "".join(f"line {i}\n" for i in range(60))
    fake_github.world.commit("eig/practice", "main", {"participants/list.md": original})
    fake_github.world.fork("eig/practice", owner=ada)
    fake_github.world.create_branch("Ada-L/practice", "add-ada")
    # An editor that changed every line ending and the case: 60 lines deleted, 60 added.
    rewritten = "".join(f"LINE {i}\r\n" for i in range(60))
    fake_github.world.commit(
        "Ada-L/practice",
        "add-ada",
        {"participants/list.md": rewritten},
        author_email="ada@example.org",
    )
    result = checks.run("commit_on_branch", context(ada, **FORKED, branch="add-ada"))
    assert code(result) == "file_rewritten"
    assert result.main_diagnosis.facts["file"] == "participants/list.md"


def test_committed_on_main_instead_of_the_branch(
    checks: GitHubChecks, ada: str, branched: dict[str, str], fake_github: FakeGitHub
) -> None:
    fake_github.world.commit(
        "Ada-L/practice", "main", {"participants/Ada-L.md": "Hi\n"}, author_email="ada@example.org"
    )
    result = checks.run("commit_on_branch", context(ada, **branched))
    assert code(result) == "committed_on_default_branch"
    assert result.main_diagnosis.facts["ahead_by"] == "1"


def test_a_commit_on_another_branch_counts(
    checks: GitHubChecks, ada: str, branched: dict[str, str], fake_github: FakeGitHub
) -> None:
    fake_github.world.create_branch("Ada-L/practice", "other")
    fake_github.world.commit(
        "Ada-L/practice", "other", {"participants/Ada-L.md": "Hi\n"}, author_email="ada@example.org"
    )
    result = checks.run("commit_on_branch", context(ada, **branched))
    assert result.done and result.learned["branch"] == "other"


def test_an_author_email_not_tied_to_the_account_is_a_warning(
    checks: GitHubChecks, ada: str, branched: dict[str, str], fake_github: FakeGitHub
) -> None:
    fake_github.world.commit(
        "Ada-L/practice",
        "add-ada",
        {"participants/Ada-L.md": "Hi\n"},
        author_email="ada@laptop.local",
    )
    result = checks.run("commit_on_branch", context(ada, **branched))
    assert result.done
    assert code(result) == "author_not_linked" and not result.main_diagnosis.blocking
    assert result.main_diagnosis.facts["email"] == "ada@laptop.local"


# -- pull request --------------------------------------------------------------------------


@pytest.fixture
def committed(fake_github: FakeGitHub, branched: dict[str, str]) -> dict[str, str]:
    fake_github.world.commit(
        "Ada-L/practice",
        "add-ada",
        {"participants/Ada-L.md": "Hi\n"},
        author_email="ada@example.org",
    )
    return branched


def test_no_pull_request_yet(checks: GitHubChecks, ada: str, committed: dict[str, str]) -> None:
    assert code(checks.run("pull_request_opened", context(ada, **committed))) == "no_pull_request"


def test_pull_request_opened(
    checks: GitHubChecks, ada: str, committed: dict[str, str], fake_github: FakeGitHub
) -> None:
    number = fake_github.world.open_pull(
        "eig/practice",
        head="Ada-L:add-ada",
        base="main",
        title="Add my presentation",
        body="Hello!",
    )
    fake_github.reset_log()
    result = checks.run("pull_request_opened", context(ada, **committed))
    assert result.done and result.learned["pr_number"] == number and not result.diagnoses
    assert fake_github.count() == 2


def test_a_draft_counts_with_a_warning(
    checks: GitHubChecks, ada: str, committed: dict[str, str], fake_github: FakeGitHub
) -> None:
    fake_github.world.open_pull("eig/practice", head="Ada-L:add-ada", base="main", draft=True)
    result = checks.run("pull_request_opened", context(ada, **committed))
    assert result.done and code(result) == "pr_draft"


def test_conflicts_are_reported(
    checks: GitHubChecks, ada: str, committed: dict[str, str], fake_github: FakeGitHub
) -> None:
    number = fake_github.world.open_pull("eig/practice", head="Ada-L:add-ada", base="main")
    fake_github.world.set_mergeable("eig/practice", number, False)
    result = checks.run("pull_request_opened", context(ada, **committed))
    assert result.done and code(result) == "pr_conflicts"


def test_a_pull_request_inside_the_fork(
    checks: GitHubChecks, ada: str, committed: dict[str, str], fake_github: FakeGitHub
) -> None:
    fake_github.world.open_pull("Ada-L/practice", head="add-ada", base="main")
    assert code(checks.run("pull_request_opened", context(ada, **committed))) == "pr_inside_fork"


def test_a_pull_request_from_main(
    checks: GitHubChecks, ada: str, committed: dict[str, str], fake_github: FakeGitHub
) -> None:
    fake_github.world.commit("Ada-L/practice", "main", {"participants/x.md": "x\n"})
    fake_github.world.open_pull("eig/practice", head="Ada-L:main", base="main")
    result = checks.run("pull_request_opened", context(ada, **committed))
    assert code(result) == "pr_from_default_branch"


def test_a_pull_request_closed_without_merge(
    checks: GitHubChecks, ada: str, committed: dict[str, str], fake_github: FakeGitHub
) -> None:
    number = fake_github.world.open_pull("eig/practice", head="Ada-L:add-ada", base="main")
    fake_github.world.close_pull("eig/practice", number)
    result = checks.run("pull_request_opened", context(ada, **committed))
    assert result.outcome is Outcome.MISTAKE and code(result) == "pr_closed_unmerged"


def test_merged(
    checks: GitHubChecks, ada: str, committed: dict[str, str], fake_github: FakeGitHub
) -> None:
    number = fake_github.world.open_pull("eig/practice", head="Ada-L:add-ada", base="main")
    facts = {**committed, "pr_number": number}
    assert code(checks.run("pull_request_merged", context(ada, **facts))) == "awaiting_review"
    fake_github.world.merge_pull("eig/practice", number)
    assert checks.run("pull_request_merged", context(ada, **facts)).done


# -- failures ------------------------------------------------------------------------------


def test_5xx_becomes_github_unavailable(
    checks: GitHubChecks, ada: str, fake_github: FakeGitHub
) -> None:
    fake_github.fail_next(3, status=502)
    with pytest.raises(GitHubUnavailable) as caught:
        checks.run("fork_exists", context(ada))
    assert not isinstance(caught.value, GitHubRateLimited)


def test_502_twice_is_retried_transparently(
    checks: GitHubChecks, ada: str, fake_github: FakeGitHub
) -> None:
    fake_github.fail_next(2, status=502)
    assert code(checks.run("fork_exists", context(ada))) == "no_fork"


def test_a_dropped_connection_becomes_github_unavailable(
    checks: GitHubChecks, ada: str, fake_github: FakeGitHub
) -> None:
    fake_github.drop_next(5)
    with pytest.raises(GitHubUnavailable):
        checks.find_account(ada)


def test_rate_limit_gives_the_reset_time(
    checks: GitHubChecks, ada: str, fake_github: FakeGitHub
) -> None:
    fake_github.exhaust_rate_limit(reset_in=600)
    with pytest.raises(GitHubRateLimited) as caught:
        checks.find_account(ada)
    assert caught.value.retry_at is not None


def test_secondary_rate_limit_honours_retry_after(
    checks: GitHubChecks, ada: str, fake_github: FakeGitHub
) -> None:
    fake_github.secondary_rate_limit(retry_after=120)
    with pytest.raises(GitHubUnavailable) as caught:
        checks.find_account(ada)
    # A pause GitHub asks for, not a spent hourly quota.
    assert not isinstance(caught.value, GitHubRateLimited)
    assert caught.value.retry_at is not None


# -- GitHub answering nonsense -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        pytest.param(b"<!DOCTYPE html><html><body>Oops</body></html>", "text/html", id="html"),
        pytest.param(b"", "application/json", id="empty"),
        pytest.param(b'{"id": 12, "full_name": "Ada-L/pra', "application/json", id="truncated"),
        pytest.param(b'"just a string"', "application/json", id="not-an-object"),
    ],
)
def test_a_200_that_is_not_the_apis_json_is_githubs_trouble_never_a_finding(
    checks: GitHubChecks, ada: str, fake_github: FakeGitHub, body: bytes, content_type: str
) -> None:
    fake_github.world.fork("eig/practice", owner=ada)
    fake_github.nonsense_next(1, body, content_type)
    with pytest.raises(GitHubUnavailable):
        checks.run("fork_exists", context(ada))
    assert checks.run("fork_exists", context(ada)).done  # and the next answer counts again


def test_a_nonsense_answer_while_linking_is_githubs_trouble(
    checks: GitHubChecks, ada: str, fake_github: FakeGitHub
) -> None:
    fake_github.html_next()
    with pytest.raises(GitHubUnavailable):
        checks.find_account(ada)


# -- the cost of the new look-ups --------------------------------------------------------------


def test_the_shared_listings_are_asked_conditionally(
    checks: GitHubChecks, ada: str, fake_github: FakeGitHub
) -> None:
    fake_github.world.create_branch("eig/practice", "dev")
    fake_github.world.fork("eig/practice", owner=ada)
    fake_github.world.create_branch("Ada-L/practice", "my-change")  # not named after her
    assert checks.run("branch_exists", context(ada, **FORKED)).learned["branch"] == "my-change"
    fake_github.reset_log()
    assert checks.run("branch_exists", context(ada, **FORKED)).done
    # The practice repository's branches did not change: a 304, free.
    assert fake_github.count(counted_only=False, path=r"^/repos/eig/practice/branches$") == 1
    assert fake_github.count(path=r"^/repos/eig/practice/branches$") == 0


def test_a_branch_named_after_the_learner_needs_no_second_look(
    checks: GitHubChecks, ada: str, fake_github: FakeGitHub
) -> None:
    fake_github.world.fork("eig/practice", owner=ada)
    fake_github.world.create_branch("Ada-L/practice", "add-ada-l")
    fake_github.reset_log()
    assert checks.run("branch_exists", context(ada, **FORKED)).done
    assert fake_github.count() == 1
