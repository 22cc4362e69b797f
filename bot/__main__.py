"""``python -m bot [--env-file PATH] [serve|worker|console|sandbox|migrate|check-config]``.

Missing or malformed settings (all of them, in one message), a broken course file, or a
setting a service refuses (``check-config``) print a clear message and exit with status 2,
without a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from bot.errors import ConfigError, CourseError
from bot.serving.logs import configure_logging
from bot.settings import FIND, Settings, find_env_file, load_settings
from bot.storage.database import first_line

log = logging.getLogger("bot")
EXIT_CONFIG = 2
EXIT_DATABASE = 3


def _where(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(DATABASE_URL)"


def _secrets(settings: Settings) -> list[str]:
    from sqlalchemy.engine import make_url

    database_password = make_url(settings.database_url).password or ""
    return [
        database_password,
        *(
            s.reveal()
            for s in (
                settings.slack_bot_token,
                settings.slack_signing_secret,
                settings.slack_app_token,
                settings.github_token,
                settings.github_webhook_secret,
                settings.github_app_private_key,
            )
        ),
    ]


def _preflight(settings: Settings) -> None:
    """Before serving: the course loads, the schema is current, Slack knows the token, and
    GitHub's side (token, practice repository) is said to be wrong in the log if it is."""
    from bot.github.client import make_github_for
    from bot.github.health import check_github
    from bot.slack.app import check_token, make_web_client
    from bot.storage.database import migrate
    from bot.wiring import load_content

    load_content(settings)
    migrate(settings.database_url)
    check_token(make_web_client(settings))
    # A GitHub App not installed on the practice repository stops the start here, once,
    # rather than in every web worker.
    github = make_github_for(settings)
    for finding in check_github(settings, github):
        if not finding.ok or finding.warning:
            # Learners would only see stuck checks: say it where the operator looks.
            log.warning("%s", finding.text)


def _say_env_file(settings: Settings) -> str:
    if settings.env_file is not None:
        return f"Settings read from {settings.env_file} (the environment wins over it)."
    return "No .env file found (current folder, project folder): settings from the environment."


def check_config(settings: Settings) -> int:
    """Settings and course valid, then each setting tried on its service; 2 on any problem."""
    from bot.github.client import make_github_for
    from bot.github.health import check_github
    from bot.health import Finding, report
    from bot.wiring import load_content

    print(_say_env_file(settings))
    load_content(settings)
    print("Settings and course are valid. Trying them on Slack and GitHub:")
    findings: list[Finding] = []
    if settings.slack_bot_token:
        from bot.slack.app import make_web_client
        from bot.slack.health import check_slack

        findings += check_slack(settings, make_web_client(settings))
    try:
        findings += check_github(settings, make_github_for(settings))
    except ConfigError as error:  # the GitHub App: not installed, wrong key…
        findings.append(Finding(error.variable, False, str(error)))
    print(report(findings))
    problems = [f for f in findings if not f.ok]
    if problems:
        names = ", ".join(dict.fromkeys(f.setting for f in problems))
        print(f"PR Coach cannot work as set: fix {names} (above).", file=sys.stderr)
        return EXIT_CONFIG
    print("All set.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="PR Coach, a Slack bot.")
    parser.add_argument(
        "--env-file",
        metavar="PATH",
        help="the settings file to read (default: .env in the current folder, else in the "
        "project's folder)",
    )
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="serve Slack (HTTP, or Socket Mode when SLACK_APP_TOKEN is set)")
    console = sub.add_parser("console", help="walk the course in this terminal")
    console.add_argument("--database", help="database URL (default: a fresh temporary one)")
    console.add_argument("--lang", choices=("en", "fr"), help="language of the console learner")
    sandbox = sub.add_parser(
        "sandbox",
        help="try the course in this terminal against a simulated GitHub: no account, no network",
    )
    sandbox.add_argument("--lang", choices=("en", "fr"), default="en", help="language")
    sandbox.add_argument("--course", metavar="FILE", help="a course file to preview")
    sandbox.add_argument(
        "--merge", action="store_true", help="with the last step 'your pull request is merged'"
    )
    sub.add_parser("migrate", help="create or upgrade the database schema")
    sub.add_parser(
        "check-config", help="validate the settings and the course, try them on Slack and GitHub"
    )
    sub.add_parser("worker", help="run the scheduled jobs: the weekly digest and reminders")
    # Started by ``serve`` itself; by hand only to add answerers on another machine.
    sub.add_parser("answer", help="answer the requests the web processes recorded")
    args = parser.parse_args(argv)
    command = args.command or "serve"
    database = ""

    try:
        if command == "sandbox":  # its own settings: a simulated GitHub, no account
            from bot.serving.sandbox import run_sandbox

            return run_sandbox(
                language=args.lang, course_file=args.course, require_merge=args.merge
            )
        env_file = find_env_file(args.env_file) if args.env_file else FIND
        settings = load_settings(
            env_file=env_file, need_slack=command in ("serve", "check-config", "answer")
        )
        database = settings.database_url
        if command == "console":  # the log stays out of the conversation
            log_file = Path(tempfile.gettempdir()) / "prcoach-console.log"
            configure_logging(settings.log_level, _secrets(settings), file=log_file)
        else:
            configure_logging(settings.log_level, _secrets(settings))
        if command == "check-config":
            return check_config(settings)
        log.info("%s", _say_env_file(settings))
        if command == "console":
            from bot.serving.console import run_console

            return run_console(settings, database_url=args.database, language=args.lang)
        if command == "migrate":
            from bot.storage.database import migrate

            migrate(settings.database_url)
            return 0
        if command == "worker":
            from bot.serving.worker import run_worker

            run_worker(settings)
            return 0
        if command == "answer":
            from bot.serving.answerers import run_answer_process

            run_answer_process(settings)
            return 0
        _preflight(settings)
        if settings.socket_mode:
            from bot.serving.socket_mode import serve_socket_mode

            serve_socket_mode(settings)
        else:
            from bot.serving.web import serve_http

            serve_http(settings)
        return 0
    except ConfigError as error:
        print(f"PR Coach cannot start: {error}", file=sys.stderr)
        return EXIT_CONFIG
    except CourseError as error:
        print(f"PR Coach cannot start: the course is not valid: {error}", file=sys.stderr)
        return EXIT_CONFIG
    except DBAPIError as error:
        # Unreachable server, wrong password, a file that cannot be opened: one line that
        # says where (without the password) and what the database answered.
        print(
            f"PR Coach cannot use the database {_where(database)}: "
            f"{first_line(error)}. Check DATABASE_URL and that the database is running.",
            file=sys.stderr,
        )
        return EXIT_DATABASE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
