"""The weekly digest and the reminders, as the worker and ``/prcoach digest now`` run them.

Real pieces throughout: services built by ``bot.wiring.build`` from settings, a SQLite
database migrated in ``tmp_path``, and slack_sdk talking over HTTP to the fake Slack.
Time is controlled by the ``now`` each job is given, and learners' dates are set in the
database, never by mocking a clock.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slack_sdk import WebClient
from sqlalchemy import update

from bot.course.checks import CheckResult
from bot.course.learner import Learner
from bot.settings import Settings, load_settings
from bot.slack.delivery import Services
from bot.slack.notifier import SlackNotifier
from bot.storage.database import create_database_engine, migrate
from bot.storage.models import LearnerRow
from bot.storage.store import SqlLearnerStore
from bot.usecases import digest, staff
from bot.wiring import Parts, build
from tests.rig.bot_process import STAFF_CHANNEL, STAFF_USER, bot_environment
from tests.rig.conversation import Conversation, buttons
from tests.rig.fake_github import FakeGitHub
from tests.rig.fake_slack import DEFAULT_TEAM_ID, FakeSlack, Message, dm_channel_id
from tests.rig.slack_sender import SlackSender

PARIS = ZoneInfo("Europe/Paris")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# The use cases, told through Slack as the worker and `/prcoach digest now` wire them.
def post_digest(services: Services, client: WebClient, now: datetime) -> None:
    staff.post_digest(services.desk, SlackNotifier(services, client), now)


def run_digest_job(
    services: Services, client: WebClient, store: SqlLearnerStore, due: datetime
) -> bool:
    notifier = SlackNotifier(services, client)
    channel = services.settings.staff_channel
    return digest.run_digest_job(services.desk, notifier, store, due, staff_channel=channel)


def run_nudge_job(services: Services, client: WebClient, now: datetime) -> int:
    notifier = SlackNotifier(services, client)
    return digest.run_nudge_job(services.desk, services.coach, notifier, now)


# A Tuesday morning in Paris: daytime, a working day.
TUESDAY = datetime(2025, 3, 4, 10, 0, tzinfo=PARIS)

_ids = itertools.count(1)


# -- the world ------------------------------------------------------------------------------


class World:
    """Settings, services over a migrated database, and a Slack client: what a worker has."""

    def __init__(self, settings: Settings, fake: FakeSlack) -> None:
        self.settings = settings
        self.fake = fake
        self.parts = build(settings)
        self.client = WebClient(base_url=fake.api_url, token="xoxb-test")

    @property
    def services(self) -> Any:
        return self.parts.services

    def another_worker(self) -> Parts:
        """Services of a second process on the same database (its own engine)."""
        return build(self.settings)

    def learner(
        self,
        language: str = "en",
        *,
        position: int = 1,
        finished: bool = False,
        idle_days: float | None = None,
        now: datetime | None = None,
    ) -> Learner:
        """A learner at ``position`` (1-based), with a DM; idle for ``idle_days`` before now."""
        store, course = self.parts.store, self.services.desk.course
        user = f"UDG{next(_ids):05d}"
        self.fake.add_user(user, locale="fr-FR" if language == "fr" else "en-US")
        learner = store.enroll(DEFAULT_TEAM_ID, user, language, course.first.id)
        learner = store.update_profile(learner.id, dm_channel=dm_channel_id(user))
        steps = course.steps
        for index in range(len(steps) if finished else position - 1):
            after = steps[index + 1].id if index + 1 < len(steps) else None
            learner = store.record_check(
                learner.id, steps[index].id, CheckResult.done_with({}), "test", after
            )
        if idle_days is not None:
            self.set(learner, step_started_at=(now or TUESDAY) - timedelta(days=idle_days))
        return store.get(learner.id)

    def set(self, learner: Learner, **columns: Any) -> None:
        """Write dates straight into the database (what days of real time would do)."""
        engine = create_database_engine(self.settings.database_url)
        with engine.begin() as connection:
            connection.execute(
                update(LearnerRow).where(LearnerRow.id == learner.id).values(**columns)
            )
        engine.dispose()

    def staff_posts(self) -> list[Message]:
        return [m for m in self.fake.messages(STAFF_CHANNEL) if m.via == "chat.postMessage"]

    def dms(self, learner: Learner) -> list[Message]:
        channel = dm_channel_id(learner.slack_user_id)
        return [m for m in self.fake.messages(channel) if m.via == "chat.postMessage"]


@pytest.fixture
def make_world(
    database_url: str, fake_slack: FakeSlack, github_server: FakeGitHub
) -> Callable[..., World]:
    def make(**overrides: str) -> World:
        # SQLite, or PostgreSQL with TEST_DATABASE_URL: the jobs' claims on both.
        environ = bot_environment(
            slack_api_url=fake_slack.api_url,
            github_api_url=github_server.url,
            database_url=database_url,
            **{"NUDGE_AFTER_DAYS": "2", "STUCK_AFTER_DAYS": "3", **overrides},
        )
        settings = load_settings(environ, env_file=None)
        migrate(settings.database_url)
        return World(settings, fake_slack)

    return make


@pytest.fixture
def world(make_world: Callable[..., World]) -> World:
    return make_world()


def staff_uploads(fake: FakeSlack) -> list:
    """Files uploaded to the staff channel (learners' pictures of earlier tests may still be
    arriving in their own DMs)."""
    return [u for u in fake.uploads if u.channel == STAFF_CHANNEL]


def together(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads released at the same instant; their results, in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int, call: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[index] = call()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    return results


# -- the digest -----------------------------------------------------------------------------


def test_the_digest_shows_the_funnel_who_finished_this_week_and_who_is_stuck(
    world: World,
) -> None:
    now = datetime.now(UTC)
    ada = world.learner(finished=True)  # finished just now
    old = world.learner(finished=True)
    world.set(old, finished_at=now - timedelta(days=10))
    bob = world.learner(position=2, idle_days=5, now=now)  # stuck at the fork
    cleo = world.learner(position=3)  # busy, fine

    post_digest(world.services, world.client, now)

    [posted] = world.staff_posts()
    text = posted.text
    assert text.startswith("PR Coach weekly digest")
    assert "4 learners · 2 finished · 1 stuck" in text
    assert "2. Make your own copy (fork): 1 here, 4 got this far" in text
    assert "Finished: 2" in text
    assert f"Finished this week: <@{ada.slack_user_id}>\n" in text
    assert old.slack_user_id not in text.split("Finished this week")[1]
    since = (now - timedelta(days=5)).astimezone(PARIS).strftime("%d/%m")
    assert (
        f"Stuck: <@{bob.slack_user_id}> (step 2/5: Make your own copy (fork), since {since})"
        in text
    )
    assert cleo.slack_user_id not in text
    assert posted.blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "PR Coach weekly digest"},
    }
    # (Learners' pictures of earlier tests may still be arriving in their own DMs.)
    [chart] = staff_uploads(world.fake)
    assert chart.filename == f"prcoach-funnel-{now.astimezone(PARIS):%Y-%m-%d}.png"
    assert chart.title == "Where the cohort is"
    assert chart.content is not None and chart.content.startswith(PNG_MAGIC)
    assert len(chart.content) < 100_000
    # The words first, then the picture.
    methods = [
        call.method
        for call in world.fake.calls
        if STAFF_CHANNEL in (call.params.get("channel"), call.params.get("channel_id"))
    ]
    assert methods.index("chat.postMessage") < methods.index("files.completeUploadExternal")


def test_the_digest_speaks_the_default_language(make_world: Callable[..., World]) -> None:
    world = make_world(DEFAULT_LANGUAGE="fr")
    world.learner("en", position=4)

    post_digest(world.services, world.client, datetime.now(UTC))

    [posted] = world.staff_posts()
    assert posted.text.startswith("Bilan hebdomadaire de PR Coach")
    assert "4. Ajouter votre présentation : 1 ici" in posted.text
    assert "Terminé cette semaine : personne" in posted.text
    assert "Bloqué·es : personne" in posted.text
    [chart] = staff_uploads(world.fake)
    assert chart.title == "Où en est la promotion"


def test_a_big_cohort_fits_in_slacks_limits(world: World) -> None:
    now = datetime.now(UTC)
    stuck = [world.learner(position=4, idle_days=4, now=now) for _ in range(25)]

    post_digest(world.services, world.client, now)

    [posted] = world.staff_posts()
    stuck_line = next(line for line in posted.text.splitlines() if line.startswith("Stuck:"))
    assert stuck_line.count("<@") == 20
    assert stuck_line.endswith("…and 5 more. `/prcoach report csv` has everyone.")
    assert all(f"<@{learner.slack_user_id}>" in stuck_line for learner in stuck[:20])
    for block in posted.blocks:
        text = block.get("text", {}).get("text", "")
        assert len(text) <= 3000 and not text.endswith("…")


def test_an_empty_cohort_gets_a_digest_and_no_chart(world: World) -> None:
    post_digest(world.services, world.client, datetime.now(UTC))

    [posted] = world.staff_posts()
    assert "Nobody has started yet" in posted.text
    assert staff_uploads(world.fake) == []


def test_the_digest_is_posted_even_when_the_chart_cannot_be(world: World) -> None:
    world.learner(position=2)
    world.fake.fail_next(1, "missing_scope", method="files.getUploadURLExternal")

    post_digest(world.services, world.client, datetime.now(UTC))

    [posted] = world.staff_posts()
    assert "PR Coach weekly digest" in posted.text
    assert staff_uploads(world.fake) == []


def test_a_scheduled_digest_is_posted_once_per_scheduled_time(world: World) -> None:
    world.learner(position=2)
    services, client, store = world.services, world.client, world.parts.store
    monday = datetime(2025, 3, 3, 9, 0, tzinfo=PARIS)

    assert run_digest_job(services, client, store, monday) is True
    assert run_digest_job(services, client, store, monday) is False
    # The same instant written in UTC is the same digest.
    assert run_digest_job(services, client, store, monday.astimezone(UTC)) is False
    assert len(world.staff_posts()) == 1

    assert run_digest_job(services, client, store, monday + timedelta(days=7)) is True
    assert len(world.staff_posts()) == 2


def test_two_workers_at_the_same_instant_post_one_digest(world: World) -> None:
    world.learner(position=3)
    other = world.another_worker()
    monday = datetime(2025, 3, 3, 9, 0, tzinfo=PARIS)

    results = together(
        lambda: run_digest_job(world.services, world.client, world.parts.store, monday),
        lambda: run_digest_job(other.services, world.client, other.store, monday),
    )

    assert sorted(results) == [False, True]
    assert len(world.staff_posts()) == 1
    assert len(staff_uploads(world.fake)) == 1


def test_without_a_staff_channel_the_job_posts_nothing(
    make_world: Callable[..., World],
) -> None:
    world = make_world(STAFF_CHANNEL="")
    world.learner()
    monday = datetime(2025, 3, 3, 9, 0, tzinfo=PARIS)

    assert run_digest_job(world.services, world.client, world.parts.store, monday) is False
    assert world.fake.calls == []
    # Nothing was claimed: once the channel is set, that digest can still be posted.
    assert world.parts.store.claim_delivery(f"job:digest:{monday.astimezone(UTC).isoformat()}")


# -- reminders ------------------------------------------------------------------------------


def test_idle_learners_are_reminded_in_their_language_with_a_check_button(
    world: World,
) -> None:
    helene = world.learner("fr", position=2, idle_days=3)
    ada = world.learner("en", position=3, idle_days=2.5)

    assert run_nudge_job(world.services, world.client, TUESDAY) == 2

    [french] = world.dms(helene)
    assert french.text.startswith("Bonjour ! Cela fait quelques jours")
    assert "étape 2 sur 5 : *Faire votre propre copie (fork)*" in french.text
    assert "prcoach_check" in str(french.blocks)
    assert "Vérifier" in buttons(french)
    [english] = world.dms(ada)
    assert english.text.startswith("Hello! It has been a few days")
    assert "step 3 of 5: *Create a branch*" in english.text
    assert "Check" in buttons(english)


def test_nobody_is_reminded_before_the_nudge_period(world: World) -> None:
    ada = world.learner(position=2, idle_days=1.9)

    assert run_nudge_job(world.services, world.client, TUESDAY) == 0
    assert world.dms(ada) == []


@pytest.mark.parametrize(
    "now",
    [
        datetime(2025, 3, 4, 8, 59, tzinfo=PARIS),  # before the working day
        datetime(2025, 3, 4, 19, 0, tzinfo=PARIS),  # after it
        datetime(2025, 3, 4, 23, 30, tzinfo=PARIS),  # at night
        datetime(2025, 3, 8, 11, 0, tzinfo=PARIS),  # Saturday
        datetime(2025, 3, 9, 15, 0, tzinfo=PARIS),  # Sunday
        datetime(2025, 1, 7, 18, 30, tzinfo=UTC),  # 19:30 in Paris, daytime in UTC
    ],
    ids=["08:59", "19:00", "night", "saturday", "sunday", "19:30-paris"],
)
def test_nobody_is_reminded_at_night_or_on_weekends(world: World, now: datetime) -> None:
    ada = world.learner(position=2, idle_days=5, now=now)

    assert run_nudge_job(world.services, world.client, now) == 0
    assert world.dms(ada) == []


def test_the_working_day_is_the_cohorts_not_utcs(world: World) -> None:
    now = datetime(2025, 1, 7, 8, 30, tzinfo=UTC)  # 09:30 in Paris, before 9:00 in UTC
    ada = world.learner(position=2, idle_days=5, now=now)

    assert run_nudge_job(world.services, world.client, now) == 1
    assert len(world.dms(ada)) == 1


def test_one_reminder_per_period(world: World) -> None:
    ada = world.learner(position=2, idle_days=3)
    services, client = world.services, world.client

    assert run_nudge_job(services, client, TUESDAY) == 1
    assert run_nudge_job(services, client, TUESDAY + timedelta(hours=1)) == 0
    assert run_nudge_job(services, client, TUESDAY + timedelta(days=1)) == 0
    assert len(world.dms(ada)) == 1
    # Still idle one whole period later: one more.
    assert run_nudge_job(services, client, TUESDAY + timedelta(days=2, minutes=1)) == 1
    assert len(world.dms(ada)) == 2


def test_two_workers_at_the_same_instant_send_one_reminder(world: World) -> None:
    ada = world.learner(position=2, idle_days=3)
    other = world.another_worker()

    sent = together(
        lambda: run_nudge_job(world.services, world.client, TUESDAY),
        lambda: run_nudge_job(other.services, world.client, TUESDAY),
    )

    assert sorted(sent) == [0, 1]
    assert len(world.dms(ada)) == 1


def test_paused_learners_are_not_reminded(world: World) -> None:
    ada = world.learner(position=2, idle_days=3)
    world.parts.store.set_paused(ada.id, True)

    assert run_nudge_job(world.services, world.client, TUESDAY) == 0
    assert world.dms(ada) == []


def test_finished_learners_are_not_reminded(world: World) -> None:
    ada = world.learner(finished=True)
    world.set(
        ada,
        step_started_at=TUESDAY - timedelta(days=9),
        finished_at=TUESDAY - timedelta(days=8),
    )

    assert run_nudge_job(world.services, world.client, TUESDAY) == 0
    assert world.dms(ada) == []


def test_a_slack_failure_for_one_learner_does_not_stop_the_others(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    first = world.learner(position=2, idle_days=3)
    second = world.learner(position=3, idle_days=3)
    world.fake.fail_next(1, "channel_not_found", method="chat.postMessage")
    caplog.set_level(logging.INFO, logger="bot.usecases.digest")

    # The refused reminder is kept for the worker to retry; the other one goes out.
    assert run_nudge_job(world.services, world.client, TUESDAY) == 2

    assert len(world.dms(first)) + len(world.dms(second)) == 1
    assert "(channel_not_found): kept to retry" in caplog.text
    assert len(world.parts.store.due_messages(datetime.now(UTC) + timedelta(hours=1))) == 1


# -- /prcoach digest now, through the running bot --------------------------------------------


def test_staff_post_the_digest_now(slack: SlackSender, fake_slack: FakeSlack, user_id: str) -> None:
    Conversation(slack, fake_slack, user_id).says("hello")  # at least one learner
    staff = Conversation(slack, fake_slack, STAFF_USER)  # a French-speaking staff member

    answer = staff.types("digest now")

    assert answer.text == f"Le bilan est publié dans <#{STAFF_CHANNEL}>."
    [posted] = [m for m in fake_slack.messages(STAFF_CHANNEL) if m.via == "chat.postMessage"]
    assert posted.text.startswith("PR Coach weekly digest")  # DEFAULT_LANGUAGE is en
    assert "Finished this week:" in posted.text and "Stuck:" in posted.text
    [chart] = staff_uploads(fake_slack)
    assert chart.channel == STAFF_CHANNEL
    assert chart.filename.startswith("prcoach-funnel-") and chart.filename.endswith(".png")
    assert chart.content is not None and chart.content.startswith(PNG_MAGIC)


def test_others_cannot_post_the_digest_and_see_no_learner_data(
    slack: SlackSender, fake_slack: FakeSlack, user_id: str
) -> None:
    answer = Conversation(slack, fake_slack, user_id).types("digest now")

    assert "for the programme's staff" in answer.text
    assert "<@" not in answer.text and "<@" not in str(answer.blocks)
    assert fake_slack.messages(STAFF_CHANNEL) == []
    assert staff_uploads(fake_slack) == []
