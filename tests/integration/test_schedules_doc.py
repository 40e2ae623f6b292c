"""docs/schedules.md, run as written: its shell blocks (the AWS CLI, the `lamina` command) and its
Python block, against a real server.

The walkthrough's cron fires at the next minute's start; the test does not wait for it (tests do
not wait for wall-clock minutes): it checks the schedule is armed for that minute. Firings into
real functions are tested with schedules whose StartDate is seconds away
(tests/integration/test_schedules.py), and cron's next firings with a fake clock (tests/unit)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tests.functions import DOC_BLOCK, Walkthrough

DOC = Path(__file__).resolve().parents[2] / "docs" / "schedules.md"
DOC_ENDPOINT = "http://127.0.0.1:9000"


def test_the_walkthrough_runs_as_written(lamina: Any, tmp_path: Path) -> None:
    text = DOC.read_text().replace(DOC_ENDPOINT, lamina.endpoint)
    walk = Walkthrough(lamina.endpoint, tmp_path)
    blocks = list(DOC_BLOCK.finditer(text))
    assert [b["lang"] for b in blocks] == ["sh", "sh", "", "sh", "python", "sh"]
    walk.run("sh", blocks[0]["body"])
    before = datetime.now(timezone.utc)
    expected = blocks[2]["body"].strip().splitlines()
    shown = walk.run("sh", blocks[1]["body"]).strip().splitlines()[-len(expected) :]  # after create-schedule's
    assert shown[0].split() == expected[0].split()  # the header
    row = r"default/hello-every-minute\s+cron\(\* \* \* \* \? \*\)\s+ENABLED\s+(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC"
    assert re.fullmatch(row, expected[1]) and len(expected) == 2, expected
    listed = re.fullmatch(row, shown[1])
    assert listed, shown
    next_minute = before.replace(second=0, microsecond=0) + timedelta(minutes=1)
    fires = datetime.strptime(listed[1], "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
    assert fires in (next_minute, next_minute + timedelta(minutes=1))  # the minute may turn meanwhile
    walk.run("sh", blocks[3]["body"])
    assert walk.run("python", blocks[4]["body"]).strip() == "Europe/London"
    walk.run("sh", blocks[5]["body"])
