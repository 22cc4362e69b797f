"""The coach: what happens when a learner asks for something, whatever door they used.

Slack listeners and the console parse what the person did into an :class:`Intent`, call
:meth:`Coach.handle`, and render the :class:`Answer`. Nothing here knows about Slack.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.course import replies as r
from bot.course.accounts import clean_login, login_problem
from bot.course.checks import MOVED_BACK, VANISHED_FACTS, CheckResult, Outcome
from bot.course.course import Course, Step
from bot.course.feelings import FEELINGS
from bot.course.glossary import Glossary
from bot.course.intents import Action, Intent
from bot.course.learner import Learner, StepEvent, Tool
from bot.course.ports import CheckContext, LearnerStore, StepChecker
from bot.course.text import LANGUAGES, Text, normalize
from bot.course.verification import (
    EXPIRY_GRACE,
    RETRY_AFTER_TROUBLE,
    REUSE_AT_LEAST,
    AccountVerifier,
    FlowProgress,
    PendingFlow,
    PollStatus,
    renamed_fork,
    same_login,
    slowed_interval,
)
from bot.errors import (
    AccountTaken,
    DeviceFlowRefused,
    GitHubAccountGone,
    GitHubNotFound,
    GitHubRateLimited,
    GitHubUnavailable,
)

log = logging.getLogger(__name__)

# History lines that are not checks (``step_events.outcome``, 16 characters at most).
WELCOMED = "welcomed"
STUCK = "stuck"
VERIFY_STARTED = "code_sent"  # a sign-in code was handed out (device flow)
VERIFIED = "verified"  # the linked account was proven the learner's
CODE_EXPIRED = "code_expired"
CODE_DENIED = "code_denied"
LINK_REFUSED = "link_refused"  # the account is linked to someone else
RENAMED = "renamed"  # the account was renamed on GitHub; the link followed it
ACCOUNT_SHOWN = "account_shown"  # "Is this you?" about a typed login's account
ACCOUNT_DENIED = "account_denied"  # "No, that's not me"
# What ends an open "Is this you?" besides a link (any event that learned an account).
_CLOSES_QUESTION = frozenset({ACCOUNT_DENIED, "unlinked", "restart", VERIFIED})
QUESTION_LIFETIME = timedelta(minutes=30)
# What find_account tells about the account for the learner to recognise it; not stored.
_SHOWN_ONLY = ("github_name", "avatar_url", "created_on")


@dataclass(frozen=True)
class Person:
    """Who is talking, as the transport knows them."""

    team_id: str
    user_id: str


class Coach:
    def __init__(
        self,
        course: Course,
        glossary: Glossary,
        store: LearnerStore,
        checker: StepChecker,
        *,
        default_language: str = "en",
        staff_channel: str | None = None,
        is_staff: Callable[[str], bool] = lambda _user: False,
        retention_days: int = 365,
        verifier: AccountVerifier | None = None,
        require_verified: bool = False,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        what_next: tuple[tuple[Text, str], ...] = (),
    ) -> None:
        self.course = course
        # Links the programme shows after the course (WHAT_NEXT).
        self.what_next = what_next
        self.glossary = glossary
        self.store = store
        self.checker = checker
        self.default_language = default_language
        self.staff_channel = staff_channel
        self.is_staff = is_staff
        self.retention_days = retention_days
        # Set: learners prove their account on GitHub (device flow) when they link it.
        self.verifier = verifier
        # And nothing is checked for a learner whose account is not proven.
        self.require_verified = require_verified and verifier is not None
        self.clock = clock

    # -- who is this ------------------------------------------------------------------

    def learner(
        self,
        person: Person,
        locale: Callable[[], str | None] | None = None,
        name: Callable[[], str | None] | None = None,
    ) -> Learner:
        """The learner behind ``person``, enrolled at the first step if new.

        ``locale`` and ``name`` are only called for a new learner (they may cost a Slack call).
        """
        found = self.store.find(person.team_id, person.user_id)
        if found:
            return found
        language = language_from_locale(locale() if locale else None, self.default_language)
        return self.store.enroll(
            person.team_id,
            person.user_id,
            language,
            self.course.first.id,
            name=name() if name else None,
        )

    def find_id(self, learner_id: int) -> Learner | None:
        """The learner with this id as stored now; None once deleted (forget-me)."""
        return self.store.find_id(learner_id)

    def refreshed(self, learner: Learner) -> Learner:
        """The learner as stored now (an answer may have moved them), or as given if erased."""
        return self.store.find_id(learner.id) or learner

    def known(self, person: Person) -> Learner | None:
        """The learner behind ``person`` if they are one, without enrolling anyone."""
        return self.store.find(person.team_id, person.user_id)

    def language_of(self, person: Person, locale: Callable[[], str | None] | None = None) -> str:
        """The language to answer in, without enrolling anyone (for help and refusals)."""
        found = self.store.find(person.team_id, person.user_id)
        if found:
            return found.language
        return language_from_locale(locale() if locale else None, self.default_language)

    def help_for(
        self, person: Person, intent: Intent, locale: Callable[[], str | None]
    ) -> r.Answer:
        """Help and unknown commands answer anyone, without enrolling them."""
        language = self.language_of(person, locale)
        staff = self.is_staff(person.user_id)
        replies: list[r.Reply] = [r.Help(staff=staff)]
        if intent.action is Action.UNKNOWN:
            replies.insert(0, r.Notice("command.unknown", {"given": intent.argument}))
        return r.Answer(None, tuple(replies), fallback_language=language)

    def notice(self, learner: Learner, key: str) -> r.Answer:
        return r.Answer(learner, (r.Notice(key),))

    def remember_dm(self, learner: Learner, channel: str) -> Learner:
        if learner.dm_channel == channel:
            return learner
        return self.store.update_profile(learner.id, dm_channel=channel)

    def is_new(self, learner: Learner) -> bool:
        """Never welcomed nor checked anything: their first message deserves the welcome."""
        return learner.github_login is None and not self.store.history(learner.id)

    def recheck(
        self, learner: Learner, source: str, hints: Mapping[str, Any] | None = None
    ) -> r.Answer | None:
        """Check again on the learner's behalf (a webhook, the background job).

        Returns the answer only when the step got done: nobody wants an unasked "not yet".
        GitHub being unavailable is left for the next occasion.
        """
        if learner.finished or not learner.github_login or self._must_verify(learner):
            return None
        step = self._current(learner)
        if step.check == "github_account":
            return None
        try:
            learner, result, notes = self._checked(learner, step, source, hints)
        except GitHubUnavailable as trouble:
            log.info("recheck of learner %s postponed: %s", learner.id, trouble.cause)
            return None
        except (GitHubNotFound, GitHubAccountGone) as missing:
            log.info("recheck of learner %s: %s", learner.id, type(missing).__name__)
            return None
        # What a delivery made certain (the fork its sender made) is worth telling too.
        certain = bool(hints) and result.outcome is Outcome.MISTAKE
        if not result.done and result.back_to is None and not certain:
            return None
        # Done, or work that vanished: the learner hears it as if they had clicked Check.
        answer = self._record(learner, step, result, source)
        moved = answer.learner is not None and (
            answer.learner.current_step != learner.current_step or answer.learner.finished
        )
        return _with(notes, answer) if moved or certain else None

    def reminder(self, learner: Learner) -> r.Answer:
        """A nudge: where they are, with the step's buttons."""
        card = self._card(learner)
        facts = {"position": card.position, "total": card.total, "step_id": card.step.id}
        return r.Answer(learner, (r.Notice("nudge.text", facts), card))

    def overview(self, learner: Learner) -> r.Answer:
        """What App Home shows: the checklist and the current step (or the celebration)."""
        if learner.finished:
            return r.Answer(learner, (self._checklist(learner), r.Finished()))
        return r.Answer(learner, (self._checklist(learner), self._card(learner)))

    # -- one entry point --------------------------------------------------------------

    def handle(self, learner: Learner, intent: Intent, source: str) -> r.Answer:
        handlers = {
            Action.START: self._start,
            Action.CHECK: self._check,
            Action.STATUS: self._status,
            Action.HELP: self._help,
            Action.HOW: self._how,
            Action.STUCK: self._stuck,
            Action.EXPLAIN: self._explain,
            Action.LINK: self._link,
            Action.UNLINK: self._unlink,
            Action.VERIFY: self._verify,
            Action.LINK_UNVERIFIED: self._link_unverified,
            Action.THAT_IS_ME: self._that_is_me,
            Action.NOT_ME: self._not_me,
            Action.SMALL_TALK: self._small_talk,
            Action.LANG: self._language,
            Action.TOOL: self._tool,
            Action.RESTART: self._restart,
            Action.PAUSE: self._pause,
            Action.RESUME: self._pause,
            Action.PRIVACY: self._privacy,
            Action.MY_DATA: self._my_data,
            Action.FORGET_ME: self._forget_me,
            Action.FEELING: self._feeling,
            Action.FEELING_COMMENT: self._feeling_comment,
            Action.MENU: self._menu,
            Action.UNKNOWN: self._unknown,
        }
        # Staff commands never reach the coach from Slack; elsewhere they mean nothing.
        return handlers.get(intent.action, self._menu)(learner, intent, source)

    def expects_login(self, learner: Learner) -> bool:
        """True while the learner is at the link step: a lone word in the DM is a login."""
        return self._current(learner).check == "github_account" and not learner.finished

    # -- handlers ---------------------------------------------------------------------

    def _start(self, learner: Learner, intent: Intent, source: str) -> r.Answer:
        if learner.finished:
            return r.Answer(learner, (r.Finished(), self._checklist(learner)))
        returning = not self.is_new(learner)
        if not returning:
            self.store.note(learner.id, learner.current_step, WELCOMED, source)
        # The plan, then the first action; how to talk to me and the data notice after.
        replies: list[r.Reply] = [r.Welcome(returning=returning), self._card(learner)]
        if not returning:
            # Shown once, at the start: what is kept, for how long; `privacy` tells the rest.
            replies += [
                r.Notice("welcome.tips"),
                r.Notice("privacy.short", {"days": self.retention_days}),
            ]
        return r.Answer(learner, tuple(replies), changed=not returning)

    def _check(self, learner: Learner, intent: Intent, source: str) -> r.Answer:
        if learner.finished:
            return r.Answer(learner, (r.Finished(), self._checklist(learner)))
        step = self._current(learner)
        if self._must_verify(learner):
            # The programme asks for proven accounts: nothing is checked before.
            return self._verification(learner, source, intro=r.Notice("verify.required"))
        if step.check == "github_account":
            if learner.github_login:
                # Linked already (e.g. after a restart that kept the login): confirm it still
                # exists rather than asking again.
                return self._run_link(learner, step, learner.github_login, source)
            if self.verifier is not None:
                return self._verification(learner, source)
            return r.Answer(learner, (r.Notice("link.ask"), self._card(learner)))
        try:
            learner, result, notes = self._checked(learner, step, source)
        except GitHubUnavailable as trouble:
            return self._unavailable(learner, step, trouble, source)
        except GitHubAccountGone:
            return r.Answer(
                learner, (r.Notice("link.account_gone", {"login": learner.github_login}),)
            )
        except GitHubNotFound as missing:
            # Not the learner's work (that is a finding of the check): something of ours,
            # such as the practice repository, answers 404. Nothing is recorded against them.
            not_ours = GitHubUnavailable(f"GitHub answered 404 ({missing})")
            return self._unavailable(learner, step, not_ours, source)
        return _with(notes, self._record(learner, step, result, source))

    def _checked(
        self,
        learner: Learner,
        step: Step,
        source: str,
        hints: Mapping[str, Any] | None = None,
    ) -> tuple[Learner, CheckResult, tuple[r.Reply, ...]]:
        """Run the step's check; when it fails, make sure the account was not renamed.

        A renamed account keeps its id: when its login no longer answers, or the check found
        nothing where it looks by login, one question by id tells the account's login today.
        If it changed, the link follows (the learner keeps their progress) and the check runs
        again.
        """
        context = CheckContext(
            learner.github_login, {**learner.facts, **(hints or {})}, step.params
        )
        login = learner.github_login or ""
        missing: GitHubNotFound | None = None
        try:
            result: CheckResult | None = self.checker.run(step.check, context)
        except GitHubNotFound as error:
            result, missing = None, error
        suspicious = (
            result is None
            or (not result.done and self.checker.depends_on_login(step.check))
            # Work found under another login (a pull request found by its fork's id).
            or _seen_elsewhere(result, login)
        )
        if not suspicious or not learner.github_user_id:
            if result is None:
                raise missing or GitHubNotFound(step.check)
            return learner, result, ()
        current = self.checker.account_login(learner.github_user_id)
        if current is None:
            log.info("learner %s: their GitHub account is gone", learner.id)
            raise GitHubAccountGone()
        if same_login(current, learner.github_login):
            if result is None:
                raise missing or GitHubNotFound(step.check)  # something else is missing
            return learner, result, ()
        old = learner.github_login or ""
        learner = self._follow_rename(learner, current, source)
        notes: tuple[r.Reply, ...] = (r.Notice("link.renamed", {"old": old, "login": current}),)
        context = CheckContext(learner.github_login, learner.facts, step.params)
        return learner, self.checker.run(step.check, context), notes

    def _follow_rename(self, learner: Learner, login: str, source: str) -> Learner:
        old = learner.github_login or ""
        facts = dict(learner.facts)
        facts["github_login"] = login
        if facts.get("fork"):
            facts["fork"] = renamed_fork(str(facts["fork"]), old, login)
        log.info("learner %s: their GitHub account was renamed", learner.id)
        return self.store.rename_account(learner.id, login, facts, self._link_step().id, source)

    def _link_step(self) -> Step:
        return self.course.step_with_check("github_account") or self.course.first

    def _must_verify(self, learner: Learner) -> bool:
        return self.require_verified and bool(learner.github_login) and not learner.verified

    # -- linking an account ---------------------------------------------------------------

    def _link(self, learner: Learner, intent: Intent, source: str) -> r.Answer:
        if self.verifier is not None:
            return self._link_verified(learner, intent, source)
        return self._link_typed(learner, intent, source)

    def _link_verified(self, learner: Learner, intent: Intent, source: str) -> r.Answer:
        """With sign-in on GitHub: whichever account approves is linked, whatever was typed."""
        typed = clean_login(intent.argument)
        current = learner.github_login
        if current and (not typed or same_login(typed, current)):
            if learner.verified:
                return r.Answer(learner, (r.Notice("link.already", {"login": current}),))
            intro = r.Notice("verify.prove", {"login": current})
            return self._verification(learner, source, intro=intro)
        if current and not intent.confirmed:
            facts = {"login": current, "new_login": typed}
            return r.Answer(learner, (r.Confirm("link.confirm", "link", typed, facts),))
        valid = bool(typed) and login_problem(typed) is None
        return self._verification(learner, source, typed=typed if valid else None)

    def _link_unverified(self, learner: Learner, intent: Intent, source: str) -> r.Answer:
        """The "link without proving it" button, when the programme allows it."""
        if self.require_verified:
            return self._verification(learner, source, intro=r.Notice("verify.required"))
        self.store.end_flow(learner.id)
        return self._link_typed(learner, replace(intent, action=Action.LINK), source)

    def _verify(self, learner: Learner, intent: Intent, source: str) -> r.Answer:
        """The "new code" and "Connect with GitHub" buttons."""
        if self.verifier is None:
            return self._link(learner, Intent(Action.LINK), source)
        if learner.github_login and learner.verified:
            login = learner.github_login
            return r.Answer(learner, (r.Notice("link.already", {"login": login}),))
        return self._verification(learner, source)

    def _unlink(self, learner: Learner, intent: Intent, source: str) -> r.Answer:
        login = learner.github_login
        if not login:
            self.store.end_flow(learner.id)  # a sign-in under way is given up too
            return r.Answer(learner, (r.Notice("unlink.not_linked"),))
        if not intent.confirmed:
            facts = {"login": login}
            return r.Answer(learner, (r.Confirm("unlink.confirm", Action.UNLINK.value, "", facts),))
        learner = self.store.unlink(learner.id, self._link_step().id, source)
        log.info("learner %s unlinked their GitHub account", learner.id)
        notice = r.Notice("unlink.done", {"login": login})
        return r.Answer(learner, (notice, self._card(learner)), changed=True)

    def _verification(
        self,
        learner: Learner,
        source: str,
        *,
        typed: str | None = None,
        intro: r.Reply | None = None,
    ) -> r.Answer:
        """Show the learner a code to approve on GitHub: the pending one, or a new one."""
        assert self.verifier is not None
        step, now = self._link_step(), self.clock()
        flow = self.store.pending_flow(learner.id)
        if flow is not None and flow.expires_at - now >= REUSE_AT_LEAST:
            progress = self._poll(learner, flow, source)
            if progress.answer is not None:
                return progress.answer
            flow = self.store.pending_flow(learner.id) or flow
            waiting = True
        else:
            try:
                code = self.verifier.start()
            except GitHubUnavailable as trouble:
                return self._unavailable(learner, step, trouble, source)
            except DeviceFlowRefused as refused:
                return self._refused(learner, refused)
            flow = self.store.start_flow(learner.id, code, now)
            self.store.note(learner.id, step.id, VERIFY_STARTED, source)
            waiting = False
        card = r.DeviceCodeCard(
            flow.user_code,
            flow.minutes_left(now),
            waiting=waiting,
            typed_login=typed,
            offer_unverified=bool(typed) and not self.require_verified,
            relink_from=learner.github_login,
        )
        replies = (intro, card) if intro is not None else (card,)
        return r.Answer(learner, replies, awaiting_verification=True)

    def poll_verification(self, learner: Learner, source: str) -> FlowProgress:
        """Ask GitHub about the learner's pending sign-in, if it is time (the transport's
        background polling, or the worker's for sign-ins nobody polls any more)."""
        flow = self.store.pending_flow(learner.id)
        if flow is None or self.verifier is None:
            return FlowProgress(None, None)
        return self._poll(learner, flow, source)

    def _poll(self, learner: Learner, flow: PendingFlow, source: str) -> FlowProgress:
        assert self.verifier is not None
        now = self.clock()
        if now > flow.expires_at + EXPIRY_GRACE:
            # GitHub never said (unreachable?): the code is over all the same, say so.
            return FlowProgress(
                self._flow_ended(learner, flow, "verify.expired", CODE_EXPIRED, source), None
            )
        if flow.next_poll_at > now:
            return FlowProgress(None, flow.next_poll_at)
        interval = timedelta(seconds=flow.interval)
        if not self.store.claim_flow(learner.id, flow.next_poll_at, now + interval):
            # Another process asks GitHub this time.
            current = self.store.pending_flow(learner.id)
            return FlowProgress(None, current.next_poll_at if current else None)
        try:
            result = self.verifier.poll(flow.device_code)
        except GitHubUnavailable as trouble:
            later = self.clock() + max(RETRY_AFTER_TROUBLE, 2 * interval)
            log.info("sign-in of learner %s: GitHub unavailable (%s)", learner.id, trouble.cause)
            self.store.reschedule_flow(learner.id, flow.device_code, flow.interval, later)
            return FlowProgress(None, later)
        except DeviceFlowRefused as refused:
            self.store.end_flow(learner.id, flow.device_code)
            return FlowProgress(self._refused(learner, refused), None)
        if result.status in (PollStatus.PENDING, PollStatus.SLOW_DOWN):
            seconds = flow.interval
            if result.status is PollStatus.SLOW_DOWN:
                seconds = slowed_interval(flow.interval, result.interval)
            later = self.clock() + timedelta(seconds=seconds)
            self.store.reschedule_flow(learner.id, flow.device_code, seconds, later)
            return FlowProgress(None, later)
        if result.status is PollStatus.EXPIRED:
            return FlowProgress(
                self._flow_ended(learner, flow, "verify.expired", CODE_EXPIRED, source), None
            )
        if result.status is PollStatus.DENIED:
            return FlowProgress(
                self._flow_ended(learner, flow, "verify.denied", CODE_DENIED, source), None
            )
        self.store.end_flow(learner.id, flow.device_code)
        assert result.login is not None and result.user_id is not None
        return FlowProgress(self._approved(learner, result.login, result.user_id, source), None)

    def _flow_ended(
        self, learner: Learner, flow: PendingFlow, key: str, kind: str, source: str
    ) -> r.Answer:
        self.store.end_flow(learner.id, flow.device_code)
        self.store.note(learner.id, self._link_step().id, kind, source)
        return r.Answer(learner, (r.FreshCode(key),))

    def _refused(self, learner: Learner, refused: DeviceFlowRefused) -> r.Answer:
        log.error(
            "GitHub refused the device flow (%s): check GITHUB_OAUTH_CLIENT_ID, and that Device "
            "Flow is enabled on the app's settings page",
            refused.error,
        )
        note = r.Notice("verify.refused_staff", {"error": refused.error})
        return r.Answer(learner, (r.Notice("verify.refused"),), staff_notes=(note,))

    def _approved(self, learner: Learner, login: str, user_id: int, source: str) -> r.Answer:
        """GitHub says ``login`` approved: link that account, proven."""
        learner = self.store.get(learner.id)
        step = self._link_step()
        holder = self.store.holder_of(user_id, learner.id)
        if holder is not None and holder.verified:
            return self._refuse_claim(learner, login, user_id, True, holder, source)
        if holder is None:
            return self._link_proven(learner, step, login, user_id, source)
        # A proof beats a typed, unproven claim (issue 13): release it, then link.
        released = self._release_typed_claim(holder, login, source)
        answer = self._link_proven(learner, step, login, user_id, source)
        facts = {"user": learner.slack_user_id, "holder": holder.slack_user_id, "login": login}
        note = r.Notice("link.released_staff", facts)
        return replace(answer, also_tell=(released,), staff_notes=(*answer.staff_notes, note))

    # -- issue 13: a proof beats a typed claim; staff can unlink someone ---------------------

    def _release_typed_claim(self, holder: Learner, login: str, source: str) -> r.Answer:
        """``holder`` typed a login (unproven) that someone else just proved on GitHub is
        theirs: the typed link is released; the answer tells ``holder`` why."""
        step = self._link_step()
        holder = self.store.release_link(holder.id, step.id, source)
        log.warning("a typed GitHub link of learner %s was released by a proof", holder.id)
        notice = r.Notice("link.released", {"login": login})
        return r.Answer(holder, (notice, self._card(holder)), changed=True)

    def unlink_by_staff(self, learner: Learner, source: str = "staff") -> r.Answer:
        """Staff unlinked ``learner``'s account (after confirming): what the learner is told."""
        login = learner.github_login or ""
        learner = self.store.unlink(learner.id, self._link_step().id, source)
        log.info("staff unlinked the GitHub account of learner %s", learner.id)
        notice = r.Notice("unlink.by_staff", {"login": login})
        return r.Answer(learner, (notice, self._card(learner)), changed=True)

    # -- end of issue 13's linking changes ---------------------------------------------------

    def _link_proven(
        self, learner: Learner, step: Step, login: str, user_id: int, source: str
    ) -> r.Answer:
        result = CheckResult.done_with({"github_login": login, "github_user_id": user_id})
        same = learner.github_login is not None and (
            learner.github_user_id == user_id
            or (learner.github_user_id is None and same_login(learner.github_login, login))
        )
        if same:
            learner = self.store.mark_verified(learner.id, login, user_id, step.id, source)
            if learner.finished or learner.current_step != step.id:
                replies: list[r.Reply] = [r.Notice("verify.done", {"login": login})]
                if not learner.finished:
                    replies.append(self._card(learner))
                return r.Answer(learner, tuple(replies), changed=True)
        elif learner.github_login:
            # Another account than the linked one: it owns none of the old fork or branch.
            learner = self.store.restart(learner.id, step.id, keep_login=False, source=source)
        answer = self._record(learner, step, result, source, verified=True)
        if answer.learner is None or not answer.learner.verified:
            return answer  # refused after all (another learner linked it meanwhile)
        return _with((r.Notice("verify.linked", {"login": login}),), answer)

    def _refuse_claim(
        self,
        learner: Learner,
        login: str,
        user_id: int,
        verified: bool,
        holder: Learner | None,
        source: str,
    ) -> r.Answer:
        """One GitHub account, one person: the second claim is refused, and staff are told."""
        facts = {"github_login": login, "github_user_id": user_id, "verified": verified}
        self.store.note(learner.id, self._link_step().id, LINK_REFUSED, source, facts)
        log.warning(
            "learner %s claimed a GitHub account linked to learner %s: refused",
            learner.id,
            holder.id if holder else "?",
        )
        note = r.Notice(
            "link.taken_staff",
            {
                "user": learner.slack_user_id,
                "holder": holder.slack_user_id if holder else "?",
                "login": login,
                "claim_key": "link.claim_verified" if verified else "link.claim_typed",
                "holder_state_key": "report.verified"
                if holder is not None and holder.verified
                else "report.unverified",
            },
        )
        key = "link.taken" if self.staff_channel else "link.taken_no_channel"
        return r.Answer(learner, (r.Notice(key, {"login": login}),), staff_notes=(note,))

    def _link_typed(self, learner: Learner, intent: Intent, source: str) -> r.Answer:
        """Link the login the learner typed, as GitHub spells it: unverified."""
        link_step = self._link_step()
        login = clean_login(intent.argument)
        if not login:
            return r.Answer(learner, (r.Notice("link.usage"),))
        problem = login_problem(login)
        if problem:
            # Nothing is linked; the mistake is still worth a line in the history.
            self.store.record_check(learner.id, link_step.id, problem, source, None)
            return r.Answer(learner, (r.Diagnosed(link_step, problem),))
        current = learner.github_login
        if current and current.lower() == login.lower():
            return r.Answer(learner, (r.Notice("link.already", {"login": current}),))
        if current and not intent.confirmed:
            return r.Answer(
                learner,
                (r.Confirm("link.confirm", "link", login, {"login": current, "new_login": login}),),
            )
        return self._run_link(learner, link_step, login, source, relink=bool(current), confirm=True)

    def _run_link(
        self,
        learner: Learner,
        step: Step,
        login: str,
        source: str,
        *,
        relink: bool = False,
        confirm: bool = False,
    ) -> r.Answer:
        """Look the account up; with ``confirm`` (a typed login), show it and ask "Is this
        you?" rather than linking it: a word is never taken for a person."""
        try:
            result = self.checker.find_account(login)
        except GitHubUnavailable as trouble:
            return self._unavailable(learner, step, trouble, source)
        if not result.done:
            return self._record(learner, step, result, source)
        found = str(result.learned.get("github_login") or login)
        user_id = result.learned.get("github_user_id")
        if isinstance(user_id, int):
            holder = self.store.holder_of(user_id, learner.id)
            if holder is not None:
                return self._refuse_claim(learner, found, user_id, False, holder, source)
        if confirm:
            return self._ask_is_this_you(learner, step, result, source, relink=relink)
        return self._link_account(learner, step, _account_of(result), source, relink=relink)

    # -- "Is this you?": a typed login is linked only once the learner recognises it -------

    def _ask_is_this_you(
        self, learner: Learner, step: Step, result: CheckResult, source: str, *, relink: bool
    ) -> r.Answer:
        login = str(result.learned.get("github_login") or "")
        user_id = result.learned.get("github_user_id")
        if learner.github_user_id is not None and learner.github_user_id == user_id:
            return r.Answer(learner, (r.Notice("link.already", {"login": login}),))
        # The question is kept in the history: only the latest one, recent, can be answered.
        asked = {"github_login": login, "github_user_id": user_id, "relink": relink}
        self.store.note(learner.id, step.id, ACCOUNT_SHOWN, source, asked)
        card = r.AccountCard(
            login=login,
            github_user_id=int(user_id) if isinstance(user_id, int) else 0,
            name=str(result.learned.get("github_name") or ""),
            avatar_url=str(result.learned.get("avatar_url") or ""),
            created_on=str(result.learned.get("created_on") or ""),
            asker=learner.slack_user_id,
            relink_from=learner.github_login if relink else None,
        )
        return r.Answer(learner, (card,))

    def _that_is_me(self, learner: Learner, intent: Intent, source: str) -> r.Answer:
        """*Yes, that's me*: link the account shown, if the question is the asker's and current."""
        answer = _parse_answer(intent.argument)
        step = self._link_step()
        if answer is None or answer.get("asker") != learner.slack_user_id:
            return r.Answer(learner, (r.Notice("link.not_your_question"),))
        if learner.github_user_id is not None and learner.github_user_id == answer.get("id"):
            # A second click on the same Yes.
            login = learner.github_login or ""
            return r.Answer(learner, (r.Notice("link.already", {"login": login}),))
        question = self._current_question(learner)
        if question is None or question.facts.get("github_user_id") != answer.get("id"):
            return r.Answer(learner, (r.Notice("link.question_expired"), self._card(learner)))
        login = str(question.facts.get("github_login") or "")
        user_id = int(question.facts["github_user_id"])
        holder = self.store.holder_of(user_id, learner.id)
        if holder is not None:
            return self._refuse_claim(learner, login, user_id, False, holder, source)
        result = CheckResult.done_with({"github_login": login, "github_user_id": user_id})
        relink = bool(question.facts.get("relink")) and learner.github_login is not None
        return self._link_account(learner, step, result, source, relink=relink)

    def _not_me(self, learner: Learner, intent: Intent, source: str) -> r.Answer:
        """*No*: nothing is linked; where to find one's login."""
        answer = _parse_answer(intent.argument)
        if answer is None or answer.get("asker") != learner.slack_user_id:
            return r.Answer(learner, (r.Notice("link.not_your_question"),))
        question = self._current_question(learner)
        if question is not None:
            self.store.note(learner.id, self._link_step().id, ACCOUNT_DENIED, source, {})
        return r.Answer(learner, (r.Notice("link.not_me"),))

    def _current_question(self, learner: Learner) -> StepEvent | None:
        """The latest "Is this you?" if it is still open: not answered, not older than
        QUESTION_LIFETIME, and no account linked or unlinked since."""
        for event in reversed(self.store.history(learner.id)):
            if event.outcome == ACCOUNT_SHOWN:
                fresh = self.clock() - _aware(event.created_at) <= QUESTION_LIFETIME
                return event if fresh else None
            if event.outcome in _CLOSES_QUESTION or "github_user_id" in event.facts:
                return None
        return None

    def _link_account(
        self, learner: Learner, step: Step, result: CheckResult, source: str, *, relink: bool
    ) -> r.Answer:
        """Link the account ``result`` found (typed: unverified)."""
        user_id = result.learned.get("github_user_id")
        same_account = user_id is not None and user_id == learner.github_user_id
        if relink and not same_account:
            # A new account owns none of the old fork, branch or pull request.
            learner = self.store.restart(learner.id, step.id, keep_login=False, source=source)
        # A typed login proves nothing; the same account, retyped, stays as proven as it was.
        verified = learner.verified and same_account
        return self._record(learner, step, result, source, verified=verified)

    # -- answers and courtesies --------------------------------------------------------------

    def _small_talk(self, learner: Learner, intent: Intent, source: str) -> r.Answer:
        """ "oui", "merci", "test"…: answered for what they are, never looked up on GitHub."""
        kind = intent.argument if intent.argument in ("yes", "no", "thanks", "test") else "yes"
        if learner.finished:
            return r.Answer(learner, (r.Notice(f"talk.{kind}"), r.Finished()))
        if self.expects_login(learner) and not learner.github_login:
            return r.Answer(learner, (r.Notice(f"talk.{kind}_link"),))
        return r.Answer(learner, (r.Notice(f"talk.{kind}"), self._card(learner)))

    def _record(
        self,
        learner: Learner,
        step: Step,
        result: CheckResult,
        source: str,
        *,
        verified: bool | None = None,
    ) -> r.Answer:
        if result.back_to is not None:
            moved = self._move_back(learner, step, result, source)
            if moved is not None:
                return moved
        following = self.course.next_after(step.id)
        at_step = learner.current_step == step.id
        try:
            learner = self.store.record_check(
                learner.id,
                step.id,
                result,
                source,
                following.id if following else None,
                verified=verified,
            )
        except AccountTaken as taken:
            # Linked to someone else between our look and the write.
            login = str(result.learned.get("github_login") or "")
            holder = self.store.holder_of(taken.github_user_id, learner.id)
            return self._refuse_claim(
                learner, login, taken.github_user_id, bool(verified), holder, source
            )
        if not result.done:
            return r.Answer(learner, (r.Diagnosed(step, result),), changed=True)
        replies: list[r.Reply] = [r.Success(step)]
        if result.diagnoses:
            replies.append(r.Diagnosed(step, result))
        if not at_step:
            # Done again (a relink, a second click): show where they really are.
            replies.append(self._card(learner))
        elif learner.finished:
            replies += [r.FeelingAsk(step), r.Finished()]
            if self.what_next:
                replies.append(r.WhatNext(self.what_next))
            replies += [self._checklist(learner), r.Diagram()]
        else:
            # The picture shows what just got done and what comes next.
            replies += [r.FeelingAsk(step), self._card(learner), r.Diagram()]
        return r.Answer(learner, tuple(replies), changed=True)

    def _move_back(
        self, learner: Learner, step: Step, result: CheckResult, source: str
    ) -> r.Answer | None:
        """Work of an earlier step vanished (a deleted fork or branch): say what is gone and
        go back to that step, the one case where progress moves back."""
        target = self.course.step_with_check(result.back_to or "")
        if target is None or self.course.position(target.id) >= self.course.position(step.id):
            return None
        forget: set[str] = set()
        for check, keys in VANISHED_FACTS.items():
            owner = self.course.step_with_check(check)
            if owner is not None and self.course.position(owner.id) >= self.course.position(
                target.id
            ):
                forget.update(keys)
        learner = self.store.move_back(learner.id, step.id, target.id, result, source, forget)
        log.info("learner %s: the work of step %s vanished, back there", learner.id, target.id)
        if learner.current_step != target.id:
            return r.Answer(learner, (r.Diagnosed(target, result),))
        return r.Answer(learner, (r.Diagnosed(target, result), self._card(learner)), changed=True)

    def _unavailable(
        self, learner: Learner, step: Step, trouble: GitHubUnavailable, source: str
    ) -> r.Answer:
        log.warning("GitHub unavailable while checking step %s: %s", step.id, trouble.cause)
        self.store.record_check(learner.id, step.id, CheckResult(Outcome.UNAVAILABLE), source, None)
        reply = r.GitHubTrouble(trouble.retry_at, isinstance(trouble, GitHubRateLimited))
        return r.Answer(learner, (reply,))

    def _status(self, learner: Learner, intent: Intent, source: str) -> r.Answer:
        replies: list[r.Reply] = [self._checklist(learner)]
        if not learner.finished:
            replies.append(self._card(learner))
        return r.Answer(learner, tuple(replies))

    def _help(self, learner: Learner, intent: Intent, source: str) -> r.Answer:
        return r.Answer(learner, (r.Help(staff=self.is_staff(learner.slack_user_id)),))

    def _menu(self, learner: Learner, intent: Intent, source: str) -> r.Answer:
        return r.Answer(learner, (r.Menu(),))

    def _unknown(self, learner: Learner, intent: Intent, source: str) -> r.Answer:
        staff = self.is_staff(learner.slack_user_id)
        notice = r.Notice("command.unknown", {"given": intent.argument})
        return r.Answer(learner, (notice, r.Help(staff=staff)))

    def _how(self, learner: Learner, intent: Intent, source: str) -> r.Answer:
        if learner.finished:
            return r.Answer(learner, (r.Finished(),))
        return r.Answer(learner, (r.HowTo(self._current(learner), learner.tool), r.Diagram()))

    def _feeling(self, learner: Learner, intent: Intent, source: str) -> r.Answer:
        """One click after a step: easy, OK or hard. A second click replaces the first."""
        step_id, feeling = _pair(intent.argument)
        if feeling not in FEELINGS:
            return r.Answer(learner, (r.Menu(),))
        if not self._known_step(step_id):
            return r.Answer(learner, (r.Notice("feeling.unknown_step"),))
        self.store.record_feeling(learner.id, step_id, feeling)
        return r.Answer(learner, (r.FeelingNoted(self.course.step(step_id), feeling),))

    def _feeling_comment(self, learner: Learner, intent: Intent, source: str) -> r.Answer:
        step_id, text = _pair(intent.argument)
        if not self._known_step(step_id):
            return r.Answer(learner, (r.Notice("feeling.unknown_step"),))
        if not text.strip():
            return r.Answer(learner, (r.Notice("feeling.comment_empty"),))
        self.store.record_feeling(learner.id, step_id, None, text)
        return r.Answer(learner, (r.Notice("feeling.comment_thanks"),))

    def _known_step(self, step_id: str) -> bool:
        return any(s.id == step_id for s in self.course.all_steps)

    def _stuck(self, learner: Learner, intent: Intent, source: str) -> r.Answer:
        step = self._current(learner)
        self.store.note(learner.id, step.id, STUCK, source)
        position, total = self._position(step)
        alerts = (r.StaffAlert(learner, step, position, total),) if self.staff_channel else ()
        return r.Answer(learner, (r.StuckHelp(step, self.staff_channel),), alerts)

    def _explain(self, learner: Learner, intent: Intent, source: str) -> r.Answer:
        terms = ", ".join(sorted(e.term(learner.language) for e in self.glossary.entries.values()))
        if not intent.argument.strip():
            return r.Answer(learner, (r.Notice("explain.usage", {"terms": terms}),))
        entry = self.glossary.entries.get(intent.argument) or self.glossary.lookup(intent.argument)
        if entry is None:
            word = intent.argument.strip()[:40]
            return r.Answer(learner, (r.Notice("explain.unknown", {"word": word, "terms": terms}),))
        return r.Answer(learner, (r.Explanation(entry),))

    def _language(self, learner: Learner, intent: Intent, source: str) -> r.Answer:
        wanted = normalize(intent.argument)[:2]
        aliases = {"fr": "fr", "en": "en", "an": "en"}
        language = aliases.get(wanted)
        if language not in LANGUAGES:
            return r.Answer(learner, (r.Notice("lang.usage"),))
        learner = self.store.update_profile(learner.id, language=language)
        return r.Answer(learner, (r.Notice("lang.changed"),), changed=True)

    def _tool(self, learner: Learner, intent: Intent, source: str) -> r.Answer:
        try:
            tool = Tool(normalize(intent.argument))
        except ValueError:
            return r.Answer(learner, (r.Notice("tool.usage"),))
        learner = self.store.update_profile(learner.id, tool=tool)
        replies: list[r.Reply] = [r.Notice("tool.changed", {"tool_key": f"tool.{tool.value}"})]
        if not learner.finished:
            replies.append(r.HowTo(self._current(learner), tool))
        return r.Answer(learner, tuple(replies), changed=True)

    def _restart(self, learner: Learner, intent: Intent, source: str) -> r.Answer:
        if not intent.confirmed:
            return r.Answer(learner, (r.Confirm("restart.confirm", "restart"),))
        keep = learner.github_login is not None
        first = self.course.first
        following = self.course.next_after(first.id) if keep else None
        learner = self.store.restart(
            learner.id, following.id if following else first.id, keep_login=keep, source=source
        )
        return r.Answer(learner, (r.Notice("restart.done"), self._card(learner)), changed=True)

    def _pause(self, learner: Learner, intent: Intent, source: str) -> r.Answer:
        paused = intent.action is Action.PAUSE
        learner = self.store.set_paused(learner.id, paused)
        return r.Answer(learner, (r.Notice("pause.done" if paused else "resume.done"),))

    def _privacy_notice(self) -> r.Notice:
        return r.Notice("privacy.notice", {"days": self.retention_days})

    def _privacy(self, learner: Learner, intent: Intent, source: str) -> r.Answer:
        return r.Answer(learner, (self._privacy_notice(),))

    def _my_data(self, learner: Learner, intent: Intent, source: str) -> r.Answer:
        data = self.store.export(learner.id)
        content = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True).encode()
        export = r.FileOut("prcoach-my-data.json", content, "mydata.title")
        return r.Answer(learner, (r.Notice("mydata.sent"),), files=(export,))

    def _forget_me(self, learner: Learner, intent: Intent, source: str) -> r.Answer:
        if not intent.confirmed:
            return r.Answer(learner, (r.Confirm("forget.confirm", Action.FORGET_ME.value),))
        language = learner.language
        self.store.forget(learner.id)
        log.info("learner %s erased their data", learner.id)
        return r.Answer(
            None,
            (r.Notice("forget.done"),),
            fallback_language=language,
            staff_notes=(r.Notice("forget.staff"),),
            erased_user=learner.slack_user_id,
        )

    # -- pieces -----------------------------------------------------------------------

    def current_step(self, learner: Learner) -> Step:
        return self._current(learner)

    def _current(self, learner: Learner) -> Step:
        if self.course.has_step(learner.current_step):
            return self.course.step(learner.current_step)
        # The course changed under a learner (a step removed): resume at the last step
        # that still exists before it, or at the start.
        log.warning("learner %s is at unknown step %s", learner.id, learner.current_step)
        return self.course.first

    def _position(self, step: Step) -> tuple[int, int]:
        steps = self.course.steps
        position = self.course.position(step.id) if self.course.has_step(step.id) else 1
        return position, len(steps)

    def _card(self, learner: Learner) -> r.StepCard:
        step = self._current(learner)
        position, total = self._position(step)
        verify = self.verifier is not None and step.check == "github_account"
        return r.StepCard(step, position, total, self.course.minutes_left(step.id), verify)

    def _checklist(self, learner: Learner) -> r.Checklist:
        done_at: dict[str, object] = {}
        steps = [s.id for s in self.course.steps]
        for event in self.store.history(learner.id):
            if event.outcome in ("restart", MOVED_BACK) and event.step_id in steps:
                # Steps from the restart point on must be done again; earlier ones stay done.
                for step_id in steps[steps.index(event.step_id) :]:
                    done_at.pop(step_id, None)
            elif event.outcome == Outcome.DONE.value:
                done_at.setdefault(event.step_id, event.created_at)
        current = None if learner.finished else self._current(learner).id
        current_index = steps.index(current) if current in steps else None
        rows = []
        for index, step in enumerate(self.course.steps):
            passed = current_index is None or index < current_index
            when = done_at.get(step.id) if passed else None
            rows.append(r.ChecklistRow(step, passed, when, step.id == current))  # type: ignore[arg-type]
        verified = learner.verified if self.verifier is not None else None
        return r.Checklist(tuple(rows), learner.github_login, verified)


def _seen_elsewhere(result: CheckResult, login: str) -> bool:
    seen = result.learned.get("seen_login")
    return isinstance(seen, str) and bool(seen) and not same_login(seen, login)


def _account_of(result: CheckResult) -> CheckResult:
    """``result`` without what was only for showing the account (name, picture, date)."""
    kept = {k: v for k, v in result.learned.items() if k not in _SHOWN_ONLY}
    return replace(result, learned=kept)


def _parse_answer(value: str) -> dict[str, object] | None:
    try:
        data = json.loads(value)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _aware(moment: datetime) -> datetime:
    """Databases may hand back naive UTC datetimes."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _pair(argument: str) -> tuple[str, str]:
    """The JSON ``[step id, value]`` a feeling button or box carries; blanks if malformed."""
    try:
        first, second = json.loads(argument)
    except (ValueError, TypeError):
        return "", ""
    return (str(first), str(second)) if isinstance(first, str) else ("", "")


def _with(notes: tuple[r.Reply, ...], answer: r.Answer) -> r.Answer:
    """``answer`` with ``notes`` shown first."""
    return replace(answer, replies=(*notes, *answer.replies)) if notes else answer


def language_from_locale(locale: str | None, default: str) -> str:
    """Slack locales look like ``fr-FR`` or ``en-GB``."""
    prefix = (locale or "").split("-")[0].lower()
    return prefix if prefix in LANGUAGES else default
