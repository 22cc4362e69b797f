"""The cohort's funnel as a picture, drawn on the server: a PNG of horizontal bars.

One bar per step (how many people got at least that far) and one for those who finished,
step titles in the reader's language, and the count written beside every bar, so the chart
reads without colour. Drawn with Pillow (a few MB, imported only when drawing; the previous
chart library weighed 169 MB) and the fonts shipped in ``bot/picture/fonts``: no global state,
safe in a worker thread. Always 800×400 pixels, a few dozen KB, the same bytes for the same
funnel.
"""

from __future__ import annotations

import io
from functools import cache
from typing import TYPE_CHECKING

from bot.course.messages import Messages, load_messages
from bot.course.reports import Report

if TYPE_CHECKING:
    from PIL.ImageDraw import ImageDraw
    from PIL.ImageFont import FreeTypeFont, ImageFont

WIDTH, HEIGHT = 800, 400
BACKGROUND = "#ffffff"
STEP_COLOUR = "#1f3b73"  # the Slack app's colour (manifest.yml)
FINISHED_COLOUR = "#2e7d32"
TEXT_COLOUR = "#1a1a1a"
GRID_COLOUR = "#d0d4dc"
LABEL_LIMIT = 40  # characters of a step title beside its bar
TITLE_LIMIT = 70  # characters of the title
MARGIN = 20
LABELS_WIDTH = 300  # pixels for the step titles, left of the bars
TOP = 56  # below the title
BOTTOM = 44  # room for the axis and its caption


@cache
def _builtin_messages() -> Messages:
    return load_messages()


def _short(text: str, limit: int = LABEL_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@cache
def _font(size: int, bold: bool = False) -> FreeTypeFont | ImageFont:
    from PIL import ImageFont

    from bot.picture import FONTS

    # The fonts shipped with the learner's picture (DejaVu Sans: French accents included), not
    # the system's: the same drawing on every machine, and none is needed on the server.
    return ImageFont.truetype(str(FONTS / f"DejaVuSans{'-Bold' if bold else ''}.ttf"), size)


def _fit(draw: ImageDraw, text: str, font: FreeTypeFont | ImageFont, width: float) -> str:
    """``text``, shortened with "…" until it fits in ``width`` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _ticks(most: int) -> list[int]:
    """A few round, whole numbers from 0 to at least ``most``."""
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000):
        if most / step <= 6:
            return list(range(0, most + step, step))
    step = 10 ** len(str(most))
    return [0, step]


def funnel_chart(
    report: Report, lang: str, title: str, *, messages: Messages | None = None
) -> bytes:
    """The funnel of ``report`` as PNG bytes, with words in ``lang``."""
    from PIL import Image, ImageDraw

    m = messages or _builtin_messages()
    labels = [
        _short(f"{index}. {stage.step.title(lang)}")
        for index, stage in enumerate(report.funnel, start=1)
    ]
    labels.append(m("chart.finished", lang))
    counts = [stage.reached for stage in report.funnel] + [report.finished]
    colours = [STEP_COLOUR] * len(report.funnel) + [FINISHED_COLOUR]

    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    text_font, title_font = _font(13), _font(18, bold=True)
    draw.text(
        (MARGIN, MARGIN),
        _fit(draw, _short(title, TITLE_LIMIT), title_font, WIDTH - 2 * MARGIN),
        font=title_font,
        fill=TEXT_COLOUR,
    )

    left, right = MARGIN + LABELS_WIDTH, WIDTH - MARGIN - 40  # room for the last count
    axis_y = HEIGHT - BOTTOM
    ticks = _ticks(max([*counts, 1]))
    scale = (right - left) / ticks[-1]
    for tick in ticks:  # the grid, behind the bars
        x = left + tick * scale
        draw.line([(x, TOP), (x, axis_y)], fill=GRID_COLOUR)
        draw.text((x, axis_y + 4), str(tick), font=text_font, fill=TEXT_COLOUR, anchor="ma")
    draw.line([(left, TOP), (left, axis_y)], fill=TEXT_COLOUR)
    draw.line([(left, axis_y), (right, axis_y)], fill=TEXT_COLOUR)
    caption = m("chart.axis", lang)
    draw.text(
        ((left + right) / 2, HEIGHT - 4), caption, font=text_font, fill=TEXT_COLOUR, anchor="md"
    )

    row = (axis_y - TOP) / max(len(labels), 1)
    bar = min(row * 0.6, 36)
    for index, (label, count, colour) in enumerate(zip(labels, counts, colours, strict=True)):
        middle = TOP + row * (index + 0.5)  # the first step on top, like the course
        draw.text(
            (left - 8, middle),
            _fit(draw, label, text_font, LABELS_WIDTH - 8),
            font=text_font,
            fill=TEXT_COLOUR,
            anchor="rm",
        )
        end = left + count * scale
        if count:
            draw.rectangle([(left, middle - bar / 2), (end, middle + bar / 2)], fill=colour)
        draw.text((end + 6, middle), str(count), font=text_font, fill=TEXT_COLOUR, anchor="lm")

    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
