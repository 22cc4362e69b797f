"""After the course: the links the programme chooses (course file and WHAT_NEXT), shown with
the final congratulations in the learner's language."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.course import replies as r
from bot.course.course import load_course
from bot.course.facts import Site
from bot.course.glossary import load_glossary
from bot.course.messages import load_messages
from bot.errors import ConfigError, CourseError
from bot.settings import load_settings
from bot.slack.views.render import Renderer
from bot.wiring import what_next_links
from tests.course.test_course_loader import TINY, write
from tests.rig.bot_process import bot_environment

LINKS = """\
what_next:
  - label: {en: "Good first issues", fr: "Premiers tickets"}
    url: https://github.com/eig/project/contribute
"""


def settings(**extra: str):
    env = bot_environment(
        slack_api_url="http://127.0.0.1:1",
        github_api_url="http://127.0.0.1:2",
        database_url="sqlite://",
        **extra,
    )
    return load_settings(env, env_file=None)


def test_links_from_the_course_file_and_the_setting_in_both_languages(tmp_path: Path) -> None:
    course = load_course(write(tmp_path, TINY.replace("steps:\n", LINKS + "steps:\n", 1)))
    chosen = settings(
        WHAT_NEXT="Our data portal|https://data.example.org ; Docs|https://docs.example.org"
    )
    links = what_next_links(course, chosen)
    assert [url for _, url in links] == [
        "https://github.com/eig/project/contribute",
        "https://data.example.org",
        "https://docs.example.org",
    ]
    renderer = Renderer(
        course, load_glossary(), load_messages(), Site("https://github.com", "eig/p")
    )
    french = renderer.reply(r.WhatNext(links), "fr", None).text
    assert "*Pour continuer*" in french
    assert "• <https://github.com/eig/project/contribute|Premiers tickets>" in french
    assert "<https://data.example.org|Our data portal>" in french
    english = renderer.reply(r.WhatNext(links), "en", None).text
    assert "<https://github.com/eig/project/contribute|Good first issues>" in english


def test_malformed_links_are_refused_with_the_reason(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="WHAT_NEXT"):
        settings(WHAT_NEXT="no url here")
    bad = LINKS.replace("https://github.com/eig/project/contribute", "ftp://nope")
    with pytest.raises(CourseError, match="what_next"):
        load_course(write(tmp_path, TINY.replace("steps:\n", bad + "steps:\n", 1)))
