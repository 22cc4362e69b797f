"""The Slack settings tried on Slack: the token (``auth.test``), the signing secret's shape,
the staff channel (the bot must be in it) and the staff's user IDs."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.health import Finding
from bot.settings import Settings
from bot.slack.delivery import Services

log = logging.getLogger(__name__)
WARN_BEFORE = timedelta(days=7)  # the staff are told this long before the token expires

# Slack's signing secrets are 32 lowercase letters and digits (hexadecimal in practice).
_SIGNING_SECRET_RE = re.compile(r"^[0-9a-z]{32}$")
_INVITE = "in the channel, type /invite @PR Coach"


def check_slack(settings: Settings, client: WebClient) -> list[Finding]:
    findings = [_token(client)]
    if not findings[0].ok or findings[0].warning:
        return findings + _secret(settings)  # nothing else can be asked with a refused token
    findings += _secret(settings)
    if settings.staff_channel:
        findings.append(_staff_channel(client, settings.staff_channel))
    else:
        findings.append(
            Finding(
                "STAFF_CHANNEL",
                True,
                'STAFF_CHANNEL is not set: no weekly digest, and "I\'m stuck" tells learners '
                "that no mentor was alerted (set it to alert one)",
                warning=True,
            )
        )
    findings += [_staff_user(client, user_id) for user_id in sorted(settings.staff_user_ids)]
    return findings


def _token(client: WebClient) -> Finding:
    try:
        me = client.auth_test()
    except SlackApiError as error:
        code = error.response.get("error")
        return Finding(
            "SLACK_BOT_TOKEN",
            False,
            f"SLACK_BOT_TOKEN was refused by Slack ({code}): copy the Bot User OAuth Token "
            "again from the Slack app page → OAuth & Permissions (reinstall the app if it was "
            "removed from the workspace)",
        )
    except OSError as error:
        return Finding(
            "SLACK_API_URL",
            True,
            f"Slack could not be reached ({type(error).__name__}), so the Slack settings were "
            "not checked: check this machine's network (and SLACK_API_URL, normally left unset)",
            warning=True,
        )
    return Finding(
        "SLACK_BOT_TOKEN",
        True,
        f"Slack: the token works, bot user @{me.get('user')} ({me.get('user_id')}) in "
        f"workspace {me.get('team')}",
    )


def _secret(settings: Settings) -> list[Finding]:
    secret = settings.slack_signing_secret.reveal()
    if not secret:
        return []  # Socket Mode: not needed (and required otherwise, checked earlier)
    if _SIGNING_SECRET_RE.match(secret):
        return [
            Finding("SLACK_SIGNING_SECRET", True, "Slack: the signing secret has the right shape")
        ]
    return [
        Finding(
            "SLACK_SIGNING_SECRET",
            False,
            "SLACK_SIGNING_SECRET does not look like a signing secret (32 lowercase letters and "
            "digits): copy it again from the Slack app page → Basic Information → App "
            "Credentials → Signing Secret (not the Client Secret or the Verification Token)",
        )
    ]


def _staff_channel(client: WebClient, channel: str) -> Finding:
    try:
        info = client.conversations_info(channel=channel)["channel"]
    except SlackApiError as error:
        code = error.response.get("error")
        if code == "channel_not_found":
            text = (
                f"STAFF_CHANNEL {channel} was not found: check the ID (channel details → "
                f"bottom of the About tab); a private channel is found once the bot is in it: "
                f"{_INVITE}"
            )
        elif code == "missing_scope":
            text = (
                f"STAFF_CHANNEL {channel}: the app may not read it (missing_scope): "
                "reinstall the app from manifest.yml"
            )
        else:
            text = f"STAFF_CHANNEL {channel}: Slack answered {code}"
        return Finding("STAFF_CHANNEL", False, text)
    except OSError as error:
        return Finding("STAFF_CHANNEL", False, f"STAFF_CHANNEL: Slack unreachable ({error})")
    name = info.get("name") or channel
    if not info.get("is_member"):
        return Finding(
            "STAFF_CHANNEL",
            False,
            f"STAFF_CHANNEL #{name}: the bot is not in it, so alerts and the digest cannot be "
            f"posted: {_INVITE}",
        )
    return Finding("STAFF_CHANNEL", True, f"Slack: the bot is in the staff channel #{name}")


def _staff_user(client: WebClient, user_id: str) -> Finding:
    try:
        user = client.users_info(user=user_id)["user"]
    except SlackApiError as error:
        return Finding(
            "STAFF_USER_IDS",
            False,
            f"STAFF_USER_IDS: {user_id} is not a member of this workspace "
            f"({error.response.get('error')}): in Slack, profile → ⋮ → Copy member ID",
        )
    except OSError as error:
        return Finding("STAFF_USER_IDS", False, f"STAFF_USER_IDS: Slack unreachable ({error})")
    name = user.get("real_name") or user.get("name") or user_id
    return Finding("STAFF_USER_IDS", True, f"Slack: staff member {user_id} is {name}")


def warn_staff(
    services: Services,
    client: WebClient,
    claim: Callable[[str], bool],
    now: datetime,
    *,
    token_expires: datetime | None,
    repo_problem: Finding | None,
) -> list[str]:
    """Tell the staff channel, once, what will stop learners: a GitHub token expiring within
    a week (once per expiry date), a practice repository the bot cannot use (once a day while
    it lasts). ``claim(key)`` is True the first time ``key`` is seen, in whichever worker.
    Returns the keys of the warnings posted."""
    settings = services.settings
    channel, lang = settings.staff_channel, settings.default_language
    m = services.renderer.messages
    posts: list[tuple[str, str]] = []
    if token_expires is not None and now < token_expires <= now + WARN_BEFORE:
        zone = ZoneInfo(settings.timezone)
        day = token_expires.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        days = max(1, (token_expires - now).days)
        posts.append(
            (
                f"job:token-expiry:{token_expires.astimezone(UTC).date().isoformat()}",
                m("health.token_expires", lang, day=day, days=days),
            )
        )
    if repo_problem is not None and repo_problem.code:
        problem = m(f"health.problem.{repo_problem.code}", lang)
        posts.append(
            (
                f"job:practice-repo:{repo_problem.code}:{now.astimezone(UTC).date().isoformat()}",
                m("health.practice_repo", lang, repo=settings.practice_repo, problem=problem),
            )
        )
    posted: list[str] = []
    for key, text in posts:
        if not channel:
            log.warning("%s (STAFF_CHANNEL is not set: told here only)", key)
            continue
        if not claim(key):
            continue  # told already (by this worker or another)
        try:
            client.chat_postMessage(channel=channel, text=text)
        except (SlackClientError, OSError) as error:
            cause = error.response.get("error") if isinstance(error, SlackApiError) else error
            log.error("could not warn the staff channel (%s): %s", key, cause)
            continue
        log.warning("staff warned: %s", key)
        posted.append(key)
    return posted
