"""``DIGEST_CRON``, read as cron reads it: the one parser, for the settings' check at start and
for the worker's schedule (a line accepted at start is the line the worker runs)."""

from __future__ import annotations

from apscheduler.triggers.cron import CronTrigger

from bot.errors import ConfigError

DIGEST_CRON_HELP = (
    "when the weekly digest is posted, as a cron line "
    "(minute hour day month weekday; default '0 9 * * 1', Monday 9:00)"
)


# Cron counts days from Sunday (0, and 7 again); APScheduler 3 from Monday, even in
# CronTrigger.from_crontab (its documented "historical mistake"): "0 9 * * 1", Monday in
# cron, would be Tuesday there. Days are handed to APScheduler by name instead.
_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _cron_day(text: str) -> int:
    if text.isdigit() and int(text) <= 7:
        return int(text)
    name = text[:3].lower()
    if name in _CRON_DAYS:
        return _CRON_DAYS.index(name)
    raise ValueError(f"{text!r} is not a day of the week")


def cron_weekdays(field: str) -> str:
    """A crontab day-of-week field (``1-5``, ``0,6``, ``*/2``, ``mon``) as APScheduler names."""
    if field == "*":
        return field
    days: list[int] = []
    for part in field.split(","):
        span, _, step = part.partition("/")
        if span == "*":
            first, last = 0, 6
        elif "-" in span:
            start, _, end = span.partition("-")
            first, last = _cron_day(start), _cron_day(end)
            if last == 0 < first:  # "fri-sun": Sunday closes the week
                last = 7
        else:
            first = _cron_day(span)
            last = 6 if step else first  # "1/2": from Monday, every other day
        chosen = range(first, last + 1, int(step) if step else 1)
        if not chosen:
            raise ValueError(f"{part!r} names no day")
        days += chosen
    return ",".join(dict.fromkeys(_CRON_DAYS[day] for day in days))


def crontab_trigger(expression: str, timezone: str) -> CronTrigger:
    """A CronTrigger reading ``expression`` as cron does, days of the week included."""
    try:
        fields = expression.split()
        if len(fields) != 5:
            raise ValueError(f"{len(fields)} fields, not 5")
        minute, hour, day, month, weekdays = fields
        return CronTrigger(
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=cron_weekdays(weekdays),
            timezone=timezone,
        )
    except ValueError as error:
        raise ConfigError(
            "DIGEST_CRON",
            f"DIGEST_CRON is {expression!r}, not a cron line ({error}). It is {DIGEST_CRON_HELP}.",
        ) from None
