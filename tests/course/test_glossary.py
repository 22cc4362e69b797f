"""The glossary: every word in both languages, found however a learner asks."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.course.glossary import DEFAULT_GLOSSARY, Glossary, load_glossary
from bot.course.intents import Action, parse_message
from bot.course.text import LANGUAGES


@pytest.fixture(scope="module")
def glossary() -> Glossary:
    return load_glossary()


def test_every_entry_has_both_languages(glossary: Glossary) -> None:
    raw = yaml.safe_load(Path(DEFAULT_GLOSSARY).read_text(encoding="utf-8"))
    assert set(raw) == set(glossary.entries)
    assert len(glossary.entries) >= 10
    for entry_id, entry in glossary.entries.items():
        for language in LANGUAGES:
            assert entry.term(language).strip(), (entry_id, language)
            assert entry.text(language).strip(), (entry_id, language)
            # Words a learner may type, in each language.
            assert raw[entry_id]["words"][language], (entry_id, language)
        assert entry.text("en") != entry.text("fr"), entry_id


@pytest.mark.parametrize(
    ("words", "entry"),
    [
        pytest.param("pull request", "pull_request", id="pull-request"),
        pytest.param("Pull Request", "pull_request", id="pull-request-capitals"),
        pytest.param("pull-request", "pull_request", id="pull-request-hyphen"),
        pytest.param("PR", "pull_request", id="pr"),
        pytest.param("demande de fusion", "pull_request", id="demande-de-fusion"),
        pytest.param("demande d’intégration", "pull_request", id="demande-dintegration-curly"),
        pytest.param("dépôt", "repository", id="depot"),
        pytest.param("Depot", "repository", id="depot-no-accent"),
        pytest.param("le dépôt", "repository", id="le-depot"),
        pytest.param("repo", "repository", id="repo"),
        pytest.param("branche principale", "default_branch", id="branche-principale"),
        pytest.param("la branche principale", "default_branch", id="la-branche-principale"),
        pytest.param("the main branch", "default_branch", id="the-main-branch"),
        pytest.param("branche", "branch", id="branche"),
        pytest.param("merge conflict", "conflict", id="merge-conflict"),
        pytest.param("merge conflicts", "conflict", id="merge-conflicts"),
        pytest.param("conflit de fusion", "conflict", id="conflit-de-fusion"),
        pytest.param("merge", "merge", id="merge"),
        pytest.param("forké", "fork", id="forke"),
        pytest.param("nom d’utilisateur", "account", id="nom-dutilisateur"),
        pytest.param("upstream", "upstream", id="upstream"),
    ],
)
def test_lookup(glossary: Glossary, words: str, entry: str) -> None:
    found = glossary.lookup(words)
    assert found is not None and found.id == entry


@pytest.mark.parametrize(
    ("typed", "entry"),
    [
        pytest.param("what is a pull request?", "pull_request", id="what-is-a-pull-request"),
        pytest.param("What's a PR?", "pull_request", id="whats-a-pr"),
        pytest.param("c'est quoi une demande de fusion ?", "pull_request", id="demande-de-fusion"),
        pytest.param("qu'est-ce qu'un dépôt ?", "repository", id="quest-ce-quun-depot"),
        pytest.param("c'est quoi la branche principale ?", "default_branch", id="branche-princ"),
        pytest.param("what is a merge conflict?", "conflict", id="what-is-a-merge-conflict"),
        pytest.param("explique-moi le fork", "fork", id="explique-moi-le-fork"),
        pytest.param("what does upstream mean", "upstream", id="what-does-upstream-mean"),
    ],
)
def test_a_question_typed_in_the_dm_finds_its_entry(
    glossary: Glossary, typed: str, entry: str
) -> None:
    intent = parse_message(typed)
    assert intent.action is Action.EXPLAIN
    found = glossary.lookup(intent.argument)
    assert found is not None and found.id == entry


@pytest.mark.parametrize("words", ["", "banana", "kubernetes operator"])
def test_an_unknown_word_finds_nothing(glossary: Glossary, words: str) -> None:
    assert glossary.lookup(words) is None
