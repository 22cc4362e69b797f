"""What a learner types, in English or French, and what the coach understands."""

from __future__ import annotations

import pytest

from bot.course.intents import Action, Intent, parse_command, parse_message

# (what the person types in the DM, the action understood, its argument)
MESSAGES = [
    # check
    ("check", Action.CHECK, "", "check"),
    ("Check", Action.CHECK, "", "check-capitalised"),
    ("done", Action.CHECK, "", "done"),
    ("I'm done", Action.CHECK, "", "im-done"),
    ("vérifier", Action.CHECK, "", "verifier"),
    ("Verifier", Action.CHECK, "", "verifier-no-accent"),
    ("c'est fait", Action.CHECK, "", "cest-fait"),
    ("C’EST FAIT !!", Action.CHECK, "", "cest-fait-shouted-curly-apostrophe"),
    ("j'ai fini", Action.CHECK, "", "jai-fini"),
    # status
    ("where am I", Action.STATUS, "", "where-am-i"),
    ("Where am I?", Action.STATUS, "", "where-am-i-question"),
    ("où j'en suis ?", Action.STATUS, "", "ou-jen-suis"),
    ("où en suis-je", Action.STATUS, "", "ou-en-suis-je"),
    # help
    ("help", Action.HELP, "", "help"),
    ("aide", Action.HELP, "", "aide"),
    ("Aide !", Action.HELP, "", "aide-exclamation"),
    # explain
    ("what is a fork?", Action.EXPLAIN, "fork", "what-is-a-fork"),
    ("What's a pull request?", Action.EXPLAIN, "pull request", "whats-a-pull-request"),
    ("what does merge mean?", Action.EXPLAIN, "merge", "what-does-merge-mean"),
    ("define upstream", Action.EXPLAIN, "upstream", "define-upstream"),
    ("c'est quoi une branche ?", Action.EXPLAIN, "branche", "cest-quoi-une-branche"),
    ("c'est quoi le dépôt ?", Action.EXPLAIN, "depot", "cest-quoi-le-depot"),
    ("qu'est-ce qu'un commit", Action.EXPLAIN, "commit", "quest-ce-quun-commit"),
    ("qu’est-ce qu’un commit ?", Action.EXPLAIN, "commit", "quest-ce-quun-commit-curly"),
    # stuck
    ("I'm stuck", Action.STUCK, "", "im-stuck"),
    ("help me", Action.STUCK, "", "help-me"),
    ("je suis bloqué·e", Action.STUCK, "", "bloque-inclusive"),
    ("je suis bloquée", Action.STUCK, "", "bloquee"),
    ("je suis bloqué", Action.STUCK, "", "bloque"),
    ("aidez-moi", Action.STUCK, "", "aidez-moi"),
    # how, start, restart
    ("show me how", Action.HOW, "", "show-me-how"),
    ("comment faire ?", Action.HOW, "", "comment-faire"),
    ("hello", Action.START, "", "hello"),
    ("Bonjour", Action.START, "", "bonjour"),
    ("start over", Action.RESTART, "", "start-over"),
    ("tout recommencer", Action.RESTART, "", "tout-recommencer"),
    # commands typed without the slash, and languages by name
    ("lang fr", Action.LANG, "fr", "lang-fr"),
    ("langue en", Action.LANG, "en", "langue-en"),
    ("in English", Action.LANG, "en", "in-english"),
    ("français", Action.LANG, "fr", "francais"),
    ("tool desktop", Action.TOOL, "desktop", "tool-desktop"),
    ("outil cli", Action.TOOL, "cli", "outil-cli"),
    ("link ada-l", Action.LINK, "ada-l", "link-login"),
    ("Lier Ada-L", Action.LINK, "Ada-L", "lier-login-keeps-case"),
    # nothing understood: the menu of what one can say
    ("", Action.MENU, "", "empty"),
    ("   ", Action.MENU, "", "blank"),
    ("?!", Action.MENU, "", "punctuation-only"),
    ("blah blah", Action.MENU, "", "gibberish"),
    ("fork", Action.MENU, "", "lone-word-not-expecting-login"),
    ("ada-lovelace", Action.MENU, "", "login-looking-not-expecting-login"),
    ("lang", Action.MENU, "", "command-without-its-argument"),
]


@pytest.mark.parametrize(
    ("typed", "action", "argument"),
    [pytest.param(t, a, arg, id=i) for t, a, arg, i in MESSAGES],
)
def test_parse_message(typed: str, action: Action, argument: str) -> None:
    assert parse_message(typed) == Intent(action, argument)


# While the coach waits for a GitHub login, a lone word is taken as one.
WHILE_EXPECTING_LOGIN = [
    ("ada-lovelace", Action.LINK, "ada-lovelace", "plain-login"),
    ("@ada", Action.LINK, "@ada", "at-login"),
    ("https://github.com/ada", Action.LINK, "https://github.com/ada", "profile-url"),
    # Not a valid login, but still a LINK so that the coach explains what is wrong.
    ("ada_l", Action.LINK, "ada_l", "malformed-login"),
    ("ada@example.org", Action.LINK, "ada@example.org", "an-email"),
    ("ada lovelace", Action.MENU, "", "two-words-are-not-a-login"),
    # A name, capitalised: the coach says where the login is instead.
    ("Ada Lovelace", Action.LINK, "Ada Lovelace", "a-name"),
    ("Hélène Dupré", Action.LINK, "Hélène Dupré", "a-french-name"),
    # Answers and courtesies are what they are, never logins (all are taken on GitHub).
    ("oui", Action.SMALL_TALK, "yes", "oui"),
    ("OK !", Action.SMALL_TALK, "yes", "ok"),
    ("Prête !", Action.SMALL_TALK, "yes", "prete"),
    ("non", Action.SMALL_TALK, "no", "non"),
    ("pas encore", Action.SMALL_TALK, "no", "pas-encore"),
    ("merci", Action.SMALL_TALK, "thanks", "merci"),
    ("thanks", Action.SMALL_TALK, "thanks", "thanks"),
    ("test", Action.SMALL_TALK, "test", "test"),
    ("coucou", Action.START, "", "coucou-is-a-greeting"),
    # Words the coach understands keep their meaning.
    ("check", Action.CHECK, "", "check-is-not-a-login"),
    ("aide", Action.HELP, "", "aide-is-not-a-login"),
    ("bonjour", Action.START, "", "bonjour-is-not-a-login"),
    ("what is a fork?", Action.EXPLAIN, "fork", "a-question-is-not-a-login"),
]


@pytest.mark.parametrize(
    ("typed", "action", "argument"),
    [pytest.param(t, a, arg, id=i) for t, a, arg, i in WHILE_EXPECTING_LOGIN],
)
def test_parse_message_while_expecting_a_login(typed: str, action: Action, argument: str) -> None:
    assert parse_message(typed, expecting_login=True) == Intent(action, argument)


@pytest.mark.parametrize(
    "typed",
    [pytest.param("my login is ada-l", id="en"), pytest.param("mon login est ada-l", id="fr")],
)
def test_a_login_given_in_a_sentence(typed: str) -> None:
    assert parse_message(typed, expecting_login=True) == Intent(Action.LINK, "ada-l")


# (what follows /prcoach, the action understood, its argument)
COMMANDS = [
    ("", Action.HELP, "", "empty-is-help"),
    ("  ", Action.HELP, "", "blank-is-help"),
    ("check", Action.CHECK, "", "check"),
    ("  CHECK  ", Action.CHECK, "", "check-shouted-padded"),
    ("vérifier", Action.CHECK, "", "verifier"),
    ("Verifier", Action.CHECK, "", "verifier-no-accent"),
    ("status", Action.STATUS, "", "status"),
    ("statut", Action.STATUS, "", "statut"),
    ("help", Action.HELP, "", "help"),
    ("aide", Action.HELP, "", "aide"),
    ("how", Action.HOW, "", "how"),
    ("comment", Action.HOW, "", "comment"),
    ("stuck", Action.STUCK, "", "stuck"),
    ("bloqué", Action.STUCK, "", "bloque"),
    ("start", Action.START, "", "start"),
    ("commencer", Action.START, "", "commencer"),
    ("restart", Action.RESTART, "", "restart"),
    ("recommencer", Action.RESTART, "", "recommencer"),
    ("explain fork", Action.EXPLAIN, "fork", "explain"),
    ("expliquer pull request", Action.EXPLAIN, "pull request", "expliquer-two-words"),
    ("link @ada", Action.LINK, "@ada", "link"),
    ("lier https://github.com/ada", Action.LINK, "https://github.com/ada", "lier-url"),
    ("lang fr", Action.LANG, "fr", "lang"),
    ("langue en", Action.LANG, "en", "langue"),
    ("tool desktop", Action.TOOL, "desktop", "tool"),
    ("outil web", Action.TOOL, "web", "outil"),
    ("frobnicate", Action.UNKNOWN, "frobnicate", "unknown"),
    ("Frobnicate now", Action.UNKNOWN, "Frobnicate", "unknown-keeps-the-word-as-typed"),
]


@pytest.mark.parametrize(
    ("typed", "action", "argument"),
    [pytest.param(t, a, arg, id=i) for t, a, arg, i in COMMANDS],
)
def test_parse_command(typed: str, action: Action, argument: str) -> None:
    assert parse_command(typed) == Intent(action, argument)


def test_parsed_intents_are_never_confirmed() -> None:
    """Only a "Yes, do it" button confirms a restart or a relink, never typed words."""
    assert not parse_message("restart").confirmed
    assert not parse_command("restart").confirmed
    assert not parse_command("link ada").confirmed


@pytest.mark.parametrize(
    ("typed", "action"),
    [
        ("je n'y arrive pas", Action.STUCK),
        ("Je n’y arrive pas…", Action.STUCK),
        ("ça ne marche pas", Action.STUCK),
        ("Ça marche pas !", Action.STUCK),
        ("help me", Action.STUCK),
        ("it doesn't work", Action.STUCK),
        ("It doesn’t work!", Action.STUCK),
        ("Montrez-moi comment", Action.HOW),
        ("montre-moi comment", Action.HOW),
    ],
)
def test_what_learners_actually_type_when_stuck(typed: str, action: Action) -> None:
    assert parse_message(typed) == Intent(action)
    # Even at the link step, a sentence is never taken for a login.
    assert parse_message(typed, expecting_login=True) == Intent(action)
