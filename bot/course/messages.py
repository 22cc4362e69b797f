"""The interface's own words (buttons, headings, short answers) in both languages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.course.text import Text, TextReader, load_yaml

DEFAULT_MESSAGES = Path(__file__).resolve().parent.parent / "content" / "messages.yaml"


@dataclass(frozen=True)
class Messages:
    texts: Mapping[str, Text]

    def __call__(self, key: str, language: str, **facts: Any) -> str:
        return self.texts[key](language, facts)


def load_messages(path: Path = DEFAULT_MESSAGES) -> Messages:
    reader = TextReader(path)
    root = reader.mapping(load_yaml(path), "the messages file")
    # Placeholders here are filled by code, not by staff: any name is allowed.
    return Messages({key: reader.text(root, key, "messages", None) for key in root})
