"""The funnel chart: a real PNG of a fixed size, drawn without pyplot, that shows the funnel."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import warnings
from datetime import UTC, datetime, timedelta

import pytest

from bot.course.course import DEFAULT_COURSE, Course, load_course
from bot.course.glossary import load_glossary
from bot.course.learner import Learner
from bot.course.reports import Report, build_report
from bot.slack.views.chart import HEIGHT, WIDTH, funnel_chart
from tests.rig.bot_process import REPO_ROOT

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
NOW = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)


def default_course() -> Course:
    glossary = load_glossary()
    return load_course(DEFAULT_COURSE, include_optional=False, glossary_terms=glossary.ids)


@pytest.fixture(scope="module")
def course() -> Course:
    return default_course()


def report_of(course: Course, positions: list[int]) -> Report:
    """One learner per position: 1-based step, or len(steps) + 1 for finished."""
    steps = course.steps
    learners = [
        Learner(
            id=index,
            team_id="T0001",
            slack_user_id=f"UCH{index:05d}",
            language="en",
            current_step=steps[min(position, len(steps)) - 1].id,
            created_at=NOW - timedelta(days=9),
            step_started_at=NOW - timedelta(days=1),
            last_activity_at=NOW - timedelta(days=1),
            finished_at=NOW - timedelta(hours=1) if position > len(steps) else None,
        )
        for index, position in enumerate(positions, start=1)
    ]
    return build_report(course, learners, {}, now=NOW, stuck_after=timedelta(days=3))


def png_size(png: bytes) -> tuple[int, int]:
    assert png[12:16] == b"IHDR"
    return struct.unpack(">II", png[16:24])


def test_the_chart_is_a_small_png_of_a_fixed_size(course: Course) -> None:
    png = funnel_chart(report_of(course, [1, 2, 2, 3, 5, 6, 6]), "en", "Where the cohort is")
    assert png.startswith(PNG_MAGIC)
    assert png_size(png) == (WIDTH, HEIGHT) == (800, 400)
    assert len(png) < 100_000


def test_the_same_funnel_gives_the_same_bytes_and_another_funnel_other_bytes(
    course: Course,
) -> None:
    one = funnel_chart(report_of(course, [1, 2, 3]), "en", "Where the cohort is")
    assert funnel_chart(report_of(course, [1, 2, 3]), "en", "Where the cohort is") == one
    assert funnel_chart(report_of(course, [1, 2, 6]), "en", "Where the cohort is") != one


def test_the_words_follow_the_language(course: Course) -> None:
    report = report_of(course, [1, 4, 6])
    english = funnel_chart(report, "en", "Cohort")
    french = funnel_chart(report, "fr", "Cohort")
    assert english.startswith(PNG_MAGIC) and french.startswith(PNG_MAGIC)
    assert english != french  # step titles, "Finished"/"Terminé", the axis


@pytest.mark.parametrize("positions", [[], [1], [6, 6, 6]], ids=["nobody", "one", "all done"])
def test_edge_cohorts_still_draw(course: Course, positions: list[int]) -> None:
    png = funnel_chart(report_of(course, positions), "fr", "Où en est la promotion")
    assert png_size(png) == (800, 400)


def test_a_long_title_keeps_the_size_and_the_bars(course: Course) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. "constrained_layout not applied"
        png = funnel_chart(report_of(course, [2, 3]), "en", "A very long title " * 12)
    assert png_size(png) == (800, 400)


def test_the_drawing_library_is_imported_only_when_drawing() -> None:
    # In a fresh interpreter: another test importing PIL must not hide a regression. The
    # worker imports the digest at start; the drawing library waits for a chart to draw.
    program = (
        "import sys\n"
        "import bot.serving.worker\n"
        "import bot.slack.views.chart\n"
        "assert 'PIL' not in sys.modules, 'PIL was imported before drawing'\n"
        "from tests.slack.views.test_chart import default_course, report_of\n"
        "from bot.slack.views.chart import funnel_chart\n"
        "png = funnel_chart(report_of(default_course(), [1, 2]), 'en', 't')\n"
        "assert png.startswith(b'\\x89PNG')\n"
        "assert 'PIL' in sys.modules and 'matplotlib' not in sys.modules\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_the_bars_are_drawn_to_scale(course: Course) -> None:
    """The picture itself: the finished bar (green) is as long as its count says."""
    from PIL import Image

    png = funnel_chart(report_of(course, [1, 6, 6, 6]), "en", "t")
    image = Image.open(io.BytesIO(png)).convert("RGB")

    def green_run(y: int) -> int:
        return sum(1 for x in range(WIDTH) if image.getpixel((x, y)) == (0x2E, 0x7D, 0x32))

    finished_row = max(range(HEIGHT), key=green_run)
    assert green_run(finished_row) > 0
    blue = [
        sum(1 for x in range(WIDTH) if image.getpixel((x, y)) == (0x1F, 0x3B, 0x73))
        for y in range(HEIGHT)
    ]
    # 4 people reached step 1, 3 finished: the longest blue bar is 4/3 of the green one.
    assert abs(max(blue) / green_run(finished_row) - 4 / 3) < 0.05


def test_the_font_has_every_letter_of_the_chart_in_both_languages(course: Course) -> None:
    """A missing glyph draws a box ("Cr□er une branche"): every character the chart writes,
    in French and English, must be in the shipped font."""
    from bot.course.messages import load_messages
    from bot.slack.views.chart import _font

    messages = load_messages()
    texts = [
        *(step.title(lang) for step in course.steps for lang in ("en", "fr")),
        *(messages(key, lang) for key in ("chart.finished", "chart.axis", "digest.chart_title")
          for lang in ("en", "fr")),
        "0123456789 · … – — « » ’",
    ]  # fmt: skip
    for font in (_font(13), _font(18, bold=True)):
        missing = bytes(font.getmask("\U0010fffd"))
        for char in sorted({c for text in texts for c in text if not c.isspace()}):
            assert bytes(font.getmask(char)) != missing, f"{char!r} (U+{ord(char):04X})"
