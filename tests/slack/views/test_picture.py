"""The picture of where a learner is: a real PNG for every step and language, with the
learner's own names in its text alternative; accents drawn with the bundled font."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from bot.course.course import DEFAULT_COURSE, load_course
from bot.course.facts import Site
from bot.course.glossary import load_glossary
from bot.course.learner import Learner
from bot.course.messages import load_messages
from bot.picture import FONTS, HEIGHT, WIDTH
from bot.slack.views.render import Renderer
from tests.rig.bot_process import REPO_ROOT

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
NOW = datetime(2026, 12, 5, 9, tzinfo=UTC)
STEPS = ["link", "fork", "branch", "commit", "pull_request", "finished"]


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    glossary = load_glossary()
    course = load_course(DEFAULT_COURSE, glossary_terms=glossary.ids)
    return Renderer(course, glossary, load_messages(), Site("https://github.com", "eig/practice"))


def learner_at(step: str, language: str) -> Learner:
    """Hélène, with what the checks had learned by the time she reached ``step``."""
    order = STEPS.index(step)
    facts: dict[str, object] = {}
    if order > 1:
        facts |= {"fork": "helene-dupre/practice", "default_branch": "main"}
    if order > 2:
        facts["branch"] = "add-helene-dupre"
    if order > 4:
        facts |= {"pr_number": 12, "pr_url": "https://github.com/eig/practice/pull/12"}
    return Learner(
        id=1,
        team_id="T1",
        slack_user_id="U1",
        language=language,
        current_step=step if step != "finished" else "pull_request",
        created_at=NOW,
        step_started_at=NOW,
        last_activity_at=NOW,
        github_login="helene-dupre" if order else None,
        facts=facts,
        name="Hélène Dupré",
        finished_at=NOW if step == "finished" else None,
    )


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_MAGIC
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("step", STEPS)
def test_a_picture_for_every_step_and_language(
    renderer: Renderer, step: str, language: str
) -> None:
    picture = renderer.picture(learner_at(step, language), language)
    assert png_size(picture.png) == (WIDTH, HEIGHT)
    assert 5_000 < len(picture.png) < 300_000  # a real drawing, small enough for Slack
    from PIL import Image

    image = Image.open(io.BytesIO(picture.png))
    image.verify()  # a complete, valid PNG
    alt = picture.alt_text
    assert len(alt) <= 1000 and "eig/practice" in alt and "Hélène Dupré" in alt
    if step != "link":
        assert "helene-dupre" in alt
    if STEPS.index(step) > 2:
        assert "add-helene-dupre" in alt and "helene-dupre/practice" in alt
    if step == "finished":
        assert "#12" in alt
    done, later = ("done", "later") if language == "en" else ("fait", "plus tard")
    assert done in alt  # the practice repository is always there
    if step in ("link", "fork", "branch", "commit"):
        assert later in alt  # the pull request is for later
    assert picture.title.startswith("Where you are" if language == "en" else "Où vous en êtes")


def test_the_next_part_is_said_in_words_not_only_in_colour(renderer: Renderer) -> None:
    scene = renderer.scene(learner_at("branch", "fr"), "fr")
    states = [(part.label, part.state_label) for part in scene.parts]
    assert states == [
        ("Dépôt d'entraînement", "fait"),
        ("Votre copie (fork)", "fait"),
        ("Votre branche", "à faire"),
        ("Votre commit", "plus tard"),
        ("Votre pull request", "plus tard"),
    ]


def test_the_bundled_font_has_french_accents_and_its_licence() -> None:
    from PIL import ImageFont

    font = ImageFont.truetype(str(FONTS / "DejaVuSans.ttf"), 20)
    # A missing glyph would draw the same empty box for every letter.
    boxes = {font.getmask(letter).getbbox() for letter in "éèêàçôÉ"}
    assert len(boxes) > 1 and None not in boxes
    assert (FONTS / "LICENSE-DejaVu.txt").read_text().count("Bitstream") > 2


def test_pillow_is_imported_only_when_a_picture_is_drawn() -> None:
    code = "import bot.slack.views.render, bot.picture, sys; print('PIL' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, check=True
    )
    assert out.stdout.strip() == "False"
