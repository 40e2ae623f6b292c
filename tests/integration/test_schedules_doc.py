"""docs/schedules.md, run as written: its shell blocks (the AWS CLI, the `lamina` command) and its
Python block, against a real server.

The walkthrough's cron fires at the next minute's start; the test does not wait for it (tests do
not wait for wall-clock minutes): it checks the schedule is armed for that minute. Firings into
real functions are tested with schedules whose StartDate is seconds away
(tests/integration/test_schedules.py), and cron's next firings with a fake clock (tests/unit)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

DOC = Path(__file__).resolve().parents[2] / "docs" / "schedules.md"
VENV_BIN = Path(sys.executable).parent
DOC_ENDPOINT = "http://127.0.0.1:9000"
BLOCK = re.compile(r"```(?P<lang>sh|python)\n(?P<body>.*?)```", re.S)


def test_the_walkthrough_runs_as_written(lamina: Any, tmp_path: Path) -> None:
    text = DOC.read_text().replace(DOC_ENDPOINT, lamina.endpoint)
    env = {**os.environ, "PATH": f"{VENV_BIN}:{os.environ['PATH']}", "LAMINA_ENDPOINT": lamina.endpoint,
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}  # fmt: skip
    exports = ""
    blocks = list(BLOCK.finditer(text))
    assert [b["lang"] for b in blocks] == ["sh", "sh", "sh", "python", "sh"]
    for block in blocks:
        body = block["body"]
        if block["lang"] == "python":
            result = subprocess.run([sys.executable, "-c", body], capture_output=True, text=True, env=env,
                                    cwd=tmp_path, timeout=60)  # fmt: skip
            assert result.returncode == 0, result.stderr
            assert result.stdout.strip() == "Europe/London"
            continue
        exports += "".join(line + "\n" for line in body.splitlines() if line.startswith("export "))
        before = datetime.now(timezone.utc)
        result = subprocess.run(["bash", "-euc", exports + body], capture_output=True, text=True, env=env,
                                cwd=tmp_path, timeout=120)  # fmt: skip
        assert result.returncode == 0, (body, result.stdout, result.stderr)
        if "lamina schedules" in body:
            listed = re.search(r"default/hello-every-minute\s+cron\(\* \* \* \* \? \*\)\s+ENABLED\s+"
                               r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC", result.stdout)  # fmt: skip
            assert listed, result.stdout
            next_minute = before.replace(second=0, microsecond=0) + timedelta(minutes=1)
            fires = datetime.strptime(listed[1], "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
            assert fires in (next_minute, next_minute + timedelta(minutes=1))  # the minute may turn meanwhile
