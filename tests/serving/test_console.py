"""``python -m bot console``: the same coach in a terminal, against the (fake) GitHub.

The console runs as a real subprocess with only the settings it needs (no Slack ones).
"""

from __future__ import annotations

import os
import re
import selectors
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.rig.fake_github import FakeGitHub

LOGIN = "Ada-L"
FORK = f"{LOGIN}/practice"
BRANCH = "add-ada"


def console_env(fake_github: FakeGitHub, tmp_path: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "TMPDIR": str(tmp_path),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "GITHUB_API_URL": fake_github.url,
        "PRACTICE_REPO": "eig/practice",
        "GITHUB_TOKEN": "x",
    }


def console_command(tmp_path: Path, *args: str) -> list[str]:
    database = f"sqlite:///{tmp_path / 'console.db'}"
    return [sys.executable, "-m", "bot", "console", "--database", database, *args]


def run_console(
    fake_github: FakeGitHub, tmp_path: Path, lines: list[str], *args: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        console_command(tmp_path, *args),
        input="".join(f"{line}\n" for line in lines),
        env=console_env(fake_github, tmp_path),
        cwd=tmp_path,  # no .env file here
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )


@pytest.fixture
def ada(fake_github: FakeGitHub) -> str:
    fake_github.world.add_user(LOGIN, email="ada@example.org")
    return LOGIN


def fork(fake_github: FakeGitHub) -> None:
    fake_github.world.fork("eig/practice", owner=LOGIN)


def branch(fake_github: FakeGitHub) -> None:
    fake_github.world.create_branch(FORK, BRANCH)


def commit(fake_github: FakeGitHub) -> None:
    fake_github.world.commit(
        FORK,
        BRANCH,
        {f"participants/{LOGIN}.md": "# Ada\nHello!\n"},
        author_email="ada@example.org",
    )


def open_pull(fake_github: FakeGitHub) -> None:
    fake_github.world.open_pull("eig/practice", head=f"{LOGIN}:{BRANCH}", base="main")


@pytest.fixture
def everything_done(fake_github: FakeGitHub, ada: str) -> None:
    """Stdin is written at once: the world is ready for every check beforehand."""
    for change in (fork, branch, commit, open_pull):
        change(fake_github)


def in_order(transcript: str, *parts: str) -> None:
    position = 0
    for part in parts:
        found = transcript.find(part, position)
        assert found >= 0, f"{part!r} missing after position {position}:\n{transcript}"
        position = found + len(part)


def assert_plain_links(transcript: str) -> None:
    """Slack's <url|label> links are shown as "label (url)" in a terminal."""
    assert not re.search(r"<https?://", transcript), transcript
    assert "&lt;" not in transcript and "&amp;" not in transcript


def test_the_whole_course_in_english(
    fake_github: FakeGitHub, tmp_path: Path, everything_done: None
) -> None:
    result = run_console(
        fake_github,
        tmp_path,
        ["ada-l", "yes", "check", "check", "check", "check", "where am I", "quit"],
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    out, gh = result.stdout, fake_github.url
    in_order(
        out,
        "Hello, I'm PR Coach.",  # the course's *bold* is not shown as asterisks
        "Step 1 of 5: Connect your GitHub account",
        "→ type: check · how · I'm stuck · what is a fork? · where am I · help · quit",
        "Done: Connect your GitHub account.",
        "Step 2 of 5: Make your own copy (fork)",
        "Done: Make your own copy (fork).",
        "Step 3 of 5: Create a branch",
        "Done: Create a branch.",
        "Step 4 of 5: Add your presentation",
        "Done: Add your presentation.",
        "Step 5 of 5: Open your pull request",
        "Done: Open your pull request.",
        "Congratulations, you've finished the course! 🎉",
        "Your progress",
        "GitHub account: Ada-L",
    )
    assert f"practice repository eig/practice ({gh}/eig/practice)" in out
    assert f"GitHub's sign-up page ({gh}/signup)" in out
    assert f"open this page ({gh}/eig/practice/fork)" in out
    assert f"Your fork {FORK} ({gh}/{FORK}) is ready" in out
    assert_plain_links(out)


def test_the_whole_course_in_french(
    fake_github: FakeGitHub, tmp_path: Path, everything_done: None
) -> None:
    lines = [
        "ada-l",
        "oui",
        "vérifier",
        "c'est fait",
        "Verifier",
        "C’EST FAIT !!",
        "où j'en suis ?",
    ]
    result = run_console(fake_github, tmp_path, [*lines, "quitter"], "--lang", "fr")
    assert result.returncode == 0, result.stderr
    out, gh = result.stdout, fake_github.url
    in_order(
        out,
        "Bonjour, je suis PR Coach",
        "Étape 1 sur 5 : Relier votre compte GitHub",
        "→ écrivez : vérifier · comment · je suis bloqué·e · c'est quoi un fork ? · où j'en suis",
        "Étape terminée : « Relier votre compte GitHub ».",
        "Étape 2 sur 5 : Faire votre propre copie (fork)",
        "Étape terminée : « Faire votre propre copie (fork) ».",
        "Étape 3 sur 5 : Créer une branche",
        "Étape terminée : « Créer une branche ».",
        "Étape 4 sur 5 : Ajouter votre présentation",
        "Étape terminée : « Ajouter votre présentation ».",
        "Étape 5 sur 5 : Ouvrir votre pull request",
        "Étape terminée : « Ouvrir votre pull request ».",
        "Bravo, vous avez terminé le parcours ! 🎉",
        "Votre progression",
        "Compte GitHub : Ada-L",
    )
    assert f"dépôt d'entraînement eig/practice ({gh}/eig/practice)" in out
    assert f"la page d'inscription de GitHub ({gh}/signup)" in out
    assert "Step 1 of 5" not in out and "Done:" not in out
    assert_plain_links(out)
    # The picture Slack would show: a PNG file, and what it shows in words.
    pictures = re.findall(r"\[Où vous en êtes — Ada-L: (/\S+\.png)\]", out)
    assert len(pictures) == 5  # one per step done
    assert Path(pictures[-1]).read_bytes().startswith(b"\x89PNG")
    assert "[Schéma. Où vous en êtes — Ada-L." in out


def test_a_fresh_temporary_database_is_used_without_database_option(
    fake_github: FakeGitHub, tmp_path: Path, ada: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "console"],
        input="ada-l\nyes\nquit\n",
        env=console_env(fake_github, tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Step 2 of 5: Make your own copy (fork)" in result.stdout
    assert list(tmp_path.glob("prcoach-*/console.db"))


# -- interactive: the world changes between two lines ------------------------------------------


class Console:
    """A console subprocess driven line by line: send a line, read up to the next prompt."""

    PROMPT = b"\n> "

    def __init__(self, command: list[str], env: dict[str, str], cwd: Path) -> None:
        self.stderr = (cwd / "console.stderr").open("wb")
        self.process = subprocess.Popen(
            command, env=env, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self.stderr,
        )  # fmt: skip
        assert self.process.stdout is not None
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.process.stdout, selectors.EVENT_READ)

    def read(self, timeout: float = 60) -> str:
        assert self.process.stdout is not None
        deadline, data = time.monotonic() + timeout, b""
        while not data.endswith(self.PROMPT):
            left = deadline - time.monotonic()
            assert left > 0, f"no prompt after {timeout}s; got:\n{data.decode()}"
            if self.selector.select(left):
                chunk = os.read(self.process.stdout.fileno(), 65536)
                assert chunk, f"the console stopped; got:\n{data.decode()}"
                data += chunk
        return data.decode("utf-8")

    def say(self, line: str) -> str:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{line}\n".encode())
        self.process.stdin.flush()
        return self.read()

    def close(self) -> int:
        assert self.process.stdin is not None
        self.process.stdin.write(b"quit\n")
        self.process.stdin.close()
        code = self.process.wait(timeout=30)
        self.selector.close()
        self.stderr.close()
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.stderr.close()


def test_checks_follow_the_world_between_lines(
    fake_github: FakeGitHub, tmp_path: Path, ada: str
) -> None:
    console = Console(console_command(tmp_path), console_env(fake_github, tmp_path), tmp_path)
    try:
        assert "Step 1 of 5: Connect your GitHub account" in console.read()
        assert "GitHub account" in console.say("help")
        answer = console.say("ada_l")
        assert "Almost there, one thing to fix: Connect your GitHub account." in answer
        assert "`ada_l` can't be a GitHub login" in answer
        assert "Is this you?" in console.say("ada-l")
        assert "Step 2 of 5: Make your own copy (fork)" in console.say("yes")

        for title, change, following in [
            ("Make your own copy (fork)", fork, "Step 3 of 5: Create a branch"),
            ("Create a branch", branch, "Step 4 of 5: Add your presentation"),
            ("Add your presentation", commit, "Step 5 of 5: Open your pull request"),
            ("Open your pull request", open_pull, "Congratulations, you've finished the course!"),
        ]:
            assert f"Not yet: {title}." in console.say("check")
            change(fake_github)
            answer = console.say("check")
            assert f"Done: {title}." in answer and following in answer
            assert_plain_links(answer)

        # No buttons in a terminal: typing restart is the confirmation.
        answer = console.say("restart")
        in_order(answer, "The course starts over.", "Step 2 of 5: Make your own copy (fork)")
        assert "Done: Make your own copy (fork)." in console.say("check")
        assert console.close() == 0
    finally:
        console.kill()
    assert "Traceback" not in (tmp_path / "console.stderr").read_text(encoding="utf-8")


# -- the console's own views: each header and congratulation once, no log line, no untruth ----


def test_each_header_and_congratulation_once_and_no_log_line(
    fake_github: FakeGitHub, tmp_path: Path, everything_done: None
) -> None:
    env = {**console_env(fake_github, tmp_path), "STAFF_CHANNEL": "CSTAFF01", "LOG_LEVEL": "DEBUG"}
    result = subprocess.run(
        console_command(tmp_path),
        input="ada-l\nyes\nhard\nThe login was hard to find\ncheck\ncheck\ncheck\ncheck\n"
        "I'm stuck\nquit\n",
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    # The learner's picture is a file, described on a line in brackets (not a header).
    out = "\n".join(line for line in result.stdout.splitlines() if not line.startswith("["))
    for heading in (f"Step {n} of 5:" for n in range(1, 6)):
        assert out.count(heading) == 1, heading  # the progress line does not repeat it
    assert out.count("Congratulations") == 1
    assert "You did it: the course is complete." not in out  # one congratulation, not two
    # The console has no staff channel: nobody was told, and the learner is not told otherwise.
    assert "I have told the mentors" not in out and "let a mentor know" not in out
    assert "You can also ask a mentor of your cohort directly." in out
    # Logs (DEBUG here) go to a file, never into the conversation or the terminal.
    for trace in (" INFO ", " DEBUG ", '"level"', '"logger"'):  # text or JSON log lines
        assert trace not in result.stdout + result.stderr, trace
    assert "<" not in out.replace("<login>", "").replace("<word>", "")  # no Slack markup
    # "How did this step feel?" answered by typing, then one sentence.
    assert "Noted: Hard for “Connect your GitHub account”" in out
    assert result.stdout.count("where-you-are-") >= 5  # the picture, as a file each time
