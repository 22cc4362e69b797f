"""Item 2: names chosen by learners (Slack display names) and cohort names typed by staff never
run as formulas in the staff's CSV, nor as Slack markup (``<!channel>``) in staff messages."""

from __future__ import annotations

import csv
import io
import itertools
import json

from bot.course.reports import inert_cell
from tests.rig.bot_process import STAFF_USER
from tests.rig.conversation import Conversation
from tests.rig.fake_slack import FakeSlack
from tests.rig.slack_sender import SlackSender

HOSTILE_NAMES = [
    '=HYPERLINK("http://evil","x")',
    "+1+1",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "\tTabbed",
    "\rReturned",
]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_serial = itertools.count(1)


def test_the_csv_neutralises_formulas_and_keeps_names_readable(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    serial = next(_serial)
    people = []
    for index, name in enumerate(HOSTILE_NAMES):
        uid = f"UCSV{serial:02d}{index:03d}"
        fake_slack.add_user(uid, name=f"csv{index}", real_name=name, locale="en-US")
        people.append(uid)
    cohort = f"-promo{serial}<!channel>"
    staff = Conversation(slack, fake_slack, STAFF_USER)
    invited = staff.types(f"invite {' '.join(f'<@{u}>' for u in people)} cohort {cohort}")
    assert "<!channel>" not in invited.text and "&lt;!channel&gt;" in invited.text

    report = staff.types(f"report cohort {cohort}")
    assert "<!channel>" not in report.text
    assert "<!channel>" not in json.dumps(report.blocks)

    staff.types(f"report csv cohort {cohort}")
    fake_slack.wait_for("files.completeUploadExternal")
    upload = fake_slack.uploads[-1]
    assert upload.content is not None
    # The file name: no markup, no formula, no path.
    assert not upload.filename.startswith(FORMULA_STARTS)
    assert all(c.isalnum() or c in "-_." for c in upload.filename), upload.filename
    rows = list(csv.reader(io.StringIO(upload.content.decode("utf-8-sig"), newline="")))
    cells = [cell for row in rows for cell in row]
    assert not [cell for cell in cells if cell.startswith(FORMULA_STARTS)]
    names = {row[1] for row in rows[1:]}
    # Readable, with a leading quote; a leading tab or return is cleaned when the name is
    # stored (control characters never reach the database).
    assert names == {"'" + name for name in HOSTILE_NAMES[:4]} | {"Tabbed", "Returned"}
    assert {row[3] for row in rows[1:]} == {"'" + cohort}


def test_every_formula_start_of_owasps_rule_is_neutralised() -> None:
    for start in FORMULA_STARTS:
        assert inert_cell(f"{start}cmd") == f"'{start}cmd"
    assert inert_cell("Ada Lovelace") == "Ada Lovelace"
    assert inert_cell("") == ""
