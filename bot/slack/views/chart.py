"""The cohort's funnel as a picture, drawn on the server: a PNG of horizontal bars.

One bar per step (how many people got at least that far) and one for those who finished,
step titles in the reader's language, and the count written beside every bar, so the chart
reads without colour. Drawn with matplotlib's Agg canvas on a ``Figure`` of its own: no
``pyplot``, no global state, safe in a worker thread. Always 800×400 pixels, a few dozen KB.
"""

from __future__ import annotations

import io
from functools import cache

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bot.course.messages import Messages, load_messages
from bot.course.reports import Report

WIDTH, HEIGHT, DPI = 800, 400, 100
STEP_COLOUR = "#1f3b73"  # the Slack app's colour (manifest.yml)
FINISHED_COLOUR = "#2e7d32"
TEXT_COLOUR = "#1a1a1a"
LABEL_LIMIT = 40  # characters of a step title on the axis
TITLE_LIMIT = 70  # characters of the title: longer ones would squeeze the bars away


@cache
def _builtin_messages() -> Messages:
    return load_messages()


def _short(text: str, limit: int = LABEL_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def funnel_chart(
    report: Report, lang: str, title: str, *, messages: Messages | None = None
) -> bytes:
    """The funnel of ``report`` as PNG bytes, with words in ``lang``."""
    m = messages or _builtin_messages()
    labels = [
        _short(f"{index}. {stage.step.title(lang)}")
        for index, stage in enumerate(report.funnel, start=1)
    ]
    labels.append(m("chart.finished", lang))
    counts = [stage.reached for stage in report.funnel] + [report.finished]
    colours = [STEP_COLOUR] * len(report.funnel) + [FINISHED_COLOUR]

    figure = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    positions = range(len(labels))
    bars = axes.barh(positions, counts, color=colours, height=0.6)
    axes.bar_label(bars, labels=[str(c) for c in counts], padding=4, color=TEXT_COLOUR)
    axes.set_yticks(list(positions), labels=labels, color=TEXT_COLOUR)
    axes.invert_yaxis()  # the first step on top, like the course
    axes.set_xlim(0, max([*counts, 1]) * 1.15)  # room for the count after the longest bar
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel(m("chart.axis", lang), color=TEXT_COLOUR)
    axes.set_title(_short(title, TITLE_LIMIT), color=TEXT_COLOUR, loc="left", fontweight="bold")
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)

    buffer = io.BytesIO()
    # No "Software" stamp: the same funnel always gives the same bytes.
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()
