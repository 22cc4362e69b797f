"""The situations catalogue: how GitHub looks → the step the learner is at and what they are told.

One table of learner situations, each run through the real bot over HTTP (Slack-signed
requests in, the fake GitHub behind), alternately in English and in French. For each, the
learner checks (or types) and the test asserts:

* the **verdict**: its text (the course's hint for that diagnosis, or the interface's words)
  in the learner's language, with the heading of its kind;
* the **step** the learner is at afterwards (``/prcoach status``): no false "done" — a
  situation that is not the learner's own work never moves them on, and vanished work
  moves them back to the step whose work is gone;
* the **buttons**: every named mistake and "not yet" carries *Check* / *Show me how* /
  *I'm stuck*.

Every verdict's text exists in both languages (checked for the whole table below), and the
table covers every diagnosis the course can give. The README's "What the coach recognises"
table is this one, in words.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from bot.course.checks import CHECKS
from bot.course.course import load_course
from bot.course.messages import load_messages
from tests.rig.conversation import Conversation, buttons
from tests.rig.fake_github import FakeGitHub
from tests.rig.fake_slack import FakeSlack, Message
from tests.rig.slack_sender import SlackSender
from tests.slack.test_mistakes import DONE, MISTAKE, NOT_YET, PEOPLE, STEPS, TITLES, Learner

UPSTREAM = "eig/practice"
COURSE = load_course()
MESSAGES = load_messages()
# Diagnoses that say "not yet" (nothing wrong, nothing done); every other one is a named
# mistake (blocking) or a warning on a done step.
NOT_YET_CODES = frozenset({"no_fork", "no_branch", "no_commit", "no_pull_request"})
WARNINGS = frozenset(
    {
        "author_not_linked",
        "branch_web_editor",
        "pr_draft",
        "pr_conflicts",
        "pr_no_description",
        "pr_default_title",
    }
)
# Verdicts that are the interface's words rather than a diagnosis of a check.
NOTICES = {
    "is_this_you": "account.question",
    "not_me": "link.not_me",
    "answer_yes": "talk.yes_link",
    "answer_no": "talk.no_link",
    "answer_thanks": "talk.thanks_link",
    "answer_test": "talk.test_link",
    "github_trouble": "github.trouble",
}
BUTTONS = {
    "en": ["Check", "Show me how", "I'm stuck"],
    "fr": ["Vérifier", "Montrez-moi comment", "Je suis bloqué·e"],
}


# =============================================================================== the world


class World:
    """What a situation does to GitHub, before and after the learner reaches their step."""

    def __init__(self, learner: Learner, github: FakeGitHub) -> None:
        self.me = learner
        self.github = github
        self.gh = github.world

    # -- the practice repository, before anyone forks --------------------------------------

    def upstream_branch(self, name: str, files: dict[str, str] | None = None) -> None:
        self.gh.create_branch(UPSTREAM, name)
        if files:
            self.gh.commit(UPSTREAM, name, files)

    def colleague_file(self) -> None:
        self.gh.commit(UPSTREAM, "main", {"participants/grace.md": "# Grace\nI love maps.\n"})

    # -- the learner's own work ---------------------------------------------------------------

    def commit(self, files: dict[str, str], *, branch: str | None = None, **kw: object) -> None:
        self.gh.commit(
            self.me.fork, branch or self.me.branch, files, author_email=self.me.email, **kw
        )

    def own_file(self, text: str = "# Me\nI work on maps.\n") -> None:
        self.commit({self.me.own_file: text})

    def pull(self, head: str | None = None, **kw: object) -> int:
        kw.setdefault("title", "Add my presentation")
        kw.setdefault("body", "Hello, this is me.")
        return self.gh.open_pull(UPSTREAM, head=head or f"{self.me.login}:{self.me.branch}", **kw)


@dataclass(frozen=True)
class Situation:
    id: str
    at: str  # the step the learner has reached (everything before it done right)
    world: Callable[[World], None]  # how GitHub looks then
    verdict: str  # "done", a diagnosis code, or a key of NOTICES
    then_at: str | None  # the step afterwards (None: the course is finished)
    says: str = ""  # what the learner types in the DM instead of checking
    before: Callable[[World], None] | None = None  # done to GitHub before they start
    warning: str | None = None  # a "good to know" that comes with a done step


def nothing(_: World) -> None:
    pass


S = Situation
SITUATIONS: list[Situation] = [
    # -- 1. linking an account ------------------------------------------------------------
    S("typed-login-asks-is-this-you", "link", nothing, "is_this_you", "link", says="{login}"),
    S("oui-is-an-answer-not-a-login", "link", nothing, "answer_yes", "link", says="oui"),
    S("ok-is-an-answer-not-a-login", "link", nothing, "answer_yes", "link", says="ok"),
    S("non-is-an-answer", "link", nothing, "answer_no", "link", says="non"),
    S("merci-is-thanks", "link", nothing, "answer_thanks", "link", says="merci"),
    S("test-is-a-test", "link", nothing, "answer_test", "link", says="test"),
    S("a-name-is-not-a-login", "link", nothing, "login_looks_like_name", "link",
      says="Ada Lovelace"),
    S("an-email-is-not-a-login", "link", nothing, "login_is_email", "link",
      says="ada@example.org"),
    S("malformed-login", "link", nothing, "login_malformed", "link", says="ada_lovelace"),
    S("login-too-long", "link", nothing, "login_too_long", "link", says="a" * 40),
    S("unknown-account", "link", nothing, "account_not_found", "link", says="nobody-here"),
    S("an-organization", "link", nothing, "account_is_organization", "link", says="eig"),
    # -- 2. the fork ------------------------------------------------------------------------
    S("no-fork-yet", "fork", nothing, "no_fork", "fork"),
    S("fork-made", "fork", lambda w: w.gh.fork(UPSTREAM, owner=w.me.login), "done", "branch"),
    S("fork-renamed", "fork", lambda w: w.gh.fork(UPSTREAM, owner=w.me.login, name="mine"),
      "done", "branch"),
    S("fork-in-org-public-member", "fork", lambda w: (
        w.gh.add_org("dinum", members=[w.me.login]), w.gh.fork(UPSTREAM, owner="dinum")),
      "fork_under_organization", "fork"),
    S("fork-in-org-private-member-with-work", "fork", lambda w: (
        w.gh.add_org("dinum", private_members=[w.me.login]),
        w.gh.fork(UPSTREAM, owner="dinum"),
        w.gh.create_branch("dinum/practice", f"add-{w.me.login.lower()}")),
      "fork_under_organization", "fork"),
    S("new-repo-not-a-fork", "fork",
      lambda w: w.gh.add_repo(w.me.login, "practice", files={"a.md": "a\n"}),
      "repo_not_a_fork", "fork"),
    S("fork-of-a-colleagues-copy", "fork", lambda w: (
        w.gh.add_user("someone"), w.gh.add_repo("someone", "practice"),
        w.gh.fork("someone/practice", owner=w.me.login)),
      "fork_of_other_repo", "fork"),
    S("html-page-answered-200", "fork", lambda w: (
        w.gh.fork(UPSTREAM, owner=w.me.login), w.github.html_next(1)),
      "github_trouble", "fork"),
    # -- 3. the branch ----------------------------------------------------------------------
    S("no-branch-yet", "branch", nothing, "no_branch", "branch"),
    S("own-branch", "branch", lambda w: w.gh.create_branch(w.me.fork, w.me.branch),
      "done", "commit"),
    S("only-branches-the-fork-copied", "branch", nothing, "branch_copied_only", "branch",
      before=lambda w: (w.upstream_branch("dev"),
                        w.upstream_branch("gh-pages", {"index.html": "<p>hi</p>\n"}))),
    S("own-branch-beside-copied-ones", "branch",
      lambda w: w.gh.create_branch(w.me.fork, "my-change"), "done", "commit",
      before=lambda w: w.upstream_branch("dev")),
    S("web-editor-patch-branch-in-fork", "branch",
      lambda w: w.gh.create_branch(w.me.fork, "patch-1"), "done", "commit",
      warning="branch_web_editor"),
    S("branch-made-in-the-practice-repository", "branch", lambda w: (
        w.gh.set_permission(UPSTREAM, w.me.login, "push"),
        w.gh.create_branch(UPSTREAM, w.me.branch)),
      "branch_in_upstream", "branch"),
    S("web-editor-branch-in-the-practice-repository", "branch", lambda w: (
        w.gh.set_permission(UPSTREAM, w.me.login, "push"),
        w.gh.create_branch(UPSTREAM, f"{w.me.login}-patch-1")),
      "branch_web_editor_upstream", "branch"),
    S("fork-deleted-at-branch-step", "branch", lambda w: w.gh.delete_repo(w.me.fork),
      "fork_deleted", "fork"),
    # -- 4. the commit ----------------------------------------------------------------------
    S("no-commit-yet", "commit", nothing, "no_commit", "commit"),
    S("own-file-added", "commit", lambda w: w.own_file(), "done", "pull_request"),
    S("colleagues-file-edited", "commit",
      lambda w: w.commit({"participants/grace.md": "# Grace\nEdited by me.\n"}),
      "file_edited_existing", "commit", before=lambda w: w.colleague_file()),
    S("own-file-empty", "commit", lambda w: w.own_file(""), "file_empty", "commit"),
    S("own-file-blank-lines", "commit", lambda w: w.own_file("\n\n  \n"), "file_empty",
      "commit"),
    S("file-in-a-sub-folder", "commit", lambda w: w.commit(
        {f"participants/{w.me.login}/{w.me.login}.md": "# Me\n"}),
      "file_wrong_folder", "commit"),
    S("file-in-another-folder", "commit",
      lambda w: w.commit({f"participant/{w.me.login}.md": "# Me\n"}),
      "file_wrong_folder", "commit"),
    S("folder-with-a-capital", "commit",
      lambda w: w.commit({f"Participants/{w.me.login}.md": "# Me\n"}),
      "file_wrong_case", "commit"),
    S("txt-extension", "commit", lambda w: w.commit({f"participants/{w.me.login}.txt": "Me\n"}),
      "file_wrong_extension", "commit"),
    S("word-file-uploaded", "commit", lambda w: w.commit(
        {f"participants/{w.me.login}.docx": "PK\x03\x04\x14\x00\x06\x00\x08\x00word"}),
      "file_not_text", "commit"),
    S("file-at-the-root", "commit", lambda w: w.commit({f"{w.me.login}.md": "# Me\n"}),
      "file_at_root", "commit"),
    S("own-file-and-another", "commit", lambda w: w.commit(
        {w.me.own_file: "# Me\n", "participants/photo.md": "a photo\n"}),
      "several_files", "commit"),
    S("two-stray-files", "commit",
      lambda w: w.commit({"hello.md": "hi\n", "notes.txt": "notes\n"}), "wrong_file", "commit"),
    S("shared-file-rewritten", "commit", lambda w: w.commit(
        {"participants/list.md": "".join(f"PARTICIPANT {i}\r\n" for i in range(60))}),
      "file_rewritten", "commit",
      before=lambda w: w.gh.commit(UPSTREAM, "main", {
          "participants/list.md": "".join(f"participant {i}\n" for i in range(60))})),
    S("committed-on-main", "commit", lambda w: w.commit({w.me.own_file: "# Me\n"}, branch="main"),
      "committed_on_default_branch", "commit"),
    S("email-not-linked", "commit",
      lambda w: w.gh.commit(w.me.fork, w.me.branch, {w.me.own_file: "# Me\n"},
                            author_email="me@laptop.local"),
      "done", "pull_request", warning="author_not_linked"),
    S("copied-branch-ahead-is-not-theirs", "commit", nothing, "no_commit", "commit",
      before=lambda w: w.upstream_branch("dev", {"participants/someone.md": "# Someone\n"})),
    S("branch-deleted-at-commit-step", "commit",
      lambda w: w.gh.delete_branch(w.me.fork, w.me.branch), "branch_deleted", "branch"),
    S("fork-deleted-at-commit-step", "commit", lambda w: w.gh.delete_repo(w.me.fork),
      "fork_deleted", "fork"),
    S("truncated-json-answered-200", "commit", lambda w: (
        w.own_file(), w.github.nonsense_next(1, b'{"url": "http://x", "files": [{"fil',
                                             "application/json; charset=utf-8")),
      "github_trouble", "commit"),
    # -- 5. the pull request ----------------------------------------------------------------
    S("no-pull-request-yet", "pull_request", nothing, "no_pull_request", "pull_request"),
    S("pull-request-opened", "pull_request", lambda w: w.pull(), "done", None),
    S("pull-request-from-web-editor-branch", "pull_request", lambda w: (
        w.gh.create_branch(w.me.fork, "patch-1"),
        w.commit({"participants/extra.md": "x\n"}, branch="patch-1"),
        w.pull(head=f"{w.me.login}:patch-1")),
      "done", None),
    S("pull-request-from-another-branch-without-their-file", "pull_request", lambda w: (
        w.gh.create_branch(w.me.fork, "patch-1"),
        w.commit({"README.md": "# Practice\nEdited.\n"}, branch="patch-1"),
        w.pull(head=f"{w.me.login}:patch-1")),
      "pr_without_own_file", "pull_request"),
    S("pull-request-inside-the-fork", "pull_request",
      lambda w: w.gh.open_pull(w.me.fork, head=w.me.branch, base="main"),
      "pr_inside_fork", "pull_request"),
    S("pull-request-from-main", "pull_request", lambda w: (
        w.commit({"participants/x.md": "x\n"}, branch="main"),
        w.pull(head=f"{w.me.login}:main")),
      "pr_from_default_branch", "pull_request"),
    S("pull-request-to-another-base", "pull_request", lambda w: w.pull(base="dev"),
      "pr_wrong_base", "pull_request", before=lambda w: w.upstream_branch("dev")),
    S("pull-request-closed", "pull_request",
      lambda w: w.gh.close_pull(UPSTREAM, w.pull()), "pr_closed_unmerged", "pull_request"),
    S("pull-request-draft", "pull_request", lambda w: w.pull(draft=True), "done", None,
      warning="pr_draft"),
    S("pull-request-with-conflicts", "pull_request",
      lambda w: w.gh.set_mergeable(UPSTREAM, w.pull(), False), "done", None,
      warning="pr_conflicts"),
    S("pull-request-without-description", "pull_request", lambda w: w.pull(body=""), "done",
      None, warning="pr_no_description"),
    S("pull-request-with-default-title", "pull_request",
      lambda w: w.pull(title=f"Create {w.me.login}.md"), "done", None,
      warning="pr_default_title"),
    S("branch-deleted-before-the-pull-request", "pull_request",
      lambda w: w.gh.delete_branch(w.me.fork, w.me.branch), "branch_deleted", "branch"),
    S("fork-deleted-before-the-pull-request", "pull_request",
      lambda w: w.gh.delete_repo(w.me.fork), "fork_deleted", "fork"),
    S("empty-answer-200", "pull_request", lambda w: w.github.nonsense_next(1, b"", "text/plain"),
      "github_trouble", "pull_request"),
]  # fmt: skip


# =============================================================================== reading answers


def hint_step(code: str) -> str:
    """The step whose hints explain ``code`` (vanished work: the step it goes back to)."""
    return next(s.id for s in COURSE.steps if code in s.hints)


def signature(template: str) -> str:
    """The longest stretch of a text without a placeholder: it is in the answer verbatim."""
    pieces = [
        line.strip() for part in re.split(r"\{[^}]*\}", template) for line in part.split("\n")
    ]
    return max(pieces, key=len)


def verdict_text(verdict: str, lang: str) -> str:
    if verdict in NOTICES:
        return signature(MESSAGES.texts[NOTICES[verdict]].by_language[lang])
    return signature(COURSE.step(hint_step(verdict)).hints[verdict].by_language[lang])


def heading(verdict: str, step: str, lang: str) -> str | None:
    title = TITLES[step][lang]
    if verdict == "done":
        return DONE[lang].format(title=title)
    if verdict in NOT_YET_CODES:
        return NOT_YET[lang].format(title=title)
    if verdict in NOTICES:
        return None
    return MISTAKE[lang].format(title=TITLES[hint_step(verdict)][lang])


# =============================================================================== running them


def reach(me: Learner, step: str) -> None:
    """Link (typed, recognised), then do each step before ``step`` right and check it."""
    if step == "link":
        me.conv.says("bonjour" if me.lang == "fr" else "hello")
        return
    me.link()
    me.walk_to_after_link(step)


def run(situation: Situation, me: Learner, github: FakeGitHub) -> Message:
    world = World(me, github)
    world.gh.add_user("oui")  # short words are taken on GitHub: never looked up
    world.gh.add_user("test")
    if situation.before:
        situation.before(world)
    world.gh.add_user(me.login, email=me.email)
    reach(me, situation.at)
    situation.world(world)
    if situation.says:
        return me.conv.says(situation.says.format(login=me.login))
    return me.check("dm")


@pytest.fixture
def me(request: pytest.FixtureRequest, slack: SlackSender, fake_slack: FakeSlack) -> Learner:
    index = SITUATIONS.index(request.param)
    lang = ("en", "fr")[index % 2]  # alternately: the whole table runs in both languages
    user = request.getfixturevalue("user_id" if lang == "en" else "french_user_id")
    login, email = PEOPLE[lang]
    github: FakeGitHub = request.getfixturevalue("fake_github")
    return Learner(Conversation(slack, fake_slack, user), lang, github.world, login, email)


@pytest.mark.parametrize(
    ("situation", "me"), [(s, s) for s in SITUATIONS], ids=[s.id for s in SITUATIONS],
    indirect=["me"],
)  # fmt: skip
def test_situation(situation: Situation, me: Learner, fake_github: FakeGitHub) -> None:
    answer = run(situation, me, fake_github)
    lang = me.lang
    text = answer.text

    if situation.verdict != "done":
        expected = verdict_text(situation.verdict, lang)
        assert expected in text, f"{situation.verdict}: {expected!r} not in\n{text}"
    head = heading(situation.verdict, situation.at, lang)
    if head is not None:
        assert head in text, text
    if situation.verdict != "done":
        # No false "done": the step is not announced done.
        assert DONE[lang].format(title=TITLES[situation.at][lang]) not in text, text
    if situation.warning is not None:
        assert verdict_text(situation.warning, lang) in text, text
    if situation.verdict in CODES and situation.verdict not in WARNINGS:
        assert buttons(answer)[:3] == BUTTONS[lang], buttons(answer)

    status = me.status()
    assert me.current_step(status) == situation.then_at
    if situation.at == "link":
        assert ("pas encore relié" if lang == "fr" else "not linked yet") in status.text


CODES = frozenset(code for codes in CHECKS.values() for code in codes)


def test_the_catalogue_covers_every_diagnosis_of_the_course() -> None:
    covered = {s.verdict for s in SITUATIONS} | {s.warning for s in SITUATIONS if s.warning}
    course_codes = {code for step in COURSE.steps for code in step.hints}
    assert course_codes - covered == set()
    assert len(SITUATIONS) >= 40


def test_every_verdict_speaks_both_languages() -> None:
    for situation in SITUATIONS:
        for verdict in filter(None, (situation.verdict, situation.warning)):
            if verdict == "done":
                continue
            texts = [verdict_text(verdict, lang) for lang in ("en", "fr")]
            assert all(texts) and texts[0] != texts[1], verdict


def test_at_least_thirty_named_mistakes_each_with_its_fix() -> None:
    named = {
        code
        for step in COURSE.steps
        if step.id in STEPS
        for code in step.hints
        if code not in NOT_YET_CODES
    }
    print(f"\nnamed mistakes (and warnings) with a fix in both languages: {len(named)}")
    assert len(named) >= 30


# =============================================================================== while checking


def test_a_slow_check_says_it_is_checking_then_the_verdict_replaces_it(
    user_id: str, slack: SlackSender, fake_slack: FakeSlack, fake_github: FakeGitHub
) -> None:
    ada = Learner(Conversation(slack, fake_slack, user_id), "en", fake_github.world, *PEOPLE["en"])
    ada.walk_to("fork")
    fake_github.world.fork(UPSTREAM, owner=ada.login)
    mark = len(fake_slack.calls)
    fake_github.delay_next(1, 1.6)  # GitHub is slow to answer
    answer = ada.check("dm")
    assert "Step 3 of 5" in answer.text
    notice = fake_slack.wait_for_message(
        lambda m: m.channel == ada.conv.dm and m.text == "Checking on GitHub…", after=mark
    )
    deleted = fake_slack.wait_for("chat.delete", after=mark)
    assert deleted.params["ts"] == notice.ts  # replaced by the verdict
    history = [m["text"] for m in fake_slack.history(ada.conv.dm)]
    assert "Checking on GitHub…" not in history and history[-1] == answer.text


# =============================================================================== the learner's tool


@pytest.mark.parametrize(
    ("tool", "expected"),
    [
        ("web", "Click *Add file* → *Create new file*"),
        ("desktop", "Click *Push origin* (or *Publish branch*)"),
        ("cli", "Run `gh auth login` first"),
    ],
)
def test_diagnoses_follow_the_learners_tool(
    tool: str,
    expected: str,
    user_id: str,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_github: FakeGitHub,
) -> None:
    ada = Learner(Conversation(slack, fake_slack, user_id), "en", fake_github.world, *PEOPLE["en"])
    ada.walk_to("commit")
    ada.conv.types(f"tool {tool}")
    answer = ada.check("dm")
    assert "Not yet: Add your presentation." in answer.text
    assert expected in answer.text, answer.text
    if tool == "cli":
        assert "GH007" in answer.text and "two-factor" in answer.text


def test_the_command_line_hears_about_gh_repo_fork_copying_every_branch(
    french_user_id: str, slack: SlackSender, fake_slack: FakeSlack, fake_github: FakeGitHub
) -> None:
    helene = Learner(
        Conversation(slack, fake_slack, french_user_id), "fr", fake_github.world, *PEOPLE["fr"]
    )
    fake_github.world.create_branch(UPSTREAM, "dev")
    helene.walk_to("branch")  # the fork copied every branch, as `gh repo fork` does
    helene.conv.types("outil cli")
    answer = helene.check("dm")
    assert "sauf avec `--default-branch-only`" in answer.text
    assert "`git switch -c add-Helene-D`" in answer.text


def test_a_slow_check_typed_as_a_command_is_replaced_by_its_verdict(
    user_id: str, slack: SlackSender, fake_slack: FakeSlack, fake_github: FakeGitHub
) -> None:
    ada = Learner(Conversation(slack, fake_slack, user_id), "en", fake_github.world, *PEOPLE["en"])
    ada.walk_to("fork")
    fake_github.world.fork(UPSTREAM, owner=ada.login)
    mark = len(fake_slack.calls)
    fake_github.delay_next(1, 1.6)
    answer = ada.check("command")
    assert "Step 3 of 5" in answer.text
    posts = [c for c in fake_slack.calls[mark:] if c.method == "response_url"]
    assert [c.params.get("text") for c in posts[:1]] == ["Checking on GitHub…"]
    assert posts[0].params.get("replace_original") is False
    assert answer.params.get("replace_original") is True  # the verdict takes its place
