"""The one place settings are read: the environment, then a ``.env`` file.

The names are the contract with whoever deploys the bot (see ``.env.example``).
A missing or malformed setting raises :class:`ConfigError` naming the variable,
what it is for and where to get it; ``python -m bot`` turns that into exit status 2.
Secrets are wrapped in :class:`Secret` so that no repr, log line or traceback shows them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlparse

from dotenv import dotenv_values
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.course.text import LANGUAGES
from bot.errors import ConfigError

T = TypeVar("T")

_REPO_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
_SLACK_USER_RE = re.compile(r"^[UW][A-Z0-9]{2,}$")
_SLACK_CHANNEL_RE = re.compile(r"^[CG][A-Z0-9]{2,}$")
_ID_RE = re.compile(r"^[1-9][0-9]{0,17}$")  # GitHub's numeric IDs (App ID, installation ID)
# OAuth Apps' and GitHub Apps' client IDs: Ov23li…, Iv23li…, Iv1.…, or 20 hex digits.
_CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{7,99}$")
_PEM_BEGIN = "-----BEGIN"


class Secret:
    """A string that never shows itself in ``repr``, ``str`` or logs."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return "Secret('********')" if self._value else "Secret('')"

    __str__ = __repr__


# What each variable is for and where to get it: used in every error message.
HELP: dict[str, str] = {
    "SLACK_BOT_TOKEN": "the bot's Slack token (starts with xoxb-). Slack app page → OAuth & "
    "Permissions → Bot User OAuth Token, after installing the app from "
    "manifest.yml",
    "SLACK_SIGNING_SECRET": "the secret that proves requests come from Slack. Slack app page → "
    "Basic Information → App Credentials → Signing Secret",
    "SLACK_APP_TOKEN": "the optional App-Level Token that turns on Socket Mode (no public URL "
    "needed). Slack app page → Basic Information → App-Level Tokens, with the "
    "connections:write scope (starts with xapp-)",
    "SLACK_API_URL": "the address of Slack's Web API; keep the default https://slack.com/api/",
    "GITHUB_TOKEN": "the token that lets the bot read learners' public repositories through the "
    "GitHub API. github.com → Settings → Developer settings → Personal access "
    "tokens (fine-grained, public repositories read-only). Not needed when the "
    "bot runs as a GitHub App (GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY)",
    "GITHUB_APP_ID": "the optional ID of a GitHub App the bot authenticates as, instead of "
    "GITHUB_TOKEN. github.com → Settings (or the organisation's settings) → "
    "Developer settings → GitHub Apps → your app → General → About → App ID (a "
    "number, not the Client ID)",
    "GITHUB_APP_PRIVATE_KEY": "the GitHub App's private key: the text of the .pem file (\\n for "
    "line breaks is fine) or the path of the .pem file. Your app's page"
    " → General → Private keys → Generate a private key",
    "GITHUB_APP_INSTALLATION_ID": "the optional number of the GitHub App's installation to act "
    "as. Empty: the app's installation on PRACTICE_REPO, found at "
    "start. The account's Settings → GitHub Apps → Configure next "
    "to the app: the number at the end of the address",
    "GITHUB_API_URL": "GitHub's API; https://api.github.com, or https://HOST/api/v3 for GitHub "
    "Enterprise Server",
    "GITHUB_URL": "GitHub's website, used in links; derived from GITHUB_API_URL when unset",
    "GITHUB_WEBHOOK_SECRET": "the optional secret typed in the practice repository's webhook "
    "settings, or in the GitHub App's (its page → General → Webhook "
    "secret)",
    "GITHUB_OAUTH_CLIENT_ID": "the optional client ID with which learners prove their GitHub "
    "account is theirs by signing in on GitHub (device flow, no "
    "callback URL needed). The Client ID (not the secret) of an OAuth "
    "App or a GitHub App with 'Enable Device Flow' ticked: github.com →"
    " Settings (or the organisation's) → Developer settings → OAuth "
    "Apps or GitHub Apps → your app → General → Client ID",
    "REQUIRE_VERIFIED_LINK": "an optional switch: true makes signing in on GitHub (device flow) "
    "mandatory: a typed login is not enough, and nothing is checked "
    "until the learner proved the account is theirs. Needs "
    "GITHUB_OAUTH_CLIENT_ID",
    "DATABASE_URL": "the database where progress is stored; default sqlite:///prcoach.db (a file "
    "next to the bot)",
    "PRACTICE_REPO": "the cohort's practice repository on GitHub, as owner/name (e.g. "
    "etalab/eig-practice)",
    "STAFF_USER_IDS": "the comma-separated Slack user IDs of the staff (e.g. "
    "U012AB3CD,U045EF6GH); in Slack: profile → ⋮ → Copy member ID",
    "STAFF_CHANNEL": "the optional Slack channel ID (e.g. C0123456789) where 'I'm stuck' alerts "
    "go; in Slack: channel details → bottom of the About tab",
    "DEFAULT_LANGUAGE": "the language for people whose Slack locale is neither French nor "
    "English: fr or en",
    "PORT": "the HTTP port to listen on (1–65535); platforms such as Heroku set it",
    "COURSE_FILE": "the optional path to a staff-written course YAML file replacing the default "
    "course",
    "REQUIRE_MERGE": "an optional switch: true adds the last step 'your pull request is merged'",
    "GITHUB_TIMEOUT": "the number of seconds to wait for GitHub before telling the learner it is "
    "slow (1–60)",
    "LOG_LEVEL": "how much the bot logs: DEBUG, INFO, WARNING or ERROR",
    "STAFF_INCLUDE_ADMINS": "a switch: true (default) makes the workspace's admins and owners "
    "staff too",
    "STUCK_AFTER_DAYS": "the number of days without progress after which a learner is flagged "
    "stuck (default 3)",
    "NUDGE_AFTER_DAYS": "the number of days without progress after which a learner gets a "
    "friendly reminder (default 2)",
    "DIGEST_CRON": "the time the weekly digest is posted, as a cron line (minute hour day month "
    "weekday; default '0 9 * * 1', Monday 9:00)",
    "RETENTION_DAYS": "the number of days after a learner's last activity before their data is "
    "erased (default 365)",
    "WEB_CONCURRENCY": "the number of web processes (gunicorn workers, 32 threads each; default "
    "2); platforms such as Heroku set it",
    "TIMEZONE": "the cohort's time zone, for the digest and to never nudge at night (default "
    "Europe/Paris)",
    "REVIEW_WAIT_DAYS": "the number of days a pull request may wait for a review before the "
    "weekly digest lists it for mentors (default 3)",
    "WHAT_NEXT": "optional links shown with the final congratulations, as 'label|https://url' "
    "separated by ';' (e.g. 'Good first issues|https://github.com/org/repo/contribute')",
}


@dataclass(frozen=True)
class Settings:
    """Every setting the bot reads, typed and validated."""

    slack_bot_token: Secret
    slack_signing_secret: Secret
    slack_app_token: Secret
    slack_api_url: str
    github_token: Secret
    github_api_url: str
    github_url: str
    github_webhook_secret: Secret
    database_url: str = field(repr=False)  # may hold a password
    practice_repo: str
    staff_user_ids: frozenset[str]
    staff_channel: str | None
    default_language: str
    port: int
    course_file: Path | None
    require_merge: bool
    github_timeout: float
    log_level: str
    staff_include_admins: bool = True
    stuck_after_days: int = 3
    nudge_after_days: int = 2
    digest_cron: str = "0 9 * * 1"
    timezone: str = "Europe/Paris"
    retention_days: int = 365
    # Set: the bot authenticates as this GitHub App, and github_token is not used.
    github_app_id: int | None = None
    github_app_private_key: Secret = field(default_factory=lambda: Secret(""))  # PEM text
    github_app_installation_id: int | None = None  # None: the one on the practice repository
    # Set: learners prove their account on GitHub (device flow) with this app's client ID.
    github_oauth_client_id: str | None = None
    require_verified_link: bool = False
    review_wait_days: int = 3
    # (label, url) links shown after the course ends; the course file may add its own.
    what_next: tuple[tuple[str, str], ...] = ()
    web_concurrency: int = 2  # gunicorn's processes (WEB_CONCURRENCY, as platforms set it)
    env_file: Path | None = None  # the .env file read, if any

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    @property
    def github_app(self) -> bool:
        """Whether the bot authenticates as a GitHub App rather than with GITHUB_TOKEN."""
        return self.github_app_id is not None

    def is_staff(self, slack_user_id: str) -> bool:
        return slack_user_id in self.staff_user_ids


def _fail(name: str, problem: str) -> ConfigError:
    return ConfigError(name, f"{name} {problem}. It is {HELP[name]}.")


class SettingsErrors(ConfigError):
    """Every problem found in the settings at once: nobody has to run the bot four times to
    learn four missing settings. ``variable`` is the first one's; ``problems`` holds them all."""

    def __init__(self, problems: list[ConfigError]) -> None:
        self.problems = problems
        if len(problems) == 1:
            message = str(problems[0])
        else:
            lines = "\n".join(f"  • {problem}" for problem in problems)
            names = ", ".join(dict.fromkeys(p.variable for p in problems))
            message = f"{len(problems)} settings need attention ({names}):\n{lines}"
        super().__init__(problems[0].variable, message)


# What .env.example holds: kept by mistake, they look valid but are not.
_EXAMPLE_VALUES = frozenset({"U012AB3CD", "U045EF6GH", "C0123456789"})
_PLACEHOLDER_RE = re.compile(r"(?:^|[^a-z])your(?:[^a-z]|$)", re.IGNORECASE)
_SECRETS = frozenset(
    {
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SLACK_APP_TOKEN",
        "GITHUB_TOKEN",
        "GITHUB_WEBHOOK_SECRET",
        "GITHUB_APP_PRIVATE_KEY",
    }
)


def is_placeholder(value: str) -> bool:
    """Whether ``value`` is an example left from ``.env.example`` (``your-org/practice``…)."""
    return bool(_PLACEHOLDER_RE.search(value)) or value in _EXAMPLE_VALUES


class _Reader:
    """Reads raw values: the real environment wins over the ``.env`` file. Problems are
    collected in ``problems`` rather than raised, so that all of them are told at once."""

    def __init__(self, environ: Mapping[str, str], dotenv: Mapping[str, str | None]) -> None:
        self._values = {k: v for k, v in dotenv.items() if v is not None}
        self._values.update(environ)
        self.problems: list[ConfigError] = []

    def fail(self, name: str, problem: str) -> None:
        if all(p.variable != name for p in self.problems):  # one problem per setting
            self.problems.append(_fail(name, problem))

    def get(self, name: str, default: str = "") -> str:
        value = self._values.get(name, default).strip() or default
        if value and value != default and is_placeholder(value):
            shown = "" if name in _SECRETS else f" ({value!r})"
            self.fail(name, f"still holds the example from .env.example{shown}: put yours")
            return ""
        return value

    def required(self, name: str) -> str:
        raw = self._values.get(name, "").strip()
        value = self.get(name)
        if not value and not (raw and is_placeholder(raw)):
            self.fail(name, "is not set")
        return value

    def url(self, name: str, default: str) -> str:
        value = self.get(name, default)
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            self.fail(name, "is not an http(s) URL")
            return default
        return value

    def check(self, step: Callable[[], T], fallback: T) -> T:
        """``step()``, or ``fallback`` after recording the ConfigError it raised."""
        try:
            return step()
        except SettingsErrors as errors:
            self.problems += errors.problems
        except ConfigError as error:
            self.problems.append(error)
        return fallback


def _web_url_from_api(api_url: str) -> str:
    parsed = urlparse(api_url)
    if parsed.netloc == "api.github.com":
        return "https://github.com"
    # GitHub Enterprise Server serves the API at https://HOST/api/v3.
    return f"{parsed.scheme}://{parsed.netloc}"


PROJECT_DIR = Path(__file__).resolve().parents[1]
FIND = "find"  # load_settings' default: look for .env as find_env_file does


def find_env_file(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """The ``.env`` file to read: ``explicit`` (``--env-file``), else ``.env`` in the current
    folder, else in the project's folder (where README.md and .env.example are), else none.

    Running ``python -m bot`` from another folder (a service manager, a cron line) then
    still finds the project's settings.
    """
    if explicit is not None:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError("--env-file", f"--env-file {path} is not a readable file.")
        return path.resolve()
    for folder in (Path.cwd(), PROJECT_DIR):
        candidate = folder / ".env"
        if candidate.is_file():
            return candidate.resolve()
    return None


def load_settings(
    environ: Mapping[str, str] | None = None,
    env_file: str | os.PathLike[str] | None = FIND,
    *,
    need_slack: bool = True,
) -> Settings:
    """Read and validate every setting, or raise :class:`SettingsErrors` naming every bad one.

    ``env_file``: a path, None for none, or ``FIND`` (:func:`find_env_file`).
    ``need_slack=False`` is for the console, which talks to GitHub but not to Slack.
    """
    if env_file == FIND:
        found = find_env_file()
    else:
        found = Path(env_file) if env_file and Path(env_file).is_file() else None
    dotenv = dotenv_values(found) if found else {}
    r = _Reader(os.environ if environ is None else environ, dotenv)

    app_token = r.get("SLACK_APP_TOKEN")
    if app_token and not app_token.startswith("xapp-"):
        r.fail("SLACK_APP_TOKEN", "does not start with xapp-")
    bot_token = r.required("SLACK_BOT_TOKEN") if need_slack else r.get("SLACK_BOT_TOKEN")
    if bot_token and not bot_token.startswith("xox"):
        r.fail("SLACK_BOT_TOKEN", "does not look like a Slack token (xoxb-…)")
    # Socket Mode receives requests over a websocket: no signature to check.
    if app_token or not need_slack:
        signing_secret = r.get("SLACK_SIGNING_SECRET")
    else:
        signing_secret = r.required("SLACK_SIGNING_SECRET")

    slack_api_url = r.url("SLACK_API_URL", "https://slack.com/api/")
    if not slack_api_url.endswith("/"):
        slack_api_url += "/"
    no_app: tuple[int | None, str, int | None] = (None, "", None)
    app_id, private_key, installation_id = r.check(lambda: _github_app(r), no_app)
    # A GitHub App replaces the token; the token is still read so that logs can hide it.
    github_token = r.get("GITHUB_TOKEN") if app_id else r.required("GITHUB_TOKEN")
    github_api_url = r.url("GITHUB_API_URL", "https://api.github.com").rstrip("/")
    github_url = r.url("GITHUB_URL", _web_url_from_api(github_api_url)).rstrip("/")

    database_url = r.get("DATABASE_URL", "sqlite:///prcoach.db")
    try:
        make_url(database_url)
    except ArgumentError:
        r.fail("DATABASE_URL", "is not a database URL such as sqlite:///prcoach.db")

    practice_repo = r.required("PRACTICE_REPO")
    if practice_repo and not _REPO_RE.match(practice_repo):
        r.fail("PRACTICE_REPO", f"is {practice_repo!r}, not owner/name")

    staff = frozenset(s.strip() for s in r.get("STAFF_USER_IDS").split(",") if s.strip())
    for user_id in sorted(staff):
        if not _SLACK_USER_RE.match(user_id):
            r.fail("STAFF_USER_IDS", f"contains {user_id!r}, not a Slack user ID")

    staff_channel = r.get("STAFF_CHANNEL") or None
    if staff_channel and not _SLACK_CHANNEL_RE.match(staff_channel):
        r.fail("STAFF_CHANNEL", f"is {staff_channel!r}, not a Slack channel ID")

    language = r.get("DEFAULT_LANGUAGE", "en").lower()
    if language not in LANGUAGES:
        r.fail("DEFAULT_LANGUAGE", f"is {language!r}, neither fr nor en")

    port_text = r.get("PORT", "3000")
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        r.fail("PORT", f"is {port_text!r}, not a port number")
        port_text = "3000"

    concurrency_text = r.get("WEB_CONCURRENCY", "2")
    if not concurrency_text.isdigit() or not 1 <= int(concurrency_text) <= 64:
        r.fail("WEB_CONCURRENCY", f"is {concurrency_text!r}, not a number of processes (1–64)")
        concurrency_text = "2"

    course_text = r.get("COURSE_FILE")
    course_file = Path(course_text) if course_text else None
    if course_file and not course_file.is_file():
        r.fail("COURSE_FILE", f"points to {course_text}, which is not a readable file")

    require_merge = _flag(r, "REQUIRE_MERGE", "false")

    oauth_client_id = r.get("GITHUB_OAUTH_CLIENT_ID") or None
    if oauth_client_id and not _CLIENT_ID_RE.match(oauth_client_id):
        r.fail("GITHUB_OAUTH_CLIENT_ID", f"is {oauth_client_id!r}, not a client ID")
    require_verified = _flag(r, "REQUIRE_VERIFIED_LINK", "false")
    if require_verified and not oauth_client_id:
        r.fail(
            "REQUIRE_VERIFIED_LINK",
            "is true but GITHUB_OAUTH_CLIENT_ID is not set (learners could not prove anything)",
        )

    timeout_text = r.get("GITHUB_TIMEOUT", "10")
    try:
        timeout = float(timeout_text)
    except ValueError:
        timeout = -1.0
    if not 1 <= timeout <= 60:
        r.fail("GITHUB_TIMEOUT", f"is {timeout_text!r}, not a number of seconds")
        timeout = 10.0

    log_level = r.get("LOG_LEVEL", "INFO").upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        r.fail("LOG_LEVEL", f"is {log_level!r}")
        log_level = "INFO"

    stuck_after_days = _days(r, "STUCK_AFTER_DAYS", "3")
    nudge_after_days = _days(r, "NUDGE_AFTER_DAYS", "2")
    timezone = r.check(lambda: _timezone(r.get("TIMEZONE", "Europe/Paris")), "Europe/Paris")
    digest_cron = r.check(lambda: _cron(r.get("DIGEST_CRON", "0 9 * * 1"), timezone), "0 9 * * 1")
    retention_days = _days(r, "RETENTION_DAYS", "365", most=3650)
    staff_include_admins = _flag(r, "STAFF_INCLUDE_ADMINS", "true")
    review_wait_days = _days(r, "REVIEW_WAIT_DAYS", "3")
    no_links: tuple[tuple[str, str], ...] = ()
    what_next = r.check(lambda: _links(r, "WHAT_NEXT"), no_links)

    if r.problems:
        raise SettingsErrors(r.problems)
    return Settings(
        slack_bot_token=Secret(bot_token),
        slack_signing_secret=Secret(signing_secret),
        slack_app_token=Secret(app_token),
        slack_api_url=slack_api_url,
        github_token=Secret(github_token),
        github_api_url=github_api_url,
        github_url=github_url,
        github_webhook_secret=Secret(r.get("GITHUB_WEBHOOK_SECRET")),
        database_url=database_url,
        practice_repo=practice_repo,
        staff_user_ids=staff,
        staff_channel=staff_channel,
        default_language=language,
        port=int(port_text),
        course_file=course_file,
        require_merge=require_merge,
        github_timeout=timeout,
        log_level=log_level,
        staff_include_admins=staff_include_admins,
        stuck_after_days=stuck_after_days,
        nudge_after_days=nudge_after_days,
        digest_cron=digest_cron,
        timezone=timezone,
        retention_days=retention_days,
        github_app_id=app_id,
        github_app_private_key=Secret(private_key),
        github_app_installation_id=installation_id,
        github_oauth_client_id=oauth_client_id,
        require_verified_link=require_verified,
        review_wait_days=review_wait_days,
        what_next=what_next,
        web_concurrency=int(concurrency_text),
        env_file=found,
    )


def _github_app(r: _Reader) -> tuple[int | None, str, int | None]:
    """GITHUB_APP_ID, the PEM of GITHUB_APP_PRIVATE_KEY and GITHUB_APP_INSTALLATION_ID."""
    app_text = r.get("GITHUB_APP_ID")
    key_text = r.get("GITHUB_APP_PRIVATE_KEY")
    installation_text = r.get("GITHUB_APP_INSTALLATION_ID")
    if not app_text:
        for name, given in (
            ("GITHUB_APP_PRIVATE_KEY", key_text),
            ("GITHUB_APP_INSTALLATION_ID", installation_text),
        ):
            if given:
                raise _fail("GITHUB_APP_ID", f"is not set, but {name} is")
        return None, "", None
    if not _ID_RE.match(app_text):
        raise _fail("GITHUB_APP_ID", f"is {app_text!r}, not a number")
    if not key_text:
        raise _fail("GITHUB_APP_PRIVATE_KEY", "is not set, but GITHUB_APP_ID is")
    if installation_text and not _ID_RE.match(installation_text):
        raise _fail("GITHUB_APP_INSTALLATION_ID", f"is {installation_text!r}, not a number")
    installation_id = int(installation_text) if installation_text else None
    return int(app_text), _private_key(key_text), installation_id


def _private_key(text: str) -> str:
    """The PEM of GITHUB_APP_PRIVATE_KEY, given as PEM text or as the path of a .pem file.

    Hosting platforms often keep a multi-line value on one line with literal ``\\n``: those
    become line breaks again. The key is loaded here so that a truncated or wrong key is
    reported at start, naming the variable, rather than at the first learner's check.
    """
    name = "GITHUB_APP_PRIVATE_KEY"
    if _PEM_BEGIN in text:
        pem, holds = text.replace("\\r", "").replace("\\n", "\n"), "holds"
    else:
        try:
            pem = Path(text).expanduser().read_text(encoding="utf-8", errors="replace")
        except OSError:
            raise _fail(
                name, "is neither a PEM private key (-----BEGIN …) nor the path of a readable file"
            ) from None
        if _PEM_BEGIN not in pem:
            raise _fail(name, f"points to {text}, a file without a PEM private key")
        holds = f"points to {text}, which holds"
    pem = pem.replace("\r", "").strip() + "\n"

    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(pem.encode(), password=None)
    except TypeError:
        raise _fail(name, f"{holds} a key protected by a passphrase; GitHub's has none") from None
    except (ValueError, UnsupportedAlgorithm):
        raise _fail(name, f"{holds} no valid PEM private key (cut short or altered?)") from None
    if not isinstance(key, RSAPrivateKey):
        raise _fail(name, f"{holds} a key that is not RSA, unlike GitHub Apps' keys")
    return pem


def _flag(r: _Reader, name: str, default: str) -> bool:
    text = r.get(name, default).lower()
    if text not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
        r.fail(name, f"is {text!r}, neither true nor false")
        text = default
    return text in ("true", "1", "yes", "on")


def _links(r: _Reader, name: str) -> tuple[tuple[str, str], ...]:
    links = []
    for part in r.get(name, "").split(";"):
        if not part.strip():
            continue
        label, bar, url = part.rpartition("|")
        label, url = label.strip(), url.strip()
        if not bar or not label or not url.startswith(("https://", "http://")) or " " in url:
            raise _fail(name, f"has {part.strip()!r}, not 'label|https://url'")
        links.append((label[:80], url[:500]))
    return tuple(links[:10])


def _days(r: _Reader, name: str, default: str, *, most: int = 365) -> int:
    text = r.get(name, default)
    if not text.isdigit() or not 1 <= int(text) <= most:
        r.fail(name, f"is {text!r}, not a number of days (1–{most})")
        text = default
    return int(text)


def _cron(text: str, timezone: str) -> str:
    """Checked with the worker's own parser (cron's meaning: Sunday is 0 or 7)."""
    from bot.cron import crontab_trigger

    crontab_trigger(text, timezone)  # raises ConfigError naming DIGEST_CRON
    return text


def _timezone(name: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise _fail("TIMEZONE", f"is {name!r}, not a time zone such as Europe/Paris") from None
    return name
