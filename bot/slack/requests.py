"""Slack requests are recorded, acknowledged, and answered later by an answerer.

Why: an answer may wait on GitHub for seconds; done in the web process (Bolt's ``lazy=``
listeners) it took the request threads' CPU and GIL and piled up in memory without a bound
(see bench/results.md). Now a web process only verifies Slack's signature, keeps the request
(:meth:`bot.course.ports.RequestBook.record_soon`: a line in its journal on the local disk,
moved into the database within moments — the acknowledgement never waits on the database's
write lock, which the answerers share) and acknowledges. Answerers — a bounded pool in
another process (:mod:`bot.serving.answerers`) — take the requests and answer them through
the ``response_url`` or the DM, exactly as the listeners did. A request is kept until it is
answered, so a restart or a crash loses nothing; the same request asked again while it waits
(a learner clicking Check five times) is answered once. When more than
``Services.busy_after`` requests wait, a command is acknowledged with "busy — I'll look in a
minute" (both languages: the learner is not looked up before the acknowledgement) and
answered all the same when its turn comes.
"""

from __future__ import annotations

import json
from typing import Any

from bot.slack.delivery import Services

# The parts of a click's payload its answer reads; the rest (the whole message clicked, a
# view's state) can weigh kilobytes and is not kept.
_ACTION_KEYS = (
    "type",
    "team",
    "user",
    "channel",
    "container",
    "actions",
    "response_url",
    "trigger_id",
)


def _key(*parts: Any) -> str:
    return json.dumps(parts, ensure_ascii=False, sort_keys=True)


def record_request(services: Services, kind: str, body: dict[str, Any]) -> str | None:
    """Record what the person asked; returns the "busy" text to acknowledge with, if busy."""
    if kind == "command":
        team, user = str(body.get("team_id", "")), str(body.get("user_id", ""))
        kept = {k: v for k, v in body.items() if k != "token"}  # Slack's verification token
        key = _key(kind, team, user, " ".join(str(body.get("text", "")).lower().split()))
    elif kind == "action":
        team = str((body.get("team") or {}).get("id", ""))
        user = str((body.get("user") or {}).get("id", ""))
        kept = {k: body[k] for k in _ACTION_KEYS if k in body}
        action = (body.get("actions") or [{}])[0]
        container = body.get("container") or {}
        key = _key(
            kind,
            team,
            user,
            action.get("action_id"),
            action.get("value"),
            container.get("type"),
            container.get("channel_id") or container.get("view_id"),
        )
    else:  # "message" (a DM) and "home" (App Home opened): events
        event = body.get("event") or {}
        team = str(body.get("team_id") or event.get("team", ""))
        user = str(event.get("user", ""))
        kept = {"team_id": team, "event": event}
        what = (event.get("channel"), event.get("text")) if kind == "message" else ()
        key = _key(kind, team, user, what)
    # Slack's signature stays valid five minutes: a captured command or click sent again
    # (same trigger_id) is acted on once; an event Slack delivers again (X-Slack-Retry-Num,
    # same event_id) too. Settled when the request reaches the database.
    trigger = body.get("trigger_id")
    event_id = body.get("event_id")
    once = (
        f"trigger:{trigger}"
        if isinstance(trigger, str) and trigger
        else f"slack:{event_id}"
        if isinstance(event_id, str) and event_id
        else None
    )
    recorded = services.requests.record_soon(
        kind,
        kept,
        team_id=team,
        user_id=user,
        key=key,
        busy_after=services.busy_after,
        once=once,
    )
    if recorded.joined or recorded.waiting < services.busy_after:
        return None
    # Before the acknowledgement the learner's language is not looked up: both languages.
    m = services.renderer.messages
    return f"{m('busy', 'fr')}\n{m('busy', 'en')}"
