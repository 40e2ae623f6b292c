"""docs/schedules.md, run as written: its shell blocks (the AWS CLI, the `lamina` command) and its
Python block, against a real server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

DOC = Path(__file__).resolve().parents[2] / "docs" / "schedules.md"
VENV_BIN = Path(sys.executable).parent
DOC_ENDPOINT = "http://127.0.0.1:9000"
BLOCK = re.compile(r"(?:<!-- until: (?P<until>[^>]*) -->\n)?```(?P<lang>sh|python)\n(?P<body>.*?)```", re.S)


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
        deadline = time.monotonic() + 75  # a cron(* * * * ? *) fires at the next minute's start
        while True:
            result = subprocess.run(["bash", "-euc", exports + body], capture_output=True, text=True, env=env,
                                    cwd=tmp_path, timeout=120)  # fmt: skip
            assert result.returncode == 0, (body, result.stdout, result.stderr)
            if block["until"] is None or block["until"] in result.stdout:
                break
            assert time.monotonic() < deadline, f"{block['until']!r} never appeared: {result.stdout}"
            time.sleep(1)
        if "lamina schedules" in body:
            assert re.search(r"default/hello-every-minute\s+cron\(\* \* \* \* \? \*\)\s+ENABLED\s+20\d\d-", result.stdout)
