"""Print one of the README's commands, the one in the ``sh`` block after ``<!-- ci: NAME -->``.

    python .ci/readme_command.py run|test

``.ci/run`` runs the README's commands through this, so what CI proves is what the README says.
A missing or ambiguous marker is an error: the README and CI must not drift apart silently.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def command(name: str, text: str) -> str:
    pattern = rf"<!-- ci: {re.escape(name)} -->\s*```sh\n(.*?)\n```"
    found = re.findall(pattern, text, flags=re.S)
    if len(found) != 1:
        raise SystemExit(
            f"README.md: expected one '<!-- ci: {name} -->' sh block, found {len(found)}"
        )
    lines = [line for line in found[0].splitlines() if line.strip()]
    if len(lines) != 1:
        raise SystemExit(f"README.md: the '{name}' block must be one line, it has {len(lines)}")
    return lines[0]


if __name__ == "__main__":
    print(command(sys.argv[1], README.read_text(encoding="utf-8")))
