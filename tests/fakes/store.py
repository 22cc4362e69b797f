"""An in-memory store: every storage port of the domain (``bot.course.ports``), in a dict.

For the fast tier only: the SQL store is tested against real SQLite and PostgreSQL in
``tests/storage``. Kept faithful to its contract (the ports' docstrings): a move happens only
from the step the learner is at, one GitHub account per learner, compare-and-set claims.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.course.checks import CheckResult, Outcome
from bot.course.learner import Learner, StepEvent, Tool
from bot.course.ports import PendingMessage
from bot.course.review import Followed
from bot.course.verification import DeviceCode, PendingFlow
from bot.errors import AccountTaken


class Clock:
    """Time that moves only when a test says so."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime(2025, 3, 4, 10, 0, tzinfo=UTC)  # a Tuesday morning

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


class InMemoryStore:
    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self.clock = clock or Clock()
        self.learners: dict[int, Learner] = {}
        self.events: dict[int, list[StepEvent]] = {}
        self.flows: dict[int, PendingFlow] = {}
        self.outbox: dict[int, PendingMessage] = {}
        self.deliveries: dict[str, datetime] = {}
        self._ids = 0

    def _next_id(self) -> int:
        self._ids += 1
        return self._ids

    def _save(self, learner: Learner, **changes: Any) -> Learner:
        saved = replace(learner, **changes)
        self.learners[saved.id] = saved
        return saved

    def _event(self, learner_id: int, step_id: str, outcome: str, source: str, **kw: Any) -> None:
        event = StepEvent(
            step_id,
            outcome,
            kw.get("diagnosis"),
            dict(kw.get("facts") or {}),
            source,
            self.clock(),
        )
        self.events.setdefault(learner_id, []).append(event)

    # -- LearnerStore -------------------------------------------------------------------------

    def find(self, team_id: str, slack_user_id: str) -> Learner | None:
        return next(
            (
                x
                for x in self.learners.values()
                if (x.team_id, x.slack_user_id) == (team_id, slack_user_id)
            ),
            None,
        )

    def get(self, learner_id: int) -> Learner:
        return self.learners[learner_id]

    def find_id(self, learner_id: int) -> Learner | None:
        return self.learners.get(learner_id)

    def find_by_login(self, github_login: str) -> list[Learner]:
        wanted = github_login.lower()
        return [x for x in self.learners.values() if (x.github_login or "").lower() == wanted]

    def find_by_user_id(self, github_user_id: int) -> list[Learner]:
        return [x for x in self.learners.values() if x.github_user_id == github_user_id]

    def holder_of(self, github_user_id: int, other_than: int) -> Learner | None:
        return next(
            (
                x
                for x in self.learners.values()
                if x.github_user_id == github_user_id and x.id != other_than and not x.erased_at
            ),
            None,
        )

    def enroll(
        self,
        team_id: str,
        slack_user_id: str,
        language: str,
        first_step: str,
        *,
        name: str | None = None,
        cohort: str | None = None,
    ) -> Learner:
        found = self.find(team_id, slack_user_id)
        if found:
            return found
        now = self.clock()
        learner = Learner(
            self._next_id(), team_id, slack_user_id, language, first_step, now, now, now,
            name=name, cohort=cohort,
        )  # fmt: skip
        self.learners[learner.id] = learner
        return learner

    def update_profile(
        self,
        learner_id: int,
        *,
        language: str | None = None,
        tool: Tool | None = None,
        dm_channel: str | None = None,
    ) -> Learner:
        learner = self.learners[learner_id]
        return self._save(
            learner,
            language=language or learner.language,
            tool=tool or learner.tool,
            dm_channel=dm_channel or learner.dm_channel,
        )

    def record_check(
        self,
        learner_id: int,
        step_id: str,
        result: CheckResult,
        source: str,
        advance_to: str | None,
        *,
        verified: bool | None = None,
    ) -> Learner:
        now = self.clock()
        learner = self.learners[learner_id]
        diagnosis = result.main_diagnosis
        user_id = result.learned.get("github_user_id")
        linking = result.outcome is not Outcome.UNAVAILABLE and isinstance(user_id, int)
        if linking and isinstance(user_id, int) and self.holder_of(user_id, learner_id):
            raise AccountTaken(user_id)
        self._event(
            learner_id,
            step_id,
            result.outcome.value,
            source,
            diagnosis=diagnosis.code if diagnosis else None,
            facts={**result.learned, **(dict(diagnosis.facts) if diagnosis else {})},
        )
        changes: dict[str, Any] = {"last_activity_at": now}
        if result.outcome is Outcome.UNAVAILABLE:
            return self._save(learner, **changes)
        changes["last_diagnosis"] = diagnosis.code if diagnosis else None
        if "github_login" in result.learned:
            changes["github_login"] = result.learned["github_login"]
        if linking:
            changes["github_user_id"] = user_id
            if verified is not None:
                changes["verified"] = verified
        if result.learned:
            changes["facts"] = {**learner.facts, **result.learned}
        if result.done and learner.current_step == step_id and learner.finished_at is None:
            if advance_to is None:
                changes["finished_at"] = now
            else:
                changes.update(
                    current_step=advance_to, step_started_at=now, watch_at=now, watch_etag=None
                )
        return self._save(learner, **changes)

    def note(
        self,
        learner_id: int,
        step_id: str,
        kind: str,
        source: str,
        facts: Mapping[str, Any] | None = None,
    ) -> None:
        self._save(self.learners[learner_id], last_activity_at=self.clock())
        self._event(learner_id, step_id, kind, source, facts=facts)

    def mark_verified(
        self, learner_id: int, login: str, github_user_id: int, step_id: str, source: str
    ) -> Learner:
        if self.holder_of(github_user_id, learner_id):
            raise AccountTaken(github_user_id)
        learner = self.learners[learner_id]
        self._event(learner_id, step_id, "verified", source)
        return self._save(
            learner,
            github_login=login,
            github_user_id=github_user_id,
            verified=True,
            facts={**learner.facts, "github_login": login},
        )

    def rename_account(
        self, learner_id: int, login: str, facts: Mapping[str, Any], step_id: str, source: str
    ) -> Learner:
        self._event(learner_id, step_id, "renamed", source)
        learner = self.learners[learner_id]
        return self._save(learner, github_login=login, facts=dict(facts), watch_etag=None)

    def unlink(self, learner_id: int, first_step: str, source: str) -> Learner:
        self.flows.pop(learner_id, None)
        return self._start_over(learner_id, first_step, "unlinked", False, source)

    def restart(
        self, learner_id: int, first_step: str, *, keep_login: bool, source: str = "learner"
    ) -> Learner:
        return self._start_over(learner_id, first_step, "restart", keep_login, source)

    def _start_over(
        self, learner_id: int, first_step: str, kind: str, keep_login: bool, source: str
    ) -> Learner:
        now = self.clock()
        learner = self.learners[learner_id]
        login = learner.github_login if keep_login else None
        self._event(learner_id, first_step, kind, source)
        return self._save(
            learner,
            facts={"github_login": login} if login else {},
            github_login=login,
            github_user_id=learner.github_user_id if keep_login else None,
            verified=learner.verified if keep_login else False,
            current_step=first_step,
            step_started_at=now,
            last_activity_at=now,
            finished_at=None,
            last_diagnosis=None,
        )

    def start_flow(self, learner_id: int, code: DeviceCode, now: datetime) -> PendingFlow:
        flow = PendingFlow(
            learner_id,
            code.device_code,
            code.user_code,
            code.interval,
            now + timedelta(seconds=code.expires_in),
            now + timedelta(seconds=code.interval),
            now,
        )
        self.flows[learner_id] = flow
        return flow

    def pending_flow(self, learner_id: int) -> PendingFlow | None:
        return self.flows.get(learner_id)

    def pending_flows(
        self, due_before: datetime | None = None, limit: int = 200
    ) -> list[PendingFlow]:
        flows = sorted(self.flows.values(), key=lambda f: f.next_poll_at)
        return [f for f in flows if due_before is None or f.next_poll_at <= due_before][:limit]

    def claim_flow(self, learner_id: int, seen: datetime, until: datetime) -> bool:
        flow = self.flows.get(learner_id)
        if flow is None or flow.next_poll_at != seen:
            return False
        self.flows[learner_id] = replace(flow, next_poll_at=until)
        return True

    def reschedule_flow(
        self, learner_id: int, device_code: str, interval: int, next_at: datetime
    ) -> None:
        flow = self.flows.get(learner_id)
        if flow is not None and flow.device_code == device_code:
            self.flows[learner_id] = replace(flow, interval=interval, next_poll_at=next_at)

    def end_flow(self, learner_id: int, device_code: str | None = None) -> None:
        flow = self.flows.get(learner_id)
        if flow is not None and device_code in (None, flow.device_code):
            del self.flows[learner_id]

    def history(self, learner_id: int) -> list[StepEvent]:
        return list(self.events.get(learner_id, []))

    def set_paused(self, learner_id: int, paused: bool) -> Learner:
        return self._save(self.learners[learner_id], paused=paused)

    def export(self, learner_id: int) -> dict[str, Any]:
        return {"learner": {"id": learner_id}, "step_events": self.history(learner_id)}

    def forget(self, learner_id: int) -> None:
        self.learners.pop(learner_id, None)
        self.events.pop(learner_id, None)
        self.flows.pop(learner_id, None)

    # -- CohortStore --------------------------------------------------------------------------

    def snapshot(
        self, cohort: str | None = None
    ) -> tuple[list[Learner], dict[int, dict[str, datetime]]]:
        learners = [x for x in self.learners.values() if cohort is None or x.cohort == cohort]
        done: dict[int, dict[str, datetime]] = {}
        for learner in learners:
            for event in self.events.get(learner.id, []):
                if event.outcome == Outcome.DONE.value:
                    done.setdefault(learner.id, {})[event.step_id] = event.created_at
        return learners, done

    def follows(self, cohort: str | None = None) -> dict[int, Followed]:
        return {}  # pull requests after they are opened: not kept by this store

    def step_statistics(
        self, cohort: str | None = None
    ) -> tuple[dict[int, dict[str, str]], dict[str, dict[str, int]]]:
        found: dict[str, dict[str, int]] = {}
        for learner_id, events in self.events.items():
            learner = self.learners.get(learner_id)
            if learner is None or (cohort is not None and learner.cohort != cohort):
                continue
            for event in events:
                if event.diagnosis:
                    counts = found.setdefault(event.step_id, {})
                    counts[event.diagnosis] = counts.get(event.diagnosis, 0) + 1
        return {}, found

    def idle_learners(self, idle_since: datetime) -> list[Learner]:
        return [
            x
            for x in self.learners.values()
            if not x.finished
            and not x.paused
            and x.step_started_at < idle_since
            and (x.github_login or x.dm_channel)
        ]

    def claim_nudge(self, learner_id: int, now: datetime, not_since: datetime) -> bool:
        learner = self.learners[learner_id]
        if learner.nudged_at is not None and learner.nudged_at >= not_since:
            return False
        self._save(learner, nudged_at=now)
        return True

    def erase_identities(
        self, *, inactive_before: datetime | None = None, cohort: str | None = None
    ) -> int:
        erased = 0
        for learner in list(self.learners.values()):
            if learner.erased_at or (cohort is not None and learner.cohort != cohort):
                continue
            if inactive_before is not None and learner.last_activity_at >= inactive_before:
                continue
            self._save(
                learner,
                team_id="",
                slack_user_id=f"erased-{learner.id}",
                name=None,
                github_login=None,
                github_user_id=None,
                facts={},
                dm_channel=None,
                erased_at=self.clock(),
            )
            erased += 1
        return erased

    def count_cohort(self, cohort: str) -> int:
        return sum(1 for x in self.learners.values() if x.cohort == cohort and not x.erased_at)

    # -- WatchStore ---------------------------------------------------------------------------

    def due_to_watch(self, now: datetime, limit: int) -> list[Learner]:
        due = [
            x
            for x in self.learners.values()
            if x.watch_at is not None
            and x.watch_at <= now
            and not x.finished
            and not x.paused
            and not x.erased_at
            and x.github_login
        ]
        return sorted(due, key=lambda x: x.watch_at or now)[:limit]

    def claim_watch(self, learner_id: int, seen: datetime, then: datetime | None) -> bool:
        learner = self.learners[learner_id]
        if learner.watch_at != seen:
            return False
        self._save(learner, watch_at=then)
        return True

    def schedule_watch(self, learner_id: int, at: datetime | None, etag: str | None) -> None:
        self._save(self.learners[learner_id], watch_at=at, watch_etag=etag)

    # -- RetryQueue and DeliveryLog -----------------------------------------------------------

    def enqueue_message(
        self, channel: str, text: str, blocks: list[Any], learner_id: int | None, error: str
    ) -> None:
        message_id = self._next_id()
        when = self.clock() + timedelta(minutes=1)
        self.outbox[message_id] = PendingMessage(
            message_id, learner_id, channel, text, blocks, 1, when
        )

    def due_messages(self, now: datetime, limit: int = 50) -> list[PendingMessage]:
        return sorted((m for m in self.outbox.values() if m.next_at <= now), key=lambda m: m.id)[
            :limit
        ]

    def claim_message(self, message_id: int, seen: datetime, until: datetime) -> bool:
        message = self.outbox.get(message_id)
        if message is None or message.next_at != seen:
            return False
        self.outbox[message_id] = replace(message, next_at=until, attempts=message.attempts + 1)
        return True

    def message_sent(self, message_id: int) -> None:
        self.outbox.pop(message_id, None)

    def message_failed(self, message_id: int, error: str) -> None:
        pass  # the error code is for support; the schedule was moved by the claim

    def claim_delivery(self, key: str) -> bool:
        if key in self.deliveries:
            return False
        self.deliveries[key] = self.clock()
        return True

    def forget_deliveries_before(self, moment: datetime) -> int:
        old = [key for key, when in self.deliveries.items() if when < moment]
        for key in old:
            del self.deliveries[key]
        return len(old)
