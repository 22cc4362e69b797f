"""Every mistake is recognised and explained, in English and in French.

For each diagnosis code of the course, a learner is brought to the step through the real
bot, the GitHub world is set up so that the mistake exists, and the learner checks. The
answer must carry the right heading, the hint of that code in the learner's language and
the facts the bot found (repositories, branches, files, links); blocking mistakes leave
the learner where they are, warnings let them move on.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pytest

from tests.rig.conversation import Conversation
from tests.rig.fake_github import HTML_URL, FakeGitHub, World
from tests.rig.fake_slack import FakeSlack, Message
from tests.rig.slack_sender import SlackSender

UPSTREAM = "eig/practice"
SITE = "https://github.example.org"  # GITHUB_URL given to the bot (tests/rig/bot_process.py)
STEPS = ("link", "fork", "branch", "commit", "pull_request")

TITLES = {
    "link": {"en": "Connect your GitHub account", "fr": "Relier votre compte GitHub"},
    "fork": {"en": "Make your own copy (fork)", "fr": "Faire votre propre copie (fork)"},
    "branch": {"en": "Create a branch", "fr": "Créer une branche"},
    "commit": {"en": "Add your presentation", "fr": "Ajouter votre présentation"},
    "pull_request": {"en": "Open your pull request", "fr": "Ouvrir votre pull request"},
}
NOT_YET = {"en": "Not yet: {title}.", "fr": "Pas encore : {title}."}
MISTAKE = {
    "en": "Almost there, one thing to fix: {title}.",
    "fr": "Presque ! Une chose à corriger : {title}.",
}
WARNING = {"en": "Good to know:", "fr": "Bon à savoir :"}
DONE = {"en": "Done: {title}.", "fr": "Étape terminée : « {title} »."}
STEP_HEADING = {"en": "Step {n} of 5", "fr": "Étape {n} sur 5"}
NOT_LINKED = {"en": "GitHub account: not linked yet", "fr": "Compte GitHub : pas encore relié"}
LINKED_AS = {"en": "GitHub account: {login}", "fr": "Compte GitHub : {login}"}
CURRENT = {"en": "Current step", "fr": "Étape en cours"}
DONE_ON = {"en": "Done on", "fr": "Fait le"}
FINISHED = {"en": "You did it", "fr": "Bravo"}
CHECK_WORD = {"en": "check", "fr": "vérifier"}

PEOPLE = {
    "en": ("Ada-L", "ada@example.org"),
    "fr": ("Helene-D", "helene@example.fr"),
}


@dataclass
class Learner:
    """One learner, their language, their GitHub account-to-be, and quick ways to act."""

    conv: Conversation
    lang: str
    world: World
    login: str
    email: str

    @property
    def fork(self) -> str:
        return f"{self.login}/practice"

    @property
    def branch(self) -> str:
        return f"add-{self.login.lower()}"

    @property
    def own_file(self) -> str:
        return f"participants/{self.login}.md"

    def t(self, en: str, fr: str) -> str:
        return en if self.lang == "en" else fr

    def check(self, door: str = "command") -> Message:
        """The learner asks for a check through one of the three doors."""
        if door == "command":
            return self.conv.types("check" if self.lang == "en" else "verifier")
        if door == "dm":
            return self.conv.says(CHECK_WORD[self.lang])
        if door == "button":
            return self.conv.clicks("prcoach_check")
        raise ValueError(door)

    def gives_login(self, typed: str, door: str) -> Message:
        """``/prcoach link <typed>``, or just the login typed in the DM."""
        if door == "command":
            return self.conv.types(f"link {typed}")
        return self.conv.says(typed)

    # -- what the bot says ---------------------------------------------------------------

    def heading(self, kind: str, step: str) -> str:
        template = {"not_yet": NOT_YET, "mistake": MISTAKE, "warning": WARNING}[kind]
        return template[self.lang].format(title=TITLES[step][self.lang])

    def status(self) -> Message:
        return self.conv.types("status" if self.lang == "en" else "statut")

    def current_step(self, answer: Message | None = None) -> str | None:
        """The step ``/prcoach status`` marks as current (None when the course is finished)."""
        answer = answer or self.status()
        for line in answer.text.splitlines():
            found = re.match(r"^▶ \*(.+?)\*.* — (.+)$", line)
            if found:
                assert found.group(2) == CURRENT[self.lang], line
                title = found.group(1)
                return next(s for s, t in TITLES.items() if t[self.lang] == title)
        assert answer.text.count(DONE_ON[self.lang]) == 5, answer.text
        return None

    def assert_still_at(self, step: str) -> None:
        assert self.current_step() == step

    # -- getting somewhere quickly -------------------------------------------------------

    def link(self) -> Message:
        if self.world.find_user(self.login) is None:
            self.world.add_user(self.login, email=self.email)
        answer = self.conv.links(self.login)
        assert STEP_HEADING[self.lang].format(n=2) in answer.text, answer.text
        return answer

    def walk_to(self, step: str) -> None:
        """Link, then do each step before ``step`` right and check it."""
        self.link()
        self.walk_to_after_link(step)

    def walk_to_after_link(self, step: str) -> None:
        """Linked already: do each step before ``step`` right and check it."""
        for index, done in enumerate(STEPS[1 : STEPS.index(step)], start=3):
            if done == "fork":
                self.world.fork(UPSTREAM, owner=self.login)
            elif done == "branch":
                self.world.create_branch(self.fork, self.branch)
            elif done == "commit":
                self.world.commit(
                    self.fork,
                    self.branch,
                    {self.own_file: f"# {self.login}\nI work on maps.\n"},
                    author_email=self.email,
                )
            answer = self.check()
            assert STEP_HEADING[self.lang].format(n=index) in answer.text, answer.text


@pytest.fixture(params=["en", "fr"])
def learner(
    request: pytest.FixtureRequest,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_github: FakeGitHub,
) -> Learner:
    lang = request.param
    user = request.getfixturevalue("user_id" if lang == "en" else "french_user_id")
    login, email = PEOPLE[lang]
    return Learner(Conversation(slack, fake_slack, user), lang, fake_github.world, login, email)


def blocks_text(message: Message) -> str:
    return json.dumps(message.blocks, ensure_ascii=False)


def assert_says(message: Message, *phrases: str) -> None:
    """Each phrase is in the notification text and in the blocks."""
    for phrase in phrases:
        assert phrase in message.text, f"{phrase!r} not in:\n{message.text}"
        assert phrase in blocks_text(message), f"{phrase!r} not in the blocks"


# =============================================================================== link


def test_login_malformed(learner: Learner) -> None:
    answer = learner.conv.types("link ada_lovelace")
    assert_says(
        answer,
        learner.heading("mistake", "link"),
        learner.t(
            "`ada_lovelace` can't be a GitHub login",
            "`ada_lovelace` ne peut pas être un identifiant GitHub",
        ),
        learner.t("doesn't start or end with a hyphen", "ne commence ni ne finit par un tiret"),
    )
    learner.assert_still_at("link")


def test_login_too_long(learner: Learner) -> None:
    given = "ada-lovelace-from-the-ministry-of-maps-1"
    assert len(given) == 40
    answer = learner.conv.says(given)
    assert_says(
        answer,
        learner.heading("mistake", "link"),
        f"`{given}`",
        learner.t(
            "is too long for a GitHub login: 39 characters at most",
            "est trop long pour un identifiant GitHub : 39 caractères au maximum",
        ),
    )
    learner.assert_still_at("link")


def test_account_not_found(learner: Learner) -> None:
    answer = learner.conv.types("link nobody-here")
    assert_says(
        answer,
        learner.heading("mistake", "link"),
        learner.t(
            "I can't find any GitHub account named `nobody-here`",
            "Je ne trouve aucun compte GitHub nommé `nobody-here`",
        ),
        f"<{SITE}|GitHub>",
    )
    learner.assert_still_at("link")


def test_account_is_organization(learner: Learner) -> None:
    answer = learner.conv.says("eig")  # the organization that owns the practice repository
    assert_says(
        answer,
        learner.heading("mistake", "link"),
        learner.t("`eig` is an *organization*", "`eig` est une *organisation*"),
        learner.t("your own personal login", "votre identifiant personnel"),
    )
    learner.assert_still_at("link")


# -- invalid logins: refused clearly, nothing linked, echoes escaped ------------------------

MALFORMED = ("login_malformed", "can't be a GitHub login", "ne peut pas être un identifiant")
TOO_LONG = ("login_too_long", "too long for a GitHub login", "trop long pour un identifiant")
NOT_FOUND = ("account_not_found", "can't find any GitHub account", "ne trouve aucun compte")


@pytest.mark.parametrize("door", ["command", "dm"])
@pytest.mark.parametrize(
    ("typed", "expected", "echo"),
    [
        ("ada_lovelace", MALFORMED, "`ada_lovelace`"),
        ("-ada", MALFORMED, "`-ada`"),
        ("ada--l", MALFORMED, "`ada--l`"),
        ("a" * 40, TOO_LONG, "`" + "a" * 40 + "`"),
        ("<script>alert(1)</script>", MALFORMED, "`&lt;script&gt;alert(1)&lt;/script&gt;`"),
        ("<@U123>", NOT_FOUND, "`U123`"),
        ("*bold*", MALFORMED, "`*bold*`"),
        ("nobody-here", NOT_FOUND, "`nobody-here`"),
    ],
    ids=[
        "underscore",
        "leading-hyphen",
        "double-hyphen",
        "40-chars",
        "script",
        "mention",
        "bold",
        "unknown",
    ],
)
def test_an_invalid_login_is_refused_and_nothing_is_linked(
    learner: Learner, door: str, typed: str, expected: tuple[str, str, str], echo: str
) -> None:
    _code, phrase_en, phrase_fr = expected
    answer = learner.gives_login(typed, door)
    assert_says(answer, learner.heading("mistake", "link"), learner.t(phrase_en, phrase_fr), echo)
    for shown in (answer.text, blocks_text(answer)):
        assert "<script" not in shown and "</script" not in shown and "<@U123>" not in shown
    status = learner.status()
    assert NOT_LINKED[learner.lang] in status.text
    assert learner.current_step(status) == "link"


@pytest.mark.parametrize("door", ["command", "dm"])
def test_markup_as_slack_really_sends_it_is_echoed_once_escaped(
    learner: Learner, door: str
) -> None:
    # What Slack puts in `text` when someone types <script>alert(1)</script>.
    typed = "&lt;script&gt;alert(1)&lt;/script&gt;"
    answer = learner.gives_login(typed, door)
    assert learner.heading("mistake", "link") in answer.text
    assert "<script" not in answer.text and "<script" not in blocks_text(answer)
    assert "&amp;lt;" not in answer.text, answer.text  # shown to the learner as "&lt;"
    assert "&lt;script&gt;" in answer.text


# =============================================================================== fork


def test_no_fork(learner: Learner) -> None:
    learner.walk_to("fork")
    answer = learner.check("button")
    assert_says(
        answer,
        learner.heading("not_yet", "fork"),
        learner.t(
            f"I can't find a fork of {UPSTREAM} in your account `{learner.login}` yet.",
            f"Je ne trouve pas encore de fork de {UPSTREAM} dans votre compte `{learner.login}`.",
        ),
        f"<{SITE}/{UPSTREAM}/fork|",
    )
    learner.assert_still_at("fork")


def test_fork_under_organization(learner: Learner) -> None:
    learner.walk_to("fork")
    learner.world.add_org("dinum", members=[learner.login])
    learner.world.fork(UPSTREAM, owner="dinum")
    answer = learner.check("button")
    assert_says(
        answer,
        learner.heading("mistake", "fork"),
        learner.t(
            "but it belongs to the organization *dinum*, not to you",
            "mais il appartient à l'organisation *dinum*, pas à vous",
        ),
        f"<{HTML_URL}/dinum/practice|dinum/practice>",
        f"`{learner.login}`",
    )
    learner.assert_still_at("fork")


def test_repo_not_a_fork(learner: Learner) -> None:
    learner.walk_to("fork")
    learner.world.add_repo(learner.login, "practice", files={"notes.md": "mine\n"})
    answer = learner.check("button")
    assert_says(
        answer,
        learner.heading("mistake", "fork"),
        learner.t(
            f"it's a brand-new repository, not a fork of {UPSTREAM}",
            f"c'est un dépôt tout neuf, pas un fork de {UPSTREAM}",
        ),
        f"<{HTML_URL}/{learner.fork}|{learner.fork}>",
    )
    learner.assert_still_at("fork")


def test_fork_of_other_repo(learner: Learner) -> None:
    learner.walk_to("fork")
    learner.world.add_user("someone")
    learner.world.add_repo("someone", "practice", files={"a.md": "b\n"})
    learner.world.fork("someone/practice", owner=learner.login)
    answer = learner.check("button")
    assert_says(
        answer,
        learner.heading("mistake", "fork"),
        learner.t(
            f"is a fork of *someone/practice*, not of the practice repository *{UPSTREAM}*",
            f"est un fork de *someone/practice*, pas du dépôt d'entraînement *{UPSTREAM}*",
        ),
        f"<{HTML_URL}/{learner.fork}|{learner.fork}>",
    )
    learner.assert_still_at("fork")


# =============================================================================== branch


def test_no_branch(learner: Learner) -> None:
    learner.walk_to("branch")
    answer = learner.check("dm")
    assert_says(
        answer,
        learner.heading("not_yet", "branch"),
        learner.t(
            f"Your fork {learner.fork} only has its `main` branch for now.",
            f"Votre fork {learner.fork} n'a pour l'instant que sa branche `main`.",
        ),
        f"<{SITE}/{learner.fork}|",
        f"`add-{learner.login}`",
    )
    learner.assert_still_at("branch")


def test_branch_in_upstream(learner: Learner) -> None:
    learner.walk_to("branch")
    learner.world.set_permission(UPSTREAM, learner.login, "push")
    learner.world.create_branch(UPSTREAM, learner.branch)
    answer = learner.check("dm")
    assert_says(
        answer,
        learner.heading("mistake", "branch"),
        learner.t(
            f"I found your branch `{learner.branch}`, but in the shared repository {UPSTREAM}, "
            f"not in your fork {learner.fork}.",
            f"J'ai trouvé votre branche `{learner.branch}`, mais dans le dépôt partagé {UPSTREAM}, "
            f"pas dans votre fork {learner.fork}.",
        ),
        f"<{SITE}/{learner.fork}|",
    )
    learner.assert_still_at("branch")


# =============================================================================== commit


def test_no_commit(learner: Learner) -> None:
    learner.walk_to("commit")
    answer = learner.check()
    assert_says(
        answer,
        learner.heading("not_yet", "commit"),
        learner.t(
            f"Your branch `{learner.branch}` has no change yet compared with `main`.",
            f"Votre branche `{learner.branch}` n'a encore aucune modification "
            "par rapport à `main`.",
        ),
        f"`{learner.own_file}`",
    )
    learner.assert_still_at("commit")


def test_wrong_file(learner: Learner) -> None:
    learner.walk_to("commit")
    learner.world.commit(
        learner.fork,
        learner.branch,
        {"hello.md": "# I was here\n", "notes.txt": "notes\n"},
        author_email=learner.email,
    )
    answer = learner.check()
    assert_says(
        answer,
        learner.heading("mistake", "commit"),
        learner.t(
            f"Your branch `{learner.branch}` changes other files than expected: hello.md, "
            "notes.txt.",
            f"Votre branche `{learner.branch}` modifie d'autres fichiers que prévu : hello.md, "
            "notes.txt.",
        ),
        f"`{learner.own_file}`",
        "`participants/*.md`",
    )
    learner.assert_still_at("commit")


def test_file_edited_existing(learner: Learner) -> None:
    learner.walk_to("commit")
    learner.world.commit(
        learner.fork, learner.branch, {"README.md": "# I was here\n"}, author_email=learner.email
    )
    answer = learner.check()
    assert_says(
        answer,
        learner.heading("mistake", "commit"),
        learner.t(
            f"Your branch `{learner.branch}` changes `README.md`, a file that was already there",
            f"Votre branche `{learner.branch}` modifie `README.md`, un fichier qui existait déjà",
        ),
        f"`{learner.own_file}`",
    )
    learner.assert_still_at("commit")


def test_file_rewritten(learner: Learner) -> None:
    # A long shared file, present before the learner forks.
    original = "".join(f"participant {i}\n" for i in range(60))
    learner.world.commit(UPSTREAM, "main", {"participants/list.md": original})
    learner.walk_to("commit")
    # An editor that changed every line ending and the case: 60 lines removed, 60 added.
    rewritten = "".join(f"PARTICIPANT {i}\r\n" for i in range(60))
    learner.world.commit(
        learner.fork,
        learner.branch,
        {"participants/list.md": rewritten},
        author_email=learner.email,
    )
    answer = learner.check()
    assert_says(
        answer,
        learner.heading("mistake", "commit"),
        learner.t(
            "In `participants/list.md`, 120 lines changed, when only a few were expected.",
            "Dans `participants/list.md`, 120 lignes ont changé, alors que seules quelques-unes "
            "étaient attendues.",
        ),
        f"<{SITE}/{UPSTREAM}|{UPSTREAM}>",
        f"`{learner.branch}`",
    )
    learner.assert_still_at("commit")


def test_committed_on_default_branch(learner: Learner) -> None:
    learner.walk_to("commit")
    learner.world.commit(
        learner.fork, "main", {learner.own_file: "# Me\n"}, author_email=learner.email
    )
    answer = learner.check()
    assert_says(
        answer,
        learner.heading("mistake", "commit"),
        learner.t(
            f"Your commit went to `main` in your fork (now 1 commit(s) ahead of {UPSTREAM}), "
            f"not to your branch `{learner.branch}`.",
            f"Votre commit est allé sur `main` dans votre fork (qui a maintenant 1 commit(s) "
            f"d'avance sur {UPSTREAM}), et non sur votre branche `{learner.branch}`.",
        ),
        f"`add-{learner.login}-2`",
        f"<{SITE}/{learner.fork}|",
    )
    learner.assert_still_at("commit")


def test_author_not_linked_is_a_warning_and_the_learner_moves_on(learner: Learner) -> None:
    learner.walk_to("commit")
    learner.world.commit(
        learner.fork,
        learner.branch,
        {learner.own_file: "# Me\n"},
        author_email="me@laptop.local",
    )
    answer = learner.check()
    assert_says(
        answer,
        DONE[learner.lang].format(title=TITLES["commit"][learner.lang]),
        learner.heading("warning", "commit"),
        learner.t(
            "it's signed with the email `me@laptop.local`, which isn't linked to your GitHub "
            "account",
            "il est signé avec l'adresse `me@laptop.local`, qui n'est pas liée à votre compte "
            "GitHub",
        ),
        f"<{SITE}/settings/emails|",
        STEP_HEADING[learner.lang].format(n=5),
    )
    learner.assert_still_at("pull_request")


# =============================================================================== pull request


def test_no_pull_request(learner: Learner) -> None:
    learner.walk_to("pull_request")
    answer = learner.check("button")
    compare = f"{SITE}/{UPSTREAM}/compare/main...{learner.login}:{learner.branch}?expand=1"
    assert_says(
        answer,
        learner.heading("not_yet", "pull_request"),
        learner.t(
            f"I can't find a pull request from `{learner.fork}:{learner.branch}` to {UPSTREAM} "
            "yet.",
            f"Je ne trouve pas encore de pull request de `{learner.fork}:{learner.branch}` vers "
            f"{UPSTREAM}.",
        ),
        f"<{compare}|",
    )
    learner.assert_still_at("pull_request")


def test_pr_inside_fork(learner: Learner) -> None:
    learner.walk_to("pull_request")
    number = learner.world.open_pull(learner.fork, head=learner.branch, base="main")
    answer = learner.check("button")
    pr_url = f"{HTML_URL}/{learner.fork}/pull/{number}"
    assert_says(
        answer,
        learner.heading("mistake", "pull_request"),
        learner.t(
            f"proposes the change inside your own fork {learner.fork}, not to the shared "
            f"repository {UPSTREAM}",
            f"propose la modification à l'intérieur de votre propre fork {learner.fork}, et non "
            f"au dépôt partagé {UPSTREAM}",
        ),
        f"<{pr_url}|",
        f"{SITE}/{UPSTREAM}/compare/main...{learner.login}:{learner.branch}",
    )
    learner.assert_still_at("pull_request")


def test_pr_from_default_branch(learner: Learner) -> None:
    learner.walk_to("pull_request")
    learner.world.commit(learner.fork, "main", {"participants/x.md": "x\n"})
    number = learner.world.open_pull(UPSTREAM, head=f"{learner.login}:main", base="main")
    answer = learner.check("command")
    pr_url = f"{HTML_URL}/{UPSTREAM}/pull/{number}"
    assert_says(
        answer,
        learner.heading("mistake", "pull_request"),
        learner.t(
            f"starts from `main` in your fork, not from your branch `{learner.branch}`",
            f"part de `main` dans votre fork, et non de votre branche `{learner.branch}`",
        ),
        f"<{pr_url}|",
    )
    learner.assert_still_at("pull_request")


def test_pr_closed_unmerged(learner: Learner) -> None:
    learner.walk_to("pull_request")
    number = learner.world.open_pull(UPSTREAM, head=f"{learner.login}:{learner.branch}")
    learner.world.close_pull(UPSTREAM, number)
    answer = learner.check("dm")
    pr_url = f"{HTML_URL}/{UPSTREAM}/pull/{number}"
    assert_says(
        answer,
        learner.heading("mistake", "pull_request"),
        learner.t(
            "was closed without being merged. Nothing is lost",
            "a été fermée sans être fusionnée. Rien n'est perdu",
        ),
        f"<{pr_url}|",
        "*Reopen pull request*",
    )
    learner.assert_still_at("pull_request")


def test_pr_draft_is_a_warning_and_the_course_is_finished(learner: Learner) -> None:
    learner.walk_to("pull_request")
    number = learner.world.open_pull(UPSTREAM, head=f"{learner.login}:{learner.branch}", draft=True)
    answer = learner.check("button")
    pr_url = f"{HTML_URL}/{UPSTREAM}/pull/{number}"
    assert_says(
        answer,
        learner.heading("warning", "pull_request"),
        learner.t(
            "is open as a _draft_: that counts, well done!",
            "est ouverte en _brouillon_ (draft) : ça compte, bravo !",
        ),
        "*Ready for review*",
        f"<{pr_url}|",
        FINISHED[learner.lang],
    )
    assert learner.current_step() is None


def test_pr_conflicts_is_a_warning_and_the_course_is_finished(learner: Learner) -> None:
    learner.walk_to("pull_request")
    number = learner.world.open_pull(UPSTREAM, head=f"{learner.login}:{learner.branch}")
    learner.world.set_mergeable(UPSTREAM, number, False)
    answer = learner.check("command")
    pr_url = f"{HTML_URL}/{UPSTREAM}/pull/{number}"
    assert_says(
        answer,
        learner.heading("warning", "pull_request"),
        learner.t("has _conflicts_ with `main`", "a des _conflits_ avec `main`"),
        "*Resolve conflicts*",
        "`&lt;&lt;&lt;&lt;&lt;&lt;&lt;`",
        f"<{pr_url}|",
        FINISHED[learner.lang],
    )
    assert learner.current_step() is None


def test_after_a_mistake_the_right_thing_still_counts(learner: Learner) -> None:
    """A blocking mistake is not a dead end: fixing it on GitHub moves the learner on."""
    learner.walk_to("commit")
    learner.world.commit(learner.fork, learner.branch, {"README.md": "oops\n"})
    assert learner.heading("mistake", "commit") in learner.check().text
    learner.world.commit(
        learner.fork,
        learner.branch,
        {"README.md": "# Practice\n\nAdd yourself in participants/.\n", learner.own_file: "# Me\n"},
        author_email=learner.email,
    )
    answer = learner.check()
    assert DONE[learner.lang].format(title=TITLES["commit"][learner.lang]) in answer.text
    status = learner.status()
    assert LINKED_AS[learner.lang].format(login=learner.login) in status.text
    assert learner.current_step() == "pull_request"
