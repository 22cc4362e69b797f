"""The course: an ordered list of steps, each decided by a check, read from YAML.

The default course ships in ``bot/content/course.yaml``; staff may replace it with
``COURSE_FILE``. A course is validated completely when loaded, so a mistake in it stops
the start with the file, line and problem instead of surprising a learner later.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.course.checks import CHECKS, COMMON_FACTS, DIAGNOSIS_FACTS
from bot.course.learner import Tool
from bot.course.text import Text, TextReader, load_yaml

CONTENT_DIR = Path(__file__).resolve().parent.parent / "content"
DEFAULT_COURSE = CONTENT_DIR / "course.yaml"
_STEP_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


@dataclass(frozen=True)
class Step:
    id: str
    check: str
    title: Text
    summary: Text
    how: Mapping[Tool, Text]
    success: Text
    stuck: Text
    hints: Mapping[str, Text]
    minutes: int = 5
    optional: bool = False
    terms: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)
    # Hints written for one way of working (``cli``, ``desktop``), where it differs.
    tool_hints: Mapping[tuple[str, Tool], Text] = field(default_factory=dict)

    def instructions(self, tool: Tool) -> Text:
        """Detailed instructions for the learner's way of working (the website by default)."""
        return self.how.get(tool) or self.how[Tool.WEB]

    def hint(self, code: str, tool: Tool = Tool.WEB) -> Text | None:
        """The fix for a diagnosis, for the learner's way of working when it has its own."""
        return self.tool_hints.get((code, tool)) or self.hints.get(code)


@dataclass(frozen=True)
class Course:
    id: str
    title: Text
    welcome: Text
    finish: Text
    all_steps: tuple[Step, ...]
    # Optional steps (the merge) are switched on by staff with REQUIRE_MERGE.
    include_optional: bool = False
    # After the course: (label, url) links the programme chooses (real repositories, good
    # first issues), shown with the final congratulations.
    what_next: tuple[tuple[Text, str], ...] = ()

    @property
    def steps(self) -> tuple[Step, ...]:
        return tuple(s for s in self.all_steps if self.include_optional or not s.optional)

    @property
    def first(self) -> Step:
        return self.steps[0]

    def step(self, step_id: str) -> Step:
        for step in self.all_steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def has_step(self, step_id: str) -> bool:
        return any(s.id == step_id for s in self.steps)

    def position(self, step_id: str) -> int:
        """1-based position of a step among the active steps."""
        return [s.id for s in self.steps].index(step_id) + 1

    def next_after(self, step_id: str) -> Step | None:
        ids = [s.id for s in self.steps]
        index = ids.index(step_id)
        return self.steps[index + 1] if index + 1 < len(ids) else None

    def minutes_left(self, step_id: str) -> int:
        """Rough minutes for the current step and those after it."""
        ids = [s.id for s in self.steps]
        return sum(s.minutes for s in self.steps[ids.index(step_id) :])

    def step_with_check(self, check: str) -> Step | None:
        return next((s for s in self.steps if s.check == check), None)


def load_course(
    path: Path = DEFAULT_COURSE,
    *,
    include_optional: bool = False,
    glossary_terms: frozenset[str] | None = None,
) -> Course:
    """Read and validate a course file; raise :class:`CourseError` naming file and line."""
    reader = TextReader(path)
    root = reader.mapping(load_yaml(path), "the course file")
    course_id = root.get("id")
    if not isinstance(course_id, str) or not course_id:
        raise reader.error(root, "the course needs an 'id'")
    common = COMMON_FACTS
    title = reader.text(root, "title", "course", common)
    welcome = reader.text(root, "welcome", "course", common)
    finish = reader.text(root, "finish", "course", common)

    raw_steps = root.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise reader.error(root, "the course needs a non-empty list of 'steps'")
    steps: list[Step] = []
    for raw in raw_steps:
        steps.append(_load_step(reader, raw, glossary_terms))

    ids = [s.id for s in steps]
    for step_id in ids:
        if ids.count(step_id) > 1:
            raise reader.error(raw_steps[ids.index(step_id)], f"step id '{step_id}' is used twice")
    if steps[0].check != "github_account":
        raise reader.error(
            raw_steps[0],
            "the first step must use the check 'github_account' (later checks "
            "need the learner's GitHub login)",
        )
    if all(s.optional for s in steps):
        raise reader.error(root, "at least one step must not be optional")
    what_next = _load_links(reader, root)
    return Course(course_id, title, welcome, finish, tuple(steps), include_optional, what_next)


def _load_links(reader: TextReader, root: Any) -> tuple[tuple[Text, str], ...]:
    """``what_next``: a list of ``{label: {en, fr}, url: https://…}`` (optional)."""
    raw = root.get("what_next", [])
    if not isinstance(raw, list):
        raise reader.error(root, "'what_next' must be a list of links (label and url)")
    links = []
    for item in raw:
        node = reader.mapping(item, "each link of 'what_next'", root)
        url = node.get("url")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")) or " " in url:
            raise reader.error(node, "what_next: each link needs a 'url' starting with https://")
        links.append((reader.text(node, "label", "what_next", ()), url))
    return tuple(links)


def _load_step(reader: TextReader, raw: Any, glossary_terms: frozenset[str] | None) -> Step:
    node = reader.mapping(raw, "each step")
    step_id = node.get("id")
    if not isinstance(step_id, str) or not _STEP_ID.match(step_id):
        raise reader.error(node, "a step needs an 'id' of lowercase letters, digits and _")
    where = f"step '{step_id}'"
    check = node.get("check")
    if check not in CHECKS:
        known = ", ".join(sorted(CHECKS))
        raise reader.error(node, f"{where}: unknown check {check!r} (known checks: {known})")

    texts = {
        key: reader.text(node, key, where, COMMON_FACTS)
        for key in ("title", "summary", "success", "stuck")
    }
    how_node = reader.mapping(node.get("how"), f"{where}: 'how'", node)
    how: dict[Tool, Text] = {}
    for tool in Tool:
        if tool is Tool.WEB or tool.value in how_node:
            how[tool] = reader.text(how_node, tool.value, f"{where}.how", COMMON_FACTS)
    unknown_tools = set(how_node) - {t.value for t in Tool}
    if unknown_tools:
        raise reader.error(how_node, f"{where}.how: unknown way of working {sorted(unknown_tools)}")

    hints_node = reader.mapping(node.get("hints", {}), f"{where}: 'hints'", node)
    expected = CHECKS[check]
    missing = expected - set(hints_node)
    if missing:
        raise reader.error(hints_node, f"{where}: no hint for {', '.join(sorted(missing))}")
    extra = set(hints_node) - expected
    if extra:
        raise reader.error(
            hints_node, f"{where}: the check '{check}' never reports {', '.join(sorted(extra))}"
        )
    hints: dict[str, Text] = {}
    tool_hints: dict[tuple[str, Tool], Text] = {}
    for code in sorted(expected):
        allowed = COMMON_FACTS | DIAGNOSIS_FACTS.get(code, set())
        hints[code] = reader.text(hints_node, code, f"{where}.hints", allowed)
        for tool in Tool:
            if tool is not Tool.WEB and tool.value in hints_node[code]:
                tool_hints[(code, tool)] = reader.text(
                    hints_node[code], tool.value, f"{where}.hints.{code}", allowed
                )

    minutes = node.get("minutes", 5)
    if not isinstance(minutes, int) or minutes < 0:
        raise reader.error(node, f"{where}: 'minutes' must be a whole number")
    optional = node.get("optional", False)
    if not isinstance(optional, bool):
        raise reader.error(node, f"{where}: 'optional' must be true or false")
    terms = node.get("terms", [])
    if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms):
        raise reader.error(node, f"{where}: 'terms' must be a list of glossary words")
    if glossary_terms is not None:
        unknown_terms = [t for t in terms if t not in glossary_terms]
        if unknown_terms:
            raise reader.error(node, f"{where}: terms not in the glossary: {unknown_terms}")
    params = node.get("params", {})
    if not isinstance(params, dict):
        raise reader.error(node, f"{where}: 'params' must be a mapping")
    return Step(
        id=step_id,
        check=check,
        how=how,
        hints=hints,
        minutes=minutes,
        optional=optional,
        terms=tuple(terms),
        params=dict(params),
        tool_hints=tool_hints,
        **texts,
    )
