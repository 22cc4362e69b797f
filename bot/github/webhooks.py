"""GitHub webhook deliveries: signature, and what a delivery says about our learners.

Only the practice repository's ``fork``, ``pull_request``, ``pull_request_review`` and
``pull_request_review_comment`` deliveries concern us; each names the GitHub accounts whose
progress (or pull request) may have moved. Everything else is ignored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from bot.errors import MalformedDelivery

# pull_request actions that can move a learner (opened, drafts made ready, merges…) or
# change what their review coaching says (a new commit: synchronize).
PULL_REQUEST_ACTIONS = frozenset(
    {"opened", "reopened", "ready_for_review", "closed", "edited", "synchronize"}
)
# Reviews: submitted (approved, changes requested, commented) and dismissed; inline comments.
REVIEW_EVENTS = {
    "pull_request_review": frozenset({"submitted", "dismissed", "edited"}),
    "pull_request_review_comment": frozenset({"created", "edited"}),
}


@dataclass(frozen=True)
class Delivery:
    event: str
    action: str
    logins: tuple[str, ...]  # accounts whose progress to re-check
    # The same accounts' ids: they find a learner whose account was renamed since linking.
    user_ids: tuple[int, ...] = ()
    # A fork event: the new fork (``owner/name``); its ``sender`` is who made it, also when
    # it was made under an organisation (whose memberships GitHub may keep private).
    fork: str | None = None
    # The pull request concerned, if any: its review state is looked at again.
    pr_number: int | None = None


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """``X-Hub-Signature-256``: HMAC-SHA256 of the raw body, compared in constant time."""
    if not secret or not header or not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)


def parse_delivery(event: str, body: bytes, upstream: str) -> Delivery | None:
    """What the delivery means for us, or None when it concerns nobody we coach."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise MalformedDelivery(f"not JSON: {error}") from None
    if not isinstance(payload, dict):
        raise MalformedDelivery("not a JSON object")
    repository = _get(payload, "repository", "full_name")
    if not isinstance(repository, str) or repository.lower() != upstream.lower():
        return None
    action = str(payload.get("action") or "")
    if event == "fork":
        owner = _get(payload, "forkee", "owner")
        sender = payload.get("sender")
        fork = _get(payload, "forkee", "full_name")
        return Delivery(
            event,
            action,
            _logins(_get(owner, "login"), _get(sender, "login")),
            _ids(_get(owner, "id"), _get(sender, "id")),
            fork if isinstance(fork, str) else None,
        )
    if (event == "pull_request" and action in PULL_REQUEST_ACTIONS) or (
        action in REVIEW_EVENTS.get(event, ())
    ):
        pull = payload.get("pull_request")
        if not isinstance(pull, dict):
            raise MalformedDelivery(f"{event} event without a pull_request")
        number = pull.get("number")
        return Delivery(
            event,
            action,
            _logins(
                _get(pull, "head", "repo", "owner", "login"),
                _get(pull, "head", "user", "login"),
                _get(pull, "user", "login"),
            ),
            _ids(
                _get(pull, "head", "repo", "owner", "id"),
                _get(pull, "head", "user", "id"),
                _get(pull, "user", "id"),
            ),
            pr_number=number if isinstance(number, int) and not isinstance(number, bool) else None,
        )
    return None


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _logins(*candidates: Any) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for login in candidates:
        if isinstance(login, str) and login:
            seen.setdefault(login.lower(), login)
    return tuple(seen.values())


def _ids(*candidates: Any) -> tuple[int, ...]:
    return tuple(
        dict.fromkeys(c for c in candidates if isinstance(c, int) and not isinstance(c, bool))
    )
