"""The composition root: settings in, a ready coach (and its collaborators) out."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from github import Github

from bot.course.coach import Coach
from bot.course.course import DEFAULT_COURSE, Course, load_course
from bot.course.facts import Site
from bot.course.glossary import Glossary, load_glossary
from bot.course.messages import load_messages
from bot.course.review_coach import ReviewCoach
from bot.course.staff import StaffDesk
from bot.course.text import Text
from bot.github.checks import GitHubChecks
from bot.github.client import make_github_for
from bot.github.device_flow import GitHubDeviceFlow
from bot.github.pulls import GitHubPulls
from bot.settings import Settings
from bot.slack.delivery import Services
from bot.slack.views.render import Renderer
from bot.slack.views.staff import StaffViews
from bot.storage.database import create_database_engine, session_factory
from bot.storage.journal import RequestJournal, journal_directory
from bot.storage.store import SqlLearnerStore
from bot.storage.waiting import SqlWaitingRequests
from bot.usecases.sign_ins import VerificationPoller

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Parts:
    services: Services
    store: SqlLearnerStore
    requests: SqlWaitingRequests  # acknowledged requests waiting for an answerer
    github: Github  # the authenticated client the checks use (token or GitHub App)
    # Polls learners' sign-ins on GitHub (with GITHUB_OAUTH_CLIENT_ID); the process that
    # answers attaches how outcomes are told.
    sign_ins: VerificationPoller | None = None


def load_content(settings: Settings) -> tuple[Course, Glossary]:
    """Load and validate the course (raises CourseError naming file and line)."""
    glossary = load_glossary()
    course = load_course(
        settings.course_file or DEFAULT_COURSE,
        include_optional=settings.require_merge,
        glossary_terms=glossary.ids,
    )
    return course, glossary


def what_next_links(course: Course, settings: Settings) -> tuple[tuple[Text, str], ...]:
    """After the course: the course file's links, then the programme's (WHAT_NEXT)."""
    from_settings = tuple(
        (Text({"en": label, "fr": label}), url) for label, url in settings.what_next
    )
    return course.what_next + from_settings


def build(settings: Settings, *, clock: Callable[[], datetime] | None = None) -> Parts:
    """Everything a process needs; ``clock`` lets simulations (bench/) run time faster."""
    course, glossary = load_content(settings)
    messages = load_messages()
    engine = create_database_engine(settings.database_url)
    store = (
        SqlLearnerStore(session_factory(engine), clock)
        if clock
        else SqlLearnerStore(session_factory(engine))
    )
    github = make_github_for(settings)  # GITHUB_TOKEN, or the GitHub App's installation
    verifier = (
        GitHubDeviceFlow(
            settings.github_url,
            settings.github_api_url,
            settings.github_oauth_client_id,
            timeout=settings.github_timeout,
        )
        if settings.github_oauth_client_id
        else None
    )
    coach = Coach(
        course,
        glossary,
        store,
        GitHubChecks(github, settings.practice_repo),
        default_language=settings.default_language,
        staff_channel=settings.staff_channel,
        is_staff=settings.is_staff,
        retention_days=settings.retention_days,
        verifier=verifier,
        require_verified=settings.require_verified_link,
        what_next=what_next_links(course, settings),
        **({"clock": clock} if clock else {}),
    )
    site = Site(settings.github_url, settings.practice_repo)
    renderer = Renderer(course, glossary, messages, site)
    desk = StaffDesk(
        course,
        store,
        stuck_after=timedelta(days=settings.stuck_after_days),
        nudge_after=timedelta(days=settings.nudge_after_days),
        timezone=settings.timezone,
        retention=timedelta(days=settings.retention_days),
        review_wait_days=settings.review_wait_days,
    )
    staff_views = StaffViews(messages, settings.github_url, settings.timezone)
    sign_ins = VerificationPoller(coach, store) if verifier else None
    reviews = ReviewCoach(
        course,
        store,
        GitHubPulls(github, settings.practice_repo),
        what_next=what_next_links(course, settings),
        **({"clock": clock} if clock else {}),
    )
    requests = SqlWaitingRequests(
        session_factory(engine),
        journal=RequestJournal(journal_directory(settings.database_url)),
    )
    services = Services(
        settings,
        coach,
        renderer,
        desk,
        staff_views,
        outbox=store,
        requests=requests,
        sign_ins=sign_ins,
        reviews=reviews,
        deliveries=store,
    )
    return Parts(services, store, requests, github, sign_ins)
