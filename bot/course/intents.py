"""What a learner wants, from a slash command or from free text in the DM.

Both doors lead to the same :class:`Intent`, so ``/prcoach check``, the Check button,
"check", "vérifier" and "c'est fait !" all run the same code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from bot.course.text import normalize


class Action(StrEnum):
    START = "start"
    CHECK = "check"
    STATUS = "status"
    HELP = "help"
    HOW = "how"
    STUCK = "stuck"
    EXPLAIN = "explain"
    LINK = "link"
    UNLINK = "unlink"
    # Buttons only: a new sign-in code on GitHub; the typed login linked without proof.
    VERIFY = "verify"
    LINK_UNVERIFIED = "link_unverified"
    # Buttons only: "Is this you?" about the account of a typed login.
    THAT_IS_ME = "that_is_me"
    NOT_ME = "not_me"
    # An answer or a courtesy ("oui", "merci", "test"): understood, never taken for a login.
    SMALL_TALK = "small_talk"
    # Buttons only: how a step felt (argument: JSON [step id, feeling]), and the sentence
    # after it (argument: JSON [step id, text]).
    FEELING = "feeling"
    FEELING_COMMENT = "feeling_comment"
    LANG = "lang"
    TOOL = "tool"
    RESTART = "restart"
    PAUSE = "pause"
    RESUME = "resume"
    PRIVACY = "privacy"
    MY_DATA = "my_data"
    FORGET_ME = "forget_me"
    # Staff only.
    REPORT = "report"
    INVITE = "invite"
    NUDGE = "nudge"
    DIGEST = "digest"
    PURGE_COHORT = "purge_cohort"
    # ``/prcoach unlink @someone``: staff unlink someone else's account (issue 13).
    STAFF_UNLINK = "staff_unlink"
    MENU = "menu"  # nothing understood: show what one can say
    UNKNOWN = "unknown"  # a slash subcommand we do not know


@dataclass(frozen=True)
class Intent:
    action: Action
    argument: str = ""
    # Set by a "Yes, do it" button: restart and relink ask first.
    confirmed: bool = False


# Subcommands of /prcoach, with French aliases so nobody has to guess the English word.
_COMMANDS: dict[str, Action] = {
    "start": Action.START,
    "commencer": Action.START,
    "check": Action.CHECK,
    "verifier": Action.CHECK,
    "status": Action.STATUS,
    "statut": Action.STATUS,
    "help": Action.HELP,
    "aide": Action.HELP,
    "how": Action.HOW,
    "comment": Action.HOW,
    "stuck": Action.STUCK,
    "bloque": Action.STUCK,
    "explain": Action.EXPLAIN,
    "expliquer": Action.EXPLAIN,
    "link": Action.LINK,
    "lier": Action.LINK,
    "unlink": Action.UNLINK,
    "delier": Action.UNLINK,
    "lang": Action.LANG,
    "langue": Action.LANG,
    "tool": Action.TOOL,
    "outil": Action.TOOL,
    "restart": Action.RESTART,
    "recommencer": Action.RESTART,
    "pause": Action.PAUSE,
    "resume": Action.RESUME,
    "reprendre": Action.RESUME,
    "report": Action.REPORT,
    "rapport": Action.REPORT,
    "bilan": Action.REPORT,
    "invite": Action.INVITE,
    "inviter": Action.INVITE,
    "nudge": Action.NUDGE,
    "relancer": Action.NUDGE,
    "digest": Action.DIGEST,
    # normalize() turns "my-data" into "my data".
    "privacy": Action.PRIVACY,
    "confidentialite": Action.PRIVACY,
    "my data": Action.MY_DATA,
    "mes donnees": Action.MY_DATA,
    "forget me": Action.FORGET_ME,
    "oubliez moi": Action.FORGET_ME,
    "oublie moi": Action.FORGET_ME,
    "purge cohort": Action.PURGE_COHORT,
}

STAFF_ACTIONS = frozenset(
    {
        Action.REPORT,
        Action.INVITE,
        Action.NUDGE,
        Action.DIGEST,
        Action.PURGE_COHORT,
        Action.STAFF_UNLINK,
    }
)


def parse_command(text: str) -> Intent:
    """``/prcoach <subcommand> [argument]``; an empty text is a request for help."""
    words = text.strip().split(maxsplit=1)
    if not words:
        return Intent(Action.HELP)
    name = normalize(words[0])  # "my-data" → "my data"
    argument = words[1].strip() if len(words) > 1 else ""
    action = _COMMANDS.get(name)
    if action is None:
        return Intent(Action.UNKNOWN, words[0])
    if action is Action.UNLINK and _MENTION.search(argument):
        # ``unlink @someone`` is about someone else: a staff command.
        return Intent(Action.STAFF_UNLINK, argument)
    return Intent(action, argument)


# A Slack user mention as commands receive it: ``<@U123>`` or ``<@U123|name>``.
_MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")


# Free text, compared after normalize(): lowercase, no accents, no punctuation.
_PHRASES: dict[Action, tuple[str, ...]] = {
    Action.CHECK: (
        "check",
        "verifier",
        "verifie",
        "verif",
        "c est fait",
        "cest fait",
        "fait",
        "done",
        "i m done",
        "im done",
        "i did it",
        "j ai fini",
        "termine",
        "ok c est fait",
    ),
    Action.STATUS: (
        "where am i",
        "status",
        "progress",
        "ou j en suis",
        "ou en suis je",
        "statut",
        "ou j en suis",
        "progression",
        "checklist",
    ),
    Action.HELP: ("help", "aide", "menu", "commands", "commandes"),
    Action.STUCK: (
        "i m stuck",
        "im stuck",
        "stuck",
        "i am stuck",
        "je suis bloque",
        "je suis bloquee",
        "je suis bloque e",
        "bloque",
        "bloquee",
        "bloque e",
        "je bloque",
        "help me",
        "aidez moi",
        # What learners actually type when stuck.
        "je n y arrive pas",
        "j y arrive pas",
        "je n arrive pas",
        "ca ne marche pas",
        "ca marche pas",
        "ca ne fonctionne pas",
        "it doesn t work",
        "it does not work",
        "doesn t work",
        "not working",
        "it s not working",
        "i can t do it",
        "i can t",
    ),
    Action.HOW: (
        "show me how",
        "show me",
        "how",
        "how do i do it",
        "comment",
        "comment faire",
        "comment on fait",
        "montre moi",
        "montre moi comment",
        "montrez moi",
        "montrez moi comment",
    ),
    Action.START: (
        "start",
        "hello",
        "hi",
        "hey",
        "bonjour",
        "bonsoir",
        "salut",
        "coucou",
        "commencer",
        "demarrer",
        "go",
    ),
    Action.RESTART: ("restart", "start over", "recommencer", "tout recommencer"),
    Action.UNLINK: ("unlink", "unlink my account", "delier", "delier mon compte"),
}
_PHRASE_ACTION = {phrase: action for action, phrases in _PHRASES.items() for phrase in phrases}

# Answers and courtesies, in both languages: what they are, not GitHub logins (short words
# are all taken on GitHub). The argument of SMALL_TALK says which.
_SMALL_TALK: dict[str, tuple[str, ...]] = {
    "yes": (
        "oui",
        "ouais",
        "yes",
        "yep",
        "yeah",
        "ok",
        "okay",
        "d accord",
        "dac",
        "pret",
        "prete",
        "pret e",
        "je suis pret",
        "je suis prete",
        "ready",
        "i m ready",
        "let s go",
        "lets go",
        "allons y",
        "c est parti",
        "bien sur",
        "sure",
        "of course",
    ),
    "no": (
        "non",
        "no",
        "nope",
        "pas encore",
        "not yet",
        "pas maintenant",
        "not now",
        "pas de compte",
        "no account",
        "je n ai pas de compte",
        "i don t have an account",
        "i have no account",
        "non merci",
        "no thanks",
    ),
    "thanks": ("merci", "merci beaucoup", "thanks", "thank you", "thx", "super merci", "cool"),
    "test": ("test", "tests", "testing", "essai", "ping", "un test", "a test"),
}
_TALK = {phrase: kind for kind, phrases in _SMALL_TALK.items() for phrase in phrases}
# Two to four words that each start with a capital letter: "Ada Lovelace", "Hélène Dupré".
_NAME = re.compile(r"^(?:[^\W\d_][^\W\d_'’.-]*(?:[-'’][^\W\d_]+)*\.?\s+){1,3}[^\W\d_][^\W\d_'’-]*$")

_EXPLAIN = re.compile(
    r"^(?:what s|whats|what is|what are|what does|explain|define|"
    r"c est quoi|cest quoi|qu est ce que|qu est ce qu|qu est ce|explique|expliquer|definition)"
    r"\s+(?:an?\s+|the\s+|une?\s+|la\s+|le\s+|l\s+|les\s+|des\s+|c\s+est\s+)?(?P<word>.+?)"
    r"(?:\s+mean|\s+means)?$"
)
_LINK = re.compile(
    r"^(?:link|lier|my (?:github )?(?:login|username) is|mon (?:identifiant|login|pseudo)"
    r"(?: github)? est)\s+(?P<login>\S+)$",
    re.IGNORECASE,
)
_LANG = {
    "english": "en",
    "anglais": "en",
    "in english": "en",
    "francais": "fr",
    "french": "fr",
    "en francais": "fr",
}
# A single word that could be a GitHub login (validated properly later).
_LOGIN_LIKE = re.compile(r"^@?[A-Za-z0-9-]{1,60}$")


def parse_message(text: str, *, expecting_login: bool = False) -> Intent:
    """Understand a direct message in either language; never fail, fall back to the menu."""
    raw = text.strip()
    words = normalize(raw)
    if not words:
        return Intent(Action.MENU)
    if words in _PHRASE_ACTION:
        return Intent(_PHRASE_ACTION[words])
    if words in _LANG:
        return Intent(Action.LANG, _LANG[words])
    match = _LINK.match(raw.strip(" .!"))
    if match:
        return Intent(Action.LINK, match.group("login"))
    match = _EXPLAIN.match(words)
    if match:
        return Intent(Action.EXPLAIN, match.group("word"))
    # A command typed without the slash works too ("lang fr", "tool desktop").
    command = parse_command(raw)
    if command.action not in (Action.UNKNOWN, Action.HELP) and command.argument:
        return command
    if words in _TALK:
        return Intent(Action.SMALL_TALK, _TALK[words])
    if expecting_login and looks_like_a_name(raw):
        return Intent(Action.LINK, raw)  # the coach says where the login really is
    if expecting_login and _LOGIN_LIKE.match(raw):
        return Intent(Action.LINK, raw)
    # The learner may be trying to give a login that is not well formed: say why.
    if expecting_login and len(raw.split()) == 1:
        return Intent(Action.LINK, raw)
    return Intent(Action.MENU)


def looks_like_a_name(text: str, *, any_case: bool = False) -> bool:
    """Two to four words of letters, each with a capital (or not, with ``any_case``): a
    person's name, not a login."""
    text = text.strip()
    words = text.split()
    capitals = any_case or all(w[:1].isupper() for w in words)
    return bool(_NAME.match(text)) and capitals and all(len(w.strip(".")) > 1 for w in words)
