"""GitHub login rules, checked before asking GitHub anything."""

from __future__ import annotations

import re

from bot.course.checks import CheckResult

MAX_LOGIN_LENGTH = 39
# Letters, digits and single hyphens; no hyphen at either end (GitHub's sign-up rules).
_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9]))*$")


def clean_login(given: str) -> str:
    """What people paste: "@ada", "<https://github.com/ada|github.com/ada>", " ada "."""
    text = given.strip().strip("<>").split("|")[-1].strip()
    text = re.sub(r"^(?:https?://)?(?:www\.)?github\.com/", "", text, flags=re.IGNORECASE)
    return text.strip("/").removeprefix("@")


def login_problem(login: str) -> CheckResult | None:
    """A mistake result when ``login`` cannot be a GitHub login, else None."""
    if len(login) > MAX_LOGIN_LENGTH:
        return CheckResult.mistake("login_too_long", given=login[:60])
    if not _LOGIN.match(login):
        return CheckResult.mistake("login_malformed", given=login[:60])
    return None
