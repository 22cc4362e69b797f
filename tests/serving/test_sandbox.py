"""``python -m bot sandbox``: the whole course in a terminal against the tests' fake GitHub,
started for the purpose; the person plays the learner's actions and mistakes by typing.

Run as a newcomer would: a subprocess, no settings at all, no network but 127.0.0.1.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

STEPS = {
    "en": [
        "Step 1 of 6: Connect your GitHub account",
        "Step 2 of 6: Make your own copy (fork)",
        "Step 3 of 6: Create a branch",
        "Step 4 of 6: Add your presentation",
        "Step 5 of 6: Open your pull request",
        "Step 6 of 6:",
    ],
    "fr": [
        "Étape 1 sur 6 : Relier votre compte GitHub",
        "Étape 2 sur 6 : Faire votre propre copie (fork)",
        "Étape 3 sur 6 : Créer une branche",
        "Étape 4 sur 6 : Ajouter votre présentation",
        "Étape 5 sur 6 : Ouvrir votre pull request",
        "Étape 6 sur 6 :",
    ],
}
CHECK = {"en": "check", "fr": "vérifier"}
YES = {"en": "yes", "fr": "oui"}
# Each mistake a learner makes, and the words of its diagnosis.
MISTAKES = {
    "en": [
        "I found a fork, ada-lovelace-org/practice",
        "but in the shared repository cohort/practice, not in your fork",
        "Your commit went to `main` in your fork",
        "proposes the change inside your own fork",
        "is open as a draft",
        "Congratulations, you've finished the course!",
    ],
    "fr": [
        "ada-lovelace-org/practice",
        "dans le dépôt partagé cohort/practice",
        "Votre commit est allé sur `main`",
        "à l'intérieur de votre propre fork",
        "brouillon",
        "Bravo, vous avez terminé le parcours !",
    ],
}


def sandbox(tmp_path: Path, lines: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "TMPDIR": str(tmp_path),
        "LANG": "C.UTF-8",
        # A proxy that does not exist: the sandbox must never need one (no network).
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", "sandbox", *args],
        input="".join(f"{line}\n" for line in lines),
        env=env,
        cwd=tmp_path,  # no .env here, and none is needed
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=180,
    )


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_whole_course_with_the_usual_mistakes(tmp_path: Path, lang: str) -> None:
    check = CHECK[lang]
    lines = [
        "grace-nobody",  # an account that does not exist
        "ada-lovelace",
        YES[lang],  # Is this you?
        "github fork org", check,  # forked into an organisation
        "github fork", check,
        "github branch upstream", check,  # the branch in the shared repository
        "github branch", check,
        "github commit main", check,  # committed on main
        "github commit", check,
        "github pr fork", check,  # a pull request inside the fork
        "github pr draft", check,  # a draft: done, with a word about it
        "github merge", check,
        "quit",
    ]  # fmt: skip
    result = sandbox(tmp_path, lines, "--merge", "--lang", lang)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    out = result.stdout
    position = 0
    for expected in [*STEPS[lang][:5], *MISTAKES[lang]]:
        found = out.find(expected)
        assert found >= 0, f"{expected!r} missing:\n{out}"
    for heading in STEPS[lang]:
        assert heading in out[position:], heading
        position = out.index(heading, position)
    assert "grace-nobody" in out  # the account not found is named
    assert '"level"' not in out and " INFO " not in out and result.stderr == ""


def test_stuck_shows_what_the_staff_channel_gets(tmp_path: Path) -> None:
    result = sandbox(tmp_path, ["ada-lovelace", "yes", "I'm stuck", "quit"])
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "I have told the mentors in #prcoach-staff" in out
    assert "── In the staff channel ──" in out
    assert "is stuck at step 2 of 5: Make your own copy (fork)." in out


def test_a_staff_written_course_is_previewed(tmp_path: Path) -> None:
    course = tmp_path / "course.yaml"
    course.write_text("not: a course\n")
    result = sandbox(tmp_path, ["quit"], "--course", str(course))
    assert result.returncode == 2
    assert f"{course}" in result.stderr and "Traceback" not in result.stderr


def test_staff_commands_in_the_console(tmp_path: Path) -> None:
    lines = [
        "ada-lovelace",
        "yes",
        "/prcoach report",
        "/prcoach digest now",
        "/prcoach nudge x",
        "quit",
    ]
    result = sandbox(tmp_path, lines)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Cohort report" in out and "1. Connect your GitHub account:" in out
    assert "ada-lovelace (https://github.example/ada-lovelace)" in out
    saved = [line for line in out.splitlines() if "prcoach-funnel.png" in line]
    assert saved, out
    png = Path(saved[0].split("Saved as ", 1)[1].rstrip("."))
    assert png.read_bytes().startswith(b"\x89PNG")
    assert "use it in Slack" in out  # nudge acts on Slack people
