"""Write ``requirements.txt`` from ``pyproject.toml`` (or, with ``--check``, say if it differs).

    python .ci/requirements.py          # rewrite requirements.txt
    python .ci/requirements.py --check  # exit 1 when requirements.txt is out of date

Heroku's and Scalingo's Python buildpacks install ``requirements.txt``; ``pyproject.toml``
stays the one place dependencies are declared. The file holds the bot's dependencies and the
``postgres`` extra (a platform's disk is thrown away: PostgreSQL from the start there), with
the same version ranges. ``tests/test_deploy.py`` fails when the two drift apart.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "requirements.txt"
HEADER = """\
# Generated from pyproject.toml by `python .ci/requirements.py`: edit pyproject.toml, then
# run it (tests/test_deploy.py checks they agree). What a platform's Python buildpack
# installs (Heroku, Scalingo…): the bot's dependencies and PostgreSQL's driver.
"""


def expected() -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lines = [*project["dependencies"], *project["optional-dependencies"]["postgres"]]
    return HEADER + "".join(f"{line}\n" for line in lines)


def main(argv: list[str]) -> int:
    if argv == ["--check"]:
        if REQUIREMENTS.read_text(encoding="utf-8") != expected():
            print(
                "requirements.txt is out of date: run python .ci/requirements.py", file=sys.stderr
            )
            return 1
        return 0
    REQUIREMENTS.write_text(expected(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
