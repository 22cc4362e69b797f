"""GitHub login rules, checked before asking GitHub anything."""

from __future__ import annotations

import re

from bot.course.checks import CheckResult
from bot.course.intents import looks_like_a_name

MAX_LOGIN_LENGTH = 39
# Letters, digits and single hyphens; no hyphen at either end (GitHub's sign-up rules).
_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9]))*$")


_SLACK_LINK = re.compile(r"^<([^|<>]+)(?:\|([^<>]*))?>$")


def clean_login(given: str) -> str:
    """What people paste: "@ada", "<https://github.com/ada|github.com/ada>", " ada "."""
    text = given.strip()
    link = _SLACK_LINK.match(text)
    if link:  # Slack turned a pasted URL into a link: keep what was shown
        text = (link.group(2) or link.group(1)).strip()
    text = re.sub(r"^(?:https?://)?(?:www\.)?github\.com/", "", text, flags=re.IGNORECASE)
    return text.strip("/").removeprefix("@")


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def login_problem(login: str) -> CheckResult | None:
    """A mistake result when ``login`` cannot be a GitHub login, else None."""
    if _EMAIL.match(login):
        return CheckResult.mistake("login_is_email", given=login[:60])
    if " " in login.strip() and looks_like_a_name(login, any_case=True):
        return CheckResult.mistake("login_looks_like_name", given=login[:60])
    if len(login) > MAX_LOGIN_LENGTH:
        return CheckResult.mistake("login_too_long", given=login[:60])
    if not _LOGIN.fullmatch(login):
        return CheckResult.mistake("login_malformed", given=login[:60])
    return None
