"""docs/queues.md, run as written: its shell blocks (the AWS CLI, the `lamina` command) and its
Python block, against a real server of the test's own (the walkthrough's queue names are fixed)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

DOC = Path(__file__).resolve().parents[2] / "docs" / "queues.md"
VENV_BIN = Path(sys.executable).parent
DOC_ENDPOINT = "http://127.0.0.1:9000"
BLOCK = re.compile(r"```(?P<lang>sh|python|)\n(?P<body>.*?)```", re.S)


def test_the_walkthrough_runs_as_written(make_server: Any, tmp_path: Path) -> None:
    server = make_server(tmp_path / "data")
    text = DOC.read_text().replace(DOC_ENDPOINT, server.endpoint)
    env = {**os.environ, "PATH": f"{VENV_BIN}:{os.environ['PATH']}", "LAMINA_ENDPOINT": server.endpoint,
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}  # fmt: skip
    blocks = list(BLOCK.finditer(text.split("## Queues as targets")[0]))
    assert [b["lang"] for b in blocks] == ["sh", "", "python", "", "sh"]
    exports = ""
    shown = ""
    for block in blocks:
        body = block["body"]
        if block["lang"] == "":  # what the block before it prints
            assert [line.split() for line in shown.strip().splitlines()[-len(body.strip().splitlines()):]] == [
                line.split() for line in body.strip().splitlines()
            ], shown
            continue
        if block["lang"] == "python":
            result = subprocess.run([sys.executable, "-c", body], capture_output=True, text=True, env=env,
                                    cwd=tmp_path, timeout=60)  # fmt: skip
        else:
            exports += "".join(line + "\n" for line in body.splitlines() if line.startswith("export "))
            result = subprocess.run(["bash", "-euc", exports + body], capture_output=True, text=True, env=env,
                                    cwd=tmp_path, timeout=120)  # fmt: skip
        assert result.returncode == 0, (body, result.stdout, result.stderr)
        shown = result.stdout
