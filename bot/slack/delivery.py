"""Sending answers to Slack: where (response_url, the DM, the staff channel) and how.

Answerers call these (:mod:`bot.slack.answers`); a failure here is logged with its cause and
never takes the learner's progress with it (progress is stored before anything is sent).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.course.coach import Coach, Person
from bot.course.intents import Intent
from bot.course.learner import Learner
from bot.course.ports import RequestBook
from bot.course.replies import Answer, Diagram, Notice, StuckHelp
from bot.course.review_coach import ReviewCoach
from bot.course.staff import StaffDesk
from bot.errors import StorageUnavailable
from bot.settings import Settings
from bot.slack.views.render import Message, Renderer
from bot.slack.views.staff import StaffViews

log = logging.getLogger(__name__)


class Outbox(Protocol):
    """Where a message Slack would not take waits to be retried (see the worker)."""

    def enqueue_message(
        self,
        channel: str,
        text: str,
        blocks: list[Any],
        learner_id: int | None,
        error: str,
        *,
        retry_after: int = 0,
    ) -> None: ...


class SignInWatcher(Protocol):
    """Keeps asking GitHub about a learner's pending sign-in (see :mod:`bot.usecases.sign_ins`)."""

    def watch(self, learner_id: int, due: datetime | None = None) -> None: ...

    def resume(self) -> int: ...

    def close(self) -> None: ...


class Deliveries(Protocol):
    """What was already acted on (Slack events, commands and clicks, GitHub deliveries)."""

    def claim_delivery(self, key: str, wait: float | None = None) -> bool: ...


@dataclass(frozen=True)
class Services:
    """What listeners need, built once per process (see :mod:`bot.wiring`)."""

    settings: Settings
    coach: Coach
    renderer: Renderer
    desk: StaffDesk
    staff_views: StaffViews
    outbox: Outbox
    requests: RequestBook
    # More requests than this waiting: a command is acknowledged with "busy" (and answered).
    busy_after: int = 200
    # Set when learners sign in on GitHub to prove their account (GITHUB_OAUTH_CLIENT_ID).
    sign_ins: SignInWatcher | None = None
    # Coaching after the pull request is open (review, merge): see bot/slack/reviews.py.
    reviews: ReviewCoach | None = None
    # Set: each command and click acts once (recorded once per trigger_id, bot.slack.requests).
    deliveries: Deliveries | None = None


class SlackProfile:
    """What Slack says about a person, fetched once (users.info) and only when asked."""

    def __init__(self, client: WebClient, user_id: str) -> None:
        self._client = client
        self._user_id = user_id
        self._user: dict[str, Any] | None = None

    def _fetch(self) -> dict[str, Any]:
        if self._user is None:
            try:
                response = self._client.users_info(user=self._user_id, include_locale=True)
                self._user = response.get("user") or {}
            except SlackApiError as error:
                log.warning(
                    "users.info failed for %s: %s", self._user_id, error.response.get("error")
                )
                self._user = {}
        return self._user

    def locale(self) -> str | None:
        return self._fetch().get("locale")

    def name(self) -> str | None:
        user = self._fetch()
        profile = user.get("profile") or {}
        return profile.get("real_name") or user.get("real_name") or user.get("name")

    def is_bot(self) -> bool:
        user = self._fetch()
        return bool(user.get("is_bot")) or self._user_id == "USLACKBOT"

    def is_admin(self) -> bool:
        user = self._fetch()
        return bool(user.get("is_admin") or user.get("is_owner"))


def open_dm(client: WebClient, user_id: str) -> str:
    return client.conversations_open(users=user_id)["channel"]["id"]


def post(services: Services, client: WebClient, channel: str, answer: Answer) -> None:
    """Post to a channel (the learner's DM); if Slack will not take it, keep it for later.

    slack_sdk already retried a dropped connection once; Slack's 429 is not waited for here
    (it would hold a listener thread for Retry-After seconds): what fails is stored and
    retried by the worker, not before Retry-After, never silently dropped.
    """
    message = services.renderer.answer(answer)
    try:
        post_message(client, channel, message)
    except (SlackApiError, OSError) as error:
        reason = (
            error.response.get("error")
            if isinstance(error, SlackApiError)
            else (type(error).__name__)
        )
        if answer.learner is None:
            # Not (or no longer) a learner — help, a refusal, forget-me's goodbye: nothing
            # is kept about them, not even a message waiting for their DM.
            log.error("could not deliver a message (%s): not kept", reason)
            return
        learner_id = answer.learner.id
        log.error(
            "could not deliver a message to learner %s (%s): kept to retry", learner_id, reason
        )
        services.outbox.enqueue_message(
            channel,
            message.text,
            message.blocks,
            learner_id,
            str(reason),
            retry_after=_retry_after(error),
        )


def _retry_after(error: Exception) -> int:
    """Seconds Slack asked us to wait (429 Retry-After), 0 otherwise."""
    if not isinstance(error, SlackApiError):
        return 0
    value = (getattr(error.response, "headers", None) or {}).get("Retry-After") or (
        getattr(error.response, "headers", None) or {}
    ).get("retry-after")
    try:
        return max(0, int(str(value)))
    except (TypeError, ValueError):
        return 0


def tell(services: Services, client: WebClient, answer: Answer, *, why: str) -> bool:
    """The one way to tell a learner something they did not just ask for (progress noticed,
    a sign-in that ended, a reminder, a welcome): open or reuse their DM, post, follow up.

    False when Slack refused (``why`` says what was lost, in the log); the learner's progress
    is stored already, and a message Slack would not take is kept and retried (``post``).
    """
    learner = answer.learner
    if learner is None:
        return False
    try:
        channel = learner.dm_channel or open_dm(client, learner.slack_user_id)
        if channel != learner.dm_channel:
            services.coach.remember_dm(learner, channel)
        post(services, client, channel, answer)
        follow_up(services, client, answer)
    except SlackApiError as error:
        log.error("could not tell learner %s %s: %s", learner.id, why, error.response.get("error"))
        return False
    return True


def post_message(client: WebClient, channel: str, message: Message) -> None:
    client.chat_postMessage(channel=channel, text=message.text, blocks=message.blocks)


def respond_with(
    services: Services, respond: Callable[..., Any], answer: Answer, *, replace: bool = False
) -> None:
    respond_message(respond, services.renderer.answer(answer), replace=replace)


def respond_message(
    respond: Callable[..., Any], message: Message, *, replace: bool = False
) -> None:
    """Ephemeral, where the person typed the command or clicked (``replace``: instead of the
    ephemeral answer given before, "Checking on GitHub…")."""
    respond(
        text=message.text,
        blocks=message.blocks,
        response_type="ephemeral",
        replace_original=replace,
    )


def with_files_sent(services: Services, client: WebClient, answer: Answer) -> Answer:
    """Upload the answer's files first, so that what the answer says is true: "I have sent
    you the file" only once Slack took it, one clear message if it did not."""
    if not answer.files:
        return answer
    learner = answer.learner
    try:
        for out in answer.files:
            if learner is None:
                continue
            client.files_upload_v2(
                channel=learner.dm_channel or open_dm(client, learner.slack_user_id),
                content=out.content,
                filename=out.filename,
                title=services.renderer.messages(out.title_key, answer.language),
            )
    except (SlackApiError, OSError) as error:
        reason = (
            error.response.get("error")
            if isinstance(error, SlackApiError)
            else type(error).__name__
        )
        log.error("could not upload a file for learner %s (%s)", learner and learner.id, reason)
        return replace(answer, replies=(Notice("files.failed"),), files=())
    return replace(answer, files=())


def follow_up(services: Services, client: WebClient, answer: Answer) -> None:
    """What comes after the answer: polling a sign-in on GitHub, alerts to the staff channel,
    App Home refresh."""
    settings = services.settings
    if answer.awaiting_verification and answer.learner and services.sign_ins:
        services.sign_ins.watch(answer.learner.id)
    if answer.learner is not None and any(isinstance(x, Diagram) for x in answer.replies):
        send_picture(services, client, answer.learner)
    for note in answer.staff_notes:
        if settings.staff_channel:
            message = services.renderer.reply(note, settings.default_language, None)
            try:
                client.chat_postMessage(
                    channel=settings.staff_channel, text=message.text, blocks=message.blocks
                )
            except SlackApiError as error:
                log.error("could not post to the staff channel: %s", error.response.get("error"))
    alert_staff(services, client, answer)  # none left when the caller alerted first
    if answer.changed and answer.learner is not None:
        publish_home(services, client, answer.learner)
    if answer.erased_user:
        # Their Home showed their login and progress: it shows a newcomer's now.
        publish_home(services, client, None, answer.erased_user, answer.language)
    for other in answer.also_tell:
        # Someone else this changed something for: told in their own DM, Home refreshed.
        if other.learner is None:
            continue
        try:
            channel = other.learner.dm_channel or open_dm(client, other.learner.slack_user_id)
        except SlackApiError as error:
            log.error(
                "could not reach learner %s: %s", other.learner.id, error.response.get("error")
            )
            continue
        post(services, client, channel, other)
        follow_up(services, client, other)


def send_picture(services: Services, client: WebClient, learner: Learner) -> None:
    """The picture of where the learner is, as an image in their DM (files upload v2: Slack
    shows an uploaded PNG inline, with its alternative text for screen readers).

    The words came first and stand on their own: a failed upload is logged, not retried.
    """
    fresh = services.coach.refreshed(learner)
    try:
        picture = services.renderer.picture(fresh, fresh.language)
        client.files_upload_v2(
            channel=fresh.dm_channel or open_dm(client, fresh.slack_user_id),
            content=picture.png,
            filename=picture.filename,
            title=picture.title,
            alt_txt=picture.alt_text,
        )
    except SlackApiError as error:
        log.warning(
            "could not show learner %s their picture: %s", learner.id, error.response.get("error")
        )
    except (SlackClientError, OSError) as error:
        log.warning("could not show learner %s their picture: %s", learner.id, error)
    except Exception:
        # The answer in words is already posted: the picture is a bonus, never a failure.
        log.exception("could not draw learner %s their picture", learner.id)


def alert_staff(services: Services, client: WebClient, answer: Answer) -> Answer:
    """Post the answer's alerts to the staff channel *before* the learner reads it, and
    return it without them; "I have told the mentors" stays only if they were told.

    Call it before rendering an answer that may carry alerts (``I'm stuck``).
    """
    if not answer.staff_alerts:
        return answer
    channel = services.settings.staff_channel
    told = bool(channel)
    for alert in answer.staff_alerts:
        if not channel:
            break
        message = services.renderer.staff_alert(alert, services.settings.default_language)
        try:
            client.chat_postMessage(channel=channel, text=message.text, blocks=message.blocks)
        except (SlackApiError, OSError) as error:
            told = False
            cause = error.response.get("error") if isinstance(error, SlackApiError) else error
            log.error("could not alert the staff channel: %s", cause)
    replies = tuple(
        replace(reply, staff_channel=None) if isinstance(reply, StuckHelp) and not told else reply
        for reply in answer.replies
    )
    return replace(answer, replies=replies, staff_alerts=())


def publish_home(
    services: Services,
    client: WebClient,
    learner: Learner | None,
    user_id: str | None = None,
    language: str | None = None,
) -> None:
    coach = services.coach
    if learner is not None:
        current = coach.find_id(learner.id)
        if current is None or current.erased_at is not None:
            # Erased meanwhile (forget-me, while an earlier answer was still being sent):
            # their Home was emptied; an older view must not come back.
            return
    overview = coach.overview(learner) if learner else None
    lang = learner.language if learner else language or services.settings.default_language
    view = services.renderer.home(overview, lang)
    target = learner.slack_user_id if learner else user_id
    if not target:
        log.warning("App Home not refreshed: nobody to show it to")
        return
    try:
        client.views_publish(user_id=target, view=view)
    except SlackApiError as error:
        log.warning("could not refresh an App Home: %s", error.response.get("error"))


# A check that takes longer than this shows "Checking on GitHub…" until its verdict arrives.
CHECKING_AFTER = 1.0


class CheckingNotice:
    """ "Checking on GitHub…", shown only if the check is slow, and replaced by the verdict::

        with CheckingNotice.in_dm(services, client, channel, language) as notice:
            answer = coach.handle(...)
        post(...)
        notice.clear()

    In the DM the notice is a message, deleted once the verdict is posted; for a slash
    command it is an ephemeral answer, which the verdict replaces (``notice.shown``).
    """

    def __init__(self, text: str, show: Callable[[str], str | None], remove: Callable[[str], None]):
        self._text = text
        self._show_it = show
        self._remove = remove
        self._lock = threading.Lock()
        self._over = False
        self._handle: str | None = None
        self._timer = threading.Timer(CHECKING_AFTER, self._show)
        self._timer.daemon = True

    @classmethod
    def in_dm(
        cls, services: Services, client: WebClient, channel: str, language: str
    ) -> CheckingNotice:
        def show(text: str) -> str | None:
            return client.chat_postMessage(channel=channel, text=text).get("ts")

        def remove(ts: str) -> None:
            client.chat_delete(channel=channel, ts=ts)

        return cls(services.renderer.messages("checking", language), show, remove)

    @classmethod
    def for_command(
        cls, services: Services, respond: Callable[..., Any], language: str
    ) -> CheckingNotice:
        def show(text: str) -> str | None:
            respond(text=text, response_type="ephemeral", replace_original=False)
            return "shown"

        return cls(services.renderer.messages("checking", language), show, lambda _: None)

    @property
    def shown(self) -> bool:
        return self._handle is not None

    def __enter__(self) -> CheckingNotice:
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:  # waits for a notice being posted: the verdict comes after it
            self._over = True
        self._timer.cancel()

    def _show(self) -> None:
        with self._lock:
            if self._over:
                return
            try:
                self._handle = self._show_it(self._text)
            except (SlackApiError, OSError) as error:
                log.info("could not show that a check is running: %s", type(error).__name__)

    def clear(self) -> None:
        """Remove the notice, if it was shown (call after posting the verdict)."""
        if self._handle is None:
            return
        try:
            self._remove(self._handle)
        except (SlackApiError, OSError) as error:
            log.info("could not remove the checking notice: %s", type(error).__name__)


@contextmanager
def answering(services: Services, person: Person, send: Callable[[Answer], None]) -> Iterator[None]:
    """Run a listener's work; if it fails unexpectedly, log why and tell the person.

    The person always gets an answer: never silence, never a traceback in Slack.
    """
    try:
        yield
    except StorageUnavailable as trouble:
        # The database is locked, read-only, full or unreachable: say so, not "a bug".
        log.error("could not answer: the database is unavailable (%s)", trouble.cause)
        language = services.settings.default_language
        try:
            send(Answer(None, (Notice("error.storage"),), fallback_language=language))
        except Exception:
            log.exception("could not even tell someone that the database is unavailable")
    except Exception:
        log.exception("could not answer %s", person.user_id)
        language = services.coach.language_of(person)
        try:
            send(Answer(None, (Notice("error.internal"),), fallback_language=language))
        except Exception:
            log.exception("could not even tell %s that something failed", person.user_id)


def check_in_dm(
    services: Services,
    client: WebClient,
    channel: str,
    learner: Learner,
    intent: Intent,
    source: str,
) -> Answer:
    """A check asked in the DM (a message, a button in it): "Checking on GitHub…" while it is
    slow, the verdict posted, the notice removed. Returns the answer for its follow-ups."""
    with CheckingNotice.in_dm(services, client, channel, learner.language) as notice:
        answer = services.coach.handle(learner, intent, source=source)
    post(services, client, channel, answer)
    notice.clear()
    return answer
