"""The staff's view of the whole cohort, on a schedule: the weekly digest and the reminders.

``post_digest`` writes the digest to ``STAFF_CHANNEL`` (``/prcoach digest now`` calls it too);
``run_digest_job`` and ``run_nudge_job`` are what the worker (:mod:`bot.serving.worker`)
runs. Both jobs are safe with several workers: the digest of one scheduled time is claimed
in the database before it is posted, and each reminder is claimed per learner and period.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.course.reports import LearnerLine, Report
from bot.slack.delivery import Services
from bot.slack.staff import send_nudge
from bot.slack.views.render import Message, context, escape, header, section
from bot.storage.store import SqlLearnerStore

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


def post_digest(services: Services, client: WebClient, now: datetime) -> None:
    """Post the digest to the staff channel, then the funnel chart beside it.

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
    report = services.desk.report()
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


def run_digest_job(
    services: Services, client: WebClient, store: SqlLearnerStore, due: datetime
) -> bool:
    """The scheduled digest of ``due``: posted by whichever worker claims it first.

    ``due`` is the schedule's time (the same in every worker), not the clock's. True when
    this call posted it. The claim comes first, so a digest is never posted twice; if
    posting then fails, that week's digest is lost, and the log says how to post it by hand.
    """
    if not services.settings.staff_channel:
        log.warning("digest of %s skipped: STAFF_CHANNEL is not set", due.isoformat())
        return False
    # In UTC: the same instant gives the same key whatever time zone ``due`` is written in.
    key = f"job:digest:{due.astimezone(UTC).isoformat()}"
    if not store.claim_delivery(key):
        log.info("digest of %s already posted by another worker", due.isoformat())
        return False
    try:
        post_digest(services, client, due)
    except (SlackClientError, OSError) as error:
        cause = error.response.get("error") if isinstance(error, SlackApiError) else error
        log.error(
            "digest of %s not posted (%s); staff can post it with `/prcoach digest now`",
            due.isoformat(),
            cause,
        )
        return False
    return True


def run_nudge_job(services: Services, client: WebClient, now: datetime) -> int:
    """Remind every learner due for a nudge at ``now``; returns how many were reminded.

    Each reminder is claimed first (exactly one worker wins a learner for a period); a Slack
    failure for one learner is logged and the others still get theirs.
    """
    desk = services.desk
    due = desk.due_for_nudge(now)
    sent = failed = 0
    for learner in due:
        if not desk.claim_nudge(learner, now):
            continue  # another worker reminded them during this period
        try:
            told = send_nudge(services, client, learner)
        except Exception:
            # One learner's failure (the database, a bug) must not cost the others theirs.
            log.exception("could not remind learner %s", learner.id)
            told = False
        sent, failed = sent + told, failed + (not told)
    level = logging.INFO if due else logging.DEBUG
    log.log(level, "reminders: %d sent, %d failed, %d due", sent, failed, len(due))
    return sent
