"""A plain-language glossary, in both languages, for people who never coded."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.course.text import LANGUAGES, Text, TextReader, load_yaml, normalize

DEFAULT_GLOSSARY = Path(__file__).resolve().parent.parent / "content" / "glossary.yaml"


@dataclass(frozen=True)
class Entry:
    id: str
    term: Text
    text: Text


@dataclass(frozen=True)
class Glossary:
    entries: dict[str, Entry]
    # normalized word (either language) → entry id
    words: dict[str, str]

    def lookup(self, words: str) -> Entry | None:
        """Find the entry a learner means: "what is a fork?", "c'est quoi une branche"…"""
        wanted = normalize(words)
        if wanted in self.words:
            return self.entries[self.words[wanted]]
        # Longest known word inside the sentence wins ("pull request" before "request").
        for word in sorted(self.words, key=len, reverse=True):
            if f" {word} " in f" {wanted} ":
                return self.entries[self.words[word]]
        return None

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(self.entries)


def load_glossary(path: Path = DEFAULT_GLOSSARY) -> Glossary:
    reader = TextReader(path)
    root = reader.mapping(load_yaml(path), "the glossary")
    entries: dict[str, Entry] = {}
    words: dict[str, str] = {}
    for entry_id, raw in root.items():
        node = reader.mapping(raw, f"glossary entry '{entry_id}'", root)
        entries[entry_id] = Entry(
            entry_id,
            reader.text(node, "term", entry_id, ()),
            reader.text(node, "text", entry_id, ()),
        )
        words[normalize(entry_id.replace("_", " "))] = entry_id
        word_node = reader.mapping(node.get("words", {}), f"{entry_id}.words", node)
        for language in LANGUAGES:
            for word in word_node.get(language, []) or []:
                words.setdefault(normalize(str(word)), entry_id)
    return Glossary(entries, words)
