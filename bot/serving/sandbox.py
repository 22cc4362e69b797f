"""``python -m bot sandbox``: try the course with no account and no network.

The console session (:mod:`bot.serving.console`) runs against the tests' fake GitHub
(``tests/rig/fake_github.py``, imported from this clone and started on 127.0.0.1 for the
purpose), with a practice repository and a pretend account. The person plays the learner:
they talk to the bot as in Slack, and act "on GitHub" by typing ``github fork``,
``github commit main``… — the right actions and the usual mistakes — and see every step
and diagnosis, in English or French. What the staff channel would get is shown too.

Nothing is kept: the database and the simulated GitHub live in a temporary folder and in
memory. It is what staff need to preview a course they wrote (``--course``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.course.coach import Person

import importlib.util
import os
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

from bot.course.messages import Messages
from bot.serving.console import Session, console_renderer
from bot.serving.logs import configure_logging
from bot.settings import PROJECT_DIR, load_settings
from bot.storage.database import migrate
from bot.wiring import build

FAKE_GITHUB = PROJECT_DIR / "tests" / "rig" / "fake_github.py"
ORG, REPO = "cohort", "practice"
UPSTREAM = f"{ORG}/{REPO}"
LOGIN = "ada-lovelace"
EMAIL = "ada@example.org"
MAINTAINER = "grace-maintainer"  # merges pull requests when asked (github merge)
# Links in the bot's messages point here: a reserved name, so nobody follows them to a real
# repository by mistake.
PRETEND_WEB = "https://github.example"
STAFF_CHANNEL = "CSANDBOX0"
STAFF_CHANNEL_NAME = "prcoach-staff"  # how the sandbox shows it


def _load_fake() -> ModuleType:
    """The tests' fake GitHub, from this clone (it is not part of the installed package)."""
    if not FAKE_GITHUB.is_file():
        raise FileNotFoundError(FAKE_GITHUB)
    spec = importlib.util.spec_from_file_location("prcoach_sandbox_fake_github", FAKE_GITHUB)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while defining
    spec.loader.exec_module(module)
    return module


class PretendGitHub:
    """The learner's actions on the simulated GitHub, typed as ``github …`` lines."""

    def __init__(self, fake: Any, messages: Messages, files_path: str, default_branch: str):
        self.fake, self.world, self.m = fake, fake.world, messages
        self.login = LOGIN
        self.files_path = files_path  # participants/*.md: where the learner's file goes
        self.default_branch = default_branch
        self.pull: int | None = None

    # -- what the learner would do ---------------------------------------------------------

    def __call__(self, line: str, lang: str) -> str | None:
        words = line.split()
        if not words:
            return None
        first = words[0].lower()
        if first in ("actions", "github?"):
            return self.m("sandbox.actions", lang)
        if first not in ("github", "gh"):
            return None
        args = [w.lower() for w in words[1:]]
        try:
            return self._act(args, words[1:], lang)
        except ValueError as refusal:
            return self.m("sandbox.refused", lang, why=str(refusal))

    def _done(self, lang: str, key: str, **facts: object) -> str:
        return self.m("sandbox.done", lang, what=self.m(f"sandbox.did.{key}", lang, **facts))

    def _act(self, args: list[str], raw: list[str], lang: str) -> str:
        action = args[0] if args else ""
        variant = args[1] if len(args) > 1 else ""
        if action == "":
            return self.m("sandbox.state", lang, lines=self.state())
        if action == "account" and len(raw) > 1:
            if self.world.find_user(raw[1]) is not None:
                raise ValueError(self.m("sandbox.taken", lang))
            self.world.add_user(raw[1])
            return self._done(lang, "account", login=raw[1])
        if action == "fork":
            owner = self.login
            if variant == "org":
                owner = f"{self.login}-org"
                if self.world.find_user(owner) is None:
                    self.world.add_org(owner, members=[self.login])
            fork = self.world.fork(UPSTREAM, owner=owner)
            return self._done(lang, "fork", repo=UPSTREAM, fork=fork)
        if action == "branch":
            repo = UPSTREAM if variant == "upstream" else self._fork(lang)
            self.world.create_branch(repo, self.branch)
            return self._done(lang, "branch", branch=self.branch, repo=repo)
        if action == "commit":
            return self._commit(variant, lang)
        if action == "pr":
            return self._pull(variant, lang)
        if action in ("close", "reopen", "merge"):
            if self.pull is None:
                raise ValueError(self.m("sandbox.no_pr", lang))
            if action == "close":
                self.world.close_pull(UPSTREAM, self.pull)
            elif action == "reopen":
                self.world.reopen_pull(UPSTREAM, self.pull)
            else:
                self.world.merge_pull(UPSTREAM, self.pull, by=MAINTAINER)
            return self._done(lang, action, number=self.pull)
        return self.m("sandbox.unknown", lang)

    @property
    def branch(self) -> str:
        return f"add-{self.login}"

    def _fork(self, lang: str) -> str:
        fork = self.world.find_repo(self.login, REPO)
        if fork is None:
            raise ValueError(self.m("sandbox.no_fork", lang))
        return fork.full_name

    def _commit(self, variant: str, lang: str) -> str:
        repo = self._fork(lang)
        fork = self.world.find_repo(self.login, REPO)
        branch = self.default_branch if variant == "main" else self.branch
        if branch not in fork.branches:
            raise ValueError(self.m("sandbox.no_branch", lang))
        path = self.files_path.replace("*", self.login)
        if variant == "wrong":
            path = f"{self.login}.md"  # at the root, not in participants/
        sha = self.world.commit(
            repo,
            branch,
            {path: f"# {self.login}\n\nHello! I'm learning to contribute.\n"},
            message=f"Add {self.login}",
            author_email=EMAIL,
        )
        return self._done(lang, "commit", sha=sha[:7], repo=repo, branch=branch, path=path)

    def _pull(self, variant: str, lang: str) -> str:
        repo = self._fork(lang)
        if variant == "fork":
            # Inside the fork: from the branch to the fork's own main.
            number = self.world.open_pull(
                repo, head=self.branch, base=self.default_branch, user=self.login
            )
            return self._done(lang, "pr", number=number, repo=repo, head=self.branch)
        branch = self.default_branch if variant == "main" else self.branch
        head = f"{self.login}:{branch}"
        self.pull = self.world.open_pull(
            UPSTREAM,
            head=head,
            base=self.default_branch,
            title=f"Add {self.login}",
            draft=variant == "draft",
            user=self.login,
        )
        return self._done(lang, "pr", number=self.pull, repo=UPSTREAM, head=head)

    def state(self) -> str:
        lines = []
        for repo in sorted(self.world.repos.values(), key=lambda repo: repo.full_name):
            branches = ", ".join(sorted(repo.branches))
            lines.append(f"  {repo.full_name}{' (fork)' if repo.fork else ''}: {branches}")
            for pull in self.world.pulls_of(repo):
                state = "merged" if pull.merged else "draft" if pull.draft else pull.state
                lines.append(f"    #{pull.number} {pull.head_label} → {pull.base_ref} ({state})")
        return "\n".join(lines)


def run_sandbox(
    *,
    language: str = "en",
    course_file: str | None = None,
    require_merge: bool = False,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
) -> int:
    try:
        fake_github = _load_fake()
    except FileNotFoundError:
        print(
            "The sandbox needs a clone of PR Coach's repository: it runs the tests' simulated "
            f"GitHub ({FAKE_GITHUB.relative_to(PROJECT_DIR)}), which is not installed with the "
            "package.",
            file=sys.stderr,
        )
        return 2
    # The simulated GitHub is on this machine: never through a proxy, whatever is configured.
    for name in ("NO_PROXY", "no_proxy"):
        os.environ[name] = ",".join(filter(None, [os.environ.get(name), "127.0.0.1", "localhost"]))
    folder = Path(tempfile.mkdtemp(prefix="prcoach-sandbox-"))
    configure_logging("INFO", file=folder / "sandbox.log")  # out of the conversation
    with fake_github.FakeGitHub() as fake:
        world = fake.world
        world.add_user(fake.token_user)
        world.add_org(ORG, name="The cohort")
        world.add_repo(
            ORG,
            REPO,
            default_branch="main",
            files={
                "README.md": "# Practice\n\nAdd a file about yourself in participants/.\n",
                "participants/README.md": "One file per participant.\n",
            },
        )
        world.add_user(LOGIN, name="Ada Lovelace", email=EMAIL)
        world.add_user(MAINTAINER)
        world.set_permission(UPSTREAM, MAINTAINER, "maintain")
        environ = {
            "GITHUB_TOKEN": "sandbox",
            "GITHUB_API_URL": fake.url,
            "GITHUB_URL": PRETEND_WEB,
            "PRACTICE_REPO": UPSTREAM,
            "DATABASE_URL": f"sqlite:///{folder / 'sandbox.db'}",
            "DEFAULT_LANGUAGE": language,
            "STAFF_CHANNEL": STAFF_CHANNEL,
            "REQUIRE_MERGE": "true" if require_merge else "false",
            "GITHUB_TIMEOUT": "5",
            **({"COURSE_FILE": course_file} if course_file else {}),
        }
        settings = load_settings(environ, env_file=None, need_slack=False)
        migrate(settings.database_url)
        parts = build(settings)
        renderer = console_renderer(parts, stdout, STAFF_CHANNEL_NAME)
        commit_step = parts.services.renderer.course.step_with_check("commit_on_branch")
        pattern = str(commit_step.params.get("path_pattern", "")) if commit_step else ""
        pretend = PretendGitHub(fake, renderer.messages, pattern or "participants/*.md", "main")
        session = Session(
            parts,
            renderer,
            language=language,
            stdin=stdin,
            stdout=stdout,
            files=folder,
            extra=pretend,
            show_staff_channel=True,
            person=_sandbox_person(),
        )
        intro = renderer._t(renderer.messages("sandbox.intro", language, login=LOGIN))
        actions = renderer.messages("sandbox.actions", language)
        return session.run([intro, actions])


def _sandbox_person() -> Person:
    from bot.course.coach import Person

    return Person("sandbox", "you")
