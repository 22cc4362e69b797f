"""The weekly digest in Slack: its words (Block Kit, pure), then the post and its chart.

The use case (:mod:`bot.usecases.digest`) decides when and whether; this is how it looks and
where it goes (``STAFF_CHANNEL``).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.course.reports import LearnerLine, Report
from bot.slack.delivery import Services
from bot.slack.views.render import Message, context, escape, header, section

log = logging.getLogger(__name__)

WEEK = timedelta(days=7)
# People named per line, the rest counted (the CSV has everyone): within Slack's 3,000
# characters a section, a stuck person's line being longer (their step) than a mention.
MAX_FINISHED, MAX_STUCK = 40, 20
TEXT_LIMIT = 3900  # the plain-text fallback, like the other messages
ALT_TEXT_LIMIT = 1000  # Slack's limit for an image's alternative text


def digest_message(services: Services, report: Report, now: datetime, lang: str) -> Message:
    """The digest's words: funnel, who finished in the last 7 days, who is stuck."""
    m, views = services.renderer.messages, services.staff_views
    title = m("digest.title", lang)
    if not report.lines:
        empty = m("report.empty", lang)
        return Message(f"{title}\n{empty}", [header(title), section(empty)])
    summary = views.summary(report, lang, services.settings.stuck_after_days)
    funnel = f"*{m('report.funnel', lang)}*\n{views.funnel(report, lang)}"
    finished = sorted(report.finished_since(now - WEEK), key=lambda line: line.since)
    finished_text = m(
        "digest.finished_week",
        lang,
        people=_people(
            services, [f"<@{line.learner.slack_user_id}>" for line in finished], MAX_FINISHED, lang
        ),
    )
    stuck_text = m(
        "digest.stuck",
        lang,
        people=_people(
            services,
            [_stuck_person(services, report, line, lang) for line in report.stuck],
            MAX_STUCK,
            lang,
        ),
    )
    waiting_text = m(
        "digest.waiting",
        lang,
        days=report.review_wait_days,
        people=_people(services, views.waiting_people(report, lang), MAX_STUCK, lang),
    )
    steps_text = f"*{m('report.steps_title', lang)}*\n{views.insights(report, lang)}"
    blocks: list[dict[str, Any]] = [
        header(title),
        context(summary),
        section(funnel),
        section(finished_text),
        section(stuck_text),
        section(waiting_text),
        section(steps_text),
    ]
    text = "\n".join((title, summary, funnel, finished_text, stuck_text, waiting_text, steps_text))
    if len(text) > TEXT_LIMIT:
        text = text[: TEXT_LIMIT - 1] + "…"
    return Message(text, blocks)


def _people(services: Services, people: list[str], limit: int, lang: str) -> str:
    if not people:
        return services.renderer.messages("digest.nobody", lang)
    text = ", ".join(people[:limit])
    if len(people) > limit:
        more = len(people) - limit
        text += " " + services.renderer.messages("report.more", lang, count=more)
    return text


def _stuck_person(services: Services, report: Report, line: LearnerLine, lang: str) -> str:
    zone = ZoneInfo(services.settings.timezone)
    assert line.step is not None  # finished learners are never stuck
    return services.renderer.messages(
        "digest.stuck_person",
        lang,
        user=line.learner.slack_user_id,
        position=line.position,
        total=len(report.course.steps),
        step=escape(line.step.title(lang)),
        since=line.since.astimezone(zone).strftime("%d/%m"),
    )


def post_digest(services: Services, client: WebClient, report: Report, now: datetime) -> None:
    """Post the digest of ``report`` to the staff channel, then the funnel chart beside it.

    The text goes first, on its own: if the picture cannot be uploaded (a missing
    ``files:write`` scope, Slack's file service down), the staff still get the digest.
    A failure to post the text raises :class:`SlackApiError` to the caller.
    """
    settings = services.settings
    channel = settings.staff_channel
    if not channel:
        log.warning("no STAFF_CHANNEL: the digest was not posted")
        return
    lang = settings.default_language
    message = digest_message(services, report, now, lang)
    client.chat_postMessage(channel=channel, text=message.text, blocks=message.blocks)
    log.info(
        "digest posted to %s: %d learners, %d finished this week, %d stuck",
        channel,
        report.total,
        len(report.finished_since(now - WEEK)),
        len(report.stuck),
    )
    if not report.lines:
        return  # nothing to draw
    # The drawing library loads only when there is something to draw.
    from bot.slack.views.chart import funnel_chart

    day = now.astimezone(ZoneInfo(settings.timezone)).date().isoformat()
    title = services.renderer.messages("digest.chart_title", lang)
    alt = services.staff_views.funnel(report, lang)
    try:
        client.files_upload_v2(
            channel=channel,
            file=funnel_chart(report, lang, f"{title} · {day}"),
            filename=f"prcoach-funnel-{day}.png",
            title=title,
            alt_txt=alt[:ALT_TEXT_LIMIT],
        )
    except SlackApiError as error:
        log.warning("could not upload the digest's chart: %s", error.response.get("error"))
    except (SlackClientError, OSError) as error:
        log.warning("could not upload the digest's chart: %s", error)
