"""The layers, as the imports show them (every import, including those inside functions).

* the domain (``bot.course``) imports only itself and ``bot.errors``, and no transport,
  GitHub or database library;
* the use cases (``bot.usecases``) import only the domain, ``bot.errors`` and themselves;
* Slack code (``bot.slack``) never imports GitHub or storage code;
* no import cycle between modules of ``bot``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parents[1] / "bot"
pytestmark = pytest.mark.fast

TRANSPORTS = ("slack_sdk", "slack_bolt")
GITHUB = ("github", "bot.github", "requests")
STORAGE = ("sqlalchemy", "alembic", "bot.storage")


def module_name(path: Path) -> str:
    parts = path.relative_to(BOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(BOT.rglob("*.py"))}


def imports(name: str) -> Iterator[str]:
    """Every module ``name`` imports (``from a import b`` gives ``a.b`` when that is one)."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    package = name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolved against the importing package
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            for alias in node.names:
                if f"{base}.{alias.name}" in MODULES:
                    yield f"{base}.{alias.name}"


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def offenders(layer: str, allowed: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for name in MODULES:
        if not within(name, (layer,)):
            continue
        for imported in imports(name):
            in_bot_not_allowed = within(imported, ("bot",)) and not within(imported, allowed)
            if in_bot_not_allowed or within(imported, forbidden):
                found.append(f"{name} imports {imported}")
    return found


def test_the_domain_imports_only_itself_and_the_errors() -> None:
    assert (
        offenders("bot.course", ("bot.course", "bot.errors"), TRANSPORTS + GITHUB + STORAGE) == []
    )


def test_the_use_cases_import_only_the_domain_the_errors_and_themselves() -> None:
    assert (
        offenders(
            "bot.usecases",
            ("bot.usecases", "bot.course", "bot.errors"),
            TRANSPORTS + GITHUB + STORAGE,
        )
        == []
    )


def test_slack_code_never_imports_github_or_storage() -> None:
    assert offenders("bot.slack", ("bot",), GITHUB + STORAGE) == []


def test_no_import_cycle_between_modules() -> None:
    graph = {name: {i for i in imports(name) if i in MODULES and i != name} for name in MODULES}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for child in sorted(graph[name]):
            if state.get(child) == 1:
                cycles.append([*path[path.index(child) :], child])
            elif child not in state:
                visit(child, [*path, child])
        state[name] = 2

    for name in sorted(MODULES):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_the_rules_see_what_they_must() -> None:
    """The checks above find an import where there is one (they would pass on anything if
    the walk were broken)."""
    assert "bot.course.ports" in set(imports("bot.usecases.progress"))
    assert "slack_sdk" in set(imports("bot.slack.delivery"))
    assert "bot.slack.views.render" in set(imports("bot.slack.staff"))
