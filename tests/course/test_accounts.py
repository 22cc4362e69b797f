"""GitHub login rules, applied before GitHub is asked anything."""

from __future__ import annotations

import pytest

from bot.course.accounts import MAX_LOGIN_LENGTH, clean_login, login_problem
from bot.course.checks import Outcome


@pytest.mark.parametrize(
    ("given", "login"),
    [
        pytest.param("ada", "ada", id="plain"),
        pytest.param("  ada  ", "ada", id="spaces"),
        pytest.param("@ada", "ada", id="at-sign"),
        pytest.param("https://github.com/ada", "ada", id="profile-url"),
        pytest.param("https://github.com/Ada-L/", "Ada-L", id="profile-url-trailing-slash"),
        pytest.param("http://www.github.com/ada", "ada", id="http-www"),
        pytest.param("HTTPS://GitHub.com/ada", "ada", id="url-in-capitals"),
        pytest.param("github.com/ada", "ada", id="url-without-scheme"),
        pytest.param("<https://github.com/ada|github.com/ada>", "ada", id="slack-labelled-link"),
        pytest.param("<https://github.com/ada>", "ada", id="slack-bare-link"),
    ],
)
def test_clean_login(given: str, login: str) -> None:
    assert clean_login(given) == login


@pytest.mark.parametrize(
    "login",
    [
        pytest.param("a", id="one-letter"),
        pytest.param("ada-lovelace", id="single-hyphens"),
        pytest.param("A-1-b", id="mixed-case-and-digits"),
        pytest.param("1ada", id="starts-with-a-digit"),
        pytest.param("a" * MAX_LOGIN_LENGTH, id="39-characters"),
    ],
)
def test_a_well_formed_login(login: str) -> None:
    assert MAX_LOGIN_LENGTH == 39
    assert login_problem(login) is None


@pytest.mark.parametrize(
    ("login", "code"),
    [
        pytest.param("a" * 40, "login_too_long", id="40-characters"),
        pytest.param("ada.lovelace@example.org.very.long.address", "login_is_email", id="email"),
        pytest.param("ada@example.org", "login_is_email", id="short-email"),
        pytest.param("Ada Lovelace", "login_looks_like_name", id="a-name"),
        pytest.param("hélène dupré", "login_looks_like_name", id="a-name-in-lowercase"),
        pytest.param("-ada", "login_malformed", id="leading-hyphen"),
        pytest.param("ada-", "login_malformed", id="trailing-hyphen"),
        pytest.param("ada--l", "login_malformed", id="double-hyphen"),
        pytest.param("ada_l", "login_malformed", id="underscore"),
        pytest.param("ada.l", "login_malformed", id="dot"),
        pytest.param("ada l", "login_malformed", id="space"),
        pytest.param("adé", "login_malformed", id="accent"),
        pytest.param("ａｄａ", "login_malformed", id="fullwidth-letters"),
        pytest.param("١٢٣", "login_malformed", id="arabic-digits"),
        pytest.param("", "login_malformed", id="empty"),
    ],
)
def test_a_login_github_would_refuse(login: str, code: str) -> None:
    problem = login_problem(login)
    assert problem is not None
    assert problem.outcome is Outcome.MISTAKE
    assert problem.main_diagnosis is not None
    assert problem.main_diagnosis.code == code
    # The hint quotes what was given (cut short, for a pasted paragraph).
    assert problem.main_diagnosis.facts["given"] == login[:60]


def test_what_a_learner_pastes_is_cleaned_then_judged() -> None:
    assert login_problem(clean_login("<https://github.com/Ada-L|github.com/Ada-L>")) is None
    assert login_problem(clean_login("@ada_l")).main_diagnosis.code == "login_malformed"


def test_a_login_with_a_trailing_newline_is_malformed() -> None:
    # clean_login("ada\n/") gives "ada\n": stripped of "/" after being stripped of spaces.
    assert clean_login("ada\n/") == "ada\n"
    assert login_problem("ada\n") is not None
