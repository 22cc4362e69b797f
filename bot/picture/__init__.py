"""A picture of where a learner is: practice repository → fork → branch → commit → pull
request, each with its name and whether it is done, next, or for later.

:class:`Scene` is plain data (built by the views in the learner's language);
:func:`draw_png` draws it with Pillow, imported only when a picture is drawn. The fonts are
DejaVu Sans, bundled (``fonts/``, Bitstream Vera licence: free to use and redistribute) so
accents render on any machine, whatever fonts it has.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

FONTS = Path(__file__).resolve().parent / "fonts"
WIDTH, HEIGHT = 1200, 420
DONE, NEXT, LATER = "done", "next", "later"

# Colours are never the only signal: every box also says its state in words and a mark.
_INK = (36, 41, 47)
_MUTED = (101, 109, 118)
_BACKGROUND = (255, 255, 255)
_STYLE: dict[str, dict[str, Any]] = {
    DONE: {"fill": (218, 251, 225), "outline": (26, 127, 55), "text": (26, 127, 55), "mark": "✓"},
    NEXT: {"fill": (255, 248, 197), "outline": (154, 103, 0), "text": (125, 78, 0), "mark": "→"},
    LATER: {"fill": (246, 248, 250), "outline": (175, 184, 193), "text": _MUTED, "mark": "…"},
}


@dataclass(frozen=True)
class Part:
    label: str  # "Your branch"
    name: str  # "add-ada", or "not made yet"
    state: str  # DONE, NEXT or LATER
    state_label: str  # "done", in the learner's language


@dataclass(frozen=True)
class Scene:
    title: str
    subtitle: str
    parts: tuple[Part, ...]
    link_label: str  # written on the arrow from the pull request back to the repository


@lru_cache(maxsize=8)
def _font(bold: bool, size: int) -> Any:
    from PIL import ImageFont

    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return ImageFont.truetype(str(FONTS / name), size)


def _fit(draw: Any, text: str, font: Any, width: float) -> str:
    """The text, cut with an ellipsis to fit ``width`` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def _wrap(draw: Any, text: str, font: Any, width: float, lines: int) -> list[str]:
    words, out, current = text.split(), [], ""
    for word in words:
        trial = f"{current} {word}".strip()
        if draw.textlength(trial, font=font) <= width or not current:
            current = trial
        else:
            out.append(current)
            current = word
    if current:
        out.append(current)
    if len(out) > lines:
        out = [*out[: lines - 1], " ".join(out[lines - 1 :])]
    return [_fit(draw, line, font, width) for line in out]


def _wrap_name(draw: Any, text: str, font: Any, width: float, lines: int) -> list[str]:
    """Names have no spaces ("participants/helene-dupre.md"): break anywhere, preferably
    after a "/" or a "-"."""
    out: list[str] = []
    rest = text
    while rest and len(out) < lines - 1:
        if draw.textlength(rest, font=font) <= width:
            break
        cut = len(rest)
        while cut > 1 and draw.textlength(rest[:cut], font=font) > width:
            cut -= 1
        soft = max(rest.rfind("/", 0, cut), rest.rfind("-", 0, cut))
        if soft >= cut // 2:
            cut = soft + 1
        out.append(rest[:cut])
        rest = rest[cut:]
    if rest:
        out.append(_fit(draw, rest, font, width))
    return out


def draw_png(scene: Scene) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (WIDTH, HEIGHT), _BACKGROUND)
    draw = ImageDraw.Draw(image)
    margin, gap = 30, 34
    draw.text(
        (margin, 22),
        _fit(draw, scene.title, _font(True, 30), WIDTH - 2 * margin),
        font=_font(True, 30),
        fill=_INK,
    )
    draw.text(
        (margin, 64),
        _fit(draw, scene.subtitle, _font(False, 20), WIDTH - 2 * margin),
        font=_font(False, 20),
        fill=_MUTED,
    )
    count = max(len(scene.parts), 1)
    box_w = (WIDTH - 2 * margin - gap * (count - 1)) / count
    top, bottom = 120, 320
    centers = []
    for index, part in enumerate(scene.parts):
        left = margin + index * (box_w + gap)
        style = _STYLE.get(part.state, _STYLE[LATER])
        width = 5 if part.state == NEXT else 3
        draw.rounded_rectangle(
            (left, top, left + box_w, bottom),
            radius=16,
            fill=style["fill"],
            outline=style["outline"],
            width=width,
        )
        inner = box_w - 24
        y = top + 14
        for line in _wrap(draw, part.label, _font(True, 19), inner, 2):
            draw.text((left + 12, y), line, font=_font(True, 19), fill=_INK)
            y += 25
        y += 6
        for line in _wrap_name(draw, part.name, _font(False, 18), inner, 3):
            draw.text((left + 12, y), line, font=_font(False, 18), fill=_INK)
            y += 23
        badge = f"{style['mark']} {part.state_label}"
        draw.text(
            (left + 12, bottom - 36),
            _fit(draw, badge, _font(True, 18), inner),
            font=_font(True, 18),
            fill=style["text"],
        )
        centers.append(left + box_w / 2)
        if index:
            # An arrow from the previous box to this one.
            x0, x1, y_mid = left - gap + 4, left - 4, (top + bottom) / 2
            draw.line((x0, y_mid, x1, y_mid), fill=_MUTED, width=3)
            draw.polygon(((x1, y_mid), (x1 - 10, y_mid - 7), (x1 - 10, y_mid + 7)), fill=_MUTED)
    if len(centers) > 1:
        # The pull request proposes the change back to the practice repository.
        first, last, y = centers[0], centers[-1], bottom + 34
        draw.line((last, bottom + 4, last, y), fill=_MUTED, width=3)
        draw.line((last, y, first, y), fill=_MUTED, width=3)
        draw.line((first, y, first, bottom + 12), fill=_MUTED, width=3)
        draw.polygon(
            ((first, bottom + 4), (first - 7, bottom + 14), (first + 7, bottom + 14)), fill=_MUTED
        )
        label = _fit(draw, scene.link_label, _font(False, 18), last - first - 20)
        length = draw.textlength(label, font=_font(False, 18))
        x = (first + last - length) / 2
        draw.rectangle((x - 8, y - 12, x + length + 8, y + 12), fill=_BACKGROUND)
        draw.text((x, y - 11), label, font=_font(False, 18), fill=_MUTED)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()
