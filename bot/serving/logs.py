"""Logging: one JSON object per line, secrets hidden, no bodies or message text at any level.

Every record — ours, the libraries', gunicorn's error and access logs — goes through one
handler: :class:`JsonLines` writes it as a single line (a newline or a quote in a message is
escaped, so nothing can forge a line), and :class:`RedactSecrets` hides tokens and secrets
in every text it carries. Libraries that print whole requests and answers at DEBUG (Slack's
and GitHub's clients, urllib3) stay at INFO even when ``LOG_LEVEL=DEBUG``: their DEBUG
lines carry message text and people's names.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from gunicorn.glogging import Logger as GunicornLogger

# Slack tokens, GitHub tokens, and "Authorization: …" headers, wherever they appear.
_PATTERNS = re.compile(
    r"(xox[abposr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|gh[pousr]_[A-Za-z0-9]{20,}|"
    r"github_pat_[A-Za-z0-9_]{20,}|(?i:(?:authorization|token)['\"]?\s*[:=]\s*['\"]?"
    r"(?:bearer |token )?)[^\s'\",}]+)"
)

# They log whole HTTP requests and answers at DEBUG (users.info: real names; events: text).
CHATTY_LIBRARIES = ("slack_sdk", "slack_bolt", "github", "urllib3", "requests")

# The attributes every LogRecord has; anything else was passed with ``extra=``.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s and len(s) >= 6]

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "********")
        return _PATTERNS.sub("********", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self.redact(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        for key, value in list(vars(record).items()):
            if key not in _STANDARD and isinstance(value, str):
                setattr(record, key, self.redact(value))
        return True


class JsonLines(logging.Formatter):
    """``{"time": …, "level": …, "logger": …, "message": …, <extra fields>, "exc": …}``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, int | float | bool | None) else str(value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(
    level: str, secrets: Iterable[str] = (), *, file: str | os.PathLike[str] | None = None
) -> None:
    """Log lines on stderr, or in ``file`` (the console: logs stay out of the conversation)."""
    handler: logging.Handler = (
        logging.FileHandler(file, encoding="utf-8") if file else logging.StreamHandler()
    )
    handler.setFormatter(JsonLines())
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    floor = max(logging.getLevelName(level.upper()), logging.INFO)
    for name in CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(floor)
    # Alembic tells every plugin it sets up and every step of a migration at INFO: start-up
    # chatter. bot.storage.database.migrate says in one line what changed; DEBUG shows all.
    logging.getLogger("alembic").setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)


class GunicornLogs(GunicornLogger):
    """gunicorn's error and access logs, through the root handler (same format, same filter).

    The access line says what was asked and answered — method, path without its query,
    status, size, time, and why a request was refused — never a body or a header's value.
    """

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for logger in (self.error_log, self.access_log):
            for handler in list(logger.handlers):
                logger.removeHandler(handler)
            logger.propagate = True

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if not self.access_log_enabled:
            return
        from bot.serving.wsgi import REFUSED

        status = getattr(resp, "status_code", None) or str(getattr(resp, "status", "")).split()[0]
        fields: dict[str, Any] = {
            "method": environ.get("REQUEST_METHOD", ""),
            "path": environ.get("PATH_INFO", "")[:200],
            "status": int(status) if str(status).isdigit() else str(status),
            "bytes": getattr(resp, "sent", None),
            "ms": round(request_time.total_seconds() * 1000, 1),
        }
        if environ.get(REFUSED):
            fields["refused"] = environ[REFUSED]
        self.access_log.info("request", extra=fields)
