"""The coach: what happens when a learner asks for something, whatever door they used.

Slack listeners and the console parse what the person did into an :class:`Intent`, call
:meth:`Coach.handle`, and render the :class:`Answer`. Nothing here knows about Slack.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

from bot.course import replies as r
from bot.course.accounts import clean_login, login_problem
from bot.course.checks import CheckResult, Outcome
from bot.course.course import Course, Step
from bot.course.glossary import Glossary
from bot.course.intents import Action, Intent
from bot.course.learner import Learner, Tool
from bot.course.ports import CheckContext, LearnerStore, StepChecker
from bot.course.text import LANGUAGES, normalize
from bot.errors import GitHubRateLimited, GitHubUnavailable

log = logging.getLogger(__name__)

# History lines that are not checks.
WELCOMED = "welcomed"
STUCK = "stuck"


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
    ) -> None:
        self.course = course
        self.glossary = glossary
        self.store = store
        self.checker = checker
        self.default_language = default_language
        self.staff_channel = staff_channel
        self.is_staff = is_staff
        self.retention_days = retention_days

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

    def recheck(self, learner: Learner, source: str) -> r.Answer | None:
        """Check again on the learner's behalf (a webhook, the background job).

        Returns the answer only when the step got done: nobody wants an unasked "not yet".
        GitHub being unavailable is left for the next occasion.
        """
        if learner.finished or not learner.github_login:
            return None
        step = self._current(learner)
        if step.check == "github_account":
            return None
        context = CheckContext(learner.github_login, learner.facts, step.params)
        try:
            result = self.checker.run(step.check, context)
        except GitHubUnavailable as trouble:
            log.info("recheck of learner %s postponed: %s", learner.id, trouble.cause)
            return None
        if not result.done:
            return None
        answer = self._record(learner, step, result, source)
        moved = answer.learner is not None and (
            answer.learner.current_step != learner.current_step or answer.learner.finished
        )
        return answer if moved else None

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
            Action.LANG: self._language,
            Action.TOOL: self._tool,
            Action.RESTART: self._restart,
            Action.PAUSE: self._pause,
            Action.RESUME: self._pause,
            Action.PRIVACY: self._privacy,
            Action.MY_DATA: self._my_data,
            Action.FORGET_ME: self._forget_me,
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
        replies: list[r.Reply] = [r.Welcome(returning=returning)]
        if not returning:
            # Shown once, at the start: what is kept, who sees it, for how long.
            replies.append(self._privacy_notice())
        replies.append(self._card(learner))
        return r.Answer(learner, tuple(replies), changed=not returning)

    def _check(self, learner: Learner, intent: Intent, source: str) -> r.Answer:
        if learner.finished:
            return r.Answer(learner, (r.Finished(), self._checklist(learner)))
        step = self._current(learner)
        if step.check == "github_account":
            if learner.github_login:
                # Linked already (e.g. after a restart that kept the login): confirm it still
                # exists rather than asking again.
                return self._run_link(learner, step, learner.github_login, source)
            return r.Answer(learner, (r.Notice("link.ask"), self._card(learner)))
        context = CheckContext(learner.github_login, learner.facts, step.params)
        try:
            result = self.checker.run(step.check, context)
        except GitHubUnavailable as trouble:
            return self._unavailable(learner, step, trouble, source)
        return self._record(learner, step, result, source)

    def _link(self, learner: Learner, intent: Intent, source: str) -> r.Answer:
        link_step = self.course.step_with_check("github_account") or self.course.first
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
        return self._run_link(learner, link_step, login, source, relink=bool(current))

    def _run_link(
        self, learner: Learner, step: Step, login: str, source: str, *, relink: bool = False
    ) -> r.Answer:
        try:
            result = self.checker.find_account(login)
        except GitHubUnavailable as trouble:
            return self._unavailable(learner, step, trouble, source)
        if relink and result.done:
            # A new account owns none of the old fork, branch or pull request.
            learner = self.store.restart(learner.id, step.id, keep_login=False, source=source)
        return self._record(learner, step, result, source)

    def _record(self, learner: Learner, step: Step, result: CheckResult, source: str) -> r.Answer:
        following = self.course.next_after(step.id)
        at_step = learner.current_step == step.id
        learner = self.store.record_check(
            learner.id, step.id, result, source, following.id if following else None
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
            replies += [r.Finished(), self._checklist(learner)]
        else:
            replies.append(self._card(learner))
        return r.Answer(learner, tuple(replies), changed=True)

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
        return r.Answer(learner, (r.HowTo(self._current(learner), learner.tool),))

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
            staff_notes=("forget.staff",),
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
        return r.StepCard(step, position, total, self.course.minutes_left(step.id))

    def _checklist(self, learner: Learner) -> r.Checklist:
        done_at: dict[str, object] = {}
        steps = [s.id for s in self.course.steps]
        for event in self.store.history(learner.id):
            if event.outcome == "restart" and event.step_id in steps:
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
        return r.Checklist(tuple(rows), learner.github_login)


def language_from_locale(locale: str | None, default: str) -> str:
    """Slack locales look like ``fr-FR`` or ``en-GB``."""
    prefix = (locale or "").split("-")[0].lower()
    return prefix if prefix in LANGUAGES else default
