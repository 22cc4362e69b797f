"""Bilingual texts read from YAML, with the line each came from for clear errors."""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.errors import CourseError

LANGUAGES = ("en", "fr")


class LineDict(dict[Any, Any]):
    """A YAML mapping that remembers the line it started on."""

    line: int = 0


class _LineLoader(yaml.SafeLoader):
    def construct_line_mapping(self, node: yaml.MappingNode, deep: bool = False) -> LineDict:
        mapping = LineDict(self.construct_mapping(node, deep=deep))
        mapping.line = node.start_mark.line + 1
        return mapping


_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _LineLoader.construct_line_mapping
)


def load_yaml(path: Path) -> Any:
    """Parse a YAML file, turning any problem into a :class:`CourseError` with its line."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CourseError(str(path), None, f"cannot be read ({error.strerror})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise CourseError(str(path), line, "is not UTF-8 text (save it as UTF-8)") from None
    try:
        return yaml.load(text, Loader=_LineLoader)  # _LineLoader is a SafeLoader
    except yaml.MarkedYAMLError as error:
        where = error.problem_mark.line + 1 if error.problem_mark else None
        raise CourseError(str(path), where, f"is not valid YAML: {error.problem}") from None


class _Blank(dict[str, Any]):
    """Facts not known yet render as nothing rather than failing mid-conversation."""

    def __missing__(self, key: str) -> str:
        return ""


@dataclass(frozen=True)
class Text:
    """The same words in every supported language."""

    by_language: Mapping[str, str]

    def __call__(self, language: str, facts: Mapping[str, Any] | None = None) -> str:
        template = self.by_language.get(language) or self.by_language["en"]
        return template.format_map(_Blank(facts or {})).strip()

    def placeholders(self) -> set[str]:
        names: set[str] = set()
        for template in self.by_language.values():
            for _, name, _, _ in string.Formatter().parse(template):
                if name is not None:
                    names.add(name)
        return names


class TextReader:
    """Reads :class:`Text` values out of a YAML file, raising errors that name file and line."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def error(self, node: Any, problem: str) -> CourseError:
        return CourseError(str(self.path), getattr(node, "line", None), problem)

    def mapping(self, node: Any, what: str, parent: Any = None) -> LineDict:
        if not isinstance(node, dict):
            raise self.error(parent if node is None else node, f"{what} must be a mapping")
        return node  # type: ignore[return-value]

    def text(
        self, parent: Mapping[str, Any], key: str, what: str, allowed: Iterable[str] | None
    ) -> Text:
        """A bilingual text; ``allowed`` lists the placeholders it may use (None: any)."""
        node = parent.get(key)
        if node is None:
            raise self.error(parent, f"{what}: '{key}' is missing")
        if not isinstance(node, dict):
            raise self.error(parent, f"{what}.{key} must have 'en' and 'fr' texts")
        for language in LANGUAGES:
            value = node.get(language)
            if not isinstance(value, str) or not value.strip():
                raise self.error(node, f"{what}.{key}: the '{language}' translation is missing")
        text = Text({language: node[language] for language in LANGUAGES})
        try:
            unknown = text.placeholders() - set(allowed) if allowed is not None else set()
        except ValueError as error:
            raise self.error(node, f"{what}.{key}: malformed placeholder ({error})") from None
        if unknown:
            names = ", ".join("{" + n + "}" for n in sorted(unknown))
            raise self.error(node, f"{what}.{key}: unknown placeholder {names}")
        return text


def normalize(words: str) -> str:
    """Lowercase, without accents or punctuation: how free text is compared."""
    decomposed = unicodedata.normalize("NFKD", words.casefold())
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    cleaned = "".join(c if c.isalnum() else " " for c in letters)
    return " ".join(cleaned.split())
