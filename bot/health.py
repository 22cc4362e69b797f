"""What ``check-config`` and the worker find when they try the settings on the real services.

A :class:`Finding` names the setting it is about, says whether all is well, and, when it is
not, what to do. The adapters (``bot.slack.health``, ``bot.github.health``) produce them; the
serving layer prints them or posts them to the staff channel.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    setting: str  # the variable concerned (SLACK_BOT_TOKEN, PRACTICE_REPO…)
    ok: bool
    text: str  # what was found; when not ok, also what to do
    warning: bool = False  # ok for now, but needs attention soon (a token about to expire)
    code: str = ""  # for problems told to the staff in their language (messages.yaml)


def report(findings: list[Finding]) -> str:
    """One line per finding: ✓ fine, ! soon a problem, ✗ a problem."""
    marks = {(True, False): "✓", (True, True): "!", (False, False): "✗", (False, True): "✗"}
    return "\n".join(f"  {marks[f.ok, f.warning]} {f.text}" for f in findings)
