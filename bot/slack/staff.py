"""Staff actions in Slack: who is staff, and what each staff command does.

Every entry point checks staff status on the server side; a refusal reveals nothing about
learners and is logged.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.course.coach import Person, language_from_locale
from bot.course.intents import Action, Intent
from bot.course.replies import Confirm
from bot.course.staff import Invitee
from bot.errors import NotDelivered
from bot.slack.delivery import Services, SlackProfile, open_dm
from bot.slack.notifier import SlackNotifier
from bot.slack.views.render import BLOCK_LIMIT, SECTION_LIMIT, Message, escape, section
from bot.slack.views.staff import ACTION_STAFF_CSV
from bot.usecases.staff import invite, post_digest, remind

log = logging.getLogger(__name__)

_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_CHANNEL = re.compile(r"<#([CG][A-Z0-9]+)(?:\|([^>]*))?>")

Reply = Callable[[Message], None]


def is_staff(services: Services, user_id: str, profile: SlackProfile) -> bool:
    settings = services.settings
    if settings.is_staff(user_id):
        return True
    return settings.staff_include_admins and profile.is_admin()


def staff_language(services: Services, person: Person, profile: SlackProfile) -> str:
    return services.coach.language_of(person, profile.locale)


def staff_gate(
    services: Services, person: Person, profile: SlackProfile, action: str, reply: Reply
) -> str | None:
    """The one gate of every staff command and button: the staff member's language, or None
    after telling a non-staff person no (revealing nothing about learners) and logging it."""
    lang = staff_language(services, person, profile)
    if is_staff(services, person.user_id, profile):
        return lang
    log.warning("refused staff action %s to %s (not staff)", action, person.user_id)
    text = services.renderer.messages("staff.refused", lang)
    reply(Message(text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]))
    return None


def _notice(services: Services, lang: str, key: str, **facts: Any) -> Message:
    text = services.renderer.messages(key, lang, **facts)
    return Message(text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}])


def _split(argument: str) -> tuple[list[str], list[tuple[str, str]], list[str]]:
    """Mentioned users, mentioned channels (id, name), and the remaining plain words."""
    users = _USER.findall(argument)
    channels = _CHANNEL.findall(argument)
    rest = _CHANNEL.sub(" ", _USER.sub(" ", argument)).split()
    return users, channels, rest


def _cohort_from(words: list[str]) -> tuple[str | None, list[str]]:
    """``cohort promo-3`` (or ``promotion promo-3``) anywhere among the words."""
    for index, word in enumerate(words):
        if word.lower() in ("cohort", "promotion", "promo") and index + 1 < len(words):
            return cohort_name(words[index + 1]), words[:index] + words[index + 2 :]
    return None, words


# The cohort column holds 80 characters; a longer name is cut rather than refused.
COHORT_NAME_LIMIT = 80


def cohort_name(text: str) -> str | None:
    return text.strip()[:COHORT_NAME_LIMIT] or None


def file_part(text: str) -> str:
    """A cohort name fit for a file name: letters, digits, ``-`` and ``_`` (accents dropped),
    never starting with a formula character, 40 at most."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9_-]+", "_", ascii_text).strip("_-")[:40] or "cohort"


def handle_staff(
    services: Services,
    intent: Intent,
    person: Person,
    profile: SlackProfile,
    client: WebClient,
    reply: Reply,
) -> None:
    lang = staff_gate(services, person, profile, intent.action.value, reply)
    if lang is None:
        return
    users, channels, words = _split(intent.argument)
    if intent.action is Action.REPORT:
        _report(services, person, users, words, client, lang, reply)
    elif intent.action is Action.INVITE:
        _invite(services, person, users, channels, words, client, lang, reply)
    elif intent.action is Action.NUDGE:
        if not users:
            reply(_notice(services, lang, "nudge.usage"))
        for user_id in users:
            _nudge(services, client, person.team_id, user_id, lang, reply)
    elif intent.action is Action.PURGE_COHORT:
        _purge(services, intent, words, lang, reply)
    elif intent.action is Action.STAFF_UNLINK:
        _unlink_someone(services, intent, person, users, client, lang, reply)
    elif intent.action is Action.DIGEST:
        channel = services.settings.staff_channel
        if not channel:
            reply(_notice(services, lang, "digest.no_channel"))
            return
        try:
            post_digest(services.desk, SlackNotifier(services, client), datetime.now(UTC))
        except NotDelivered as refused:
            log.error("the digest asked by staff was not posted: %s", refused.reason)
            reply(_notice(services, lang, "digest.failed", channel=channel))
            return
        reply(_notice(services, lang, "digest.posted", channel=channel))


def _report(
    services: Services,
    person: Person,
    users: list[str],
    words: list[str],
    client: WebClient,
    lang: str,
    reply: Reply,
) -> None:
    cohort, words = _cohort_from(words)
    lowered = [w.lower() for w in words]
    desk, views = services.desk, services.staff_views
    days = services.settings.stuck_after_days
    if "csv" in lowered:
        send_csv(services, client, person.user_id, cohort, lang)
        reply(_notice(services, lang, "csv.sent"))
        return
    report = desk.report(cohort)
    if users:
        for user_id in users:
            found = desk.history(person.team_id, user_id)
            reply(views.history(user_id, found[1] if found else None, report, lang))
        return
    only_stuck = any(w in ("stuck", "bloques", "bloqués", "bloque") for w in lowered)
    reply(views.report(report, lang, days, only_stuck=only_stuck))


def send_csv(
    services: Services, client: WebClient, user_id: str, cohort: str | None, lang: str
) -> None:
    content = services.desk.csv(cohort)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    suffix = f"-{file_part(cohort)}" if cohort else ""
    client.files_upload_v2(
        channel=open_dm(client, user_id),
        content=content,
        filename=f"prcoach-report{suffix}-{stamp}.csv",
        title=services.renderer.messages("csv.title", lang),
    )


def _invite(
    services: Services,
    person: Person,
    users: list[str],
    channels: list[tuple[str, str]],
    words: list[str],
    client: WebClient,
    lang: str,
    reply: Reply,
) -> None:
    invited = list(users)
    for channel_id, _name in channels:
        try:
            invited += _channel_members(client, channel_id)
        except SlackApiError as error:
            log.warning("conversations.members %s: %s", channel_id, error.response.get("error"))
            reply(_notice(services, lang, "invite.channel_failed", channel=channel_id))
    cohort = cohort_name(" ".join(w for w in words if w.lower() not in ("cohort", "promotion")))
    if not invited:
        reply(_notice(services, lang, "invite.usage"))
        return
    invitees = []
    default = services.settings.default_language
    for user_id in dict.fromkeys(invited):  # once each, in order
        profile = SlackProfile(client, user_id)
        if profile.is_bot():
            continue
        language = language_from_locale(profile.locale(), default)
        invitees.append(Invitee(person.team_id, user_id, language, profile.name()))
    notifier = SlackNotifier(services, client)
    outcome = invite(services.desk, services.coach, notifier, invitees, cohort)
    m = services.renderer.messages
    texts: list[str] = []
    if outcome.enrolled:
        count = len(outcome.enrolled)
        texts += _listing(
            lambda people: m("invite.done", lang, count=count, people=people),
            [f"<@{lr.slack_user_id}>" for lr in outcome.enrolled],
        )
    if outcome.already:
        texts += _listing(
            lambda people: m("invite.already", lang, people=people),
            [f"<@{lr.slack_user_id}>" for lr in outcome.already],
        )
    if outcome.failed:
        texts += _listing(
            lambda people: m("invite.failed", lang, people=people),
            [f"<@{person.user_id}>" for person in outcome.failed],
        )
    if cohort and outcome.enrolled:
        texts.append(m("invite.cohort", lang, cohort=escape(cohort)))
    text = "\n".join(texts)
    if len(text) > TEXT_LIMIT:
        text = text[: TEXT_LIMIT - 1] + "…"
    blocks = [section(t) for t in texts][:BLOCK_LIMIT]
    reply(Message(text, blocks))


# The plain-text fallback of a message, like the others'.
TEXT_LIMIT = 3900


def _listing(sentence: Callable[[str], str], mentions: list[str]) -> list[str]:
    """``sentence`` naming everyone in ``mentions``, split into texts of at most Slack's 3,000
    characters a section: the sentence with the first mentions, then the rest, continued."""
    room = SECTION_LIMIT - len(sentence(""))
    chunks: list[list[str]] = [[]]
    used = 0
    for mention in mentions:
        cost = len(mention) + 2  # ", "
        if chunks[-1] and used + cost > room:
            chunks.append([])
            used = 0
            room = SECTION_LIMIT
        chunks[-1].append(mention)
        used += cost
    first, *rest = (", ".join(chunk) for chunk in chunks)
    return [sentence(first), *rest]


def _channel_members(client: WebClient, channel_id: str) -> list[str]:
    members: list[str] = []
    cursor = None
    while True:
        page = client.conversations_members(channel=channel_id, cursor=cursor, limit=200)
        members += page.get("members", [])
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return members


def _purge(services: Services, intent: Intent, words: list[str], lang: str, reply: Reply) -> None:
    """End of a programme: erase a cohort's identities, after a confirmation with the count."""
    cohort = cohort_name(" ".join(words)) or ""
    if not cohort:
        reply(_notice(services, lang, "purge.usage"))
        return
    count = services.desk.cohort_size(cohort)
    if count == 0:
        reply(_notice(services, lang, "purge.empty", cohort=escape(cohort)))
        return
    if not intent.confirmed:
        confirm = Confirm(
            "purge.confirm", Action.PURGE_COHORT.value, cohort, {"count": count, "cohort": cohort}
        )
        reply(services.renderer.confirm(confirm, lang))
        return
    erased = services.desk.purge_cohort(cohort)
    log.info("staff erased the identities of %s learners of a cohort", erased)
    reply(_notice(services, lang, "purge.done", cohort=escape(cohort), count=erased))


def _unlink_someone(
    services: Services,
    intent: Intent,
    person: Person,
    users: list[str],
    client: WebClient,
    lang: str,
    reply: Reply,
) -> None:
    """``/prcoach unlink @someone``: after a confirmation naming the account, the learner's
    link is removed and they are told in their DM (issue 13)."""
    if len(users) != 1:
        reply(_notice(services, lang, "staff_unlink.usage"))
        return
    user_id = users[0]
    coach = services.coach
    learner = coach.known(Person(person.team_id, user_id))
    if learner is None or not learner.github_login:
        reply(_notice(services, lang, "staff_unlink.not_linked", user=user_id))
        return
    login = learner.github_login
    if not intent.confirmed:
        facts = {"user": user_id, "login": login}
        confirm = Confirm("staff_unlink.confirm", Action.STAFF_UNLINK.value, f"<@{user_id}>", facts)
        reply(services.renderer.confirm(confirm, lang))
        return
    SlackNotifier(services, client).tell(coach.unlink_by_staff(learner), why="of the unlink")
    reply(_notice(services, lang, "staff_unlink.done", user=user_id, login=escape(login)))


def _nudge(
    services: Services, client: WebClient, team_id: str, user_id: str, lang: str, reply: Reply
) -> None:
    learner = services.coach.known(Person(team_id, user_id))
    if learner is None or learner.finished:
        reply(_notice(services, lang, "nudge.not_learner", user=user_id))
        return
    sent = remind(services.coach, SlackNotifier(services, client), learner)
    reply(_notice(services, lang, "nudge.sent" if sent else "nudge.failed", user=user_id))


def publish_staff_home(
    services: Services, client: WebClient, person: Person, profile: SlackProfile
) -> None:
    lang = staff_language(services, person, profile)
    report = services.desk.report()
    view = services.staff_views.home(report, lang, services.settings.stuck_after_days)
    try:
        client.views_publish(user_id=person.user_id, view=view)
    except SlackApiError as error:
        log.warning("could not publish the staff Home: %s", error.response.get("error"))


def handle_staff_button(
    services: Services,
    action: dict[str, Any],
    person: Person,
    profile: SlackProfile,
    client: WebClient,
    reply: Reply,
) -> None:
    """The staff Home's buttons: the CSV, a reminder to one learner."""
    lang = staff_gate(services, person, profile, str(action.get("action_id", "")), reply)
    if lang is None:
        return
    if action.get("action_id") == ACTION_STAFF_CSV:
        send_csv(services, client, person.user_id, None, lang)
        reply(_notice(services, lang, "csv.sent"))
        return
    _nudge(services, client, person.team_id, str(action.get("value", "")), lang, reply)
