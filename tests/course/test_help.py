"""``help`` lists every command the person may use: a learner's, and the staff's for staff."""

from __future__ import annotations

from bot.course.intents import _COMMANDS, STAFF_ACTIONS, Action, parse_command
from bot.course.messages import load_messages

# One English name per action, as people type it (``my data`` is typed ``my-data``).
_BUTTONS_ONLY = {Action.VERIFY, Action.LINK_UNVERIFIED, Action.MENU, Action.UNKNOWN}


def _names() -> dict[Action, str]:
    names: dict[Action, str] = {}
    for word, action in _COMMANDS.items():
        names.setdefault(action, word.replace(" ", "-"))  # English first in the table
    return names


def test_every_learner_command_is_in_the_learner_help() -> None:
    messages = load_messages()
    help_en = messages("help.learner", "en")
    for action, name in _names().items():
        if action in STAFF_ACTIONS or action in _BUTTONS_ONLY:
            continue
        assert parse_command(name).action is action
        assert f"/prcoach {name}" in help_en, name


def test_every_staff_command_is_in_the_staff_help_and_only_there() -> None:
    messages = load_messages()
    for lang in ("en", "fr"):
        staff_help, learner_help = messages("staff.help", lang), messages("help.learner", lang)
        for action, name in _names().items():
            if action in STAFF_ACTIONS:
                assert f"/prcoach {name}" in staff_help, (lang, name)
                assert f"/prcoach {name}" not in learner_help, (lang, name)


def test_the_french_help_names_as_many_commands_as_the_english_one() -> None:
    messages = load_messages()
    for key in ("help.learner", "staff.help"):
        assert messages(key, "fr").count("/prcoach") == messages(key, "en").count("/prcoach")
