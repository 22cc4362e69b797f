"""Do what a PaaS's Python buildpack does, on this machine, and check the app comes up.

    python3 .ci/buildpack.py

1. Copy the repository's files (as ``git push`` would send them) into a fresh folder.
2. Pick the Python that ``.python-version`` names (``python3.11``…; ``python3`` when it is
   that version), make a virtual environment, ``pip install -r requirements.txt`` — nothing
   else: not the project, no extra, no ``pyproject.toml`` step.
3. Run the Procfile's ``release:`` line (migrations), then start its ``web:`` and ``worker:``
   lines as the platform would (``$PORT``, settings in the environment, the app's folder as
   the working directory), wait until ``GET /healthz`` answers 200 and the worker says it
   started, then stop both with SIGTERM (what platforms send) and expect a clean exit.

Slack and GitHub are not needed: their addresses point at a closed port, and the bot starts
anyway, saying so. ``DATABASE_URL`` is a SQLite file unless ``TEST_DATABASE_URL`` is set.
Exit status 0 when everything came up; 1, with the processes' logs, otherwise.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WAIT = 90  # seconds for each process to come up


def say(text: str) -> None:
    print(f"buildpack: {text}", flush=True)


# Never part of what is pushed (see .gitignore), when the folder is not a git checkout.
_LOCAL = {".git", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache", "build", "dist"}


def files() -> list[str]:
    """What ``git push`` would send: tracked and new files, nothing ignored."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
    )
    if listed.returncode == 0:
        names = listed.stdout.decode().split("\0")
        return [name for name in names if name and (ROOT / name).exists()]
    # Not a git checkout (a copy, an archive): everything but local state.
    return [
        str(path.relative_to(ROOT))
        for path in ROOT.rglob("*")
        if path.is_file()
        and not _LOCAL.intersection(path.relative_to(ROOT).parts)
        and not path.name.endswith((".db", ".pyc"))
        and path.name != ".env"
        and not any(part.endswith(".egg-info") for part in path.relative_to(ROOT).parts)
    ]


def python_for(version: str) -> str:
    for candidate in (f"python{version}", "python3"):
        found = shutil.which(candidate)
        if found is None:
            continue
        said = subprocess.run(
            [found, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        if said == version:
            return found
    raise SystemExit(f"buildpack: no Python {version} here (.python-version asks for it)")


def procfile(app: Path) -> dict[str, str]:
    lines = {}
    for line in (app / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if command.strip() and not line.lstrip().startswith("#"):
            lines[name.strip()] = command.strip()
    return lines


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="prcoach-buildpack-") as folder:
        app = Path(folder) / "app"
        for name in files():
            target = app / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target)
        version = (app / ".python-version").read_text().strip()
        python = python_for(version)
        say(f"Python {version} ({python}); pip install -r requirements.txt")
        venv = Path(folder) / "venv"
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin/python"), "-m", "pip", "install", "--quiet", "-r", "requirements.txt"],
            cwd=app,
            check=True,
        )
        port = free_port()
        database = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{Path(folder) / 'app.db'}"
        env = {
            # As a platform's dyno: the virtual environment first on PATH, settings in env.
            "PATH": f"{venv / 'bin'}:{os.environ.get('PATH', '')}",
            "HOME": folder,
            "LANG": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",
            "PORT": str(port),
            "WEB_CONCURRENCY": "1",
            "DATABASE_URL": database,
            "SLACK_BOT_TOKEN": "xoxb-buildpack-check",
            "SLACK_SIGNING_SECRET": "0123456789abcdef0123456789abcdef",
            "SLACK_API_URL": "http://127.0.0.1:9/api/",  # closed: Slack "unreachable"
            "GITHUB_TOKEN": "github_pat_buildpack_check",
            "GITHUB_API_URL": "http://127.0.0.1:9",
            "PRACTICE_REPO": "eig/practice",
        }
        lines = procfile(app)
        missing = {"web", "worker", "release"} - set(lines)
        if missing:
            say(f"the Procfile has no {', '.join(sorted(missing))} line")
            return 1
        say(f"release: {lines['release']}")
        release = subprocess.run(
            shlex.split(lines["release"]), cwd=app, env=env, capture_output=True, text=True
        )
        if release.returncode != 0:
            say(f"release failed ({release.returncode}):\n{release.stdout}{release.stderr}")
            return 1
        logs = {name: Path(folder) / f"{name}.log" for name in ("web", "worker")}
        processes = {}
        for name in ("web", "worker"):
            say(f"{name}: {lines[name]}")
            with logs[name].open("wb") as log:
                processes[name] = subprocess.Popen(
                    shlex.split(lines[name]), cwd=app, env=env, stdout=log, stderr=log
                )
        ok = False
        try:
            deadline = time.monotonic() + WAIT
            web_up = worker_up = False
            while time.monotonic() < deadline and not (web_up and worker_up):
                for name, process in processes.items():
                    if process.poll() is not None:
                        raise RuntimeError(f"{name} stopped with status {process.returncode}")
                web_up = web_up or healthy(port)
                worker_up = worker_up or "worker started" in logs["worker"].read_text()
                time.sleep(0.5)
            if not web_up:
                raise RuntimeError(f"GET /healthz did not answer 200 within {WAIT} s")
            if not worker_up:
                raise RuntimeError(f"the worker did not say 'worker started' within {WAIT} s")
            say(f"web answers GET /healthz 200 on port {port}; the worker started")
            ok = True
        except RuntimeError as problem:
            say(str(problem))
        finally:
            for process in processes.values():
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for name, process in processes.items():
                try:
                    status = process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    status = process.wait()
                if status != 0 and ok:
                    say(f"{name} did not stop cleanly on SIGTERM (status {status})")
                    ok = False
            if not ok:
                for name, path in logs.items():
                    print(f"--- {name} log ---\n{path.read_text()[-4000:]}", flush=True)
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
