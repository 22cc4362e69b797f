"""What hosting platforms read: requirements.txt (generated from pyproject.toml), the Python
version file, the Procfile's lines; and the README's commands that .ci/run runs."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import tomllib

from tests.rig.bot_process import REPO_ROOT


def _module(name: str, path: str):
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_requirements_txt_is_generated_from_pyproject() -> None:
    requirements = _module("ci_requirements", ".ci/requirements.py")
    assert (REPO_ROOT / "requirements.txt").read_text() == requirements.expected(), (
        "requirements.txt is out of date: run python .ci/requirements.py"
    )
    listed = (REPO_ROOT / "requirements.txt").read_text()
    assert "psycopg[binary]" in listed  # PostgreSQL from the start on a platform


def test_the_python_version_file_is_one_the_project_supports() -> None:
    version = (REPO_ROOT / ".python-version").read_text().strip()
    assert re.fullmatch(r"3\.\d+", version), version  # major.minor: patches come by themselves
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    floor = project["requires-python"].removeprefix(">=")
    assert tuple(map(int, version.split("."))) >= tuple(map(int, floor.split(".")))


def test_the_procfile_has_web_worker_and_release() -> None:
    lines = dict(
        line.split(":", 1) for line in (REPO_ROOT / "Procfile").read_text().splitlines() if line
    )
    assert lines["web"].strip() == "python -m bot serve"
    assert lines["worker"].strip() == "python -m bot worker"
    assert lines["release"].strip() == "python -m bot migrate"


def test_the_license_is_declared_and_shipped() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT"  # an SPDX expression
    assert (REPO_ROOT / "LICENSE").read_text().startswith("MIT License")


def test_ci_runs_the_readme_s_commands() -> None:
    readme_command = _module("ci_readme_command", ".ci/readme_command.py")
    readme = (REPO_ROOT / "README.md").read_text()
    test = readme_command.command("test", readme)
    run = readme_command.command("run", readme)
    assert test.startswith("python3 -m venv .venv") and ".[dev]" in test
    assert run.endswith(".venv/bin/python -m bot")
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    assert "readme_command.py run" in ci and "readme_command.py test" in ci
    printed = subprocess.run(
        [sys.executable, ".ci/readme_command.py", "test"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert printed == test


def _manifest(name: str) -> dict:
    import yaml

    return yaml.safe_load((REPO_ROOT / name).read_text())


def test_the_socket_mode_manifest_is_the_http_one_without_urls() -> None:
    http, socket = _manifest("manifest.yml"), _manifest("manifest-socket-mode.yml")
    assert socket["settings"]["socket_mode_enabled"] is True
    assert http["settings"]["socket_mode_enabled"] is False
    assert "example.org" not in (REPO_ROOT / "manifest-socket-mode.yml").read_text()
    assert socket["oauth_config"] == http["oauth_config"]
    assert (
        socket["settings"]["event_subscriptions"]["bot_events"]
        == (http["settings"]["event_subscriptions"]["bot_events"])
    )
    for command, same in zip(
        socket["features"]["slash_commands"], http["features"]["slash_commands"], strict=True
    ):
        assert {**same, "url": None} | {"url": None} == {**command, "url": None}


def test_the_readme_names_every_scope_the_manifest_asks_for() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    for scope in _manifest("manifest.yml")["oauth_config"]["scopes"]["bot"]:
        assert f"`{scope}`" in readme, scope
