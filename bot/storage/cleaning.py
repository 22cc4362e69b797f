"""Text as a column can hold it, cleaned at the storage boundary."""

from __future__ import annotations

# Characters no text column should hold: NUL (PostgreSQL refuses it) and other controls.
_CONTROLS = dict.fromkeys(c for c in range(32) if c not in (9, 10))


def fit(text: str | None, limit: int) -> str | None:
    """``text`` as its column can hold it: no NUL nor control characters, at most ``limit``
    characters (a Slack name can be longer than the column). Empty becomes None."""
    if text is None:
        return None
    cleaned = text.translate(_CONTROLS).strip()[:limit].strip()
    return cleaned or None
