"""A learner and the history of their checks, as the rest of the domain sees them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Tool(StrEnum):
    """How the learner prefers to work; instructions follow it, checks do not care."""

    WEB = "web"
    DESKTOP = "desktop"
    CLI = "cli"


@dataclass(frozen=True)
class Learner:
    id: int
    team_id: str
    slack_user_id: str
    language: str
    current_step: str
    created_at: datetime
    step_started_at: datetime
    last_activity_at: datetime
    tool: Tool = Tool.WEB
    github_login: str | None = None
    # GitHub's numeric id of the account: it stays when the account is renamed.
    github_user_id: int | None = None
    # The learner proved on GitHub that the account is theirs (device flow).
    verified: bool = False
    # What checks learned and later steps need: fork, branch, pull request…
    facts: Mapping[str, Any] = field(default_factory=dict)
    dm_channel: str | None = None
    cohort: str | None = None
    finished_at: datetime | None = None
    last_diagnosis: str | None = None
    name: str | None = None
    paused: bool = False
    nudged_at: datetime | None = None
    erased_at: datetime | None = None
    watch_at: datetime | None = None
    watch_etag: str | None = None

    @property
    def finished(self) -> bool:
        return self.finished_at is not None


@dataclass(frozen=True)
class StepEvent:
    """One recorded check: what was checked, when, with what outcome and diagnosis."""

    step_id: str
    outcome: str
    diagnosis: str | None
    facts: Mapping[str, Any]
    source: str
    created_at: datetime
