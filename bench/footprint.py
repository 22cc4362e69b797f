"""``python -m bench footprint``: the install's size and the worker's memory.

* Install size: a fresh virtual environment with the project installed as a platform installs
  it (``pip install -r requirements.txt`` then the project, no extra), measured on disk
  (``site-packages``), with the largest packages.
* Worker memory: the Procfile's ``worker:`` line started against the fake Slack and the fake
  GitHub: its resident memory once started (``VmRSS``), then its peak (``VmHWM``) after it
  posted the weekly digest with its funnel chart (``/prcoach digest now`` would do the same).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _du(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):  # gone meanwhile
                total += (Path(root) / name).lstat().st_size
    return total


def install_size() -> tuple[int, list[tuple[str, int]]]:
    with tempfile.TemporaryDirectory(prefix="prcoach-footprint-") as folder:
        venv = Path(folder) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        requirements = REPO / "requirements.txt"
        if requirements.is_file():
            subprocess.run([*pip, "-r", str(requirements)], check=True)
            subprocess.run([*pip, "--no-deps", str(REPO)], check=True)
        else:  # before requirements.txt existed
            subprocess.run([*pip, str(REPO)], check=True)
        site = next((venv / "lib").glob("python*/site-packages"))
        sizes: dict[str, int] = {}
        for entry in site.iterdir():
            name = entry.name.split("-")[0].split(".")[0].lower()
            sizes[name] = sizes.get(name, 0) + (
                _du(entry) if entry.is_dir() else entry.stat().st_size
            )
        # pip and setuptools come with every virtual environment: not ours.
        for tool in ("pip", "setuptools", "_distutils_hack", "distutils"):
            sizes.pop(tool, None)
        ranked = sorted(sizes.items(), key=lambda item: -item[1])
        return sum(sizes.values()), ranked[:6]


def _status(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def worker_memory() -> tuple[int, int]:
    sys.path.insert(0, str(REPO))
    from bot.settings import load_settings
    from bot.slack.app import make_web_client
    from bot.slack.digest import post_digest
    from bot.storage.database import migrate
    from bot.wiring import build
    from tests.rig.bot_process import STAFF_CHANNEL, STAFF_USER, bot_environment, procfile_command
    from tests.rig.fake_github import FakeGitHub
    from tests.rig.fake_slack import FakeSlack

    soon = datetime.now(UTC) + timedelta(minutes=2)
    with FakeGitHub() as github, FakeSlack() as slack, tempfile.TemporaryDirectory() as folder:
        slack.add_channel(STAFF_CHANNEL, name="staff", members=[STAFF_USER, slack.bot_user_id])
        github.world.add_user(github.token_user)
        github.world.add_org("eig")
        github.world.add_repo("eig", "practice", files={"participants/README.md": "x"})
        env = bot_environment(
            slack_api_url=slack.api_url,
            github_api_url=github.url,
            database_url=f"sqlite:///{Path(folder) / 'bot.db'}",
            # The digest's time: two minutes from now, so that the start is measured first.
            DIGEST_CRON=f"{soon.minute} {soon.hour} * * *",
            TIMEZONE="UTC",
        )
        settings = load_settings(env, env_file=None)
        migrate(settings.database_url)
        # Some learners, so that the digest has a funnel to draw.
        services = build(settings).services
        from bot.course.coach import Person

        for n in range(12):
            services.coach.learner(Person("T1", f"U{n:07d}"), lambda: "en")
        worker = subprocess.Popen(
            procfile_command("worker"),
            env=env,
            cwd=folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(8)  # started: imports done, jobs scheduled
            at_start = _status(worker.pid, "VmRSS")
            mark = len(slack.calls)
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline and not any(
                c.method == "files.completeUploadExternal" for c in slack.calls[mark:]
            ):
                time.sleep(0.5)
            if not any(c.method == "files.completeUploadExternal" for c in slack.calls[mark:]):
                # The scheduled run did not come in time: draw it the way the worker does.
                post_digest(services, make_web_client(settings), datetime.now(UTC))
            time.sleep(1)
            peak = _status(worker.pid, "VmHWM")
        finally:
            worker.terminate()
            worker.wait(timeout=30)
        return at_start, peak


def run() -> str:
    size, largest = install_size()
    at_start, peak = worker_memory()
    mb = 1e6
    top = ", ".join(f"{name} {bytes_ / mb:.0f}" for name, bytes_ in largest)
    return "\n".join(
        [
            "### Footprint",
            "",
            "| measure | MB |",
            "|---|---:|",
            f"| installed packages (site-packages, without pip) | {size / mb:.0f} |",
            f"| `python -m bot worker`, resident once started | {at_start / mb:.0f} |",
            f"| `python -m bot worker`, peak after the digest with its chart | {peak / mb:.0f} |",
            "",
            f"Largest packages (MB): {top}.",
        ]
    )


if __name__ == "__main__":
    print(run())
